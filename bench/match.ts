// `npm run bench:match`: the match path measured from outside the Worker, against a real local
// node (wrangler dev, local D1, the MatchShard Durable Object), side by side with a plain
// JavaScript brute-force scan in the same run.
//
//   npm run bench:match                 # 100k (loaded through the API) and 1M (loaded into the local D1 file)
//   npm run bench:match -- --sizes 100000 --quick
//
// Prints a table and writes bench/results/match.json. "ms/query" is the whole request time /
// batch: loopback HTTP, token verification, the D1 catch-up read, the metadata read and the
// accounting write. "index ms/query" is the part spent in the shard objects inside workerd, from
// the node's Server-Timing header (measured in the Worker around the shard calls, so it includes
// their catch-up read and the RPC, not the network).
//
// wrangler dev's devtools bridge mirrors every response inside workerd (D1 results included,
// base64) to the inspector; at a million rows that traffic alone stalls the node, and it is not
// part of a deployed Worker. The bench turns it off the only way wrangler's CLI allows (the
// variable it reads to detect a VS Code debug terminal).
process.env.VSCODE_INSPECTOR_OPTIONS ??= "{}";

import { spawnSync } from "node:child_process";
import { readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { EusnClient, generateParticipantKey } from "@eusn/client";
import { bruteForceMatch, packEntries } from "@eusn/match";
import type { WriteReceipt } from "@eusn/protocol";
import { flipBits, randomPdq, rng } from "../test/helpers/hashes.ts";
import { type LocalNode, startLocalNode } from "../test/helpers/local-node.ts";

const args = process.argv.slice(2);
const arg = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const SIZES = arg("sizes", "100000,1000000").split(",").map(Number);
const QUICK = args.includes("--quick");
const API_LOAD_MAX = Number(arg("api-load-max", "100000"));
const SHARDS = arg("shards", "1");
const THRESHOLDS = [31, 52];
const BATCHES = [1, 100, 1000];

type Row = {
  size: number;
  data: string;
  threshold: number;
  batch: number;
  requests: number;
  msPerRequestP50: number;
  msPerQuery: number;
  indexMsPerRequestP50: number | null;
  indexMsPerQuery: number | null;
  recall: number | null;
  bruteForceMsPerQuery: number | null;
  speedupVsBruteForce: number | null;
};

function log(s: string) {
  process.stderr.write(`${s}\n`);
}

/** Half uniform random, half clustered: 1% of entries are centres with variants at distance 1..40. */
function dataset(size: number, seed: number): string[] {
  const r = rng(seed);
  const out = new Set<string>();
  while (out.size < size / 2) out.add(randomPdq(r));
  while (out.size < size) {
    const c = randomPdq(r);
    out.add(c);
    for (let k = 0; k < 50 && out.size < size; k++) out.add(flipBits(c, 1 + Math.floor(r() * 40), r));
  }
  return [...out];
}

/** Queries: half near-duplicates of stored hashes (up to 45 bits away), half random. */
function queries(stored: string[], n: number, seed: number): string[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, i) =>
    i % 2 === 0 ? flipBits(stored[Math.floor(r() * stored.length)]!, Math.floor(r() * 46), r) : randomPdq(r),
  );
}

/** Writes rows straight into the local D1 file (node not running yet): setup only, not measured. */
function loadIntoD1File(persist: string, values: string[]) {
  const dir = path.join(persist, "v3", "d1", "miniflare-D1DatabaseObject");
  const file = readdirSync(dir).find((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite");
  if (!file) throw new Error(`no D1 file under ${dir}`);
  const tsv = path.join(persist, "bench-values.txt");
  writeFileSync(tsv, values.join("\n"));
  const py = `
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
vals = open(sys.argv[2]).read().split("\\n")
now = "2026-01-01T00:00:00.000Z"
rows = [(f"hsh_bench{i:08d}", "rec_bench", "par_bench", "NL", "pdq", v, "pdq:" + v, 90, 0, '["a"]', "image", "bench", "live", "none", now, '["NL"]') for i, v in enumerate(vals)]
db.executemany("INSERT INTO submissions (id, record_id, submitter_id, member_state, signal_type, value, fingerprint, quality, low_quality, limbs, content_type, national_provision, status, baseline_state, created_at, concur_states) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
db.executemany("INSERT INTO submission_changes (submission_id, change, affects_baseline, record_id, at) VALUES (?, 'created', 0, 'rec_bench', ?)", [(r[0], now) for r in rows])
db.commit()
print(db.execute("SELECT count(*) FROM submissions").fetchone()[0])
`;
  const res = spawnSync("python3", ["-c", py, path.join(dir, file), tsv], { encoding: "utf8" });
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
  return new EusnClient({
    baseUrl: node.baseUrl,
    nodeId: node.nodeId,
    participantId: res.data.subjectId,
    privateJwk: key.privateJwk,
  });
}

type MatchRes = {
  results: { index: number; matches: { submissionId: string; value: string; distance: number }[] }[];
};

const REQUEST_TIMEOUT_MS = 180_000;

async function timedMatch(platform: EusnClient, items: string[], threshold: number) {
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const res = await Promise.race([
    platform.postJson<MatchRes>("/v1/match", {
      scope: "all",
      threshold,
      items: items.map((value) => ({ type: "pdq", value })),
    }),
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000} s`)),
        REQUEST_TIMEOUT_MS,
      );
    }),
  ]).finally(() => clearTimeout(timer));
  const ms = performance.now() - t0;
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
  const index = /(?:^|,\s*)index;dur=(\d+(?:\.\d+)?)/.exec(res.headers.get("server-timing") ?? "");
  return { ms, indexMs: index ? Number(index[1]) : null, data: res.data };
}

/** When the shards last loaded their index (GET /v1/match/stats): changes only on a rebuild. */
async function builtAt(coordinator: EusnClient): Promise<string> {
  const res = await coordinator.get<{ shards: { builtAt: string }[] }>("/v1/match/stats");
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
  return res.data.shards.map((s) => s.builtAt).join(",");
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function benchSize(size: number) {
  log(`\n== ${size.toLocaleString()} stored hashes ==`);
  const t0 = performance.now();
  const stored = dataset(size, size);
  log(`generated data set in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const viaApi = size <= API_LOAD_MAX;
  const node = await startLocalNode({
    vars: { MATCH_SHARDS: SHARDS },
    beforeStart: async (persist) => {
      if (!viaApi) {
        const t = performance.now();
        const n = loadIntoD1File(persist, stored);
        log(
          `wrote ${n.toLocaleString()} rows into the local D1 file in ${((performance.now() - t) / 1000).toFixed(1)} s (setup, not measured)`,
        );
      }
    },
  });
  const result: Record<string, unknown> = {
    size,
    shards: Number(SHARDS),
    loadedVia: viaApi ? "api" : "d1-file",
  };
  try {
    const coordinator = await admit(node, "coordinator");
    const platform = await admit(node, "platform");
    if (viaApi) {
      const authority = await admit(node, "authority", "NL");
      const t = performance.now();
      for (let i = 0; i < stored.length; i += 1000) {
        const res = await authority.write("/v1/submissions", "submission.create", {
          items: stored.slice(i, i + 1000).map((value) => ({
            signalType: "pdq",
            value,
            quality: 90,
            limbs: ["a"],
            contentType: "image",
            nationalProvision: "bench",
          })),
        });
        if (!res.ok) throw new Error(JSON.stringify(res.problem));
        if ((i / 1000) % 10 === 9) log(`  loaded ${(i + 1000).toLocaleString()} via the API`);
      }
      const s = (performance.now() - t) / 1000;
      result.apiLoadSeconds = Number(s.toFixed(1));
      result.apiLoadHashesPerSecond = Math.round(stored.length / s);
      log(
        `bulk load through the API: ${stored.length.toLocaleString()} hashes in ${s.toFixed(1)} s (${Math.round(stored.length / s)} hashes/s, 1,000 per signed record)`,
      );
    }
    const tb = performance.now();
    const stats = await coordinator.get<{ shards: { entries: number; memoryBytes: number }[] }>(
      "/v1/match/stats",
    );
    if (!stats.ok) throw new Error(JSON.stringify(stats.problem));
    result.indexBuildSeconds = Number(((performance.now() - tb) / 1000).toFixed(1));
    result.entries = stats.data.shards.reduce((a, s) => a + s.entries, 0);
    result.memoryBytes = stats.data.shards.reduce((a, s) => a + s.memoryBytes, 0);
    log(
      `index built in the Durable Object in ${result.indexBuildSeconds} s: ${result.entries} entries, ${(Number(result.memoryBytes) / 2 ** 20).toFixed(1)} MiB`,
    );

    const builds = new Set<string>([await builtAt(coordinator)]);
    const packedResult = packEntries(stored.map((value, i) => ({ id: String(i), hash: value })));
    if (!packedResult.ok) throw new Error(packedResult.error.message);
    const packed = packedResult.value;
    const rows: Row[] = [];
    const failures: { threshold: number; batch: number; error: string }[] = [];
    for (const threshold of THRESHOLDS) {
      const q1000 = queries(stored, 1000, threshold * 7 + size);
      // Ground truth and the brute-force timing: the same 1,000 queries, plain JS scan in this process.
      const tbf = performance.now();
      const truth = bruteForceMatch(packed, q1000, threshold);
      const bfMs = performance.now() - tbf;
      if (!truth.ok) throw new Error(truth.error.message);
      for (const batch of BATCHES) {
        try {
          const reps = QUICK
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
          await timedMatch(platform, q1000.slice(0, batch), threshold); // warm (and rebuild, if evicted)
          const builtBefore = await builtAt(coordinator);
          const times: number[] = [];
          const indexTimes: number[] = [];
          let found = 0;
          let expected = 0;
          for (let k = 0; k < reps; k++) {
            const start = (k * batch) % 1000;
            const items = q1000.slice(start, start + batch);
            const { ms, indexMs, data } = await timedMatch(platform, items, threshold);
            times.push(ms);
            if (indexMs !== null) indexTimes.push(indexMs);
            if (batch === 1000) {
              data.results.forEach((res, i) => {
                const want = new Set(truth.value[start + i]!.map((m) => stored[Number(m.id)]!));
                const got = new Set(res.matches.map((m) => m.value));
                expected += want.size;
                for (const v of want) if (got.has(v)) found++;
                for (const v of got)
                  if (!want.has(v)) throw new Error(`false hit ${v} for query ${start + i}`);
              });
            }
          }
          // The index must have served every measured request from memory: a rebuild in between
          // (an evicted or reset shard) would be measured as query time.
          const builtAfter = await builtAt(coordinator);
          builds.add(builtBefore).add(builtAfter);
          if (builtAfter !== builtBefore)
            throw new Error(
              `the index was rebuilt during the measured requests (T=${threshold}, batch ${batch})`,
            );
          const p50 = median(times);
          const indexP50 = indexTimes.length === times.length ? median(indexTimes) : null;
          const row: Row = {
            size,
            data: "uniform+clustered",
            threshold,
            batch,
            requests: reps,
            msPerRequestP50: Number(p50.toFixed(1)),
            msPerQuery: Number((p50 / batch).toFixed(3)),
            indexMsPerRequestP50: indexP50,
            indexMsPerQuery: indexP50 === null ? null : Number((indexP50 / batch).toFixed(3)),
            recall: batch === 1000 ? (expected === 0 ? 1 : found / expected) : null,
            bruteForceMsPerQuery: batch === 1000 ? Number((bfMs / 1000).toFixed(3)) : null,
            speedupVsBruteForce: batch === 1000 ? Number((bfMs / 1000 / (p50 / batch)).toFixed(1)) : null,
          };
          if (batch === 1000) result[`hitsAtT${threshold}`] = expected;
          rows.push(row);
          log(
            `  T=${threshold} batch=${batch}: p50 ${row.msPerRequestP50} ms/request, ${row.msPerQuery} ms/query (index ${row.indexMsPerQuery ?? "?"} ms/query)${row.recall !== null ? `, recall ${row.recall}, brute force ${row.bruteForceMsPerQuery} ms/query (×${row.speedupVsBruteForce})` : ""}`,
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
    // Distinct index builds seen: the first, plus one after each idle spell long enough for local
    // workerd to evict the object (its idle timeout is 10 s; the brute-force runs are longer).
    result.indexBuilds = builds.size;
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
    results.push({ size, shards: Number(SHARDS), error: (e as Error).message.slice(0, 500) });
  }
}
const table = results.flatMap((r) => (r.rows as Row[]) ?? []);
console.log(
  "\nsize       T   batch  p50 ms/req  ms/query  index ms/query  recall  bf ms/query  request/bf speed-up  index/bf speed-up",
);
for (const r of table) {
  const indexVsBf =
    r.bruteForceMsPerQuery !== null && r.indexMsPerQuery
      ? (r.bruteForceMsPerQuery / r.indexMsPerQuery).toFixed(1)
      : "";
  console.log(
    `${String(r.size).padEnd(10)} ${String(r.threshold).padEnd(3)} ${String(r.batch).padEnd(6)} ${String(r.msPerRequestP50).padStart(10)} ${String(r.msPerQuery).padStart(9)} ${String(r.indexMsPerQuery ?? "").padStart(15)} ${String(r.recall ?? "").padStart(7)} ${String(r.bruteForceMsPerQuery ?? "").padStart(12)} ${String(r.speedupVsBruteForce ?? "").padStart(20)} ${indexVsBf.padStart(18)}`,
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
    `${r.size}: index ${(Number(r.memoryBytes) / 2 ** 20).toFixed(1)} MiB for ${r.entries} entries (${(Number(r.memoryBytes) / Number(r.entries)).toFixed(0)} B per entry; the 4 MiB of band offsets are fixed, so small sets cost more per entry), built in ${r.indexBuildSeconds} s${r.apiLoadHashesPerSecond ? `; API bulk load ${r.apiLoadHashesPerSecond} hashes/s` : ""}`,
  );
}
const out = path.resolve(import.meta.dirname, "results", "match.json");
writeFileSync(
  out,
  `${JSON.stringify({ generatedAt: new Date().toISOString(), machine: { cores: (await import("node:os")).cpus().length }, results }, null, 2)}\n`,
);
console.log(`\nwrote ${path.relative(process.cwd(), out)}`);
