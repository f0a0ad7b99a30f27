// Security headers on every response of the node (API, docs, problems, console), added after the
// route ran and only where the route did not set its own: the console sets a stricter CSP for its
// pages (workers/console/routes.tsx), and routes that may be cached say so themselves.
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./hono.ts";

/**
 * API responses are data, never documents: nothing may be loaded, run or framed from them. The
 * `sandbox` directive also gives a JSON body opened directly in a browser an opaque origin.
 */
export const API_CSP =
  "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; sandbox";

/** HTML the node renders outside the console (/docs): inline styles only, no script at all. */
export const DOCS_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Two years, the HSTS preload list's minimum (RFC 6797 §6.1.1). */
const HSTS = "max-age=63072000; includeSubDomains";

/**
 * - HSTS on https (RFC 6797 §7.2: not over plain http, where a local node runs).
 * - No framing (X-Frame-Options for old browsers, `frame-ancestors` for the rest), no referrer,
 *   no cross-origin embedding of responses (CORP), no sniffing.
 * - `Cache-Control: no-store` on anything a participant authenticated for (a bearer or Basic
 *   read, or a signed write): shared caches and browsers must not keep participant data.
 * - No CORS: the node sends no `Access-Control-Allow-*` header, so browsers refuse cross-origin
 *   reads. The console is served by the node itself (same origin) and needs none.
 */
export const securityHeaders: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  const h = c.res.headers;
  const setDefault = (name: string, value: string) => {
    if (!h.has(name)) h.set(name, value);
  };
  if (new URL(c.req.url).protocol === "https:") setDefault("strict-transport-security", HSTS);
  setDefault("x-content-type-options", "nosniff");
  setDefault("referrer-policy", "no-referrer");
  setDefault("x-frame-options", "DENY");
  setDefault("cross-origin-resource-policy", "same-origin");
  const html = (h.get("content-type") ?? "").toLowerCase().startsWith("text/html");
  setDefault("content-security-policy", html ? DOCS_CSP : API_CSP);
  const authenticated =
    c.req.header("authorization") !== undefined || !["GET", "HEAD", "OPTIONS"].includes(c.req.method);
  if (authenticated) {
    const cc = (h.get("cache-control") ?? "").toLowerCase();
    if (!cc.includes("no-store")) h.set("cache-control", "no-store");
  }
  for (const name of [...h.keys()]) {
    // Defence in depth: whatever a route or library might add, the API grants no cross-origin access.
    if (name.startsWith("access-control-")) h.delete(name);
  }
};
