// `npm run bench:video-match`: video matching measured from outside the Worker, against a real
// local node (wrangler dev, local D1, the MatchShard Durable Objects), side by side with a
// brute-force scorer over every stored video in the same run (the reference comparison, matchVpdq
// of @eusn/vpdq, applied to each stored video in turn), which is also the ground truth for recall.
//
//   npm run bench:video-match                          # 10,000 stored videos of 60-300 frames
//   npm run bench:video-match -- --videos 2000 --queries 40
//
// Stored videos are synthetic, in families with realistic near-duplicates: an original of random
// frames (a tenth below quality 50), re-encodes (each frame 2-10 bits flipped), recolours (12-20
// bits) and clips (a third of the original). Query videos of 30-600 frames are clips and
// re-encodes of family members, and unrelated videos. Printed: ms per query video (whole request,
// loopback HTTP included) by query length, and the node's CPU per query (workerd's, read from
// /proc around each length's queries); the brute-force scorer's ms and CPU ms per query on the
// same data in this process (every query frame against every stored frame, packed words prepared
// once; checked against matchVpdq), the ratios, where the node's time goes (its Server-Timing
// phases), recall and precision against the brute force, and the shards' memory per indexed
// frame hash (GET /v1/match/stats).
process.env.VSCODE_INSPECTOR_OPTIONS ??= "{}";

import { loadavg } from "node:os";
import { EusnClient, generateParticipantKey, submitHashes } from "@eusn/client";
import type { MatchResponse, SubmissionItem, VpdqFrame, WriteReceipt } from "@eusn/protocol";
import { vpdqDigest } from "@eusn/protocol";
import { matchVpdq } from "@eusn/vpdq";
import { secondSignature } from "../scripts/second-signature.ts";
import { type LocalNode, startLocalNode } from "../test/helpers/local-node.ts";

const args = process.argv.slice(2);
const arg = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const VIDEOS = Number(arg("videos", "10000"));
const QUERIES = Number(arg("queries", "60"));
const SHARDS = Number(arg("shards", "4"));
const log = (s: string) => process.stderr.write(`${s}\n`);

let seed = 12345;
const rnd = () => {
  seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) | 0;
  return ((seed ^ (seed >>> 13)) >>> 0) / 2 ** 32;
};
const hex = () => Array.from({ length: 64 }, () => "0123456789abcdef"[Math.floor(rnd() * 16)]).join("");
function flip(h: string, bits: number): string {
  const b = h.split("").map((c) => Number.parseInt(c, 16));
  const seen = new Set<number>();
  while (seen.size < bits) seen.add(Math.floor(rnd() * 256));
  for (const i of seen) b[i >> 2] = b[i >> 2]! ^ (1 << (i & 3));
  return b.map((x) => x.toString(16)).join("");
}
const video = (n: number): VpdqFrame[] =>
  Array.from({ length: n }, (_, i) => [i * 30, rnd() < 0.1 ? 20 : 90, hex(), i]);
const noisy = (v: VpdqFrame[], lo: number, hi: number): VpdqFrame[] =>
  v.map(([n, q, h, t]) => [n, q, flip(h, lo + Math.floor(rnd() * (hi - lo + 1))), t]);
const renumber = (v: VpdqFrame[]): VpdqFrame[] => v.map(([, q, h], i) => [i * 30, q, h, i]);

async function admit(node: LocalNode, role: "authority" | "platform", memberState?: string) {
  const coordinator = new EusnClient({ baseUrl: node.baseUrl, nodeId: node.nodeId, ...node.coordinator });
  const key = await generateParticipantKey();
  const res = await coordinator.write<WriteReceipt>("/v1/participants", "participant.admit", {
    role,
    ...(memberState ? { memberState } : {}),
    displayName: `bench ${role}`,
    jwks: { keys: [key.publicJwk] },
  });
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
  await secondSignature(coordinator, res.data);
  return {
    coordinator,
    client: new EusnClient({
      baseUrl: node.baseUrl,
      nodeId: node.nodeId,
      participantId: res.data.subjectId,
      privateJwk: key.privateJwk,
    }),
  };
}

/** A video's distinct frames of quality >= 50, 8 words each. */
function uniqueGood(v: VpdqFrame[]): Uint32Array {
  const seen = new Set<string>();
  const out: number[] = [];
  for (const [, q, h] of v) {
    if (q < 50 || seen.has(h)) continue;
    seen.add(h);
    for (let w = 0; w < 8; w++) out.push(Number.parseInt(h.slice(w * 8, w * 8 + 8), 16));
  }
  return Uint32Array.from(out);
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

/** The reference's query percentage at D = 31 by brute force: every query frame against every target frame. */
function queryPercent(q: Uint32Array, t: Uint32Array): number {
  const nq = q.length / 8;
  const nt = t.length / 8;
  if (nq === 0 || nt === 0) return 0;
  let matched = 0;
  for (let i = 0; i < nq; i++) {
    for (let j = 0; j < nt; j++) {
      let d = 0;
      for (let w = 0; w < 8 && d <= 31; w++) d += popcount((q[i * 8 + w]! ^ t[j * 8 + w]!) >>> 0);
      if (d <= 31) {
        matched++;
        break;
      }
    }
  }
  return (matched * 100) / nq;
}

/** The node's Server-Timing phases, `name;dur=ms` each. */
function serverTiming(headers: Headers): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of (headers.get("server-timing") ?? "").split(",")) {
    const m = /^\s*([a-z]+);dur=([\d.]+)\s*$/.exec(part);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

async function main() {
  // The stored videos, in families of 4: original, re-encode, recolour, clip.
  const stored: VpdqFrame[][] = [];
  const originals: VpdqFrame[][] = [];
  while (stored.length < VIDEOS) {
    const base = video(60 + Math.floor(rnd() * 241));
    originals.push(base);
    stored.push(
      base,
      noisy(base, 2, 10),
      noisy(base, 12, 20),
      renumber(base.slice(0, Math.ceil(base.length / 3))),
    );
  }
  stored.length = VIDEOS;
  const frames = stored.reduce((n, v) => n + v.length, 0);
  const queries: VpdqFrame[][] = [];
  const lengths = [30, 60, 120, 300, 600];
  for (let i = 0; i < QUERIES; i++) {
    const len = lengths[i % lengths.length]!;
    if (i % 3 === 2) queries.push(video(len));
    else {
      const o = originals[Math.floor(rnd() * originals.length)]!;
      const from = Math.floor(rnd() * Math.max(1, o.length - len));
      const clip = o.slice(from, from + len);
      while (clip.length < len) clip.push(...video(Math.min(len - clip.length, 30)));
      queries.push(renumber(noisy(clip, 0, 8)));
    }
  }
  log(
    `${VIDEOS.toLocaleString()} stored videos, ${frames.toLocaleString()} frame hashes; ${QUERIES} query videos`,
  );

  const node = await startLocalNode({
    vars: { MATCH_SHARDS: String(SHARDS), RATE_LIMIT_MATCH: "off", RATE_LIMIT_WRITE: "off" },
  });
  try {
    const { client: nl } = await admit(node, "authority", "NL");
    const { client: platform, coordinator } = await admit(node, "platform");
    const t0 = performance.now();
    const ids: string[] = [];
    for (let i = 0; i < stored.length; i += 10) {
      const items: SubmissionItem[] = [];
      for (const v of stored.slice(i, i + 10))
        items.push({
          signalType: "vpdq",
          value: await vpdqDigest(v),
          limbs: ["a"],
          contentType: "video",
          nationalProvision: "bench",
          force: true,
          video: { frameCount: v.length, durationSeconds: v.length, frames: v },
        });
      const res = await submitHashes(nl, items);
      if (!res.ok) throw new Error(JSON.stringify(res.problem));
      ids.push(...res.data.submissions.map((s) => s.id));
      if (i % 1000 === 0) log(`  stored ${i + items.length} videos`);
    }
    log(`stored in ${((performance.now() - t0) / 1000).toFixed(1)} s (setup, not measured)`);
    // Warm the shards (their build from D1 is not a query's cost).
    const tb = performance.now();
    await platform.match({ scope: "all", items: [{ type: "vpdq", frames: queries[0]! }] });
    log(`shards built in ${((performance.now() - tb) / 1000).toFixed(1)} s`);
    // The shards write their first snapshot a second after a build (match/shard.ts); a query
    // meeting that write would time the write. Wait for it, then warm once more.
    await new Promise((resolve) => setTimeout(resolve, 15_000));
    await platform.match({ scope: "all", items: [{ type: "vpdq", frames: queries[1] ?? queries[0]! }] });

    // The node's queries first, back to back and grouped by length, so that no shard sits idle
    // while this process runs the brute force (local workerd evicts a Durable Object idle for
    // 10 s, and the next query would time its reload from the snapshot). The node's CPU (workerd:
    // the Worker, the shards, local D1) is read around each group: per query, less sensitive to
    // the machine's load than wall time.
    type Row = {
      len: number;
      node: number;
      brute: number;
      bruteCpu: number;
      phases: Record<string, number>;
      got: Set<string>;
      q: VpdqFrame[];
    };
    const rows: Row[] = [];
    const nodeCpu = new Map<number, number>();
    for (const len of lengths) {
      const group = queries.filter((q) => q.length === len);
      if (group.length === 0) continue;
      const c0 = node.cpuMs().workerd;
      for (const q of group) {
        const t = performance.now();
        const res = await platform.match({ scope: "all", items: [{ type: "vpdq", frames: q }] });
        const ms = performance.now() - t;
        if (!res.ok) throw new Error(JSON.stringify(res.problem));
        const got = new Set(
          (res.data as MatchResponse).results[0]!.matches.filter((h) => h.kind === "video").map(
            (h) => h.submissionId,
          ),
        );
        rows.push({ len, node: ms, brute: 0, bruteCpu: 0, phases: serverTiming(res.headers), got, q });
      }
      nodeCpu.set(len, (node.cpuMs().workerd - c0) / group.length);
    }

    // The brute-force scorer's data, prepared once (not timed): each stored video's distinct
    // frames of quality >= 50 as packed words.
    const storedWords = stored.map(uniqueGood);
    let tp = 0;
    let fn = 0;
    let fp = 0;
    for (const row of rows) {
      const q = row.q;
      const tq = performance.now();
      const cq = process.cpuUsage();
      const qw = uniqueGood(q);
      const want = new Set<string>();
      storedWords.forEach((t, k) => {
        if (queryPercent(qw, t) >= 80 && qw.length > 0) want.add(ids[k]!);
      });
      row.brute = performance.now() - tq;
      const cpu = process.cpuUsage(cq);
      row.bruteCpu = (cpu.user + cpu.system) / 1000;
      // The brute force agrees with the reference comparison (checked on a few stored videos).
      for (const k of [0, 1, 2, 3]) {
        const ref = matchVpdq(
          q.map((f) => ({ quality: f[1], hash: f[2] as never })),
          stored[k]!.map((f) => ({ quality: f[1], hash: f[2] as never })),
        ).queryMatchPercent;
        if (Math.abs(ref - queryPercent(qw, storedWords[k]!)) > 1e-9)
          throw new Error("brute force disagrees");
      }
      for (const id of want)
        if (row.got.has(id)) tp++;
        else fn++;
      for (const id of row.got) if (!want.has(id)) fp++;
    }
    const stats = await coordinator.get<{ shards: { entries: number; memoryBytes: number }[] }>(
      "/v1/match/stats",
    );
    const entries = stats.ok ? stats.data.shards.reduce((n, s) => n + s.entries, 0) : 0;
    const memory = stats.ok ? stats.data.shards.reduce((n, s) => n + s.memoryBytes, 0) : 0;
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    console.log(
      `bench:video-match: ${VIDEOS.toLocaleString()} stored videos (${frames.toLocaleString()} frame hashes, ${entries.toLocaleString()} indexed distinct), ${SHARDS} shards, D = 31, Q = 50, query >= 80 %, load ${loadavg()[0]!.toFixed(1)}`,
    );
    console.log(
      "query frames  queries  node ms/query (median)  brute-force ms/query  brute / node  node CPU ms/query  brute CPU ms/query  brute / node CPU",
    );
    for (const len of lengths) {
      const rs = rows.filter((r) => r.len === len);
      if (rs.length === 0) continue;
      const n = median(rs.map((r) => r.node));
      const b = median(rs.map((r) => r.brute));
      const nc = nodeCpu.get(len)!;
      const bc = rs.reduce((x, r) => x + r.bruteCpu, 0) / rs.length;
      console.log(
        `${String(len).padStart(12)}  ${String(rs.length).padStart(7)}  ${n.toFixed(1).padStart(22)}  ${b.toFixed(1).padStart(20)}  ${(b / n).toFixed(1).padStart(12)}  ${nc.toFixed(1).padStart(17)}  ${bc.toFixed(1).padStart(18)}  ${(bc / nc).toFixed(1).padStart(16)}`,
      );
    }
    // Where a request's time goes, from the node's Server-Timing phases (ms, medians): the shard
    // calls (catch-up read and index), the metadata read, the candidates' frames read from D1 (when
    // the answer read any), the accounting write; "rest" is the whole request less those (auth,
    // parsing, scoring, JSON, loopback HTTP).
    console.log("query frames   index    meta  videos  account    rest");
    for (const len of lengths) {
      const rs = rows.filter((r) => r.len === len);
      if (rs.length === 0) continue;
      const ph = (k: string) => median(rs.map((r) => r.phases[k] ?? 0));
      const rest = median(
        rs.map(
          (r) =>
            r.node -
            (r.phases.index ?? 0) -
            (r.phases.meta ?? 0) -
            (r.phases.videos ?? 0) -
            (r.phases.account ?? 0),
        ),
      );
      console.log(
        `${String(len).padStart(12)}  ${[ph("index"), ph("meta"), ph("videos"), ph("account"), rest].map((x) => x.toFixed(0).padStart(6)).join("  ")}`,
      );
    }
    console.log(
      `recall ${tp + fn === 0 ? "n/a" : (tp / (tp + fn)).toFixed(3)} (${tp} of ${tp + fn} matches the brute force found), ${fp} answered that it did not`,
    );
    console.log(
      `shard memory: ${(memory / 1024 / 1024).toFixed(1)} MiB, ${entries ? (memory / entries).toFixed(1) : "n/a"} bytes per indexed entry`,
    );
  } finally {
    await node.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
