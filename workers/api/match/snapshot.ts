// A match shard's index serialized into the shard's own Durable Object storage (its SQLite
// database), so a restarted or evicted shard loads its entries in about a second instead of
// paging them all out of D1 again, then catches up from the change feed after the sequence the
// snapshot covers.
//
// What is stored is compact, not the index's internal arrays: each PDQ entry's match key and its
// 32-byte hash (36 bytes per entry; the multi-index buckets are rebuilt on load), each video
// frame's key, frame position and hash (40 bytes), each video's record for scoring (qualities,
// timestamps: match/videos.ts), and the MD5 / SHA-256 entries as text, in chunks of about 1 MiB (a Durable Object's SQLite rows hold at most
// 2 MB), with a meta row naming what the snapshot is of: the format, the shard layout, the
// indexable rule, the feed position and the submission at that position (the anchor), the counts,
// and each chunk's checksum.
//
// A snapshot is never trusted: `readSnapshot` refuses one whose format, shard layout, rule,
// counts or any chunk's checksum differ (corrupt, truncated, or written by other code), and the
// shard refuses one whose anchor is not in the feed at its position (a restored or replaced
// database: a stale snapshot). Either way the shard rebuilds from D1 and replaces it.
//
// Writing and reading are synchronous (no await): a Durable Object's storage calls without an
// await between them commit as one transaction, so a snapshot lands whole or not at all, and no
// request can change the index half-way through a write.
import type { MatchIndex } from "@eusn/match";
import { packRecords, unpackRecords, type VideoRecord, VideoTable } from "./videos.ts";

/**
 * Bumped whenever the layout below changes: an older snapshot is then rebuilt, not misread.
 * 2: video frames (ids `<key>.<frame>`, see shard.ts) in chunks of their own.
 * 3: the videos' records (match/videos.ts) in chunks of their own.
 */
export const SNAPSHOT_FORMAT = 3;
/** PDQ entries per chunk: 36 bytes each, just under 1 MiB a chunk. */
const PDQ_PER_CHUNK = 29_000;
const KIND_PDQ = 1;
const KIND_EXACT = 2;
/** Video frames: [kind, n, n keys, n frame positions, 8n words]. */
const KIND_FRAME = 3;
/** Video records: [kind, count, packRecords(...)]. */
const KIND_VIDEO = 4;
/** Bytes of video records per chunk (a record is at most ~130 KB). */
const VIDEO_CHUNK_BYTES = 900_000;

export type SnapshotMeta = {
  format: number;
  shard: number;
  shards: number;
  /** The indexable rule's SQL text the entries were selected by (rules/baseline.ts). */
  rule: string;
  /** The change-feed sequence the snapshot covers, and the submission of that change. */
  seq: number;
  anchor: string | null;
  pdq: number;
  exact: number;
  videos: number;
  chunks: number;
  /** Checksum of the chunks' checksums, in order: a missing, extra or reordered chunk shows. */
  sum: string;
  writtenAt: string;
};

/** What the snapshot must match to be used (the shard's layout and the code's rule). */
export type SnapshotFor = { shard: number; shards: number; rule: string };

/** Why a snapshot was not used: for the shard's stats and the tests. */
export type SnapshotRefusal = "none" | "format" | "layout" | "rule" | "corrupt";

const SCHEMA = [
  "CREATE TABLE IF NOT EXISTS snapshot_meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)",
  "CREATE TABLE IF NOT EXISTS snapshot_chunks (n INTEGER PRIMARY KEY, data BLOB NOT NULL, sum TEXT NOT NULL)",
];

function ensure(sql: SqlStorage) {
  for (const s of SCHEMA) sql.exec(s);
}

/**
 * A 64-bit checksum (two independent 32-bit multiplicative hashes over the words and the length)
 * as 16 hex characters. It catches corruption, truncation and misplaced chunks, not an adversary:
 * only the shard itself writes its storage.
 */
export function checksum(words: Uint32Array): string {
  let a = 0x811c9dc5 ^ words.length;
  let b = 0x9e3779b9 ^ words.length;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    a = Math.imul(a ^ w, 0x01000193);
    b = Math.imul(b ^ w, 0x5bd1e995);
    b ^= b >>> 15;
  }
  a ^= a >>> 16;
  b = Math.imul(b, 0x85ebca6b);
  b ^= b >>> 13;
  return (a >>> 0).toString(16).padStart(8, "0") + (b >>> 0).toString(16).padStart(8, "0");
}

const sumOfSums = (sums: string[]) => checksum(Uint32Array.from(sums.join(","), (c) => c.charCodeAt(0)));

/** The meta row of the stored snapshot, if any (unvalidated). */
export function snapshotMeta(sql: SqlStorage): SnapshotMeta | null {
  ensure(sql);
  const row = sql.exec<{ v: string }>("SELECT v FROM snapshot_meta WHERE k = 'meta'").toArray()[0];
  if (!row) return null;
  try {
    return JSON.parse(row.v) as SnapshotMeta;
  } catch {
    return { format: -1 } as SnapshotMeta;
  }
}

/** Removes the stored snapshot (one that was refused, or before a replacement). */
export function dropSnapshot(sql: SqlStorage): void {
  ensure(sql);
  sql.exec("DELETE FROM snapshot_chunks");
  sql.exec("DELETE FROM snapshot_meta");
}

/**
 * Replaces the stored snapshot with one of `index` at feed position (`seq`, `anchor`). Entry ids
 * are match keys in base 36 (see shard.ts). One synchronous transaction.
 */
export function writeSnapshot(
  storage: DurableObjectStorage,
  index: MatchIndex,
  videos: VideoTable,
  at: SnapshotFor & { seq: number; anchor: string | null },
): SnapshotMeta {
  const sql = storage.sql;
  return storage.transactionSync(() => {
    ensure(sql);
    sql.exec("DELETE FROM snapshot_chunks");
    const sums: string[] = [];
    let pdq = 0;
    for (const { ids, words } of index.exportPdq(PDQ_PER_CHUNK)) {
      // Still-image entries and video frames apart: a frame's id carries two numbers.
      const still: number[] = [];
      const frames: number[] = [];
      ids.forEach((id, i) => {
        (id.includes(".") ? frames : still).push(i);
      });
      if (still.length > 0) {
        const n = still.length;
        const chunk = new Uint32Array(2 + n * 9);
        chunk[0] = KIND_PDQ;
        chunk[1] = n;
        still.forEach((at, i) => {
          chunk[2 + i] = Number.parseInt(ids[at]!, 36);
          chunk.set(words.subarray(at * 8, at * 8 + 8), 2 + n + i * 8);
        });
        put(sql, sums, chunk);
      }
      if (frames.length > 0) {
        const n = frames.length;
        const chunk = new Uint32Array(2 + n * 10);
        chunk[0] = KIND_FRAME;
        chunk[1] = n;
        frames.forEach((at, i) => {
          const [key, frame] = ids[at]!.split(".") as [string, string];
          chunk[2 + i] = Number.parseInt(key, 36);
          chunk[2 + n + i] = Number.parseInt(frame, 36);
          chunk.set(words.subarray(at * 8, at * 8 + 8), 2 + 2 * n + i * 8);
        });
        put(sql, sums, chunk);
      }
      pdq += ids.length;
    }
    let exact = 0;
    let text = "";
    const flush = () => {
      const bytes = new TextEncoder().encode(text);
      const chunk = new Uint32Array(2 + Math.ceil(bytes.length / 4));
      chunk[0] = KIND_EXACT;
      chunk[1] = bytes.length;
      new Uint8Array(chunk.buffer, 8).set(bytes);
      put(sql, sums, chunk);
      text = "";
    };
    for (const e of index.exportExact()) {
      text += `${e.type} ${e.id} ${e.value}\n`;
      exact++;
      if (text.length > 900_000) flush();
    }
    if (text.length > 0) flush();
    let group: [number, VideoRecord][] = [];
    let groupBytes = 0;
    const flushVideos = () => {
      const packed = packRecords(group);
      const chunk = new Uint32Array(2 + packed.length);
      chunk[0] = KIND_VIDEO;
      chunk[1] = group.length;
      chunk.set(packed, 2);
      put(sql, sums, chunk);
      group = [];
      groupBytes = 0;
    };
    for (const e of videos.entries()) {
      group.push(e);
      groupBytes += e[1].bytes.byteLength + 20;
      if (groupBytes > VIDEO_CHUNK_BYTES) flushVideos();
    }
    if (group.length > 0) flushVideos();
    const meta: SnapshotMeta = {
      format: SNAPSHOT_FORMAT,
      shard: at.shard,
      shards: at.shards,
      rule: at.rule,
      seq: at.seq,
      anchor: at.anchor,
      pdq,
      exact,
      videos: videos.size,
      chunks: sums.length,
      sum: sumOfSums(sums),
      writtenAt: new Date().toISOString(),
    };
    sql.exec("INSERT OR REPLACE INTO snapshot_meta (k, v) VALUES ('meta', ?)", JSON.stringify(meta));
    return meta;
  });
}

function put(sql: SqlStorage, sums: string[], chunk: Uint32Array) {
  const sum = checksum(chunk);
  sql.exec("INSERT INTO snapshot_chunks (n, data, sum) VALUES (?, ?, ?)", sums.length, chunk.buffer, sum);
  sums.push(sum);
}

/**
 * The stored snapshot as a ready index (built once, `seq` applied) with its videos' records, or
 * why it was refused. Every chunk is checked before the index is handed out; nothing of a refused
 * snapshot is used.
 */
export function readSnapshot(
  sql: SqlStorage,
  want: SnapshotFor,
  newIndex: (meta: SnapshotMeta) => MatchIndex,
): { index: MatchIndex; videos: VideoTable; meta: SnapshotMeta } | { refused: SnapshotRefusal } {
  const meta = snapshotMeta(sql);
  if (!meta) return { refused: "none" };
  if (meta.format !== SNAPSHOT_FORMAT) return { refused: "format" };
  if (meta.shard !== want.shard || meta.shards !== want.shards) return { refused: "layout" };
  if (meta.rule !== want.rule) return { refused: "rule" };
  const index = newIndex(meta);
  const videos = new VideoTable();
  /** The videos whose frames are indexed (frame 0 always is: see shard.ts). */
  const indexedVideos = new Set<number>();
  const sums: string[] = [];
  let pdq = 0;
  let exact = 0;
  const rows = sql.exec<{ n: number; data: ArrayBuffer; sum: string }>(
    "SELECT n, data, sum FROM snapshot_chunks ORDER BY n",
  );
  for (const row of rows) {
    if (row.n !== sums.length || row.data.byteLength % 4 !== 0) return { refused: "corrupt" };
    const chunk = new Uint32Array(row.data);
    if (checksum(chunk) !== row.sum) return { refused: "corrupt" };
    sums.push(row.sum);
    const n = chunk[1]!;
    if (chunk[0] === KIND_PDQ) {
      if (chunk.length !== 2 + n * 9) return { refused: "corrupt" };
      const ids = new Array<string>(n);
      for (let i = 0; i < n; i++) ids[i] = chunk[2 + i]!.toString(36);
      const added = index.addPackedPdq(ids, chunk.subarray(2 + n), { deferIndex: true });
      if (!added.ok) return { refused: "corrupt" };
      pdq += n;
    } else if (chunk[0] === KIND_FRAME) {
      if (chunk.length !== 2 + n * 10) return { refused: "corrupt" };
      const ids = new Array<string>(n);
      for (let i = 0; i < n; i++) {
        ids[i] = `${chunk[2 + i]!.toString(36)}.${chunk[2 + n + i]!.toString(36)}`;
        if (chunk[2 + n + i] === 0) indexedVideos.add(chunk[2 + i]!);
      }
      const added = index.addPackedPdq(ids, chunk.subarray(2 + 2 * n), { deferIndex: true });
      if (!added.ok) return { refused: "corrupt" };
      pdq += n;
    } else if (chunk[0] === KIND_VIDEO) {
      const records = unpackRecords(chunk.subarray(2));
      if (!records || records.length !== n) return { refused: "corrupt" };
      for (const [key, r] of records) videos.set(key, r);
    } else if (chunk[0] === KIND_EXACT) {
      if (n > (chunk.length - 2) * 4) return { refused: "corrupt" };
      const text = new TextDecoder().decode(new Uint8Array(chunk.buffer, 8, n));
      for (const line of text.split("\n")) {
        if (line === "") continue;
        const [type, id, value] = line.split(" ");
        if (type !== "md5" && type !== "sha256") return { refused: "corrupt" };
        if (!index.add(id ?? "", type, value ?? "").ok) return { refused: "corrupt" };
        exact++;
      }
    } else return { refused: "corrupt" };
  }
  if (
    sums.length !== meta.chunks ||
    sumOfSums(sums) !== meta.sum ||
    pdq !== meta.pdq ||
    exact !== meta.exact ||
    videos.size !== meta.videos
  )
    return { refused: "corrupt" };
  // Every indexed video has its record, and every record its frames.
  if (indexedVideos.size !== videos.size) return { refused: "corrupt" };
  for (const [key] of videos.entries()) if (!indexedVideos.has(key)) return { refused: "corrupt" };
  index.finishLoad();
  return { index, videos, meta };
}
