// `npm run bench:match-index`: the exact PDQ index (@eusn/match) in Node on seeded uniform and
// clustered data at 100k and 1M entries: build time, memory, ms per query for batches of 1/100/1000 at
// T=31 and T=52, recall against plain brute force (must be 1.0) and the speed ratio to it; then a
// threshold sweep (probing vs scanning) that fixes the crossover, and incremental-update costs.
// Writes bench/results/match-index.json. Usage: tsx bench/match-index.ts [--sizes 100000,1000000]
// [--folds N] (only the compactions of a growing index; see below).
import { writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import v8 from "node:v8";
import vm from "node:vm";
import {
  bruteForceMatch,
  type MatchStrategy,
  type PdqEntry,
  PdqIndex,
  type PdqMatch,
  type PdqQueryStats,
  packEntries,
  scanKernelBytes,
} from "@eusn/match";

// gc() without requiring the caller to pass --expose-gc: memory deltas are meaningless without it.
v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;
// Node may compile wasm bytes; a Worker would import wasm/scan.wasm precompiled instead.
const scanModule = new WebAssembly.Module(scanKernelBytes());

const repoRoot = path.resolve(import.meta.dirname, "..");
const sizesArg = process.argv.indexOf("--sizes");
const sizes = (sizesArg > 0 ? (process.argv[sizesArg + 1] ?? "") : "100000,1000000").split(",").map(Number);
if (sizes.some((n) => !Number.isInteger(n) || n < 1000)) {
  console.error("usage: tsx bench/match-index.ts [--sizes 100000,1000000]");
  process.exit(2);
}
const QUERIES = 1000;
const THRESHOLDS = [31, 52];
const SWEEP_THRESHOLDS = [31, 32, 47, 48, 52, 56, 63];
const SWEEP_QUERIES = 50;

// --- seeded data -----------------------------------------------------------------------------------

/** mulberry32: small, fast, reproducible. */
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

const bytes = Buffer.alloc(32);
/** Hex of 8 words, big-endian, as a flat string (what a D1 row or a JSON body would give us). */
function hexOf(w: Uint32Array): string {
  for (let i = 0; i < 8; i++) bytes.writeUInt32BE(w[i]!, i * 4);
  return bytes.toString("hex");
}

function randomWords(rnd: () => number, out = new Uint32Array(8)): Uint32Array {
  for (let i = 0; i < 8; i++) out[i] = rnd();
  return out;
}

const bitOrder = new Uint8Array(256).map((_, i) => i);
/** Flips exactly k distinct bits of w in place (partial Fisher-Yates over the 256 bit positions). */
function flipInPlace(w: Uint32Array, k: number, rnd: () => number): Uint32Array {
  for (let i = 0; i < k; i++) {
    const j = i + (rnd() % (256 - i));
    const t = bitOrder[i]!;
    bitOrder[i] = bitOrder[j]!;
    bitOrder[j] = t;
    const bit = bitOrder[i]!;
    w[bit >>> 5] = w[bit >>> 5]! ^ (1 << (bit & 31));
  }
  return w;
}

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/** "hsh_01J" + 23 base32 characters: the shape (30 bytes) of the network's ULID-based ids. */
function idOf(rnd: () => number): string {
  let s = "hsh_01J";
  for (let i = 0; i < 23; i++) s += CROCKFORD[rnd() & 31];
  return Buffer.from(s, "latin1").toString("latin1"); // flat, as from a database row
}

function uniform(n: number, seed: number): PdqEntry[] {
  const rnd = prng(seed);
  const w = new Uint32Array(8);
  const out: PdqEntry[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = { id: idOf(rnd), hash: hexOf(randomWords(rnd, w)) };
  return out;
}

/** Centres with 50 variants each at distances 0..40 (near-duplicate families, as real data has). */
function clustered(n: number, seed: number): PdqEntry[] {
  const rnd = prng(seed);
  const centre = new Uint32Array(8);
  const w = new Uint32Array(8);
  const out: PdqEntry[] = new Array(n);
  for (let i = 0; i < n; i++) {
    if (i % 50 === 0) randomWords(rnd, centre);
    w.set(centre);
    out[i] = { id: idOf(rnd), hash: hexOf(flipInPlace(w, rnd() % 41, rnd)) };
  }
  return out;
}

/** Half random hashes (no match expected), half stored entries with 0..40 bits flipped. */
function queriesFor(entries: readonly PdqEntry[], seed: number): string[] {
  const rnd = prng(seed);
  const w = new Uint32Array(8);
  const out: string[] = [];
  for (let i = 0; i < QUERIES; i++) {
    if (i % 2 === 0) out.push(hexOf(randomWords(rnd, w)));
    else {
      const e = entries[rnd() % entries.length]!;
      for (let k = 0; k < 8; k++) w[k] = Number.parseInt(e.hash.slice(k * 8, k * 8 + 8), 16);
      out.push(hexOf(flipInPlace(w, rnd() % 41, rnd)));
    }
  }
  return out;
}

// --- measurement helpers ---------------------------------------------------------------------------

function unwrap<T>(r: { ok: true; value: T } | { ok: false; error: { message: string } }): T {
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

/** Heap plus ArrayBuffer bytes after a full gc, waiting for V8 to release freed buffers too. */
async function heapBytes(): Promise<number> {
  gc();
  await new Promise((r) => setTimeout(r, 100));
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** Fraction of brute-force matches the index returned; also fails on any extra or wrong match. */
function recall(got: PdqMatch[][], expected: PdqMatch[][]): number {
  let want = 0;
  let found = 0;
  for (let i = 0; i < expected.length; i++) {
    const g = new Map((got[i] ?? []).map((m) => [m.id, m.distance]));
    for (const m of expected[i]!) {
      want++;
      if (g.get(m.id) === m.distance) found++;
    }
    if (g.size !== expected[i]!.length)
      throw new Error(`query ${i}: ${g.size} matches, expected ${expected[i]!.length}`);
  }
  return want === 0 ? 1 : found / want;
}

interface Timed {
  /** Wall-clock ms per query: median over the repetitions. */
  msPerQuery: number;
  /** Best repetition (least disturbed by other load on the machine). */
  minMsPerQuery: number;
  /** CPU (user + system) ms per query of this process, median: robust to other processes. */
  cpuMsPerQuery: number;
  results: PdqMatch[][];
  stats: PdqQueryStats;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/**
 * Runs `queries` in batches of `batch`, up to `reps` times (fewer once a repetition takes over 3 s,
 * to bound the run); per-query times over the whole set.
 */
function timeQueries(
  index: PdqIndex,
  queries: readonly string[],
  batch: number,
  threshold: number,
  strategy: MatchStrategy = "auto",
  reps = 3,
): Timed {
  const walls: number[] = [];
  const cpus: number[] = [];
  let results: PdqMatch[][] = [];
  const stats: PdqQueryStats = { mihQueries: 0, scanQueries: 0, candidates: 0, scanned: 0 };
  for (let r = 0; r < reps; r++) {
    results = [];
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < queries.length; i += batch) {
      results.push(...unwrap(index.query(queries.slice(i, i + batch), { threshold, strategy })));
      if (r > 0) continue;
      const s = index.lastQueryStats;
      stats.mihQueries += s.mihQueries;
      stats.scanQueries += s.scanQueries;
      stats.candidates += s.candidates;
      stats.scanned += s.scanned;
    }
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(c0);
    walls.push(wall / queries.length);
    cpus.push((cpu.user + cpu.system) / 1000 / queries.length);
    if (wall > 3000) break;
  }
  return {
    msPerQuery: median(walls),
    minMsPerQuery: Math.min(...walls),
    cpuMsPerQuery: median(cpus),
    results,
    stats,
  };
}

const f = (x: number, d = 3) => x.toFixed(d);
const mib = (b: number) => b / 2 ** 20;

// --- the run ---------------------------------------------------------------------------------------

interface QueryRow {
  dataset: string;
  entries: number;
  /** Scan kernel of the index: plain JS, or the WebAssembly module. */
  kernel: "js" | "wasm";
  threshold: number;
  batch: number;
  queries: number;
  msPerQuery: number;
  msPerBatch: number;
  minMsPerQuery: number;
  cpuMsPerQuery: number;
  mihQueries: number;
  scanQueries: number;
  candidatesPerQuery: number;
  recall: number;
  bruteForceMsPerQuery: number;
  bruteForceCpuMsPerQuery: number;
  /** Brute force CPU time / index CPU time: robust to other load on the machine. */
  speedup: number;
  /** The same on wall-clock medians (brute force and index ran at different moments). */
  wallSpeedup: number;
}
interface BuildRow {
  dataset: string;
  entries: number;
  buildMs: number;
  buildCpuMs: number;
  heapDeltaBytes: number;
  memoryBytes: number;
  memoryBytesPerMillion: number;
  heapDeltaBytesPerMillion: number;
  /** memoryBytes() after the update phase: a delta in use and its chain heads allocated. */
  memoryBytesWithDelta?: number;
}
interface SweepRow {
  dataset: string;
  entries: number;
  threshold: number;
  radius: number;
  mihMsPerQuery: number;
  scanMsPerQuery: number;
  autoMsPerQuery: number;
  mihCpuMsPerQuery: number;
  scanCpuMsPerQuery: number;
  autoCpuMsPerQuery: number;
  autoScanFraction: number;
  mihCandidatesPerQuery: number;
  faster: "mih" | "scan";
  wasmScanMsPerQuery: number;
  wasmAutoMsPerQuery: number;
  wasmScanCpuMsPerQuery: number;
  wasmAutoCpuMsPerQuery: number;
  wasmAutoScanFraction: number;
  fasterWithWasm: "mih" | "scan";
}
interface UpdateRow {
  dataset: string;
  entries: number;
  adds: number;
  addUsEach: number;
  removeUsEach: number;
  /** CPU ms of a fold with nothing removed: the delta merged into the base in place. */
  mergeMs: number;
  /** CPU ms of a fold after removals: the base rebuilt (slots renumbered). */
  compactMs: number;
  deltaSize: number;
  queryMsPerQueryWithDelta: number;
  queryMsPerQueryAfterCompact: number;
}

const builds: BuildRow[] = [];
const queryRows: QueryRow[] = [];
const sweep: SweepRow[] = [];
const updates: UpdateRow[] = [];
// `--folds N`: only the compactions of a growing index, the way a shard grows during a bulk load:
// built from `size` uniform entries, then N times one delta's worth of adds, the last of which
// folds the delta into the base. Prints each fold's CPU and wall time and whether it merged the
// delta in place or rebuilt the base, and the index's memory after them; then exits.
const foldsArg = process.argv.indexOf("--folds");
if (foldsArg > 0) {
  const folds = Number(process.argv[foldsArg + 1]);
  for (const n of sizes) {
    const entries = uniform(n, 20_261);
    const index = unwrap(PdqIndex.build(entries, { scanModule }));
    const rnd = prng(7);
    const w = new Uint32Array(8);
    const rows: { kind: string; cpuMs: number; wallMs: number }[] = [];
    for (let k = 0; k < folds; k++) {
      const { delta, deltaCapacity, compactions } = index.stats();
      const merges = index.stats().merges;
      for (let i = delta; i < deltaCapacity; i++) unwrap(index.add(idOf(rnd), hexOf(randomWords(rnd, w))));
      gc();
      const c = process.cpuUsage();
      const t = performance.now();
      unwrap(index.add(idOf(rnd), hexOf(randomWords(rnd, w))));
      const wallMs = performance.now() - t;
      const u = process.cpuUsage(c);
      const after = index.stats();
      if (after.compactions !== compactions + 1) throw new Error("the last add did not fold the delta");
      rows.push({
        kind: after.merges > merges ? "merge" : "rebuild",
        cpuMs: (u.user + u.system) / 1000,
        wallMs,
      });
    }
    const cpu = rows.map((r) => r.cpuMs).sort((a, b) => a - b);
    console.log(
      `${n} entries growing to ${index.size}, ${folds} folds (WebAssembly kernel), load ${os.loadavg()[0]!.toFixed(2)}: ` +
        rows.map((r) => `${r.kind} ${f(r.cpuMs, 0)} ms`).join(", ") +
        `; median CPU ${f(cpu[Math.floor(cpu.length / 2)]!, 0)} ms; memoryBytes after ${f(mib(index.memoryBytes()), 1)} MiB`,
    );
  }
  process.exit(0);
}

const started = performance.now();
const loadAtStart = os.loadavg();

for (const n of sizes) {
  for (const [dataset, make, seed] of [
    ["uniform", uniform, 1],
    ["clustered", clustered, 2],
  ] as const) {
    const entries = make(n, seed * 1000 + n);
    const queries = queriesFor(entries, seed * 7 + n);
    const packed = unwrap(packEntries(entries));

    const before = await heapBytes();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const index = unwrap(PdqIndex.build(entries));
    const buildMs = performance.now() - t0;
    const cu = process.cpuUsage(c0);
    const buildCpuMs = (cu.user + cu.system) / 1000;
    const heapDelta = (await heapBytes()) - before;
    const memoryBytes = index.memoryBytes();
    builds.push({
      dataset,
      entries: n,
      buildMs,
      buildCpuMs,
      heapDeltaBytes: heapDelta,
      memoryBytes,
      memoryBytesPerMillion: (memoryBytes / n) * 1e6,
      heapDeltaBytesPerMillion: (heapDelta / n) * 1e6,
    });
    console.log(
      `\n${dataset} ${n}: build ${f(buildMs, 0)} ms (CPU ${f(buildCpuMs, 0)}), memoryBytes ${f(mib(memoryBytes), 1)} MiB ` +
        `(${f(mib((memoryBytes / n) * 1e6), 1)} MiB per 1M), heap delta ${f(mib(heapDelta), 1)} MiB`,
    );

    // Warm up the JIT on queries that are not measured.
    timeQueries(index, queries.slice(0, 20), 10, 31);
    timeQueries(index, queries.slice(0, 4), 2, 52);

    console.log(
      "  scan T  batch  queries  ms/query  (min, cpu)        ms/batch  probe/scan  cand/q  recall  brute ms/q (cpu)  cpu speedup",
    );
    // The same index with the WebAssembly scan kernel (hashes in wasm memory), queried alongside.
    const wasmIndex = unwrap(PdqIndex.build(entries, { scanModule }));
    timeQueries(wasmIndex, queries.slice(0, 4), 2, 52);
    const kernels = [
      ["js", index],
      ["wasm", wasmIndex],
    ] as const;
    // Brute force once, at the largest threshold: its cost does not depend on T (no early exit), and
    // the answers for a smaller T are the matches within that T.
    const tb = performance.now();
    const cb = process.cpuUsage();
    const truth = unwrap(bruteForceMatch(packed, queries, Math.max(...THRESHOLDS)));
    const bruteMs = (performance.now() - tb) / queries.length;
    const bu = process.cpuUsage(cb);
    const bruteCpuMs = (bu.user + bu.system) / 1000 / queries.length;
    for (const threshold of THRESHOLDS) {
      const expected = truth.map((row) => row.filter((m) => m.distance <= threshold));
      for (const [kernel, ix] of kernels)
        for (const batch of [1, 100, 1000]) {
          // Enough queries for a stable figure without running every batch size over all 1000.
          const count = batch === 1 ? (threshold >= 48 ? 50 : 100) : batch === 100 ? 300 : 1000;
          const r = timeQueries(ix, queries.slice(0, count), batch, threshold);
          const row: QueryRow = {
            dataset,
            entries: n,
            kernel,
            threshold,
            batch,
            queries: count,
            msPerQuery: r.msPerQuery,
            msPerBatch: r.msPerQuery * batch,
            minMsPerQuery: r.minMsPerQuery,
            cpuMsPerQuery: r.cpuMsPerQuery,
            mihQueries: r.stats.mihQueries,
            scanQueries: r.stats.scanQueries,
            candidatesPerQuery: r.stats.mihQueries > 0 ? r.stats.candidates / r.stats.mihQueries : 0,
            recall: recall(r.results, expected.slice(0, count)),
            bruteForceMsPerQuery: bruteMs,
            bruteForceCpuMsPerQuery: bruteCpuMs,
            speedup: bruteCpuMs / r.cpuMsPerQuery,
            wallSpeedup: bruteMs / r.msPerQuery,
          };
          if (row.recall !== 1)
            throw new Error(`recall ${row.recall} for ${dataset} ${n} T=${threshold} batch=${batch}`);
          queryRows.push(row);
          console.log(
            `  ${kernel.padEnd(4)} ${threshold}  ${String(batch).padStart(5)}  ${String(count).padStart(7)}  ${f(row.msPerQuery).padStart(8)}` +
              `  (${f(row.minMsPerQuery)}, ${f(row.cpuMsPerQuery)})`.padEnd(18) +
              `  ${f(row.msPerBatch, 1).padStart(8)}  ${`${row.mihQueries}/${row.scanQueries}`.padStart(10)}` +
              `  ${f(row.candidatesPerQuery, 0).padStart(6)}  ${f(row.recall, 1).padStart(6)}  ${f(bruteMs, 2).padStart(10)} (${f(bruteCpuMs, 2)})` +
              `  ${f(row.speedup, 1).padStart(6)}x`,
          );
        }
    }

    if (n === Math.max(...sizes)) {
      console.log(
        "  sweep (batch 50, CPU ms/query): T  r  probe  js scan  js auto (scan share)  cand/q  faster | wasm scan  wasm auto (scan share)  faster",
      );
      const sq = queries.slice(0, SWEEP_QUERIES);
      for (const threshold of SWEEP_THRESHOLDS) {
        const mih = timeQueries(index, sq, SWEEP_QUERIES, threshold, "mih", 1);
        const scan = timeQueries(index, sq, SWEEP_QUERIES, threshold, "scan", 1);
        const auto = timeQueries(index, sq, SWEEP_QUERIES, threshold, "auto", 1);
        const wasmScan = timeQueries(wasmIndex, sq, SWEEP_QUERIES, threshold, "scan", 1);
        const wasmAuto = timeQueries(wasmIndex, sq, SWEEP_QUERIES, threshold, "auto", 1);
        const row: SweepRow = {
          dataset,
          entries: n,
          threshold,
          radius: threshold >>> 4,
          mihMsPerQuery: mih.msPerQuery,
          scanMsPerQuery: scan.msPerQuery,
          autoMsPerQuery: auto.msPerQuery,
          mihCpuMsPerQuery: mih.cpuMsPerQuery,
          scanCpuMsPerQuery: scan.cpuMsPerQuery,
          autoCpuMsPerQuery: auto.cpuMsPerQuery,
          autoScanFraction: auto.stats.scanQueries / SWEEP_QUERIES,
          mihCandidatesPerQuery: mih.stats.candidates / SWEEP_QUERIES,
          faster: mih.cpuMsPerQuery < scan.cpuMsPerQuery ? "mih" : "scan",
          wasmScanMsPerQuery: wasmScan.msPerQuery,
          wasmAutoMsPerQuery: wasmAuto.msPerQuery,
          wasmScanCpuMsPerQuery: wasmScan.cpuMsPerQuery,
          wasmAutoCpuMsPerQuery: wasmAuto.cpuMsPerQuery,
          wasmAutoScanFraction: wasmAuto.stats.scanQueries / SWEEP_QUERIES,
          fasterWithWasm: mih.cpuMsPerQuery < wasmScan.cpuMsPerQuery ? "mih" : "scan",
        };
        sweep.push(row);
        console.log(
          `    ${threshold}  ${row.radius}  ${f(row.mihCpuMsPerQuery).padStart(7)}  ${f(row.scanCpuMsPerQuery).padStart(7)}` +
            `  ${f(row.autoCpuMsPerQuery).padStart(7)} (${f(row.autoScanFraction, 2)})  ${f(row.mihCandidatesPerQuery, 0).padStart(7)}  ${row.faster.padEnd(4)}` +
            `  | ${f(row.wasmScanCpuMsPerQuery).padStart(7)}  ${f(row.wasmAutoCpuMsPerQuery).padStart(7)} (${f(row.wasmAutoScanFraction, 2)})  ${row.fasterWithWasm}`,
        );
      }

      // Incremental updates: a delta's worth of adds and a fold with nothing removed (the delta
      // merged into the base in place), then some removals and a fold that must rebuild.
      const extra = make(Math.min(50_000, index.stats().deltaCapacity - 1), seed * 31 + 5).map((e, i) => ({
        id: `${e.id}_${i}`,
        hash: e.hash,
      }));
      // CPU time, after a gc(): the bench's own million-object heap should not be what is measured.
      const victims = entries.slice(0, 10_000);
      gc();
      let c = process.cpuUsage();
      for (const e of extra) unwrap(index.add(e.id, e.hash));
      let u = process.cpuUsage(c);
      const addUs = (u.user + u.system) / extra.length;
      const deltaSize = index.stats().delta;
      const withDelta = timeQueries(index, queries, 1000, 31);
      const last = builds[builds.length - 1]!;
      last.memoryBytesWithDelta = index.memoryBytes();
      c = process.cpuUsage();
      index.compact();
      u = process.cpuUsage(c);
      const mergeMs = (u.user + u.system) / 1000;
      const afterCompact = timeQueries(index, queries, 1000, 31);
      c = process.cpuUsage();
      for (const e of victims) index.remove(e.id);
      u = process.cpuUsage(c);
      const removeUs = (u.user + u.system) / victims.length;
      c = process.cpuUsage();
      index.compact();
      u = process.cpuUsage(c);
      const compactMs = (u.user + u.system) / 1000;
      updates.push({
        dataset,
        entries: n,
        adds: extra.length,
        addUsEach: addUs,
        removeUsEach: removeUs,
        mergeMs,
        compactMs,
        deltaSize,
        queryMsPerQueryWithDelta: withDelta.msPerQuery,
        queryMsPerQueryAfterCompact: afterCompact.msPerQuery,
      });
      if (JSON.stringify(withDelta.results) !== JSON.stringify(afterCompact.results)) {
        throw new Error("results changed across compaction");
      }
      console.log(
        `  updates (CPU): add ${f(addUs, 2)} us, remove ${f(removeUs, 2)} us, T=31 batch 1000 with a ${deltaSize}-entry delta ` +
          `${f(withDelta.msPerQuery)} ms/q, fold it (merged) ${f(mergeMs, 0)} ms, after ${f(afterCompact.msPerQuery)} ms/q; ` +
          `fold after ${victims.length} removals (rebuilt) ${f(compactMs, 0)} ms; ` +
          `memoryBytes with the delta ${f(mib(last.memoryBytesWithDelta), 1)} MiB`,
      );
    }
  }
}

const totalS = (performance.now() - started) / 1000;
const out = {
  benchmark: "match-index",
  date: new Date().toISOString(),
  machine: {
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? "",
    platform: process.platform,
  },
  // Other work shares this machine; the load average says how disturbed the wall-clock figures are.
  loadAverage: { start: loadAtStart, end: os.loadavg() },
  params: {
    sizes,
    queries: QUERIES,
    thresholds: THRESHOLDS,
    sweepThresholds: SWEEP_THRESHOLDS,
    sweepQueries: SWEEP_QUERIES,
  },
  notes: [
    "queries: half random hashes, half stored entries with 0..40 bits flipped",
    "clustered: centres with 50 variants each at distance 0..40",
    "batch 1 is timed over 100 queries (50 at T=52), batch 100 over 300, batch 1000 over 1000; up to 3 repetitions",
    "brute force runs once per dataset over the 1000 queries at T=52; T=31 answers are its matches within 31",
    "msPerQuery is the median wall-clock repetition, minMsPerQuery the best, cpuMsPerQuery this process's CPU time",
    "brute force = bruteForceMatch (plain JS loop over a packed Uint32Array, no early exit), same queries, same run",
    "kernel js = the default JS scan; wasm = the same index built with scanModule (hashes in wasm memory, i64.popcnt scan)",
  ],
  builds,
  queries: queryRows,
  sweep,
  updates,
  totalSeconds: totalS,
};
writeFileSync(path.join(repoRoot, "bench/results/match-index.json"), `${JSON.stringify(out, null, 2)}\n`);
console.log(`\nwrote bench/results/match-index.json (${f(totalS, 0)} s)`);
