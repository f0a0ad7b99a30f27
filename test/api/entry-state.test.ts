// An entry's one state (workers/api/rules/baseline.ts), and the statistics that count it.
// 1. The rule as spec cases: each row is judged by the predicate and by the SQL CASE against real
//    D1, and both must name the expected state.
// 2. GET /v1/stats against the entries it counts: a history that puts entries in every state a
//    node can reach over HTTP, then every figure recomputed from the entries themselves (listed
//    through GET /v1/submissions), so the statistics and the entry views cannot disagree.

import { env } from "cloudflare:workers";
import {
  ENTRY_STATES,
  type EntryStateName,
  type NodeStats,
  type SubmissionView,
  type SubmitResult,
  type WriteReceipt,
} from "@eusn/protocol";
import { sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { submissions } from "../../schema/index.ts";
import { db as dbOf } from "../../workers/api/lib/db.ts";
import {
  entryState,
  entryStateName,
  entryStateSql,
  type Links,
  type Policy,
  restrictsLinked,
  type SubmissionRow,
} from "../../workers/api/rules/baseline.ts";
import { pdqItem, randomPdq, rng } from "../helpers/hashes.ts";
import { type Admitted, admit, BASE, coordinator, nodeFetch } from "../helpers/node.ts";

const NOW = Date.parse("2026-06-01T12:00:00.000Z");
const NOW_ISO = new Date(NOW).toISOString();
const PAST = "2026-05-01T00:00:00.000Z";
const FUTURE = "2026-07-01T00:00:00.000Z";
const P: Policy = { quorum: 3, fpRate: 0.3, fpMinReports: 3 };
const three = JSON.stringify(["DE", "FR", "NL"]);

type Case = {
  name: string;
  row: Partial<SubmissionRow>;
  /** Another authority's submission of the same value, stored beside the entry. */
  twin?: Partial<SubmissionRow>;
  state: EntryStateName;
  was?: string;
  flags?: string[];
};

// biome-ignore format: a table of cases reads across.
const CASES: Case[] = [
  { name: "new",                                row: {},                                                            state: "awaiting" },
  { name: "quorum reached",                     row: { concurStates: three },                                       state: "eligible" },
  { name: "quorum with an open dissent",        row: { concurStates: three, liveDissents: 1 },                      state: "awaiting" },
  { name: "included",                           row: { concurStates: three, baselineState: "included" },            state: "included" },
  { name: "disputed",                           row: { liveDissents: 1, baselineState: "disputed" },                state: "disputed" },
  { name: "retired",                            row: { baselineState: "retired" },                                  state: "retired" },
  { name: "excluded",                           row: { baselineState: "excluded" },                                 state: "excluded" },
  { name: "reversed while included",            row: { baselineState: "included", status: "reversed" },             state: "reversed",  was: "included" },
  { name: "withdrawn while disputed",           row: { baselineState: "disputed", status: "withdrawn" },            state: "withdrawn", was: "disputed" },
  { name: "withdrawn before any decision",      row: { status: "withdrawn" },                                       state: "withdrawn" },
  { name: "void",                               row: { status: "voided" },                                          state: "voided" },
  { name: "expired while included",             row: { baselineState: "included", expiresAt: PAST },                state: "expired",   was: "included" },
  { name: "expires later, included",            row: { baselineState: "included", expiresAt: FUTURE },              state: "included" },
  { name: "expired before any decision",        row: { concurStates: three, expiresAt: PAST },                      state: "expired" },
  { name: "TLP:RED with quorum",                row: { concurStates: three, tlp: "red" },                           state: "awaiting",  flags: ["tlp_red"] },
  { name: "TLP:RED marked included",            row: { tlp: "red", baselineState: "included" },                     state: "awaiting",  flags: ["tlp_red"] },
  { name: "TLP:RED excluded",                   row: { tlp: "red", baselineState: "excluded" },                     state: "excluded",  flags: ["tlp_red"] },
  { name: "included, flagged by feedback",      row: { baselineState: "included", fbTrue: 7, fbFalse: 3 },          state: "included",  flags: ["flagged"] },
  { name: "reversed, feedback at the rate",     row: { status: "reversed", fbTrue: 7, fbFalse: 3 },                 state: "reversed" },
  { name: "low quality, awaiting",              row: { lowQuality: true },                                          state: "awaiting",  flags: ["low_quality"] },
  // The strictest TLP among linked live submissions of the value governs sharing (rules/baseline.ts isShareable).
  { name: "included, value TLP:RED elsewhere",  row: { baselineState: "included" }, twin: { tlp: "red" },              state: "withheld" },
  { name: "disputed, value TLP:RED elsewhere",  row: { baselineState: "disputed" }, twin: { tlp: "red" },              state: "withheld" },
  { name: "included, RED twin withdrawn",       row: { baselineState: "included" }, twin: { tlp: "red", status: "withdrawn" }, state: "included" },
  { name: "included, twin amber",               row: { baselineState: "included" }, twin: { tlp: "amber" },            state: "included" },
  { name: "quorum, value TLP:RED elsewhere",    row: { concurStates: three },       twin: { tlp: "red" },              state: "eligible" },
  { name: "reversed, value TLP:RED elsewhere",  row: { baselineState: "included", status: "reversed" }, twin: { tlp: "red" }, state: "reversed", was: "included" },
  { name: "excluded, value TLP:RED elsewhere",  row: { baselineState: "excluded" }, twin: { tlp: "red" },              state: "excluded" },
];

let n = 0;
function rowOf(c: Case): SubmissionRow {
  n++;
  return {
    id: `hsh_state_${String(n).padStart(4, "0")}`,
    recordId: `rec_state_${n}`,
    submitterId: "par_state",
    memberState: "NL",
    signalType: "md5",
    value: n.toString(16).padStart(32, "0"),
    fingerprint: `md5:state:${n}`,
    quality: null,
    lowQuality: false,
    limbs: '["a"]',
    contentType: "image",
    nationalProvision: "Art. 1",
    tlp: null,
    expiresAt: null,
    note: null,
    status: "live",
    baselineState: "none",
    createdAt: PAST,
    concurStates: "[]",
    liveDissents: 0,
    fbTrue: 0,
    fbFalse: 0,
    fbNotActioned: 0,
    matchKey: null,
    stateVersion: 0,
    ...c.row,
  } as SubmissionRow;
}

/** The entry's row with its links as the node reads them: a live TLP:RED submission of its value. */
function withLinks(row: SubmissionRow, twin: SubmissionRow | undefined): SubmissionRow & Links {
  return { ...row, linkedRed: restrictsLinked(row) || (twin !== undefined && restrictsLinked(twin)) };
}

describe("the state of an entry, predicate and SQL alike", () => {
  const rows = CASES.map((c) => {
    const row = rowOf(c);
    const twin = c.twin
      ? { ...rowOf({ ...c, row: c.twin }), fingerprint: row.fingerprint, submitterId: "par_twin" }
      : undefined;
    return { c, row, twin, linked: withLinks(row, twin) };
  });
  const db = dbOf(env.DB);
  let fromSql: Map<string, string>;
  beforeAll(async () => {
    for (const { row, twin } of rows) {
      await db.insert(submissions).values(row);
      if (twin) await db.insert(submissions).values(twin);
    }
    const got = await db.all<{ id: string; state: string }>(
      sql`SELECT s.id, ${entryStateSql("s", P.quorum, NOW_ISO)} AS state FROM submissions s WHERE s.id LIKE 'hsh_state_%' AND s.submitter_id = 'par_state'`,
    );
    fromSql = new Map(got.map((r) => [r.id, r.state]));
    // Leave no hand-made rows behind for the statistics below.
    await env.DB.prepare("DELETE FROM submissions WHERE id LIKE 'hsh_state_%'").run();
  });

  it.each(rows.map((r) => [r.c.name, r] as const))("%s", (_name, { c, row, linked }) => {
    expect(entryStateName(linked, P, NOW), "predicate").toBe(c.state);
    expect(fromSql.get(row.id), "SQL").toBe(c.state);
    const s = entryState(linked, P, NOW);
    expect(s.name).toBe(c.state);
    expect(s.was).toBe(c.was ?? null);
    expect(s.flags).toEqual(c.flags ?? []);
    expect(s.inBaseline).toBe(c.state === "included" || c.state === "disputed");
    // One label, never two contradicting words: an ended entry says what it was in brackets.
    expect(s.label).toBe(c.was ? `${s.label.split(" (")[0]} (was ${c.was})` : s.label);
  });

  it("covers every state", () => {
    expect(new Set(CASES.map((c) => c.state))).toEqual(new Set(ENTRY_STATES));
  });
});

// ---- the statistics against the entries they count ---------------------------------------------

const r = rng(2718);
let nl: Admitted;
let de: Admitted;
let fr: Admitted;
let platform: Admitted;

function ok<T>(res: { ok: true; data: T } | { ok: false; status: number; problem: unknown }): T {
  if (!res.ok) throw new Error(`${res.status} ${JSON.stringify(res.problem)}`);
  return res.data;
}

async function submit(
  by: Admitted,
  extra: Record<string, unknown> = {},
): Promise<{ id: string; value: string }> {
  const value = randomPdq(r);
  const res = ok(
    await by.client.write<SubmitResult>("/v1/submissions", "submission.create", {
      items: [pdqItem(value, extra)],
    }),
  );
  return { id: res.submissions[0]!.id, value };
}
const assess = async (by: Admitted, id: string, verdict: "concur" | "dissent") =>
  ok(
    await by.client.write<WriteReceipt>(`/v1/submissions/${id}/assessments`, "assessment.create", {
      submissionId: id,
      verdict,
      limb: "a",
      ...(verdict === "dissent" ? { reason: "not terrorist content" } : {}),
    }),
  ).subjectId;
const decide = async (id: string, decision: string, cite: string[] = []) =>
  ok(
    await coordinator().write(`/v1/submissions/${id}/decisions`, "baseline.decide", {
      submissionId: id,
      decision,
      reason: "the coordinator decides",
      assessmentIds: cite,
    }),
  );
/** Submitted by NL, concurred by DE and FR, included: the quorum is the three active states. */
async function included(extra: Record<string, unknown> = {}) {
  const s = await submit(nl, extra);
  const a = await assess(de, s.id, "concur");
  const b = await assess(fr, s.id, "concur");
  await decide(s.id, "include", [a, b]);
  return s;
}

describe("GET /v1/stats counts the entries as their views show them", () => {
  const expected: Partial<Record<EntryStateName, number>> = {};
  const want = (s: EntryStateName) => {
    expected[s] = (expected[s] ?? 0) + 1;
  };

  beforeAll(async () => {
    nl = await admit("authority", "NL");
    de = await admit("authority", "DE");
    fr = await admit("authority", "FR");
    platform = await admit("platform");
    const coord = coordinator();

    await submit(nl); // awaiting
    want("awaiting");
    await submit(de, { tlp: "red" }); // never eligible, never shared
    want("awaiting");
    const el = await submit(nl);
    await assess(de, el.id, "concur");
    await assess(fr, el.id, "concur");
    want("eligible");
    const inc = await included();
    want("included");
    const disp = await included();
    await assess(de, disp.id, "dissent");
    want("disputed");
    const ret = await included();
    await decide(ret.id, "retire");
    want("retired");
    const exc = await submit(fr);
    await decide(exc.id, "exclude");
    want("excluded");
    // The contradiction this guards against: reversed and withdrawn entries that were included.
    const rev = await included();
    ok(
      await coord.write(`/v1/submissions/${rev.id}/reverse`, "submission.reverse", {
        submissionId: rev.id,
        ground: "court_ruling",
        reason: "annulled",
      }),
    );
    want("reversed");
    const wd = await included();
    ok(
      await nl.client.write(`/v1/submissions/${wd.id}/withdraw`, "submission.withdraw", {
        submissionId: wd.id,
        reason: "submitted by mistake",
      }),
    );
    want("withdrawn");
    // Included now, expired a few seconds later: counted as expired, not as a baseline entry.
    const exp = await included({ expiresAt: new Date(Date.now() + 4000).toISOString() });
    want("expired");
    // Feedback: one FP report on an included entry, matched first.
    ok(await platform.client.postJson("/v1/match", { items: [{ type: "pdq", value: inc.value }] }));
    ok(
      await platform.client.write(`/v1/submissions/${inc.id}/feedback`, "feedback.create", {
        submissionId: inc.id,
        outcome: "false_positive",
      }),
    );
    void exp;
    await new Promise((res) => setTimeout(res, 4500));
  }, 30_000);

  async function everyEntry(): Promise<SubmissionView[]> {
    const out: SubmissionView[] = [];
    let after = "";
    for (;;) {
      const page = ok(
        await coordinator().get<{ submissions: SubmissionView[]; next: string | null }>(
          `/v1/submissions?scope=all&limit=500${after ? `&after=${after}` : ""}`,
        ),
      );
      out.push(...page.submissions);
      if (!page.next) return out;
      after = page.next;
    }
  }

  it("every figure equals the count of the entries in that state", async () => {
    const stats = (await (await nodeFetch(`${BASE}/v1/stats`)).json()) as NodeStats;
    const entries = await everyEntry();
    const count = (pred: (v: SubmissionView) => boolean) => entries.filter(pred).length;

    // The history put one entry in each state (two awaiting), and the views say so.
    const byState = Object.fromEntries(ENTRY_STATES.map((s) => [s, count((v) => v.state.name === s)]));
    expect(byState).toEqual({ ...Object.fromEntries(ENTRY_STATES.map((s) => [s, 0])), ...expected });
    expect(stats.submissions.byState).toEqual(byState);
    expect(Object.values(stats.submissions.byState).reduce((a, b) => a + b, 0)).toBe(stats.submissions.total);
    expect(stats.submissions.total).toBe(entries.length);

    const inBaseline = entries.filter((v) => v.state.inBaseline);
    expect(stats.baseline.total).toBe(inBaseline.length);
    expect(stats.baseline.included).toBe(count((v) => v.state.name === "included"));
    expect(stats.baseline.disputed).toBe(count((v) => v.state.name === "disputed"));
    expect(stats.disputes.open).toBe(stats.baseline.disputed);
    // The figure the console once showed beside "18 included" as "included 20": now the same.
    expect(stats.submissions.byBaselineState.included).toBe(stats.baseline.included);
    expect(stats.submissions.byBaselineState.disputed).toBe(stats.baseline.disputed);
    expect(stats.submissions.byBaselineState.retired).toBe(byState.retired);
    expect(stats.submissions.byBaselineState.excluded).toBe(byState.excluded);
    expect(stats.submissions.byBaselineState.none).toBe(
      entries.length - inBaseline.length - byState.retired! - byState.excluded!,
    );
    for (const s of ["live", "withdrawn", "reversed", "voided"] as const)
      expect(stats.submissions.byStatus[s], s).toBe(count((v) => v.status === s));
    for (const ms of ["NL", "DE", "FR"]) {
      const mine = entries.filter((v) => v.memberState === ms);
      expect(stats.baseline.byMemberState[ms] ?? 0, ms).toBe(mine.filter((v) => v.state.inBaseline).length);
      const row = stats.byMemberState.find((x) => x.memberState === ms)!;
      expect(row.submissions).toBe(mine.length);
      expect(row.baselineEntries).toBe(mine.filter((v) => v.state.inBaseline).length);
    }
    // Ended entries that had been included say so, and are not counted as included anywhere.
    for (const v of entries.filter((x) => x.state.was)) {
      expect(["expired", "withdrawn", "reversed"]).toContain(v.state.name);
      expect(v.state.inBaseline).toBe(false);
      expect(v.state.label).toBe(`${v.state.name} (was ${v.state.was})`);
    }
    // The one FP report: a rate of 100 % from one report, which is shown only with its sample.
    expect(stats.feedback).toMatchObject({ truePositive: 0, falsePositive: 1 });
    // One minimum for every rate: the policy's FP_FLAG_MIN_REPORTS (3 by default), also the
    // error rates' and each entry's.
    expect(stats.policy.minRateSample).toBe(stats.policy.fpFlagMinReports);
    expect(stats.errorRates.minReports).toBe(stats.policy.minRateSample);
    expect(stats.policy.minRateSample).toBe(3);
  });

  it("the statistics page shows the states and withholds a rate from too few reports", async () => {
    const html = await (await nodeFetch(`${BASE}/console/stats`)).text();
    expect(html).toMatch(/<th scope="row">reversed<\/th><td>1<\/td>/);
    expect(html).toMatch(/<th scope="row">expired<\/th><td>1<\/td>/);
    expect(html).not.toContain("100.0 %");
    expect(html).toContain("withheld: 1 report (fewer than 3)");
  });
});
