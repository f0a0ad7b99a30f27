// Tries to break every rule of submissions, assessments and the baseline. Each refused attempt
// must answer a clear problem and leave every table exactly as it was.

import { env } from "cloudflare:workers";
import { signWrite } from "@eusn/client";
import type { SubmitResult, WriteReceipt } from "@eusn/protocol";
import { beforeAll, describe, expect, it } from "vitest";
import { pdqItem, randomPdq, rng } from "../helpers/hashes.ts";
import {
  type Admitted,
  admit,
  BASE,
  coordinator,
  expectProblem,
  nodeFetch,
  snapshot,
} from "../helpers/node.ts";

const TABLES = [
  "submissions",
  "assessments",
  "decisions",
  "feedback",
  "submission_changes",
  "submission_matches",
] as const;

let nl: Admitted;
let nl2: Admitted;
let de: Admitted;
let fr: Admitted;
let platform: Admitted;
const r = rng(99);

beforeAll(async () => {
  nl = await admit("authority", "NL");
  nl2 = await admit("authority", "NL", { name: "second Dutch authority" });
  de = await admit("authority", "DE");
  fr = await admit("authority", "FR");
  platform = await admit("platform");
});

async function submitOne(by: Admitted = nl, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await by.client.write<SubmitResult>("/v1/submissions", "submission.create", {
    items: [pdqItem(randomPdq(r), extra)],
  });
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
  return res.data.submissions[0]!.id;
}

async function assess(by: Admitted, id: string, verdict: "concur" | "dissent" = "concur") {
  const res = await by.client.write<WriteReceipt>(`/v1/submissions/${id}/assessments`, "assessment.create", {
    submissionId: id,
    verdict,
    limb: "a",
    ...(verdict === "dissent" ? { reason: "not terrorist content" } : {}),
  });
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
  return res.data.subjectId;
}

/** Sends a signed write as `by` and checks the problem and that nothing was stored. */
async function refused(
  by: Admitted | "coordinator",
  path: string,
  kind: string,
  record: unknown,
  status: number,
  code: string,
) {
  const before = await snapshot(TABLES);
  const client = by === "coordinator" ? coordinator() : by.client;
  const jws = await signWrite(
    { participantId: client.participantId, privateJwk: client.privateJwk },
    env.NODE_ID,
    kind,
    record,
  );
  const res = await nodeFetch(`${BASE}${path}`, {
    method: "POST",
    headers: { "content-type": "application/jose" },
    body: jws,
  });
  const p = await expectProblem(res, status, code);
  expect(await snapshot(TABLES)).toEqual(before);
  return p;
}

const include = (id: string, assessmentIds: string[]) => ({
  submissionId: id,
  decision: "include",
  reason: "quorum reached",
  assessmentIds,
});

describe("submissions", () => {
  it("only authorities submit", async () => {
    const rec = { items: [pdqItem(randomPdq(r))] };
    await refused(platform, "/v1/submissions", "submission.create", rec, 403, "forbidden");
    await refused("coordinator", "/v1/submissions", "submission.create", rec, 403, "forbidden");
  });

  it("a bad item refuses the whole batch, naming the item", async () => {
    const items = [pdqItem(randomPdq(r)), pdqItem(randomPdq(r)), pdqItem("XYZ"), pdqItem(randomPdq(r))];
    const p = await refused(nl, "/v1/submissions", "submission.create", { items }, 400, "validation_failed");
    expect(p.errors?.map((e) => e.path)).toContain("/record/items/2/value");
  });

  it("hex must be lower case and the right length for its type", async () => {
    const up = randomPdq(r).toUpperCase();
    await refused(
      nl,
      "/v1/submissions",
      "submission.create",
      { items: [pdqItem(up)] },
      400,
      "validation_failed",
    );
    await refused(
      nl,
      "/v1/submissions",
      "submission.create",
      { items: [{ ...pdqItem("ab".repeat(16)), signalType: "sha256", quality: undefined }] },
      400,
      "validation_failed",
    );
    await refused(
      nl,
      "/v1/submissions",
      "submission.create",
      { items: [pdqItem("0".repeat(64))] },
      400,
      "validation_failed",
    );
  });

  it("PDQ below quality 50 without force, and quality on exact hashes, are refused", async () => {
    const p = await refused(
      nl,
      "/v1/submissions",
      "submission.create",
      { items: [pdqItem(randomPdq(r), { quality: 49 })] },
      400,
      "validation_failed",
    );
    expect(p.errors?.[0]?.path).toBe("/record/items/0/quality");
    await refused(
      nl,
      "/v1/submissions",
      "submission.create",
      {
        items: [
          {
            signalType: "md5",
            value: "a".repeat(32),
            quality: 90,
            limbs: ["a"],
            contentType: "image",
            nationalProvision: "x law",
          },
        ],
      },
      400,
      "validation_failed",
    );
  });

  it("batches over 1,000, repeated values, unknown limbs or TLP, and past expiry are refused", async () => {
    const v = randomPdq(r);
    await refused(
      nl,
      "/v1/submissions",
      "submission.create",
      { items: Array.from({ length: 1001 }, () => pdqItem(randomPdq(r))) },
      400,
      "validation_failed",
    );
    await refused(
      nl,
      "/v1/submissions",
      "submission.create",
      { items: [pdqItem(v), pdqItem(v)] },
      400,
      "validation_failed",
    );
    await refused(
      nl,
      "/v1/submissions",
      "submission.create",
      { items: [pdqItem(v, { limbs: ["f"] })] },
      400,
      "validation_failed",
    );
    await refused(
      nl,
      "/v1/submissions",
      "submission.create",
      { items: [pdqItem(v, { tlp: "white" })] },
      400,
      "validation_failed",
    );
    await refused(
      nl,
      "/v1/submissions",
      "submission.create",
      { items: [pdqItem(v, { expiresAt: "2020-01-01T00:00:00Z" })] },
      400,
      "validation_failed",
    );
    await refused(
      nl,
      "/v1/submissions",
      "submission.create",
      { items: [pdqItem(v, { sneaky: true })] },
      400,
      "validation_failed",
    );
  });
});

describe("assessments", () => {
  it("an authority cannot assess its own submission to reach quorum", async () => {
    const id = await submitOne(nl);
    await refused(
      nl,
      `/v1/submissions/${id}/assessments`,
      "assessment.create",
      { submissionId: id, verdict: "concur", limb: "a" },
      403,
      "forbidden",
    );
  });

  it("platforms and coordinators cannot assess", async () => {
    const id = await submitOne(nl);
    const rec = { submissionId: id, verdict: "concur", limb: "a" };
    await refused(platform, `/v1/submissions/${id}/assessments`, "assessment.create", rec, 403, "forbidden");
    await refused(
      "coordinator",
      `/v1/submissions/${id}/assessments`,
      "assessment.create",
      rec,
      403,
      "forbidden",
    );
  });

  it("a dissent needs a reason", async () => {
    const id = await submitOne(nl);
    const p = await refused(
      de,
      `/v1/submissions/${id}/assessments`,
      "assessment.create",
      { submissionId: id, verdict: "dissent", limb: "a" },
      400,
      "validation_failed",
    );
    expect(p.errors?.[0]?.path).toBe("/record/reason");
  });

  it("a withdrawn submission cannot be assessed; the path and record must name the same entry", async () => {
    const id = await submitOne(nl);
    const other = await submitOne(nl);
    await refused(
      de,
      `/v1/submissions/${other}/assessments`,
      "assessment.create",
      { submissionId: id, verdict: "concur", limb: "a" },
      400,
      "bad_request",
    );
    await nl.client.write(`/v1/submissions/${id}/withdraw`, "submission.withdraw", {
      submissionId: id,
      reason: "error",
    });
    await refused(
      de,
      `/v1/submissions/${id}/assessments`,
      "assessment.create",
      { submissionId: id, verdict: "concur", limb: "a" },
      409,
      "conflict",
    );
  });

  it("an unknown submission is a 404", async () => {
    await refused(
      de,
      "/v1/submissions/hsh_unknown000/assessments",
      "assessment.create",
      { submissionId: "hsh_unknown000", verdict: "concur", limb: "a" },
      404,
      "not_found",
    );
  });
});

describe("the baseline", () => {
  it("two authorities of the same member state count once", async () => {
    const id = await submitOne(nl);
    const a1 = await assess(nl2, id); // NL again
    const a2 = await assess(de, id);
    // NL + DE = 2 of 3 states: not eligible, whatever is cited.
    const p = await refused(
      "coordinator",
      `/v1/submissions/${id}/decisions`,
      "baseline.decide",
      include(id, [a1, a2]),
      422,
      "unprocessable",
    );
    expect(p.detail).toMatch(/2 of 3 member states/);
  });

  it("a coordinator cannot include an ineligible entry, nor one with a live dissent", async () => {
    const id = await submitOne(nl);
    await refused(
      "coordinator",
      `/v1/submissions/${id}/decisions`,
      "baseline.decide",
      include(id, []),
      422,
      "unprocessable",
    );
    const a1 = await assess(de, id);
    const a2 = await assess(fr, id);
    await assess(nl2, id, "dissent");
    await refused(
      "coordinator",
      `/v1/submissions/${id}/decisions`,
      "baseline.decide",
      include(id, [a1, a2]),
      422,
      "unprocessable",
    );
  });

  it("an inclusion must cite concurrences that reach the quorum themselves", async () => {
    const id = await submitOne(nl);
    const a1 = await assess(de, id);
    await assess(fr, id);
    await refused(
      "coordinator",
      `/v1/submissions/${id}/decisions`,
      "baseline.decide",
      include(id, [a1]),
      422,
      "unprocessable",
    );
    await refused(
      "coordinator",
      `/v1/submissions/${id}/decisions`,
      "baseline.decide",
      include(id, ["asm_notreal0000"]),
      422,
      "unprocessable",
    );
  });

  it("a superseded assessment cannot be cited", async () => {
    const id = await submitOne(nl);
    const old = await assess(de, id);
    await assess(de, id); // replaces `old`
    const a2 = await assess(fr, id);
    await refused(
      "coordinator",
      `/v1/submissions/${id}/decisions`,
      "baseline.decide",
      include(id, [old, a2]),
      422,
      "unprocessable",
    );
  });

  it("TLP:RED is never included", async () => {
    const id = await submitOne(nl, { tlp: "red" });
    const a1 = await assess(de, id);
    const a2 = await assess(fr, id);
    await refused(
      "coordinator",
      `/v1/submissions/${id}/decisions`,
      "baseline.decide",
      include(id, [a1, a2]),
      422,
      "unprocessable",
    );
  });

  it("only coordinators decide; authorities and platforms cannot", async () => {
    const id = await submitOne(nl);
    const a1 = await assess(de, id);
    const a2 = await assess(fr, id);
    await refused(
      nl,
      `/v1/submissions/${id}/decisions`,
      "baseline.decide",
      include(id, [a1, a2]),
      403,
      "forbidden",
    );
    await refused(
      platform,
      `/v1/submissions/${id}/decisions`,
      "baseline.decide",
      include(id, [a1, a2]),
      403,
      "forbidden",
    );
  });

  it("including twice, retiring what is not in the baseline, and excluding twice are conflicts", async () => {
    const id = await submitOne(nl);
    const a1 = await assess(de, id);
    const a2 = await assess(fr, id);
    await refused(
      "coordinator",
      `/v1/submissions/${id}/decisions`,
      "baseline.decide",
      { submissionId: id, decision: "retire", reason: "x-x-x" },
      409,
      "conflict",
    );
    expect(
      (await coordinator().write(`/v1/submissions/${id}/decisions`, "baseline.decide", include(id, [a1, a2])))
        .status,
    ).toBe(201);
    await refused(
      "coordinator",
      `/v1/submissions/${id}/decisions`,
      "baseline.decide",
      include(id, [a1, a2]),
      409,
      "conflict",
    );
    expect(
      (
        await coordinator().write(`/v1/submissions/${id}/decisions`, "baseline.decide", {
          submissionId: id,
          decision: "exclude",
          reason: "error",
        })
      ).status,
    ).toBe(201);
    await refused(
      "coordinator",
      `/v1/submissions/${id}/decisions`,
      "baseline.decide",
      { submissionId: id, decision: "exclude", reason: "error" },
      409,
      "conflict",
    );
  });
});

describe("withdrawal, reversal and feedback", () => {
  it("only the submitting authority withdraws; another authority cannot", async () => {
    const id = await submitOne(nl);
    await refused(
      de,
      `/v1/submissions/${id}/withdraw`,
      "submission.withdraw",
      { submissionId: id, reason: "not mine" },
      403,
      "forbidden",
    );
    await refused(
      nl2,
      `/v1/submissions/${id}/withdraw`,
      "submission.withdraw",
      { submissionId: id, reason: "same state, other body" },
      403,
      "forbidden",
    );
    await refused(
      "coordinator",
      `/v1/submissions/${id}/withdraw`,
      "submission.withdraw",
      { submissionId: id, reason: "use reverse" },
      403,
      "forbidden",
    );
  });

  it("only coordinators reverse; twice is a conflict", async () => {
    const id = await submitOne(nl);
    const rec = { submissionId: id, ground: "court_ruling", reason: "annulled" };
    await refused(nl, `/v1/submissions/${id}/reverse`, "submission.reverse", rec, 403, "forbidden");
    await refused(platform, `/v1/submissions/${id}/reverse`, "submission.reverse", rec, 403, "forbidden");
    expect(
      (await coordinator().write(`/v1/submissions/${id}/reverse`, "submission.reverse", rec)).status,
    ).toBe(201);
    await refused("coordinator", `/v1/submissions/${id}/reverse`, "submission.reverse", rec, 409, "conflict");
  });

  it("feedback only from platforms, and only about entries they matched", async () => {
    const id = await submitOne(nl);
    const rec = { submissionId: id, outcome: "false_positive" };
    await refused(platform, `/v1/submissions/${id}/feedback`, "feedback.create", rec, 403, "forbidden");
    await refused(de, `/v1/submissions/${id}/feedback`, "feedback.create", rec, 403, "forbidden");
  });
});

describe("reads", () => {
  it("platforms cannot list or read submissions outside the baseline; authorities cannot see the curation queue", async () => {
    const id = await submitOne(nl);
    await expectProblem(
      await nodeFetch(`${BASE}/v1/submissions`, {
        headers: { authorization: `Bearer ${await platform.client.token()}` },
      }),
      403,
      "forbidden",
    );
    await expectProblem(
      await nodeFetch(`${BASE}/v1/submissions/${id}`, {
        headers: { authorization: `Bearer ${await platform.client.token()}` },
      }),
      403,
      "forbidden",
    );
    await expectProblem(
      await nodeFetch(`${BASE}/v1/curation?queue=eligible`, {
        headers: { authorization: `Bearer ${await nl.client.token()}` },
      }),
      403,
      "forbidden",
    );
    await expectProblem(await nodeFetch(`${BASE}/v1/baseline`), 401, "unauthenticated");
    await expectProblem(
      await nodeFetch(`${BASE}/v1/reversals`, {
        headers: { authorization: `Bearer ${await nl.client.token()}` },
      }),
      403,
      "forbidden",
    );
  });

  it("unknown queues and ids are clear problems", async () => {
    await expectProblem(
      await nodeFetch(`${BASE}/v1/curation?queue=everything`, {
        headers: { authorization: `Bearer ${await coordinator().token()}` },
      }),
      400,
      "validation_failed",
    );
    await expectProblem(
      await nodeFetch(`${BASE}/v1/submissions/hsh_nothere000`, {
        headers: { authorization: `Bearer ${await coordinator().token()}` },
      }),
      404,
      "not_found",
    );
    await expectProblem(
      await nodeFetch(`${BASE}/v1/submissions/not-an-id`, {
        headers: { authorization: `Bearer ${await coordinator().token()}` },
      }),
      400,
      "validation_failed",
    );
  });
});
