// @eusn/match: the exact PDQ index agrees with brute force (100% recall, nothing extra) on uniform and
// clustered near-duplicate data at every threshold class, including queries exactly at and one past
// the threshold; removals take effect immediately; compaction changes nothing; bad input is a result.
// All data comes from a seeded PRNG so a failure reproduces.

import { readFileSync } from "node:fs";
import path from "node:path";
import {
  bruteForceMatch,
  MatchIndex,
  type MatchStrategy,
  type PdqEntry,
  PdqIndex,
  type PdqMatch,
  packEntries,
  pdqHexToWords,
  scanKernelBytes,
  wordsToPdqHex,
} from "@eusn/match";
import { describe, expect, it } from "vitest";

/** mulberry32: small, fast, good enough to make test data. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

function randomWords(rnd: () => number): Uint32Array {
  const w = new Uint32Array(8);
  for (let i = 0; i < 8; i++) w[i] = rnd();
  return w;
}

/** A copy of `w` with exactly `k` distinct bits flipped. */
function flip(w: Uint32Array, k: number, rnd: () => number): Uint32Array {
  const out = w.slice();
  const chosen = new Set<number>();
  while (chosen.size < k) chosen.add(rnd() % 256);
  for (const bit of chosen) out[bit >>> 5] = out[bit >>> 5]! ^ (1 << (bit & 31));
  return out;
}

function id(n: number): string {
  return `hsh_${n.toString(36).padStart(10, "0")}`;
}

function uniformEntries(n: number, seed: number): PdqEntry[] {
  const rnd = prng(seed);
  return Array.from({ length: n }, (_, i) => ({ id: id(i), hash: wordsToPdqHex(randomWords(rnd)) }));
}

/** `centres` random centres, each with `variants` copies at distances 0..40 (exact bit flips). */
function clusteredEntries(centres: number, variants: number, seed: number): PdqEntry[] {
  const rnd = prng(seed);
  const out: PdqEntry[] = [];
  for (let c = 0; c < centres; c++) {
    const centre = randomWords(rnd);
    for (let v = 0; v < variants; v++) {
      out.push({ id: id(out.length), hash: wordsToPdqHex(flip(centre, rnd() % 41, rnd)) });
    }
  }
  return out;
}

const THRESHOLDS = [0, 1, 15, 16, 31, 32, 47, 52, 63];
const STRATEGIES: MatchStrategy[] = ["auto", "mih", "scan"];

/**
 * Queries for threshold `t`: for sampled entries, the entry with exactly t and exactly t+1 bits
 * flipped; plus a few random hashes and unmodified entries.
 */
function queriesFor(entries: readonly PdqEntry[], t: number, seed: number) {
  const rnd = prng(seed);
  const atThreshold: { query: string; source: string }[] = [];
  const pastThreshold: { query: string; source: string }[] = [];
  const other: string[] = [];
  for (let i = 0; i < 12; i++) {
    const e = entries[rnd() % entries.length]!;
    const w = pdqHexToWords(e.hash)!;
    atThreshold.push({ query: wordsToPdqHex(flip(w, t, rnd)), source: e.id });
    pastThreshold.push({ query: wordsToPdqHex(flip(w, t + 1, rnd)), source: e.id });
  }
  for (let i = 0; i < 4; i++) other.push(wordsToPdqHex(randomWords(rnd)));
  for (let i = 0; i < 4; i++) other.push(entries[rnd() % entries.length]!.hash);
  return {
    atThreshold,
    pastThreshold,
    all: [...atThreshold.map((q) => q.query), ...pastThreshold.map((q) => q.query), ...other],
  };
}

function unwrap<T>(r: { ok: true; value: T } | { ok: false; error: { code: string; message: string } }): T {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
}

function checkAgainstBruteForce(index: PdqIndex, entries: readonly PdqEntry[], seed: number) {
  const packed = unwrap(packEntries(entries));
  for (const t of THRESHOLDS) {
    const qs = queriesFor(entries, t, seed + t);
    const expected = unwrap(bruteForceMatch(packed, qs.all, t));
    for (const strategy of STRATEGIES) {
      const got = unwrap(index.query(qs.all, { threshold: t, strategy }));
      expect(got, `T=${t} strategy=${strategy}`).toEqual(expected);
    }
    // The source entry is found at exactly T, and not at T+1 (it is then one bit too far).
    qs.atThreshold.forEach((q, i) => {
      expect(expected[i]).toContainEqual({ id: q.source, distance: t });
    });
    qs.pastThreshold.forEach((q, i) => {
      const row = expected[qs.atThreshold.length + i]!;
      expect(row.find((m) => m.id === q.source)).toBeUndefined();
    });
  }
}

describe("recall against brute force", () => {
  it("uniform random data (20k entries), every threshold class, every strategy", () => {
    const entries = uniformEntries(20_000, 1);
    const index = unwrap(PdqIndex.build(entries));
    expect(index.size).toBe(20_000);
    checkAgainstBruteForce(index, entries, 100);
  });

  it("auto probes where probing is cheap and scans where probing's bucket reads alone cost more", () => {
    const entries = uniformEntries(20_000, 5);
    const index = unwrap(PdqIndex.build(entries));
    const qs = queriesFor(entries, 0, 500).all;
    // T = 0: 16 buckets a query, a handful of candidates each: every query probes.
    unwrap(index.query(qs, { threshold: 0 }));
    expect(index.lastQueryStats).toMatchObject({ mihQueries: qs.length, scanQueries: 0 });
    // T = 63 on 20k entries: 11,152 buckets a query cost more than scanning every entry.
    const far = unwrap(index.query(qs, { threshold: 63 }));
    expect(index.lastQueryStats).toMatchObject({ mihQueries: 0, scanQueries: qs.length });
    expect(far).toEqual(unwrap(index.query(qs, { threshold: 63, strategy: "mih" })));
    // Forced probing still probes, whatever it costs.
    expect(index.lastQueryStats).toMatchObject({ mihQueries: qs.length, scanQueries: 0 });
  });

  it("clustered near-duplicates (250 centres x 80 variants at distance 0..40)", () => {
    const entries = clusteredEntries(250, 80, 2);
    const index = unwrap(PdqIndex.build(entries));
    checkAgainstBruteForce(index, entries, 200);
    // Centre-ish queries see whole clusters: many matches per query, each reported once.
    const rows = unwrap(index.query([entries[0]!.hash, entries[80]!.hash], { threshold: 52 }));
    for (const row of rows) {
      expect(row.length).toBeGreaterThan(20);
      expect(new Set(row.map((m) => m.id)).size).toBe(row.length);
    }
  });

  it("entries added one by one (delta chains, no base) agree with brute force", () => {
    const entries = clusteredEntries(40, 50, 3);
    const index = new PdqIndex();
    for (const e of entries) expect(unwrap(index.add(e.id, e.hash))).toBe("added");
    expect(index.stats().base).toBe(0);
    checkAgainstBruteForce(index, entries, 300);
  });

  it("base + delta together agree with brute force", () => {
    const entries = clusteredEntries(100, 60, 4);
    const index = unwrap(PdqIndex.build(entries.slice(0, 4000)));
    for (const e of entries.slice(4000)) unwrap(index.add(e.id, e.hash));
    expect(index.stats().delta).toBe(2000);
    checkAgainstBruteForce(index, entries, 400);
  });
});

/**
 * A copy of `w` at exactly distance `t` whose flipped bits are spread as evenly over the 16 bands as
 * the ring filter allows: band `start` differs by floor(t/16) bits, every other band by about
 * (t - floor(t/16)) / 15, the remainder kept off the band after `start`. So (for most t) `start` is
 * the only band from which probing may find the entry: the run of two bands from it is the only one
 * within floor(t/8).
 */
function spread(w: Uint32Array, t: number, start: number, rnd: () => number): Uint32Array {
  const first = t >>> 4;
  const per = Math.floor((t - first) / 15);
  const d = new Array<number>(16).fill(per);
  d[start] = first;
  let rest = t - first - 15 * per;
  for (let b = (start + 2) & 15; rest > 0; b = (b + 1) & 15) {
    if (b === start || b === ((start + 1) & 15)) continue;
    d[b]!++;
    rest--;
  }
  const out = w.slice();
  for (let b = 0; b < 16; b++) {
    const chosen = new Set<number>();
    while (chosen.size < d[b]!) chosen.add(rnd() % 16);
    // Band b is the high half of word b/2 when b is even, the low half when odd.
    for (const bit of chosen) out[b >>> 1] = out[b >>> 1]! ^ (1 << ((b & 1) === 0 ? 16 + bit : bit));
  }
  return out;
}

describe("probing's ring filter", () => {
  // Node may compile bytes at runtime; a Worker imports the same module precompiled.
  const scanModule = new WebAssembly.Module(scanKernelBytes());

  it("finds matches whose bits are spread evenly over the bands, from every start band (band 15 wraps to band 0), in base and delta, JS and WebAssembly", () => {
    const entries = uniformEntries(3_000, 41);
    const packed = unwrap(packEntries(entries));
    const delta = new PdqIndex();
    for (const e of entries) unwrap(delta.add(e.id, e.hash));
    const indexes = {
      base: unwrap(PdqIndex.build(entries)),
      wasm: unwrap(PdqIndex.build(entries, { scanModule })),
      delta,
    };
    const rnd = prng(42);
    for (const t of [8, 15, 16, 17, 31, 33, 47, 52, 63]) {
      const sources: string[] = [];
      const qs: string[] = [];
      for (let start = 0; start < 16; start++) {
        for (let k = 0; k < 2; k++) {
          const e = entries[rnd() % entries.length]!;
          const w = spread(pdqHexToWords(e.hash)!, t, start, rnd);
          sources.push(e.id);
          qs.push(wordsToPdqHex(w));
        }
      }
      const expected = unwrap(bruteForceMatch(packed, qs, t));
      expected.forEach((row, i) => {
        expect(row).toContainEqual({ id: sources[i], distance: t });
      });
      for (const [name, index] of Object.entries(indexes)) {
        expect(unwrap(index.query(qs, { threshold: t, strategy: "mih" })), `T=${t} ${name}`).toEqual(
          expected,
        );
        expect(index.lastQueryStats.mihQueries).toBe(qs.length);
      }
    }
  });
});

describe("WebAssembly scan kernel", () => {
  // Node may compile bytes at runtime; a Worker imports the same module precompiled.
  const scanModule = new WebAssembly.Module(scanKernelBytes());

  it("gives the same results as brute force on uniform and clustered data", () => {
    for (const entries of [uniformEntries(8_000, 21), clusteredEntries(100, 60, 22)]) {
      const index = unwrap(PdqIndex.build(entries, { scanModule }));
      checkAgainstBruteForce(index, entries, 2100);
    }
  });

  it("keeps working across growth, removal and compaction", () => {
    const entries = clusteredEntries(100, 60, 23);
    const index = new PdqIndex({ scanModule });
    for (const e of entries) unwrap(index.add(e.id, e.hash)); // grows the wasm memory several times
    const removed = entries.filter((_, i) => i % 5 === 0);
    for (const e of removed) index.remove(e.id);
    const live = entries.filter((_, i) => i % 5 !== 0);
    const qs = entries.filter((_, i) => i % 50 === 0).map((e) => e.hash);
    for (const t of [31, 52, 63]) {
      const expected = unwrap(bruteForceMatch(live, qs, t));
      expect(unwrap(index.query(qs, { threshold: t, strategy: "scan" }))).toEqual(expected);
      index.compact();
      expect(unwrap(index.query(qs, { threshold: t, strategy: "scan" }))).toEqual(expected);
    }
  });

  it("answers exactly as the JS path, for every strategy and threshold, over base, delta, removals and compaction", () => {
    // Two indexes fed the same operations, one with the kernel (scan and probe check) and one in
    // plain JS: their answers must be identical, distances and order included. Batches of 7 and
    // 70 queries leave partial groups of four for the scan kernel.
    for (const entries of [uniformEntries(6_000, 31), clusteredEntries(120, 50, 32)]) {
      const js = unwrap(PdqIndex.build(entries.slice(0, 4_500)));
      const wasm = unwrap(PdqIndex.build(entries.slice(0, 4_500), { scanModule }));
      for (const e of entries.slice(4_500)) {
        unwrap(js.add(e.id, e.hash));
        unwrap(wasm.add(e.id, e.hash));
      }
      for (const e of entries.filter((_, i) => i % 7 === 3)) {
        js.remove(e.id);
        wasm.remove(e.id);
      }
      const rnd = prng(33);
      const qs = entries
        .filter((_, i) => i % 80 === 0)
        .map((e, i) => (i % 2 === 0 ? e.hash : wordsToPdqHex(flip(pdqHexToWords(e.hash)!, rnd() % 50, rnd))));
      for (const round of [0, 1]) {
        for (const t of [0, 15, 16, 31, 32, 47, 48, 52, 56, 63]) {
          for (const strategy of STRATEGIES) {
            for (const batch of [qs.slice(0, 7), qs.slice(0, 70)]) {
              const a = unwrap(js.query(batch, { threshold: t, strategy }));
              const b = unwrap(wasm.query(batch, { threshold: t, strategy }));
              expect(b, `T=${t} ${strategy} batch ${batch.length} round ${round}`).toEqual(a);
            }
          }
        }
        js.compact();
        wasm.compact();
      }
    }
  });

  it("the full scan's check after 192 bits: matches exactly at T, all their bits in the first 192 or split across the check, are found; one bit more is not", () => {
    // The kernel adds the last 64 bits (words 6 and 7) only when the first 192 are within T.
    const entries = uniformEntries(2_000, 51);
    const packed = unwrap(packEntries(entries));
    const index = unwrap(PdqIndex.build(entries, { scanModule }));
    const rnd = prng(52);
    /** `w` with `k` distinct bits flipped among words [from, to). */
    const flipIn = (w: Uint32Array, k: number, from: number, to: number) => {
      const chosen = new Set<number>();
      while (chosen.size < k) chosen.add(from * 32 + (rnd() % ((to - from) * 32)));
      for (const bit of chosen) w[bit >>> 5] = w[bit >>> 5]! ^ (1 << (bit & 31));
      return w;
    };
    for (const t of [46, 48, 52, 56, 63]) {
      const qs: string[] = [];
      const sources: { id: string; at: number }[] = [];
      for (let i = 0; i < 12; i++) {
        const e = entries[rnd() % entries.length]!;
        const w = pdqHexToWords(e.hash)!;
        for (const [first, last] of [
          [t, 0],
          [t - 3, 3],
          [t + 1, 0],
          [t - 2, 3],
        ] as const) {
          qs.push(wordsToPdqHex(flipIn(flipIn(w.slice(), first, 0, 6), last, 6, 8)));
          sources.push({ id: e.id, at: first + last });
        }
      }
      const expected = unwrap(bruteForceMatch(packed, qs, t));
      expected.forEach((row, i) => {
        const found = row.find((m) => m.id === sources[i]!.id);
        expect(found?.distance).toBe(sources[i]!.at <= t ? sources[i]!.at : undefined);
      });
      expect(unwrap(index.query(qs, { threshold: t, strategy: "scan" })), `T=${t}`).toEqual(expected);
    }
  });

  it("wasm/scan.wasm (what a Worker imports) is the module scanKernelBytes() builds", () => {
    const file = readFileSync(path.join(import.meta.dirname, "../../packages/match/wasm/scan.wasm"));
    expect(new Uint8Array(file)).toEqual(scanKernelBytes());
  });
});

describe("serializing", () => {
  it("exportLive + addPacked round-trip the live entries: the copy answers exactly as the original", () => {
    const entries = clusteredEntries(80, 50, 41);
    const original = unwrap(PdqIndex.build(entries.slice(0, 3_000)));
    for (const e of entries.slice(3_000)) unwrap(original.add(e.id, e.hash)); // in the delta
    for (const e of entries.filter((_, i) => i % 6 === 1)) original.remove(e.id);
    const copy = new PdqIndex();
    let exported = 0;
    for (const { ids, words } of original.exportLive(700)) {
      expect(words.length).toBe(ids.length * 8);
      unwrap(copy.addPacked(ids, words, { deferIndex: true }));
      exported += ids.length;
    }
    copy.finishLoad();
    expect(exported).toBe(original.size);
    expect(copy.size).toBe(original.size);
    const qs = entries.filter((_, i) => i % 25 === 0).map((e) => e.hash);
    for (const t of [0, 31, 52])
      expect(unwrap(copy.query(qs, { threshold: t }))).toEqual(unwrap(original.query(qs, { threshold: t })));
  });

  it("addPacked refuses words that are not 8 per id, and bad ids, before adding anything", () => {
    const index = new PdqIndex();
    expect(index.addPacked(["a", "b"], new Uint32Array(15)).ok).toBe(false);
    const r = index.addPacked(["a", ""], new Uint32Array(16));
    expect(r.ok ? null : r.error).toMatchObject({ code: "invalid_id", index: 1 });
    expect(index.size).toBe(0);
  });
});

describe("incremental updates", () => {
  const entries = clusteredEntries(100, 50, 5);

  function matchIds(index: PdqIndex, hash: string, t: number, strategy: MatchStrategy): string[] {
    return unwrap(index.query([hash], { threshold: t, strategy }))[0]!.map((m) => m.id);
  }

  it("a removed entry never matches again, from the base or from the delta", () => {
    const index = unwrap(PdqIndex.build(entries.slice(0, 4000)));
    for (const e of entries.slice(4000)) unwrap(index.add(e.id, e.hash));
    const victims = [entries[10]!, entries[2000]!, entries[4100]!, entries[4999]!];
    for (const v of victims) {
      for (const s of STRATEGIES) expect(matchIds(index, v.hash, 0, s)).toContain(v.id);
      expect(index.remove(v.id)).toBe(true);
      for (const s of STRATEGIES) {
        expect(matchIds(index, v.hash, 0, s)).not.toContain(v.id);
        expect(matchIds(index, v.hash, 63, s)).not.toContain(v.id);
      }
    }
    expect(index.remove(victims[0]!.id)).toBe(false);
    const live = entries.filter((e) => !victims.includes(e));
    const qs = entries.slice(0, 60).map((e) => e.hash);
    for (const t of [31, 52]) {
      const expected = unwrap(bruteForceMatch(live, qs, t));
      for (const s of STRATEGIES)
        expect(unwrap(index.query(qs, { threshold: t, strategy: s }))).toEqual(expected);
    }
  });

  it("re-adding after removal, and replacing a hash, take effect immediately", () => {
    const index = unwrap(PdqIndex.build(entries));
    const e = entries[123]!;
    index.remove(e.id);
    expect(index.has(e.id)).toBe(false);
    expect(unwrap(index.add(e.id, e.hash))).toBe("added");
    expect(unwrap(index.add(e.id, e.hash))).toBe("unchanged");
    for (const s of STRATEGIES) expect(matchIds(index, e.hash, 0, s)).toEqual([e.id]);

    const other = wordsToPdqHex(randomWords(prng(77)));
    expect(unwrap(index.add(e.id, other))).toBe("replaced");
    expect(index.hashOf(e.id)).toBe(other);
    for (const s of STRATEGIES) {
      expect(matchIds(index, e.hash, 0, s)).not.toContain(e.id);
      expect(matchIds(index, other, 0, s)).toEqual([e.id]);
    }
    expect(index.size).toBe(entries.length);
  });

  it("compaction (explicit and automatic) leaves results identical", () => {
    const rnd = prng(6);
    const index = unwrap(PdqIndex.build(entries.slice(0, 3000)));
    const live = new Map<string, string>(entries.slice(0, 3000).map((e) => [e.id, e.hash]));
    for (const e of entries.slice(3000)) {
      unwrap(index.add(e.id, e.hash));
      live.set(e.id, e.hash);
    }
    for (let i = 0; i < 500; i++) {
      const victim = entries[rnd() % entries.length]!.id;
      index.remove(victim);
      live.delete(victim);
    }
    const qs = entries.filter((_, i) => i % 97 === 0).map((e) => e.hash);
    const before = unwrap(index.query(qs, { threshold: 40 }));
    const statsBefore = index.stats();
    expect(statsBefore.delta).toBeGreaterThan(0);
    expect(statsBefore.dead).toBeGreaterThan(0);
    index.compact();
    expect(index.stats()).toMatchObject({ delta: 0, dead: 0, live: live.size });
    for (const s of STRATEGIES)
      expect(unwrap(index.query(qs, { threshold: 40, strategy: s }))).toEqual(before);
    const liveEntries = [...live].map(([i, hash]) => ({ id: i, hash }));
    expect(before).toEqual(unwrap(bruteForceMatch(liveEntries, qs, 40)));

    // Enough single adds to overflow the delta force automatic compactions on the way.
    const more = uniformEntries(9000, 7).map((e) => ({ id: `new_${e.id}`, hash: e.hash }));
    const compactions = index.stats().compactions;
    for (const e of more) unwrap(index.add(e.id, e.hash));
    expect(index.stats().compactions).toBeGreaterThan(compactions);
    const all = [...liveEntries, ...more];
    const qs2 = [...qs, ...more.filter((_, i) => i % 301 === 0).map((e) => e.hash)];
    expect(unwrap(index.query(qs2, { threshold: 31 }))).toEqual(unwrap(bruteForceMatch(all, qs2, 31)));
  });

  it("many removals trigger compaction and nothing removed comes back", () => {
    const many = clusteredEntries(250, 80, 15);
    const index = unwrap(PdqIndex.build(many));
    const removed = many.filter((_, i) => i % 3 === 0);
    for (const e of removed) index.remove(e.id);
    expect(index.stats().compactions).toBeGreaterThan(1);
    const qs = removed.slice(0, 50).map((e) => e.hash);
    const kept = many.filter((_, i) => i % 3 !== 0);
    expect(unwrap(index.query(qs, { threshold: 31 }))).toEqual(unwrap(bruteForceMatch(kept, qs, 31)));
  });

  it("addMany: bulk and small batches, later duplicates win, invalid input applies nothing", () => {
    const index = new PdqIndex();
    expect(unwrap(index.addMany(entries.slice(0, 100)))).toBe(100);
    expect(index.stats()).toMatchObject({ base: 100, delta: 0 });
    expect(unwrap(index.addMany(entries.slice(100, 200)))).toBe(100);
    expect(index.stats()).toMatchObject({ base: 100, delta: 100 });
    expect(unwrap(index.addMany(entries.slice(200)))).toBe(entries.length - 200);
    expect(index.stats()).toMatchObject({ delta: 0, live: entries.length });

    const bad = index.addMany([
      { id: "hsh_x", hash: entries[0]!.hash },
      { id: "hsh_y", hash: "zz" },
    ]);
    expect(bad).toMatchObject({ ok: false, error: { code: "invalid_hash", index: 1 } });
    expect(index.has("hsh_x")).toBe(false);

    const h1 = entries[1]!.hash;
    const h2 = entries[2]!.hash;
    unwrap(index.addMany([{ id: "dup", hash: h1 }, ...uniformEntries(5000, 8), { id: "dup", hash: h2 }]));
    expect(index.hashOf("dup")).toBe(h2);
    expect(unwrap(index.query([h1], { threshold: 0 }))[0]!.map((m) => m.id)).not.toContain("dup");
  });
});

// A fold of the delta into the base, when no slot is dropped, merges the delta's postings into
// the base where it lies instead of rebuilding it (pdq-index.ts mergeDelta). Its result must be
// exactly the base a rebuild of the same slots gives: same bucket starts, same postings in the
// same order, same ring-filter values.
describe("folding the delta by merging it in place", () => {
  type Inner = {
    offsets: Uint32Array;
    postings: Uint8Array[];
    nexts: Uint16Array[];
    count: number;
    baseCount: number;
    mergeDelta: () => void;
    rebuild: () => void;
  };
  const inner = (i: PdqIndex) => i as unknown as Inner;
  /** Counts which way each compaction of `index` went. */
  function watch(index: PdqIndex) {
    const seen = { merges: 0, rebuilds: 0, order: [] as string[] };
    const x = inner(index);
    const merge = x.mergeDelta.bind(index);
    const rebuild = x.rebuild.bind(index);
    x.mergeDelta = () => {
      seen.merges++;
      seen.order.push("merge");
      merge();
    };
    x.rebuild = () => {
      seen.rebuilds++;
      seen.order.push("rebuild");
      rebuild();
    };
    return seen;
  }
  /** The base's layout, as far as it is in use. */
  const layout = (i: PdqIndex) => {
    const x = inner(i);
    return {
      count: x.count,
      baseCount: x.baseCount,
      offsets: Buffer.from(x.offsets.buffer, x.offsets.byteOffset, x.offsets.byteLength).toString("base64"),
      postings: x.postings.map((p) => Buffer.from(p.subarray(0, 3 * x.baseCount)).toString("base64")),
      nexts: x.nexts.map((p) => Buffer.from(p.buffer, p.byteOffset, 2 * x.baseCount).toString("base64")),
    };
  };
  const entries = [...uniformEntries(30_000, 71), ...clusteredEntries(40, 50, 72)];

  for (const kernel of ["js", "wasm"] as const) {
    const options = kernel === "wasm" ? { scanModule: new WebAssembly.Module(scanKernelBytes()) } : {};
    it(`${kernel}: the automatic fold of a full delta (its last slot not yet chained) leaves exactly a rebuilt base`, () => {
      const first = entries.slice(0, 20_000);
      const index = unwrap(PdqIndex.build(first, options));
      const seen = watch(index);
      let k = first.length;
      while (index.stats().compactions === 1) unwrap(index.add(entries[k]!.id, entries[k++]!.hash));
      expect(seen).toMatchObject({ merges: 1, rebuilds: 0 });
      expect(index.stats()).toMatchObject({ delta: 0, dead: 0, live: k });
      const rebuilt = unwrap(PdqIndex.build(entries.slice(0, k), options));
      expect(layout(index)).toEqual(layout(rebuilt));
      const qs = entries.filter((_, i) => i < k && i % 211 === 0).map((e) => e.hash);
      for (const t of [0, 16, 31, 63])
        for (const s of STRATEGIES)
          expect(unwrap(index.query(qs, { threshold: t, strategy: s })), `T=${t} ${s}`).toEqual(
            unwrap(bruteForceMatch(entries.slice(0, k), qs, t)),
          );
    });
  }

  it("merges every fold of a growing index, with room or not; rebuilds when a slot must be dropped; answers stay exact", () => {
    const index = unwrap(PdqIndex.build(entries.slice(0, 4_000)));
    const seen = watch(index);
    const live = new Map(entries.slice(0, 4_000).map((e) => [e.id, e.hash]));
    for (const e of entries.slice(4_000, 24_000)) {
      unwrap(index.add(e.id, e.hash));
      live.set(e.id, e.hash);
    }
    // Every fold of a growing index with nothing removed merges, whether the postings had room for
    // it (in place) or not (into new arrays, band by band): a first build leaves room for one delta.
    expect(seen.order).toEqual(seen.order.map(() => "merge"));
    expect(seen.merges).toBeGreaterThanOrEqual(4);
    index.compact(); // the delta left, merged too
    expect(seen.order).toEqual(seen.order.map(() => "merge"));
    expect(layout(index)).toEqual(layout(unwrap(PdqIndex.build(entries.slice(0, 24_000)))));
    // The id table, not rehashed by the merges, still finds every id.
    expect(entries.slice(0, 24_000).every((e) => index.has(e.id))).toBe(true);
    expect(index.has("hsh_not_there")).toBe(false);
    const merges = seen.merges;
    const rebuilds = seen.rebuilds;
    // A removal leaves a dead slot: the next fold must rebuild (renumber) and drop it.
    const victim = entries[4_001]!.id;
    index.remove(victim);
    live.delete(victim);
    index.compact();
    expect(seen.rebuilds).toBe(rebuilds + 1);
    expect(seen.merges).toBe(merges);
    expect(index.stats()).toMatchObject({ dead: 0, delta: 0, live: live.size });
    const all = [...live].map(([id, hash]) => ({ id, hash }));
    expect(layout(index)).toEqual(layout(unwrap(PdqIndex.build(all))));
    const qs = entries.filter((_, i) => i % 71 === 0).map((e) => e.hash);
    for (const t of [31, 52])
      expect(unwrap(index.query(qs, { threshold: t }))).toEqual(unwrap(bruteForceMatch(all, qs, t)));
  });

  it("an explicit compact() with nothing to drop merges too, and an empty delta changes nothing", () => {
    const index = unwrap(PdqIndex.build(entries.slice(0, 5_000)));
    const seen = watch(index);
    for (const e of entries.slice(5_000, 6_000)) unwrap(index.add(e.id, e.hash));
    index.compact();
    const once = layout(index);
    expect(once).toEqual(layout(unwrap(PdqIndex.build(entries.slice(0, 6_000)))));
    index.compact();
    expect(layout(index)).toEqual(once);
    expect(seen).toMatchObject({ merges: 2, rebuilds: 0 });
  });
});

describe("loading in pages (deferIndex)", () => {
  it("pages appended unindexed, then built once, answer exactly as one build; adds and removes mid-load count", () => {
    const entries = [
      ...uniformEntries(12_000, 31),
      ...clusteredEntries(60, 50, 32).map((e) => ({ id: `c_${e.id}`, hash: e.hash })),
    ];
    const index = new PdqIndex({ capacity: entries.length + 1024 });
    for (let i = 0; i < entries.length; i += 2500)
      expect(unwrap(index.addMany(entries.slice(i, i + 2500), { deferIndex: true }))).toBe(
        Math.min(2500, entries.length - i),
      );
    // Nothing was indexed page by page: the only build is the one below.
    expect(index.stats().compactions).toBe(0);
    // A removal during the load takes effect; a duplicate id in a later page replaces the earlier one.
    expect(index.remove(entries[5]!.id)).toBe(true);
    unwrap(index.addMany([{ id: entries[7]!.id, hash: entries[8]!.hash }], { deferIndex: true }));
    index.finishLoad();
    expect(index.stats()).toMatchObject({ compactions: 1, delta: 0, dead: 0, live: entries.length - 1 });
    const live = entries
      .filter((_, i) => i !== 5)
      .map((e) => (e.id === entries[7]!.id ? { id: e.id, hash: entries[8]!.hash } : e))
      .filter((e, i, all) => all.findIndex((x) => x.id === e.id) === i);
    expect(live).toHaveLength(entries.length - 1);
    checkAgainstBruteForce(index, live, 33);
  });

  it("a query or an add during an unfinished load indexes what is pending first (nothing is missed)", () => {
    const entries = uniformEntries(6000, 34);
    const queried = new PdqIndex();
    unwrap(queried.addMany(entries.slice(0, 3000), { deferIndex: true }));
    unwrap(queried.addMany(entries.slice(3000), { deferIndex: true }));
    const qs = entries.filter((_, i) => i % 50 === 0).map((e) => e.hash);
    expect(unwrap(queried.query(qs, { threshold: 31 }))).toEqual(unwrap(bruteForceMatch(entries, qs, 31)));

    const added = new PdqIndex();
    unwrap(added.addMany(entries.slice(0, 5000), { deferIndex: true }));
    unwrap(added.add(entries[5000]!.id, entries[5000]!.hash));
    unwrap(added.addMany(entries.slice(5001), { deferIndex: true }));
    expect(unwrap(added.query(qs, { threshold: 31, strategy: "mih" }))).toEqual(
      unwrap(bruteForceMatch(entries, qs, 31)),
    );
  });
});

describe("input handling", () => {
  const entries = uniformEntries(2000, 9);
  const index = unwrap(PdqIndex.build(entries));

  it("refuses out-of-range thresholds as a result, not a throw", () => {
    for (const threshold of [-1, 64, 1.5, Number.NaN, 1000]) {
      const r = index.query([entries[0]!.hash], { threshold });
      expect(r).toMatchObject({ ok: false, error: { code: "invalid_threshold" } });
      expect(bruteForceMatch(entries, [entries[0]!.hash], threshold)).toMatchObject({ ok: false });
    }
    expect(index.query([entries[0]!.hash], { threshold: 63 }).ok).toBe(true);
    expect(index.query([entries[0]!.hash], { threshold: 0 }).ok).toBe(true);
  });

  it("queries already-packed hashes the same way", () => {
    const qs = [entries[3]!.hash, entries[4]!.hash];
    const packed = new Uint32Array(16);
    packed.set(pdqHexToWords(qs[0]!)!, 0);
    packed.set(pdqHexToWords(qs[1]!)!, 8);
    expect(unwrap(index.queryPacked(packed, { threshold: 20 }))).toEqual(
      unwrap(index.query(qs, { threshold: 20 })),
    );
    expect(index.queryPacked(new Uint32Array(7))).toMatchObject({
      ok: false,
      error: { code: "invalid_hash" },
    });
    expect(index.queryPacked(packed, { threshold: 64 })).toMatchObject({
      ok: false,
      error: { code: "invalid_threshold" },
    });
  });

  it("refuses malformed hashes and ids, naming the position in a batch", () => {
    const good = entries[0]!.hash;
    expect(index.query([good, "abc", good])).toMatchObject({
      ok: false,
      error: { code: "invalid_hash", index: 1 },
    });
    expect(index.query([`${good.slice(0, 63)}g`])).toMatchObject({
      ok: false,
      error: { code: "invalid_hash" },
    });
    expect(index.add("x", "00")).toMatchObject({ ok: false, error: { code: "invalid_hash" } });
    expect(index.add("", good)).toMatchObject({ ok: false, error: { code: "invalid_id" } });
    expect(index.add("x".repeat(257), good)).toMatchObject({ ok: false, error: { code: "invalid_id" } });
  });

  it("defaults to T=31, accepts upper-case hex, handles empty batches and empty indexes", () => {
    const e = entries[5]!;
    const w = pdqHexToWords(e.hash)!;
    const at31 = wordsToPdqHex(flip(w, 31, prng(10)));
    const at32 = wordsToPdqHex(flip(w, 32, prng(11)));
    expect(unwrap(index.query([at31]))[0]).toContainEqual({ id: e.id, distance: 31 });
    expect(unwrap(index.query([at32]))[0]!.map((m) => m.id)).not.toContain(e.id);
    expect(unwrap(index.query([e.hash.toUpperCase()], { threshold: 0 }))).toEqual([
      [{ id: e.id, distance: 0 }],
    ]);
    expect(unwrap(index.query([]))).toEqual([]);
    expect(unwrap(new PdqIndex().query([e.hash], { threshold: 63 }))).toEqual([[]]);
  });

  it("reads hex as a big-endian 256-bit integer and round-trips it", () => {
    const top = `8${"0".repeat(63)}`;
    const bottom = `${"0".repeat(63)}1`;
    expect(pdqHexToWords(top)![0]).toBe(0x80000000);
    expect(pdqHexToWords(bottom)![7]).toBe(1);
    const h = entries[7]!.hash;
    expect(wordsToPdqHex(pdqHexToWords(h)!)).toBe(h);
    expect(pdqHexToWords("xyz")).toBeUndefined();
    const rows = unwrap(bruteForceMatch([{ id: "a", hash: top }], [bottom, "0".repeat(64)], 2));
    expect(rows).toEqual([[{ id: "a", distance: 2 }], [{ id: "a", distance: 1 }]]);
  });

  it("keeps non-ASCII ids intact", () => {
    const i2 = new PdqIndex();
    unwrap(i2.add("hsh_é✓😀", entries[0]!.hash));
    expect(unwrap(i2.query([entries[0]!.hash], { threshold: 0 }))).toEqual([
      [{ id: "hsh_é✓😀", distance: 0 }],
    ]);
    expect(i2.remove("hsh_é✓😀")).toBe(true);
  });

  it("reports its memory footprint from its typed arrays", () => {
    const bytes = index.memoryBytes();
    // 2000 entries: dominated by fixed tables (CSR offsets 4 MiB); well under 16 MiB.
    expect(bytes).toBeGreaterThan(2000 * 32);
    expect(bytes).toBeLessThan(16 * 2 ** 20);
  });
});

describe("MatchIndex (PDQ + exact hashes + change sequence)", () => {
  const md5 = "d41d8cd98f00b204e9800998ecf8427e";
  const sha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  const pdq = uniformEntries(50, 12);

  it("builds from mixed entries and answers PDQ and exact queries", () => {
    const index = unwrap(
      MatchIndex.build(
        [
          ...pdq.map((e) => ({ id: e.id, type: "pdq" as const, value: e.hash })),
          { id: "hsh_md5a", type: "md5", value: md5 },
          { id: "hsh_md5b", type: "md5", value: md5.toUpperCase() },
          { id: "hsh_sha", type: "sha256", value: sha },
        ],
        { seq: 41 },
      ),
    );
    expect(index.size).toBe(53);
    expect(index.appliedSeq).toBe(41);
    expect(unwrap(index.queryPdq([pdq[3]!.hash], { threshold: 0 }))).toEqual([
      [{ id: pdq[3]!.id, distance: 0 }],
    ]);
    expect(
      unwrap(
        index.lookupExact([
          { type: "md5", value: md5 },
          { type: "sha256", value: sha.toUpperCase() },
          { type: "sha256", value: "0".repeat(64) },
        ]),
      ),
    ).toEqual([["hsh_md5a", "hsh_md5b"], ["hsh_sha"], []]);

    expect(index.remove("hsh_md5a")).toBe(true);
    expect(unwrap(index.lookupExact([{ type: "md5", value: md5 }]))).toEqual([["hsh_md5b"]]);
    // An id moving from exact to PDQ leaves the exact map.
    expect(unwrap(index.add("hsh_md5b", "pdq", pdq[0]!.hash))).toBe("replaced");
    expect(unwrap(index.lookupExact([{ type: "md5", value: md5 }]))).toEqual([[]]);
    expect(
      unwrap(index.queryPdq([pdq[0]!.hash], { threshold: 0 }))[0]!
        .map((m) => m.id)
        .sort(),
    ).toEqual([pdq[0]!.id, "hsh_md5b"].sort());
    // And back.
    expect(unwrap(index.add("hsh_md5b", "sha256", sha))).toBe("replaced");
    expect(unwrap(index.queryPdq([pdq[0]!.hash], { threshold: 0 }))[0]!.map((m) => m.id)).toEqual([
      pdq[0]!.id,
    ]);
    expect(index.remove("nope")).toBe(false);
  });

  it("addMany applies a batch in order: the last entry for an id wins, across types", () => {
    const index = new MatchIndex();
    const h = pdq[1]!.hash;
    unwrap(
      index.addMany([
        { id: "a", type: "pdq", value: h },
        { id: "a", type: "md5", value: md5 },
        { id: "b", type: "md5", value: md5 },
        { id: "b", type: "pdq", value: h },
      ]),
    );
    expect(unwrap(index.lookupExact([{ type: "md5", value: md5 }]))).toEqual([["a"]]);
    expect(unwrap(index.queryPdq([h], { threshold: 0 }))).toEqual([[{ id: "b", distance: 0 }]]);
    expect(index.stats()).toMatchObject({ exact: 1, pdq: { live: 1 } });
  });

  it("tracks the applied change sequence monotonically", () => {
    const index = new MatchIndex();
    expect(index.appliedSeq).toBe(0);
    expect(unwrap(index.applied(5))).toBe(5);
    expect(unwrap(index.applied(5))).toBe(5);
    expect(index.applied(4)).toMatchObject({ ok: false, error: { code: "invalid_seq" } });
    expect(index.applied(-1)).toMatchObject({ ok: false, error: { code: "invalid_seq" } });
    expect(index.applied(1.5)).toMatchObject({ ok: false, error: { code: "invalid_seq" } });
    expect(index.appliedSeq).toBe(5);
  });

  it("validates exact hashes and types as results", () => {
    const index = new MatchIndex();
    expect(index.add("a", "md5", "abc")).toMatchObject({ ok: false, error: { code: "invalid_hash" } });
    expect(index.add("a", "sha256", md5)).toMatchObject({ ok: false, error: { code: "invalid_hash" } });
    expect(index.add("a", "sha1" as "md5", md5)).toMatchObject({
      ok: false,
      error: { code: "invalid_hash_type" },
    });
    expect(index.lookupExact([{ type: "md5", value: "xyz" }])).toMatchObject({
      ok: false,
      error: { index: 0 },
    });
    expect(
      index.addMany([
        { id: "a", type: "md5", value: md5 },
        { id: "b", type: "pdq", value: "00" },
      ]),
    ).toMatchObject({ ok: false, error: { code: "invalid_hash", index: 1 } });
    expect(index.size).toBe(0);
  });
});

describe("brute-force reference", () => {
  it("agrees with a bit-by-bit BigInt distance", () => {
    const rnd = prng(13);
    const qw = randomWords(rnd);
    const q = wordsToPdqHex(qw);
    const entries = Array.from({ length: 80 }, (_, k) => ({
      id: id(k),
      hash: wordsToPdqHex(flip(qw, k, rnd)),
    }));
    const qb = BigInt(`0x${q}`);
    const expected: PdqMatch[] = [];
    for (const e of entries) {
      let x = qb ^ BigInt(`0x${e.hash}`);
      let d = 0;
      while (x > 0n) {
        d += Number(x & 1n);
        x >>= 1n;
      }
      if (d <= 63) expected.push({ id: e.id, distance: d });
    }
    expect(expected).toHaveLength(64);
    expect(unwrap(bruteForceMatch(entries, [q], 63))[0]).toEqual(expected);
  });
});
