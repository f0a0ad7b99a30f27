// Federation (issue 6, docs/federation.md): the state this node keeps about each configured peer
// — the pull cursor (a log index, never a timestamp) with the compact range of the peer's tree
// up to it, the latest peer checkpoint verified consistent — plus every checkpoint of the peer it
// verified and the fate of every peer log entry it consumed.
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { hash32 } from "./log.ts";

/**
 * One row per peer ever pulled. `next_index` and `frontier` move together, in the same D1 batch
 * as the record they consumed, so a pull interrupted anywhere resumes exactly where it stopped.
 */
export const federationPeers = sqliteTable("federation_peers", {
  peerId: text("peer_id").primaryKey(),
  /** The next peer log index to consume. */
  nextIndex: integer("next_index").notNull().default(0),
  /**
   * JSON array of hex hashes: the perfect subtrees covering the peer's leaves [0, next_index)
   * (merkle `CompactRange`), so the root of any longer prefix follows from the new leaves alone.
   */
  frontier: text("frontier").notNull().default("[]"),
  /** The latest peer checkpoint verified (signature + consistency with every earlier one). */
  checkpointSize: integer("checkpoint_size"),
  checkpointRoot: text("checkpoint_root"),
  checkpointJws: text("checkpoint_jws"),
  /** `active`, or `forked`: the peer signed two inconsistent histories; pulls are refused until an operator acts. */
  status: text("status", { enum: ["active", "forked"] })
    .notNull()
    .default("active"),
  lastPullAt: text("last_pull_at"),
  /**
   * Single flight: a pull holds the peer until this time (ms) and releases it when done; a pull
   * that finds it held answers "in progress" instead of racing over the same entries.
   */
  pullLeaseUntil: integer("pull_lease_until").notNull().default(0),
  /** JSON summary of the last pull (counts, refusal reason). */
  lastResult: text("last_result"),
});

/** Every checkpoint of a peer this node verified, one per size (append-only, evidence). */
export const peerCheckpoints = sqliteTable(
  "peer_checkpoints",
  {
    peerId: text("peer_id").notNull(),
    treeSize: integer("tree_size").notNull(),
    rootHash: text("root_hash").notNull(),
    timestamp: integer("timestamp").notNull(),
    jws: text("jws").notNull(),
    receivedAt: text("received_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.peerId, t.treeSize] })],
);

/**
 * What happened to each peer log entry this node consumed (append-only). The primary key makes
 * two racing pulls of the same entry fail instead of both applying it.
 */
export const federationEntries = sqliteTable(
  "federation_entries",
  {
    peerId: text("peer_id").notNull(),
    peerIndex: integer("peer_index").notNull(),
    leafHash: hash32("leaf_hash").notNull(),
    /**
     * `applied` (stored and in this node's log), `skipped` (verified in the peer's log, not applied
     * here), or `pending` (authentic, waiting in `federation_pending` for a record it depends on).
     */
    outcome: text("outcome", { enum: ["applied", "skipped", "pending"] }).notNull(),
    /** The local record for `applied`. */
    recordId: text("record_id"),
    /** Why it was skipped: a stable code, then a colon and details. */
    reason: text("reason"),
    at: text("at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.peerId, t.peerIndex] }),
    index("federation_entries_record").on(t.recordId),
  ],
);

/**
 * Replicated records held until what they depend on arrives (an assessment before its
 * submission, an inclusion before the assessments it cites, a record before its signer's
 * admission): stored as received, tied to the peer's checkpoint like every consumed entry, and
 * applied by the pull that brings the missing record (docs/federation.md "Wait, don't skip").
 */
export const federationPending = sqliteTable(
  "federation_pending",
  {
    peerId: text("peer_id").notNull(),
    peerIndex: integer("peer_index").notNull(),
    jws: text("jws").notNull(),
    /** What it waits for, e.g. `submission:hsh_…`, `assessment:asm_…`, `participant:par_…`. */
    waitingFor: text("waiting_for").notNull(),
    receivedAt: text("received_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.peerId, t.peerIndex] })],
);
