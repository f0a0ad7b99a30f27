// Federation between two nodes in one workerd run (test/helpers/two-nodes.ts): what is accepted
// on node A reaches node B by a pull of A's log — byte-identical, verified against the
// originating participants' keys, in B's own log too — and counts on B exactly as on A. Pulls
// are idempotent and resume from their cursor. The refusals are in federation.security.test.ts.

import { env } from "cloudflare:workers";
import { hashLeaf, toHex, verifyCheckpointJws, verifyReceipt } from "@eusn/merkle";
import type { LogCheckpoint, LogInclusion, PeerView, SubmissionView, WriteReceipt } from "@eusn/protocol";
import { compactVerify, importJWK, type JWK } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { pdqItem, randomPdq, rng } from "../helpers/hashes.ts";
import { type Admitted, admit, coordinator } from "../helpers/node.ts";
import { B_COORDINATOR, B_ID, B_URL, type TwoNodes, twoNodes } from "../helpers/two-nodes.ts";

const A_ID = env.NODE_ID;
const r = rng(606);
let n: TwoNodes;
let nl: Admitted;
let de: Admitted;
let fr: Admitted;

type SubmitResult = { receipt: WriteReceipt; submissions: { id: string }[] };
type Detail = {
  submission: SubmissionView;
  history: { kind: string; recordId: string; summary: Record<string, unknown> }[];
};

async function submit(by: Admitted, count = 1): Promise<string[]> {
  const res = await by.client.write<SubmitResult>("/v1/submissions", "submission.create", {
    items: Array.from({ length: count }, () => pdqItem(randomPdq(r))),
  });
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
  return res.data.submissions.map((s) => s.id);
}

async function assess(by: Admitted, id: string, verdict: "concur" | "dissent"): Promise<WriteReceipt> {
  const res = await by.client.write<WriteReceipt>(`/v1/submissions/${id}/assessments`, "assessment.create", {
    submissionId: id,
    verdict,
    limb: "a",
    ...(verdict === "dissent" ? { reason: "not terrorist content in our assessment" } : {}),
  });
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
  return res.data;
}

async function recordsOf(db: D1Database, where = "1 = 1") {
  const rows = await db
    .prepare(`SELECT id, kind, issuer, kid, jti, jws, origin_node FROM records WHERE ${where} ORDER BY id`)
    .all<{
      id: string;
      kind: string;
      issuer: string;
      kid: string;
      jti: string;
      jws: string;
      origin_node: string;
    }>();
  return rows.results;
}

async function viewOnA(id: string): Promise<SubmissionView> {
  const res = await coordinator().get<Detail>(`/v1/submissions/${id}`);
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
  return res.data.submission;
}

async function viewOnB(id: string): Promise<SubmissionView> {
  const res = await n.coordinatorB.get<Detail>(`/v1/submissions/${id}`);
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
  return res.data.submission;
}

/**
 * The parts of a submission view that are facts of the network. `createdAt` is when a node
 * stored it: the origin's clock on A, the signed `iat` on a replica.
 */
function facts(v: SubmissionView) {
  const { linked: _l, createdAt: _c, ...rest } = v;
  return rest;
}

beforeAll(async () => {
  n = await twoNodes();
  nl = await admit("authority", "NL", { name: "ATKM" });
  de = await admit("authority", "DE", { name: "BKA" });
  fr = await admit("authority", "FR", { name: "PHAROS" });
});

describe("A → B", () => {
  let ids: string[];

  it("records accepted on A appear on B after a pull: byte-identical, same ids, verified, origin A", async () => {
    ids = await submit(nl, 2);
    await assess(de, ids[0]!, "concur");
    await assess(fr, ids[0]!, "concur");
    const onA = await recordsOf(env.DB);
    const report = await n.pull();
    expect(report).toMatchObject({
      peer: A_ID,
      status: "ok",
      from: 0,
      applied: onA.length,
      skipped: {},
      more: false,
    });
    expect(report.to).toBe(onA.length);

    const onB = await recordsOf(n.envB.DB);
    expect(onB.map((x) => [x.id, x.kind, x.issuer, x.jti, x.jws])).toEqual(
      onA.map((x) => [x.id, x.kind, x.issuer, x.jti, x.jws]),
    );
    expect(new Set(onB.map((x) => x.origin_node))).toEqual(new Set([A_ID]));

    // Each replicated JWS verifies on B with the key B holds for its issuer (learnt from A's
    // coordinator-signed admission records, or from A's configured coordinator).
    for (const rec of onB) {
      const key = await n.envB.DB.prepare(
        "SELECT jwk, alg FROM participant_keys WHERE participant_id = ? AND kid = ?",
      )
        .bind(rec.issuer, rec.kid)
        .first<{ jwk: string; alg: string }>();
      expect(key, `key of ${rec.issuer}`).not.toBeNull();
      const { payload } = await compactVerify(
        rec.jws,
        await importJWK(JSON.parse(key!.jwk) as JWK, key!.alg),
      );
      expect(JSON.parse(new TextDecoder().decode(payload)).aud).toBe(A_ID);
    }

    // A's participants are B's, with the same ids, roles, member states and keys.
    const participant = await n.coordinatorB.get<{
      id: string;
      memberState: string;
      keys: { kid: string }[];
    }>(`/v1/participants/${nl.id}`);
    expect(participant.ok && participant.data).toMatchObject({
      id: nl.id,
      memberState: "NL",
      keys: [{ kid: nl.key.kid }],
    });
    const coord = await n.envB.DB.prepare("SELECT role, admission_record_id FROM participants WHERE id = ?")
      .bind(env.BOOTSTRAP_COORDINATOR_ID)
      .first();
    expect(coord).toEqual({ role: "coordinator", admission_record_id: null });

    // Each replicated record has its audit entry on B, naming its origin and peer log index.
    const audits = await n.envB.DB.prepare(
      "SELECT record_id, detail FROM audit_log WHERE record_id IS NOT NULL",
    ).all<{
      record_id: string;
      detail: string;
    }>();
    expect(audits.results).toHaveLength(onA.length);
    expect(JSON.parse(audits.results[0]!.detail)).toMatchObject({ origin: A_ID, peerIndex: 0 });
  });

  it("appends what it accepted to B's own log, which B signs and proves with its own key", async () => {
    const cp = (await (await n.fetchB(`${B_URL}/v1/log/checkpoint`)).json()) as LogCheckpoint;
    expect(cp.origin).toBe(B_ID);
    const signed = await verifyCheckpointJws(cp.checkpoint, n.nodeKeyB.publicJwk as JWK, { origin: B_ID });
    expect(signed.ok).toBe(true);
    const onB = await recordsOf(n.envB.DB);
    expect(cp.treeSize).toBe(onB.length);
    for (const rec of onB.slice(0, 3)) {
      const leafHash = toHex(await hashLeaf(new TextEncoder().encode(rec.jws)));
      const proof = (await (
        await n.fetchB(`${B_URL}/v1/log/inclusion?leafHash=${leafHash}`)
      ).json()) as LogInclusion;
      expect((await verifyReceipt(proof, n.nodeKeyB.publicJwk as JWK, rec.jws, { origin: B_ID })).ok).toBe(
        true,
      );
    }
  });

  it("counts replicated assessments toward eligibility on B exactly as on A, and follows A's decisions", async () => {
    const [eligible, single] = ids as [string, string];
    expect((await viewOnA(eligible)).assessments).toMatchObject({ concurring: 3, quorum: 3, eligible: true });
    expect(facts(await viewOnB(eligible))).toEqual(facts(await viewOnA(eligible)));
    expect((await viewOnB(single)).assessments).toMatchObject({ concurring: 1, eligible: false });
    expect(facts(await viewOnB(single))).toEqual(facts(await viewOnA(single)));

    // A's coordinator includes it citing the two concurrences; a later dissent disputes it.
    const live = await coordinator().get<Detail>(`/v1/submissions/${eligible}`);
    if (!live.ok) throw new Error("detail");
    const cite = live.data.history
      .filter((h) => h.kind === "assessment.create")
      .map((h) => h.summary.assessmentId);
    const inc = await coordinator().write(`/v1/submissions/${eligible}/decisions`, "baseline.decide", {
      submissionId: eligible,
      decision: "include",
      reason: "every member state concurs",
      assessmentIds: cite,
    });
    expect(inc.status).toBe(201);
    expect((await n.pull()).applied).toBe(1);
    expect((await viewOnB(eligible)).baselineState).toBe("included");
    await assess(de, eligible, "dissent");
    expect((await n.pull()).applied).toBe(1);
    expect(facts(await viewOnB(eligible))).toEqual(facts(await viewOnA(eligible)));
    expect((await viewOnB(eligible)).baselineState).toBe("disputed");
  });

  it("lets B's coordinator decide on B with the replicated assessments, under the same rules", async () => {
    const [id] = await submit(de);
    const asmNl = await assess(nl, id!, "concur");
    const asmFr = await assess(fr, id!, "concur");
    await n.pull();
    const decide = (assessmentIds: string[]) =>
      n.coordinatorB.write(`/v1/submissions/${id}/decisions`, "baseline.decide", {
        submissionId: id,
        decision: "include",
        reason: "included on node B",
        assessmentIds,
      });
    // Citing one concurrence does not reach the quorum on B either.
    const short = await decide([asmNl.subjectId]);
    expect(short.ok ? short.status : short.problem.code).toBe("unprocessable");
    const ok = await decide([asmNl.subjectId, asmFr.subjectId]);
    expect(ok.status).toBe(201);
    expect((await viewOnB(id!)).baselineState).toBe("included");
    // A never hears of B's decision unless it pulls B (see below); A's entry is unchanged.
    expect((await viewOnA(id!)).baselineState).toBe("none");
  });

  it("is idempotent: pulling again consumes nothing and stores nothing", async () => {
    const before = await n.countB("records");
    const entries = await n.countB("federation_entries");
    const report = await n.pull();
    expect(report).toMatchObject({ status: "ok", applied: 0, skipped: {}, more: false });
    expect(report.from).toBe(report.to);
    expect(await n.countB("records")).toBe(before);
    expect(await n.countB("federation_entries")).toBe(entries);
  });

  it("resumes from its cursor after an interruption or a restart, without duplicates", async () => {
    for (let i = 0; i < 3; i++) await submit(nl);
    for (let i = 0; i < 3; i++) await submit(fr);
    const sizeA = (await env.DB.prepare("SELECT count(*) AS n FROM log_leaves").first<{ n: number }>())!.n;
    const start = (await n.pull({ limit: 0 })).to;
    // A bounded pull stops after its limit and says there is more.
    const first = await n.pull({ limit: 2 });
    expect(first).toMatchObject({ status: "ok", from: start, to: start + 2, applied: 2, more: true });
    // The connection drops after one page: what was consumed stays consumed, nothing half-applied.
    let pages = 0;
    const cut = await n.pull({
      pageSize: 1,
      tamper: async (url, res) => {
        if (url.pathname === "/v1/log/entries" && ++pages > 1) throw new Error("connection reset");
        return res;
      },
    });
    expect(cut).toMatchObject({ status: "error", from: start + 2, to: start + 3, applied: 1 });
    expect(cut.reason).toMatch(/connection reset/);
    // A "restarted" node: nothing in memory, everything from D1.
    const rest = await n.pull();
    expect(rest).toMatchObject({ status: "ok", from: start + 3, to: sizeA, more: false });
    expect(rest.applied).toBe(sizeA - start - 3);
    const dup = await n.envB.DB.prepare(
      "SELECT count(*) AS n FROM (SELECT issuer, jti FROM records GROUP BY issuer, jti HAVING count(*) > 1)",
    ).first<{ n: number }>();
    expect(dup?.n).toBe(0);
    const consumed = await n.envB.DB.prepare(
      "SELECT count(*) AS n, min(peer_index) AS lo, max(peer_index) AS hi FROM federation_entries WHERE peer_id = ?",
    )
      .bind(A_ID)
      .first<{ n: number; lo: number; hi: number }>();
    expect(consumed).toEqual({ n: sizeA, lo: 0, hi: sizeA - 1 });
  });
});

describe("B → A (both ways)", () => {
  it("brings B's own records to A; what B replicated from A is not taken back, in either direction", async () => {
    const local = await n.coordinatorB.write<WriteReceipt>("/v1/participants", "participant.admit", {
      role: "platform",
      displayName: "A platform admitted on node B",
      jwks: { keys: [(await import("@eusn/client").then((m) => m.generateParticipantKey())).publicJwk] },
    });
    expect(local.status).toBe(201);
    if (!local.ok) return;
    const sizeB = await n.countB("log_leaves");
    const recordsA = await recordsOf(env.DB);
    const toA = await n.pullOnA();
    expect(toA).toMatchObject({ status: "ok", to: sizeB, more: false });
    // B's log holds A's records (addressed to A) and B's own: only B's own come to A.
    const fromB = await recordsOf(env.DB, `origin_node = '${B_ID}'`);
    expect(fromB.map((x) => x.id)).toContain(local.data.recordId);
    expect(toA.applied).toBe(fromB.length);
    expect(toA.skipped.not_origin).toBe(sizeB - fromB.length);
    expect((await recordsOf(env.DB)).length).toBe(recordsA.length + fromB.length);
    // B's coordinator is known on A through A's PEERS configuration.
    const coordOnA = await env.DB.prepare("SELECT role FROM participants WHERE id = ?")
      .bind(B_COORDINATOR)
      .first();
    expect(coordOnA).toEqual({ role: "coordinator" });
    // And back: A's log now holds B's admission (addressed to B), which B skips.
    const back = await n.pull();
    expect(back.applied).toBe(0);
    expect(back.skipped.not_origin).toBe(fromB.length);
  });
});

describe("the federation endpoints", () => {
  it("are for coordinators; a pull names only configured peers; an unreachable peer is an error, retried later", async () => {
    const nlOnB = n.onB(nl.id, nl.key.privateJwk as JWK);
    const asAuthority = await nlOnB.postJson("/v1/federation/pull", {});
    expect(asAuthority.ok ? asAuthority.status : asAuthority.problem.code).toBe("forbidden");
    const unknown = await n.coordinatorB.postJson("/v1/federation/pull?peer=eusn-nowhere", {});
    expect(unknown.ok ? unknown.status : unknown.problem.code).toBe("not_found");
    const before = await n.countB("records");
    // The route uses the real network; https://node-a.test does not exist.
    const real = await n.coordinatorB.postJson<{ reports: { status: string }[] }>("/v1/federation/pull", {});
    expect(real.ok && real.data.reports.map((x) => x.status)).toEqual(["error"]);
    expect(await n.countB("records")).toBe(before);
  });

  it("show each peer's cursor, last verified checkpoint and counts", async () => {
    const res = await n.coordinatorB.get<{ peers: PeerView[] }>("/v1/federation/peers");
    if (!res.ok) throw new Error(JSON.stringify(res.problem));
    const sizeA = (await env.DB.prepare("SELECT count(*) AS n FROM log_leaves").first<{ n: number }>())!.n;
    expect(res.data.peers).toHaveLength(1);
    expect(res.data.peers[0]).toMatchObject({ nodeId: A_ID, status: "active", nextIndex: sizeA });
    expect(res.data.peers[0]!.checkpoint?.treeSize).toBe(sizeA);
    expect(res.data.peers[0]!.applied + res.data.peers[0]!.skipped).toBe(sizeA);
  });
});
