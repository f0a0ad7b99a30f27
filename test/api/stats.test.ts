// GET /v1/stats (public aggregates) and GET /v1/stats/submissions/{id} (coordinator), plus the
// public statistics page, through the real Worker and D1. Builds a small history whose every
// figure is known, then checks each one and that nothing but counts leaks.

import type { SubmitResult, WriteReceipt } from "@eusn/protocol";
import { beforeAll, describe, expect, it } from "vitest";
import { pdqItem, randomHex, randomPdq, rng } from "../helpers/hashes.ts";
import { type Admitted, admit, BASE, coordinator, expectProblem, nodeFetch } from "../helpers/node.ts";

type Stats = Record<string, unknown> & {
  baseline: { total: number; byLimb: Record<string, number>; byMemberState: Record<string, number> };
  byMemberState: Record<string, unknown>[];
};

const r = rng(88);
let nl: Admitted;
let de: Admitted;
let platform: Admitted;
const values = { a: randomPdq(r), b: randomHex(r, 32), c: randomHex(r, 64), d: randomPdq(r) };
const ids: Record<string, string> = {};
const recordIds: string[] = [];

function ok<T>(res: { ok: true; data: T } | { ok: false; status: number; problem: unknown }): T {
  if (!res.ok) throw new Error(`${res.status} ${JSON.stringify(res.problem)}`);
  return res.data;
}

async function stats(): Promise<Stats> {
  const res = await nodeFetch(`${BASE}/v1/stats`);
  expect(res.status).toBe(200);
  return (await res.json()) as Stats;
}

beforeAll(async () => {
  nl = await admit("authority", "NL", { name: "ATKM" });
  de = await admit("authority", "DE", { name: "BKA" });
  platform = await admit("platform", undefined, { name: "Demo Social" });
  const item = (signalType: string, value: string, limbs: string[]) => ({
    signalType,
    value,
    limbs,
    contentType: "image",
    nationalProvision: "NL Sr. art. 131",
  });
  const sub = ok(
    await nl.client.write<SubmitResult>("/v1/submissions", "submission.create", {
      items: [
        pdqItem(values.a, { limbs: ["c", "a"] }),
        item("md5", values.b, ["b"]),
        item("sha256", values.c, ["a"]),
      ],
    }),
  );
  recordIds.push(sub.receipt!.recordId);
  for (const [i, k] of ["a", "b", "c"].entries()) ids[k] = sub.submissions[i]!.id;
  const subD = ok(
    await de.client.write<SubmitResult>("/v1/submissions", "submission.create", {
      items: [pdqItem(values.d, { limbs: ["e"], nationalProvision: "DE StGB § 91" })],
    }),
  );
  ids.d = subD.submissions[0]!.id;
  const assess = (by: Admitted, id: string, verdict: string, reason?: string) =>
    by.client.write<WriteReceipt>(`/v1/submissions/${id}/assessments`, "assessment.create", {
      submissionId: id,
      verdict,
      limb: "a",
      ...(reason ? { reason } : {}),
    });
  const concurA = ok(await assess(de, ids.a!, "concur"));
  const concurB = ok(await assess(de, ids.b!, "concur"));
  ok(await assess(nl, ids.d!, "dissent", "not terrorist content under NL law"));
  const coord = coordinator();
  const include = async (id: string, receipt: WriteReceipt) => {
    // The assessment id is the receipt's subject.
    ok(
      await coord.write(`/v1/submissions/${id}/decisions`, "baseline.decide", {
        submissionId: id,
        decision: "include",
        reason: "assessed as terrorist content by NL and DE",
        assessmentIds: [receipt.subjectId],
      }),
    );
  };
  await include(ids.a!, concurA);
  await include(ids.b!, concurB);
  ok(
    await nl.client.write(`/v1/submissions/${ids.c}/withdraw`, "submission.withdraw", {
      submissionId: ids.c,
      reason: "submitted by mistake",
    }),
  );
  ok(
    await coord.write(`/v1/submissions/${ids.d}/reverse`, "submission.reverse", {
      submissionId: ids.d,
      ground: "court_ruling",
      reason: "annulled by the court",
      reference: "case 1/26",
    }),
  );
  ok(
    await platform.client.postJson("/v1/match", {
      items: [
        { type: "pdq", value: values.a },
        { type: "md5", value: values.b },
      ],
    }),
  );
  const fb = (id: string, outcome: string) =>
    platform.client.write(`/v1/submissions/${id}/feedback`, "feedback.create", { submissionId: id, outcome });
  ok(await fb(ids.a!, "false_positive"));
  ok(await fb(ids.b!, "true_positive"));
  // A dissent after inclusion disputes A (and supersedes DE's concurrence).
  ok(await assess(de, ids.a!, "dissent", "on reflection, journalism"));
});

describe("GET /v1/stats", () => {
  it("is public and counts every figure of a known history", async () => {
    const s = await stats();
    expect(s).toMatchObject({
      nodeId: "eusn-test",
      // The bootstrap coordinator and the second one who countersigns authorities' admissions.
      participants: { coordinators: 2, authorities: 2, platforms: 1, memberStatesWithAuthority: 2 },
      policy: { quorum: 2 },
      baseline: {
        total: 2,
        included: 1,
        disputed: 1,
        byLimb: { a: 1, b: 1, c: 1, d: 0, e: 0 },
        bySignalType: { pdq: 1, md5: 1 },
        byMemberState: { NL: 2 },
      },
      submissions: {
        total: 4,
        byStatus: { live: 2, withdrawn: 1, reversed: 1, voided: 0 },
        byBaselineState: { none: 2, included: 1, disputed: 1, excluded: 0, retired: 0 },
        bySignalType: { pdq: 2, md5: 1, sha256: 1 },
        lowQuality: 0,
      },
      assessments: { total: 4, concur: 1, dissent: 2, superseded: 1 },
      disputes: { open: 1, raised: 1 },
      decisions: { include: 2, exclude: 0, retire: 0 },
      reversals: { withdrawn: 1, reversed: 1, byGround: { court_ruling: 1 } },
      feedback: {
        truePositive: 1,
        falsePositive: 1,
        notActioned: 0,
        falsePositiveRate: 0.5,
        baseline: { truePositive: 1, falsePositive: 1, falsePositiveRate: 0.5 },
        flaggedEntries: 0,
      },
      matching: { requests: 1, hashesQueried: 2, itemsMatched: 2 },
    });
    expect(s.byMemberState).toEqual([
      {
        memberState: "DE",
        submissions: 1,
        baselineEntries: 0,
        withdrawn: 0,
        reversed: 1,
        concurrences: 1,
        dissents: 1,
        truePositive: 0,
        falsePositive: 0,
        falsePositiveRate: null,
      },
      {
        memberState: "NL",
        submissions: 3,
        baselineEntries: 2,
        withdrawn: 1,
        reversed: 0,
        concurrences: 0,
        dissents: 1,
        truePositive: 1,
        falsePositive: 1,
        falsePositiveRate: 0.5,
      },
    ]);
  });

  it("reveals no record, hash, participant or platform: aggregate counts only", async () => {
    const text = JSON.stringify(await stats());
    for (const v of Object.values(values)) expect(text).not.toContain(v);
    for (const id of [...Object.values(ids), ...recordIds, nl.id, de.id, platform.id]) {
      expect(text).not.toContain(id);
    }
    expect(text).not.toMatch(/\b(par|rec|hsh|asm|dec|fbk)_[0-9a-z]/);
    expect(text).not.toContain("journalism");
    expect(text).not.toContain("Demo Social");
  });

  it("needs no token, ignores one, is cacheable briefly and is read-only", async () => {
    const withToken = await nodeFetch(`${BASE}/v1/stats`, {
      headers: { authorization: `Bearer ${await platform.client.token()}` },
    });
    expect(withToken.status).toBe(200);
    // Public and briefly cacheable; a response to a request that carried a token is never stored
    // (the node-wide rule in workers/api/lib/security-headers.ts).
    const anonymous = await nodeFetch(`${BASE}/v1/stats`);
    expect(anonymous.headers.get("cache-control")).toBe("public, max-age=60");
    expect(withToken.headers.get("cache-control")).toBe("no-store");
    const post = await nodeFetch(`${BASE}/v1/stats`, { method: "POST" });
    await expectProblem(post, 405, "method_not_allowed");
  });

  it("is in the OpenAPI document", async () => {
    const doc = (await (await nodeFetch(`${BASE}/openapi.json`)).json()) as {
      paths: Record<string, unknown>;
      components: { schemas: Record<string, unknown> };
    };
    expect(doc.paths["/v1/stats"]).toBeDefined();
    expect(doc.paths["/v1/stats/submissions/{id}"]).toBeDefined();
    expect(doc.components.schemas.NodeStats).toBeDefined();
  });
});

describe("GET /v1/stats/submissions/{id}", () => {
  it("gives a coordinator the entry's match counts per platform", async () => {
    const res = await coordinator().get<{
      platforms: number;
      total: number;
      byPlatform: { platformId: string; displayName: string; count: number }[];
    }>(`/v1/stats/submissions/${ids.a}`);
    expect(res.ok && res.data).toMatchObject({
      platforms: 1,
      total: 1,
      byPlatform: [{ platformId: platform.id, displayName: "Demo Social", count: 1 }],
    });
    const none = await coordinator().get<{ platforms: number; total: number }>(
      `/v1/stats/submissions/${ids.c}`,
    );
    expect(none.ok && none.data).toMatchObject({ platforms: 0, total: 0, byPlatform: [] });
  });

  it("is for coordinators only: no token 401, authority and platform 403, unknown entry 404", async () => {
    await expectProblem(await nodeFetch(`${BASE}/v1/stats/submissions/${ids.a}`), 401, "unauthenticated");
    for (const who of [nl, platform]) {
      const res = await nodeFetch(`${BASE}/v1/stats/submissions/${ids.a}`, {
        headers: { authorization: `Bearer ${await who.client.token()}` },
      });
      await expectProblem(res, 403, "forbidden");
    }
    const unknown = await nodeFetch(`${BASE}/v1/stats/submissions/hsh_0000000000nothing`, {
      headers: { authorization: `Bearer ${await coordinator().token()}` },
    });
    await expectProblem(unknown, 404, "not_found");
  });
});

describe("the public statistics page", () => {
  it("renders the figures and an SVG chart without sign-in, under a strict CSP", async () => {
    const res = await nodeFetch(`${BASE}/console/stats`);
    expect(res.status).toBe(200);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe-inline");
    const html = await res.text();
    expect(html).toContain('<svg role="img"');
    expect(html).toContain("Baseline entries per originating member state");
    expect(html).toMatch(/<th scope="row">NL<\/th><td>3<\/td><td>2<\/td>/);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    for (const id of [...Object.values(ids), nl.id, platform.id]) expect(html).not.toContain(id);
  });
});
