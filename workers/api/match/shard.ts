// MatchShard: a Durable Object holding one shard of the in-memory match index (@eusn/match).
// D1 is the source of truth. On first use the shard loads its entries from the snapshot in its
// own storage (match/snapshot.ts) or, when there is none it can trust, from D1; then before every
// query it catches up from the `submission_changes` feed after the last sequence it applied, so a
// new submission matches on the next query and a withdrawal stops matching at once. It never
// rebuilds in full on a change; it rebuilds only when the feed is not the one it followed (the
// database was restored or replaced), and then it drops its snapshot too.
//
// Scans (far thresholds) and the candidate check of probing run in the index's WebAssembly kernel,
// imported precompiled as Workers require; if it cannot be instantiated the shard uses the JS
// path, which gives identical answers (test/api/match-shard.test.ts).
import { DurableObject } from "cloudflare:workers";
import { MatchIndex, type PdqMatch } from "@eusn/match";
import scanModule from "@eusn/match/scan.wasm";
import type { Env } from "../env.ts";
import { FRAME_BYTES } from "../lib/vpdq-frames.ts";
import { indexableSqlText, isIndexable } from "../rules/baseline.ts";
import { dropSnapshot, readSnapshot, type SnapshotRefusal, writeSnapshot } from "./snapshot.ts";
import {
  type FeedHead,
  type MatchShardRpc,
  type ShardAnswer,
  type ShardHit,
  type ShardQueryItem,
  type ShardStats,
  type ShardVideoHit,
  unpackHits,
} from "./types.ts";
import { scoreVideo, VideoTable, videoFromPacked } from "./videos.ts";

export type { ShardAnswer, ShardHit, ShardQueryItem, ShardStats, ShardVideoHit } from "./types.ts";

const PAGE = 20_000;
/** PDQ queries per slice of a batch: one slice of 256 at T = 52 over 1M entries is ~2.5 s. */
const QUERY_SLICE = 256;

/**
 * Gives the event loop a timer turn. Local workerd (wrangler dev 4.86.0 and its miniflare) drops a
 * Durable Object instance after it has been kept busy for more than about 10 s without one:
 * back-to-back D1 calls, or long batch queries right after a D1 read. The call returns normally,
 * but the next request meets a new, empty instance (and a request arriving at that moment fails).
 * A 1M-entry build takes 10-20 s on a busy machine, and a T = 52 batch of 1,000 at 1M about 9 s,
 * so without turns the index was rebuilt again and again. Measured with a scratch object (12-30 s
 * of D1 calls: dropped every time without a turn, kept every time with one every few seconds) and
 * with the bench's 1M data. A turn costs about a millisecond; the deployed runtime does not need
 * it, and there it also lets other requests in during a long batch.
 */
const timerTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** Which shard an entry belongs to: keys are dense feed positions, so a modulus balances them. */
export function shardOf(key: number, shards: number): number {
  return key % shards;
}

/**
 * Entries are held under their integer `match_key` written in base 36 (at most 6 characters below
 * 2^31): the index's id table then costs ~11 bytes per entry instead of ~37 for the 30-character
 * submission id, ~25 MiB less per million.
 */
const keyId = (key: number) => key.toString(36);
const keyOf = (id: string) => Number.parseInt(id, 36);

/**
 * A video entry's frames are PDQ entries of their own, one per distinct hash, each under
 * `<key>.<frame>` (both base 36; `frame` is the position of the hash's first frame in the video's
 * list), so any PDQ query finds them and `keyOf` still reads the video's key. Frame 0 is always
 * indexed (it is the first occurrence of its hash), so `<key>.0` says whether the video is.
 */
const frameId = (key: number, frame: number) => `${keyId(key)}.${frame.toString(36)}`;
const frameOf = (id: string): number | undefined => {
  const dot = id.indexOf(".");
  return dot < 0 ? undefined : Number.parseInt(id.slice(dot + 1), 36);
};

/** Video frames read per page when building: at most ~2.3 MB of packed frames per D1 answer. */
const FRAME_PAGE = 50_000;

/**
 * A fresh snapshot is written this long after a build from D1 (the query that caused the build is
 * answered first), and again once the shard has applied this many changes past the last one, so a
 * restart catches up over at most that many.
 */
const SNAPSHOT_AFTER_BUILD_MS = 1_000;
const SNAPSHOT_EVERY_CHANGES = 20_000;
const SNAPSHOT_DELAY_MS = 60_000;

// The build's statements that must not read every submission (test/api/query-plans.test.ts):
// at 10M entries one pass over the table is ~7.7 GB of pages, about 50 s, and each of twelve
// shards made it. SQLite's planner, without statistics, drove the video joins from submissions
// (every row, looking each up among the few videos); CROSS JOIN fixes the order to start from the
// videos.

/**
 * A split shard's index size, an upper bound: its keys up to the largest, and the frames of its
 * video entries. Binds: shards, shard, largest key.
 */
export const SPLIT_TOTAL_SQL = `SELECT (?3 - ?2) / ?1 + 1 AS n, coalesce(sum(v.frame_count), 0) AS frames
   FROM submission_videos v CROSS JOIN submissions s ON s.id = v.submission_id
  WHERE ${indexableSqlText("s")} AND s.match_key % ?1 = ?2`;

/**
 * A page of a split shard's still entries: its keys from ?3 (a recursive CTE stepping by the shard
 * count) looked up in the match_key index; a key whose entry is gone or not indexable is not
 * found. Binds: shards, shard, first key, page size, largest key.
 */
export const SPLIT_PAGE_SQL = `WITH RECURSIVE k(v) AS (SELECT ?3 UNION ALL SELECT v + ?1 FROM k WHERE v + ?1 <= ?5 LIMIT ?4)
  SELECT s.match_key, s.signal_type, s.value FROM k CROSS JOIN submissions s ON s.match_key = k.v
   WHERE ${indexableSqlText("s")} AND s.signal_type <> 'vpdq' ORDER BY s.match_key`;

/**
 * A page of a shard's video entries after key ?3: as many videos as fit in ?4 frames (at least
 * one), their packed frames read only for the videos of the page. Binds: shards, shard, after,
 * frames per page.
 */
export const VIDEO_PAGE_SQL = `SELECT p.match_key, w.frame_count, w.duration_seconds, w.frames FROM (
     SELECT s.match_key, v.submission_id, v.frame_count,
            sum(v.frame_count) OVER (ORDER BY s.match_key) AS upto
       FROM submission_videos v CROSS JOIN submissions s ON s.id = v.submission_id
      WHERE ${indexableSqlText("s")} AND s.match_key % ?1 = ?2 AND s.match_key > ?3) p
  CROSS JOIN submission_videos w ON w.submission_id = p.submission_id
  WHERE p.upto - p.frame_count < ?4 ORDER BY p.match_key`;

export class MatchShard extends DurableObject<Env> implements MatchShardRpc {
  private index: MatchIndex | null = null;
  /** What the shard keeps of each indexed video to score query videos (match/videos.ts). */
  private videos = new VideoTable();
  /** The submission id of the change at `appliedSeq`: detects a feed that is not ours any more. */
  private anchor: string | null = null;
  private loading: Promise<void> | null = null;
  /** The last catch-up started: the next one runs after it (see `followFeed`). */
  private following: Promise<unknown> = Promise.resolve();
  private rebuilds = 0;
  private builtAt = "";
  private shard = 0;
  private shards = 1;
  /** Where the index was last loaded from, and why a stored snapshot was not used, if it was not. */
  private source: "d1" | "snapshot" = "d1";
  private refused: SnapshotRefusal | "stale" | null = null;
  private kernel: "wasm" | "js" = "wasm";
  /** The feed position of the snapshot in storage (null: none written or loaded by this instance). */
  private snapshotSeq: number | null = null;
  /** Set when the feed proved the loaded index stale: the next load comes from D1. */
  private distrustSnapshot = false;
  /** A snapshot alarm is set and has not run yet (saves asking storage on every query). */
  private alarmPending = false;

  /** Runs `queries` against the up-to-date index of shard `shard` of `shards`. */
  async query(
    shard: number,
    shards: number,
    items: ShardQueryItem[],
    threshold: number,
  ): Promise<ShardHit[]> {
    return unpackHits((await this.run(shard, shards, items, threshold, false)).hits);
  }

  /** As `query`, with the videos vpdq items found scored here (see MatchShardRpc.search). */
  async search(
    shard: number,
    shards: number,
    items: ShardQueryItem[],
    threshold: number,
    head: FeedHead | null = null,
  ): Promise<ShardAnswer> {
    return this.run(shard, shards, items, threshold, true, head);
  }

  private async run(
    shard: number,
    shards: number,
    items: ShardQueryItem[],
    threshold: number,
    scoreVideos: boolean,
    head: FeedHead | null = null,
  ): Promise<ShardAnswer> {
    const loaded = this.index;
    const compactedBefore = loaded?.stats().pdq.compactions ?? 0;
    await this.ready(shard, shards, head);
    const index = this.index!;
    const compactionsSince = () => index.stats().pdq.compactions - (index === loaded ? compactedBefore : 0);
    // The hits packed (see ShardAnswer): item, variant, key, distance, frame (-1: none).
    const hits: number[] = [];
    // A vpdq item's frame pairs per stored video, when scored here: [value, frame, ...] and the
    // closest pair's distance.
    const pairs = new Map<number, { item: number; key: number; distance: number; pairs: number[] }>();
    // PDQ: all variants of all items (and the frames of video items) as one batch per threshold
    // (each slice is one pass over memory).
    const byThreshold = new Map<number, { flat: { item: number; variant: number }[]; values: string[] }>();
    items.forEach((it, item) => {
      if (it.type !== "pdq" && it.type !== "vpdq") return;
      const t = it.threshold ?? threshold;
      let group = byThreshold.get(t);
      if (!group) {
        group = { flat: [], values: [] };
        byThreshold.set(t, group);
      }
      it.values.forEach((v, variant) => {
        group.flat.push({ item, variant });
        group.values.push(v);
      });
    });
    // In slices with a timer turn between them (see timerTurn). Another request may apply feed
    // changes during a turn; later slices then see them, which is what "stops matching at once"
    // asks for (and every hit's status is read again from D1 before it is answered).
    let sliced = 0;
    for (const [t, { flat, values }] of byThreshold) {
      for (let start = 0; start < values.length; start += QUERY_SLICE) {
        if (sliced++ > 0) await timerTurn();
        const r = index.queryPdq(values.slice(start, start + QUERY_SLICE), { threshold: t });
        if (!r.ok) throw new Error(`pdq query failed: ${r.error.message}`);
        r.value.forEach((ms: PdqMatch[], j) => {
          const { item, variant } = flat[start + j]!;
          const scored = scoreVideos && items[item]!.type === "vpdq";
          for (const m of ms) {
            const frame = frameOf(m.id);
            const key = keyOf(m.id);
            if (frame === undefined) hits.push(item, variant, key, m.distance, -1);
            else if (!scored) hits.push(item, variant, key, m.distance, frame);
            else {
              const k = item * 2 ** 32 + key;
              const p = pairs.get(k);
              if (!p) pairs.set(k, { item, key, distance: m.distance, pairs: [variant, frame] });
              else {
                p.pairs.push(variant, frame);
                if (m.distance < p.distance) p.distance = m.distance;
              }
            }
          }
        });
      }
    }
    const videos: ShardVideoHit[] = [];
    for (const p of pairs.values()) {
      const record = this.videos.get(p.key);
      if (!record) throw new Error(`video ${p.key} is indexed without its record`);
      const it = items[p.item]!;
      const s = scoreVideo(record, p.pairs, it.values.length, it.quality ?? 50);
      if (s) videos.push({ item: p.item, key: p.key, distance: p.distance, ...s });
    }
    const exact = items.flatMap((it, item) =>
      it.type === "md5" || it.type === "sha256" ? [{ item, q: { type: it.type, value: it.values[0]! } }] : [],
    );
    if (exact.length > 0) {
      const r = index.lookupExact(exact.map((e) => e.q));
      if (!r.ok) throw new Error(`exact lookup failed: ${r.error.message}`);
      r.value.forEach((ids, k) => {
        for (const id of ids) hits.push(exact[k]!.item, 0, keyOf(id), 0, -1);
      });
    }
    return { hits: Float64Array.from(hits), videos, compactions: compactionsSince() };
  }

  async stats(shard: number, shards: number): Promise<ShardStats> {
    await this.ready(shard, shards);
    const { pdq } = this.index!.stats();
    return {
      entries: this.index!.size,
      appliedSeq: this.index!.appliedSeq,
      memoryBytes: this.index!.memoryBytes() + this.videos.memoryBytes(),
      rebuilds: this.rebuilds,
      builtAt: this.builtAt,
      source: this.source,
      kernel: this.kernel,
      snapshotSeq: this.snapshotSeq,
      snapshotRefused: this.refused,
      compactions: pdq.compactions,
      delta: pdq.delta,
      deltaCapacity: pdq.deltaCapacity,
    };
  }

  /** Writes the snapshot the last build or catch-up scheduled (see SNAPSHOT_*). */
  override async alarm(): Promise<void> {
    this.alarmPending = false;
    if (!this.index || this.loading) return;
    this.snapshot();
  }

  /** Serializes the current index into this object's storage, replacing the previous snapshot. */
  snapshot(): void {
    const index = this.index;
    if (!index) return;
    const meta = writeSnapshot(this.ctx.storage, index, this.videos, {
      shard: this.shard,
      shards: this.shards,
      rule: indexableSqlText(),
      seq: index.appliedSeq,
      anchor: this.anchor,
    });
    this.snapshotSeq = meta.seq;
  }

  /** A MatchIndex with the WebAssembly kernel, or the JS path if the kernel cannot be set up. */
  private newIndex(options: { seq: number; capacity: number; idBytes: number }): MatchIndex {
    try {
      const index = new MatchIndex({ ...options, scanModule });
      this.kernel = "wasm";
      return index;
    } catch (e) {
      console.error("match kernel unavailable, using the JS path:", e instanceof Error ? e.name : "unknown");
      this.kernel = "js";
      return new MatchIndex(options);
    }
  }

  private async ready(shard: number, shards: number, head: FeedHead | null = null): Promise<void> {
    if (this.index && (shard !== this.shard || shards !== this.shards)) this.index = null;
    this.shard = shard;
    this.shards = shards;
    // At the head the caller just read, with the same change there (the anchor): nothing to
    // follow, and no D1 read. Anything else (behind, ahead, another anchor) follows the feed.
    if (
      head &&
      this.index &&
      !this.loading &&
      this.index.appliedSeq === head.seq &&
      this.anchor === head.submissionId
    )
      return;
    // Load when there is no index, then follow the feed. A feed that is not the one the index
    // followed (a restored or replaced database) drops the index, and the snapshot it may have come
    // from, and loads again from D1; `null` means a concurrent request dropped it meanwhile, so
    // this one waits for that load and follows again.
    for (let replaced = 0; ; ) {
      if (!this.index) {
        this.loading ??= this.load().finally(() => {
          this.loading = null;
        });
        await this.loading;
      }
      const followed = await this.followFeed();
      if (followed === true) {
        await this.scheduleSnapshot();
        return;
      }
      if (followed === false) {
        if (++replaced > 2)
          throw new Error("the change feed does not continue the index just loaded from it");
        if (this.source === "snapshot") this.refused = "stale";
        this.index = null;
        this.distrustSnapshot = true;
        dropSnapshot(this.ctx.storage.sql);
        this.snapshotSeq = null;
      }
    }
  }

  /** The snapshot in storage if it is whole and of this shard and rule, else a build from D1. */
  private async load(): Promise<void> {
    if (!this.distrustSnapshot) {
      const got = readSnapshot(
        this.ctx.storage.sql,
        { shard: this.shard, shards: this.shards, rule: indexableSqlText() },
        (meta) =>
          this.newIndex({
            seq: meta.seq,
            capacity: meta.pdq + Math.max(4096, meta.pdq >>> 5) + 1024,
            idBytes: keyId(Math.max(1, meta.seq)).length,
          }),
      );
      if ("index" in got) {
        this.index = got.index;
        this.videos = got.videos;
        this.anchor = got.meta.anchor;
        this.source = "snapshot";
        this.snapshotSeq = got.meta.seq;
        this.rebuilds++;
        this.builtAt = new Date().toISOString();
        return;
      }
      if (got.refused !== "none") {
        // Never trusted: refused (corrupt, another layout or rule) means rebuilt from D1 and replaced.
        this.refused = got.refused;
        dropSnapshot(this.ctx.storage.sql);
      }
    }
    this.distrustSnapshot = false;
    this.snapshotSeq = null;
    await this.build();
    this.source = "d1";
    await this.ctx.storage.setAlarm(Date.now() + SNAPSHOT_AFTER_BUILD_MS);
    this.alarmPending = true;
  }

  /** After a catch-up: a new snapshot once enough changes have been applied since the last one. */
  private async scheduleSnapshot(): Promise<void> {
    const index = this.index;
    if (!index || this.alarmPending) return;
    if (this.snapshotSeq !== null && index.appliedSeq - this.snapshotSeq < SNAPSHOT_EVERY_CHANGES) return;
    this.alarmPending = true;
    await this.ctx.storage.setAlarm(
      Date.now() + (this.snapshotSeq === null ? SNAPSHOT_AFTER_BUILD_MS : SNAPSHOT_DELAY_MS),
    );
  }

  /** Full load: every live submission of this shard, at the feed position read first. */
  private async build(): Promise<void> {
    const db = this.env.DB;
    const head = await db
      .prepare("SELECT seq, submission_id FROM submission_changes ORDER BY seq DESC LIMIT 1")
      .first<{ seq: number; submission_id: string }>();
    const live = `${indexableSqlText()} AND match_key % ?1 = ?2`;
    // One of several shards reads only its own keys: `match_key % shards = shard` cannot use an
    // index, so filtering every row by it made each shard read the whole table — at 10M entries
    // and 12 shards, 120M rows before the first answer. Instead each page generates the shard's
    // keys (a recursive CTE stepping by the shard count) and looks each up in the match_key
    // index; a key whose entry is gone or not indexable is simply not found.
    const split = this.shards > 1;
    const maxKey = split
      ? ((await db.prepare("SELECT max(match_key) AS k FROM submissions").first<{ k: number | null }>())?.k ??
        0)
      : 0;
    // Video entries count by their frames (an upper bound: repeated hashes are indexed once).
    // Split, the still entries are bounded by the shard's keys up to the largest.
    const total = split
      ? await db
          .prepare(SPLIT_TOTAL_SQL)
          .bind(this.shards, this.shard, Math.max(maxKey, this.shard))
          .first<{ n: number; frames: number }>()
      : await db
          .prepare(
            `SELECT count(*) AS n, coalesce(sum((SELECT frame_count FROM submission_videos v WHERE v.submission_id = submissions.id)), 0) AS frames
               FROM submissions WHERE ${live}`,
          )
          .bind(this.shards, this.shard)
          .first<{ n: number; frames: number }>();
    const n = (total?.n ?? 0) + (total?.frames ?? 0);
    // Sized once for every entry plus the room the index keeps for later adds (its delta), so
    // neither the load nor the first adds reallocate: a reallocation briefly holds two copies.
    this.videos = new VideoTable();
    const index = this.newIndex({
      seq: head?.seq ?? 0,
      capacity: n + Math.max(4096, n >>> 5) + 1024,
      idBytes: keyId(Math.max(1, head?.seq ?? 1)).length,
    });
    // Streamed page by page into the pre-sized arrays, indexed once at the end: materialising
    // every row first would need ~170 MB of transient objects per million entries, more than an
    // isolate may use. Keyset paging on match_key; rows added after `head` come from catchUp().
    let after = 0;
    // Split: the shard's keys after `after`, PAGE of them per page (the first one is the
    // smallest key above `after` congruent to the shard).
    let nextKey = this.shard === 0 ? this.shards : this.shard;
    for (;;) {
      if (split && nextKey > maxKey) break;
      const page = split
        ? await db
            .prepare(SPLIT_PAGE_SQL)
            .bind(this.shards, this.shard, nextKey, PAGE, maxKey)
            .all<{ match_key: number; signal_type: "pdq" | "md5" | "sha256"; value: string }>()
        : await db
            .prepare(
              `SELECT match_key, signal_type, value FROM submissions WHERE ${live} AND signal_type <> 'vpdq' AND match_key > ?3 ORDER BY match_key LIMIT ?4`,
            )
            .bind(this.shards, this.shard, after, PAGE)
            .all<{ match_key: number; signal_type: "pdq" | "md5" | "sha256"; value: string }>();
      const entries = page.results.map((r) => ({
        id: keyId(r.match_key),
        type: r.signal_type,
        value: r.value,
      }));
      if (entries.length > 0) {
        const added = index.addMany(entries, { deferIndex: true });
        if (!added.ok) throw new Error(`index build failed: ${added.error.message}`);
      }
      if (split) {
        nextKey += PAGE * this.shards;
        await timerTurn();
        continue;
      }
      if (page.results.length < PAGE) break;
      await timerTurn();
      after = page.results[page.results.length - 1]!.match_key;
    }
    // Video entries: their packed frames, as many videos per page as fit in FRAME_PAGE frames
    // (at least one).
    after = 0;
    for (;;) {
      const page = await db.prepare(VIDEO_PAGE_SQL).bind(this.shards, this.shard, after, FRAME_PAGE).all<{
        match_key: number;
        frame_count: number;
        duration_seconds: number;
        frames: ArrayBuffer | number[];
      }>();
      for (const r of page.results)
        this.addVideo(index, r.match_key, r.frames, r.frame_count, r.duration_seconds, true);
      if (page.results.length === 0) break;
      await timerTurn();
      after = page.results[page.results.length - 1]!.match_key;
    }
    index.finishLoad();
    this.index = index;
    this.anchor = head?.submission_id ?? null;
    this.rebuilds++;
    this.builtAt = new Date().toISOString();
  }

  /** The packed frames of these videos, 20 videos per D1 query (at most ~10 MB). */
  private async packedVideos(
    keys: number[],
  ): Promise<Map<number, { frames: ArrayBuffer | number[]; duration: number }>> {
    const out = new Map<number, { frames: ArrayBuffer | number[]; duration: number }>();
    for (let i = 0; i < keys.length; i += 20) {
      const got = await this.env.DB.prepare(
        `SELECT s.match_key, v.duration_seconds, v.frames
           FROM submissions s JOIN submission_videos v ON v.submission_id = s.id
          WHERE s.match_key IN (SELECT value FROM json_each(?1))`,
      )
        .bind(JSON.stringify(keys.slice(i, i + 20)))
        .all<{ match_key: number; duration_seconds: number; frames: ArrayBuffer | number[] }>();
      for (const r of got.results) out.set(r.match_key, { frames: r.frames, duration: r.duration_seconds });
    }
    return out;
  }

  /**
   * Indexes a video's distinct frame hashes under `frameId(key, frame)` and keeps its record
   * (qualities, timestamps) for scoring.
   */
  private addVideo(
    index: MatchIndex,
    key: number,
    packed: ArrayBuffer | number[] | Uint8Array,
    frameCount: number,
    durationSeconds: number,
    deferIndex = false,
  ): void {
    const bytes =
      packed instanceof Uint8Array
        ? packed
        : Array.isArray(packed)
          ? Uint8Array.from(packed)
          : new Uint8Array(packed);
    if (bytes.length !== frameCount * FRAME_BYTES)
      throw new Error(`video ${key}: packed frames of the wrong size`);
    const { record, frames, words } = videoFromPacked(bytes, frameCount, durationSeconds);
    const added = index.addPackedPdq(
      frames.map((f) => frameId(key, f)),
      words,
      { deferIndex },
    );
    if (!added.ok) throw new Error(`video ${key}: ${added.error.message}`);
    this.videos.set(key, record);
  }

  /** Removes every frame a video may have indexed. */
  private removeVideo(index: MatchIndex, key: number, frameCount: number): void {
    for (let f = 0; f < frameCount; f++) index.remove(frameId(key, f));
    this.videos.delete(key);
  }

  /**
   * Catches up, one catch-up at a time. Requests reach the object concurrently and a catch-up
   * awaits D1: two running side by side would read the same changes, the first would apply them,
   * and the second would then find its page no longer starting at the applied sequence and take
   * that for a replaced database (a full rebuild). Run in turn, each starts where the last ended.
   * Null when there is no index to follow (another request dropped it for a rebuild).
   */
  private followFeed(): Promise<boolean | null> {
    const run = this.following.then(() => (this.index ? this.catchUp() : null));
    this.following = run.catch(() => undefined);
    return run;
  }

  /**
   * Applies the changes after the applied sequence. Returns false when the feed no longer
   * contains the change the index was anchored on (restored or replaced database): rebuild.
   */
  private async catchUp(): Promise<boolean> {
    const index = this.index!;
    const from = index.appliedSeq;
    for (;;) {
      const rows = await this.env.DB.prepare(
        `SELECT c.seq, c.submission_id, c.change, s.match_key, s.signal_type, s.value, s.status, s.baseline_state AS baselineState, s.tlp,
                (SELECT frame_count FROM submission_videos v WHERE v.submission_id = s.id) AS frame_count
           FROM submission_changes c JOIN submissions s ON s.id = c.submission_id
          WHERE c.seq >= ? ORDER BY c.seq LIMIT 5000`,
      )
        .bind(index.appliedSeq)
        .all<{
          seq: number;
          submission_id: string;
          change: string;
          match_key: number;
          signal_type: "pdq" | "md5" | "sha256" | "vpdq";
          value: string;
          frame_count: number | null;
          status: "live" | "withdrawn" | "reversed";
          baselineState: "none" | "included" | "disputed" | "excluded" | "retired";
          tlp: string | null;
        }>();
      let rs = rows.results;
      if (index.appliedSeq > 0) {
        const first = rs[0];
        if (!first || first.seq !== index.appliedSeq || first.submission_id !== this.anchor) return false;
        rs = rs.slice(1);
      } else if (from === 0 && this.anchor !== null) {
        return false;
      }
      if (rs.length === 0) return true;
      // The frames of the videos of this shard this page may add, read before the page is
      // applied in order.
      const videoKeys = rs
        .filter(
          (r) =>
            r.signal_type === "vpdq" &&
            shardOf(r.match_key, this.shards) === this.shard &&
            r.change !== "withdrawn" &&
            r.change !== "reversed" &&
            r.change !== "excluded" &&
            isIndexable(r),
        )
        .map((r) => r.match_key);
      const videoFrames = await this.packedVideos([...new Set(videoKeys)]);
      for (const r of rs) {
        if (shardOf(r.match_key, this.shards) === this.shard) {
          const id = keyId(r.match_key);
          if (r.signal_type === "vpdq") {
            const frames = r.frame_count ?? 0;
            const removal = r.change === "withdrawn" || r.change === "reversed" || r.change === "excluded";
            if (removal) this.removeVideo(index, r.match_key, frames);
            else if (isIndexable(r) && !index.has(frameId(r.match_key, 0))) {
              const packed = videoFrames.get(r.match_key);
              if (packed) this.addVideo(index, r.match_key, packed.frames, frames, packed.duration);
            }
          } else if (r.change === "created" && isIndexable(r)) {
            index.add(id, r.signal_type, r.value);
          } else if (r.change === "withdrawn" || r.change === "reversed" || r.change === "excluded") {
            index.remove(id);
          } else if (isIndexable(r) && !index.has(id)) {
            // e.g. re-included after an exclusion.
            index.add(id, r.signal_type, r.value);
          }
        }
        index.applied(r.seq);
        this.anchor = r.submission_id;
      }
      if (rows.results.length < 5000) return true;
      await timerTurn();
    }
  }
}
