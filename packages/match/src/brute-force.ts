// Plain brute-force PDQ matching: the reference the index is tested and benchmarked against. Kept
// deliberately simple (one straight loop over every entry: no blocking, no early exit, no shared code
// with the index beyond hex parsing and popcount) so that agreeing with it means something.

import { PDQ_WORDS, parsePdqHexInto } from "./hex.ts";
import { compareMatches, MAX_THRESHOLD, type PdqEntry, type PdqMatch } from "./pdq-index.ts";
import { popcount32 } from "./popcount.ts";
import { fail, ok, type Result } from "./result.ts";

/** Entries packed once for repeated brute-force queries (parsing dominates otherwise). */
export interface PackedEntries {
  ids: readonly string[];
  words: Uint32Array;
}

/** Parses entries into a PackedEntries, or fails naming the first malformed hash. */
export function packEntries(entries: readonly PdqEntry[]): Result<PackedEntries> {
  const words = new Uint32Array(entries.length * PDQ_WORDS);
  const ids: string[] = [];
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (!parsePdqHexInto(e.hash, words, i * PDQ_WORDS)) {
      return fail("invalid_hash", "PDQ hash must be 64 hex characters", i);
    }
    ids.push(e.id);
  }
  return ok({ ids, words });
}

/**
 * Every entry within `threshold` of each query, compared one by one. Same output shape and order as
 * PdqIndex.query (distance, then id). Accepts entries as a list or already packed.
 */
export function bruteForceMatch(
  entries: readonly PdqEntry[] | PackedEntries,
  queries: readonly string[],
  threshold: number,
): Result<PdqMatch[][]> {
  if (!Number.isInteger(threshold) || threshold < 0 || threshold > MAX_THRESHOLD) {
    return fail("invalid_threshold", `threshold must be an integer from 0 to ${MAX_THRESHOLD}`);
  }
  let packed: PackedEntries;
  if ("words" in entries) packed = entries;
  else {
    const p = packEntries(entries);
    if (!p.ok) return p;
    packed = p.value;
  }
  const q = new Uint32Array(PDQ_WORDS);
  const n = packed.ids.length;
  const w = packed.words;
  const out: PdqMatch[][] = [];
  for (let i = 0; i < queries.length; i++) {
    if (!parsePdqHexInto(queries[i]!, q, 0))
      return fail("invalid_hash", "PDQ hash must be 64 hex characters", i);
    const [q0, q1, q2, q3, q4, q5, q6, q7] = q as unknown as number[];
    const matches: PdqMatch[] = [];
    for (let s = 0, o = 0; s < n; s++, o += PDQ_WORDS) {
      const d =
        popcount32(w[o]! ^ q0!) +
        popcount32(w[o + 1]! ^ q1!) +
        popcount32(w[o + 2]! ^ q2!) +
        popcount32(w[o + 3]! ^ q3!) +
        popcount32(w[o + 4]! ^ q4!) +
        popcount32(w[o + 5]! ^ q5!) +
        popcount32(w[o + 6]! ^ q6!) +
        popcount32(w[o + 7]! ^ q7!);
      if (d <= threshold) matches.push({ id: packed.ids[s]!, distance: d });
    }
    out.push(matches.sort(compareMatches));
  }
  return ok(out);
}
