// `npm run demo:federation`: two EUSN nodes federating on loopback, end to end.
//  1. generates throwaway keys for two nodes (an EU node A and a national node B) and their
//     bootstrap coordinators, each node configured with the other as its peer;
//  2. applies the D1 migrations and starts two `wrangler dev` processes, each with its own
//     persistence directory and its own env file (the developer's .dev.vars and .eusn-demo are
//     never read or touched);
//  3. seeds node A through its API: three authorities and a platform, submissions, cross-border
//     assessments, a baseline inclusion;
//  4. has B's coordinator trigger a pull, then checks from the outside what came over: byte for
//     byte, against both nodes' signed checkpoints, with a receipt verified offline;
//  5. pulls again (nothing new), stops both nodes and removes everything it created.
// Bounded: it gives up after DEMO_TIMEOUT_S (default 240) seconds and always cleans up.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import {
  EusnClient,
  fetchCheckpoint,
  fetchConsistency,
  fetchInclusion,
  generateParticipantKey,
  type KeyPair,
  verifyCheckpointConsistency,
  verifyCheckpointJws,
  verifyLogEntries,
  verifyWriteReceipt,
} from "@eusn/client";
import type {
  LogEntriesPage,
  PeerView,
  PullReport,
  SubmissionView,
  SubmitResult,
  WriteReceipt,
} from "@eusn/protocol";
import type { JWK } from "jose";

const ROOT = path.resolve(import.meta.dirname, "..");
const WRANGLER = path.join(ROOT, "node_modules", ".bin", "wrangler");
const TIMEOUT_S = Number(process.env.DEMO_TIMEOUT_S ?? 240);
const childEnv = { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true", NO_COLOR: "1" };

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const ok = (s: string) => `${process.stdout.isTTY ? "\x1b[32m✔\x1b[0m" : "✔"} ${s}`;
function say(s = "") {
  process.stdout.write(`${s}\n`);
}
function step(s: string) {
  say();
  say(bold(`▸ ${s}`));
}
function check(cond: unknown, what: string): asserts cond {
  if (!cond) throw new Error(`check failed: ${what}`);
  say(`  ${ok(what)}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

type Node = {
  label: string;
  id: string;
  coordinatorId: string;
  port: number;
  inspectorPort: number;
  base: string;
  dir: string;
  nodeKey: KeyPair;
  coordKey: KeyPair;
  child?: ChildProcess;
  log: string[];
};

async function makeNode(tmp: string, label: string, id: string, coordinatorId: string): Promise<Node> {
  const port = await freePort();
  return {
    label,
    id,
    coordinatorId,
    port,
    inspectorPort: await freePort(),
    base: `http://127.0.0.1:${port}`,
    dir: path.join(tmp, label),
    nodeKey: await generateParticipantKey(),
    coordKey: await generateParticipantKey(),
    log: [],
  };
}

function peerOf(n: Node) {
  return {
    nodeId: n.id,
    url: n.base,
    jwk: n.nodeKey.publicJwk,
    coordinators: [{ id: n.coordinatorId, jwks: { keys: [n.coordKey.publicJwk] } }],
  };
}

/** The node's configuration, as an env file that only this demo reads (wrangler --env-file). */
function writeEnvFile(n: Node, peer: Node): string {
  mkdirSync(n.dir, { recursive: true, mode: 0o700 });
  const file = path.join(n.dir, "node.env");
  const q = (v: unknown) => `'${typeof v === "string" ? v : JSON.stringify(v)}'`;
  writeFileSync(
    file,
    [
      `NODE_ID=${q(n.id)}`,
      `NODE_PRIVATE_JWK=${q(n.nodeKey.privateJwk)}`,
      `BOOTSTRAP_COORDINATOR_ID=${q(n.coordinatorId)}`,
      `BOOTSTRAP_COORDINATOR_NAME=${q(`Coordinator of ${n.id}`)}`,
      `BOOTSTRAP_COORDINATOR_JWKS=${q({ keys: [n.coordKey.publicJwk] })}`,
      `PEERS=${q([peerOf(peer)])}`,
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  return file;
}

function migrate(n: Node) {
  const r = spawnSync(WRANGLER, ["d1", "migrations", "apply", "DB", "--local", "--persist-to", n.dir], {
    cwd: ROOT,
    env: childEnv,
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`migrations for node ${n.label} failed:\n${r.stdout}${r.stderr}`);
}

function start(n: Node, envFile: string) {
  n.child = spawn(
    WRANGLER,
    [
      "dev",
      "--ip",
      "127.0.0.1",
      "--port",
      String(n.port),
      "--inspector-port",
      String(n.inspectorPort),
      "--persist-to",
      n.dir,
      "--env-file",
      envFile,
      "--show-interactive-dev-session=false",
    ],
    { cwd: ROOT, env: childEnv, stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  const keep = (b: Buffer) => {
    n.log.push(...b.toString().split("\n"));
    if (n.log.length > 200) n.log.splice(0, n.log.length - 200);
  };
  n.child.stdout?.on("data", keep);
  n.child.stderr?.on("data", keep);
}

async function waitUp(n: Node, deadline: number) {
  while (Date.now() < deadline) {
    if (n.child?.exitCode !== null && n.child?.exitCode !== undefined) {
      throw new Error(`node ${n.label} exited (${n.child.exitCode}):\n${n.log.slice(-30).join("\n")}`);
    }
    try {
      const r = await fetch(`${n.base}/health`);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 400));
  }
  throw new Error(`node ${n.label} did not come up:\n${n.log.slice(-30).join("\n")}`);
}

function stop(n: Node) {
  const child = n.child;
  if (!child || child.exitCode !== null || child.pid === undefined) return;
  try {
    // The whole process group: wrangler and the workerd it started.
    process.kill(-child.pid, "SIGTERM");
  } catch {
    child.kill("SIGTERM");
  }
}

function client(n: Node, participantId: string, privateJwk: JWK) {
  return new EusnClient({ baseUrl: n.base, nodeId: n.id, participantId, privateJwk });
}

async function must<T>(
  p: Promise<{ ok: true; data: T } | { ok: false; status: number; problem: unknown }>,
  what: string,
) {
  const r = await p;
  if (!r.ok) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.problem)}`);
  return r.data;
}

async function allEntries(c: EusnClient): Promise<LogEntriesPage["entries"]> {
  const out: LogEntriesPage["entries"] = [];
  let start = 0;
  for (;;) {
    const page = await must(c.get<LogEntriesPage>(`/v1/log/entries?start=${start}&limit=500`), "entries");
    out.push(...page.entries);
    if (page.next === null) return out;
    start = page.next;
  }
}

function randomPdq(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, "0")).join(
    "",
  );
}

const item = (value: string) => ({
  signalType: "pdq",
  value,
  quality: 90,
  limbs: ["a"],
  contentType: "image",
  nationalProvision: "Demo national provision, Art. 1",
});

async function demo(a: Node, b: Node) {
  const coordA = client(a, a.coordinatorId, a.coordKey.privateJwk);
  const coordB = client(b, b.coordinatorId, b.coordKey.privateJwk);

  step(`Seeding node A (${a.id}) through its API`);
  const people: Record<string, { id: string; key: KeyPair; c: EusnClient }> = {};
  for (const [slug, role, ms, name] of [
    ["nl", "authority", "NL", "ATKM (NL)"],
    ["de", "authority", "DE", "BKA (DE)"],
    ["fr", "authority", "FR", "PHAROS (FR)"],
    ["platform", "platform", undefined, "Demo Social"],
  ] as const) {
    const key = await generateParticipantKey();
    const r = await must(
      coordA.write<WriteReceipt>("/v1/participants", "participant.admit", {
        role,
        ...(ms ? { memberState: ms } : {}),
        displayName: name,
        jwks: { keys: [key.publicJwk] },
      }),
      `admit ${slug}`,
    );
    people[slug] = { id: r.subjectId, key, c: client(a, r.subjectId, key.privateJwk) };
    say(`  admitted ${role.padEnd(9)} ${(ms ?? "--").padEnd(2)} ${r.subjectId}  log index ${r.logIndex}`);
  }
  const { nl, de, fr } = people as Record<"nl" | "de" | "fr", { id: string; c: EusnClient }>;
  const submitted = await must(
    nl.c.write<SubmitResult>("/v1/submissions?proof=1", "submission.create", {
      items: [item(randomPdq()), item(randomPdq()), item(randomPdq())],
    }),
    "submit",
  );
  const [entry] = submitted.submissions.map((s) => s.id) as [string];
  say(
    `  NL submitted 3 hashes in one signed record (log index ${submitted.receipt!.logIndex}); first: ${entry}`,
  );
  const concur: string[] = [];
  for (const [who, c] of [
    ["DE", de.c],
    ["FR", fr.c],
  ] as const) {
    const r = await must(
      c.write<WriteReceipt>(`/v1/submissions/${entry}/assessments`, "assessment.create", {
        submissionId: entry,
        verdict: "concur",
        limb: "a",
      }),
      `assess ${who}`,
    );
    concur.push(r.subjectId);
    say(`  ${who} concurs (${r.subjectId}, log index ${r.logIndex})`);
  }
  const inc = await must(
    coordA.write<WriteReceipt>(`/v1/submissions/${entry}/decisions`, "baseline.decide", {
      submissionId: entry,
      decision: "include",
      reason: "NL, DE and FR concur",
      assessmentIds: concur,
    }),
    "include",
  );
  say(`  A's coordinator includes it in the baseline (log index ${inc.logIndex})`);

  step("The write receipt NL got with ?proof=1, verified offline");
  const jwksA = (await (await fetch(`${a.base}/.well-known/jwks.json`)).json()) as { keys: JWK[] };
  const nlJws = await must(nl.c.get<string>(`/v1/records/${submitted.receipt!.recordId}`), "record");
  const receipt = submitted.receipt as WriteReceipt & {
    treeSize: number;
    inclusionProof: string[];
    checkpoint: string;
  };
  check(
    (await verifyWriteReceipt(receipt, jwksA.keys[0]!, nlJws, { origin: a.id })).ok,
    `receipt: leaf ${receipt.logIndex} of a ${receipt.treeSize}-leaf tree signed by A's node key`,
  );

  const cpA = await fetchCheckpoint(a.base);
  const before = await fetchCheckpoint(b.base);
  step("Before the pull");
  say(`  node A ${a.id}: ${cpA.treeSize} records in its log, root ${cpA.rootHash.slice(0, 16)}…`);
  say(`  node B ${b.id}: ${before.treeSize} records in its log`);

  step(`B's coordinator triggers a pull of A (POST ${b.base}/v1/federation/pull)`);
  const { reports } = await must(
    coordB.postJson<{ reports: PullReport[] }>("/v1/federation/pull", {}),
    "pull",
  );
  const rep = reports[0]!;
  say(
    `  ${rep.peer}: ${rep.status}; checkpoint ${rep.checkpoint?.treeSize} leaves; cursor ${rep.from} → ${rep.to}; applied ${rep.applied}; skipped ${JSON.stringify(rep.skipped)}`,
  );
  check(rep.status === "ok" && rep.applied === cpA.treeSize, `all ${cpA.treeSize} records of A applied on B`);

  step("Checking from the outside");
  const entriesA = await allEntries(coordA);
  const entriesB = await allEntries(coordB);
  const jwsB = new Set(entriesB.map((e) => e.jws));
  check(
    entriesA.every((e) => e.jws && jwsB.has(e.jws)),
    `every one of A's ${entriesA.length} records is in B's log, byte for byte`,
  );
  const jwksB = (await (await fetch(`${b.base}/.well-known/jwks.json`)).json()) as { keys: JWK[] };
  const cpB = await fetchCheckpoint(b.base);
  const vA = await verifyLogEntries(entriesA, cpA.checkpoint, jwksA.keys[0]!, { origin: a.id });
  check(vA.ok, `A's entries hash to A's checkpoint (${cpA.treeSize} leaves, signed by A's node key)`);
  const vB = await verifyLogEntries(entriesB, cpB.checkpoint, jwksB.keys[0]!, { origin: b.id });
  check(vB.ok, `B's entries hash to B's own checkpoint (${cpB.treeSize} leaves, signed by B's node key)`);
  const proofB = await fetchConsistency(b.base, before.treeSize, cpB.treeSize);
  check(
    (await verifyCheckpointConsistency(before.checkpoint, cpB.checkpoint, proofB.proof, jwksB.keys[0]!)).ok,
    `B's log only grew: its checkpoint before the pull is a prefix of the one after`,
  );
  const onB = await fetchInclusion(b.base, { leafHash: submitted.receipt!.leafHash });
  check(
    (await verifyWriteReceipt(onB, jwksB.keys[0]!, nlJws, { origin: b.id })).ok,
    `NL's submission is leaf ${onB.logIndex} of B's log too, and B proves it`,
  );
  const viewB = await must(
    coordB.get<{ submission: SubmissionView }>(`/v1/submissions/${entry}`),
    "submission on B",
  );
  const t = viewB.submission.assessments;
  say(
    `  on B, ${entry}: ${t.concurring}/${t.quorum} member states concur (${t.concurStates.join(", ")}), eligible ${t.eligible}, baseline ${viewB.submission.baselineState}`,
  );
  check(
    viewB.submission.baselineState === "included",
    "A's assessments and inclusion hold on B exactly as on A",
  );

  step("Pulling again");
  const again = (await must(coordB.postJson<{ reports: PullReport[] }>("/v1/federation/pull", {}), "pull"))
    .reports[0]!;
  check(
    again.applied === 0 && again.from === again.to,
    `idempotent: cursor stays at ${again.to}, nothing applied`,
  );
  const peers = await must(coordB.get<{ peers: PeerView[] }>("/v1/federation/peers"), "peers");
  for (const p of peers.peers) {
    say(
      `  peer ${p.nodeId} (${p.url}, key ${p.kid?.slice(0, 12)}…): ${p.status}, next index ${p.nextIndex}, last verified checkpoint ${p.checkpoint?.treeSize} leaves`,
    );
  }
  const sigOk = await verifyCheckpointJws(cpB.checkpoint, jwksB.keys[0]!);
  check(
    sigOk.ok,
    `B's checkpoint: origin ${cpB.origin}, ${cpB.treeSize} leaves, root ${cpB.rootHash.slice(0, 16)}…`,
  );
}

async function main() {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "eusn-federation-demo-"));
  const a = await makeNode(tmp, "a", "eusn-demo-eu", "par_eucoordinator");
  const b = await makeNode(tmp, "b", "eusn-demo-nl", "par_nlcoordinator");
  const timer = setTimeout(() => {
    process.stderr.write(`demo: gave up after ${TIMEOUT_S}s\n`);
    for (const n of [a, b]) stop(n);
    rmSync(tmp, { recursive: true, force: true });
    process.exit(1);
  }, TIMEOUT_S * 1000);
  const cleanup = () => {
    for (const n of [a, b]) stop(n);
    rmSync(tmp, { recursive: true, force: true });
  };
  process.on("SIGINT", () => {
    cleanup();
    process.exit(130);
  });
  try {
    say(bold("EUSN federation demo: two nodes on loopback"));
    say(`  node A ${a.id} (the EU node)       ${a.base}`);
    say(`  node B ${b.id} (a national node)  ${b.base}`);
    say(`  state and keys in ${tmp} (removed at the end)`);
    step("Applying migrations and starting both nodes (wrangler dev)");
    for (const [n, peer] of [
      [a, b],
      [b, a],
    ] as const) {
      const envFile = writeEnvFile(n, peer);
      migrate(n);
      start(n, envFile);
    }
    const deadline = Date.now() + 120_000;
    await Promise.all([waitUp(a, deadline), waitUp(b, deadline)]);
    say("  both nodes answer /health");
    await demo(a, b);
    say();
    say(bold("Done: records replicated A → B, byte-identical, verified against keys and checkpoints."));
  } catch (e) {
    process.stderr.write(`\ndemo failed: ${(e as Error).message}\n`);
    process.exitCode = 1;
  } finally {
    clearTimeout(timer);
    cleanup();
  }
}

await main();
