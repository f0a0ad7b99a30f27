// Bulk decisions: an authority assesses, and a coordinator decides on, several entries with one
// signature (assessment.batch, baseline.decide.batch). Each item is judged as a single record of
// its kind would be, and the record takes effect for all items or for none.
import type { BulkResult, SubmissionView, SubmitResult } from "@eusn/protocol";
import { beforeAll, describe, expect, it } from "vitest";
import { pdqItem, randomPdq, rng } from "../helpers/hashes.ts";
import { type Admitted, admit, coordinator } from "../helpers/node.ts";

const r = rng(5150);
let nl: Admitted;
let de: Admitted;
let ids: string[] = [];

function ok<T>(res: { ok: true; data: T } | { ok: false; status: number; problem: unknown }): T {
  if (!res.ok) throw new Error(`${res.status} ${JSON.stringify(res.problem)}`);
  return res.data;
}
const stateOf = async (id: string) =>
  ok(await coordinator().get<{ submission: SubmissionView }>(`/v1/submissions/${id}`)).submission.state.name;
/** DE's concurrences, by entry, from the bulk assessment. */
const cited = new Map<string, string>();
const auditCount = async () =>
  ok(await coordinator().get<{ total: number }>("/v1/audit?count=true&limit=1")).total;

beforeAll(async () => {
  nl = await admit("authority", "NL");
  de = await admit("authority", "DE");
  const sub = ok(
    await nl.client.write<SubmitResult>("/v1/submissions", "submission.create", {
      items: Array.from({ length: 5 }, () => pdqItem(randomPdq(r))),
    }),
  );
  ids = sub.submissions.map((s) => s.id);
});

describe("bulk assessments", () => {
  it("refuses the whole record when one item would be refused alone, naming it; nothing is stored", async () => {
    const before = await auditCount();
    const res = await de.client.write("/v1/assessments", "assessment.batch", {
      items: [
        { submissionId: ids[0], verdict: "concur", limb: "a" },
        { submissionId: "hsh_01aaaaaaaaaaaaaaaaaaaaaaaa", verdict: "concur", limb: "a" },
      ],
    });
    expect(res.ok).toBe(false);
    if (res.ok) return;
    expect(res.status).toBe(404);
    expect(JSON.stringify(res.problem)).toContain("item 2 (hsh_01aaaaaaaaaaaaaaaaaaaaaaaa)");
    expect(await stateOf(ids[0]!)).toBe("awaiting");
    expect(await auditCount()).toBe(before);
    // The submitter may not assess its own entry, in a bulk record as alone.
    const own = await nl.client.write("/v1/assessments", "assessment.batch", {
      items: [{ submissionId: ids[0], verdict: "concur", limb: "a" }],
    });
    expect(own.ok ? 201 : own.status).toBe(403);
  });

  it("refuses an entry named twice", async () => {
    const res = await de.client.write("/v1/assessments", "assessment.batch", {
      items: [
        { submissionId: ids[0], verdict: "concur", limb: "a" },
        { submissionId: ids[0], verdict: "dissent", limb: "a", reason: "second thoughts" },
      ],
    });
    expect(res.ok ? 201 : res.status).toBe(400);
  });

  it("an authority concurs on several entries with one signature", async () => {
    const res = ok(
      await de.client.write<BulkResult>("/v1/assessments", "assessment.batch", {
        items: ids.slice(0, 3).map((submissionId) => ({ submissionId, verdict: "concur", limb: "a" })),
      }),
    );
    expect(res.receipt.kind).toBe("assessment.batch");
    expect(res.items.map((i) => i.submissionId)).toEqual(ids.slice(0, 3));
    expect(new Set(res.items.map((i) => i.id)).size).toBe(3);
    for (const i of res.items) expect(i.id).toMatch(/^asm_/);
    for (const i of res.items) cited.set(i.submissionId, i.id);
    // NL (the submitter) and DE now concur on each: the quorum of two member states.
    for (const id of ids.slice(0, 3)) expect(await stateOf(id)).toBe("eligible");
    expect(await stateOf(ids[3]!)).toBe("awaiting");
  });
});

describe("bulk baseline decisions", () => {
  it("an inclusion a single decision would refuse (an entry not eligible) refuses all; nothing is stored", async () => {
    const before = await auditCount();
    const res = await coordinator().write("/v1/baseline/decisions", "baseline.decide.batch", {
      decision: "include",
      reason: "NL and DE concur",
      items: [
        { submissionId: ids[0], assessmentIds: [cited.get(ids[0]!)] },
        { submissionId: ids[3], assessmentIds: [] },
      ],
    });
    expect(res.ok).toBe(false);
    if (res.ok) return;
    expect([409, 422]).toContain(res.status);
    expect(await stateOf(ids[0]!)).toBe("eligible");
    expect(await auditCount()).toBe(before);
  });

  it("a coordinator includes several entries with one signature", async () => {
    const res = ok(
      await coordinator().write<BulkResult>("/v1/baseline/decisions", "baseline.decide.batch", {
        decision: "include",
        reason: "NL and DE concur",
        items: ids.slice(0, 3).map((id) => ({ submissionId: id, assessmentIds: [cited.get(id)] })),
      }),
    );
    expect(res.receipt.kind).toBe("baseline.decide.batch");
    expect(res.items.map((i) => i.submissionId)).toEqual(ids.slice(0, 3));
    for (const id of ids.slice(0, 3)) expect(await stateOf(id)).toBe("included");
    const baseline = ok(await coordinator().get<{ entries: { id: string }[] }>("/v1/baseline"));
    for (const id of ids.slice(0, 3)) expect(baseline.entries.map((e) => e.id)).toContain(id);
  });
});
