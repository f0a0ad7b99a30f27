// `npm run bench:match`: the match path measured from outside the Worker, against a real local
// node (wrangler dev, local D1, the MatchShard Durable Objects), side by side with FAISS on the
// same data in the same run (Debian `python3-faiss`, one thread; bench/faiss-match.py) when it is
// installed, else with a plain JavaScript brute-force scan.
//
//   npm run bench:match                                   # 100k (through the API) and 1M (D1 file)
//   npm run bench:match -- --sizes 100000 --quick
//   npm run bench:match -- --sizes 10000000 --shards 12   # 10M across 12 shards
//   npm run bench:match -- --sizes 1000000 --api-load-max 1000000 --ingest-only
//   npm run bench:match -- --sizes 20000 --ingest-only --preload 1000000   # into a full node
//   npm run bench:match -- --sizes 200000 --api-load-max 200000 --ingest-only --probe-matches
//                                          # what a platform's single-hash match waits meanwhile
//
// Prints a table and writes bench/results/match.json (or --out FILE). Per row:
// - "ms/query": the whole request / batch, from sending it until the answer's last byte arrives:
//   loopback HTTP (uncompressed unless `--encoding gzip`: see ENCODING), token verification, the
//   rate limiter, the shard calls (with their feed catch-up read), the metadata read, the
//   accounting write and the JSON answer. The client's parse of the
//   answer (5 MiB at 100k, T = 63) is its own work: reported apart, not counted. "index",
//   "meta", "account": the node's Server-Timing phases (measured inside workerd; Workers clocks
//   advance across I/O, so each is the span of an awaited call).
// - "node CPU ms/query": CPU time (user + system) workerd used over the measured requests, from
//   /proc. Wall time moves with machine load; CPU time much less.
// - "load": the 1-minute load average when the row started (2 shared cores: above 2, others wait).
// - FAISS IndexBinaryFlat / IndexBinaryMultiHash: wall and CPU ms per query on the same stored
//   hashes and the same queries, and the ratio of their time to the node's whole request (same
//   run, so the load applies to both). FAISS flat's answers are the ground truth for recall.
//
// wrangler dev's devtools bridge mirrors every response inside workerd (D1 results included,
// base64) to the inspector; at a million rows that traffic alone stalls the node, and it is not
// part of a deployed Worker. The bench turns it off the only way wrangler's CLI allows (the
// variable it reads to detect a VS Code debug terminal). `--profile` needs the inspector, so it
// leaves the bridge on: read a profile's shares, not its totals.
if (!process.argv.includes("--profile")) process.env.VSCODE_INSPECTOR_OPTIONS ??= "{}";

import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import path from "node:path";
import { EusnClient, generateParticipantKey, signWrite } from "@eusn/client";
import { bruteForceMatch, packEntries } from "@eusn/match";
import type { WriteReceipt } from "@eusn/protocol";
import { secondSignature } from "../scripts/second-signature.ts";
import { type LocalNode, startLocalNode } from "../test/helpers/local-node.ts";
import { startCpuProfile } from "./cpu-profile.ts";

const args = process.argv.slice(2);
const arg = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const SIZES = arg("sizes", "100000,1000000").split(",").map(Number);
const QUICK = args.includes("--quick");
/** Measured requests per row (else 100, 10 and 5 for batches of 1, 100 and 1,000; fewer with --quick). */
const REPS = Number(arg("reps", "0"));
const INGEST_ONLY = args.includes("--ingest-only");
/** Records a CPU profile of the Worker over each row's measured requests (bench/cpu-profile.ts). */
const PROFILE = args.includes("--profile");
const API_LOAD_MAX = Number(arg("api-load-max", "100000"));
/** Signed records the API load keeps in flight at once. */
const IN_FLIGHT = Number(arg("in-flight", "1"));
/**
 * With --ingest-only: entries written into the local D1 file before the node starts (other
 * hashes than the ones then sent through the API), to measure ingest into a full node.
 */
const PRELOAD = Number(arg("preload", "0"));
/**
 * With --ingest-only: a platform sends one single-hash match at a time (T = 31, a pause of 100 ms
 * between them) while the API load runs, and the bench prints how long those matches took: what a
 * platform waits while an authority bulk-loads (D1 runs one statement batch at a time).
 */
const PROBE_MATCHES = args.includes("--probe-matches");
const SHARDS_ARG = arg("shards", "auto");
const THRESHOLDS = arg("thresholds", "31,52,63").split(",").map(Number);
const BATCHES = arg("batches", "1,100,1000").split(",").map(Number);
/** Queries FAISS answers at sizes above 1M (flat is exhaustive: 1,000 x 10M at T = 52 takes minutes). */
const FAISS_QUERIES_LARGE = Number(arg("faiss-queries-large", "200"));
/** Queries FAISS's multi-hash index answers (at T >= 48 it probes 11,152 buckets a query: the slowest). */
const MULTIHASH_QUERIES = Number(arg("multihash-queries", "200"));
/**
 * The Accept-Encoding the bench's match requests send. Cloudflare compresses a Worker's JSON
 * answers at its edge, outside the Worker; wrangler dev (miniflare) emulates that inside workerd,
 * on the same two cores, and the client then inflates it: at far thresholds gzip and inflate of a
 * 5 MiB answer took ~13 % of the request (paired runs). So by default the bench asks for the
 * answer as the Worker writes it (`identity`); `--encoding gzip` measures with the emulated edge.
 */
const ENCODING = arg("encoding", "identity");
const OUT = arg("out", path.resolve(import.meta.dirname, "results", "match.json"));
const FAISS_PYTHON = "/usr/bin/python3";
const HAVE_FAISS = spawnSync(FAISS_PYTHON, ["-c", "import faiss"], { encoding: "utf8" }).status === 0;

const log = (s: string) => process.stderr.write(`${s}\n`);
const load1 = () => Number(loadavg()[0]!.toFixed(2));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number, d = 3) => Number(x.toFixed(d));

/**
 * Shards for a size: one up to 1M (the 1M figures are for one shard), else ~720k per shard (about
 * 90 MiB each at ~120 B per entry plus 8 MiB of fixed tables: under the 100 MiB a shard may take).
 */
const shardsFor = (size: number) =>
  SHARDS_ARG !== "auto" ? Number(SHARDS_ARG) : size <= 1_000_000 ? 1 : Math.ceil(size / 720_000);

// --- data: raw 32-byte codes (the hash's bytes in hex order) -------------------------------------

/** mulberry32, as 32-bit words. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

function flip(codes: Uint8Array, at: number, bits: number, r: () => number) {
  const seen = new Set<number>();
  while (seen.size < bits) seen.add(r() & 255);
  for (const b of seen) codes[at + (b >>> 3)]! ^= 1 << (b & 7);
}

/**
 * Half uniform random, half clustered (1% of that half are centres, each with 50 variants at 1-40
 * bits): the same shape as the earlier runs. Variants of one centre are kept distinct (a repeat
 * would be the same submission twice); across families a collision has probability ~2^-200.
 */
function dataset(size: number, seed: number): Uint8Array {
  const r = prng(seed);
  const codes = new Uint8Array(size * 32);
  const half = Math.floor(size / 2);
  for (let i = 0; i < half * 8; i++) new DataView(codes.buffer).setUint32(i * 4, r());
  let n = half;
  while (n < size) {
    const centre = n;
    for (let k = 0; k < 8; k++) new DataView(codes.buffer).setUint32(n * 32 + k * 4, r());
    const family = new Set<string>([hexAt(codes, n)]);
    n++;
    for (let v = 0; v < 50 && n < size; ) {
      codes.copyWithin(n * 32, centre * 32, centre * 32 + 32);
      flip(codes, n * 32, 1 + (r() % 40), r);
      const h = hexAt(codes, n);
      if (family.has(h)) continue;
      family.add(h);
      n++;
      v++;
    }
  }
  return codes;
}

function hexAt(codes: Uint8Array, i: number): string {
  return Buffer.from(codes.buffer, codes.byteOffset + i * 32, 32).toString("hex");
}

/** Queries: half near-duplicates of stored hashes (0-45 bits away), half random. */
function queryCodes(stored: Uint8Array, n: number, seed: number): Uint8Array {
  const r = prng(seed);
  const size = stored.length / 32;
  const q = new Uint8Array(n * 32);
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) {
      const at = (r() % size) * 32;
      q.set(stored.subarray(at, at + 32), i * 32);
      flip(q, i * 32, r() % 46, r);
    } else for (let k = 0; k < 8; k++) new DataView(q.buffer).setUint32(i * 32 + k * 4, r());
  }
  return q;
}

// --- setup ----------------------------------------------------------------------------------------

/**
 * Writes rows straight into the local D1 file (node not running yet): setup, not measured. The
 * `created` changes get explicit sequence numbers and each submission its match key (what the
 * migration's trigger would set), so 10M rows load in minutes.
 */
function loadIntoD1File(persist: string, codesFile: string) {
  const dir = path.join(persist, "v3", "d1", "miniflare-D1DatabaseObject");
  const file = readdirSync(dir).find((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite");
  if (!file) throw new Error(`no D1 file under ${dir}`);
  const py = `
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("PRAGMA journal_mode=OFF"); db.execute("PRAGMA synchronous=OFF")
data = open(sys.argv[2], "rb").read()
n = len(data) // 32
now = "2026-01-01T00:00:00.000Z"
def rows():
    for i in range(n):
        v = data[i * 32:(i + 1) * 32].hex()
        yield (f"hsh_bench{i:09d}", "rec_bench", "par_bench", "NL", "pdq", v, "pdq:" + v, 90, 0, '["a"]', "image", "bench", "live", "none", now, '["NL"]', i + 1)
# Secondary indexes are built once after the rows are in (a sorted build) instead of row by row:
# at 10M rows, inserting into eight random-order B-trees took over 20 minutes.
tables = ("submissions", "submission_changes")
indexes = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN (?, ?)", tables).fetchall()
for name, _ in indexes: db.execute(f'DROP INDEX "{name}"')
db.executemany("INSERT INTO submissions (id, record_id, submitter_id, member_state, signal_type, value, fingerprint, quality, low_quality, limbs, content_type, national_provision, status, baseline_state, created_at, concur_states, match_key) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows())
db.executemany("INSERT INTO submission_changes (seq, submission_id, change, affects_baseline, record_id, at) VALUES (?, ?, 'created', 0, 'rec_bench', ?)", ((i + 1, f"hsh_bench{i:09d}", now) for i in range(n)))
for _, sql in indexes: db.execute(sql)
# Their fingerprint keys, merged (level 0), in key order: the trigger adds keys only for entries
# given their match key by a change, and these rows came with theirs.
db.execute("INSERT INTO fingerprint_keys (level, key, match_key) SELECT 0, substr(fingerprint, 1, 16), match_key FROM submissions WHERE id LIKE 'hsh_bench%' ORDER BY 2, 3")
db.commit()
print(db.execute("SELECT count(*) FROM submissions").fetchone()[0])
`;
  const res = spawnSync("python3", ["-c", py, path.join(dir, file), codesFile], {
    encoding: "utf8",
    maxBuffer: 1 << 20,
  });
  if (res.status !== 0) throw new Error(`loading the D1 file failed: ${res.stderr}`);
  return Number(res.stdout.trim());
}

async function admit(node: LocalNode, role: "authority" | "platform" | "coordinator", memberState?: string) {
  const coordinator = new EusnClient({ baseUrl: node.baseUrl, nodeId: node.nodeId, ...node.coordinator });
  if (role === "coordinator") return coordinator;
  const key = await generateParticipantKey();
  const res = await coordinator.write<WriteReceipt>("/v1/participants", "participant.admit", {
    role,
    ...(memberState ? { memberState } : {}),
    displayName: `bench ${role}`,
    jwks: { keys: [key.publicJwk] },
  });
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
  await secondSignature(coordinator, res.data);
  return new EusnClient({
    baseUrl: node.baseUrl,
    nodeId: node.nodeId,
    participantId: res.data.subjectId,
    privateJwk: key.privateJwk,
  });
}

// --- measuring ------------------------------------------------------------------------------------

type MatchRes = {
  results: { index: number; matches: { submissionId: string; value: string; distance: number }[] }[];
};

const REQUEST_TIMEOUT_MS = 300_000;

/**
 * One match request, timed from sending it until the answer's last byte has arrived: the whole
 * request as the node serves it. Parsing the answer's JSON is the client's work, timed apart
 * (`parseMs`): at far thresholds an answer holds tens of thousands of results (5 MiB at 100k, T = 63).
 */
async function timedMatch(platform: EusnClient, items: string[], threshold: number) {
  const body = JSON.stringify({
    scope: "all",
    threshold,
    items: items.map((value) => ({ type: "pdq", value })),
  });
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const { res, bytes } = await Promise.race([
    (async () => {
      const res = await platform.fetchRaw("/v1/match", {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json",
          "accept-encoding": ENCODING,
        },
        body,
      });
      return { res, bytes: await res.arrayBuffer() };
    })(),
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000} s`)),
        REQUEST_TIMEOUT_MS,
      );
    }),
  ]).finally(() => clearTimeout(timer));
  const ms = performance.now() - t0;
  const p0 = performance.now();
  const text = new TextDecoder().decode(bytes);
  if (!res.ok) throw new Error(`${res.status}: ${text.slice(0, 500)}`);
  const data = JSON.parse(text) as MatchRes;
  const parseMs = performance.now() - p0;
  const timing = res.headers.get("server-timing") ?? "";
  const phase = (name: string) => {
    const m = new RegExp(`(?:^|,\\s*)${name};dur=(\\d+(?:\\.\\d+)?)`).exec(timing);
    return m ? Number(m[1]) : null;
  };
  return {
    ms,
    parseMs,
    answerBytes: bytes.byteLength,
    phases: { index: phase("index"), meta: phase("meta"), account: phase("account") },
    /** Compactions of a shard's index this answer waited for (Server-Timing `compactions`). */
    compactions: Number(/(?:^|,\s*)compactions;desc="(\d+)"/.exec(timing)?.[1] ?? 0),
    data,
  };
}

type ShardStat = { entries: number; memoryBytes: number; builtAt: string; rebuilds: number; source?: string };

async function shardStats(coordinator: EusnClient, init: RequestInit = {}): Promise<ShardStat[]> {
  const res = await coordinator.get<{ shards: ShardStat[] }>("/v1/match/stats", init);
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
  return res.data.shards;
}

/**
 * The first build from D1, waited for by asking for the shards' stats again every minute: the
 * stats call waits for every shard's load, and twelve shards of a 10M node building through the
 * one local D1 take longer than an HTTP client waits for an answer (Node's fetch gives up on
 * headers after 300 s). A shard keeps building when one ask is abandoned; the next ask joins the
 * same load, and every ask keeps the objects busy so local workerd does not evict them meanwhile.
 */
async function firstBuild(coordinator: EusnClient): Promise<ShardStat[]> {
  const t0 = performance.now();
  const deadline = t0 + 3_600_000;
  for (;;) {
    const ask = AbortSignal.timeout(60_000);
    try {
      return await shardStats(coordinator, { signal: ask });
    } catch (e) {
      if (!ask.aborted || performance.now() > deadline) throw e;
      log(
        `  still building after ${Math.round((performance.now() - t0) / 1000)} s (load ${load1()}, node CPU ${Math.round(nodeCpuForLog() / 1000)} s)`,
      );
    }
  }
}
let nodeCpuForLog = () => 0;

type Faiss = {
  faissVersion: string;
  flat: { thresholds: Record<string, { msPerQuery: number; cpuMsPerQuery: number; hits: number }> };
  multiHash?: {
    thresholds: Record<
      string,
      { msPerQuery: number; cpuMsPerQuery: number; hits: number; sameAsFlat: boolean }
    >;
  };
  truth: Record<string, number[][]>;
};

function runFaiss(
  dir: string,
  stored: Uint8Array,
  queries: Uint8Array,
  multiHashQueries: number,
): Faiss | null {
  if (!HAVE_FAISS) return null;
  const s = path.join(dir, "stored.bin");
  const q = path.join(dir, "faiss-queries.bin");
  if (!existsSync(s)) writeFileSync(s, stored);
  writeFileSync(q, queries);
  const res = spawnSync(
    FAISS_PYTHON,
    [
      path.join(import.meta.dirname, "faiss-match.py"),
      s,
      q,
      THRESHOLDS.join(","),
      "--multihash-queries",
      String(multiHashQueries),
    ],
    {
      encoding: "utf8",
      maxBuffer: 1 << 30,
    },
  );
  if (res.status !== 0) throw new Error(`faiss failed: ${res.stderr.slice(-2000)}`);
  return JSON.parse(res.stdout) as Faiss;
}

// --- one size -------------------------------------------------------------------------------------

async function benchSize(size: number) {
  const shards = shardsFor(size);
  log(`\n== ${size.toLocaleString()} stored hashes, ${shards} shard(s), load ${load1()} ==`);
  const t0 = performance.now();
  const stored = dataset(size, size);
  const hex = (i: number) => hexAt(stored, i);
  log(`generated data set in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const viaApi = size <= API_LOAD_MAX;
  let codesFile = "";
  const node = await startLocalNode({
    // A CPU profile needs wrangler's inspector, which costs CPU of its own: only then.
    inspector: PROFILE,
    // The bench measures the index, not the fair-use limits: both classes it uses are off.
    vars: { MATCH_SHARDS: String(shards), RATE_LIMIT_MATCH: "off", RATE_LIMIT_WRITE: "off" },
    beforeStart: async (persist) => {
      codesFile = path.join(path.dirname(persist), "stored.bin");
      writeFileSync(codesFile, stored);
      if (!viaApi || PRELOAD > 0) {
        const t = performance.now();
        let file = codesFile;
        if (viaApi) {
          file = path.join(path.dirname(persist), "preload.bin");
          writeFileSync(file, dataset(PRELOAD, PRELOAD + 7));
        }
        const n = loadIntoD1File(persist, file);
        log(
          `wrote ${n.toLocaleString()} rows into the local D1 file in ${((performance.now() - t) / 1000).toFixed(1)} s (setup, not measured)`,
        );
      }
    },
  });
  const result: Record<string, unknown> = {
    size,
    shards,
    loadedVia: viaApi ? "api" : "d1-file",
    ...(viaApi && PRELOAD > 0 ? { preloaded: PRELOAD } : {}),
    load1AtStart: load1(),
  };
  try {
    const coordinator = await admit(node, "coordinator");
    const platform = await admit(node, "platform");
    if (viaApi) {
      const authority = await admit(node, "authority", "NL");
      const blocks: {
        stored: number;
        hashesPerSecond: number;
        nodeCpuMsPer1000: number;
        clientCpuMsPer1000: number;
        load1: number;
      }[] = [];
      const BLOCK = size >= 500_000 ? 50_000 : 10_000;
      // The client builds and signs the next record while the node stores the current one (as a
      // client with records to send would), so its own work overlaps the node's instead of adding
      // to each round trip; its CPU per 1,000 is reported beside the node's.
      const sign = (i: number) =>
        signWrite(authority, node.nodeId, "submission.create", {
          items: Array.from({ length: Math.min(1000, size - i) }, (_, k) => ({
            signalType: "pdq",
            value: hex(i + k),
            quality: 90,
            limbs: ["a"],
            contentType: "image",
            nationalProvision: "bench",
          })),
        });
      // The index is built (or loaded) by a first match before the load, so the figures are of
      // matches during ingest, not of a shard's start.
      if (PROBE_MATCHES) await timedMatch(platform, [hex(0)], 31);
      const profiler = PROFILE ? await startCpuProfile(node.inspectorPort()) : null;
      const cpuStart = node.cpuMs().workerd;
      const t = performance.now();
      let tb = t;
      let cpu = node.cpuMs().workerd;
      let client = process.cpuUsage();
      // IN_FLIGHT records at a time (1 unless --in-flight N): a bulk client with records ready
      // may keep more than one request open, so the node reads and verifies one while D1 stores
      // another.
      const starts = Array.from({ length: Math.ceil(size / 1000) }, (_, k) => k * 1000);
      let signed = 0;
      const signedQueue = new Map<number, Promise<string>>();
      const signAhead = () => {
        while (signed < starts.length && signedQueue.size < IN_FLIGHT + 1) {
          const at = starts[signed++]!;
          signedQueue.set(at, sign(at));
        }
      };
      let doneCount = 0;
      let cursor = 0;
      const worker = async () => {
        while (cursor < starts.length) {
          const i = starts[cursor++]!;
          signAhead();
          const jws = await signedQueue.get(i)!;
          signedQueue.delete(i);
          signAhead();
          const res = await authority.postJws("/v1/submissions", jws);
          if (!res.ok) throw new Error(JSON.stringify(res.problem));
          doneCount += Math.min(1000, size - i);
          const done = doneCount;
          if (done % BLOCK === 0) {
            const now = performance.now();
            const c = node.cpuMs().workerd;
            const cu = process.cpuUsage(client);
            blocks.push({
              stored: PRELOAD + done,
              hashesPerSecond: Math.round(BLOCK / ((now - tb) / 1000)),
              nodeCpuMsPer1000: round((c - cpu) / (BLOCK / 1000), 1),
              clientCpuMsPer1000: round((cu.user + cu.system) / 1000 / (BLOCK / 1000), 1),
              load1: load1(),
            });
            const b = blocks.at(-1)!;
            log(
              `  ${(PRELOAD + done).toLocaleString()} stored: ${b.hashesPerSecond} hashes/s over the last ${BLOCK.toLocaleString()} (workerd CPU ${b.nodeCpuMsPer1000} ms per 1,000, the bench client's ${b.clientCpuMsPer1000}; load ${b.load1})`,
            );
            tb = now;
            cpu = c;
            client = process.cpuUsage();
          }
        }
      };
      let loading = true;
      const probes: number[] = [];
      /** When each probe was sent, ms after the load began, and whether it waited for a compaction. */
      const probeAt: number[] = [];
      const probeCompacted: boolean[] = [];
      const probe = async () => {
        let k = 0;
        while (loading) {
          probeAt.push(performance.now() - t);
          const m = await timedMatch(platform, [hex((k++ * 7919) % size)], 31);
          probes.push(m.ms);
          probeCompacted.push(m.compactions > 0);
          await new Promise((r) => setTimeout(r, 100));
        }
      };
      const probing = PROBE_MATCHES ? probe() : Promise.resolve();
      await Promise.all(Array.from({ length: IN_FLIGHT }, worker)).finally(() => {
        loading = false;
      });
      await probing;
      const s = (performance.now() - t) / 1000;
      if (PROBE_MATCHES && probes.length > 0) {
        const sorted = [...probes].sort((a, b) => a - b);
        const q = (f: number) =>
          round(sorted[Math.min(sorted.length - 1, Math.floor(f * sorted.length))]!, 1);
        const longest = probes
          .map((ms, i) => ({
            ms: round(ms, 1),
            sentAtS: round(probeAt[i]! / 1000, 1),
            compacted: probeCompacted[i]!,
          }))
          .sort((a, b) => b.ms - a.ms)
          .slice(0, 5);
        // The waits that held a compaction of the shard's index, and the others.
        const split = (c: boolean) => {
          const ms = probes.filter((_, i) => probeCompacted[i] === c).sort((a, b) => a - b);
          const at = (f: number) =>
            ms.length ? round(ms[Math.min(ms.length - 1, Math.floor(f * ms.length))]!, 1) : null;
          return {
            count: ms.length,
            p50Ms: at(0.5),
            p90Ms: at(0.9),
            minMs: ms.length ? round(ms[0]!, 1) : null,
            maxMs: at(1),
          };
        };
        const withCompaction = split(true);
        const without = split(false);
        result.probeMatches = {
          count: probes.length,
          p50Ms: q(0.5),
          p90Ms: q(0.9),
          p99Ms: q(0.99),
          maxMs: round(sorted.at(-1)!, 1),
          // The five longest, with when they were sent (s after the load began) and whether the
          // answer waited for a compaction of the shard's index (its Server-Timing says so).
          longest,
          withCompaction,
          without,
        };
        log(
          `  single-hash matches during the load: ${probes.length}, p50 ${q(0.5)} ms, p90 ${q(0.9)} ms, p99 ${q(0.99)} ms, max ${round(sorted.at(-1)!, 1)} ms; the longest ${JSON.stringify(longest)}`,
        );
        log(
          `  of them, waited for a compaction of the index: ${JSON.stringify(withCompaction)}; did not: ${JSON.stringify(without)}`,
        );
      }
      if (profiler) {
        const p = await profiler.stop(25);
        const records = Math.ceil(size / 1000);
        const per = (v: number) => `${(v / records).toFixed(1)} ms`.padStart(10);
        log(
          `  profile of the API load, per record of 1,000: workerd CPU ${((node.cpuMs().workerd - cpuStart) / records).toFixed(1)} ms, sampled JavaScript ${(p.jsMs / records).toFixed(1)} ms`,
        );
        for (const [f, v] of p.byFile.slice(0, 12)) log(`    ${per(v)}  ${f}`);
        for (const [f, v] of p.byFunction) log(`    ${per(v)}  ${f}`);
      }
      result.apiLoadSeconds = round(s, 1);
      result.apiLoadHashesPerSecond = Math.round(size / s);
      result.apiLoadBlocks = blocks;
      log(
        `bulk load through the API: ${size.toLocaleString()} hashes in ${s.toFixed(1)} s (${Math.round(size / s)} hashes/s, 1,000 per signed record)`,
      );
      if (INGEST_ONLY) return result;
    }
    // First build: from D1 (no snapshot yet).
    const tb = performance.now();
    nodeCpuForLog = () => node.cpuMs().workerd;
    let stats = await firstBuild(coordinator);
    result.indexBuildSeconds = round((performance.now() - tb) / 1000, 1);
    result.entries = stats.reduce((a, s) => a + s.entries, 0);
    result.memoryBytes = stats.reduce((a, s) => a + s.memoryBytes, 0);
    result.maxShardMemoryBytes = Math.max(...stats.map((s) => s.memoryBytes));
    result.buildSources = stats.map((s) => s.source ?? "d1");
    log(
      `index built in ${result.indexBuildSeconds} s: ${result.entries} entries, ${(Number(result.memoryBytes) / 2 ** 20).toFixed(1)} MiB (largest shard ${(Number(result.maxShardMemoryBytes) / 2 ** 20).toFixed(1)} MiB), load ${load1()}`,
    );

    const builds = new Set<string>([stats.map((s) => s.builtAt).join(",")]);
    const rows: Record<string, unknown>[] = [];
    const failures: { threshold: number; batch: number; error: string }[] = [];
    const nQueries = 1000;
    const q = queryCodes(stored, nQueries, size + 7);
    const qHex = Array.from({ length: nQueries }, (_, i) => hexAt(q, i));
    // FAISS on the same stored hashes and queries (all 1,000 up to 1M; a prefix above).
    const faissN = size > 1_000_000 ? Math.min(FAISS_QUERIES_LARGE, nQueries) : nQueries;
    const tf = performance.now();
    const faiss = runFaiss(
      path.dirname(codesFile),
      stored,
      q.subarray(0, faissN * 32),
      Math.min(faissN, MULTIHASH_QUERIES),
    );
    if (faiss) {
      result.faiss = {
        version: faiss.faissVersion,
        queries: faissN,
        flat: faiss.flat,
        multiHash: faiss.multiHash,
        load1: load1(),
      };
      log(
        `FAISS ${faiss.faissVersion} on ${faissN} queries in ${((performance.now() - tf) / 1000).toFixed(1)} s: ${THRESHOLDS.map((t) => `T=${t} flat ${faiss.flat.thresholds[t]!.msPerQuery} ms/q (CPU ${faiss.flat.thresholds[t]!.cpuMsPerQuery}), multi-hash ${faiss.multiHash?.thresholds[t]?.msPerQuery} ms/q`).join("; ")}`,
      );
    }
    // Ground truth: FAISS flat, else a JS brute-force scan of the same data.
    const truth = new Map<number, string[][]>();
    for (const t of THRESHOLDS) {
      if (faiss)
        truth.set(
          t,
          faiss.truth[String(t)]!.map((labels) => labels.map(hex)),
        );
      else if (size <= 1_000_000) {
        const packed = packEntries(Array.from({ length: size }, (_, i) => ({ id: String(i), hash: hex(i) })));
        if (!packed.ok) throw new Error(packed.error.message);
        const tbf = performance.now();
        const bf = bruteForceMatch(packed.value, qHex, t);
        if (!bf.ok) throw new Error(bf.error.message);
        result[`bruteForceMsPerQueryT${t}`] = round((performance.now() - tbf) / nQueries);
        truth.set(
          t,
          bf.value.map((ms) => ms.map((m) => hex(Number(m.id)))),
        );
      }
    }
    for (const threshold of THRESHOLDS) {
      for (const batch of BATCHES) {
        // Far thresholds at 10M are a scan of every entry per query: one batch size only.
        if (size > 1_000_000 && threshold > 31 && batch !== 100) continue;
        try {
          const reps = REPS
            ? REPS
            : QUICK
              ? batch === 1
                ? 20
                : batch === 100
                  ? 3
                  : 2
              : batch === 1
                ? 100
                : batch === 100
                  ? 10
                  : 5;
          await timedMatch(platform, qHex.slice(0, batch), threshold); // warm (and rebuild, if evicted)
          const builtBefore = (await shardStats(coordinator)).map((s) => s.builtAt).join(",");
          const rowLoad = load1();
          const times: number[] = [];
          const parses: number[] = [];
          let answerBytes = 0;
          const phases = { index: [] as number[], meta: [] as number[], account: [] as number[] };
          let found = 0;
          let expected = 0;
          let checked = 0;
          const profiler = PROFILE ? await startCpuProfile(node.inspectorPort()) : null;
          const cpu0 = node.cpuMs();
          for (let k = 0; k < reps; k++) {
            const start = (k * batch) % nQueries;
            const {
              ms,
              parseMs,
              answerBytes: size,
              phases: p,
              data,
            } = await timedMatch(platform, qHex.slice(start, start + batch), threshold);
            times.push(ms);
            parses.push(parseMs);
            answerBytes = Math.max(answerBytes, size);
            for (const name of ["index", "meta", "account"] as const)
              if (p[name] !== null) phases[name].push(p[name]);
            const want = truth.get(threshold);
            if (want) {
              data.results.forEach((res, i) => {
                const qi = start + i;
                if (qi >= want.length) return;
                checked++;
                const w = new Set(want[qi]!);
                const got = new Set(res.matches.map((m) => m.value));
                expected += w.size;
                for (const v of w) if (got.has(v)) found++;
                for (const v of got) if (!w.has(v)) throw new Error(`false hit ${v} for query ${qi}`);
              });
            }
          }
          const cpu1 = node.cpuMs();
          if (profiler) {
            const p = await profiler.stop(20);
            const per = (v: number) => `${(v / reps).toFixed(1)} ms`.padStart(10);
            log(
              `  profile T=${threshold} batch=${batch}, per request: workerd CPU ${((cpu1.workerd - cpu0.workerd) / reps).toFixed(1)} ms, sampled JavaScript ${(p.jsMs / reps).toFixed(1)} ms`,
            );
            for (const [f, v] of p.byFile.slice(0, 10)) log(`    ${per(v)}  ${f}`);
            for (const [f, v] of p.byFunction) log(`    ${per(v)}  ${f}`);
          }
          const builtAfter = (await shardStats(coordinator)).map((s) => s.builtAt).join(",");
          builds.add(builtBefore).add(builtAfter);
          if (builtAfter !== builtBefore)
            throw new Error(
              `the index was rebuilt during the measured requests (T=${threshold}, batch ${batch})`,
            );
          const p50 = median(times);
          const msPerQuery = p50 / batch;
          const ff = faiss?.flat.thresholds[threshold];
          const fm = faiss?.multiHash?.thresholds[threshold];
          const nodeCpuPerQuery = (cpu1.workerd - cpu0.workerd) / (reps * batch);
          const row = {
            size,
            shards,
            threshold,
            batch,
            requests: reps,
            load1: rowLoad,
            msPerRequestP50: round(p50, 1),
            msPerQuery: round(msPerQuery),
            indexMsPerQuery: phases.index.length === reps ? round(median(phases.index) / batch) : null,
            metaMsPerRequestP50: phases.meta.length === reps ? median(phases.meta) : null,
            accountMsPerRequestP50: phases.account.length === reps ? median(phases.account) : null,
            clientParseMsPerRequestP50: round(median(parses), 1),
            answerBytesMax: answerBytes,
            nodeCpuMsPerQuery: round(nodeCpuPerQuery),
            recall: checked > 0 ? (expected === 0 ? 1 : found / expected) : null,
            queriesChecked: checked,
            hits: expected,
            faissFlatMsPerQuery: ff?.msPerQuery ?? null,
            faissFlatCpuMsPerQuery: ff?.cpuMsPerQuery ?? null,
            faissMultiHashMsPerQuery: fm?.msPerQuery ?? null,
            faissMultiHashCpuMsPerQuery: fm?.cpuMsPerQuery ?? null,
            vsFaissFlat: ff ? round(ff.msPerQuery / msPerQuery, 2) : null,
            vsFaissFlatCpu: ff && nodeCpuPerQuery > 0 ? round(ff.cpuMsPerQuery / nodeCpuPerQuery, 2) : null,
            vsFaissMultiHash: fm ? round(fm.msPerQuery / msPerQuery, 2) : null,
          };
          rows.push(row);
          log(
            `  T=${threshold} batch=${batch}: ${row.msPerQuery} ms/query (p50 ${row.msPerRequestP50} ms/request; index ${row.indexMsPerQuery}, meta ${row.metaMsPerRequestP50} ms, account ${row.accountMsPerRequestP50} ms; answer ${(answerBytes / 2 ** 20).toFixed(1)} MiB, parsed by the client in ${row.clientParseMsPerRequestP50} ms, not counted; node CPU ${row.nodeCpuMsPerQuery} ms/query), recall ${row.recall} over ${checked} queries${ff ? `; FAISS flat ${ff.msPerQuery} ms/q (x${row.vsFaissFlat} wall, x${row.vsFaissFlatCpu} CPU), multi-hash ${fm?.msPerQuery} ms/q (x${row.vsFaissMultiHash})` : ""}; load ${rowLoad}`,
          );
        } catch (e) {
          // One failed measurement is reported with the rest, not instead of them.
          failures.push({ threshold, batch, error: (e as Error).message.slice(0, 300) });
          log(`  T=${threshold} batch=${batch}: FAILED — ${(e as Error).message}`);
        }
      }
    }
    result.rows = rows;
    if (failures.length > 0) result.failures = failures;
    result.indexBuilds = builds.size;

    // Cold starts: the shards evicted after idling (local workerd drops an idle object after about
    // 10 s), then the whole node restarted on the same state (a deploy or a crash).
    const cold: Record<string, unknown>[] = [];
    for (const how of ["idle", "restart"] as const) {
      if (how === "idle") await new Promise((r) => setTimeout(r, 20_000));
      else await node.restart();
      const l = load1();
      const cpu0 = node.cpuMs().workerd;
      let ms: number;
      try {
        ({ ms } = await timedMatch(platform, qHex.slice(0, 1), 31));
      } catch (e) {
        // Reported beside the rows measured before it, not instead of them.
        cold.push({ after: how, error: (e as Error).message.slice(0, 300), load1: l });
        log(
          `  first query after ${how === "idle" ? "idling 20 s" : "a restart"}: FAILED — ${(e as Error).message}`,
        );
        continue;
      }
      stats = await shardStats(coordinator);
      cold.push({
        after: how,
        firstQueryMs: Math.round(ms),
        nodeCpuMs: Math.round(node.cpuMs().workerd - cpu0),
        sources: stats.map((s) => s.source ?? "d1"),
        load1: l,
      });
      log(
        `  first query after ${how === "idle" ? "idling 20 s" : "a restart"}: ${Math.round(ms)} ms (loaded from ${stats.map((s) => s.source ?? "d1").join(",")}; load ${l})`,
      );
    }
    result.coldStarts = cold;
  } catch (e) {
    log(`failed: ${(e as Error).message}\n--- wrangler dev output (tail) ---\n${node.output().slice(-3000)}`);
    throw e;
  } finally {
    await node.stop();
  }
  return result;
}

const results: Record<string, unknown>[] = [];
for (const size of SIZES) {
  try {
    results.push(await benchSize(size));
  } catch (e) {
    // Recorded, not hidden: e.g. a node that stops answering, or an index rebuilt mid-measurement.
    results.push({ size, error: (e as Error).message.slice(0, 500) });
  }
}
console.log(
  "\nsize      shards T   batch  ms/query  index ms/q  meta ms  acct ms  CPU ms/q  recall  FAISS flat ms/q  x flat  x flat CPU  FAISS MIH ms/q  x MIH  load",
);
for (const r of results.flatMap((x) => (x.rows as Record<string, number | null>[]) ?? [])) {
  const c = (v: unknown, w: number) => String(v ?? "").padStart(w);
  console.log(
    `${c(r.size, 9)} ${c(r.shards, 6)} ${c(r.threshold, 3)} ${c(r.batch, 5)} ${c(r.msPerQuery, 9)} ${c(r.indexMsPerQuery, 11)} ${c(r.metaMsPerRequestP50, 8)} ${c(r.accountMsPerRequestP50, 8)} ${c(r.nodeCpuMsPerQuery, 9)} ${c(r.recall, 7)} ${c(r.faissFlatMsPerQuery, 16)} ${c(r.vsFaissFlat, 7)} ${c(r.vsFaissFlatCpu, 11)} ${c(r.faissMultiHashMsPerQuery, 15)} ${c(r.vsFaissMultiHash, 6)} ${c(r.load1, 5)}`,
  );
}
for (const r of results) {
  if (r.error) {
    console.log(`${r.size}: FAILED — ${r.error}`);
    continue;
  }
  for (const f of (r.failures as { threshold: number; batch: number; error: string }[]) ?? [])
    console.log(`${r.size}: T=${f.threshold} batch ${f.batch} FAILED — ${f.error}`);
  console.log(
    `${r.size}: ${r.shards} shard(s), ${(Number(r.memoryBytes) / 2 ** 20).toFixed(1)} MiB for ${r.entries} entries (largest shard ${(Number(r.maxShardMemoryBytes) / 2 ** 20).toFixed(1)} MiB), built in ${r.indexBuildSeconds} s${r.apiLoadHashesPerSecond ? `; API load ${r.apiLoadHashesPerSecond} hashes/s` : ""}; cold starts ${JSON.stringify(r.coldStarts)}`,
  );
}
writeFileSync(
  OUT,
  `${JSON.stringify({ generatedAt: new Date().toISOString(), machine: { cores: cpus().length, cpu: cpus()[0]?.model }, faiss: HAVE_FAISS, acceptEncoding: ENCODING, results }, null, 2)}\n`,
);
console.log(`\nwrote ${path.relative(process.cwd(), OUT)}`);
