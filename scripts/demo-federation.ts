// `npm run demo:federation`: three EUSN nodes federating on loopback, a partition, and the heal.
//  1. generates throwaway keys for three nodes (A, B, C) and their bootstrap coordinators; each
//     node lists the other two as peers, reached through small relays on loopback (one per
//     direction of each link) that the demo cuts to make a partition and restores to heal it;
//  2. applies the D1 migrations and starts three `wrangler dev` processes, each with its own
//     persistence directory and env file (the developer's .dev.vars and .eusn-demo are never read);
//  3. admits authorities on their home nodes (NL on A, DE and AT on B, FR and BE on C) and pulls
//     until every node knows every one;
//  4. cuts C off and lets things happen on both sides: a submission on A, assessments on B and C,
//     an inclusion on A racing a dissent on C, and a revocation on A of an authority that goes on
//     writing on C, which has not heard of it;
//  5. heals — C first reaches only B (records that depend on what only A has wait, shown as
//     pending), then A — with pull rounds by each node's coordinator until a round moves nothing;
//  6. checks from the outside that the three nodes agree: the baseline, every entry's state and
//     tallies, the registry, the records byte for byte, nothing pending; every log against its
//     node's signed checkpoint, C's log only grew, and receipts verify offline.
// Bounded: it gives up after DEMO_TIMEOUT_S (default 600) seconds and always cleans up.
import {
  type EusnClient,
  fetchCheckpoint,
  fetchConsistency,
  fetchInclusion,
  generateParticipantKey,
  type KeyPair,
  verifyCheckpointConsistency,
  verifyLogEntries,
  verifyWriteReceipt,
} from "@eusn/client";
import type { LogEntriesPage, PeerView, PullReport, SubmitResult, WriteReceipt } from "@eusn/protocol";
import type { JWK } from "jose";
import { LocalNet } from "./federation/local-net.ts";
import { collectState, compareStates, describeDivergences, type NodeState } from "./federation/state.ts";
import { secondSignature } from "./second-signature.ts";

const TIMEOUT_S = Number(process.env.DEMO_TIMEOUT_S ?? 600);
const [A, B, C] = [0, 1, 2] as const;

const tty = process.stdout.isTTY;
const bold = (s: string) => (tty ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string) => (tty ? `\x1b[2m${s}\x1b[0m` : s);
const ok = (s: string) => `${tty ? "\x1b[32m✔\x1b[0m" : "✔"} ${s}`;
const t0 = Date.now();
const clock = () => dim(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)} s]`);
function say(s = "") {
  process.stdout.write(`${s}\n`);
}
let current = "starting";
function step(s: string) {
  current = s;
  say();
  say(`${clock()} ${bold(`▸ ${s}`)}`);
}
function check(cond: unknown, what: string): asserts cond {
  if (!cond) throw new Error(`check failed: ${what}`);
  say(`  ${ok(what)}`);
}

async function must<T>(
  p: Promise<
    { ok: true; data: T } | { ok: false; status: number; problem: { code: string; detail?: string } }
  >,
  what: string,
): Promise<T> {
  const r = await p;
  if (!r.ok) throw new Error(`${what}: HTTP ${r.status} ${r.problem.code}: ${r.problem.detail ?? ""}`);
  return r.data;
}

type Member = { slug: string; id: string; key: KeyPair; home: number; on: (node?: number) => EusnClient };

const item = (value: string) => ({
  signalType: "pdq",
  value,
  quality: 90,
  limbs: ["a"],
  contentType: "image",
  nationalProvision: "Demo national provision, Art. 1",
});
const randomPdq = () =>
  Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, "0")).join("");

function pullLine(node: string, r: PullReport): string {
  const skipped = Object.entries(r.skipped)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
  return `  ${node} ← ${r.peer}: ${r.status}${r.reason ? ` (${r.reason})` : ""}, cursor ${r.from} → ${r.to}, applied ${r.applied}${skipped ? `, skipped ${skipped}` : ""}, held ${r.pending}, released ${r.released}`;
}

async function demo(net: LocalNet) {
  const nodes = net.nodes;
  const coord = (i: number) => nodes[i]!.coordinator;
  const labelOf = (i: number) => `${nodes[i]!.label} (${nodes[i]!.id})`;

  step("Admitting authorities on their home nodes");
  const people: Record<string, Member> = {};
  for (const [slug, ms, home] of [
    ["nl", "NL", A],
    ["de", "DE", B],
    ["at", "AT", B],
    ["fr", "FR", C],
    ["be", "BE", C],
  ] as const) {
    const key = await generateParticipantKey();
    const r = await must(
      coord(home).write<WriteReceipt>("/v1/participants", "participant.admit", {
        role: "authority",
        memberState: ms,
        displayName: `Competent authority (${ms})`,
        jwks: { keys: [key.publicJwk] },
      }),
      `admit ${ms} on ${nodes[home]!.label}`,
    );
    // The second signature an authority's admission needs: a second coordinator of that node.
    await secondSignature(coord(home), r);
    people[slug] = {
      slug,
      id: r.subjectId,
      key,
      home,
      on: (node = home) => net.client(node, r.subjectId, key.privateJwk),
    };
    say(`  ${ms} authority ${r.subjectId} admitted on node ${nodes[home]!.label}`);
  }
  const { nl, de, at, fr, be } = people as Record<"nl" | "de" | "at" | "fr" | "be", Member>;
  const first = await net.heal();
  say(`  pulled until quiet: ${first.rounds} round(s)`);
  for (const i of [A, B, C]) {
    const reg = await must(
      coord(i).get<{ participants: { id: string; role: string }[] }>("/v1/participants?role=authority"),
      "participants",
    );
    check(reg.participants.length === 5, `node ${labelOf(i)} knows all 5 authorities`);
  }
  const peersOfA = await must(coord(A).get<{ peers: PeerView[] }>("/v1/federation/peers"), "peers of A");
  for (const p of peersOfA.peers)
    say(`  A's peer ${p.nodeId} via ${p.url}: next index ${p.nextIndex}, pending ${p.pending}`);

  step("Before the partition: NL submits two entries on A; DE and AT concur on the first on B");
  const batch = await must(
    nl.on().write<SubmitResult>("/v1/submissions", "submission.create", {
      items: [item(randomPdq()), item(randomPdq())],
    }),
    "submit S1, S2",
  );
  const [s1, s2] = batch.submissions.map((s) => s.id) as [string, string];
  await net.pull(B, A);
  const cite1 = [
    (await must(assess(de, s1, "concur"), "DE concurs on S1")).subjectId,
    (await must(assess(at, s1, "concur"), "AT concurs on S1")).subjectId,
  ];
  await net.heal();
  say(`  S1 ${s1}, S2 ${s2}; every node has them and DE's and AT's concurrences on S1`);

  step("Partition: C is cut off from A and B");
  net.mesh.partition(A, C);
  net.mesh.partition(B, C);
  const cpCBefore = await fetchCheckpoint(nodes[C]!.base);
  const cut = await net.pull(C);
  for (const r of cut) say(pullLine("C", r));
  check(
    cut.every((r) => r.status === "error"),
    "C's pulls of A and B fail: the links are down",
  );

  step("During the partition");
  const proven = await must(
    nl
      .on()
      .write<SubmitResult>("/v1/submissions?proof=1", "submission.create", { items: [item(randomPdq())] }),
    "submit S3",
  );
  const s3 = proven.submissions[0]!.id;
  say(`  A: NL submits S3 ${s3} (with ?proof=1: a receipt NL can check offline)`);
  await net.pull(B, A);
  const cite3 = [
    (await must(assess(de, s3, "concur"), "DE concurs on S3")).subjectId,
    (await must(assess(at, s3, "concur"), "AT concurs on S3")).subjectId,
  ];
  say("  B: DE and AT concur on S3");
  await net.pull(A, B);
  await must(decide(coord(A), s3, "include", cite3, "NL, DE and AT concur"), "include S3");
  say("  A: A's coordinator includes S3, citing DE's and AT's concurrences");
  await must(assess(fr, s2, "concur"), "FR concurs on S2");
  say("  C: FR concurs on S2");
  const [inc, dissent] = await Promise.all([
    decide(coord(A), s1, "include", cite1, "NL, DE and AT concur"),
    assess(fr, s1, "dissent"),
  ]);
  check(
    inc.ok && dissent.ok,
    "at the same moment: A includes S1, and FR dissents on S1 on C — both accepted",
  );
  await must(
    coord(A).write<WriteReceipt>(`/v1/participants/${be.id}/revoke`, "participant.revoke", {
      participantId: be.id,
      reason: "compromised signing key",
    }),
    "revoke BE",
  ).then((r) => secondSignature(coord(A), r));
  say(`  A: A's two coordinators revoke BE (${be.id}), whose home is C`);
  await net.pull(B, A);
  // One second later in signed time than the revocation, so the order is not a tie.
  await new Promise((r) => setTimeout(r, 1100));
  const s4 = (
    await must(
      be.on().write<SubmitResult>("/v1/submissions", "submission.create", { items: [item(randomPdq())] }),
      "BE submits on C",
    )
  ).submissions[0]!.id;
  await must(assess(be, s2, "concur"), "BE concurs on S2 on C");
  say(`  C: BE, not knowing it is revoked, submits S4 ${s4} and concurs on S2 — C accepts both`);

  const during = await Promise.all([A, B, C].map((i) => collectState(coord(i), nodes[i]!.label)));
  showEntries("States during the partition", during, { S1: s1, S2: s2, S3: s3, S4: s4 });
  const split = compareStates(during);
  check(!split.identical, `the nodes disagree now (${split.divergences.length} divergences)`);

  step("Healing, part 1: C reaches B again, but not yet A");
  net.mesh.partition(B, C, false);
  const cFromB = (await net.pull(C, B))[0]!;
  say(pullLine("C", cFromB));
  const peersOfC = await must(coord(C).get<{ peers: PeerView[] }>("/v1/federation/peers"), "peers of C");
  for (const p of peersOfC.peers)
    say(`  C's peer ${p.nodeId}: next index ${p.nextIndex}, pending ${p.pending}`);
  const held = peersOfC.peers.reduce((n, p) => n + p.pending, 0);
  check(
    held >= 2,
    `C holds ${held} records from B that depend on S3, which only A has: they wait, not skipped`,
  );
  const bFromC = (await net.pull(B, C))[0]!;
  say(pullLine("B", bFromC));

  step("Healing, part 2: every link restored; pull rounds until a round moves nothing");
  net.mesh.heal();
  const healStart = Date.now();
  const healed = await net.heal({
    onRound: (round, reports) => {
      say(`  round ${round}:`);
      for (const { node, reports: rs } of reports) for (const r of rs) say(`  ${pullLine(node, r)}`);
    },
  });
  say(`  quiet after ${healed.rounds} rounds, ${((Date.now() - healStart) / 1000).toFixed(1)} s`);

  step("The three nodes agree");
  const after = await Promise.all([A, B, C].map((i) => collectState(coord(i), nodes[i]!.label)));
  showEntries("States after the heal", after, { S1: s1, S2: s2, S3: s3, S4: s4 });
  const cmp = compareStates(after);
  if (!cmp.identical) for (const l of describeDivergences(cmp)) say(`    ${l}`);
  check(cmp.identical, "every entry's status, baseline state and tallies are the same on A, B and C");
  const baselines = after.map((s) => [...s.baseline.keys()].sort().join(","));
  check(
    baselines.every((b) => b === baselines[0]),
    `GET /v1/baseline is the same on the three nodes: ${after[0]!.baseline.size} entries (${[...after[0]!.baseline.values()].map((e) => `${e.id} ${e.state}`).join(", ")})`,
  );
  check(
    after.every((s) => s.pending === 0),
    "nothing is pending on any node (GET /v1/federation/peers)",
  );
  const sizes = after.map((s) => s.records.size);
  check(
    sizes.every((n) => n === sizes[0]),
    `the same ${sizes[0]} records on every node, byte for byte (same leaf hashes)`,
  );
  const e = (s: NodeState, id: string) => s.entries.get(id)!;
  check(e(after[0]!, s4).status === "voided", "S4, signed by BE after its revocation, is void everywhere");
  check(
    e(after[0]!, s3).baselineState === "included",
    "S3 is included everywhere: on C its concurrences waited for S3, then the inclusion for them",
  );
  const s1State = e(after[0]!, s1);
  say(
    `  S1: ${s1State.baselineState}, ${s1State.dissenting} counting dissent(s) — the inclusion and FR's dissent were folded in signed order, the same on every node`,
  );
  const s2State = e(after[0]!, s2);
  check(
    !s2State.concurStates.includes("BE"),
    `S2 counts ${s2State.concurStates.join(", ")}: BE's concurrence, signed after its revocation, counts nowhere`,
  );

  step("Checking logs and receipts against the nodes' signed checkpoints");
  const jwks = await Promise.all(
    [A, B, C].map(
      async (i) =>
        ((await (await fetch(`${nodes[i]!.base}/.well-known/jwks.json`)).json()) as { keys: JWK[] }).keys[0]!,
    ),
  );
  const nlJws = await must(nl.on().get<string>(`/v1/records/${proven.receipt!.recordId}`), "NL's record");
  check(
    (
      await verifyWriteReceipt(proven.receipt as Parameters<typeof verifyWriteReceipt>[0], jwks[A]!, nlJws, {
        origin: nodes[A]!.id,
      })
    ).ok,
    `NL's receipt for S3: leaf ${proven.receipt!.logIndex} of A's log, proven offline against A's signed checkpoint`,
  );
  for (const i of [A, B, C]) {
    const cp = await fetchCheckpoint(nodes[i]!.base);
    const entries = await allEntries(coord(i));
    const v = await verifyLogEntries(entries, cp.checkpoint, jwks[i]!, { origin: nodes[i]!.id });
    check(
      v.ok,
      `${labelOf(i)}: its ${entries.length} entries hash to its checkpoint, signed by its node key`,
    );
  }
  const cpC = await fetchCheckpoint(nodes[C]!.base);
  const proof = await fetchConsistency(nodes[C]!.base, cpCBefore.treeSize, cpC.treeSize);
  check(
    (await verifyCheckpointConsistency(cpCBefore.checkpoint, cpC.checkpoint, proof.proof, jwks[C]!)).ok,
    `C's log only grew: its checkpoint before the partition (${cpCBefore.treeSize}) is a prefix of today's (${cpC.treeSize})`,
  );
  const onC = await fetchInclusion(nodes[C]!.base, { leafHash: proven.receipt!.leafHash });
  check(
    (await verifyWriteReceipt(onC, jwks[C]!, nlJws, { origin: nodes[C]!.id })).ok,
    `NL's record is leaf ${onC.logIndex} of C's log too, and C proves it with its own key`,
  );
  const again = await net.pull(A);
  check(
    again.every((r) => r.status === "ok" && r.from === r.to && r.released === 0),
    "pulling again moves nothing: every cursor stays",
  );
}

function assess(m: Member, id: string, verdict: "concur" | "dissent") {
  return m.on().write<WriteReceipt>(`/v1/submissions/${id}/assessments`, "assessment.create", {
    submissionId: id,
    verdict,
    limb: "a",
    ...(verdict === "dissent" ? { reason: "not terrorist content under our law" } : {}),
  });
}

function decide(
  c: EusnClient,
  id: string,
  decision: "include" | "exclude" | "retire",
  cited: string[],
  reason: string,
) {
  return c.write<WriteReceipt>(`/v1/submissions/${id}/decisions`, "baseline.decide", {
    submissionId: id,
    decision,
    reason,
    assessmentIds: cited,
  });
}

async function allEntries(c: EusnClient): Promise<LogEntriesPage["entries"]> {
  const out: LogEntriesPage["entries"] = [];
  for (let start: number | null = 0; start !== null; ) {
    const page: LogEntriesPage = await must(
      c.get<LogEntriesPage>(`/v1/log/entries?start=${start}&limit=500`),
      "entries",
    );
    out.push(...page.entries);
    start = page.next;
  }
  return out;
}

function showEntries(title: string, states: NodeState[], names: Record<string, string>) {
  say(`  ${title}:`);
  const cell = (s: NodeState, id: string) => {
    const e = s.entries.get(id);
    if (!e) return "—";
    return `${e.status}/${e.baselineState} [${e.concurStates.join(" ")}]${e.dissenting ? ` −${e.dissenting}` : ""}`;
  };
  say(`    ${"".padEnd(4)}${states.map((s) => `node ${s.node}`.padEnd(34)).join("")}`);
  for (const [name, id] of Object.entries(names))
    say(`    ${name.padEnd(4)}${states.map((s) => cell(s, id).padEnd(34)).join("")}`);
  say(
    `    ${"".padEnd(4)}${states.map((s) => `baseline ${s.baseline.size}, records ${s.records.size}, pending ${s.pending}`.padEnd(34)).join("")}`,
  );
}

async function main() {
  const net = await LocalNet.create({
    labels: ["A", "B", "C"],
    ids: ["eusn-demo-a", "eusn-demo-b", "eusn-demo-c"],
    vars: { BASELINE_MIN_STATES: "3" },
    prefix: "eusn-federation-demo-",
  });
  const timer = setTimeout(() => {
    process.stderr.write(`\ndemo: gave up after ${TIMEOUT_S} s (DEMO_TIMEOUT_S), during "${current}"\n`);
    net.closeNow();
    process.exit(1);
  }, TIMEOUT_S * 1000);
  process.on("SIGINT", () => {
    net.closeNow();
    process.exit(130);
  });
  try {
    say(bold("EUSN federation demo: three nodes on loopback, a partition, and the heal"));
    for (const n of net.nodes) say(`  node ${n.label} ${n.id}  ${n.base}`);
    say(
      `  each lists the other two as peers through relays on loopback; state and keys in ${net.tmp} (removed at the end)`,
    );
    step("Applying migrations and starting the three nodes (wrangler dev)");
    await net.start({ progress: (what) => say(`  ${what}`) });
    await demo(net);
    say();
    say(
      bold(
        `${clock()} Done: the partition healed to the same baseline and the same state on all three nodes.`,
      ),
    );
  } catch (e) {
    process.stderr.write(`\n${clock()} demo failed: ${(e as Error).message}\n`);
    process.exitCode = 1;
  } finally {
    clearTimeout(timer);
    await net.close();
  }
}

await main();
