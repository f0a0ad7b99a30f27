// createApp(): middleware, routes, the OpenAPI document, and RFC 9457 errors for everything.

import { MAX_BODY_BYTES, RECORD_SCHEMAS } from "@eusn/protocol";
import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { z } from "zod";
import { db } from "./lib/db.ts";
import type { AppEnv } from "./lib/hono.ts";
import { ApiError, problemResponse } from "./lib/problem.ts";
import { safeErrorSummary } from "./lib/safe-log.ts";
import { securityHeaders } from "./lib/security-headers.ts";
import { docsRoutes } from "./routes/docs.tsx";
import { EVIDENCE_PART_PATH } from "./routes/evidence.ts";
import { ROUTERS } from "./routes/index.ts";

export const OPENAPI_INFO = {
  openapi: "3.1.0",
  info: {
    title: "EUSN node API",
    version: "0.1.0",
    description:
      "EU Signal Network node. Writes are compact JWS (application/jose) signed by the participant's key; reads that need a participant use a short-lived bearer JWT signed the same way. Errors are RFC 9457 problem details.",
  },
} as const;

export function createApp() {
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw new ApiError("validation_failed", "the request did not validate");
    },
  });

  app.use("*", async (c, next) => {
    const requestId = crypto.randomUUID();
    c.set("requestId", requestId);
    c.set("db", db(c.env.DB));
    await next();
    c.res.headers.set("x-request-id", requestId);
    c.res.headers.set("x-content-type-options", "nosniff");
  });
  app.use("*", securityHeaders);

  const limitBody = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: (c) =>
      problemResponse("payload_too_large", c.var.requestId, `bodies are limited to ${MAX_BODY_BYTES} bytes`),
  });
  // A case file's upload parts are larger; their route reads exactly each part's size (routes/evidence.ts).
  app.use("*", (c, next) => (EVIDENCE_PART_PATH.test(c.req.path) ? next() : limitBody(c, next)));

  for (const r of ROUTERS) app.route("/", r);

  app.openAPIRegistry.registerComponent("securitySchemes", "participantToken", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT (typ eusn-access+jwt, EdDSA or ES256, lifetime ≤ 5 min, aud = node id)",
  });
  // Record schemas are only referenced from signed-body descriptions, so they are registered
  // explicitly, converted by zod itself (independent of whether @hono/zod-openapi patched them).
  for (const schema of Object.values(RECORD_SCHEMAS)) {
    const id = (schema.meta() as { id?: string } | undefined)?.id;
    if (id) {
      const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" });
      app.openAPIRegistry.registerComponent("schemas", id, json as Record<string, unknown>);
    }
  }
  app.doc31("/openapi.json", OPENAPI_INFO);
  let cachedDoc: unknown;
  app.route(
    "/",
    docsRoutes(() => {
      cachedDoc ??= app.getOpenAPI31Document(OPENAPI_INFO);
      return cachedDoc;
    }),
  );

  app.notFound((c) => {
    const path = new URL(c.req.url).pathname;
    const allowed = allowedMethods(app, path);
    if (allowed.length > 0) {
      return problemResponse(
        "method_not_allowed",
        c.var.requestId,
        `${c.req.method} is not allowed on ${path}; use ${allowed.join(", ")}`,
        undefined,
        path,
        { allow: allowed.join(", ") },
      );
    }
    return problemResponse("not_found", c.var.requestId, `no route ${c.req.method} ${path}`, undefined, path);
  });

  app.onError((err, c) => {
    const requestId = c.var.requestId ?? crypto.randomUUID();
    const instance = new URL(c.req.url).pathname;
    if (err instanceof ApiError) {
      return problemResponse(err.code, requestId, err.detail, err.errors, instance, err.headers);
    }
    if (err instanceof HTTPException) {
      // Raised by Hono's own validators and middleware: malformed JSON, unsupported media type.
      const code =
        err.status === 415
          ? "unsupported_media_type"
          : err.status === 413
            ? "payload_too_large"
            : "malformed_json";
      const detail = err.status === 415 ? "this endpoint takes application/json" : err.message;
      return problemResponse(code, requestId, detail, undefined, instance);
    }
    // Internals never go on the wire; the request id ties the log line to the response. The
    // line carries no request data (tokens, JWS, pseudonyms, query parameters): lib/safe-log.ts.
    console.error(`request ${requestId} failed:`, safeErrorSummary(err));
    return problemResponse(
      "internal_error",
      requestId,
      "the node failed to handle this request",
      undefined,
      instance,
    );
  });

  return app;
}

function allowedMethods(app: OpenAPIHono<AppEnv>, path: string): string[] {
  const methods = new Set<string>();
  for (const r of app.routes) {
    if (r.method === "ALL") continue;
    const re = new RegExp(`^${r.path.replace(/:[^/]+/g, "[^/]+").replace(/\*/g, ".*")}$`);
    if (re.test(path)) methods.add(r.method);
  }
  if (methods.has("GET")) methods.add("HEAD");
  return [...methods].sort();
}
