// What this node knows of each federated peer it pulled: cursor, status, last verified checkpoint
// and how many of its entries were applied, skipped or are held pending. Read by GET /v1/federation/peers; written
// by federation/pull.ts. No Hono types here.
import type { PeerView } from "@eusn/protocol";
import { sql } from "drizzle-orm";
import { federationPeers } from "../../../schema/index.ts";
import type { Db } from "../lib/db.ts";

/** A peer's pull state: every field of its view that does not come from configuration. */
export type PeerState = Omit<PeerView, "nodeId" | "url" | "kid">;

/** The state of a peer never pulled yet. */
export const NEVER_PULLED: PeerState = {
  status: "never_pulled",
  nextIndex: 0,
  checkpoint: null,
  lastPullAt: null,
  lastResult: null,
  applied: 0,
  skipped: 0,
  pending: 0,
};

/** The pull state of every peer with one, by peer node id. */
export async function peerStates(db: Db): Promise<Map<string, PeerState>> {
  const rows = await db.select().from(federationPeers);
  const counts = await db.all<{ peer_id: string; applied: number; skipped: number; pending: number }>(
    sql`SELECT peer_id, sum(outcome = 'applied') AS applied, sum(outcome = 'skipped') AS skipped,
      sum(outcome = 'pending') AS pending FROM federation_entries GROUP BY peer_id`,
  );
  const stamps = await db.all<{ peer_id: string; tree_size: number; timestamp: number }>(
    sql`SELECT c.peer_id, c.tree_size, c.timestamp FROM peer_checkpoints c JOIN federation_peers p ON p.peer_id = c.peer_id AND p.checkpoint_size = c.tree_size`,
  );
  const out = new Map<string, PeerState>();
  const ids = new Set([...rows.map((r) => r.peerId), ...counts.map((n) => n.peer_id)]);
  for (const id of ids) {
    const row = rows.find((r) => r.peerId === id);
    const n = counts.find((x) => x.peer_id === id);
    out.set(id, {
      status: row ? row.status : "never_pulled",
      nextIndex: row?.nextIndex ?? 0,
      checkpoint:
        row?.checkpointSize != null && row.checkpointRoot
          ? {
              treeSize: row.checkpointSize,
              rootHash: row.checkpointRoot,
              timestamp:
                stamps.find((t) => t.peer_id === id && t.tree_size === row.checkpointSize)?.timestamp ?? 0,
            }
          : null,
      lastPullAt: row?.lastPullAt ?? null,
      lastResult: row?.lastResult ? (JSON.parse(row.lastResult) as unknown) : null,
      applied: n?.applied ?? 0,
      skipped: n?.skipped ?? 0,
      pending: n?.pending ?? 0,
    });
  }
  return out;
}
