// Statistics over time: GET /v1/stats/weekly lists every ISO week of a period (Monday to Sunday,
// UTC) with the entries submitted, inclusions, withdrawals and reversals, entries matched and
// feedback reports, counted from what the node stored; the same as CSV; periods checked; the SQL
// week and the JS week agree at the edges; the console's statistics page shows the section with
// its period selector, a chart per series and the data table.
import { env } from "cloudflare:workers";
import { type SubmitResult, WEEKLY_SERIES, type WeeklyStats, type WriteReceipt } from "@eusn/protocol";
import { beforeAll, describe, expect, it } from "vitest";
import { mondayOf } from "../../workers/api/store/stats-weekly.ts";
import { pdqItem, randomPdq, rng } from "../helpers/hashes.ts";
import { type Admitted, admit, BASE, coordinator, expectProblem, nodeFetch } from "../helpers/node.ts";

function must<T>(res: { ok: true; data: T } | { ok: false; status: number; problem: unknown }): T {
  if (!res.ok) throw new Error(`${res.status} ${JSON.stringify(res.problem)}`);
  return res.data;
}
const weekly = async (q = "") =>
  (await nodeFetch(`${BASE}/v1/stats/weekly${q}`)).json() as Promise<WeeklyStats>;
const today = () => new Date().toISOString().slice(0, 10);

let nl: Admitted;
let de: Admitted;
let platform: Admitted;
const values: string[] = [];

beforeAll(async () => {
  nl = await admit("authority", "NL");
  de = await admit("authority", "DE");
  platform = await admit("platform");
  const r = rng(99);
  for (let i = 0; i < 3; i++) values.push(randomPdq(r));
  const sub = must(
    await nl.client.write<SubmitResult>("/v1/submissions", "submission.create", {
      items: values.map((v) => pdqItem(v)),
    }),
  );
  const [a, b] = sub.submissions.map((s) => s.id);
  const concur = must(
    await de.client.write<WriteReceipt>(`/v1/submissions/${a}/assessments`, "assessment.create", {
      submissionId: a,
      verdict: "concur",
      limb: "a",
    }),
  );
  must(
    await coordinator().write(`/v1/submissions/${a}/decisions`, "baseline.decide", {
      submissionId: a,
      decision: "include",
      reason: "NL and DE concur",
      assessmentIds: [concur.subjectId],
    }),
  );
  // One request matching two entries (scope all), then feedback on one of them.
  const m = must(
    await platform.client.match({
      scope: "all",
      items: values.slice(0, 2).map((value) => ({ type: "pdq" as const, value })),
    }),
  );
  expect(m.results.flatMap((x) => x.matches)).toHaveLength(2);
  must(
    await nl.client.write(`/v1/submissions/${b}/withdraw`, "submission.withdraw", {
      submissionId: b,
      reason: "entered in error",
    }),
  );
  must(
    await platform.client.write(`/v1/submissions/${a}/feedback`, "feedback.create", {
      submissionId: a,
      outcome: "true_positive",
    }),
  );
});

describe("GET /v1/stats/weekly", () => {
  it("lists the last 12 weeks by default, this week with what was stored, the others empty", async () => {
    const s = await weekly();
    expect(s.weeks).toHaveLength(12);
    expect(s.weeks.at(-1)!.week).toBe(mondayOf(today()));
    expect(s.from).toBe(s.weeks[0]!.week);
    for (const [i, w] of s.weeks.entries()) {
      expect(new Date(`${w.week}T00:00:00Z`).getUTCDay(), w.week).toBe(1);
      if (i > 0) expect(Date.parse(w.week) - Date.parse(s.weeks[i - 1]!.week)).toBe(7 * 86_400_000);
    }
    expect(s.weeks.at(-1)).toEqual({
      week: mondayOf(today()),
      submissions: 3,
      inclusions: 1,
      reversals: 1,
      matches: 2,
      feedback: 1,
    });
    for (const w of s.weeks.slice(0, -1))
      for (const k of WEEKLY_SERIES) expect(w[k], `${w.week} ${k}`).toBe(0);
  });

  it("gives the same figures as CSV", async () => {
    const res = await nodeFetch(`${BASE}/v1/stats/weekly?format=csv&from=${today()}&to=${today()}`);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(await res.text()).toBe(`week,${WEEKLY_SERIES.join(",")}\r\n${mondayOf(today())},3,1,1,2,1\r\n`);
  });

  it("covers the weeks of a chosen period, and refuses a period that is not one", async () => {
    const s = await weekly("?from=2026-01-01&to=2026-01-31");
    expect(s.weeks.map((w) => w.week)).toEqual([
      "2025-12-29",
      "2026-01-05",
      "2026-01-12",
      "2026-01-19",
      "2026-01-26",
    ]);
    expect(s.to).toBe("2026-02-01");
    await expectProblem(
      await nodeFetch(`${BASE}/v1/stats/weekly?from=2026-02-01&to=2026-01-01`),
      400,
      "validation_failed",
    );
    await expectProblem(
      await nodeFetch(`${BASE}/v1/stats/weekly?from=2020-01-01&to=2026-01-01`),
      400,
      "validation_failed",
    );
    await expectProblem(await nodeFetch(`${BASE}/v1/stats/weekly?from=2026-02-30`), 400, "validation_failed");
    await expectProblem(await nodeFetch(`${BASE}/v1/stats/weekly?format=xml`), 400, "validation_failed");
  });

  it("puts a timestamp in the same week in SQL as in JS, at the week's edges", async () => {
    for (const at of [
      "2026-11-30T00:00:00.000Z",
      "2026-12-06T23:59:59.999Z",
      "2026-12-07T00:00:00.000Z",
      "2027-01-03T12:00:00.000Z",
    ]) {
      const row = await env.DB.prepare("SELECT date(?, 'weekday 0', '-6 days') AS w")
        .bind(at)
        .first<{ w: string }>();
      expect(row?.w, at).toBe(mondayOf(at.slice(0, 10)));
    }
    expect(mondayOf("2026-12-06")).toBe("2026-11-30");
    expect(mondayOf("2026-12-07")).toBe("2026-12-07");
  });
});

describe("the console's statistics page over time", () => {
  it("has a period selector, a chart per series and the data table", async () => {
    const html = await (await nodeFetch(`${BASE}/console/stats?weeks=4`)).text();
    expect(html).toContain('id="weekly-period"');
    for (const s of WEEKLY_SERIES) expect(html).toContain(`id="weekly-${s}"`);
    expect(html.match(/<svg role="img" aria-labelledby="weekly-/g)).toHaveLength(WEEKLY_SERIES.length);
    const rows = [
      ...html.matchAll(/<tr><th scope="row">(\d{4}-\d{2}-\d{2})<\/th>((?:<td>\d+<\/td>)+)<\/tr>/g),
    ];
    expect(rows).toHaveLength(4);
    expect(rows.at(-1)![1]).toBe(mondayOf(today()));
    expect(rows.at(-1)![2]).toBe("<td>3</td><td>1</td><td>1</td><td>2</td><td>1</td>");
    expect(html).toContain(`/v1/stats/weekly?from=${rows[0]![1]}`);
  });

  it("says so when the period is not one, and shows the last 12 weeks", async () => {
    const html = await (await nodeFetch(`${BASE}/console/stats?from=2026-02-01&to=2026-01-01`)).text();
    expect(html).toContain("the period starts after it ends");
    expect([...html.matchAll(/<tr><th scope="row">\d{4}-\d{2}-\d{2}<\/th>/g)]).toHaveLength(12);
  });
});
