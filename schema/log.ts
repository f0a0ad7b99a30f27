// The node's transparency log (issue 6, docs/federation.md): an RFC 6962 Merkle tree over the
// exact JWS bytes of every record the node accepted (its own and replicated ones), stored as
// perfect subtrees (packages/merkle README, "Storage layout"), and the checkpoints it signed.
// All three tables are append-only: triggers in migration 0006 refuse UPDATE and DELETE.
import { sql } from "drizzle-orm";
import { check, customType, index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * A 32-byte SHA-256 hash as a BLOB (half the size of hex: at 10^8 leaves the log is ~2·10^8
 * hashes, and D1 databases are capped at 10 GB). D1 may hand BLOBs back as ArrayBuffer or as an
 * array of numbers; both become a Uint8Array.
 */
export const hash32 = customType<{ data: Uint8Array; driverData: ArrayBuffer | number[] | Uint8Array }>({
  dataType: () => "blob",
  toDriver: (value) => value.slice().buffer as ArrayBuffer,
  fromDriver: (value) => (value instanceof Uint8Array ? value : new Uint8Array(value as ArrayBuffer)),
});

/**
 * One row per leaf: `idx` is the log index (0-based, dense). The leaf is the record's compact
 * JWS as stored in `records.jws`, `leaf_hash` = SHA-256(0x00 ‖ JWS bytes) — or, for a node-local
 * kind, the withheld leaf committing to its kind and digest (`jws_sha256`). `record_id` is not a
 * foreign key: expired migration signals are purged from `records` (docs/signals.md) while
 * their leaf stays, so the log keeps proving what it held.
 */
export const logLeaves = sqliteTable(
  "log_leaves",
  {
    idx: integer("idx").primaryKey(),
    leafHash: hash32("leaf_hash").notNull(),
    recordId: text("record_id").notNull().unique(),
    /** The record kind, kept so that entries can be filtered or withheld without the record. */
    kind: text("kind").notNull(),
    /**
     * For a node-local kind (never served to peers): SHA-256 of its JWS, the digest its withheld
     * leaf commits to (`leaf_hash` = SHA-256(0x00 ‖ "eusn-withheld/v1|" ‖ kind ‖ this)). Kept here,
     * not read from `records`, because purged signals lose their record but keep their leaf, and
     * a withheld entry must still prove what it is. Null for every other kind.
     */
    jwsSha256: hash32("jws_sha256"),
  },
  (t) => [
    check("log_leaves_hash_len", sql`length(${t.leafHash}) = 32`),
    // GET /v1/log/inclusion?leafHash=…: find a leaf by its hash (who holds a JWS can compute it).
    index("log_leaves_hash").on(t.leafHash),
  ],
);

/** Closed perfect subtrees of level >= 1: node (level, idx) covers leaves [idx·2^level, (idx+1)·2^level). */
export const logNodes = sqliteTable(
  "log_nodes",
  {
    level: integer("level").notNull(),
    idx: integer("idx").notNull(),
    hash: hash32("hash").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.level, t.idx] }),
    check("log_nodes_level", sql`${t.level} >= 1`),
    check("log_nodes_hash_len", sql`length(${t.hash}) = 32`),
  ],
);

/** Every checkpoint (signed tree head) the node signed, one per tree size: the evidence it can be held to. */
export const logCheckpoints = sqliteTable("log_checkpoints", {
  treeSize: integer("tree_size").primaryKey(),
  /** 64 lowercase hex digits, as in the signed payload. */
  rootHash: text("root_hash").notNull(),
  /** Milliseconds since the epoch, as in the signed payload. */
  timestamp: integer("timestamp").notNull(),
  /** The compact JWS (typ eusn-checkpoint+json) signed by the node key. */
  jws: text("jws").notNull(),
});
