// Exact in-memory index of 256-bit PDQ hashes: every entry within Hamming distance T of a query, never
// an approximation. Multi-index hashing (16 bands x 16 bits) for small T, a packed linear scan for large
// T, chosen per query by a cost estimate. Built to be held by a Worker (isolate cache or Durable Object)
// and kept current with add/remove instead of full rebuilds. See ../README.md for the design and figures.
//
// Layout, all typed arrays (no object per entry):
//   lo, hi    Uint32Array, 4 words per slot each: words 0-3 and 4-7 of the hash (see hex.ts). Split so
//             that rejecting a candidate (almost always decided by the first 128 bits) touches a
//             16 MiB array per million entries instead of 32 MiB: fewer cache and TLB misses.
//   alive     Uint32Array bitset, 1 bit per slot: 0 once removed. Checked on every hit, so removal is
//             immediate.
//   offsets   Uint32Array(16 * 65537): CSR bucket starts of the base, per band (65,536 starts and
//             the band's end), positions in that band's arrays.
//   postings  one Uint8Array per band, 3 bytes (little-endian) per slot: the base's slots grouped
//             by band value, ascending in a bucket. One array per band, so that a fold that needs
//             more room reallocates them one at a time (one band's worth held twice, not all).
//             3 bytes, not 4, saves 15 MiB per million; it is why an index holds at most 2^24 slots.
//   nexts     one Uint16Array per band beside its postings: each posting's value of the next band
//             (b + 1 mod 16), so probing rejects almost every candidate from its bucket alone (the
//             ring filter, below).
//   deltaHead/deltaNext  Int32Array chains per (band, band value) for slots added since the last
//             compaction; compaction folds them into the base.
//   ids       IdTable: caller's string ids <-> dense slots.

import { PDQ_WORDS, parsePdqHexInto } from "./hex.ts";
import { IdTable } from "./ids.ts";
import { popcount32 } from "./popcount.ts";
import { fail, ok, type Result } from "./result.ts";
import { WasmScanner } from "./wasm-scan.ts";

/** Bands per hash and bits per band for multi-index hashing. */
export const BANDS = 16;
const BAND_KEYS = 1 << 16;
/** Entries of `offsets` per band: a start per band value and the band's end. */
const BAND_OFFSETS = BAND_KEYS + 1;
/** Largest Hamming threshold accepted (PDQ's useful range; 64+ would match unrelated images). */
export const MAX_THRESHOLD = 63;
/** Threshold used when the caller gives none (the network's default match distance). */
export const DEFAULT_THRESHOLD = 31;
/** Hard cap on slots: postings store slots in 3 bytes. A Worker-held index is far smaller. */
export const MAX_SLOTS = 1 << 24;
/**
 * Smallest delta before compaction; larger bases get base/32. Compaction is O(n) (with the
 * WebAssembly kernel on the benchmark VM, per million entries: a merge of the delta 0.2-0.55 s of
 * CPU, up to 1 s when the arrays grow; a rebuild after removals 1-2 s), so this amortises it to
 * 6-35 us per add, while capping what the delta and the headroom kept for it cost in memory
 * (~6 MiB per million, chain heads included).
 */
const MIN_DELTA = 4096;
const DELTA_SHIFT = 5;
/** Entries per block of a batched scan: 4096 x 16 B per half = 64 KiB, comfortably inside L2. */
const SCAN_BLOCK = 4096;
/**
 * Candidates of a probe batch are radix-sorted by slot (two passes of 12 bits) before they are
 * checked, so the checks stream through `lo` in order instead of jumping at random: measured ~2x
 * faster at a million entries, where random reads miss every cache and the TLB.
 */
const RADIX_BITS = 12;
/**
 * Candidate pairs buffered before they are sorted and checked (12 bytes each: 3 MiB at most,
 * allocated per query call and not kept). More pairs per pass means denser reads of `lo`.
 */
const PAIR_CAPACITY = 1 << 18;
/** Queries per probe batch; a pair packs the query's position in the batch with its band in 16 bits. */
const BATCH_QUERIES = 4096;
/** The pair buffers the WebAssembly kernel checks in its own memory (3 MiB, allocated once). */
const PAIR_SPACE = { pairs: PAIR_CAPACITY, queries: BATCH_QUERIES };

/**
 * Cost model for choosing probing or a scan per query, in nanoseconds of CPU, measured on the 2-core
 * benchmark VM at 1M uniform entries (see README); only the ratios matter. A probed bucket costs cache
 * misses; a candidate costs the ring filter's test of its next band (the few that pass it are then
 * sorted and checked; the threshold sweep of bench/match-index.ts at T = 32 and 48 fits 100 and 15
 * ns). A scanned entry costs
 * the first half of a comparison, plus the second half for the share `pass` of entries whose first
 * 128 bits are already within T (P[Binomial(128, 1/2) <= T] for random data), unless the branch-free
 * loop that always adds all 256 bits is cheaper.
 */
const COST_BUCKET_NS = 100;
const COST_CANDIDATE_NS = 15;
/** JS scan: early exit 5.5 + 24 x pass ns per entry, branch-free 9.6 ns. */
const JS_SCAN = { early: 5.5, perPass: 24, full: 9.6 };
/**
 * The WebAssembly kernel (wasm-scan.ts, four queries per pass): early exit 0.65 + 150 x pass, the
 * full form (its one check after 192 bits) 0.9 ns per entry and query, measured at 1M entries
 * (the early exit under load, so relative to the JS figures above, which were measured on a
 * quieter machine, they err towards probing; the full form as 0.61-0.70 of the branch-free one it
 * replaced, 1.45 ns). The early exit's branches cost more per passing entry with four queries in
 * flight: the two forms cross near T = 46.
 */
const WASM_SCAN = { early: 0.65, perPass: 150, full: 0.9 };

/** Per-entry scan cost and whether the early-exit loop is the cheaper one, for a pass share. */
function scanCostNs(kernel: { early: number; perPass: number; full: number }, pass: number) {
  const early = kernel.early + kernel.perPass * pass;
  return early <= kernel.full ? { ns: early, early: true } : { ns: kernel.full, early: false };
}

const HALF_PASS: Float64Array = (() => {
  // P[X <= t] for X ~ Binomial(128, 1/2), t = 0..63, by the recurrence on C(128, k).
  const out = new Float64Array(MAX_THRESHOLD + 1);
  let term = 2 ** -128;
  let acc = 0;
  for (let k = 0; k <= MAX_THRESHOLD; k++) {
    acc += term;
    out[k] = acc;
    term = (term * (128 - k)) / (k + 1);
  }
  return out;
})();

/** Popcount of every 16-bit value: the ring filter's per-candidate test is one lookup. */
const POP16: Uint8Array = (() => {
  const out = new Uint8Array(BAND_KEYS);
  for (let m = 1; m < BAND_KEYS; m++) out[m] = out[m >>> 1]! + (m & 1);
  return out;
})();

/** Probe masks: all 16-bit values with popcount <= r, for r = 0..3 (sizes 1, 17, 137, 697). */
const BALLS: readonly Uint16Array[] = (() => {
  const byWeight: number[][] = [[], [], [], []];
  for (let m = 0; m < BAND_KEYS; m++) {
    const w = popcount32(m);
    if (w <= 3) byWeight[w]!.push(m);
  }
  const balls: Uint16Array[] = [];
  let acc: number[] = [];
  for (let r = 0; r <= 3; r++) {
    acc = acc.concat(byWeight[r]!);
    balls.push(Uint16Array.from(acc));
  }
  return balls;
})();

export interface PdqEntry {
  id: string;
  /** 64 hex characters (either case). */
  hash: string;
}

export interface PdqMatch {
  id: string;
  distance: number;
}

/** "auto" picks per query by estimated cost; the others force one path (tests and benchmarks). */
export type MatchStrategy = "auto" | "mih" | "scan";

export interface PdqQueryOptions {
  /** Hamming distance threshold, an integer 0..63; default 31. */
  threshold?: number;
  strategy?: MatchStrategy;
}

export interface PdqIndexOptions {
  /** Expected number of entries: arrays are sized for it up front so a bulk load does not regrow. */
  capacity?: number;
  /**
   * The compiled scan kernel (wasm-scan.ts; in a Worker, the precompiled import of wasm/scan.wasm).
   * When given, hashes live in WebAssembly memory and scans use the kernel; otherwise plain JS.
   */
  scanModule?: WebAssembly.Module;
  /** Expected UTF-8 length of an id, for sizing the id pool before a bulk load (default 32). */
  idBytes?: number;
}

export interface PdqIndexStats {
  /** Entries that can match. */
  live: number;
  /** Removed entries still occupying slots until the next compaction. */
  dead: number;
  /** Slots in the CSR base. */
  base: number;
  /** Slots added since the last compaction (in the delta chains). */
  delta: number;
  /** Delta size that triggers compaction. */
  deltaCapacity: number;
  /** Slot capacity of the arrays. */
  capacity: number;
  compactions: number;
  /** Compactions that merged the delta into the base in place (the others rebuilt it). */
  merges: number;
}

/** Counters of one query() call: which path each query took and the work done. */
export interface PdqQueryStats {
  mihQueries: number;
  scanQueries: number;
  /** Candidates checked by probing (each costs a random memory access). */
  candidates: number;
  /** Entries compared by scanning. */
  scanned: number;
}

export class PdqIndex {
  private lo: Uint32Array;
  private hi: Uint32Array;
  private alive: Uint32Array;
  /** Slot capacity of lo/hi/alive. */
  private capacity: number;
  private readonly ids: IdTable;
  /** Slots in use (live or dead); slots are never reused before compaction. */
  private count = 0;
  /** Slots 0..baseCount-1 are in the CSR base; baseCount..indexed-1 in the delta chains. */
  private baseCount = 0;
  /** Slots below this are in the base or the delta; above it only during a bulk load. */
  private indexed = 0;
  private live = 0;
  private offsets: Uint32Array | undefined;
  private postings: Uint8Array[] = Array.from({ length: BANDS }, () => new Uint8Array(0));
  private nexts: Uint16Array[] = Array.from({ length: BANDS }, () => new Uint16Array(0));
  private deltaHead: Int32Array | undefined;
  private deltaNext: Int32Array = new Int32Array(0);
  private deltaCap = MIN_DELTA;
  private compactions = 0;
  private merges = 0;
  private readonly one = new Uint32Array(PDQ_WORDS);
  private readonly scanModule: WebAssembly.Module | undefined;
  private scanner: WasmScanner | undefined;
  private readonly radixCounts = new Int32Array(Math.max(1 << RADIX_BITS, MAX_SLOTS >>> RADIX_BITS) + 2);
  /** Counters of the last query() call. */
  lastQueryStats: PdqQueryStats = { mihQueries: 0, scanQueries: 0, candidates: 0, scanned: 0 };

  constructor(options: PdqIndexOptions = {}) {
    const capacity = Math.min(MAX_SLOTS, Math.max(1024, Math.floor(options.capacity ?? 1024)));
    const idBytes = Math.max(1, Math.floor(options.idBytes ?? 32));
    this.capacity = capacity;
    this.scanModule = options.scanModule;
    if (this.scanModule !== undefined) {
      this.scanner = new WasmScanner(this.scanModule, capacity, 4 * SCAN_BLOCK, PAIR_SPACE);
      this.lo = this.scanner.lo;
      this.hi = this.scanner.hi;
    } else {
      this.lo = new Uint32Array(capacity * 4);
      this.hi = new Uint32Array(capacity * 4);
    }
    this.alive = new Uint32Array((capacity >>> 5) + 1);
    this.ids = new IdTable(capacity, capacity * idBytes);
  }

  /** Builds an index from many entries at once (one CSR build, no delta). */
  static build(entries: readonly PdqEntry[], options: PdqIndexOptions = {}): Result<PdqIndex> {
    // Sized once for these entries plus a full delta, so neither the load nor the adds after it
    // reallocate (a reallocation briefly holds two copies of the hashes). The id pool is sized
    // exactly by addMany.
    const index = new PdqIndex({
      ...options,
      capacity: withDeltaRoom(Math.max(options.capacity ?? 0, entries.length)),
      idBytes: 1,
    });
    const added = index.addMany(entries);
    return added.ok ? ok(index) : added;
  }

  /** Entries that can match. */
  get size(): number {
    return this.live;
  }

  has(id: string): boolean {
    return this.ids.find(id) >= 0;
  }

  /**
   * Adds `id` with `hash`, or replaces the hash of an existing `id` (so replaying a change is
   * harmless). Returns "added", "replaced" or "unchanged".
   */
  add(id: string, hash: string): Result<"added" | "replaced" | "unchanged"> {
    if (!IdTable.isValid(id)) return fail("invalid_id", "entry id must be 1..256 bytes of UTF-8");
    if (!parsePdqHexInto(hash, this.one, 0))
      return fail("invalid_hash", "PDQ hash must be 64 hex characters");
    return this.addWords(id, this.one, 0);
  }

  /** add() of a hash already packed as 8 words at `h[ho..ho+7]`; `id` already validated. */
  private addWords(id: string, h: Uint32Array, ho: number): Result<"added" | "replaced" | "unchanged"> {
    this.finishLoad();
    const existing = this.ids.find(id);
    if (existing >= 0 && this.sameHash(existing, h, ho)) return ok("unchanged");
    if (this.live >= MAX_SLOTS) {
      return fail("capacity_exceeded", `an index holds at most ${MAX_SLOTS} entries`);
    }
    if (this.count >= MAX_SLOTS) this.compact();
    const previous = this.appendSlot(id, h, ho);
    if (previous >= 0) this.kill(previous);
    if (this.count - this.baseCount > this.deltaCap) this.compact();
    else this.linkDelta(this.count - 1);
    this.maybeCompactForDead();
    return ok(previous >= 0 ? "replaced" : "added");
  }

  /**
   * addMany() of hashes already packed 8 words each (`words[8i..8i+7]` for `ids[i]`), e.g. as
   * exportLive() gave them: a load that skips hex entirely. All-or-nothing validation of the ids.
   */
  addPacked(
    ids: readonly string[],
    words: Uint32Array,
    options: { deferIndex?: boolean } = {},
  ): Result<number> {
    const n = ids.length;
    if (words.length !== n * PDQ_WORDS) return fail("invalid_hash", "packed hashes are 8 words each");
    let idBytes = 0;
    for (let i = 0; i < n; i++) {
      if (!IdTable.isValid(ids[i]!)) return fail("invalid_id", "entry id must be 1..256 bytes of UTF-8", i);
      idBytes += ids[i]!.length;
    }
    if (this.live + n > MAX_SLOTS)
      return fail("capacity_exceeded", `an index holds at most ${MAX_SLOTS} entries`);
    if (this.count > 0 && this.indexed === this.count && this.count - this.baseCount + n <= this.deltaCap) {
      for (let i = 0; i < n; i++) this.addWords(ids[i]!, words, i * PDQ_WORDS);
      return ok(n);
    }
    if (this.count + n > MAX_SLOTS) this.compact();
    this.reserve(withDeltaRoom(this.count + n));
    this.ids.reserve(withDeltaRoom(this.count + n), idBytes);
    for (let i = 0; i < n; i++) {
      const previous = this.appendSlot(ids[i]!, words, i * PDQ_WORDS);
      if (previous >= 0) this.kill(previous);
    }
    if (!options.deferIndex) this.compact();
    return ok(n);
  }

  /**
   * The live entries in slot order, `chunk` at a time: their ids and their hashes packed 8 words
   * each (what addPacked() takes back). For serializing the index; removed entries are left out.
   */
  *exportLive(chunk: number): Generator<{ ids: string[]; words: Uint32Array }> {
    const size = Math.max(1, Math.floor(chunk));
    let ids: string[] = [];
    let words = new Uint32Array(size * PDQ_WORDS);
    const { lo, hi, alive } = this;
    for (let s = 0; s < this.count; s++) {
      if (((alive[s >>> 5]! >>> (s & 31)) & 1) === 0) continue;
      const o = ids.length * PDQ_WORDS;
      const so = s * 4;
      words[o] = lo[so]!;
      words[o + 1] = lo[so + 1]!;
      words[o + 2] = lo[so + 2]!;
      words[o + 3] = lo[so + 3]!;
      words[o + 4] = hi[so]!;
      words[o + 5] = hi[so + 1]!;
      words[o + 6] = hi[so + 2]!;
      words[o + 7] = hi[so + 3]!;
      ids.push(this.ids.idOf(s));
      if (ids.length === size) {
        yield { ids, words };
        ids = [];
        words = new Uint32Array(size * PDQ_WORDS);
      }
    }
    if (ids.length > 0) yield { ids, words: words.subarray(0, ids.length * PDQ_WORDS) };
  }

  /**
   * Adds or replaces many entries (a later entry with the same id wins). All-or-nothing: every id
   * and hash is validated before any is applied. Small batches go to the delta; large ones are
   * appended and folded in by one rebuild. Returns the number of entries applied.
   */
  addMany(entries: readonly PdqEntry[], options: { deferIndex?: boolean } = {}): Result<number> {
    const n = entries.length;
    let idBytes = 0;
    for (let i = 0; i < n; i++) {
      const e = entries[i]!;
      if (!IdTable.isValid(e.id)) return fail("invalid_id", "entry id must be 1..256 bytes of UTF-8", i);
      if (!parsePdqHexInto(e.hash, this.one, 0)) {
        return fail("invalid_hash", "PDQ hash must be 64 hex characters", i);
      }
      idBytes += e.id.length; // exact for ASCII ids; the pool grows if others are longer
    }
    if (this.live + n > MAX_SLOTS)
      return fail("capacity_exceeded", `an index holds at most ${MAX_SLOTS} entries`);
    // Into the delta when it fits; an empty index always gets the (faster to query) CSR base.
    if (this.count > 0 && this.indexed === this.count && this.count - this.baseCount + n <= this.deltaCap) {
      for (const e of entries) this.add(e.id, e.hash);
      return ok(n);
    }
    if (this.count + n > MAX_SLOTS) this.compact();
    this.reserve(withDeltaRoom(this.count + n));
    this.ids.reserve(withDeltaRoom(this.count + n), idBytes);
    const one = this.one;
    for (const e of entries) {
      parsePdqHexInto(e.hash, one, 0);
      const previous = this.appendSlot(e.id, one, 0);
      if (previous >= 0) this.kill(previous);
    }
    // A load in pages (e.g. from a database) appends every page first and builds the CSR once at
    // the end: one O(n) build instead of one per page, and no regrown postings arrays in between.
    if (!options.deferIndex) this.compact();
    return ok(n);
  }

  /** Builds what `addMany(..., { deferIndex: true })` left unindexed. Queries and adds do it too. */
  finishLoad(): void {
    if (this.indexed < this.count) this.compact();
  }

  /** Removes `id`; it can never match again, effective immediately. False when it was not present. */
  remove(id: string): boolean {
    const slot = this.ids.find(id);
    if (slot < 0) return false;
    this.ids.delete(slot);
    this.kill(slot);
    this.maybeCompactForDead();
    return true;
  }

  /** The stored hash of `id` as 64 lower-case hex characters, or undefined. */
  hashOf(id: string): string | undefined {
    const s = this.ids.find(id);
    if (s < 0) return undefined;
    let hex = "";
    for (let w = 0; w < PDQ_WORDS; w++) hex += this.word(s, w).toString(16).padStart(8, "0");
    return hex;
  }

  /**
   * Folds the delta into the base and drops removed slots: renumbers live slots densely and rebuilds
   * the CSR, in place (no second copy of the big arrays). Runs automatically when the delta fills or
   * removed slots pile up; results are identical before and after.
   */
  compact(): void {
    if (this.canMergeDelta()) {
      this.mergeDelta();
      this.merges++;
    } else this.rebuild();
    this.compactions++;
  }

  /**
   * The slots above the base can be merged into it: nothing to drop (no slot renumbered). Whether
   * they are in the delta's chains does not matter (the merge reads their hashes).
   */
  private canMergeDelta(): boolean {
    return this.offsets !== undefined && this.baseCount > 0 && this.live === this.count;
  }

  /**
   * Folds the delta into the base without rebuilding it: the delta's slots are all above the
   * base's, so each one's postings go at the end of its buckets, and the base's postings only
   * move up by the number of delta postings in the buckets before theirs. Band by band, from the
   * last bucket down, one move per run of buckets without delta postings, in place: in the band's
   * arrays when they have room, else in new ones with room for the two next deltas, the base copied
   * in first (the old ones are let go band by band, so one band's worth is held twice, never the
   * whole base). A linear move of the postings instead of the counting sort of every slot's 16
   * bands, and no id rehashed (the slots keep their numbers). Same layout as a rebuild: slots
   * ascend within each bucket.
   */
  private mergeDelta(): void {
    const nb = this.baseCount;
    const n = this.count;
    const d = n - nb;
    const offsets = this.offsets!;
    // The delta's postings of one band, sorted by band value (slots ascending within one: a
    // stable counting sort of slots taken in order), from the hashes themselves, so slots added
    // beyond the chains (the one whose add triggered this) are included.
    const keys = new Uint16Array(d);
    const slotsOf = new Uint32Array(d);
    const counts = new Uint32Array(BAND_KEYS + 1);
    const room = withTwoDeltasRoom(n);
    for (let b = 0; b < BANDS; b++) {
      counts.fill(0);
      for (let i = 0; i < d; i++) counts[this.bandOfSlot(nb + i, b) + 1]!++;
      for (let v = 0; v < BAND_KEYS; v++) counts[v + 1]! += counts[v]!;
      for (let i = 0; i < d; i++) {
        const v = this.bandOfSlot(nb + i, b);
        const at = counts[v]!++;
        keys[at] = v;
        slotsOf[at] = nb + i;
      }
      let to = this.postings[b]!;
      let toNexts = this.nexts[b]!;
      if (to.length < 3 * n || toNexts.length < n) {
        // Into new arrays: the band's base copied in whole (one copy, not one per run), then merged
        // there in place as below; the old arrays are let go now, before the next band's.
        const grown = new Uint8Array(3 * room);
        grown.set(to.subarray(0, 3 * nb));
        const grownNexts = new Uint16Array(room);
        grownNexts.set(toNexts.subarray(0, nb));
        to = grown;
        toNexts = grownNexts;
      }
      const o = b * BAND_OFFSETS;
      const nb2 = (b + 1) & 15;
      // `shift`: the delta postings in buckets up to the current one; `top`: the end of the
      // base's postings not yet moved.
      let shift = d;
      let top = nb;
      for (let j = d - 1; j >= 0; ) {
        const end = offsets[o + keys[j]! + 1]!;
        if (top > end) {
          to.copyWithin(3 * (end + shift), 3 * end, 3 * top);
          toNexts.copyWithin(end + shift, end, top);
        }
        top = end;
        const v = keys[j];
        for (; j >= 0 && keys[j] === v; j--) {
          const p = end + --shift;
          const slot = slotsOf[j]!;
          toNexts[p] = this.bandOfSlot(slot, nb2);
          to[3 * p] = slot;
          to[3 * p + 1] = slot >>> 8;
          to[3 * p + 2] = slot >>> 16;
        }
      }
      if (shift !== 0) throw new Error(`internal: delta postings left over (${shift})`);
      this.postings[b] = to;
      this.nexts[b] = toNexts;
      // Bucket starts move up by the delta postings in the buckets before them.
      let add = 0;
      let j = 0;
      for (let v = 0; v < BAND_KEYS; v++) {
        offsets[o + v]! += add;
        for (; j < d && keys[j] === v; j++) add++;
      }
      offsets[o + BAND_KEYS]! += add;
    }
    this.baseCount = n;
    this.indexed = n;
    this.deltaCap = Math.max(MIN_DELTA, n >>> DELTA_SHIFT);
    this.reserve(withDeltaRoom(n));
    this.ids.makeRoom(this.deltaCap + 1);
    if (this.deltaNext.length < BANDS * this.deltaCap) this.deltaNext = new Int32Array(0);
    this.deltaHead?.fill(-1);
  }

  /** compact() by rebuilding: drops removed slots, renumbers the rest densely, rebuilds the CSR. */
  private rebuild(): void {
    const { lo, hi, alive } = this;
    let j = 0;
    for (let s = 0; s < this.count; s++) {
      if (((alive[s >>> 5]! >>> (s & 31)) & 1) === 0) continue;
      if (j !== s) {
        // Four word moves each, not copyWithin: a native call per slot costs more than the copy.
        const to = j * 4;
        const from = s * 4;
        lo[to] = lo[from]!;
        lo[to + 1] = lo[from + 1]!;
        lo[to + 2] = lo[from + 2]!;
        lo[to + 3] = lo[from + 3]!;
        hi[to] = hi[from]!;
        hi[to + 1] = hi[from + 1]!;
        hi[to + 2] = hi[from + 2]!;
        hi[to + 3] = hi[from + 3]!;
      }
      j++;
    }
    this.deltaCap = Math.max(MIN_DELTA, j >>> DELTA_SHIFT);
    // Room for a full delta now, so adds until the next compaction never reallocate.
    const n = this.ids.compact(alive, this.deltaCap + 1);
    // Both sides drop exactly the dead slots; a mismatch would mean ids point at the wrong hashes.
    if (j !== n) throw new Error(`internal: id table and slots disagree (${n} vs ${j})`);
    alive.fill(0);
    for (let w = 0; w < j >>> 5; w++) alive[w] = -1;
    if ((j & 31) !== 0) alive[j >>> 5] = (1 << (j & 31)) - 1;
    this.count = j;
    this.baseCount = j;
    this.indexed = j;
    this.live = j;
    this.reserve(withDeltaRoom(j));
    this.rebuildBase();
    // The delta's arrays are allocated by the first add (an index that is only rebuilt never needs them).
    if (this.deltaNext.length < BANDS * this.deltaCap) this.deltaNext = new Int32Array(0);
    this.deltaHead?.fill(-1);
  }

  /**
   * All entries within `threshold` of each query, per query in input order, each list sorted by
   * distance then id. A malformed hash or threshold fails the whole batch (with the index of the
   * offending hash).
   */
  query(hashes: readonly string[], options: PdqQueryOptions = {}): Result<PdqMatch[][]> {
    const nq = hashes.length;
    const q = new Uint32Array(nq * PDQ_WORDS);
    for (let i = 0; i < nq; i++) {
      if (!parsePdqHexInto(hashes[i]!, q, i * PDQ_WORDS)) {
        return fail("invalid_hash", "PDQ hash must be 64 hex characters", i);
      }
    }
    return this.queryPacked(q, options);
  }

  /**
   * query() on hashes already packed 8 words each (see pdqHexToWords), for callers that hold them
   * that way (e.g. the 8 dihedral variants of an image).
   */
  queryPacked(q: Uint32Array, options: PdqQueryOptions = {}): Result<PdqMatch[][]> {
    const threshold = options.threshold ?? DEFAULT_THRESHOLD;
    if (!Number.isInteger(threshold) || threshold < 0 || threshold > MAX_THRESHOLD) {
      return fail("invalid_threshold", `threshold must be an integer from 0 to ${MAX_THRESHOLD}`);
    }
    if (q.length % PDQ_WORDS !== 0) return fail("invalid_hash", "packed hashes are 8 words each");
    this.finishLoad();
    return ok(this.search(q, q.length / PDQ_WORDS, threshold, options.strategy ?? "auto"));
  }

  private search(q: Uint32Array, nq: number, threshold: number, strategy: MatchStrategy): PdqMatch[][] {
    const radius = threshold >>> 4; // pigeonhole: some band differs by <= floor(T / 16) bits
    const slots: number[][] = [];
    const dists: number[][] = [];
    const toProbe: number[] = [];
    const toScan: number[] = [];
    const buckets = BANDS * BALLS[radius]!.length;
    const scanCost = this.count * scanCostNs(this.scanner ? WASM_SCAN : JS_SCAN, HALF_PASS[threshold]!).ns;
    // The candidates above which a scan costs less than probing (auto only). Below zero, probing's
    // bucket reads alone cost more than a scan (far thresholds on small shards: 11,152 buckets at
    // T >= 48): every query is scanned without counting its candidates.
    const limit =
      strategy === "auto"
        ? (scanCost - buckets * COST_BUCKET_NS) / COST_CANDIDATE_NS
        : Number.POSITIVE_INFINITY;
    for (let i = 0; i < nq; i++) {
      slots.push([]);
      dists.push([]);
      if (strategy === "scan" || limit < 0) toScan.push(i);
      else toProbe.push(i);
    }
    const stats: PdqQueryStats = { mihQueries: 0, scanQueries: 0, candidates: 0, scanned: 0 };
    // Probing moves to toScan each query whose candidates pass the limit (counted just before it
    // would gather them, so the bucket offsets are read from cache the second time).
    if (toProbe.length > 0)
      stats.candidates = this.probe(q, toProbe, threshold, radius, limit, toScan, slots, dists);
    if (toScan.length > 0) stats.scanned = this.scan(q, toScan, threshold, slots, dists);
    stats.scanQueries = toScan.length;
    stats.mihQueries = nq - toScan.length;
    this.lastQueryStats = stats;
    const out: PdqMatch[][] = [];
    for (let i = 0; i < nq; i++) out.push(this.toMatches(slots[i]!, dists[i]!));
    return out;
  }

  /**
   * Bytes held by this index's typed arrays, the id pool included (small JS objects and the
   * per-call query buffers, at most ~3 MiB while a query runs, are not).
   */
  memoryBytes(): number {
    return (
      (this.scanner?.memory.buffer.byteLength ?? this.lo.byteLength + this.hi.byteLength) +
      this.alive.byteLength +
      (this.offsets?.byteLength ?? 0) +
      this.postings.reduce((sum, a) => sum + a.byteLength, 0) +
      this.nexts.reduce((sum, a) => sum + a.byteLength, 0) +
      (this.deltaHead?.byteLength ?? 0) +
      this.deltaNext.byteLength +
      this.radixCounts.byteLength +
      this.ids.memoryBytes()
    );
  }

  stats(): PdqIndexStats {
    return {
      live: this.live,
      dead: this.count - this.live,
      base: this.baseCount,
      delta: this.count - this.baseCount,
      deltaCapacity: this.deltaCap,
      capacity: this.capacity,
      compactions: this.compactions,
      merges: this.merges,
    };
  }

  // --- internals -------------------------------------------------------------------------------

  /** Word `w` (0..7) of slot `s`. */
  private word(s: number, w: number): number {
    return w < 4 ? this.lo[s * 4 + w]! : this.hi[s * 4 + w - 4]!;
  }

  private sameHash(s: number, h: Uint32Array, ho: number): boolean {
    for (let w = 0; w < PDQ_WORDS; w++) if (this.word(s, w) !== h[ho + w]) return false;
    return true;
  }

  /** Marks a slot dead (its id mapping is already gone or replaced). */
  private kill(s: number): void {
    const w = s >>> 5;
    const bit = 1 << (s & 31);
    if ((this.alive[w]! & bit) === 0) return;
    this.alive[w] = this.alive[w]! & ~bit;
    this.live--;
  }

  private maybeCompactForDead(): void {
    // Dead slots cost memory and a wasted candidate check each; reclaim once they are many.
    const dead = this.count - this.live;
    if (dead > MIN_DELTA && dead * 8 > this.count) this.compact();
  }

  private reserve(slots: number): void {
    if (slots <= this.capacity) return;
    let lo: Uint32Array;
    let hi: Uint32Array;
    if (this.scanModule !== undefined) {
      this.scanner = new WasmScanner(this.scanModule, slots, 4 * SCAN_BLOCK, PAIR_SPACE);
      lo = this.scanner.lo;
      hi = this.scanner.hi;
    } else {
      lo = new Uint32Array(slots * 4);
      hi = new Uint32Array(slots * 4);
    }
    lo.set(this.lo.subarray(0, this.count * 4));
    this.lo = lo;
    hi.set(this.hi.subarray(0, this.count * 4));
    this.hi = hi;
    const alive = new Uint32Array((slots >>> 5) + 1);
    alive.set(this.alive.subarray(0, Math.min(this.alive.length, alive.length)));
    this.alive = alive;
    this.capacity = slots;
  }

  /** Appends a live slot for `id` with hash `h[ho..ho+7]`; returns the slot `id` had before, or -1. */
  private appendSlot(id: string, h: Uint32Array, ho: number): number {
    if (this.count >= this.capacity) {
      // Normally compaction leaves room for the whole delta; this is the fallback.
      this.reserve(Math.min(MAX_SLOTS, this.count + Math.max(MIN_DELTA, this.count >>> DELTA_SHIFT)));
    }
    const s = this.count;
    const o = s * 4;
    const { lo, hi } = this;
    lo[o] = h[ho]!;
    lo[o + 1] = h[ho + 1]!;
    lo[o + 2] = h[ho + 2]!;
    lo[o + 3] = h[ho + 3]!;
    hi[o] = h[ho + 4]!;
    hi[o + 1] = h[ho + 5]!;
    hi[o + 2] = h[ho + 6]!;
    hi[o + 3] = h[ho + 7]!;
    this.alive[s >>> 5] = this.alive[s >>> 5]! | (1 << (s & 31));
    this.count++;
    this.live++;
    return this.ids.upsert(id);
  }

  private linkDelta(slot: number): void {
    if (this.deltaHead === undefined) this.deltaHead = new Int32Array(BANDS * BAND_KEYS).fill(-1);
    if (this.deltaNext.length < BANDS * this.deltaCap) this.deltaNext = new Int32Array(BANDS * this.deltaCap);
    const head = this.deltaHead;
    const next = this.deltaNext;
    const i = slot - this.baseCount;
    for (let b = 0; b < BANDS; b++) {
      const x = this.word(slot, b >>> 1);
      const k = b * BAND_KEYS + ((b & 1) === 0 ? x >>> 16 : x & 0xffff);
      next[b * this.deltaCap + i] = head[k]!;
      head[k] = i;
    }
    this.indexed = slot + 1;
  }

  /**
   * Counting sort of every base slot into (band, value) buckets. One pass per hash word (both of its
   * bands), so the counters touched stay within 512 KiB and the words are read 8 times, not 16.
   */
  private rebuildBase(): void {
    const n = this.baseCount;
    const growing = this.offsets !== undefined;
    if (this.offsets === undefined) this.offsets = new Uint32Array(BANDS * BAND_OFFSETS);
    const offsets = this.offsets;
    if (this.postings[0]!.length < 3 * n) {
      // Room for the next delta too, so the following compaction merges into these arrays; for an
      // index that outgrew them (not a first build), for the two next deltas (2.5 B more per entry
      // for each delta of room).
      const room = growing ? withTwoDeltasRoom(n) : withDeltaRoom(n);
      for (let b = 0; b < BANDS; b++) {
        this.postings[b] = new Uint8Array(0); // let the old ones go before allocating the new ones
        this.nexts[b] = new Uint16Array(0);
      }
      for (let b = 0; b < BANDS; b++) {
        this.postings[b] = new Uint8Array(3 * room);
        this.nexts[b] = new Uint16Array(room);
      }
    }
    offsets.fill(0);
    for (let w = 0; w < PDQ_WORDS; w++) {
      const src = w < 4 ? this.lo : this.hi;
      const b0 = 2 * w * BAND_OFFSETS;
      const b1 = b0 + BAND_OFFSETS;
      for (let s = 0, o = w & 3; s < n; s++, o += 4) {
        const x = src[o]!;
        offsets[b0 + (x >>> 16)]!++;
        offsets[b1 + (x & 0xffff)]!++;
      }
    }
    // Inclusive prefix sums make offsets[k] the end of bucket k; filling backwards by decrementing
    // leaves offsets[k] at its start, with slots ascending inside each bucket. Each band counts
    // from 0 in its own arrays and ends with its end (n).
    for (let b = 0; b < BANDS; b++) {
      const o = b * BAND_OFFSETS;
      let acc = 0;
      for (let v = 0; v < BAND_KEYS; v++) {
        acc += offsets[o + v]!;
        offsets[o + v] = acc;
      }
      offsets[o + BAND_KEYS] = acc;
    }
    for (let w = 0; w < PDQ_WORDS; w++) {
      const src = w < 4 ? this.lo : this.hi;
      // The word after this one holds the band after b1 (band 15's next is band 0, word 0).
      const w2 = (w + 1) & 7;
      const src2 = w2 < 4 ? this.lo : this.hi;
      const b0 = 2 * w * BAND_OFFSETS;
      const b1 = b0 + BAND_OFFSETS;
      const postings0 = this.postings[2 * w]!;
      const nexts0 = this.nexts[2 * w]!;
      const postings1 = this.postings[2 * w + 1]!;
      const nexts1 = this.nexts[2 * w + 1]!;
      for (let s = n - 1, o = s * 4 + (w & 3), o2 = s * 4 + (w2 & 3); s >= 0; s--, o -= 4, o2 -= 4) {
        const x = src[o]!;
        let k = b0 + (x >>> 16);
        let p = offsets[k]! - 1;
        offsets[k] = p;
        nexts0[p] = x & 0xffff;
        p *= 3;
        postings0[p] = s;
        postings0[p + 1] = s >>> 8;
        postings0[p + 2] = s >>> 16;
        k = b1 + (x & 0xffff);
        p = offsets[k]! - 1;
        offsets[k] = p;
        nexts1[p] = src2[o2]! >>> 16;
        p *= 3;
        postings1[p] = s;
        postings1[p + 1] = s >>> 8;
        postings1[p + 2] = s >>> 16;
      }
    }
  }

  /**
   * Candidates probing would check for this query: exact for the base, expected for the delta.
   * Stops counting once the total passes `limit` (the query is then scanned whatever the rest).
   */
  private countCandidates(q: Uint32Array, qo: number, radius: number, limit: number): number {
    const masks = BALLS[radius]!;
    const nm = masks.length;
    let total = ((this.indexed - this.baseCount) * BANDS * nm) / BAND_KEYS;
    const offsets = this.offsets;
    if (offsets === undefined) return total;
    for (let b = 0; b < BANDS; b++) {
      const base = b * BAND_OFFSETS;
      const x = q[qo + (b >>> 1)]!;
      const key = (b & 1) === 0 ? x >>> 16 : x & 0xffff;
      for (let m = 0; m < nm; m++) {
        const k = base + (key ^ masks[m]!);
        total += offsets[k + 1]! - offsets[k]!;
      }
      if (total > limit) return total;
    }
    return total;
  }

  /**
   * Multi-index probing for the queries in `which`. Every entry within `threshold` of a query has
   * some band within `radius` bits of the query's band (pigeonhole), so the buckets at distance
   * <= radius in every band hold all matches. More holds (the pigeonring principle: Qin et al.,
   * "Pigeonring", VLDB 2019): the 16 band distances sum to at most T, so going round the ring of
   * bands from the right start every run of l bands sums to at most l * T / 16; in particular some
   * band b has d(b) <= floor(T/16) and d(b) + d(b+1 mod 16) <= floor(T/8). Each posting holds its
   * entry's next band, so a candidate failing the second bound is dropped from its bucket without
   * reading its hash: at T = 31 about 1 in 400 survives. Survivors are gathered as (slot, query,
   * band) pairs, sorted by slot and only then checked, which turns one random memory access per
   * candidate into a stream through memory. An entry is reported only from the first band that
   * passes both bounds, so nothing is reported twice and no per-query "seen" set is needed.
   * Returns the candidates read from the buckets.
   */
  private probe(
    q: Uint32Array,
    which: readonly number[],
    threshold: number,
    radius: number,
    limit: number,
    toScan: number[],
    slots: number[][],
    dists: number[][],
  ): number {
    const scanner = this.scanner;
    // With the WebAssembly kernel the pairs live in its memory, allocated once; the JS path
    // allocates buffers sized for this call.
    const size = scanner
      ? PAIR_CAPACITY
      : Math.min(PAIR_CAPACITY, 2 ** Math.ceil(Math.log2(Math.max(1024, which.length * 256))));
    const pairs: Pairs = scanner
      ? { slot: scanner.pairSlot, tag: scanner.pairTag, tmpSlot: scanner.tmpSlot, tmpTag: scanner.tmpTag }
      : {
          slot: new Int32Array(size),
          tag: new Uint16Array(size),
          tmpSlot: new Int32Array(size),
          tmpTag: new Uint16Array(size),
        };
    const masks = BALLS[radius]!;
    const nm = masks.length;
    const pair = threshold >>> 3; // the ring filter's bound on a band and the next one together
    const offsets = this.offsets;
    const bandPostings = this.postings;
    const bandNexts = this.nexts;
    const head = this.indexed > this.baseCount ? this.deltaHead : undefined;
    const next = this.deltaNext;
    const deltaCap = this.deltaCap;
    const baseCount = this.baseCount;
    const pairSlot = pairs.slot;
    const pairTag = pairs.tag;
    let n = 0;
    let total = 0;
    for (let from = 0; from < which.length; from += BATCH_QUERIES) {
      const batch = which.slice(from, from + BATCH_QUERIES);
      if (scanner) {
        // The kernel finds each pair's query by its position in the batch.
        for (let j = 0; j < batch.length; j++)
          scanner.queries.set(
            q.subarray(batch[j]! * PDQ_WORDS, batch[j]! * PDQ_WORDS + PDQ_WORDS),
            j * PDQ_WORDS,
          );
      }
      for (let j = 0; j < batch.length; j++) {
        const qo = batch[j]! * PDQ_WORDS;
        if (limit !== Number.POSITIVE_INFINITY && this.countCandidates(q, qo, radius, limit) > limit) {
          toScan.push(batch[j]!);
          continue;
        }
        for (let b = 0; b < BANDS; b++) {
          const x = q[qo + (b >>> 1)]!;
          const key = (b & 1) === 0 ? x >>> 16 : x & 0xffff;
          const nb = (b + 1) & 15;
          const qn = bandValue(q, qo, nb);
          const base = b * BAND_KEYS;
          const baseOffsets = b * BAND_OFFSETS;
          const postings = bandPostings[b]!;
          const nexts = bandNexts[b]!;
          const tag = (j << 4) | b;
          for (let m = 0; m < nm; m++) {
            const mask = masks[m]!;
            const k = base + (key ^ mask);
            // What the next band may still differ by: the pair's bound less this band's distance.
            const budget = pair - POP16[mask]!;
            if (offsets !== undefined) {
              const ko = baseOffsets + (key ^ mask);
              const start = offsets[ko]!;
              const end = offsets[ko + 1]!;
              total += end - start;
              for (let p = start; p < end; p++) {
                if (POP16[nexts[p]! ^ qn]! > budget) continue;
                if (n === size) {
                  this.checkPairs(pairs, n, q, batch, threshold, radius, slots, dists);
                  n = 0;
                }
                const p3 = p * 3;
                pairSlot[n] = postings[p3]! | (postings[p3 + 1]! << 8) | (postings[p3 + 2]! << 16);
                pairTag[n] = tag;
                n++;
              }
            }
            if (head !== undefined) {
              for (let i = head[k]!; i >= 0; i = next[b * deltaCap + i]!) {
                total++;
                if (POP16[this.bandOfSlot(baseCount + i, nb) ^ qn]! > budget) continue;
                if (n === size) {
                  this.checkPairs(pairs, n, q, batch, threshold, radius, slots, dists);
                  n = 0;
                }
                pairSlot[n] = baseCount + i;
                pairTag[n] = tag;
                n++;
              }
            }
          }
        }
      }
      this.checkPairs(pairs, n, q, batch, threshold, radius, slots, dists);
      n = 0;
    }
    return total;
  }

  /** Sorts the first `n` pairs by slot, then checks each one's distance, liveness and band. */
  private checkPairs(
    pairs: Pairs,
    n: number,
    q: Uint32Array,
    batch: readonly number[],
    threshold: number,
    radius: number,
    slots: number[][],
    dists: number[][],
  ): void {
    if (n === 0) return;
    const { slot, tag, tmpSlot, tmpTag } = pairs;
    if (this.count > 1 << RADIX_BITS) {
      // LSD radix sort by slot: low 12 bits into tmp, then the high bits back (stable).
      const counts = this.radixCounts;
      const lowMask = (1 << RADIX_BITS) - 1;
      const highs = (this.count >>> RADIX_BITS) + 1;
      counts.fill(0, 0, lowMask + 2);
      for (let i = 0; i < n; i++) counts[(slot[i]! & lowMask) + 1]!++;
      for (let w = 1; w <= lowMask + 1; w++) counts[w]! += counts[w - 1]!;
      for (let i = 0; i < n; i++) {
        const s = slot[i]!;
        const at = counts[s & lowMask]!++;
        tmpSlot[at] = s;
        tmpTag[at] = tag[i]!;
      }
      counts.fill(0, 0, highs + 1);
      for (let i = 0; i < n; i++) counts[(tmpSlot[i]! >>> RADIX_BITS) + 1]!++;
      for (let w = 1; w <= highs; w++) counts[w]! += counts[w - 1]!;
      for (let i = 0; i < n; i++) {
        const s = tmpSlot[i]!;
        const at = counts[s >>> RADIX_BITS]!++;
        slot[at] = s;
        tag[at] = tmpTag[i]!;
      }
    }
    const { lo, hi, alive } = this;
    if (this.scanner) {
      // The distance check in WebAssembly (i64.popcnt); liveness and the first band here, for the
      // few pairs within the threshold.
      const hits = this.scanner.checkPairs(n, threshold);
      for (let k = 0; k < hits; k++) {
        const packed = tmpSlot[k]!;
        const s = packed & 0xffffff;
        if (((alive[s >>> 5]! >>> (s & 31)) & 1) === 0) continue;
        const t = tmpTag[k]!;
        const qi = batch[t >>> 4]!;
        if (!this.firstBand(s, q, qi * PDQ_WORDS, t & 15, radius, threshold >>> 3)) continue;
        slots[qi]!.push(s);
        dists[qi]!.push(packed >>> 24);
      }
      return;
    }
    for (let i = 0; i < n; i++) {
      const s = slot[i]!;
      const t = tag[i]!;
      const qi = batch[t >>> 4]!;
      const qo = qi * PDQ_WORDS;
      const o = s * 4;
      let d = popcount4(
        lo[o]! ^ q[qo]!,
        lo[o + 1]! ^ q[qo + 1]!,
        lo[o + 2]! ^ q[qo + 2]!,
        lo[o + 3]! ^ q[qo + 3]!,
      );
      if (d > threshold) continue;
      d += popcount4(
        hi[o]! ^ q[qo + 4]!,
        hi[o + 1]! ^ q[qo + 5]!,
        hi[o + 2]! ^ q[qo + 6]!,
        hi[o + 3]! ^ q[qo + 7]!,
      );
      if (d > threshold || ((alive[s >>> 5]! >>> (s & 31)) & 1) === 0) continue;
      if (!this.firstBand(s, q, qo, t & 15, radius, threshold >>> 3)) continue;
      slots[qi]!.push(s);
      dists[qi]!.push(d);
    }
  }

  /**
   * Whether `b` is the first band from which probing finds slot `s` for this query: the first band
   * within `radius` bits of the query whose distance and the next band's together are within `pair`.
   */
  private firstBand(s: number, q: Uint32Array, qo: number, b: number, radius: number, pair: number): boolean {
    for (let e = 0; e < b; e++) {
      const d = POP16[this.bandOfSlot(s, e) ^ bandValue(q, qo, e)]!;
      if (
        d <= radius &&
        d + POP16[this.bandOfSlot(s, (e + 1) & 15) ^ bandValue(q, qo, (e + 1) & 15)]! <= pair
      )
        return false;
    }
    return true;
  }

  /** Band `b` (0..15) of slot `s`: the high half of word b / 2 for even b, the low half for odd. */
  private bandOfSlot(s: number, b: number): number {
    return half(this.word(s, b >>> 1), b);
  }

  /**
   * Linear scan for the queries in `which`, blocked so a block of entries stays in cache while every
   * query runs over it (one pass over memory per batch instead of one per query). Returns entries
   * compared.
   */
  private scan(
    q: Uint32Array,
    which: readonly number[],
    threshold: number,
    slots: number[][],
    dists: number[][],
  ) {
    const n = this.count;
    const scanner = this.scanner;
    const early = scanCostNs(scanner ? WASM_SCAN : JS_SCAN, HALF_PASS[threshold]!).early;
    if (scanner !== undefined) {
      // Four queries per pass of the kernel (each entry loaded once for the four).
      const groups: number[][] = [];
      for (let k = 0; k < which.length; k += 4) groups.push(which.slice(k, k + 4));
      const gSlots = groups.map((g) => g.map((i) => slots[i]!));
      const gDists = groups.map((g) => g.map((i) => dists[i]!));
      for (let lo = 0; lo < n; lo += SCAN_BLOCK) {
        const hi = Math.min(n, lo + SCAN_BLOCK);
        for (let g = 0; g < groups.length; g++) {
          const group = groups[g]!;
          scanner.setQueries(
            q,
            group.map((i) => i * PDQ_WORDS),
          );
          scanner.scan(lo, hi, threshold, early, this.alive, group.length, gSlots[g]!, gDists[g]!);
        }
      }
      return n * which.length;
    }
    for (let lo = 0; lo < n; lo += SCAN_BLOCK) {
      const hi = Math.min(n, lo + SCAN_BLOCK);
      for (const i of which) {
        if (early) {
          scanRange(this.lo, this.hi, this.alive, lo, hi, q, i * PDQ_WORDS, threshold, slots[i]!, dists[i]!);
        } else {
          scanRangeFull(
            this.lo,
            this.hi,
            this.alive,
            lo,
            hi,
            q,
            i * PDQ_WORDS,
            threshold,
            slots[i]!,
            dists[i]!,
          );
        }
      }
    }
    return n * which.length;
  }

  private toMatches(slots: number[], dists: number[]): PdqMatch[] {
    const out: PdqMatch[] = [];
    for (let k = 0; k < slots.length; k++) out.push({ id: this.ids.idOf(slots[k]!), distance: dists[k]! });
    out.sort(compareMatches);
    return out;
  }
}

/** Band `b` (0..15) of the hash at q[qo..qo+7]. */
function bandValue(q: Uint32Array, qo: number, b: number): number {
  return half(q[qo + (b >>> 1)]!, b);
}

/** Band `b`'s 16 bits of the word holding it: the high half for even b, the low half for odd. */
function half(x: number, b: number): number {
  return (b & 1) === 0 ? x >>> 16 : x & 0xffff;
}

/** Slots for `n` entries plus a full delta (see compact()). */
function withDeltaRoom(n: number): number {
  return Math.min(MAX_SLOTS, n + Math.max(MIN_DELTA, n >>> DELTA_SHIFT) + 1);
}

/**
 * Postings for `n` entries and the two next deltas of a growing index, each sized from the
 * entries before it (see mergeDelta()).
 */
function withTwoDeltasRoom(n: number): number {
  return withDeltaRoom(withDeltaRoom(n));
}

/** Sort order of every match list: distance, then id (so results do not depend on slot order). */
export function compareMatches(a: PdqMatch, b: PdqMatch): number {
  return a.distance - b.distance || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Candidate buffers of one probe call. */
interface Pairs {
  slot: Int32Array;
  /** Position of the query in its batch << 4 | band. */
  tag: Uint16Array;
  tmpSlot: Int32Array;
  tmpTag: Uint16Array;
}

/**
 * Total popcount of four 32-bit words in one SWAR reduction: per-word 2-bit and 4-bit sums, then
 * bytes summed across words (each byte <= 32, so the final multiply cannot overflow a byte).
 */
function popcount4(a: number, b: number, c: number, d: number): number {
  a -= (a >>> 1) & 0x55555555;
  b -= (b >>> 1) & 0x55555555;
  c -= (c >>> 1) & 0x55555555;
  d -= (d >>> 1) & 0x55555555;
  a = (a & 0x33333333) + ((a >>> 2) & 0x33333333);
  b = (b & 0x33333333) + ((b >>> 2) & 0x33333333);
  c = (c & 0x33333333) + ((c >>> 2) & 0x33333333);
  d = (d & 0x33333333) + ((d >>> 2) & 0x33333333);
  const ab = a + b; // nibbles <= 8
  const cd = c + d;
  const x = (ab & 0x0f0f0f0f) + ((ab >>> 4) & 0x0f0f0f0f) + (cd & 0x0f0f0f0f) + ((cd >>> 4) & 0x0f0f0f0f);
  return Math.imul(x, 0x01010101) >>> 24;
}

/**
 * The scan's inner loop over slots from..to-1 for one query, query words hoisted into locals. The
 * first 128 bits decide almost every non-match (a random pair differs in ~64 of them), so the second
 * half is read only for the few that survive.
 */
function scanRange(
  lo: Uint32Array,
  hi: Uint32Array,
  alive: Uint32Array,
  from: number,
  to: number,
  q: Uint32Array,
  qo: number,
  t: number,
  outSlots: number[],
  outDists: number[],
): void {
  const q0 = q[qo]!;
  const q1 = q[qo + 1]!;
  const q2 = q[qo + 2]!;
  const q3 = q[qo + 3]!;
  for (let s = from, o = from * 4; s < to; s++, o += 4) {
    let d = popcount4(lo[o]! ^ q0, lo[o + 1]! ^ q1, lo[o + 2]! ^ q2, lo[o + 3]! ^ q3);
    if (d > t) continue;
    d += popcount4(
      hi[o]! ^ q[qo + 4]!,
      hi[o + 1]! ^ q[qo + 5]!,
      hi[o + 2]! ^ q[qo + 6]!,
      hi[o + 3]! ^ q[qo + 7]!,
    );
    if (d <= t && ((alive[s >>> 5]! >>> (s & 31)) & 1) === 1) {
      outSlots.push(s);
      outDists.push(d);
    }
  }
}

/** scanRange without the early exit, for thresholds where many entries pass the first half. */
function scanRangeFull(
  lo: Uint32Array,
  hi: Uint32Array,
  alive: Uint32Array,
  from: number,
  to: number,
  q: Uint32Array,
  qo: number,
  t: number,
  outSlots: number[],
  outDists: number[],
): void {
  const q0 = q[qo]!;
  const q1 = q[qo + 1]!;
  const q2 = q[qo + 2]!;
  const q3 = q[qo + 3]!;
  const q4 = q[qo + 4]!;
  const q5 = q[qo + 5]!;
  const q6 = q[qo + 6]!;
  const q7 = q[qo + 7]!;
  for (let s = from, o = from * 4; s < to; s++, o += 4) {
    const d =
      popcount4(lo[o]! ^ q0, lo[o + 1]! ^ q1, lo[o + 2]! ^ q2, lo[o + 3]! ^ q3) +
      popcount4(hi[o]! ^ q4, hi[o + 1]! ^ q5, hi[o + 2]! ^ q6, hi[o + 3]! ^ q7);
    if (d <= t && ((alive[s >>> 5]! >>> (s & 31)) & 1) === 1) {
      outSlots.push(s);
      outDists.push(d);
    }
  }
}
