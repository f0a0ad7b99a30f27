// The node's transparency log in D1 (docs/federation.md): leaves, closed perfect subtrees and
// signed checkpoints, read through @eusn/merkle's NodeReader. Appends are planned here and
// written by commitWrite in the same batch as the record (store/records.ts). No Hono types.
import {
  type Checkpoint,
  consistencyProofAt,
  fromHex,
  inclusionProofAt,
  type NodeAddress,
  type NodeReader,
  nodesClosedByAppend,
  type PerfectNode,
  rootAt,
  signCheckpoint,
  toHex,
  verifyConsistency,
} from "@eusn/merkle";
import type { BatchItem } from "drizzle-orm/batch";
import { logLeaves, logNodes } from "../../../schema/index.ts";
import type { Env } from "../env.ts";
import type { Db } from "../lib/db.ts";
import { nodeKey } from "../lib/node-key.ts";

/** D1 binds at most 100 parameters: 50 (level, idx) pairs per query. */
const PAIRS_PER_QUERY = 50;

/** D1 hands BLOBs back as ArrayBuffer or as an array of numbers depending on the path. */
export function blobBytes(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (Array.isArray(v)) return Uint8Array.from(v as number[]);
  throw new Error("expected a BLOB column value");
}

/** A BLOB parameter for D1's bind() (a fresh ArrayBuffer holding exactly the bytes). */
export function blobParam(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer as ArrayBuffer;
}

/** The number of leaves in the log (= the index the next append gets). */
export async function logSize(d1: D1Database): Promise<number> {
  const row = await d1.prepare("SELECT max(idx) AS m FROM log_leaves").first<{ m: number | null }>();
  return row?.m === null || row?.m === undefined ? 0 : row.m + 1;
}

/**
 * Perfect-subtree reads over D1: level 0 from log_leaves, higher levels from log_nodes, in a
 * handful of queries per proof. A missing node means storage is corrupt (or a caller asked about
 * a tree larger than the log), so it throws rather than let anything sign a bogus root.
 */
export function d1NodeReader(d1: D1Database): NodeReader {
  const reader: NodeReader = {
    async getNode(level, index) {
      const [h] = await reader.getNodes!([{ level, index }]);
      return h as Uint8Array;
    },
    async getNodes(nodes: readonly NodeAddress[]) {
      const found = new Map<string, Uint8Array>();
      const leaves = nodes.filter((n) => n.level === 0).map((n) => n.index);
      const inner = nodes.filter((n) => n.level > 0);
      for (let i = 0; i < leaves.length; i += PAIRS_PER_QUERY * 2) {
        const part = leaves.slice(i, i + PAIRS_PER_QUERY * 2);
        const rows = await d1
          .prepare(`SELECT idx, leaf_hash FROM log_leaves WHERE idx IN (${part.map(() => "?").join(",")})`)
          .bind(...part)
          .all<{ idx: number; leaf_hash: unknown }>();
        for (const r of rows.results) found.set(`0/${r.idx}`, blobBytes(r.leaf_hash));
      }
      for (let i = 0; i < inner.length; i += PAIRS_PER_QUERY) {
        const part = inner.slice(i, i + PAIRS_PER_QUERY);
        const rows = await d1
          .prepare(
            `SELECT level, idx, hash FROM log_nodes WHERE (level, idx) IN (VALUES ${part.map(() => "(?, ?)").join(",")})`,
          )
          .bind(...part.flatMap((n) => [n.level, n.index]))
          .all<{ level: number; idx: number; hash: unknown }>();
        for (const r of rows.results) found.set(`${r.level}/${r.idx}`, blobBytes(r.hash));
      }
      return nodes.map((n) => {
        const h = found.get(`${n.level}/${n.index}`);
        if (!h) throw new Error(`transparency log: node (${n.level}, ${n.index}) is missing`);
        return h;
      });
    },
  };
  return reader;
}

/** Where the next leaf goes and the perfect subtrees its append closes (computed before the batch). */
export type AppendPlan = { index: number; leafHash: Uint8Array; nodes: PerfectNode[] };

export async function planAppend(d1: D1Database, leafHash: Uint8Array): Promise<AppendPlan> {
  const index = await logSize(d1);
  const nodes = await nodesClosedByAppend(index, leafHash, d1NodeReader(d1));
  return { index, leafHash, nodes };
}

/**
 * The statements that append a planned leaf. If another append took `plan.index` meanwhile, the
 * primary keys make the batch fail (isLogAppendConflict) and the caller re-plans.
 */
export function appendStatements(
  db: Db,
  plan: AppendPlan,
  recordId: string,
  kind: string,
  withheldDigest: Uint8Array | null = null,
): BatchItem<"sqlite">[] {
  return [
    db
      .insert(logLeaves)
      .values({ idx: plan.index, leafHash: plan.leafHash, recordId, kind, jwsSha256: withheldDigest }),
    ...plan.nodes.map((n) => db.insert(logNodes).values({ level: n.level, idx: n.index, hash: n.hash })),
  ];
}

/** True for the failure a racing append causes: someone else's leaf took the index first. */
export function isLogAppendConflict(e: unknown): boolean {
  const msg = String((e as Error)?.message ?? e);
  return /UNIQUE constraint failed: log_(leaves\.idx|nodes\.level)/.test(msg);
}

export type StoredCheckpoint = { jws: string; checkpoint: Checkpoint };

type CheckpointRow = { tree_size: number; root_hash: string; timestamp: number; jws: string };

function fromRow(origin: string, r: CheckpointRow): StoredCheckpoint {
  return {
    jws: r.jws,
    checkpoint: { origin, treeSize: r.tree_size, rootHash: r.root_hash, timestamp: r.timestamp },
  };
}

/** A checkpoint the node signed earlier for exactly `treeSize`, if any. */
export async function storedCheckpoint(env: Env, treeSize: number): Promise<StoredCheckpoint | undefined> {
  const row = await env.DB.prepare(
    "SELECT tree_size, root_hash, timestamp, jws FROM log_checkpoints WHERE tree_size = ?",
  )
    .bind(treeSize)
    .first<CheckpointRow>();
  return row ? fromRow(env.NODE_ID, row) : undefined;
}

/**
 * The checkpoint for the current log size, signed lazily: when the log grew since the last one,
 * the new root is computed from O(log n) stored nodes, checked to be consistent with the previous
 * checkpoint (the log is append-only; a mismatch is storage corruption and nothing is signed),
 * signed with the node key and stored. Two racing signers store one checkpoint per size: the
 * loser answers the winner's.
 */
export async function currentCheckpoint(env: Env): Promise<StoredCheckpoint> {
  const d1 = env.DB;
  const size = await logSize(d1);
  const last = await d1
    .prepare(
      "SELECT tree_size, root_hash, timestamp, jws FROM log_checkpoints ORDER BY tree_size DESC LIMIT 1",
    )
    .first<CheckpointRow>();
  if (last && last.tree_size === size) return fromRow(env.NODE_ID, last);
  if (last && last.tree_size > size) {
    throw new Error(`transparency log has ${size} leaves but a checkpoint was signed for ${last.tree_size}`);
  }
  const reader = d1NodeReader(d1);
  const root = await rootAt(size, reader);
  if (!root.ok) throw new Error(root.reason);
  if (last) {
    const proof = await consistencyProofAt(last.tree_size, size, reader);
    if (!proof.ok) throw new Error(proof.reason);
    const consistent = await verifyConsistency({
      firstSize: last.tree_size,
      secondSize: size,
      firstRoot: fromHex(last.root_hash) as Uint8Array,
      secondRoot: root.value,
      proof: proof.value,
    });
    if (!consistent.ok) {
      throw new Error(
        `transparency log is not consistent with checkpoint ${last.tree_size}: ${consistent.reason}`,
      );
    }
  }
  const key = await nodeKey(env);
  const checkpoint: Checkpoint = {
    origin: env.NODE_ID,
    treeSize: size,
    rootHash: toHex(root.value),
    timestamp: Date.now(),
  };
  const jws = await signCheckpoint(checkpoint, key.privateKey, { alg: key.alg, kid: key.kid });
  await d1
    .prepare(
      "INSERT OR IGNORE INTO log_checkpoints (tree_size, root_hash, timestamp, jws) VALUES (?, ?, ?, ?)",
    )
    .bind(size, checkpoint.rootHash, checkpoint.timestamp, jws)
    .run();
  return (await storedCheckpoint(env, size)) as StoredCheckpoint;
}

export async function inclusionProof(d1: D1Database, index: number, treeSize: number): Promise<string[]> {
  const proof = await inclusionProofAt(index, treeSize, d1NodeReader(d1));
  if (!proof.ok) throw new Error(proof.reason);
  return proof.value.map(toHex);
}

export async function consistencyProof(d1: D1Database, first: number, second: number): Promise<string[]> {
  const proof = await consistencyProofAt(first, second, d1NodeReader(d1));
  if (!proof.ok) throw new Error(proof.reason);
  return proof.value.map(toHex);
}

export type LeafRow = { idx: number; leafHash: Uint8Array; recordId: string; kind: string };

/** The leaf at `index`, or the leaf with hash `leafHash`. */
export async function findLeaf(d1: D1Database, by: { index: number } | { leafHash: Uint8Array }) {
  const row =
    "index" in by
      ? await d1
          .prepare("SELECT idx, leaf_hash, record_id, kind FROM log_leaves WHERE idx = ?")
          .bind(by.index)
          .first<{ idx: number; leaf_hash: unknown; record_id: string; kind: string }>()
      : await d1
          .prepare(
            "SELECT idx, leaf_hash, record_id, kind FROM log_leaves WHERE leaf_hash = ? ORDER BY idx LIMIT 1",
          )
          .bind(blobParam(by.leafHash))
          .first<{ idx: number; leaf_hash: unknown; record_id: string; kind: string }>();
  if (!row) return undefined;
  return { idx: row.idx, leafHash: blobBytes(row.leaf_hash), recordId: row.record_id, kind: row.kind };
}

/**
 * Leaves [start, start + limit) with the stored JWS of each (null when the record was purged)
 * and, for a withheld (node-local) leaf, the digest it commits to.
 */
export async function leavesFrom(
  d1: D1Database,
  start: number,
  limit: number,
): Promise<(LeafRow & { jws: string | null; issuer: string | null; withheldDigest: Uint8Array | null })[]> {
  const rows = await d1
    .prepare(
      `SELECT l.idx, l.leaf_hash, l.record_id, l.kind, l.jws_sha256, r.jws, r.issuer
         FROM log_leaves l LEFT JOIN records r ON r.id = l.record_id
        WHERE l.idx >= ? ORDER BY l.idx LIMIT ?`,
    )
    .bind(start, limit)
    .all<{
      idx: number;
      leaf_hash: unknown;
      record_id: string;
      kind: string;
      jws_sha256: unknown;
      jws: string | null;
      issuer: string | null;
    }>();
  return rows.results.map((r) => ({
    idx: r.idx,
    leafHash: blobBytes(r.leaf_hash),
    recordId: r.record_id,
    kind: r.kind,
    jws: r.jws,
    issuer: r.issuer,
    withheldDigest: r.jws_sha256 === null ? null : blobBytes(r.jws_sha256),
  }));
}
