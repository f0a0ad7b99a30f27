// Submissions, assessments and the baseline through the real Worker and D1: the happy paths.

import { env } from "cloudflare:workers";
import type { SubmissionView, WriteReceipt } from "@eusn/protocol";
import { compactVerify, importJWK, type JWK } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { pdqItem, randomPdq, rng } from "../helpers/hashes.ts";
import { type Admitted, admit, auditLength, BASE, coordinator, nodeFetch } from "../helpers/node.ts";

type SubmitResult = {
  receipt: WriteReceipt | null;
  submissions: { id: string; outcome: "created" | "existing"; lowQuality: boolean; linked: string[] }[];
};
type Detail = {
  submission: SubmissionView;
  history: { kind: string; recordId: string; jws: string; summary: Record<string, unknown> }[];
};

let nl: Admitted;
let de: Admitted;
let fr: Admitted;
let platform: Admitted;
const r = rng(7);

beforeAll(async () => {
  nl = await admit("authority", "NL", { name: "ATKM" });
  de = await admit("authority", "DE");
  fr = await admit("authority", "FR");
  platform = await admit("platform");
});

async function submit(by: Admitted, items: unknown[]) {
  return by.client.write<SubmitResult>("/v1/submissions", "submission.create", { items });
}

async function assess(by: Admitted, submissionId: string, verdict: "concur" | "dissent", reason?: string) {
  return by.client.write<WriteReceipt>(`/v1/submissions/${submissionId}/assessments`, "assessment.create", {
    submissionId,
    verdict,
    limb: "a",
    ...(reason ? { reason } : {}),
  });
}

/** Every page of a listing, following `next`. */
async function listAll(by: Admitted, scope: string): Promise<SubmissionView[]> {
  const out: SubmissionView[] = [];
  let after = "";
  for (;;) {
    const res = await by.client.get<{ submissions: SubmissionView[]; next: string | null }>(
      `/v1/submissions?scope=${scope}&limit=500${after ? `&after=${after}` : ""}`,
    );
    if (!res.ok) throw new Error(JSON.stringify(res.problem));
    out.push(...res.data.submissions);
    if (!res.data.next) return out;
    after = res.data.next;
  }
}

async function detail(id: string): Promise<Detail> {
  const res = await coordinator().get<Detail>(`/v1/submissions/${id}`);
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
  return res.data;
}

describe("submitting", () => {
  it("stores a PDQ submission with its legal basis, one record and one audit entry", async () => {
    const before = await auditLength();
    const value = randomPdq(r);
    const res = await submit(nl, [pdqItem(value, { limbs: ["c", "a"], tlp: "amber", note: "video still" })]);
    expect(res.status).toBe(201);
    if (!res.ok) return;
    expect(res.data.submissions[0]).toMatchObject({ outcome: "created", lowQuality: false, linked: [] });
    expect(await auditLength()).toBe(before + 1);
    const d = await detail(res.data.submissions[0]!.id);
    expect(d.submission).toMatchObject({
      submitter: nl.id,
      memberState: "NL",
      value,
      limbs: ["a", "c"],
      tlp: "amber",
      status: "live",
      baselineState: "none",
      nationalProvision: "NL Sr. art. 131",
    });
    expect(d.submission.assessments).toMatchObject({ concurStates: ["NL"], quorum: 3, eligible: false });
    expect(d.history).toHaveLength(1);
    expect(d.history[0]!.kind).toBe("submission.create");
  });

  it("is idempotent for the same authority and links another authority's submission", async () => {
    const value = randomPdq(r);
    const first = await submit(nl, [pdqItem(value)]);
    const id = first.ok ? first.data.submissions[0]!.id : "";
    const before = await auditLength();
    const again = await submit(nl, [pdqItem(value)]);
    expect(again.status).toBe(200);
    expect(again.ok && again.data).toMatchObject({
      receipt: null,
      submissions: [{ id, outcome: "existing" }],
    });
    expect(await auditLength()).toBe(before);
    const other = await submit(de, [pdqItem(value)]);
    expect(other.status).toBe(201);
    expect(other.ok && other.data.submissions[0]).toMatchObject({ outcome: "created", linked: [id] });
    expect((await detail(id)).submission.linked).toEqual([other.ok ? other.data.submissions[0]!.id : "?"]);
  });

  it("takes a batch of 1,000 in one signed record and one audit entry, mixing new and existing", async () => {
    const existing = randomPdq(r);
    await submit(fr, [pdqItem(existing)]);
    const before = await auditLength();
    const items = [pdqItem(existing), ...Array.from({ length: 999 }, () => pdqItem(randomPdq(r)))];
    const res = await submit(fr, items);
    expect(res.status).toBe(201);
    if (!res.ok) return;
    expect(res.data.submissions).toHaveLength(1000);
    expect(res.data.submissions.filter((s) => s.outcome === "created")).toHaveLength(999);
    expect(res.data.submissions[0]!.outcome).toBe("existing");
    expect(await auditLength()).toBe(before + 1);
    const n = await env.DB.prepare("SELECT count(*) AS n FROM submissions WHERE record_id = ?")
      .bind(res.data.receipt!.recordId)
      .first<{ n: number }>();
    expect(n!.n).toBe(999);
  });

  it("accepts md5 and sha256, and a low-quality PDQ only when forced (then flagged)", async () => {
    const items = [
      {
        signalType: "md5",
        value: "0123456789abcdef0123456789abcdef",
        limbs: ["d"],
        contentType: "document",
        nationalProvision: "NL Sr. art. 134a",
      },
      {
        signalType: "sha256",
        value: "ab".repeat(32),
        limbs: ["e"],
        contentType: "video",
        nationalProvision: "NL Sr. art. 134a",
      },
      pdqItem(randomPdq(r), { quality: 20, force: true }),
    ];
    const res = await submit(nl, items);
    expect(res.status).toBe(201);
    expect(res.ok && res.data.submissions.map((s) => s.lowQuality)).toEqual([false, false, true]);
    // A repeat is answered from the stored submissions: the same flags, nothing new.
    const again = await submit(nl, items);
    expect(again.status).toBe(200);
    expect(again.ok && again.data.submissions.map((s) => [s.outcome, s.lowQuality])).toEqual([
      ["existing", false],
      ["existing", false],
      ["existing", true],
    ]);
  });
});

describe("assessing and the baseline", () => {
  it("runs the whole cycle: concurrences → eligible → include → dispute → retire, all in the history", async () => {
    const sub = await submit(nl, [pdqItem(randomPdq(r))]);
    const id = sub.ok ? sub.data.submissions[0]!.id : "";
    const deA = await assess(de, id, "concur");
    expect(deA.status).toBe(201);
    expect((await detail(id)).submission.assessments.eligible).toBe(false);
    const frA = await assess(fr, id, "concur");
    expect((await detail(id)).submission.assessments).toMatchObject({
      concurStates: ["DE", "FR", "NL"],
      eligible: true,
    });
    const queue = await coordinator().get<{ submissions: SubmissionView[] }>("/v1/curation?queue=eligible");
    expect(queue.ok && queue.data.submissions.map((s) => s.id)).toContain(id);

    const v0 = await coordinator().get<{ version: number; entries: { id: string }[] }>("/v1/baseline");
    const etag0 = v0.headers.get("etag");
    const cite = [deA, frA].map((a) => (a.ok ? a.data.subjectId : ""));
    const inc = await coordinator().write(`/v1/submissions/${id}/decisions`, "baseline.decide", {
      submissionId: id,
      decision: "include",
      reason: "all member states concur",
      assessmentIds: cite,
    });
    expect(inc.status).toBe(201);
    const v1 = await coordinator().get<{ version: number; entries: { id: string; state: string }[] }>(
      "/v1/baseline",
    );
    expect(v1.ok && v1.data.entries.find((e) => e.id === id)?.state).toBe("included");
    expect(v1.headers.get("etag")).not.toBe(etag0);
    const cached = await nodeFetch(`${BASE}/v1/baseline`, {
      headers: {
        authorization: `Bearer ${await platform.client.token()}`,
        "if-none-match": v1.headers.get("etag")!,
      },
    });
    expect(cached.status).toBe(304);

    // DE changes its mind: the later assessment replaces the earlier, the entry is disputed.
    expect((await assess(de, id, "dissent", "the material is journalistic reporting")).status).toBe(201);
    const d = await detail(id);
    expect(d.submission.baselineState).toBe("disputed");
    expect(d.submission.assessments).toMatchObject({
      dissenting: 1,
      eligible: false,
      concurStates: ["FR", "NL"],
    });
    expect(d.history.map((h) => h.kind)).toEqual([
      "submission.create",
      "assessment.create",
      "assessment.create",
      "baseline.decide",
      "assessment.create",
    ]);
    expect(d.history.filter((h) => h.summary.action === "assessed" && h.summary.live === false)).toHaveLength(
      1,
    );
    const disputed = await coordinator().get<{ submissions: SubmissionView[] }>(
      "/v1/curation?queue=disputed",
    );
    expect(disputed.ok && disputed.data.submissions.map((s) => s.id)).toEqual([id]);

    expect(
      (
        await coordinator().write(`/v1/submissions/${id}/decisions`, "baseline.decide", {
          submissionId: id,
          decision: "retire",
          reason: "dispute upheld",
        })
      ).status,
    ).toBe(201);
    const v2 = await coordinator().get<{ entries: { id: string }[] }>("/v1/baseline");
    expect(v2.ok && v2.data.entries.map((e) => e.id)).not.toContain(id);
    expect((await detail(id)).history).toHaveLength(6);
  });

  it("serves a baseline snapshot signed by the node key", async () => {
    const sub = await submit(de, [pdqItem(randomPdq(r))]);
    const id = sub.ok ? sub.data.submissions[0]!.id : "";
    const a1 = await assess(nl, id, "concur");
    const a2 = await assess(fr, id, "concur");
    await coordinator().write(`/v1/submissions/${id}/decisions`, "baseline.decide", {
      submissionId: id,
      decision: "include",
      reason: "quorum",
      assessmentIds: [a1, a2].map((a) => (a.ok ? a.data.subjectId : "")),
    });
    const snap = await platform.client.get<string>("/v1/baseline/snapshot");
    expect(snap.ok).toBe(true);
    const jwks = (await (await nodeFetch(`${BASE}/.well-known/jwks.json`)).json()) as { keys: JWK[] };
    const { payload, protectedHeader } = await compactVerify(
      snap.ok ? snap.data : "",
      await importJWK(jwks.keys[0]!, "EdDSA"),
    );
    expect(protectedHeader.typ).toBe("eusn-baseline+jws");
    const body = JSON.parse(new TextDecoder().decode(payload));
    expect(body.nodeId).toBe(env.NODE_ID);
    expect(body.entries.map((e: { id: string }) => e.id)).toContain(id);
    expect(body.count).toBe(body.entries.length);
  });

  it("withdrawal by the submitter and reversal by a coordinator end a submission, keeping its history", async () => {
    const sub = await submit(fr, [pdqItem(randomPdq(r)), pdqItem(randomPdq(r))]);
    const [a, b] = sub.ok ? sub.data.submissions.map((s) => s.id) : [];
    expect(
      (
        await fr.client.write(`/v1/submissions/${a}/withdraw`, "submission.withdraw", {
          submissionId: a,
          reason: "submitted in error",
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await coordinator().write(`/v1/submissions/${b}/reverse`, "submission.reverse", {
          submissionId: b,
          ground: "court_ruling",
          reason: "annulled by the court",
          reference: "ECLI:NL:RBDHA:2026:1234",
        })
      ).status,
    ).toBe(201);
    expect((await detail(a!)).submission.status).toBe("withdrawn");
    const db = await detail(b!);
    expect(db.submission.status).toBe("reversed");
    expect(db.history.at(-1)!.summary).toMatchObject({ action: "reverse", ground: "court_ruling" });
  });

  it("shows an authority its own submissions and those awaiting its assessment", async () => {
    const mine = await submit(nl, [pdqItem(randomPdq(r))]);
    const mineId = mine.ok ? mine.data.submissions[0]!.id : "";
    expect((await listAll(de, "awaiting")).map((s) => s.id)).toContain(mineId);
    await assess(de, mineId, "concur");
    expect((await listAll(de, "awaiting")).map((s) => s.id)).not.toContain(mineId);
    const own = await listAll(nl, "mine");
    expect(own.every((s) => s.submitter === nl.id)).toBe(true);
    expect(own.map((s) => s.id)).toContain(mineId);
  });
});
