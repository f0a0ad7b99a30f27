// The provisional rule as plain spec cases (rules/baseline.ts, "provisional entries"): each case
// is one entry of an incident at one moment, judged by the predicate and by its SQL form against
// real D1, so the two cannot drift apart. The 72 hours after submission and the incident's end are
// both limits: whichever comes first ends provisional matching; an included entry is a baseline
// entry whatever the incident does; TLP:RED never matches.
import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { incidents, submissions } from "../../schema/index.ts";
import { db as dbOf } from "../../workers/api/lib/db.ts";
import {
  isMatchable,
  isProvisional,
  lapseDueSql,
  matchableBaselineSql,
  provisionalLapsesAt,
  provisionalSql,
  type SubmissionRow,
} from "../../workers/api/rules/baseline.ts";

const H = 3600_000;
const T0 = Date.parse("2026-06-01T00:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();

// Incident A: T0 .. T0+7 d (long: the entry's own 72 h decides). B: T0 .. T0+10 h (its end
// decides). C: closed at T0+5 h (scheduled to T0+48 h).
const INCIDENTS = [
  { id: "inc_rules_a", endsAt: iso(T0 + 168 * H), closedAt: null },
  { id: "inc_rules_b", endsAt: iso(T0 + 10 * H), closedAt: null },
  { id: "inc_rules_c", endsAt: iso(T0 + 48 * H), closedAt: iso(T0 + 5 * H) },
];

type Case = {
  name: string;
  incident: string;
  /** Submitted at T0 + h. */
  at: number;
  /** Judged at T0 + h. */
  now: number;
  row?: Partial<SubmissionRow>;
  provisional: boolean;
  lapseDue: boolean;
  matchBaseline: boolean;
};

// biome-ignore format: a table of cases reads across.
const CASES: Case[] = [
  { name: "within both limits",                      incident: "inc_rules_a", at: 1, now: 2,     provisional: true,  lapseDue: false, matchBaseline: true },
  { name: "one ms before its 72 h",                  incident: "inc_rules_a", at: 1, now: 73 - 1 / 3600_000, provisional: true, lapseDue: false, matchBaseline: true },
  { name: "at its 72 h, incident still active",      incident: "inc_rules_a", at: 1, now: 73,    provisional: false, lapseDue: true,  matchBaseline: false },
  { name: "long after its 72 h",                     incident: "inc_rules_a", at: 1, now: 100,   provisional: false, lapseDue: true,  matchBaseline: false },
  { name: "incident ended before its 72 h",          incident: "inc_rules_b", at: 1, now: 10,    provisional: false, lapseDue: true,  matchBaseline: false },
  { name: "before the incident's end",               incident: "inc_rules_b", at: 1, now: 9,     provisional: true,  lapseDue: false, matchBaseline: true },
  { name: "incident closed early",                   incident: "inc_rules_c", at: 1, now: 6,     provisional: false, lapseDue: true,  matchBaseline: false },
  { name: "before the close",                        incident: "inc_rules_c", at: 1, now: 4,     provisional: true,  lapseDue: false, matchBaseline: true },
  { name: "lapse already recorded",                  incident: "inc_rules_a", at: 1, now: 2,  row: { provisionalLapsedAt: iso(T0 + 1.5 * H) }, provisional: false, lapseDue: false, matchBaseline: false },
  { name: "included in time: a baseline entry",      incident: "inc_rules_a", at: 1, now: 100, row: { baselineState: "included" }, provisional: false, lapseDue: false, matchBaseline: true },
  { name: "disputed after inclusion",                incident: "inc_rules_b", at: 1, now: 50, row: { baselineState: "disputed", liveDissents: 1 }, provisional: false, lapseDue: false, matchBaseline: true },
  { name: "excluded",                                incident: "inc_rules_a", at: 1, now: 2,  row: { baselineState: "excluded" }, provisional: false, lapseDue: false, matchBaseline: false },
  { name: "TLP:RED, inside its window",              incident: "inc_rules_a", at: 1, now: 2,  row: { tlp: "red" }, provisional: false, lapseDue: false, matchBaseline: false },
  { name: "withdrawn inside its window",             incident: "inc_rules_a", at: 1, now: 2,  row: { status: "withdrawn" }, provisional: false, lapseDue: false, matchBaseline: false },
  { name: "own expiry before the window ends",       incident: "inc_rules_a", at: 1, now: 3,  row: { expiresAt: iso(T0 + 2 * H) }, provisional: false, lapseDue: false, matchBaseline: false },
];

let n = 0;
function rowOf(c: Case): SubmissionRow {
  n++;
  return {
    id: `hsh_prov_${String(n).padStart(4, "0")}`,
    recordId: `rec_prov_${n}`,
    submitterId: "par_rules",
    memberState: "NL",
    signalType: "md5",
    value: (1000 + n).toString(16).padStart(32, "0"),
    fingerprint: `md5:prov${n}`,
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
    createdAt: iso(T0 + c.at * H),
    concurStates: "[]",
    liveDissents: 0,
    fbTrue: 0,
    fbFalse: 0,
    fbNotActioned: 0,
    matchKey: null,
    stateVersion: 0,
    incidentId: c.incident,
    provisionalUntil: iso(T0 + (c.at + 72) * H),
    provisionalLapsedAt: null,
    ...c.row,
  } as SubmissionRow;
}

const rows = CASES.map((c) => ({ c, row: rowOf(c) }));
const db = dbOf(env.DB);

async function holds(id: string, cond: ReturnType<typeof sql>): Promise<boolean> {
  const got = await db.all<{ id: string }>(
    sql`SELECT s.id FROM submissions s WHERE s.id = ${id} AND ${cond}`,
  );
  return got.length === 1;
}

beforeAll(async () => {
  for (const i of INCIDENTS)
    await db.insert(incidents).values({
      ...i,
      recordId: `rec_${i.id}`,
      declaredBy: "par_coordinator",
      title: "rules",
      description: "rules",
      requestedBy: '["NL"]',
      startsAt: iso(T0),
      createdAt: iso(T0),
    });
  for (const { row } of rows) await db.insert(submissions).values(row);
});

describe("the provisional rule, predicate and SQL alike", () => {
  it.each(rows.map((r) => [r.c.name, r] as const))("%s", async (_name, { c, row }) => {
    const now = T0 + c.now * H;
    const inc = INCIDENTS.find((i) => i.id === c.incident)!;
    const incidentEndsAt = inc.closedAt && inc.closedAt < inc.endsAt ? inc.closedAt : inc.endsAt;
    const linked = { ...row, linkedRed: row.tlp === "red", incidentEndsAt };
    expect(isProvisional(linked, now), "provisional").toBe(c.provisional);
    expect(isMatchable(linked, "baseline", now), "matchable, scope baseline").toBe(c.matchBaseline);
    expect(await holds(row.id, provisionalSql("s", iso(now))), "SQL provisional").toBe(c.provisional);
    expect(await holds(row.id, lapseDueSql("s", iso(now))), "SQL lapse due").toBe(c.lapseDue);
    expect(await holds(row.id, matchableBaselineSql("s", iso(now))), "SQL matchable, scope baseline").toBe(
      c.matchBaseline,
    );
  });

  it("lapses at the earlier of the incident's end and 72 h after submission", () => {
    expect(
      provisionalLapsesAt({
        incidentId: "x",
        provisionalUntil: iso(T0 + 72 * H),
        incidentEndsAt: iso(T0 + 10 * H),
      }),
    ).toBe(iso(T0 + 10 * H));
    expect(
      provisionalLapsesAt({
        incidentId: "x",
        provisionalUntil: iso(T0 + 72 * H),
        incidentEndsAt: iso(T0 + 168 * H),
      }),
    ).toBe(iso(T0 + 72 * H));
    expect(
      provisionalLapsesAt({ incidentId: null, provisionalUntil: null, incidentEndsAt: null }),
    ).toBeNull();
  });
});
