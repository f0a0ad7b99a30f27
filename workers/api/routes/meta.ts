// Node metadata: health, the node's public key set, and the problem-type descriptions.

import {
  HealthView,
  Jwks,
  PROBLEM_HELP,
  PROBLEMS,
  type ProblemCode,
  ProblemCodeParam,
  ProblemTypeView,
} from "@eusn/protocol";
import { createRoute, z } from "@hono/zod-openapi";
import { problems, type RouteContext, router } from "../lib/hono.ts";
import { nodeKey } from "../lib/node-key.ts";
import { ApiError } from "../lib/problem.ts";

const app = router();

export const getHealthRoute = createRoute({
  method: "get",
  path: "/health",
  tags: ["node"],
  summary: "Liveness and the node's identity",
  responses: {
    200: { description: "The node is up", content: { "application/json": { schema: HealthView } } },
  },
});
export function getHealth(c: RouteContext<typeof getHealthRoute>) {
  return c.json({ status: "ok" as const, nodeId: c.env.NODE_ID }, 200);
}
app.openapi(getHealthRoute, getHealth);

export const getNodeJwksRoute = createRoute({
  method: "get",
  path: "/.well-known/jwks.json",
  tags: ["node"],
  summary: "The node's public signing key (receipts, checkpoints, snapshots)",
  responses: {
    200: { description: "JWKS", content: { "application/json": { schema: Jwks } } },
    ...problems(503),
  },
});
export async function getNodeJwks(c: RouteContext<typeof getNodeJwksRoute>) {
  const key = await nodeKey(c.env);
  c.header("cache-control", "public, max-age=300");
  return c.json({ keys: [key.publicJwk] }, 200);
}
app.openapi(getNodeJwksRoute, getNodeJwks);

export const getProblemTypeRoute = createRoute({
  method: "get",
  path: "/problems/{code}",
  tags: ["node"],
  summary: "What a problem `type` means",
  description:
    "JSON by default; a human-readable page when the request prefers text/html, as a browser following the `type` URI does (RFC 9457 §3.1.1).",
  request: { params: ProblemCodeParam },
  responses: {
    200: {
      description: "The problem type",
      content: { "application/json": { schema: ProblemTypeView }, "text/html": { schema: z.string() } },
    },
    ...problems(404),
  },
});
export function getProblemType(c: RouteContext<typeof getProblemTypeRoute>) {
  const { code } = c.req.valid("param");
  if (!(code in PROBLEMS)) throw new ApiError("not_found", `no problem type ${code}`);
  const p = PROBLEMS[code as ProblemCode];
  c.header("vary", "accept");
  if (prefersHtml(c.req.header("accept"))) {
    return c.html(problemPage(code as ProblemCode), 200);
  }
  return c.json({ code, status: p.status, title: p.title }, 200);
}

/**
 * Whether an Accept header (RFC 9110 §12.5.1) ranks text/html above JSON. Browsers send
 * `text/html,…,*\/*;q=0.8`; API clients send JSON or `*\/*`, and a tie answers JSON.
 */
export function prefersHtml(accept: string | undefined): boolean {
  if (!accept) return false;
  const q = (wanted: string[]) => {
    let best = 0;
    for (const part of accept.split(",")) {
      const [type, ...params] = part.trim().toLowerCase().split(";");
      if (!type || !wanted.includes(type.trim())) continue;
      const qp = params.map((x) => x.trim()).find((x) => x.startsWith("q="));
      const v = qp === undefined ? 1 : Number(qp.slice(2));
      if (Number.isFinite(v)) best = Math.max(best, v);
    }
    return best;
  };
  const html = q(["text/html"]);
  return html > 0 && html > q(["application/json", "application/problem+json", "application/*", "*/*"]);
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

function problemPage(code: ProblemCode): string {
  const p = PROBLEMS[code];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(p.title)} — EUSN problem type</title></head>
<body><main>
<h1>${escapeHtml(p.title)}</h1>
<p>Problem type <code>${escapeHtml(code)}</code>, answered with HTTP status ${p.status}.</p>
<p>${escapeHtml(PROBLEM_HELP[code])}</p>
<p>Every error this node returns is an RFC 9457 problem (<code>application/problem+json</code>) with this
<code>code</code>, a <code>requestId</code> to quote, and for validation errors an <code>errors</code> list naming
each field. The API reference is at <a href="/docs">/docs</a>.</p>
</main></body></html>
`;
}
app.openapi(getProblemTypeRoute, getProblemType);

export default app;
