// GET /v1/reports/tco through the real Worker and D1: a year whose every figure is known, checked
// figure by figure for an authority and for the coordinator, each figure's records fetched and
// checked to be what it counts; the CSV form; who may read which report; and that no report
// carries a hash value or a platform's content reference.

import type { SubmitResult, TcoReport, WriteReceipt } from "@eusn/protocol";
import { beforeAll, describe, expect, it } from "vitest";
import { pdqItem, randomPdq, rng } from "../helpers/hashes.ts";
import { type Admitted, admit, BASE, coordinator, expectProblem, nodeFetch } from "../helpers/node.ts";

const r = rng(808);
let nl: Admitted;
let de: Admitted;
let fr: Admitted;
let platform: Admitted;
const values = Array.from({ length: 5 }, () => randomPdq(r));
const ids: string[] = [];
const year = new Date().getUTCFullYear();
const q = Math.floor(new Date().getUTCMonth() / 3); // this quarter's index

function ok<T>(res: { ok: true; data: T } | { ok: false; status: number; problem: unknown }): T {
  if (!res.ok) throw new Error(`${res.status} ${JSON.stringify(res.problem)}`);
  return res.data;
}

/** Figure key → [value this quarter, record ids this quarter]; asserts other quarters are empty. */
function figures(rep: TcoReport): Record<string, [number, string[]]> {
  const out: Record<string, [number, string[]]> = {};
  for (const f of rep.figures) {
    f.quarters.forEach((c, i) => {
      if (i !== q) expect(c, `${f.key} Q${i + 1}`).toEqual({ value: 0, records: [] });
    });
    expect(f.total).toBe(f.quarters[q]!.value);
    out[f.key] = [f.quarters[q]!.value, f.quarters[q]!.records];
  }
  return out;
}

const assess = async (by: Admitted, id: string, verdict: "concur" | "dissent") =>
  ok(
    await by.client.write<WriteReceipt>(`/v1/submissions/${id}/assessments`, "assessment.create", {
      submissionId: id,
      verdict,
      limb: "a",
      ...(verdict === "dissent" ? { reason: "not terrorist content under our law" } : {}),
    }),
  );

beforeAll(async () => {
  nl = await admit("authority", "NL", { name: "ATKM" });
  de = await admit("authority", "DE", { name: "BKA" });
  platform = await admit("platform", undefined, { name: "Demo Social" });
  // NL: three hashes in one record, one in another; DE: one.
  const s1 = ok(
    await nl.client.write<SubmitResult>("/v1/submissions", "submission.create", {
      items: values.slice(0, 3).map((v) => pdqItem(v)),
    }),
  );
  const s2 = ok(
    await nl.client.write<SubmitResult>("/v1/submissions", "submission.create", {
      items: [pdqItem(values[3]!)],
    }),
  );
  const s3 = ok(
    await de.client.write<SubmitResult>("/v1/submissions", "submission.create", {
      items: [pdqItem(values[4]!)],
    }),
  );
  ids.push(...s1.submissions.map((s) => s.id), s2.submissions[0]!.id, s3.submissions[0]!.id);
  const [a, b, c, , d] = ids as [string, string, string, string, string];
  const concurA = await assess(de, a, "concur");
  await assess(de, b, "concur");
  await assess(nl, d, "dissent");
  ok(
    await coordinator().write(`/v1/submissions/${a}/decisions`, "baseline.decide", {
      submissionId: a,
      decision: "include",
      reason: "NL and DE concur",
      assessmentIds: [concurA.subjectId],
    }),
  );
  // FR joins and dissents on the included entry: it becomes disputed.
  fr = await admit("authority", "FR", { name: "PHAROS" });
  await assess(fr, a, "dissent");
  ok(
    await nl.client.write(`/v1/submissions/${c}/withdraw`, "submission.withdraw", {
      submissionId: c,
      reason: "submitted by mistake",
    }),
  );
  expect(
    (
      await platform.client.match({
        scope: "all",
        items: [a, b].map((_, i) => ({ type: "pdq" as const, value: values[i]! })),
      })
    ).status,
  ).toBe(200);
  for (const [id, outcome] of [
    [a, "true_positive"],
    [b, "false_positive"],
  ] as const)
    ok(
      await platform.client.write(`/v1/submissions/${id}/feedback`, "feedback.create", {
        submissionId: id,
        outcome,
      }),
    );
  ok(
    await coordinator().write(`/v1/submissions/${b}/reverse`, "submission.reverse", {
      submissionId: b,
      ground: "complaint_upheld",
      reason: "the complaint was upheld",
    }),
  );
}, 120_000);

/** The kind of each record id, as its reader fetches it. */
async function kinds(by: Admitted | "coordinator", recs: string[]): Promise<string[]> {
  const client = by === "coordinator" ? coordinator() : by.client;
  const out: string[] = [];
  for (const id of recs) {
    const res = await client.get<string>(`/v1/records/${id}`);
    expect(res.status, id).toBe(200);
    const jws = ok(res);
    out.push(
      (JSON.parse(atob(jws.split(".")[1]!.replaceAll("-", "+").replaceAll("_", "/"))) as { kind: string })
        .kind,
    );
  }
  return out.sort();
}

describe("an authority's report", () => {
  let rep: TcoReport;
  beforeAll(async () => {
    rep = ok(await nl.client.get<TcoReport>(`/v1/reports/tco?year=${year}`));
  });

  it("counts its year, figure by figure, in this quarter", () => {
    expect(rep.year).toBe(year);
    expect(rep.scope).toEqual({ authorityId: nl.id, memberState: "NL", displayName: "ATKM" });
    expect(rep.quarters[0]).toEqual({ quarter: 1, from: `${year}-01-01`, to: `${year}-04-01` });
    expect(rep.quarters[3]).toEqual({ quarter: 4, from: `${year}-10-01`, to: `${year + 1}-01-01` });
    const f = figures(rep);
    const values = Object.fromEntries(Object.entries(f).map(([k, [v, recs]]) => [k, [v, recs.length]]));
    expect(values).toEqual({
      submitted: [4, 2], // four hashes in two records
      assessed: [1, 1], // NL's dissent on DE's entry
      assessedConcur: [0, 0],
      assessedDissent: [1, 1],
      assessedByOthers: [3, 3], // DE's two concurrences, FR's dissent
      included: [1, 1],
      disputed: [1, 1],
      withdrawn: [1, 1],
      reversed: [1, 1],
      reversedComplaintUpheld: [1, 1],
      reversedCourtRuling: [0, 0],
      reversedError: [0, 0],
      reversedOther: [0, 0],
      matchesReported: [2, 2],
      truePositive: [1, 1],
      falsePositive: [1, 1],
      notActioned: [0, 0],
    });
  });

  it("links every figure to the signed records it counts, which the authority can fetch", async () => {
    const f = figures(rep);
    expect(await kinds(nl, f.submitted![1])).toEqual(["submission.create", "submission.create"]);
    expect(await kinds(nl, f.assessedByOthers![1])).toEqual([
      "assessment.create",
      "assessment.create",
      "assessment.create",
    ]);
    expect(await kinds(nl, f.included![1])).toEqual(["baseline.decide"]);
    // The dispute's record is FR's dissent.
    expect(await kinds(nl, f.disputed![1])).toEqual(["assessment.create"]);
    expect(f.disputed![1]).toEqual(f.assessedByOthers![1].filter((id) => f.disputed![1].includes(id)));
    expect(await kinds(nl, f.withdrawn![1])).toEqual(["submission.withdraw"]);
    expect(await kinds(nl, f.reversedComplaintUpheld![1])).toEqual(["submission.reverse"]);
    expect(await kinds(nl, f.matchesReported![1])).toEqual(["feedback.create", "feedback.create"]);
  });

  it("carries no hash value and nothing of a platform's but record ids", async () => {
    const json = JSON.stringify(rep);
    const csv = ok(await nl.client.get<string>(`/v1/reports/tco?year=${year}&format=csv`));
    for (const v of values) {
      expect(json).not.toContain(v);
      expect(csv).not.toContain(v);
    }
    expect(json).not.toContain(platform.id);
  });

  it("is the same figures as CSV, one row per figure and quarter, then the year", async () => {
    const res = await nl.client.get<string>(`/v1/reports/tco?year=${year}&format=csv`);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(res.headers.get("content-disposition")).toContain(`tco-report-${year}-${nl.id}.csv`);
    const lines = ok(res).trim().split("\n");
    expect(lines[0]).toBe("figure,label,quarter,value,records");
    expect(lines.length).toBe(1 + rep.figures.length * 5);
    for (const fig of rep.figures) {
      const rows = lines.filter((l) => l.startsWith(`${fig.key},`)).map((l) => l.split(","));
      expect(rows.map((x) => x[2])).toEqual(["Q1", "Q2", "Q3", "Q4", "year"]);
      expect(rows.map((x) => Number(x[3]))).toEqual([...fig.quarters.map((c) => c.value), fig.total]);
      expect(rows[q]![4]).toBe(fig.quarters[q]!.records.join(" "));
    }
  });

  it("is empty for a year without activity", async () => {
    const empty = ok(await nl.client.get<TcoReport>("/v1/reports/tco?year=2021"));
    expect(empty.figures.every((f) => f.total === 0)).toBe(true);
  });
});

describe("who reads which report", () => {
  it("an authority reads only its own: naming another is refused", async () => {
    await expectProblem(
      await nodeFetch(`${BASE}/v1/reports/tco?year=${year}&authority=${de.id}`, {
        headers: { authorization: `Bearer ${await nl.client.token()}` },
      }),
      403,
      "forbidden",
    );
    // Naming itself is its own report.
    const own = ok(await nl.client.get<TcoReport>(`/v1/reports/tco?year=${year}&authority=${nl.id}`));
    expect(own.scope.authorityId).toBe(nl.id);
    // DE's own report is DE's: one hash, NL's dissent received.
    const deRep = figures(ok(await de.client.get<TcoReport>(`/v1/reports/tco?year=${year}`)));
    expect(deRep.submitted![0]).toBe(1);
    expect(deRep.assessedByOthers![0]).toBe(1);
    expect(deRep.assessed![0]).toBe(2);
  });

  it("a coordinator reads every authority's together, or one", async () => {
    const all = figures(ok(await coordinator().get<TcoReport>(`/v1/reports/tco?year=${year}`)));
    expect(all.submitted![0]).toBeGreaterThanOrEqual(5);
    const one = ok(await coordinator().get<TcoReport>(`/v1/reports/tco?year=${year}&authority=${nl.id}`));
    const mine = ok(await nl.client.get<TcoReport>(`/v1/reports/tco?year=${year}`));
    expect(one.figures).toEqual(mine.figures);
    expect(one.scope).toEqual(mine.scope);
    // A participant that is not an authority has no report.
    const res = await coordinator().get(`/v1/reports/tco?year=${year}&authority=${platform.id}`);
    expect(res.status).toBe(404);
  });

  it("a platform and an anonymous caller read none", async () => {
    expect((await platform.client.get(`/v1/reports/tco?year=${year}`)).status).toBe(403);
    await expectProblem(await nodeFetch(`${BASE}/v1/reports/tco?year=${year}`), 401, "unauthenticated");
  });

  it.each(["1999", "abc", "2026.5", ""])("refuses year=%s", async (y) => {
    const res = await nodeFetch(`${BASE}/v1/reports/tco?year=${y}`, {
      headers: { authorization: `Bearer ${await nl.client.token()}` },
    });
    await expectProblem(res, 400, "validation_failed");
  });
});

describe("a member state's report (coordinator)", () => {
  let nl2: Admitted;
  beforeAll(async () => {
    // A member state may designate more than one competent authority (TCO Art. 12).
    nl2 = await admit("authority", "NL", { name: "NL second authority" });
    ok(
      await nl2.client.write<SubmitResult>("/v1/submissions", "submission.create", {
        items: [pdqItem(randomPdq(r))],
      }),
    );
  });

  it("counts the member state's authorities together: each figure the sum of theirs, records the union", async () => {
    const ms = ok(await coordinator().get<TcoReport>(`/v1/reports/tco?year=${year}&memberState=NL`));
    expect(ms.scope).toEqual({ authorityId: null, memberState: "NL", displayName: null });
    expect(ms.authorities.map((a) => a.id).sort()).toEqual([nl.id, nl2.id].sort());
    expect(ms.authorities.every((a) => a.memberState === "NL")).toBe(true);
    const own = await Promise.all(
      [nl, nl2].map(async (a) => figures(ok(await a.client.get<TcoReport>(`/v1/reports/tco?year=${year}`)))),
    );
    const f = figures(ms);
    for (const key of Object.keys(f)) {
      expect(f[key]![0], key).toBe(own[0]![key]![0] + own[1]![key]![0]);
      expect(f[key]![1], key).toEqual([...own[0]![key]![1], ...own[1]![key]![1]].sort());
    }
    expect(f.submitted![0]).toBe(5);
    // DE's hash and its records are not NL's.
    const de1 = figures(ok(await de.client.get<TcoReport>(`/v1/reports/tco?year=${year}`)));
    for (const rec of de1.submitted![1]) expect(f.submitted![1]).not.toContain(rec);
    expect(await kinds("coordinator", f.submitted![1])).toEqual([
      "submission.create",
      "submission.create",
      "submission.create",
    ]);
  });

  it("every authority's report is the sum of each authority's, and lists them all", async () => {
    const all = ok(await coordinator().get<TcoReport>(`/v1/reports/tco?year=${year}`));
    expect(all.scope).toEqual({ authorityId: null, memberState: null, displayName: null });
    expect(all.authorities.map((a) => a.id)).toEqual(expect.arrayContaining([nl.id, nl2.id, de.id, fr.id]));
    const each = await Promise.all(
      all.authorities.map(async (a) =>
        figures(ok(await coordinator().get<TcoReport>(`/v1/reports/tco?year=${year}&authority=${a.id}`))),
      ),
    );
    const f = figures(all);
    for (const key of Object.keys(f)) expect(f[key]![0], key).toBe(each.reduce((n, e) => n + e[key]![0], 0));
  });

  it("as CSV, named after the member state; a state without authorities here is an empty report", async () => {
    const res = await coordinator().get<string>(`/v1/reports/tco?year=${year}&memberState=NL&format=csv`);
    expect(res.headers.get("content-disposition")).toContain(`tco-report-${year}-NL.csv`);
    expect(ok(res)).toMatch(/^submitted,Hashes submitted,year,5,/m);
    // EL is the EU's code for Greece, folded to GR.
    const gr = ok(await coordinator().get<TcoReport>(`/v1/reports/tco?year=${year}&memberState=EL`));
    expect(gr.scope.memberState).toBe("GR");
    expect(gr.authorities).toEqual([]);
    expect(gr.figures.every((x) => x.total === 0)).toBe(true);
  });

  it("an authority cannot read its member state's report, not even its own state's", async () => {
    for (const [who, state] of [
      [nl, "NL"],
      [nl2, "NL"],
      [nl, "DE"],
    ] as const)
      await expectProblem(
        await nodeFetch(`${BASE}/v1/reports/tco?year=${year}&memberState=${state}`, {
          headers: { authorization: `Bearer ${await who.client.token()}` },
        }),
        403,
        "forbidden",
      );
  });

  it.each(["nl", "XX", "UK", "NO", "NL,DE", ""])("refuses memberState=%s", async (state) => {
    const res = await nodeFetch(`${BASE}/v1/reports/tco?year=${year}&memberState=${state}`, {
      headers: { authorization: `Bearer ${await coordinator().token()}` },
    });
    await expectProblem(res, 400, "validation_failed");
  });

  it("refuses an authority and a member state together", async () => {
    const res = await nodeFetch(`${BASE}/v1/reports/tco?year=${year}&memberState=NL&authority=${nl.id}`, {
      headers: { authorization: `Bearer ${await coordinator().token()}` },
    });
    const body = (await expectProblem(res, 400, "validation_failed")) as { errors?: { path: string }[] };
    expect(body.errors?.map((e) => e.path)).toEqual(["/memberState"]);
  });
});

describe("a part of the year", () => {
  const today = new Date().toISOString().slice(0, 10);
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  const nextYear = `${year + 1}-01-01`;

  it("counts only the days asked for: up to today nothing of today's records, from today all of them", async () => {
    const whole = ok(await nl.client.get<TcoReport>(`/v1/reports/tco?year=${year}`));
    expect(whole.period).toEqual({ from: `${year}-01-01`, to: nextYear });
    const fromToday = ok(await nl.client.get<TcoReport>(`/v1/reports/tco?year=${year}&from=${today}`));
    expect(fromToday.period).toEqual({ from: today, to: nextYear });
    expect(fromToday.figures).toEqual(whole.figures);
    const todayOnly = ok(
      await nl.client.get<TcoReport>(
        `/v1/reports/tco?year=${year}&from=${today}&to=${tomorrow > nextYear ? nextYear : tomorrow}`,
      ),
    );
    expect(todayOnly.figures).toEqual(whole.figures);
    // Every record of this file was signed today: a period that ends at today's start counts none.
    if (today !== `${year}-01-01`) {
      const before = ok(await nl.client.get<TcoReport>(`/v1/reports/tco?year=${year}&to=${today}`));
      expect(before.period).toEqual({ from: `${year}-01-01`, to: today });
      expect(
        before.figures.every((f) => f.total === 0 && f.quarters.every((c) => c.records.length === 0)),
      ).toBe(true);
      expect(whole.figures.find((f) => f.key === "submitted")!.total).toBeGreaterThan(0);
    }
  });

  it("says so in the CSV: the total row is the period's, and the file is named after it", async () => {
    const res = await nl.client.get<string>(`/v1/reports/tco?year=${year}&from=${today}&format=csv`);
    expect(res.headers.get("content-disposition")).toContain(`-${today}-to-${nextYear}.csv`);
    const csv = ok(res);
    expect(csv).toMatch(/^submitted,Hashes submitted,period,4,/m);
    expect(csv).not.toMatch(/,year,/);
  });

  it.each([
    [`from=${year - 1}-12-31`, "from"],
    [`from=${year + 1}-01-01`, "from"],
    [`to=${year + 1}-01-02`, "to"],
    [`from=${year}-03-01&to=${year}-03-01`, "to"],
    [`from=${year}-03-02&to=${year}-03-01`, "to"],
    [`from=${year}-02-30`, "from"],
    [`from=${year}-1-5`, "from"],
    [`to=tomorrow`, "to"],
  ])("refuses %s", async (query, path) => {
    const res = await nodeFetch(`${BASE}/v1/reports/tco?year=${year}&${query}`, {
      headers: { authorization: `Bearer ${await nl.client.token()}` },
    });
    const body = (await expectProblem(res, 400, "validation_failed")) as { errors?: { path: string }[] };
    expect(body.errors?.map((e) => e.path)).toContain(`/${path}`);
  });
});

describe("the console's reports page", () => {
  it("is a shell for authorities and coordinators under the strict CSP, with no report data in it", async () => {
    const res = await nodeFetch(`${BASE}/console/reports`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
    const html = await res.text();
    expect(html).toContain('data-page="reports"');
    expect(html).toContain('data-roles="authority coordinator"');
    expect(html).toContain('href="/console/assets/reports.css"');
    expect(html).not.toContain(nl.id);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
  });
});
