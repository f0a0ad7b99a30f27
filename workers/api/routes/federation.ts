// /v1/federation: the coordinator's view of this node's peers and a way to pull them now (the
// scheduled handler pulls them on every cron tick). docs/federation.md describes the protocol.
import { PeerList, PullQuery, PullReports } from "@eusn/protocol";
import { createRoute } from "@hono/zod-openapi";
import { access } from "../auth/access.ts";
import { peerKid } from "../federation/peer-auth.ts";
import { peersOf } from "../federation/peers.ts";
import { pullPeers } from "../federation/pull.ts";
import { bearerSecurity, problems, type RouteContext, router } from "../lib/hono.ts";
import { ApiError } from "../lib/problem.ts";
import { NEVER_PULLED, peerStates } from "../store/peers.ts";

const app = router();

export const pullNowRoute = createRoute({
  method: "post",
  path: "/v1/federation/pull",
  tags: ["federation"],
  summary: "Pull the configured peers' logs now (coordinator)",
  description:
    "For each peer (or the one named): verify its checkpoint and consistency with the last one seen, then consume its log entries from the stored cursor, verifying and applying each record. A forked peer is refused. The same runs on every cron tick.",
  security: bearerSecurity,
  middleware: [access(["coordinator"])] as const,
  request: { query: PullQuery },
  responses: {
    200: {
      description: "One report per peer pulled",
      content: { "application/json": { schema: PullReports } },
    },
    ...problems(400, 401, 403, 404, 503),
  },
});
export async function pullNow(c: RouteContext<typeof pullNowRoute>) {
  const { peer } = c.req.valid("query");
  if (peer && !peersOf(c.env).some((p) => p.nodeId === peer)) {
    throw new ApiError("not_found", `${peer} is not a configured peer of this node`);
  }
  return c.json({ reports: await pullPeers(c.env, peer) }, 200);
}
app.openapi(pullNowRoute, pullNow);

export const listPeersRoute = createRoute({
  method: "get",
  path: "/v1/federation/peers",
  tags: ["federation"],
  summary: "The configured peers, their cursors and last verified checkpoints (coordinator)",
  security: bearerSecurity,
  middleware: [access(["coordinator"])] as const,
  responses: {
    200: { description: "Peers", content: { "application/json": { schema: PeerList } } },
    ...problems(401, 403, 503),
  },
});
export async function listPeers(c: RouteContext<typeof listPeersRoute>) {
  const states = await peerStates(c.var.db);
  const peers = [];
  for (const p of peersOf(c.env)) {
    peers.push({
      nodeId: p.nodeId,
      url: p.url,
      kid: await peerKid(p),
      ...(states.get(p.nodeId) ?? NEVER_PULLED),
    });
  }
  return c.json({ peers }, 200);
}
app.openapi(listPeersRoute, listPeers);

export default app;
