// `npm run bench:federation`: does federation converge under churn, and how fast once healed?
// Three real local nodes (wrangler dev on 127.0.0.1, each a full peer of the other two through
// relays the bench cuts and restores; scripts/federation/), authorities homed on different nodes,
// then N minutes of random concurrent activity — submissions, assessments, inclusions,
// exclusions, retirements, withdrawals, reversals, admissions, revocations and key rotations,
// signed on a participant's home node or on another — while the network is partitioned in
// changing ways, pulls run partially (FEDERATION_PULL_LIMIT, pulls broken in the middle by the
// relay) and one node is killed and restarted in the middle of a pull. Then every link is
// restored and each node's coordinator pulls (POST /v1/federation/pull, the three at once) round
// after round until a round moves nothing.
//
//   npm run bench:federation                        # 2 minutes, seed 1
//   npm run bench:federation -- --minutes 5 --seed 7
//   BENCH_MINUTES=1 npm run bench:federation
//   options: --actors 3 (concurrent writers)  --pull-limit 100  --quorum 3
//            --restart puller|peer|none (which side of the pull is killed)  --max-requests 20000
//
// Prints records per node, divergences by kind (entry status, baseline state, tallies, the
// baseline, the records set, the registry: must all be 0), what is pending at the end (must be
// 0), and the seconds from the last heal to identical state (target: 5). Exits 1 on a
// divergence, on anything pending, or when the nodes do not go quiet. Writes
// bench/results/federation.json. The choices are drawn from seeded generators, one per loop; what
// they meet depends on timing, so two runs with one seed are alike, not identical. Traffic goes
// only to 127.0.0.1. Figures depend on the machine and what else runs on it: report them with the
// core count and load averages printed here.
import { writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import path from "node:path";
import { generateParticipantKey, type KeyPair } from "@eusn/client";
import type { PullReport, SubmitResult, WriteReceipt } from "@eusn/protocol";
import { LocalNet, requests } from "../scripts/federation/local-net.ts";
import {
  type Comparison,
  collectState,
  compareStates,
  describeDivergences,
  type NodeState,
} from "../scripts/federation/state.ts";
import { secondSignature } from "../scripts/second-signature.ts";
import { pdqItem, randomPdq, rng } from "../test/helpers/hashes.ts";

const args = process.argv.slice(2);
const arg = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const MINUTES = Number(arg("minutes", process.env.BENCH_MINUTES ?? "2"));
const SEED = Number(arg("seed", process.env.BENCH_SEED ?? "1"));
const ACTORS = Number(arg("actors", "3"));
const PULL_LIMIT = arg("pull-limit", "100");
const QUORUM = arg("quorum", "3");
const RESTART = arg("restart", "puller") as "puller" | "peer" | "none";
const MAX_REQUESTS = Number(arg("max-requests", "20000"));
const TARGET_S = 5;
if (!(MINUTES > 0 && MINUTES <= 30)) throw new Error("--minutes must be in (0, 30]");
if (!["puller", "peer", "none"].includes(RESTART)) throw new Error("--restart is puller, peer or none");
/**
 * Startup under load, the activity, the heal (a stale pull lease may hold a link for 120 s; a
 * pull of a long backlog on a busy machine takes minutes).
 */
const HARD_LIMIT_S = MINUTES * 60 + 2400;

const t0 = Date.now();
const since = (t: number) => (Date.now() - t) / 1000;
const log = (s: string) => process.stdout.write(`[${since(t0).toFixed(1).padStart(6)} s] ${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- the world as the participants know it -------------------------------------------------

type Authority = {
  id: string;
  ms: string;
  home: number;
  /** Every key it ever had, oldest first; `current` signs unless a stale key is picked on purpose. */
  keys: KeyPair[];
  current: KeyPair;
  revoked: boolean;
};
/** An entry as the writers know it: the node it was submitted on, the concurrences they saw accepted. */
type Entry = { id: string; submitter: Authority; origin: number; concur: Map<string, string> };

const authorities: Authority[] = [];
const entries: Entry[] = [];

type OpStats = { sent: number; accepted: number; refused: Record<string, number>; failed: number };
const ops: Record<string, OpStats> = {};
function count(
  kind: string,
  r:
    | { ok: boolean; status?: number; problem?: { code: string; requestId?: string; detail?: string } }
    | Error,
) {
  ops[kind] ??= { sent: 0, accepted: 0, refused: {}, failed: 0 };
  const s = ops[kind]!;
  s.sent++;
  if (r instanceof Error) s.failed++;
  else if (r.ok) s.accepted++;
  else {
    const code = r.problem?.code ?? String(r.status);
    s.refused[code] = (s.refused[code] ?? 0) + 1;
    if (code === "internal_error")
      internalErrors.push({
        kind,
        at: since(t0),
        status: r.status ?? 0,
        requestId: r.problem?.requestId ?? "",
        detail: (r.problem?.detail ?? "").slice(0, 200),
      });
  }
}
/** Requests the node answered 500 to, by request id (the node logs the cause under it). */
const internalErrors: { kind: string; at: number; status: number; requestId: string; detail: string }[] = [];
const pulls = {
  ok: 0,
  error: 0,
  in_progress: 0,
  refused: 0,
  forked: 0,
  failed: 0,
  more: 0,
  held: 0,
  released: 0,
};
function countPulls(reports: PullReport[]) {
  for (const r of reports) {
    pulls[r.status]++;
    if (r.more) pulls.more++;
    pulls.held += r.pending;
    pulls.released += r.released;
  }
}

const MEMBER_STATES = ["NL", "BE", "DE", "AT", "PL", "FR", "IT", "ES", "SE", "FI", "DK", "IE", "PT", "CZ"];

async function main() {
  const net = await LocalNet.create({
    labels: ["A", "B", "C"],
    ids: ["eusn-bench-a", "eusn-bench-b", "eusn-bench-c"],
    vars: { BASELINE_MIN_STATES: QUORUM, FEDERATION_PULL_LIMIT: PULL_LIMIT },
    prefix: "eusn-federation-bench-",
  });
  const hard = setTimeout(() => {
    process.stderr.write(`bench: gave up after ${HARD_LIMIT_S} s\n`);
    net.closeNow();
    process.exit(1);
  }, HARD_LIMIT_S * 1000);
  process.on("SIGINT", () => {
    net.closeNow();
    process.exit(130);
  });
  const load0 = loadavg();
  let exit = 0;
  try {
    log(
      `three nodes, ${MINUTES} min of activity, seed ${SEED}, ${ACTORS} writers, pull limit ${PULL_LIMIT}, quorum ${QUORUM}, restart ${RESTART}; ${cpus().length} cores, load ${load0.map((l) => l.toFixed(2)).join(" ")}`,
    );
    await net.start({ progress: (what) => log(what) });
    exit = await run(net, load0);
  } catch (e) {
    process.stderr.write(`\nbench failed: ${(e as Error).stack ?? e}\n`);
    process.stderr.write(
      `\nwhat the nodes and relays say now:\n${(await net.diagnose()).map((l) => `  ${l}`).join("\n")}\n`,
    );
    for (const nd of net.nodes)
      process.stderr.write(
        `\n--- node ${nd.label} (${nd.base}), started ${nd.starts} time(s), last lines:\n${nd.log.slice(-25).join("\n")}\n`,
      );
    exit = 1;
  } finally {
    clearTimeout(hard);
    await net.close();
  }
  process.exit(exit);
}

function pick<T>(r: () => number, xs: T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

async function run(net: LocalNet, load0: number[]): Promise<number> {
  const n = net.nodes.length;
  const coord = (i: number) => net.nodes[i]!.coordinator;
  const clientOf = (a: Authority, node: number, key = a.current) => net.client(node, a.id, key.privateJwk);

  async function admit(home: number, ms: string): Promise<Authority | undefined> {
    const key = await generateParticipantKey();
    const r = await coord(home)
      .write<WriteReceipt>("/v1/participants", "participant.admit", {
        role: "authority",
        memberState: ms,
        displayName: `Authority ${ms} on ${net.nodes[home]!.label}`,
        jwks: { keys: [key.publicJwk] },
      })
      .catch((e: Error) => e);
    count("admit", r);
    if (r instanceof Error || !r.ok) return undefined;
    // An authority's admission takes effect with a second coordinator's signature.
    await secondSignature(coord(home), r.data);
    const a: Authority = { id: r.data.subjectId, ms, home, keys: [key], current: key, revoked: false };
    authorities.push(a);
    return a;
  }

  // Authorities homed on different nodes.
  for (const [ms, home] of [
    ["NL", 0],
    ["BE", 0],
    ["DE", 1],
    ["AT", 1],
    ["PL", 1],
    ["FR", 2],
    ["IT", 2],
    ["ES", 2],
  ] as const) {
    if (!(await admit(home, ms))) throw new Error(`could not admit ${ms}`);
  }
  const seeded = await net.heal();
  log(
    `${authorities.length} authorities admitted on their home nodes; every node knows them (${seeded.rounds} pull rounds)`,
  );

  const activityEnd = Date.now() + MINUTES * 60_000;
  let running = true;
  const active = () => running && Date.now() < activityEnd && requests.count < MAX_REQUESTS;
  let chaosPaused = false;
  const timeline: string[] = [];
  const mark = (s: string) => {
    timeline.push(`${since(t0).toFixed(1)} s ${s}`);
    log(s);
  };

  // One writer: draws an operation and a participant, signs it on the participant's home node
  // (mostly) or another node, with its current key (mostly) or an older one.
  async function writer(w: number) {
    const r = rng(SEED * 1000 + w);
    while (active()) {
      const live = authorities.filter((a) => !a.revoked);
      const a = pick(r, live.length ? live : authorities);
      const node = r() < 0.8 ? a.home : Math.floor(r() * n);
      const key = r() < 0.1 ? pick(r, a.keys) : a.current;
      const x = r();
      const recent = entries.slice(-40);
      const e = recent.length ? pick(r, recent) : undefined;
      const c = coord(Math.floor(r() * n));
      try {
        if (x < 0.22 || !e) {
          const res = await clientOf(a, node, key).write<SubmitResult>(
            "/v1/submissions",
            "submission.create",
            {
              items: Array.from({ length: 1 + Math.floor(r() * 2) }, () => pdqItem(randomPdq(r))),
            },
          );
          count("submit", res);
          if (res.ok)
            for (const s of res.data.submissions)
              entries.push({ id: s.id, submitter: a, origin: node, concur: new Map() });
        } else if (x < 0.6) {
          const verdict = r() < 0.82 ? "concur" : "dissent";
          // Half the assessments go to the node the entry was submitted on, which surely has it.
          const res = await clientOf(a, r() < 0.5 ? e.origin : node, key).write<WriteReceipt>(
            `/v1/submissions/${e.id}/assessments`,
            "assessment.create",
            {
              submissionId: e.id,
              verdict,
              limb: "a",
              ...(verdict === "dissent" ? { reason: "not terrorist content here" } : {}),
            },
          );
          count(`assess (${verdict})`, res);
          if (res.ok) {
            if (verdict === "concur") e.concur.set(a.id, res.data.subjectId);
            else e.concur.delete(a.id);
          }
        } else if (x < 0.72) {
          // An inclusion of an entry the writers saw reach the quorum (the node decides).
          const ready = recent.filter((x) => x.concur.size + 1 >= Number(QUORUM));
          const target = ready.length ? pick(r, ready) : e;
          const res = await (r() < 0.5 ? coord(target.origin) : c).write<WriteReceipt>(
            `/v1/submissions/${target.id}/decisions`,
            "baseline.decide",
            {
              submissionId: target.id,
              decision: "include",
              reason: "the concurring member states reach the quorum",
              assessmentIds: [...target.concur.values()],
            },
          );
          count("include", res);
        } else if (x < 0.77) {
          const decision = r() < 0.5 ? "exclude" : "retire";
          const res = await c.write<WriteReceipt>(`/v1/submissions/${e.id}/decisions`, "baseline.decide", {
            submissionId: e.id,
            decision,
            reason: `${decision} after review`,
            assessmentIds: [],
          });
          count(decision, res);
        } else if (x < 0.82) {
          const s = e.submitter;
          const res = await clientOf(s, r() < 0.8 ? s.home : Math.floor(r() * n)).write<WriteReceipt>(
            `/v1/submissions/${e.id}/withdraw`,
            "submission.withdraw",
            { submissionId: e.id, reason: "withdrawn by the submitting authority" },
          );
          count("withdraw", res);
        } else if (x < 0.86) {
          const res = await c.write<WriteReceipt>(`/v1/submissions/${e.id}/reverse`, "submission.reverse", {
            submissionId: e.id,
            ground: "complaint_upheld",
            reason: "a complaint was upheld",
          });
          count("reverse", res);
        } else if (x < 0.93) {
          await rotate(a, node, r);
        } else if (x < 0.96) {
          // Revocations stay rare; a replacement authority keeps the quorum reachable.
          if (authorities.filter((p) => !p.revoked).length > 6) {
            const res = await c.write<WriteReceipt>(`/v1/participants/${a.id}/revoke`, "participant.revoke", {
              participantId: a.id,
              reason: "revoked during the bench",
            });
            count("revoke", res);
            if (res.ok) await secondSignature(c, res.data);
            if (res.ok) a.revoked = true;
          }
        } else {
          if (authorities.length < 20) await admit(Math.floor(r() * n), pick(r, MEMBER_STATES));
        }
      } catch (err) {
        count("transport", err as Error);
      }
      await sleep(20 + r() * 200);
    }
  }

  // Key rotation: add a new key (signed with the current one) on one node, retire the old one
  // (signed with the new key) on the same node or another, which may not have the new key yet.
  async function rotate(a: Authority, node: number, r: () => number) {
    const next = await generateParticipantKey();
    const add = await clientOf(a, node).write<WriteReceipt>(
      `/v1/participants/${a.id}/keys`,
      "participant.key.add",
      {
        participantId: a.id,
        jwk: next.publicJwk,
      },
    );
    count("key add", add);
    if (!add.ok) return;
    const old = a.current;
    a.keys.push(next);
    a.current = next;
    const where = r() < 0.7 ? node : Math.floor(r() * n);
    const retire = await clientOf(a, where, next).write<WriteReceipt>(
      `/v1/participants/${a.id}/keys/retire`,
      "participant.key.retire",
      { participantId: a.id, kid: old.kid, reason: "rotation" },
    );
    count("key retire", retire);
  }

  // Pulls as each node's cron would run them, at random moments: all peers or one; some broken in
  // the middle.
  async function puller(to: number) {
    const r = rng(SEED * 1000 + 500 + to);
    while (active()) {
      await sleep(500 + r() * 2000);
      if (!active()) break;
      const from = (to + 1 + Math.floor(r() * (n - 1))) % n;
      if (r() < 0.2) {
        // The peer's answers break after the checkpoint: the entries page, or the proof that ties
        // it to the checkpoint (the second consistency request of the pull).
        const relay = net.mesh.relay(to, from);
        if (r() < 0.5) relay.breakAfter("/v1/log/entries", 0);
        else relay.breakAfter("/v1/log/consistency", 1);
      }
      try {
        countPulls(await net.pull(to, r() < 0.5 ? from : undefined));
      } catch {
        pulls.failed++;
      }
    }
  }

  // Partitions: every 8-20 s another shape — whole, one node cut off, one or two links cut.
  async function chaos() {
    const r = rng(SEED * 1000 + 900);
    while (active()) {
      await sleep(8000 + r() * 12000);
      if (!active()) break;
      if (chaosPaused) continue;
      net.mesh.heal();
      const shape = Math.floor(r() * 4);
      if (shape === 1) {
        const lone = Math.floor(r() * n);
        for (let o = 0; o < n; o++) if (o !== lone) net.mesh.partition(lone, o);
      } else if (shape >= 2) {
        for (let k = 0; k < shape - 1; k++) {
          const a = Math.floor(r() * n);
          net.mesh.partition(a, (a + 1 + Math.floor(r() * (n - 1))) % n);
        }
      }
      mark(`links cut: ${net.mesh.cutLinks().join(" ") || "none"}`);
    }
  }

  // A node killed in the middle of a pull and started again on its persisted state.
  let restartNote = "none";
  async function restartMidPull() {
    const r = rng(SEED * 1000 + 700);
    await sleep(MINUTES * 60_000 * 0.4);
    if (!active() || RESTART === "none") return;
    chaosPaused = true;
    const x = Math.floor(r() * n);
    const y = (x + 1 + Math.floor(r() * (n - 1))) % n;
    const [X, Y] = [net.nodes[x]!.label, net.nodes[y]!.label];
    net.mesh.heal();
    net.mesh.partition(x, y);
    mark(`restart: ${X} cut from ${Y} for 8 s so that ${Y} has entries ${X} has not pulled`);
    await sleep(8000);
    net.mesh.partition(x, y, false);
    const relay = net.mesh.relay(x, y);
    // Ask X to pull Y until a pull gets an entries page (another pull may hold the peer, or have
    // taken the backlog already); then X is applying that page, one entry per D1 batch.
    let pull: Promise<PullReport[] | Error> | undefined;
    const giveUp = Date.now() + 60_000;
    while (Date.now() < giveUp) {
      relay.clearBreaks();
      const served = relay.next("/v1/log/entries", 60_000).then(
        () => "served" as const,
        () => "timeout" as const,
      );
      const p = net.pull(x, y).then(
        (reports) => reports,
        (e: Error) => e,
      );
      const first = await Promise.race([served, p.then(() => "done" as const)]);
      if (first === "served") {
        pull = p;
        break;
      }
      await sleep(1000);
    }
    if (!pull) {
      restartNote = `${X} pulling ${Y}: no entries page was served within 60 s; nothing to interrupt`;
      mark(restartNote);
      chaosPaused = false;
      return;
    }
    await sleep(150); // the page is being applied now, one entry per D1 batch
    const victim = RESTART === "puller" ? x : y;
    const killedAt = Date.now();
    mark(
      `restart: ${X} got an entries page from ${Y}; killing ${net.nodes[victim]!.label} (SIGKILL) mid-pull`,
    );
    await net.restart(victim);
    const outcome = await pull;
    restartNote = `${net.nodes[victim]!.label} killed while ${X} was applying a page of ${Y}'s log; back after ${since(killedAt).toFixed(1)} s; the interrupted pull: ${outcome instanceof Error ? outcome.message.slice(0, 120) : outcome.map((p) => `${p.status}${p.reason ? ` (${p.reason.slice(0, 80)})` : ""}`).join(", ")}`;
    mark(`restart: ${restartNote}`);
    // What the next pull of that link says right after the restart.
    const after = await net.pull(x, y).catch((e: Error) => e);
    const afterNote =
      after instanceof Error
        ? after.message
        : after.map((p) => `${p.status} ${p.from} → ${p.to}${p.reason ? ` (${p.reason})` : ""}`).join(", ");
    mark(`restart: the next pull of ${Y} by ${X}: ${afterNote}`);
    restartNote += `; the next pull: ${afterNote}`;
    chaosPaused = false;
  }

  log(`activity for ${MINUTES} min: ${ACTORS} writers, a puller per node, partitions, a restart mid-pull`);
  const progress = setInterval(() => {
    const accepted = Object.values(ops).reduce((s, o) => s + o.accepted, 0);
    log(
      `  ${entries.length} entries, ${accepted} writes accepted, ${requests.count} requests, pulls ok ${pulls.ok} / error ${pulls.error} / in progress ${pulls.in_progress}; cut: ${net.mesh.cutLinks().join(" ") || "none"}`,
    );
  }, 15_000);
  await Promise.all([
    ...Array.from({ length: ACTORS }, (_, w) => writer(w)),
    ...net.nodes.map((_, i) => puller(i)),
    chaos(),
    restartMidPull(),
  ]);
  running = false;
  clearInterval(progress);
  const activitySeconds = MINUTES * 60;
  log(`activity over (${requests.count} requests so far)`);

  // ---- the heal ----------------------------------------------------------------------------
  // What each node has still to consume of each peer's log: the heal's work.
  const sizes = await Promise.all(
    net.nodes.map(async (_, j) => {
      const r = await coord(j).get<{ treeSize: number }>("/v1/log/entries?start=0&limit=1");
      if (!r.ok) throw new Error(`log size of ${net.nodes[j]!.label}: ${r.status}`);
      return r.data.treeSize;
    }),
  );
  const backlog: Record<string, number> = {};
  for (const [i, nd] of net.nodes.entries()) {
    const r = await coord(i).get<{ peers: { nodeId: string; nextIndex: number }[] }>("/v1/federation/peers");
    if (!r.ok) throw new Error(`peers of ${nd.label}: ${r.status}`);
    for (const p of r.data.peers) {
      const j = net.nodes.findIndex((o) => o.id === p.nodeId);
      backlog[`${nd.label}←${net.nodes[j]!.label}`] = sizes[j]! - p.nextIndex;
    }
  }
  const backlogTotal = Object.values(backlog).reduce((a, b) => a + b, 0);
  log(
    `logs: ${net.nodes.map((nd, j) => `${nd.label} ${sizes[j]}`).join(", ")}; not yet pulled: ${Object.entries(
      backlog,
    )
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")} (${backlogTotal} entries)`,
  );
  net.mesh.heal();
  for (const relay of net.mesh.all()) relay.clearBreaks();
  const healStart = Date.now();
  mark("heal: every link restored; pull rounds by each node's coordinator until a round moves nothing");
  let pullSeconds = 0;
  let identicalPullSeconds: number | null = null;
  let identicalWallSeconds: number | null = null;
  let quietRounds = 0;
  let last: Comparison | undefined;
  let states: NodeState[] = [];
  const inProgressRounds: number[] = [];
  let consumed = 0;
  const healDeadline = Date.now() + 1_200_000;
  for (let round = 1; ; round++) {
    if (Date.now() > healDeadline) throw new Error("the nodes did not go quiet within 1200 s of the heal");
    const started = Date.now();
    const reports = await Promise.all(net.nodes.map((_, i) => net.pull(i)));
    const roundSeconds = since(started);
    pullSeconds += roundSeconds;
    let moved = 0;
    let allOk = true;
    for (const rs of reports)
      for (const p of rs) {
        moved += p.to - p.from + p.released;
        consumed += p.to - p.from;
        if (p.status !== "ok") allOk = false;
        if (p.status === "in_progress") inProgressRounds.push(round);
      }
    states = await Promise.all(net.nodes.map((nd, i) => collectState(coord(i), nd.label)));
    last = compareStates(states);
    const pendingNow = states.reduce((s, st) => s + st.pending, 0);
    log(
      `  round ${round} (${roundSeconds.toFixed(1)} s): moved ${moved}${
        allOk
          ? ""
          : ` (${reports
              .flatMap((rs, i) => rs.map((p) => ({ p, by: net.nodes[i]!.label })))
              .filter(({ p }) => p.status !== "ok")
              .map(({ p, by }) => `${by} pulling ${p.peer}: ${p.status}`)
              .join(", ")})`
      }; ${last.divergences.length} divergences, ${pendingNow} pending`,
    );
    if (last.identical && pendingNow === 0 && identicalPullSeconds === null) {
      identicalPullSeconds = pullSeconds;
      identicalWallSeconds = since(healStart);
    }
    if (moved === 0 && allOk) {
      quietRounds = round;
      break;
    }
  }
  const quietSeconds = since(healStart);
  const final = last!;
  const pendingEnd = Object.fromEntries(states.map((s) => [s.node, s.pending]));
  const load1 = loadavg();

  // ---- the figures ---------------------------------------------------------------------------
  const line = "─".repeat(78);
  console.log(`\n${line}`);
  console.log(`federation bench: ${MINUTES} min, seed ${SEED}, ${cpus().length} cores`);
  console.log(
    `load average at start ${load0.map((l) => l.toFixed(2)).join(" ")}, at end ${load1.map((l) => l.toFixed(2)).join(" ")}`,
  );
  console.log(line);
  console.log("writes (sent / accepted / refused by code / transport failures):");
  for (const [k, s] of Object.entries(ops).sort())
    console.log(
      `  ${k.padEnd(18)} ${String(s.sent).padStart(5)} ${String(s.accepted).padStart(5)}  ${Object.entries(
        s.refused,
      )
        .map(([c, v]) => `${c} ${v}`)
        .join(", ")}${s.failed ? `  failed ${s.failed}` : ""}`,
    );
  console.log(
    `pulls during the activity: ok ${pulls.ok} (${pulls.more} stopped at the limit), error ${pulls.error}, in_progress ${pulls.in_progress}, refused ${pulls.refused}, forked ${pulls.forked}, failed requests ${pulls.failed}; held ${pulls.held}, released ${pulls.released}`,
  );
  console.log(`restart mid-pull: ${restartNote}`);
  if (internalErrors.length) {
    console.log(
      `internal errors answered to the bench: ${internalErrors.length} (a 503 without a request id never reached the Worker: wrangler dev's proxy answers it when its local runtime restarts); what the nodes logged:`,
    );
    for (const e of internalErrors.slice(0, 12))
      console.log(
        `  ${e.at.toFixed(1)} s ${e.kind}: HTTP ${e.status} ${e.requestId || "(no request id)"} ${e.detail}`,
      );
    const lines = net.nodes.flatMap((nd) => nd.failures.map((l) => `${nd.label}: ${l}`));
    for (const l of lines.slice(0, 20)) console.log(`  ${l}`);
  }
  console.log(`requests sent by the bench: ${requests.count}`);
  console.log(line);
  for (const s of states)
    console.log(
      `node ${s.node}: ${s.logSize} records in its log (${s.records.size} distinct), ${s.entries.size} entries, ${s.baseline.size} in the baseline, pending ${s.pending}`,
    );
  console.log(
    `divergences: ${final.divergences.length} (${Object.entries(final.counts)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")})`,
  );
  for (const l of describeDivergences(final, 20)) console.log(`  ${l}`);
  console.log(
    `pending at the end: ${Object.entries(pendingEnd)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}`,
  );
  console.log(
    `at the heal: ${backlogTotal} log entries not yet pulled over the 6 links (${Object.entries(backlog)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")})`,
  );
  console.log(
    `from the last heal: identical after ${identicalPullSeconds === null ? "never" : `${identicalPullSeconds.toFixed(1)} s of pulls (${identicalWallSeconds!.toFixed(1)} s with the state reads)`}; quiet after ${quietRounds} rounds, ${quietSeconds.toFixed(1)} s${inProgressRounds.length ? `; pulls answered in_progress in rounds ${[...new Set(inProgressRounds)].join(", ")}` : ""}`,
  );
  console.log(
    `the heal consumed ${consumed} log entries in ${pullSeconds.toFixed(1)} s of pull rounds (${(consumed / Math.max(pullSeconds, 0.001)).toFixed(1)} entries/s over the three nodes)`,
  );
  const withinTarget = identicalPullSeconds !== null && identicalPullSeconds <= TARGET_S;
  console.log(`target: identical within ${TARGET_S} s of the heal — ${withinTarget ? "met" : "MISSED"}`);
  console.log(line);

  const out = path.resolve(import.meta.dirname, "results", "federation.json");
  writeFileSync(
    out,
    `${JSON.stringify(
      {
        generatedAt: new Date().toISOString(),
        machine: { cores: cpus().length, loadAtStart: load0, loadAtEnd: load1 },
        options: {
          minutes: MINUTES,
          seed: SEED,
          actors: ACTORS,
          pullLimit: Number(PULL_LIMIT),
          quorum: Number(QUORUM),
          restart: RESTART,
        },
        activitySeconds,
        requests: requests.count,
        writes: ops,
        pulls,
        restart: restartNote,
        internalErrors: {
          answered: internalErrors,
          logged: net.nodes.flatMap((nd) => nd.failures.map((l) => `${nd.label}: ${l}`)),
        },
        timeline,
        nodes: states.map((s) => ({
          node: s.node,
          logSize: s.logSize,
          records: s.records.size,
          entries: s.entries.size,
          baseline: s.baseline.size,
          pending: s.pending,
        })),
        divergences: {
          total: final.divergences.length,
          byKind: final.counts,
          first: final.divergences.slice(0, 50),
        },
        pendingAtEnd: pendingEnd,
        heal: {
          backlog,
          backlogTotal,
          identicalAfterPullSeconds: identicalPullSeconds,
          identicalAfterWallSeconds: identicalWallSeconds,
          quietAfterSeconds: quietSeconds,
          quietAfterRounds: quietRounds,
          consumedEntries: consumed,
          pullSeconds,
          inProgressRounds: [...new Set(inProgressRounds)],
          targetSeconds: TARGET_S,
          withinTarget,
        },
      },
      null,
      2,
    )}\n`,
  );
  console.log(`written to ${path.relative(process.cwd(), out)}`);
  const pendingTotal = Object.values(pendingEnd).reduce((s, v) => s + v, 0);
  return final.divergences.length > 0 || pendingTotal > 0 ? 1 : 0;
}

await main();
