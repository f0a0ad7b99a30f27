// Measured error rates in GET /v1/stats and on /console/stats, through the real Worker and D1: the
// baseline's and each reported entry's false-positive rate with its Wilson 95 % interval, over all
// time and the last 90 days; too few reports say so instead of a rate; no entry is named.

import { env } from "cloudflare:workers";
import type { ErrorRates, SubmitResult, WriteReceipt } from "@eusn/protocol";
import { beforeAll, describe, expect, it } from "vitest";
import { wilson } from "../../workers/api/store/error-rates.ts";
import { pdqItem, randomPdq, rng } from "../helpers/hashes.ts";
import { type Admitted, admit, BASE, coordinator, nodeFetch } from "../helpers/node.ts";

const r = rng(9090);
let ids: string[] = [];
const values = [randomPdq(r), randomPdq(r)];
const feedbackIds: Record<string, string[]> = { a: [], b: [] };

function ok<T>(res: { ok: true; data: T } | { ok: false; status: number; problem: unknown }): T {
  if (!res.ok) throw new Error(`${res.status} ${JSON.stringify(res.problem)}`);
  return res.data;
}

async function rates(): Promise<ErrorRates> {
  const res = await nodeFetch(`${BASE}/v1/stats`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { errorRates: ErrorRates }).errorRates;
}

beforeAll(async () => {
  const nl = await admit("authority", "NL");
  const de = await admit("authority", "DE");
  const sub = ok(
    await nl.client.write<SubmitResult>("/v1/submissions", "submission.create", {
      items: values.map((v) => pdqItem(v)),
    }),
  );
  ids = sub.submissions.map((s) => s.id);
  const concur = ok(
    await de.client.write<WriteReceipt>(`/v1/submissions/${ids[0]}/assessments`, "assessment.create", {
      submissionId: ids[0],
      verdict: "concur",
      limb: "a",
    }),
  );
  ok(
    await coordinator().write(`/v1/submissions/${ids[0]}/decisions`, "baseline.decide", {
      submissionId: ids[0],
      decision: "include",
      reason: "NL and DE concur",
      assessmentIds: [concur.subjectId],
    }),
  );
  // Four platforms report on a (three true, one false positive); one reports b false.
  const platforms: Admitted[] = [];
  for (let i = 0; i < 4; i++) platforms.push(await admit("platform"));
  const report = async (p: Admitted, id: string, outcome: string) =>
    ok(
      await p.client.write<WriteReceipt>(`/v1/submissions/${id}/feedback`, "feedback.create", {
        submissionId: id,
        outcome,
      }),
    ).subjectId;
  for (const [i, p] of platforms.entries()) {
    expect(
      (
        await p.client.match({
          scope: "all",
          items: values.map((value) => ({ type: "pdq" as const, value })),
        })
      ).status,
    ).toBe(200);
    feedbackIds.a!.push(await report(p, ids[0]!, i === 3 ? "false_positive" : "true_positive"));
  }
  feedbackIds.b!.push(await report(platforms[0]!, ids[1]!, "false_positive"));
}, 120_000);

describe("measured error rates", () => {
  it("the baseline's rate is FP / (TP + FP) with its Wilson interval", async () => {
    const e = await rates();
    expect(e.minReports).toBe(3);
    const w = wilson(1, 4)!;
    expect(e.baseline.allTime).toEqual({
      reports: 4,
      truePositive: 3,
      falsePositive: 1,
      notActioned: 0,
      enough: true,
      falsePositiveRate: 0.25,
      interval: w,
      summary: `25.0 % (95 % interval ${(w.low * 100).toFixed(1)} % to ${(w.high * 100).toFixed(1)} %; 1 false of 4 reports)`,
    });
    expect(w.low).toBeCloseTo(0.0456, 3);
    expect(w.high).toBeCloseTo(0.6994, 3);
  });

  it("each reported entry has its own, and one with too few reports says so instead of 0 %", async () => {
    const e = await rates();
    expect(e.entriesWithReports).toBe(2);
    expect(e.entries.map((x) => [x.baselineState, x.allTime.reports])).toEqual([
      ["included", 4],
      ["none", 1],
    ]);
    const few = e.entries[1]!.allTime;
    expect(few).toMatchObject({ enough: false, falsePositiveRate: null, interval: null, falsePositive: 1 });
    expect(few.summary).toBe("too few reports (1 of 3 needed)");
    expect(e.entries.map((x) => x.status)).toEqual(["live", "live"]);
  });

  it("the last 90 days count only reports signed in them", async () => {
    // Two of a's true positives were signed 100 days ago.
    const old = new Date(Date.now() - 100 * 86_400_000).toISOString();
    for (const id of feedbackIds.a!.slice(0, 2))
      await env.DB.prepare("UPDATE feedback SET created_at = ? WHERE id = ?").bind(old, id).run();
    const e = await rates();
    expect(e.baseline.allTime.reports).toBe(4);
    expect(e.baseline.last90Days).toMatchObject({ truePositive: 1, falsePositive: 1, enough: false });
    expect(e.baseline.last90Days.summary).toBe("too few reports (2 of 3 needed)");
    expect(e.entries[0]!.last90Days.reports).toBe(2);
  });

  it("names no entry, and the public page shows the same figures", async () => {
    const text = JSON.stringify(await rates());
    for (const id of ids) expect(text).not.toContain(id);
    for (const v of values) expect(text).not.toContain(v);
    const html = await (await nodeFetch(`${BASE}/console/stats`)).text();
    expect(html).toContain("Measured error rates");
    expect(html).toContain("too few reports (1 of 3 needed)");
    expect(html).toContain("25.0 % (95 % interval");
    for (const id of ids) expect(html).not.toContain(id);
  });

  it("an entry's state is its one state: reversed after inclusion is reversed, not included", async () => {
    ok(
      await coordinator().write(`/v1/submissions/${ids[0]}/reverse`, "submission.reverse", {
        submissionId: ids[0],
        ground: "court_ruling",
        reason: "A national court ruled the content lawful",
      }),
    );
    const e = await rates();
    expect(e.entries.map((x) => [x.state, x.label, x.status, x.allTime.reports])).toEqual([
      ["reversed", "reversed (was included)", "reversed", 4],
      ["awaiting", "awaiting assessment", "live", 1],
    ]);
    // No longer in the baseline: the baseline's own rate counts nothing now.
    expect(e.baseline.allTime.reports).toBe(0);
    const html = await (await nodeFetch(`${BASE}/console/stats`)).text();
    const rows = html.slice(html.indexOf('id="error-rates-entries"'));
    expect(rows).toContain("<td>reversed (was included)</td>");
    expect(rows).not.toContain("<td>included</td>");
  });
});
