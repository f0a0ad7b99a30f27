// Node metadata: health, the node's public key set, and the problem-type descriptions.

import { Jwks, PROBLEMS, type ProblemCode } from "@eusn/protocol";
import { createRoute, z } from "@hono/zod-openapi";
import { problems, router } from "../lib/hono.ts";
import { nodeKey } from "../lib/node-key.ts";
import { ApiError } from "../lib/problem.ts";

const app = router();

app.openapi(
  createRoute({
    method: "get",
    path: "/health",
    tags: ["node"],
    summary: "Liveness and the node's identity",
    responses: {
      200: {
        description: "The node is up",
        content: {
          "application/json": { schema: z.object({ status: z.literal("ok"), nodeId: z.string() }) },
        },
      },
    },
  }),
  (c) => c.json({ status: "ok" as const, nodeId: c.env.NODE_ID }, 200),
);

app.openapi(
  createRoute({
    method: "get",
    path: "/.well-known/jwks.json",
    tags: ["node"],
    summary: "The node's public signing key (receipts, checkpoints, snapshots)",
    responses: {
      200: { description: "JWKS", content: { "application/json": { schema: Jwks } } },
      ...problems(503),
    },
  }),
  async (c) => {
    const key = await nodeKey(c.env);
    c.header("cache-control", "public, max-age=300");
    return c.json({ keys: [key.publicJwk] }, 200);
  },
);

app.openapi(
  createRoute({
    method: "get",
    path: "/problems/{code}",
    tags: ["node"],
    summary: "What a problem `type` means",
    request: { params: z.object({ code: z.string().max(64) }) },
    responses: {
      200: {
        description: "The problem type",
        content: {
          "application/json": {
            schema: z.object({ code: z.string(), status: z.number(), title: z.string() }),
          },
        },
      },
      ...problems(404),
    },
  }),
  (c) => {
    const { code } = c.req.valid("param");
    if (!(code in PROBLEMS)) throw new ApiError("not_found", `no problem type ${code}`);
    const p = PROBLEMS[code as ProblemCode];
    return c.json({ code, status: p.status, title: p.title }, 200);
  },
);

export default app;
