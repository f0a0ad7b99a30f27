// `npm run bench:load`: a bounded load test of a real local node (wrangler dev on 127.0.0.1, local
// D1, the Durable Objects): `wrk` drives concurrent match batches while Node sends concurrent
// signed submissions; afterwards every accepted write is checked to be stored byte for byte and
// the audit trail to run 1..n without a gap.
//
//   npm run bench:load                                  # 20 s, wrk 2 threads × 8 connections
//   npm run bench:load -- --seconds 30 --connections 16 --writers 4 --batch 100
//   npm run bench:load -- --limits off                  # without the per-participant rate limiter
//
// Traffic goes only to 127.0.0.1. `wrk` is the Debian package (`apt-get install wrk`); the script
// installs it when it runs as root with apt, and otherwise says how. Numbers depend on the machine
// and on what else runs on it: report them with the core count and load average printed here.
import { spawn, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { EusnClient, signAccessToken, signWrite } from "@eusn/client";
import { MAX_TOKEN_LIFETIME_S, type WriteReceipt } from "@eusn/protocol";
import { secondSignature } from "../scripts/second-signature.ts";
import { flipBits, pdqItem, randomPdq, rng } from "../test/helpers/hashes.ts";
import type { LocalNode, startLocalNode as StartLocalNode } from "../test/helpers/local-node.ts";

const args = process.argv.slice(2);
const arg = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const SECONDS = Number(arg("seconds", "20"));
const THREADS = Number(arg("threads", "2"));
const CONNECTIONS = Number(arg("connections", "8"));
const WRITERS = Number(arg("writers", "4"));
const BATCH = Number(arg("batch", "100")); // hashes per match request
const ITEMS_PER_WRITE = Number(arg("items", "5")); // hashes per signed submission
const SEED_ENTRIES = Number(arg("seed", "5000"));
if (SECONDS > 120) throw new Error("--seconds is at most 120 (the wrk token lives at most 5 minutes)");

const log = (s: string) => process.stderr.write(`${s}\n`);

const ROOT = path.resolve(import.meta.dirname, "..");

/**
 * A copy of the working tree for the node to run from: `wrangler dev` rebuilds and restarts the
 * Worker whenever a source file changes, so an editor's autosave (or a colleague's edit on a
 * shared checkout) during the run would restart it mid-request and pollute the figures.
 * node_modules is linked, not copied; the workspace packages resolve to the copy.
 */
function snapshotTree(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "eusn-load-tree-"));
  for (const p of [
    "workers",
    "packages",
    "schema",
    "test/helpers",
    "wrangler.toml",
    "package.json",
    "tsconfig.json",
  ]) {
    cpSync(path.join(ROOT, p), path.join(dir, p), {
      recursive: true,
      filter: (src) => !src.slice(ROOT.length).includes(`${path.sep}node_modules`),
    });
  }
  mkdirSync(path.join(dir, "node_modules", "@eusn"), { recursive: true });
  for (const e of readdirSync(path.join(ROOT, "node_modules"))) {
    if (e !== "@eusn") symlinkSync(path.join(ROOT, "node_modules", e), path.join(dir, "node_modules", e));
  }
  for (const pkg of readdirSync(path.join(dir, "packages"))) {
    symlinkSync(path.join(dir, "packages", pkg), path.join(dir, "node_modules", "@eusn", pkg));
  }
  return dir;
}

function ensureWrk(): string {
  const found = spawnSync("sh", ["-c", "command -v wrk"], { encoding: "utf8" }).stdout.trim();
  if (found) return found;
  const root = process.getuid?.() === 0;
  const apt = spawnSync("sh", ["-c", "command -v apt-get"], { encoding: "utf8" }).stdout.trim();
  if (root && apt) {
    log("[bench] wrk not found; installing the Debian package (apt-get install -y wrk)…");
    let r = spawnSync("apt-get", ["install", "-y", "wrk"], { stdio: "inherit" });
    if (r.status !== 0) {
      spawnSync("apt-get", ["update"], { stdio: "inherit" });
      r = spawnSync("apt-get", ["install", "-y", "wrk"], { stdio: "inherit" });
    }
    const again = spawnSync("sh", ["-c", "command -v wrk"], { encoding: "utf8" }).stdout.trim();
    if (again) return again;
  }
  log(
    "[bench] this benchmark needs wrk (https://github.com/wg/wrk). Install it with\n" +
      "          sudo apt-get install wrk        (Debian/Ubuntu)\n" +
      "          brew install wrk                (macOS)\n" +
      "        and run `npm run bench:load` again.",
  );
  process.exit(2);
}

type Stats = { p50: number; p99: number; max: number; mean: number };
function stats(ms: number[]): Stats {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
  return {
    p50: at(0.5),
    p99: at(0.99),
    max: s[s.length - 1] ?? Number.NaN,
    mean: s.reduce((a, b) => a + b, 0) / (s.length || 1),
  };
}

const LUA = (token: string, body: string) => `
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer ${token}"
wrk.body = [==[${body}]==]
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  statuses = {}
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local parts = {}
  for _, t in ipairs(threads) do
    for code, n in pairs(t:get("statuses")) do
      parts[#parts + 1] = string.format('{"%d":%d}', code, n)
    end
  end
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f,"statuses":[%s]}\\n',
    summary.requests, summary.duration, summary.bytes,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    table.concat(parts, ",")))
end
`;

type WrkResult = {
  requests: number;
  duration_us: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  p50_us: number;
  p90_us: number;
  p99_us: number;
  max_us: number;
  mean_us: number;
  /** {status: count} per wrk thread (summed in the report). */
  statuses: Record<string, number>[];
};

async function runWrk(wrk: string, url: string, script: string): Promise<WrkResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      wrk,
      [
        `-t${THREADS}`,
        `-c${CONNECTIONS}`,
        `-d${SECONDS}s`,
        "--timeout",
        "30s",
        "--latency",
        "-s",
        script,
        url,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("error", reject);
    child.on("close", (code) => {
      const m = /WRK_JSON (\{.*\})/.exec(out);
      if (code !== 0 || !m) return reject(new Error(`wrk failed (${code}): ${out}`));
      resolve(JSON.parse(m[1]!) as WrkResult);
    });
  });
}

async function main() {
  const wrk = ensureWrk();
  // High enough that nothing is refused (the figures are the node's, not the limiter's
  // refusals); `--limits off` takes the limiter out of the path to see what it costs.
  const limits = arg("limits", "1000000/min");
  const tree = snapshotTree();
  // The helper from the copy, so the node it starts runs the copied sources.
  const { startLocalNode } = (await import(
    pathToFileURL(path.join(tree, "test/helpers/local-node.ts")).href
  )) as {
    startLocalNode: typeof StartLocalNode;
  };
  log(`[bench] starting a local node (wrangler dev on 127.0.0.1) from a snapshot of the tree in ${tree}…`);
  const node: LocalNode = await startLocalNode({
    nodeId: "eusn-bench-load",
    vars: {
      RATE_LIMIT_WRITE: limits,
      RATE_LIMIT_READ: limits,
      RATE_LIMIT_MATCH: limits,
      RATE_LIMIT_SIGNAL_LOOKUP: limits,
    },
  });
  if (new URL(node.baseUrl).hostname !== "127.0.0.1") throw new Error("the bench only talks to 127.0.0.1");
  const work = mkdtempSync(path.join(tmpdir(), "eusn-bench-load-"));
  try {
    const coordinator = new EusnClient({
      baseUrl: node.baseUrl,
      nodeId: node.nodeId,
      participantId: node.coordinator.participantId,
      privateJwk: node.coordinator.privateJwk,
    });
    const { generateParticipantKey } = await import("@eusn/client");
    async function admit(role: "authority" | "platform", memberState?: string) {
      const key = await generateParticipantKey();
      const res = await coordinator.write<WriteReceipt>("/v1/participants", "participant.admit", {
        role,
        ...(memberState ? { memberState } : {}),
        displayName: `bench ${role} ${memberState ?? ""}`.trim(),
        jwks: { keys: [key.publicJwk] },
      });
      if (!res.ok) throw new Error(JSON.stringify(res.problem));
      await secondSignature(coordinator, res.data);
      const id = res.data.subjectId;
      return {
        id,
        signer: { participantId: id, privateJwk: key.privateJwk },
        client: new EusnClient({
          baseUrl: node.baseUrl,
          nodeId: node.nodeId,
          participantId: id,
          privateJwk: key.privateJwk,
        }),
      };
    }
    const authorities = [await admit("authority", "NL"), await admit("authority", "DE")];
    const platform = await admit("platform");

    // Seed entries to match against (setup, not measured).
    const r = rng(2718);
    const seeded: string[] = [];
    for (let done = 0; done < SEED_ENTRIES; done += 1000) {
      const values = Array.from({ length: Math.min(1000, SEED_ENTRIES - done) }, () => randomPdq(r));
      const res = await authorities[0]!.client.write("/v1/submissions", "submission.create", {
        items: values.map((v) => pdqItem(v)),
      });
      if (!res.ok) throw new Error(JSON.stringify(res.problem));
      seeded.push(...values);
    }
    log(`[bench] seeded ${seeded.length} entries`);

    // One match batch: half near-duplicates of seeded entries (≤ 20 bits away), half random.
    const items = Array.from({ length: BATCH }, (_, i) => ({
      type: "pdq",
      value:
        i % 2 === 0
          ? flipBits(seeded[Math.floor(r() * seeded.length)]!, Math.floor(r() * 21), r)
          : randomPdq(r),
    }));
    const body = JSON.stringify({ scope: "all", threshold: 31, items });
    // Warm the index (first load from D1) outside the measured window.
    const warm = await platform.client.postJson("/v1/match", JSON.parse(body));
    if (!warm.ok) throw new Error(JSON.stringify(warm.problem));

    const token = await signAccessToken(platform.signer, node.nodeId, { lifetimeS: MAX_TOKEN_LIFETIME_S });
    const script = path.join(work, "match.lua");
    writeFileSync(script, LUA(token, body));

    // Concurrent signed submissions from Node for the same window.
    type Accepted = { recordId: string; auditSeq: number; jws: string; items: number };
    const accepted: Accepted[] = [];
    const writeLatencies: number[] = [];
    const writeErrors: Record<string, number> = {};
    const deadline = Date.now() + SECONDS * 1000;
    const writer = async (k: number) => {
      const a = authorities[k % authorities.length]!;
      const wr = rng(1000 + k);
      while (Date.now() < deadline) {
        const jws = await signWrite(a.signer, node.nodeId, "submission.create", {
          items: Array.from({ length: ITEMS_PER_WRITE }, () => pdqItem(randomPdq(wr))),
        });
        const t0 = performance.now();
        try {
          const res = await fetch(`${node.baseUrl}/v1/submissions`, {
            method: "POST",
            headers: { "content-type": "application/jose" },
            body: jws,
          });
          const text = await res.text();
          writeLatencies.push(performance.now() - t0);
          if (res.status === 201) {
            const b = JSON.parse(text) as { receipt: WriteReceipt };
            accepted.push({
              recordId: b.receipt.recordId,
              auditSeq: b.receipt.auditSeq,
              jws,
              items: ITEMS_PER_WRITE,
            });
          } else {
            let code = `HTTP ${res.status}`;
            try {
              code = `${res.status} ${(JSON.parse(text) as { code?: string }).code}`;
            } catch {
              // not a problem document (e.g. the dev server's own error page)
            }
            writeErrors[code] = (writeErrors[code] ?? 0) + 1;
          }
        } catch (e) {
          writeErrors[(e as Error).name] = (writeErrors[(e as Error).name] ?? 0) + 1;
        }
      }
    };
    log(
      `[bench] ${SECONDS} s: wrk ${THREADS} threads × ${CONNECTIONS} connections (POST /v1/match, ${BATCH} hashes) + ${WRITERS} writers (${ITEMS_PER_WRITE} hashes per signed submission)`,
    );
    const load = loadavg()[0]!;
    const t0 = Date.now();
    const [m] = await Promise.all([
      runWrk(wrk, `${node.baseUrl}/v1/match`, script),
      ...Array.from({ length: WRITERS }, (_, k) => writer(k)),
    ]);
    const elapsed = (Date.now() - t0) / 1000;
    const ws = stats(writeLatencies);

    // ---- verification ---------------------------------------------------------------------
    log("[bench] verifying every accepted write and the audit trail…");
    let missing = 0;
    let differing = 0;
    for (const a of accepted) {
      const res = await coordinator.get<string>(`/v1/records/${a.recordId}`, {
        headers: { accept: "application/jose" },
      });
      if (!res.ok) missing++;
      else if (res.data !== a.jws) differing++;
    }
    const entries: { seq: number; recordId: string }[] = [];
    for (let after = 0; ; ) {
      const page = await coordinator.get<{
        entries: { seq: number; recordId: string }[];
        next: number | null;
      }>(`/v1/audit?after=${after}&limit=1000`);
      if (!page.ok) throw new Error(JSON.stringify(page.problem));
      entries.push(...page.data.entries);
      if (page.data.next === null) break;
      after = page.data.next;
    }
    const gaps = entries.filter((e, i) => e.seq !== i + 1).length;
    const bySeq = new Map(entries.map((e) => [e.seq, e.recordId]));
    const unaudited = accepted.filter((a) => bySeq.get(a.auditSeq) !== a.recordId).length;
    const dupSeqs = accepted.length - new Set(accepted.map((a) => a.auditSeq)).size;

    // ---- report ---------------------------------------------------------------------------
    const matchErrors = m.connect + m.read + m.write + m.status + m.timeout;
    const secs = m.duration_us / 1e6;
    const report = {
      machine: { cpus: cpus().length, loadAverage1mAtStart: Number(load.toFixed(2)), node: process.version },
      window: { seconds: Number(elapsed.toFixed(1)) },
      match: {
        requests: m.requests,
        requestsPerSecond: Number((m.requests / secs).toFixed(1)),
        hashesPerSecond: Math.round((m.requests * BATCH) / secs),
        p50ms: m.p50_us / 1000,
        p99ms: m.p99_us / 1000,
        maxMs: m.max_us / 1000,
        errors: matchErrors,
        errorBreakdown: {
          connect: m.connect,
          read: m.read,
          write: m.write,
          non2xx: m.status,
          timeout: m.timeout,
        },
        statuses: m.statuses.reduce<Record<string, number>>((acc, one) => {
          for (const [k, v] of Object.entries(one)) acc[k] = (acc[k] ?? 0) + v;
          return acc;
        }, {}),
      },
      submissions: {
        accepted: accepted.length,
        hashesStored: accepted.reduce((n, a) => n + a.items, 0),
        writesPerSecond: Number((accepted.length / elapsed).toFixed(1)),
        p50ms: Number(ws.p50.toFixed(1)),
        p99ms: Number(ws.p99.toFixed(1)),
        errors: Object.values(writeErrors).reduce((a, b) => a + b, 0),
        errorBreakdown: writeErrors,
      },
      verification: {
        acceptedWritesMissing: missing,
        acceptedWritesNotByteForByte: differing,
        auditEntries: entries.length,
        auditGaps: gaps,
        acceptedWritesWithoutTheirAuditEntry: unaudited,
        duplicateAuditSeqs: dupSeqs,
      },
    };
    console.log(JSON.stringify(report, null, 2));
    const ok = missing === 0 && differing === 0 && gaps === 0 && unaudited === 0 && dupSeqs === 0;
    log(
      `\n[bench] match: ${report.match.requestsPerSecond} req/s (${report.match.hashesPerSecond} hashes/s), p50 ${report.match.p50ms} ms, p99 ${report.match.p99ms} ms, errors ${matchErrors} (statuses ${JSON.stringify(report.match.statuses)})` +
        `\n[bench] submissions: ${report.submissions.writesPerSecond} writes/s, p50 ${report.submissions.p50ms} ms, p99 ${report.submissions.p99ms} ms, errors ${report.submissions.errors} ${JSON.stringify(writeErrors)}` +
        `\n[bench] verification: ${accepted.length} accepted writes ${missing + differing === 0 ? "all present byte for byte" : `— ${missing} missing, ${differing} differ`}; audit ${entries.length} entries, ${gaps === 0 ? "gap-free" : `${gaps} gaps`}` +
        `\n[bench] ${cpus().length} cores, load average ${load.toFixed(2)} at start: numbers are this machine's, shared with whatever else runs on it.`,
    );
    if (!ok) process.exitCode = 1;
  } finally {
    rmSync(work, { recursive: true, force: true });
    await node.stop();
    rmSync(tree, { recursive: true, force: true });
  }
}

await main();
