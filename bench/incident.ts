// `npm run bench:incident`: the crisis fast lane measured from outside the Worker, against a real
// local node (wrangler dev, local D1, the IncidentWatch and MatchShard Durable Objects).
//
//   npm run bench:incident                 # 200 provisional submissions, 50 through the normal flow
//   npm run bench:incident -- --n 50 --baseline-n 20
//
// For each of N provisional submissions, one at a time: t0 just before the authority signs its
// submission (one PDQ hash, tagged with an active incident); "follower": when a platform's
// follower, holding a long-poll on GET /v1/incidents/{id}/hashes?wait=25 the whole time, has the
// hash; "match": when a platform's POST /v1/match (scope baseline), sent as soon as the submission
// is answered and repeated until it answers the hash, has answered it. Beside it, the same hash's
// way through the normal baseline flow (submission, a second member state's concurrence, the
// coordinator's inclusion citing it, then the platform's match): what the incident saves.
// Prints median and p99 of each and writes bench/results/incident.json (or --out FILE).
import { writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import path from "node:path";
import { declareIncident, EusnClient, generateParticipantKey, incidentHashes } from "@eusn/client";
import type { SubmitResult, WriteReceipt } from "@eusn/protocol";
import { secondSignature } from "../scripts/second-signature.ts";
import { type LocalNode, startLocalNode } from "../test/helpers/local-node.ts";

const args = process.argv.slice(2);
const arg = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const N = Number(arg("n", "200"));
const BASELINE_N = Number(arg("baseline-n", "50"));
const OUT = arg("out", path.resolve(import.meta.dirname, "results", "incident.json"));
const log = (s: string) => process.stderr.write(`${s}\n`);

async function admit(node: LocalNode, role: "authority" | "platform", memberState?: string) {
  const coordinator = new EusnClient({ baseUrl: node.baseUrl, nodeId: node.nodeId, ...node.coordinator });
  const key = await generateParticipantKey();
  const res = await coordinator.write<WriteReceipt>("/v1/participants", "participant.admit", {
    role,
    ...(memberState ? { memberState } : {}),
    displayName: `bench ${role} ${memberState ?? ""}`.trim(),
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

function pdq(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, "0")).join(
    "",
  );
}
const item = (value: string) => ({
  signalType: "pdq" as const,
  value,
  quality: 90,
  limbs: ["a" as const],
  contentType: "image" as const,
  nationalProvision: "NL Sr. art. 131",
});

function stats(ms: number[]) {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
  return {
    n: s.length,
    medianMs: Math.round(at(0.5)),
    p99Ms: Math.round(at(0.99)),
    maxMs: Math.round(s[s.length - 1]!),
  };
}

/** Matches `value` (scope baseline) until the node answers it; the time it was answered. */
async function matchedAt(platform: EusnClient, value: string, deadline: number): Promise<number> {
  while (Date.now() < deadline) {
    const res = await platform.match({ scope: "baseline", items: [{ type: "pdq", value }] } as never);
    if (!res.ok) throw new Error(`match: ${JSON.stringify(res.problem)}`);
    if (res.data.results[0]!.matches.some((m) => m.value === value)) return performance.now();
  }
  throw new Error(`${value} never matched`);
}

async function main() {
  log("starting a local node…");
  const node = await startLocalNode();
  try {
    const coordinator = new EusnClient({ baseUrl: node.baseUrl, nodeId: node.nodeId, ...node.coordinator });
    const nl = await admit(node, "authority", "NL");
    const de = await admit(node, "authority", "DE");
    const platform = await admit(node, "platform");
    const follower = await admit(node, "platform");
    const now = Date.now();
    const inc = await declareIncident(coordinator, {
      title: "bench incident",
      description: "bench:incident",
      requestedBy: ["NL"],
      startsAt: new Date(now - 1000).toISOString(),
      endsAt: new Date(now + 72 * 3600_000 - 2000).toISOString(),
    });
    if (!inc.ok) throw new Error(JSON.stringify(inc.problem));
    const incidentId = inc.data.incident.id;

    // The follower: one long-poll after another for the whole run, noting when each hash arrives.
    const arrived = new Map<string, number>();
    const waiting = new Map<string, () => void>();
    let stop = false;
    const following = (async () => {
      let after = 0;
      while (!stop) {
        const res = await incidentHashes(follower, incidentId, after, 25);
        if (!res.ok) throw new Error(`follow: ${JSON.stringify(res.problem)}`);
        const t = performance.now();
        for (const c of res.data.changes) {
          if (c.op !== "add" || arrived.has(c.value)) continue;
          arrived.set(c.value, t);
          waiting.get(c.value)?.();
        }
        after = res.data.next;
      }
    })();
    const followerHas = (value: string) =>
      arrived.has(value) ? Promise.resolve() : new Promise<void>((resolve) => waiting.set(value, resolve));

    const toFollower: number[] = [];
    const toMatch: number[] = [];
    const load = loadavg()[0]!;
    log(`${N} provisional submissions…`);
    for (let i = 0; i < N; i++) {
      const value = pdq();
      const t0 = performance.now();
      const res = await nl.write<SubmitResult>("/v1/submissions", "submission.create", {
        incidentId,
        items: [item(value)],
      });
      if (!res.ok) throw new Error(`submit: ${JSON.stringify(res.problem)}`);
      const [m] = await Promise.all([matchedAt(platform, value, Date.now() + 30_000), followerHas(value)]);
      toMatch.push(m - t0);
      toFollower.push(arrived.get(value)! - t0);
      if ((i + 1) % 50 === 0) log(`  ${i + 1}/${N}`);
    }

    log(`${BASELINE_N} through the normal baseline flow (submit, concur, include, match)…`);
    const normal: number[] = [];
    for (let i = 0; i < BASELINE_N; i++) {
      const value = pdq();
      const t0 = performance.now();
      const sub = await nl.write<SubmitResult>("/v1/submissions", "submission.create", {
        items: [item(value)],
      });
      if (!sub.ok) throw new Error(`submit: ${JSON.stringify(sub.problem)}`);
      const id = sub.data.submissions[0]!.id;
      const concur = await de.write<WriteReceipt>(`/v1/submissions/${id}/assessments`, "assessment.create", {
        submissionId: id,
        verdict: "concur",
        limb: "a",
      });
      if (!concur.ok) throw new Error(`concur: ${JSON.stringify(concur.problem)}`);
      const dec = await coordinator.write(`/v1/submissions/${id}/decisions`, "baseline.decide", {
        submissionId: id,
        decision: "include",
        reason: "bench: two member states concur",
        assessmentIds: [concur.data.subjectId],
      });
      if (!dec.ok) throw new Error(`include: ${JSON.stringify(dec.problem)}`);
      normal.push((await matchedAt(platform, value, Date.now() + 30_000)) - t0);
    }
    stop = true;
    // The held long-poll ends at its timeout at the latest.
    await Promise.race([following, new Promise((r) => setTimeout(r, 26_000))]);

    const result = {
      when: new Date().toISOString(),
      machine: { cpus: cpus().length, load1AtStart: Number(load.toFixed(2)) },
      provisional: { toFollower: stats(toFollower), toMatch: stats(toMatch) },
      normalBaselineFlow: {
        note: "the automated minimum: submission, one concurrence, the inclusion, then a match; in practice the assessments and the decision are human steps that take hours or days",
        toMatch: stats(normal),
      },
      targetFollowerMedianMs: 1000,
    };
    const row = (name: string, s: { n: number; medianMs: number; p99Ms: number }) =>
      `${name.padEnd(52)} ${String(s.n).padStart(4)} ${String(s.medianMs).padStart(8)} ${String(s.p99Ms).padStart(8)}`;
    process.stdout.write(
      [
        `${"".padEnd(52)} ${"n".padStart(4)} ${"median".padStart(8)} ${"p99 ms".padStart(8)}`,
        row("provisional: signed submission → follower has it", result.provisional.toFollower),
        row("provisional: signed submission → match answers it", result.provisional.toMatch),
        row("normal flow: submit+concur+include → match answers", result.normalBaselineFlow.toMatch),
        `target: ≤ 1000 ms median to the follower: ${result.provisional.toFollower.medianMs <= 1000 ? "met" : "not met"}`,
        "",
      ].join("\n"),
    );
    writeFileSync(OUT, `${JSON.stringify(result, null, 2)}\n`);
    log(`wrote ${path.relative(process.cwd(), OUT)}`);
  } finally {
    await node.stop();
  }
}

await main();
process.exit(0);
