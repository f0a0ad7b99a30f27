// The index a node holds in memory: PDQ (distance) and MD5/SHA-256 (equality) entries under one set
// of entry ids, plus the highest change sequence applied, so the holder can catch up from D1 with
// "changes after seq N" instead of rebuilding.
//
// Typical holder loop:
//   const built = MatchIndex.build(rows, { capacity });    // rows: { id, type, value } from D1
//   index.applied(snapshotSeq);
//   ...later: for each change after index.appliedSeq: add/remove, then index.applied(change.seq).

import { type ExactEntry, ExactIndex, type ExactQuery, exactKey, isExactHashType } from "./exact-index.ts";
import { PDQ_WORDS, parsePdqHexInto } from "./hex.ts";
import { IdTable } from "./ids.ts";
import {
  type PdqEntry,
  PdqIndex,
  type PdqIndexOptions,
  type PdqIndexStats,
  type PdqMatch,
  type PdqQueryOptions,
} from "./pdq-index.ts";
import { fail, ok, type Result } from "./result.ts";

export type HashType = "pdq" | "md5" | "sha256";

export interface IndexEntry {
  /** The caller's opaque id, e.g. "hsh_01J...". Unique across all hash types. */
  id: string;
  type: HashType;
  /** Hex: 64 characters for pdq and sha256, 32 for md5. */
  value: string;
}

export interface MatchIndexOptions extends PdqIndexOptions {
  /** Change sequence the initial entries correspond to (default 0: nothing applied). */
  seq?: number;
}

export class MatchIndex {
  readonly pdq: PdqIndex;
  readonly exact = new ExactIndex();
  private seq = 0;
  private readonly scratch = new Uint32Array(PDQ_WORDS);

  constructor(options: MatchIndexOptions = {}) {
    this.pdq = new PdqIndex(options);
    this.seq = options.seq ?? 0;
  }

  /** Bulk load (one CSR build). All-or-nothing: fails on the first invalid entry, naming its index. */
  static build(entries: readonly IndexEntry[], options: MatchIndexOptions = {}): Result<MatchIndex> {
    const seq = options.seq ?? 0;
    if (!Number.isSafeInteger(seq) || seq < 0)
      return fail("invalid_seq", "seq must be a non-negative integer");
    let pdqCount = 0;
    for (const e of entries) if (e.type === "pdq") pdqCount++;
    const index = new MatchIndex({ ...options, capacity: Math.max(options.capacity ?? 0, pdqCount) });
    const added = index.addMany(entries);
    return added.ok ? ok(index) : added;
  }

  /** Entries of every type. */
  get size(): number {
    return this.pdq.size + this.exact.size;
  }

  /** Highest change sequence the holder has applied (0 before any). */
  get appliedSeq(): number {
    return this.seq;
  }

  /**
   * Records that every change up to `seq` has been applied. Sequences only move forward; an older
   * one is refused (it would make the holder re-fetch and double-apply nothing, but signals a bug).
   */
  applied(seq: number): Result<number> {
    if (!Number.isSafeInteger(seq) || seq < 0)
      return fail("invalid_seq", "seq must be a non-negative integer");
    if (seq < this.seq) return fail("invalid_seq", `seq ${seq} is behind the applied seq ${this.seq}`);
    this.seq = seq;
    return ok(seq);
  }

  has(id: string): boolean {
    return this.pdq.has(id) || this.exact.has(id);
  }

  /** Adds an entry or replaces the hash of an existing id (also across types). */
  add(id: string, type: HashType, value: string): Result<"added" | "replaced" | "unchanged"> {
    const valid = this.validate({ id, type, value });
    if (!valid.ok) return valid;
    if (type === "pdq") {
      const moved = this.exact.remove(id);
      const r = this.pdq.add(id, value);
      return r.ok && moved ? ok("replaced") : r;
    }
    const moved = this.pdq.remove(id);
    const r = this.exact.add(id, type, value);
    return r.ok && moved ? ok("replaced") : r;
  }

  /**
   * Adds or replaces many entries; all-or-nothing validation. Returns how many were applied.
   * `deferIndex`: a page of a larger load; the PDQ index is built once, by `finishLoad()` or the
   * next query or add, instead of after every page.
   */
  addMany(entries: readonly IndexEntry[], options: { deferIndex?: boolean } = {}): Result<number> {
    for (let i = 0; i < entries.length; i++) {
      const valid = this.validate(entries[i]!);
      if (!valid.ok) return fail(valid.error.code, valid.error.message, i);
    }
    const pdq: PdqEntry[] = [];
    const exact: ExactEntry[] = [];
    for (const e of entries) {
      if (e.type === "pdq") {
        this.exact.remove(e.id);
        pdq.push({ id: e.id, hash: e.value });
      } else {
        this.pdq.remove(e.id);
        exact.push({ id: e.id, type: e.type, value: e.value });
      }
    }
    // A later exact entry may have taken an id from an earlier pdq one in this same batch (or the
    // reverse); keep only each id's last entry so the batch means what it would applied in order.
    const last = new Map<string, HashType>();
    for (const e of entries) last.set(e.id, e.type);
    const pdqLast = pdq.filter((e) => last.get(e.id) === "pdq");
    const added = this.pdq.addMany(pdqLast, options);
    if (!added.ok) return added;
    for (const e of exact) if (last.get(e.id) !== "pdq") this.exact.add(e.id, e.type, e.value);
    return ok(entries.length);
  }

  /**
   * PDQ entries whose hashes are already packed 8 words each (as `exportPdq` gives them), e.g.
   * from a serialized index: no hex to parse. Same upsert and `deferIndex` rules as addMany.
   */
  addPackedPdq(
    ids: readonly string[],
    words: Uint32Array,
    options: { deferIndex?: boolean } = {},
  ): Result<number> {
    const added = this.pdq.addPacked(ids, words, options);
    if (!added.ok) return added;
    if (this.exact.size > 0) for (const id of ids) this.exact.remove(id);
    return added;
  }

  /** The live PDQ entries, `chunk` at a time, ids and packed hashes (see PdqIndex.exportLive). */
  exportPdq(chunk: number): Generator<{ ids: string[]; words: Uint32Array }> {
    return this.pdq.exportLive(chunk);
  }

  /** Every MD5/SHA-256 entry. */
  exportExact(): Generator<ExactEntry> {
    return this.exact.entries();
  }

  /** Builds what paged `addMany(..., { deferIndex: true })` calls left unindexed. */
  finishLoad(): void {
    this.pdq.finishLoad();
  }

  /** Removes `id` whatever its type; it never matches again, effective immediately. */
  remove(id: string): boolean {
    return this.pdq.remove(id) || this.exact.remove(id);
  }

  /** PDQ matches within the threshold for each query hash; see PdqIndex.query. */
  queryPdq(hashes: readonly string[], options: PdqQueryOptions = {}): Result<PdqMatch[][]> {
    return this.pdq.query(hashes, options);
  }

  /** Ids with exactly each queried MD5/SHA-256. */
  lookupExact(queries: readonly ExactQuery[]): Result<string[][]> {
    return this.exact.lookup(queries);
  }

  stats(): { appliedSeq: number; pdq: PdqIndexStats; exact: number } {
    return { appliedSeq: this.seq, pdq: this.pdq.stats(), exact: this.exact.size };
  }

  /** Typed arrays of the PDQ index plus an estimate for the exact map. */
  memoryBytes(): number {
    return this.pdq.memoryBytes() + this.exact.memoryBytes();
  }

  private validate(e: IndexEntry): Result<true> {
    if (!IdTable.isValid(e.id)) return fail("invalid_id", "entry id must be 1..256 bytes of UTF-8");
    if (e.type === "pdq") {
      return parsePdqHexInto(e.value, this.scratch, 0)
        ? ok(true)
        : fail("invalid_hash", "PDQ hash must be 64 hex characters");
    }
    if (!isExactHashType(e.type)) return fail("invalid_hash_type", `unknown hash type "${String(e.type)}"`);
    const key = exactKey(e.type, e.value);
    return key.ok ? ok(true) : key;
  }
}
