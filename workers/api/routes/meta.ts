// Node metadata: health, the node's public key set, and the problem-type descriptions.

import {
  HealthView,
  Jwks,
  PROBLEMS,
  type ProblemCode,
  ProblemCodeParam,
  ProblemTypeView,
} from "@eusn/protocol";
import { createRoute } from "@hono/zod-openapi";
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
  request: { params: ProblemCodeParam },
  responses: {
    200: { description: "The problem type", content: { "application/json": { schema: ProblemTypeView } } },
    ...problems(404),
  },
});
export function getProblemType(c: RouteContext<typeof getProblemTypeRoute>) {
  const { code } = c.req.valid("param");
  if (!(code in PROBLEMS)) throw new ApiError("not_found", `no problem type ${code}`);
  const p = PROBLEMS[code as ProblemCode];
  return c.json({ code, status: p.status, title: p.title }, 200);
}
app.openapi(getProblemTypeRoute, getProblemType);

export default app;
