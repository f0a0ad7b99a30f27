// Revoking an authority: its earlier assessments (and its own member state as submitter) stop
// counting toward the baseline quorum in the revocation's own D1 batch; included entries that fall
// short go back to the coordinators as `disputed`, each with an audit entry naming the revocation;
// no inclusion can cite the revoked authority afterwards, not even one judged before the revocation
// and landing after it; a failure anywhere in the batch leaves nothing half-written; and a node
// that replicates the revocation does exactly the same (one applier for both paths).
//
// Quorum here is the default policy: every member state with an active authority. NL, DE and FR
// each keep an authority that is never revoked (nl, de, fr), so the quorum stays 3 throughout;
// the authorities revoked are extra ones admitted per test.

import { env } from "cloudflare:workers";
import { signWrite } from "@eusn/client";
import type { MemberState, SubmissionView, WriteReceipt } from "@eusn/protocol";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { prepareRecord } from "../../workers/api/apply/pipeline.ts";
import { createAssessment, decideBaseline } from "../../workers/api/apply/submissions.ts";
import { db } from "../../workers/api/lib/db.ts";
import { ApiError } from "../../workers/api/lib/problem.ts";
import { dbState, expectGapFreeAudit } from "../helpers/db-state.ts";
import { clearFault, injectFault } from "../helpers/faults.ts";
import { pdqItem, randomPdq, rng } from "../helpers/hashes.ts";
import {
  type Admitted,
  admit,
  BASE,
  coordinator,
  expectProblem,
  nodeFetch,
  revoke as revokeAuthority,
  secondCoordinator,
  snapshot,
} from "../helpers/node.ts";
import { verifiedFor } from "../helpers/planned-write.ts";
import { twoNodes } from "../helpers/two-nodes.ts";

type Detail = {
  submission: SubmissionView;
  history: { kind: string; recordId: string; summary: Record<string, unknown> }[];
};
type AuditRow = {
  seq: number;
  kind: string;
  record_id: string | null;
  subject_id: string;
  actor: string;
  detail: string | null;
};

const r = rng(20260);
let nl: Admitted;
let de: Admitted;
let fr: Admitted;

beforeAll(async () => {
  nl = await admit("authority", "NL");
  de = await admit("authority", "DE");
  fr = await admit("authority", "FR");
});

afterEach(async () => {
  await clearFault();
  vi.restoreAllMocks();
});

const must = <T>(res: { ok: boolean; status: number; data?: T; problem?: unknown }, what: string): T => {
  if (!res.ok) throw new Error(`${what}: ${res.status} ${JSON.stringify(res.problem)}`);
  return res.data as T;
};

async function submit(by: Admitted): Promise<string> {
  const res = await by.client.write<{ submissions: { id: string }[] }>(
    "/v1/submissions",
    "submission.create",
    {
      items: [pdqItem(randomPdq(r))],
    },
  );
  return must(res, "submit").submissions[0]!.id;
}

async function assess(by: Admitted, id: string, verdict: "concur" | "dissent" = "concur"): Promise<string> {
  const res = await by.client.write<WriteReceipt>(`/v1/submissions/${id}/assessments`, "assessment.create", {
    submissionId: id,
    verdict,
    limb: "a",
    ...(verdict === "dissent" ? { reason: "not terrorist content" } : {}),
  });
  return must(res, "assess").subjectId;
}

const decide = (id: string, assessmentIds: string[], decision = "include") =>
  coordinator().write<WriteReceipt>(`/v1/submissions/${id}/decisions`, "baseline.decide", {
    submissionId: id,
    decision,
    reason: "the cited member states concur",
    assessmentIds,
  });

async function include(id: string, assessmentIds: string[]) {
  must(await decide(id, assessmentIds), "include");
}

/** Signed by the bootstrap coordinator and countersigned by a second one: the countersignature's receipt. */
async function revoke(p: Admitted): Promise<WriteReceipt> {
  return revokeAuthority(p.id, "key compromised");
}

async function view(id: string): Promise<SubmissionView> {
  return (await detail(id)).submission;
}

async function detail(id: string): Promise<Detail> {
  return must(await coordinator().get<Detail>(`/v1/submissions/${id}`), "detail");
}

async function queue(name: string): Promise<string[]> {
  const res = await coordinator().get<{ submissions: SubmissionView[] }>(
    `/v1/curation?queue=${name}&limit=500`,
  );
  return must(res, "curation").submissions.map((s) => s.id);
}

async function auditAfter(seq: number): Promise<AuditRow[]> {
  const rows = await env.DB.prepare(
    "SELECT seq, kind, record_id, subject_id, actor, detail FROM audit_log WHERE seq > ? ORDER BY seq",
  )
    .bind(seq)
    .all<AuditRow>();
  return rows.results;
}

async function changesOf(id: string) {
  const rows = await env.DB.prepare(
    "SELECT change, affects_baseline, record_id FROM submission_changes WHERE submission_id = ? ORDER BY seq",
  )
    .bind(id)
    .all<{ change: string; affects_baseline: number; record_id: string }>();
  return rows.results;
}

const extra = (state: MemberState) => admit("authority", state, { name: `extra ${state} authority` });

describe("revoking an authority recounts the quorum in the same batch", () => {
  it("its concurrences and dissents stop counting; included entries that fall short are disputed and audited; the rest keep their state", async () => {
    const fr2 = await extra("FR");
    // A: NL's, concurred by DE and FR2 (the one to be revoked): included on exactly the quorum.
    const a = await submit(nl);
    const aDe = await assess(de, a);
    const aFr2 = await assess(fr2, a);
    await include(a, [aDe, aFr2]);
    // B: included on the same citations, but FR also concurs (another French authority): after
    // the revocation FR still counts through it, so B stays included.
    const b = await submit(nl);
    const bDe = await assess(de, b);
    const bFr2 = await assess(fr2, b);
    await assess(fr, b);
    await include(b, [bDe, bFr2]);
    // C: not in the baseline; FR2 concurred.
    const c = await submit(nl);
    await assess(fr2, c);
    // D: FR2's own submission, included with NL and DE: the submitter's state stops counting.
    const d = await submit(fr2);
    const dNl = await assess(nl, d);
    const dDe = await assess(de, d);
    await include(d, [dNl, dDe]);
    // E: FR2 dissents; DE and FR concur. The dissent blocks it until FR2 is revoked.
    const e = await submit(nl);
    await assess(de, e);
    await assess(fr, e);
    await assess(fr2, e, "dissent");
    // F: entirely unrelated to FR2, included: untouched.
    const f = await submit(nl);
    const fDe = await assess(de, f);
    const fFr = await assess(fr, f);
    await include(f, [fDe, fFr]);

    expect((await view(a)).assessments).toMatchObject({ concurStates: ["DE", "FR", "NL"], quorum: 3 });
    expect((await view(e)).assessments).toMatchObject({ dissenting: 1, eligible: false });
    const baselineBefore = (
      await nodeFetch(`${BASE}/v1/baseline`, { headers: await bearerHeaders() })
    ).headers.get("etag");

    const receipt = await revoke(fr2);

    const [va, vb, vc, vd, ve, vf] = (await Promise.all([a, b, c, d, e, f].map(view))) as [
      SubmissionView,
      SubmissionView,
      SubmissionView,
      SubmissionView,
      SubmissionView,
      SubmissionView,
    ];
    expect(va).toMatchObject({ baselineState: "disputed", status: "live" });
    expect(va.assessments).toMatchObject({
      concurStates: ["DE", "NL"],
      concurring: 2,
      quorum: 3,
      eligible: false,
    });
    expect(vb).toMatchObject({ baselineState: "included" });
    expect(vb.assessments.concurStates).toEqual(["DE", "FR", "NL"]);
    expect(vc).toMatchObject({ baselineState: "none" });
    expect(vc.assessments.concurStates).toEqual(["NL"]);
    expect(vd).toMatchObject({ baselineState: "disputed", status: "live" });
    expect(vd.assessments.concurStates).toEqual(["DE", "NL"]);
    expect(ve.assessments).toMatchObject({ concurStates: ["DE", "FR", "NL"], dissenting: 0, eligible: true });
    expect(ve.baselineState).toBe("none"); // eligible again, but only a coordinator includes it
    expect(vf).toMatchObject({ baselineState: "included" });

    // The coordinators see A and D in the disputed queue; E is now eligible.
    const disputed = await queue("disputed");
    expect(disputed).toEqual(expect.arrayContaining([a, d]));
    expect(disputed).not.toContain(b);
    expect(await queue("eligible")).toContain(e);

    // The change feed says why: a `disputed` change whose record is the revocation.
    expect((await changesOf(a)).at(-1)).toEqual({
      change: "disputed",
      affects_baseline: 1,
      record_id: receipt.recordId,
    });
    expect((await changesOf(b)).map((x) => x.change)).toEqual(["created", "included"]);
    const baselineAfter = (
      await nodeFetch(`${BASE}/v1/baseline`, { headers: await bearerHeaders() })
    ).headers.get("etag");
    expect(baselineAfter).not.toBe(baselineBefore);

    // The audit trail: the revocation first (it takes effect with its countersignature), then
    // one `baseline.disputed` per entry sent back.
    const trail = await auditAfter(receipt.auditSeq - 1);
    expect(trail[0]).toMatchObject({
      kind: "participant.countersign",
      record_id: receipt.recordId,
      subject_id: fr2.id,
    });
    const sentBack = trail.filter((x) => x.kind === "baseline.disputed");
    expect(sentBack.map((x) => x.subject_id).sort()).toEqual([a, d].sort());
    expect(trail).toHaveLength(3);
    for (const x of sentBack) {
      expect(x).toMatchObject({ actor: "system", record_id: null });
      expect(JSON.parse(x.detail!)).toMatchObject({
        cause: "participant.revoke",
        recordId: receipt.recordId,
        participantId: fr2.id,
        concurStates: ["DE", "NL"],
        quorum: 3,
      });
    }
    await expectGapFreeAudit();

    // The entry's own history shows the revocation and marks the revoked authority's assessment.
    const h = await detail(a);
    const revokedItem = h.history.find((x) => x.recordId === receipt.recordId);
    expect(revokedItem).toMatchObject({ kind: "participant.countersign", summary: { action: "disputed" } });
    const fr2Assessment = h.history.find((x) => x.summary.assessmentId === aFr2);
    expect(fr2Assessment?.summary).toMatchObject({ live: true, counts: false, authorityRevoked: true });
    expect(h.history.find((x) => x.summary.assessmentId === aDe)?.summary).toMatchObject({ counts: true });
  });

  it("a disputed entry comes back only by a coordinator's new inclusion, citing active authorities that reach the quorum", async () => {
    const fr3 = await extra("FR");
    const id = await submit(nl);
    const viaDe = await assess(de, id);
    const viaFr3 = await assess(fr3, id);
    await include(id, [viaDe, viaFr3]);
    await revoke(fr3);
    expect((await view(id)).baselineState).toBe("disputed");

    // Citing the revoked authority's concurrence: refused, nothing stored.
    const before = await dbState();
    const cited = await decide(id, [viaDe, viaFr3]);
    expect(cited.ok ? 0 : cited.problem.code).toBe("unprocessable");
    expect(cited.ok ? "" : cited.problem.detail).toMatch(/revoked/);
    // Without it the entry is not eligible (NL and DE only).
    const short = await decide(id, [viaDe]);
    expect(short.ok ? 0 : short.problem.code).toBe("unprocessable");
    expect(await dbState()).toEqual(before);

    // Another French authority concurs: eligible again, and the coordinator re-includes it.
    const viaFr = await assess(fr, id);
    expect((await view(id)).assessments.eligible).toBe(true);
    must(await decide(id, [viaDe, viaFr]), "re-include");
    expect((await view(id)).baselineState).toBe("included");
  });

  it("an inclusion cannot cite a revoked authority, and a revoked submitter's own state does not count", async () => {
    const de2 = await extra("DE");
    const nl2 = await extra("NL");
    // The submitter (NL2) is revoked: NL counts only through NL's other authority.
    const id = await submit(nl2);
    const viaDe2 = await assess(de2, id);
    const viaFr = await assess(fr, id);
    await revoke(de2);
    await revoke(nl2);
    expect((await view(id)).assessments.concurStates).toEqual(["FR"]);
    const before = await snapshot(["submissions", "assessments", "decisions", "submission_changes"]);
    for (const citation of [[viaDe2, viaFr], [viaFr]]) {
      const res = await decide(id, citation);
      expect(res.ok ? 0 : res.problem.code).toBe("unprocessable");
    }
    expect(await snapshot(["submissions", "assessments", "decisions", "submission_changes"])).toEqual(before);
    // NL (its other authority) and DE concur: FR + NL + DE reach the quorum without the revoked two.
    const viaNl = await assess(nl, id);
    const viaDe = await assess(de, id);
    must(await decide(id, [viaNl, viaDe, viaFr]), "include");
  });

  it("a revoked authority can no longer assess, and revoking twice is a conflict that changes nothing", async () => {
    const nl3 = await extra("NL");
    const id = await submit(de);
    await revoke(nl3);
    const jws = await signWrite(
      { participantId: nl3.id, privateJwk: nl3.key.privateJwk },
      env.NODE_ID,
      "assessment.create",
      { submissionId: id, verdict: "dissent", limb: "a", reason: "not terrorist" },
    );
    const before = await dbState();
    await expectProblem(
      await nodeFetch(`${BASE}/v1/submissions/${id}/assessments`, {
        method: "POST",
        headers: { "content-type": "application/jose" },
        body: jws,
      }),
      403,
      "participant_revoked",
    );
    const twice = await coordinator().write(`/v1/participants/${nl3.id}/revoke`, "participant.revoke", {
      participantId: nl3.id,
      reason: "again",
    });
    expect(twice.ok ? 0 : twice.problem.code).toBe("conflict");
    expect(await dbState()).toEqual(before);
  });
});

describe("records judged before a revocation that land after it", () => {
  it("an inclusion judged eligible, then overtaken by the revocation of an authority it cites, is refused whole (409)", async () => {
    const fr4 = await extra("FR");
    const id = await submit(nl);
    const viaDe = await assess(de, id);
    const viaFr4 = await assess(fr4, id);
    const c = coordinator();
    // Signed a minute ahead (within the allowed clock skew), so the revocation below, signed
    // after it is judged, still comes first in signed order however slowly the machine runs:
    // that order is what the final re-judgement is about. (Signed in the same second, the two
    // tie on time and the stored revocation comes first; a second apart, the inclusion would
    // precede the revocation and be valid when judged again.)
    const w = await verifiedFor(
      decideBaseline,
      { participantId: c.participantId, privateJwk: c.privateJwk },
      {
        submissionId: id,
        decision: "include",
        reason: "judged before the revocation",
        assessmentIds: [viaDe, viaFr4],
      },
      { iat: Math.floor(Date.now() / 1000) + 60 },
    );
    const d = db(env.DB);
    const prepared = await prepareRecord(d, env, w); // eligible now
    await revoke(fr4); // lands first
    const before = await dbState();
    const err = await prepared.commit().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe("conflict");
    expect(await dbState()).toEqual(before);
    expect((await view(id)).baselineState).toBe("none");
    // Judged again now, the same record is refused by the rule itself.
    await expect(prepareRecord(d, env, w)).rejects.toMatchObject({
      code: "unprocessable",
    });
  });

  it("a dissent judged before its authority's revocation and landing after it is refused whole (409): it neither counts nor disputes", async () => {
    const de3 = await extra("DE");
    const id = await submit(nl);
    const viaDe = await assess(de, id);
    const viaFr = await assess(fr, id);
    await include(id, [viaDe, viaFr]);
    const w = await verifiedFor(
      createAssessment,
      { participantId: de3.id, privateJwk: de3.key.privateJwk },
      {
        submissionId: id,
        verdict: "dissent",
        limb: "a",
        reason: "judged before the revocation",
      },
    );
    const d = db(env.DB);
    const prepared = await prepareRecord(d, env, w);
    await revoke(de3);
    // The registry moved between the judgement and the batch: judged on a stale registry, the
    // write is refused whole rather than stored on a derivation that no longer holds.
    const before = await dbState();
    const err = await prepared.commit().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe("conflict");
    expect(await dbState()).toEqual(before);
    const v = await view(id);
    expect(v.baselineState).toBe("included");
    expect(v.assessments).toMatchObject({ dissenting: 0, concurStates: ["DE", "FR", "NL"] });
    expect((await changesOf(id)).map((x) => x.change)).toEqual(["created", "included"]);
  });
});

describe("a revocation whose batch fails leaves nothing half-written", () => {
  const faults = [
    ["the change feed", `BEFORE INSERT ON submission_changes`],
    ["an entry's tally", `BEFORE UPDATE OF concur_states ON submissions`],
    [
      "the dispute's audit entry (the last statements of the batch)",
      `BEFORE INSERT ON audit_log WHEN NEW.kind = 'baseline.disputed'`,
    ],
  ] as const;

  it.each(faults)(
    "when %s fails: no revocation, no recount, no dispute; the same JWS then lands once",
    async (_, when) => {
      vi.spyOn(console, "error").mockImplementation(() => {});
      const de4 = await extra("DE");
      const id = await submit(nl);
      const viaDe4 = await assess(de4, id);
      const viaFr = await assess(fr, id);
      await include(id, [viaDe4, viaFr]);
      // The revocation takes effect with its second signature: that is the batch that recounts.
      const request = must(
        await coordinator().write<WriteReceipt>(`/v1/participants/${de4.id}/revoke`, "participant.revoke", {
          participantId: de4.id,
          reason: "key compromised",
        }),
        "revocation request",
      );
      const c = await secondCoordinator();
      const jws = await signWrite(
        { participantId: c.participantId, privateJwk: c.privateJwk },
        env.NODE_ID,
        "participant.countersign",
        { participantId: de4.id, requestRecordId: request.recordId, action: "revoke" },
      );
      const post = () =>
        nodeFetch(`${BASE}/v1/participants/${de4.id}/countersign`, {
          method: "POST",
          headers: { "content-type": "application/jose" },
          body: jws,
        });
      const before = await dbState();
      await injectFault(when);
      await expectProblem(await post(), 500, "internal_error");
      await clearFault();
      expect(await dbState()).toEqual(before);
      const v = await view(id);
      expect(v.baselineState).toBe("included");
      expect(v.assessments.concurStates).toEqual(["DE", "FR", "NL"]);
      // DE4 is still active: it can still assess.
      await assess(de4, await submit(nl));

      const res = await post();
      expect(res.status).toBe(201);
      expect((await view(id)).baselineState).toBe("disputed");
      await expectGapFreeAudit();
    },
  );
});

describe("a node that replicates the revocation recounts exactly as its origin", () => {
  it("B pulls A's log: the same entry becomes disputed on B, with its own audit entry, and B refuses the same citation", async () => {
    const n = await twoNodes();
    /** Everything A holds (earlier tests wrote more than one pull takes). */
    const pullAll = async () => {
      for (;;) {
        const report = await n.pull();
        expect(report.status, JSON.stringify(report)).toBe("ok");
        if (!report.more) return;
      }
    };
    const fr5 = await extra("FR");
    const id = await submit(nl);
    const viaDe = await assess(de, id);
    const viaFr5 = await assess(fr5, id);
    await include(id, [viaDe, viaFr5]);
    await pullAll();
    const onB = (sql: string, ...args: unknown[]) =>
      n.envB.DB.prepare(sql)
        .bind(...args)
        .first<Record<string, unknown>>();
    expect(await onB("SELECT baseline_state FROM submissions WHERE id = ?", id)).toEqual({
      baseline_state: "included",
    });

    const receipt = await revoke(fr5);
    await pullAll();
    expect(await onB("SELECT baseline_state, concur_states FROM submissions WHERE id = ?", id)).toEqual({
      baseline_state: "disputed",
      concur_states: '["DE","NL"]',
    });
    expect(
      await onB(
        "SELECT change, record_id FROM submission_changes WHERE submission_id = ? ORDER BY seq DESC LIMIT 1",
        id,
      ),
    ).toEqual({
      change: "disputed",
      record_id: receipt.recordId,
    });
    const audit = await onB(
      "SELECT actor, detail FROM audit_log WHERE kind = 'baseline.disputed' AND subject_id = ?",
      id,
    );
    expect(audit?.actor).toBe("system");
    expect(JSON.parse(String(audit?.detail))).toMatchObject({
      recordId: receipt.recordId,
      participantId: fr5.id,
    });

    // B's coordinator cannot cite the revoked authority either.
    const res = await n.coordinatorB.write(`/v1/submissions/${id}/decisions`, "baseline.decide", {
      submissionId: id,
      decision: "include",
      reason: "citing a revoked authority",
      assessmentIds: [viaDe, viaFr5],
    });
    expect(res.ok ? 0 : res.problem.code).toBe("unprocessable");
  });
});

async function bearerHeaders(): Promise<Record<string, string>> {
  const { signAccessToken } = await import("@eusn/client");
  const c = coordinator();
  return {
    authorization: `Bearer ${await signAccessToken({ participantId: c.participantId, privateJwk: c.privateJwk }, env.NODE_ID)}`,
  };
}
