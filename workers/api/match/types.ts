// What the Worker and a match shard (match/shard.ts) say to each other over Durable Object RPC.
// A leaf module: env.ts types the MATCH_SHARD binding with `MatchShardRpc` from here, so the
// binding's type does not depend on the shard's implementation (which itself reads Env).

/**
 * `pdq`: a hash and its dihedral variants; `vpdq`: a video's distinct query frames, each matched
 * as a PDQ hash within the item's `threshold` (the request's threshold when absent).
 */
export type ShardQueryItem = {
  type: "pdq" | "md5" | "sha256" | "vpdq";
  values: string[];
  threshold?: number;
  /** vpdq, `search`: the item's quality Q (stored frames below it do not count); default 50. */
  quality?: number;
};
/**
 * `key` is the submission's `match_key` (see schema/submissions.ts); `variant` the position of the
 * matched value in the item's `values`; `frame`, when the entry is a video, the position in its
 * frame list of the frame that matched.
 */
export type ShardHit = { item: number; variant: number; key: number; distance: number; frame?: number };
/**
 * A stored video a query video (a vpdq item) found, with the reference's comparison of the two
 * (match/videos.ts): `queryMatched` are the positions in the item's `values` (its distinct frames
 * of quality ≥ Q) within the distance of a stored hash that counts; `targetFrames` the stored
 * video's distinct hashes of quality ≥ Q and `targetMatched` how many of them matched; the time
 * ranges of its matched frames; `distance` the closest pair's.
 */
export type ShardVideoHit = {
  item: number;
  key: number;
  distance: number;
  queryMatched: number[];
  queryFrames: number;
  targetFrames: number;
  targetMatched: number;
  targetRanges: { start: number; end: number }[];
  frameCount: number;
  durationSeconds: number;
};
/** The change feed's last sequence and the submission of that change. */
export type FeedHead = { seq: number; submissionId: string };
/**
 * `search`'s answer: the hits of still-image and exact items, and the videos vpdq items found.
 * `hits` are packed, five numbers a hit (`item`, `variant`, `key`, `distance`, `frame`, -1 for
 * none; `unpackHits` reads them): one array crosses the RPC boundary as one copy, where tens of
 * thousands of hit objects at far thresholds are each serialised and rebuilt.
 */
export type ShardAnswer = {
  hits: Float64Array;
  videos: ShardVideoHit[];
  /**
   * Compactions of the shard's index during this call (its catch-up included): each folds the
   * delta into the base, O(n) of CPU during which the shard answers nobody. Reported in the match
   * answer's Server-Timing, so a client can tell a slow answer that waited for one.
   */
  compactions: number;
};

/** The hits of a packed `ShardAnswer.hits`, as objects. */
export function unpackHits(packed: Float64Array): ShardHit[] {
  const hits: ShardHit[] = [];
  for (let i = 0; i < packed.length; i += 5) {
    const hit: ShardHit = {
      item: packed[i]!,
      variant: packed[i + 1]!,
      key: packed[i + 2]!,
      distance: packed[i + 3]!,
    };
    if (packed[i + 4]! >= 0) hit.frame = packed[i + 4]!;
    hits.push(hit);
  }
  return hits;
}
/** `builtAt`: when this instance loaded its index from D1 (a later time means it was rebuilt). */
export type ShardStats = {
  entries: number;
  appliedSeq: number;
  memoryBytes: number;
  rebuilds: number;
  builtAt: string;
  /** Where the index was last loaded from: its snapshot in the shard's storage, or D1. */
  source: "d1" | "snapshot";
  /** Which scan / candidate-check code runs: the WebAssembly kernel or the JS fallback. */
  kernel: "wasm" | "js";
  /** The feed position of the snapshot in storage, if this instance wrote or loaded one. */
  snapshotSeq: number | null;
  /** Why the last stored snapshot was not used (corrupt, another layout or rule, stale), if so. */
  snapshotRefused: "none" | "format" | "layout" | "rule" | "corrupt" | "stale" | null;
  /** Compactions of the index since this instance loaded it (see ShardAnswer.compactions). */
  compactions: number;
  /** Entries added since the last compaction, and the delta size that triggers the next. */
  delta: number;
  deltaCapacity: number;
};

/** The shard's RPC methods; `MatchShard` implements this. */
export interface MatchShardRpc extends Rpc.DurableObjectBranded {
  /** Matches `items` against the up-to-date index of shard `shard` of `shards`. */
  query(shard: number, shards: number, items: ShardQueryItem[], threshold: number): Promise<ShardHit[]>;
  /**
   * As `query`, but a vpdq item's frame hits are scored here, per stored video, by the
   * reference's comparison (POST /v1/match): the item's videos instead of its frame pairs.
   * `head`, the change feed's head the caller read just before: a shard that has applied
   * exactly that change answers without reading the feed.
   */
  search(
    shard: number,
    shards: number,
    items: ShardQueryItem[],
    threshold: number,
    head?: FeedHead | null,
  ): Promise<ShardAnswer>;
  stats(shard: number, shards: number): Promise<ShardStats>;
  /** Writes the shard's snapshot now (the shard also does this on its own after builds). */
  snapshot(): void;
}
