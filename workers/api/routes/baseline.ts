// /v1/baseline: the current EU baseline (paged, versioned with an ETag), a snapshot signed by the
// node key for offline verification, and /v1/reversals: withdrawals and reversals of entries a
// platform matched.
import {
  BaselinePage,
  BaselineQuery,
  BaselineRequestHeaders,
  ReversalPage,
  ReversalQuery,
} from "@eusn/protocol";
import { createRoute, z } from "@hono/zod-openapi";
import { CompactSign } from "jose";
import { access } from "../auth/access.ts";
import { nowIso } from "../lib/encoding.ts";
import { bearerSecurity, problems, type RouteContext, router } from "../lib/hono.ts";
import { nodeKey } from "../lib/node-key.ts";
import { baselineEntries, baselinePage } from "../store/baseline.ts";
import { baselineVersion, reversalsFor } from "../store/changes.ts";

const app = router();

const participants = ["coordinator", "authority", "platform"] as const;

export const getBaselineRoute = createRoute({
  method: "get",
  path: "/v1/baseline",
  tags: ["baseline"],
  summary: "The current baseline, paged; `version` (also the ETag) changes with every baseline change",
  security: bearerSecurity,
  middleware: [access(participants)] as const,
  request: { query: BaselineQuery, headers: BaselineRequestHeaders },
  responses: {
    200: { description: "A page of the baseline", content: { "application/json": { schema: BaselinePage } } },
    304: { description: "Unchanged since the ETag sent in If-None-Match" },
    ...problems(400, 401, 403),
  },
});
export async function getBaseline(c: RouteContext<typeof getBaselineRoute>) {
  const { after, limit } = c.req.valid("query");
  const version = await baselineVersion(c.var.db);
  const etag = `"baseline-${version}"`;
  c.header("etag", etag);
  if (c.req.header("if-none-match") === etag) return c.body(null, 304);
  return c.json({ version, ...(await baselinePage(c.var.db, after, limit, nowIso())) }, 200);
}
app.openapi(getBaselineRoute, getBaseline);

export const getBaselineSnapshotRoute = createRoute({
  method: "get",
  path: "/v1/baseline/snapshot",
  tags: ["baseline"],
  summary:
    "The whole baseline as one JWS signed by the node key (verify offline with /.well-known/jwks.json)",
  description:
    'Payload: {"typ":"eusn-baseline-snapshot","nodeId","version","generatedAt","count","entries":[BaselineEntry…]}. Header typ "eusn-baseline+jws", kid = the node key thumbprint.',
  security: bearerSecurity,
  middleware: [access(participants)] as const,
  responses: {
    200: { description: "Compact JWS", content: { "application/jose": { schema: z.string() } } },
    ...problems(401, 403, 503),
  },
});
export async function getBaselineSnapshot(c: RouteContext<typeof getBaselineSnapshotRoute>) {
  const key = await nodeKey(c.env);
  const version = await baselineVersion(c.var.db);
  const now = nowIso();
  const entries = await baselineEntries(c.var.db, now);
  const payload = {
    typ: "eusn-baseline-snapshot",
    nodeId: c.env.NODE_ID,
    version,
    generatedAt: now,
    count: entries.length,
    entries,
  };
  const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: "eusn-baseline+jws" })
    .sign(key.privateKey);
  return c.body(jws, 200, { "content-type": "application/jose", etag: `"baseline-${version}"` });
}
app.openapi(getBaselineSnapshotRoute, getBaselineSnapshot);

export const listReversalsRoute = createRoute({
  method: "get",
  path: "/v1/reversals",
  tags: ["baseline"],
  summary:
    "Withdrawals, reversals and exclusions of entries this platform matched, since a cursor (platform)",
  description: "Act on these: content removed because of a reversed entry may need to be restored.",
  security: bearerSecurity,
  middleware: [access(["platform"])] as const,
  request: { query: ReversalQuery },
  responses: {
    200: { description: "Changes in feed order", content: { "application/json": { schema: ReversalPage } } },
    ...problems(400, 401, 403),
  },
});
export async function listReversals(c: RouteContext<typeof listReversalsRoute>) {
  const { after, limit } = c.req.valid("query");
  return c.json(await reversalsFor(c.var.db, c.var.caller!.participant.id, after, limit), 200);
}
app.openapi(listReversalsRoute, listReversals);

export default app;
