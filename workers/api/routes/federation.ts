// /v1/federation: the coordinator's view of this node's peers and a way to pull them now (the
// scheduled handler pulls them on every cron tick). docs/federation.md describes the protocol.
import { PeerView, PullReport } from "@eusn/protocol";
import { createRoute, z } from "@hono/zod-openapi";
import { sql } from "drizzle-orm";
import { federationPeers } from "../../../schema/index.ts";
import { peerKid } from "../federation/peer-auth.ts";
import { peersOf } from "../federation/peers.ts";
import { pullPeers } from "../federation/pull.ts";
import { access, bearerSecurity, problems, router } from "../lib/hono.ts";
import { ApiError } from "../lib/problem.ts";

const app = router();

app.openapi(
  createRoute({
    method: "post",
    path: "/v1/federation/pull",
    tags: ["federation"],
    summary: "Pull the configured peers' logs now (coordinator)",
    description:
      "For each peer (or the one named): verify its checkpoint and consistency with the last one seen, then consume its log entries from the stored cursor, verifying and applying each record. A forked peer is refused. The same runs on every cron tick.",
    security: bearerSecurity,
    middleware: [access(["coordinator"])] as const,
    request: { query: z.object({ peer: z.string().max(256).optional() }) },
    responses: {
      200: {
        description: "One report per peer pulled",
        content: { "application/json": { schema: z.object({ reports: z.array(PullReport) }) } },
      },
      ...problems(400, 401, 403, 404, 503),
    },
  }),
  async (c) => {
    const { peer } = c.req.valid("query");
    if (peer && !peersOf(c.env).some((p) => p.nodeId === peer)) {
      throw new ApiError("not_found", `${peer} is not a configured peer of this node`);
    }
    return c.json({ reports: await pullPeers(c.env, peer) }, 200);
  },
);

app.openapi(
  createRoute({
    method: "get",
    path: "/v1/federation/peers",
    tags: ["federation"],
    summary: "The configured peers, their cursors and last verified checkpoints (coordinator)",
    security: bearerSecurity,
    middleware: [access(["coordinator"])] as const,
    responses: {
      200: {
        description: "Peers",
        content: { "application/json": { schema: z.object({ peers: z.array(PeerView) }) } },
      },
      ...problems(401, 403, 503),
    },
  }),
  async (c) => {
    const rows = await c.var.db.select().from(federationPeers);
    const counts = await c.var.db.all<{ peer_id: string; applied: number; skipped: number }>(
      sql`SELECT peer_id, sum(outcome = 'applied') AS applied, sum(outcome = 'skipped') AS skipped FROM federation_entries GROUP BY peer_id`,
    );
    const stamps = await c.var.db.all<{ peer_id: string; tree_size: number; timestamp: number }>(
      sql`SELECT c.peer_id, c.tree_size, c.timestamp FROM peer_checkpoints c JOIN federation_peers p ON p.peer_id = c.peer_id AND p.checkpoint_size = c.tree_size`,
    );
    const peers = [];
    for (const p of peersOf(c.env)) {
      const row = rows.find((r) => r.peerId === p.nodeId);
      const n = counts.find((x) => x.peer_id === p.nodeId);
      peers.push({
        nodeId: p.nodeId,
        url: p.url,
        kid: await peerKid(p),
        status: row ? row.status : ("never_pulled" as const),
        nextIndex: row?.nextIndex ?? 0,
        checkpoint:
          row?.checkpointSize != null && row.checkpointRoot
            ? {
                treeSize: row.checkpointSize,
                rootHash: row.checkpointRoot,
                timestamp:
                  stamps.find((t) => t.peer_id === p.nodeId && t.tree_size === row.checkpointSize)
                    ?.timestamp ?? 0,
              }
            : null,
        lastPullAt: row?.lastPullAt ?? null,
        lastResult: row?.lastResult ? (JSON.parse(row.lastResult) as unknown) : null,
        applied: n?.applied ?? 0,
        skipped: n?.skipped ?? 0,
      });
    }
    return c.json({ peers }, 200);
  },
);

export default app;
