// What a match shard keeps of each video entry beside its frames' hashes in the index, so that it
// scores a query video against its candidates itself: no stored frames are read from D1 while a
// request waits, and only each candidate's verdict crosses to the Worker, not every frame pair.
//
// The index already returns, for each distinct query frame, EVERY stored frame hash within the
// item's distance (multi-index hashing is exact), keyed to its video and to the position of the
// hash's first frame. Those pairs are all the reference's comparison needs (compareVpdq in
// @eusn/vpdq: quality filter, unique hashes, then the share of each side within the distance of
// the other): a query frame counts when one of its pairs lands on a stored hash that some frame of
// quality ≥ Q carries, and a stored hash counts when it is such a hash and has a pair. So the
// verdict is the reference's exactly, from the hits alone, with no frame compared twice.
//
// Per video, one byte array: the timestamps (float64, exactly as sent, for the matched time
// ranges), each frame's distinct-hash position (uint16: at most 10,800 frames), each frame's
// quality, and each distinct hash's best quality. 11 bytes a frame and 1 a distinct hash.
import { matchedRanges } from "@eusn/vpdq";
import { FRAME_BYTES, HASH_BYTES } from "../lib/vpdq-frames.ts";
import type { ShardVideoHit } from "./types.ts";

export type VideoRecord = {
  frameCount: number;
  /** How many distinct hashes the video has (its entries in the index). */
  distinct: number;
  durationSeconds: number;
  /** [times f64 × n][slot u16 × n][quality u8 × n][best quality u8 × distinct] */
  bytes: Uint8Array;
};

const views = (r: VideoRecord) => {
  const n = r.frameCount;
  const b = r.bytes;
  return {
    times: new Float64Array(b.buffer, b.byteOffset, n),
    slot: new Uint16Array(b.buffer, b.byteOffset + 8 * n, n),
    quality: b.subarray(10 * n, 11 * n),
    best: b.subarray(11 * n, 11 * n + r.distinct),
  };
};

/** The record size for n frames and u distinct hashes (the byte array's length). */
export const recordBytes = (n: number, u: number) => 11 * n + u;

/**
 * A video's record and its distinct hashes as the index's words (8 per hash, word 0 the first 8
 * hex digits) with the position of each one's first frame, from the packed BLOB of
 * lib/vpdq-frames.ts (hashes, qualities, frame numbers, timestamps).
 */
export function videoFromPacked(
  blob: Uint8Array,
  frameCount: number,
  durationSeconds: number,
): { record: VideoRecord; frames: number[]; words: Uint32Array } {
  const n = frameCount;
  if (blob.length !== n * FRAME_BYTES)
    throw new Error(`a packed video of ${n} frames has ${blob.length} bytes`);
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const seen = new Map<string, number>();
  const frames: number[] = [];
  const all = new Uint32Array(n * 8);
  const slot = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    let key = "";
    const base = frames.length * 8;
    for (let w = 0; w < 8; w++) {
      const word = view.getUint32(i * HASH_BYTES + w * 4, false);
      all[base + w] = word;
      key += `${word},`;
    }
    const known = seen.get(key);
    if (known !== undefined) {
      slot[i] = known;
      continue;
    }
    slot[i] = frames.length;
    seen.set(key, frames.length);
    frames.push(i);
  }
  const u = frames.length;
  const bytes = new Uint8Array(recordBytes(n, u));
  const record: VideoRecord = { frameCount: n, distinct: u, durationSeconds, bytes };
  const v = views(record);
  for (let i = 0; i < n; i++) {
    v.times[i] = view.getFloat64(n * 37 + i * 8, true);
    const q = blob[n * HASH_BYTES + i]!;
    v.quality[i] = q;
    if (q > v.best[slot[i]!]!) v.best[slot[i]!] = q;
  }
  v.slot.set(slot);
  return { record, frames, words: all.subarray(0, u * 8) };
}

/** The shard's video records by match key. */
export class VideoTable {
  private readonly byKey = new Map<number, VideoRecord>();
  private bytes = 0;

  get size(): number {
    return this.byKey.size;
  }

  get(key: number): VideoRecord | undefined {
    return this.byKey.get(key);
  }

  set(key: number, r: VideoRecord): void {
    this.delete(key);
    this.byKey.set(key, r);
    this.bytes += r.bytes.byteLength;
  }

  delete(key: number): void {
    const old = this.byKey.get(key);
    if (!old) return;
    this.bytes -= old.bytes.byteLength;
    this.byKey.delete(key);
  }

  entries(): IterableIterator<[number, VideoRecord]> {
    return this.byKey.entries();
  }

  /** The records' bytes plus about 100 bytes of objects and map slot per video. */
  memoryBytes(): number {
    return this.bytes + this.byKey.size * 100;
  }
}

/**
 * The reference's verdict for one query video against one stored video, from the index's pairs:
 * `pairs` holds, for every hit, the query value's position (in `values`, the item's distinct
 * frames of quality ≥ `quality`) and the stored hash's first frame. Null when no query frame
 * counts (then both percentages would be 0, and the video is no match at any threshold).
 */
export function scoreVideo(
  r: VideoRecord,
  pairs: readonly number[],
  values: number,
  quality: number,
): Omit<ShardVideoHit, "item" | "key" | "distance"> | null {
  const v = views(r);
  const queryMatched = new Set<number>();
  const hashMatched = new Uint8Array(r.distinct);
  for (let i = 0; i < pairs.length; i += 2) {
    const d = v.slot[pairs[i + 1]!]!;
    if (v.best[d]! < quality) continue;
    queryMatched.add(pairs[i]!);
    hashMatched[d] = 1;
  }
  if (queryMatched.size === 0) return null;
  let targetFrames = 0;
  let targetMatched = 0;
  for (let d = 0; d < r.distinct; d++) {
    if (v.best[d]! < quality) continue;
    targetFrames++;
    targetMatched += hashMatched[d]!;
  }
  const matched = Array.from(v.quality, (q, i) => q >= quality && hashMatched[v.slot[i]!] === 1);
  return {
    queryMatched: [...queryMatched].sort((a, b) => a - b),
    queryFrames: values,
    targetFrames,
    targetMatched,
    targetRanges: matchedRanges(Array.from(v.times), matched),
    frameCount: r.frameCount,
    durationSeconds: r.durationSeconds,
  };
}

/** Records packed for the shard's snapshot: [key, n, u, duration as 2 words, bytes padded to 4]. */
export function packRecords(records: readonly [number, VideoRecord][]): Uint32Array {
  let words = 0;
  for (const [, r] of records) words += 5 + Math.ceil(r.bytes.byteLength / 4);
  const out = new Uint32Array(words);
  const f64 = new Float64Array(1);
  const f64w = new Uint32Array(f64.buffer);
  let o = 0;
  for (const [key, r] of records) {
    out[o] = key;
    out[o + 1] = r.frameCount;
    out[o + 2] = r.distinct;
    f64[0] = r.durationSeconds;
    out[o + 3] = f64w[0]!;
    out[o + 4] = f64w[1]!;
    new Uint8Array(out.buffer, (o + 5) * 4, r.bytes.byteLength).set(r.bytes);
    o += 5 + Math.ceil(r.bytes.byteLength / 4);
  }
  return out;
}

/** The records of `packRecords`, or null when the words do not parse as such. */
export function unpackRecords(words: Uint32Array): [number, VideoRecord][] | null {
  const out: [number, VideoRecord][] = [];
  const f64 = new Float64Array(1);
  const f64w = new Uint32Array(f64.buffer);
  let o = 0;
  while (o < words.length) {
    if (o + 5 > words.length) return null;
    const n = words[o + 1]!;
    const u = words[o + 2]!;
    if (n === 0 || u === 0 || u > n || n > 0xffff) return null;
    const len = recordBytes(n, u);
    const end = o + 5 + Math.ceil(len / 4);
    if (end > words.length) return null;
    f64w[0] = words[o + 3]!;
    f64w[1] = words[o + 4]!;
    // A copy, so a record never holds the whole chunk alive.
    const bytes = new Uint8Array(len);
    bytes.set(new Uint8Array(words.buffer, words.byteOffset + (o + 5) * 4, len));
    out.push([words[o]!, { frameCount: n, distinct: u, durationSeconds: f64[0]!, bytes }]);
    o = end;
  }
  return out;
}
