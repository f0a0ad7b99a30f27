// The baseline rule as plain spec cases (workers/api/rules/baseline.ts). Each case is one entry's
// state; every rule is judged twice — by its predicate and by its SQL form against real D1 — and
// both must give the expected answer, so the two forms cannot drift apart.

import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { submissions } from "../../schema/index.ts";
import { db as dbOf } from "../../workers/api/lib/db.ts";
import {
  currentSql,
  eligibleSql,
  flaggedSql,
  inBaselineSql,
  indexableSqlText,
  isCurrent,
  isEligible,
  isFlagged,
  isInBaseline,
  isIndexable,
  isMatchable,
  isShareable,
  linkedRedSql,
  type Policy,
  restrictsLinked,
  type SubmissionRow,
  shareableSql,
} from "../../workers/api/rules/baseline.ts";
import {
  type EntryFacts,
  type Fact,
  foldEntry,
  type Position,
  type Registry,
} from "../../workers/api/rules/entry-history.ts";

const NOW = Date.parse("2026-06-01T12:00:00.000Z");
const NOW_ISO = new Date(NOW).toISOString();
const PAST = "2026-05-01T00:00:00.000Z";
const FUTURE = "2026-07-01T00:00:00.000Z";
const P: Policy = { quorum: 3, fpRate: 0.3, fpMinReports: 3 };

type Case = {
  name: string;
  row: Partial<SubmissionRow>;
  current: boolean;
  eligible: boolean;
  inBaseline: boolean;
  indexable: boolean;
  matchAll: boolean;
  matchBaseline: boolean;
  flagged: boolean;
};

const three = JSON.stringify(["DE", "FR", "NL"]);
const two = JSON.stringify(["DE", "NL"]);

// One row per state the rule distinguishes. Read across: what each rule says about that entry.
// biome-ignore format: a table of cases reads across.
const CASES: Case[] = [
  { name: "new, no concurrence",            row: {},                                             current: true,  eligible: false, inBaseline: false, indexable: true,  matchAll: true,  matchBaseline: false, flagged: false },
  { name: "quorum reached",                 row: { concurStates: three },                        current: true,  eligible: true,  inBaseline: false, indexable: true,  matchAll: true,  matchBaseline: false, flagged: false },
  { name: "one state short of quorum",      row: { concurStates: two },                          current: true,  eligible: false, inBaseline: false, indexable: true,  matchAll: true,  matchBaseline: false, flagged: false },
  { name: "quorum with an open dissent",    row: { concurStates: three, liveDissents: 1 },       current: true,  eligible: false, inBaseline: false, indexable: true,  matchAll: true,  matchBaseline: false, flagged: false },
  { name: "included",                       row: { concurStates: three, baselineState: "included" }, current: true, eligible: true, inBaseline: true, indexable: true, matchAll: true, matchBaseline: true, flagged: false },
  { name: "disputed after inclusion",       row: { concurStates: three, liveDissents: 1, baselineState: "disputed" }, current: true, eligible: false, inBaseline: true, indexable: true, matchAll: true, matchBaseline: true, flagged: false },
  { name: "excluded",                       row: { concurStates: three, baselineState: "excluded" }, current: true, eligible: true, inBaseline: false, indexable: false, matchAll: false, matchBaseline: false, flagged: false },
  { name: "retired",                        row: { concurStates: three, baselineState: "retired" }, current: true, eligible: true, inBaseline: false, indexable: true, matchAll: true, matchBaseline: false, flagged: false },
  { name: "withdrawn while included",       row: { concurStates: three, baselineState: "included", status: "withdrawn" }, current: false, eligible: false, inBaseline: false, indexable: false, matchAll: false, matchBaseline: false, flagged: false },
  { name: "reversed while included",        row: { concurStates: three, baselineState: "included", status: "reversed" }, current: false, eligible: false, inBaseline: false, indexable: false, matchAll: false, matchBaseline: false, flagged: false },
  { name: "expired while included",         row: { concurStates: three, baselineState: "included", expiresAt: PAST }, current: false, eligible: false, inBaseline: false, indexable: true, matchAll: false, matchBaseline: false, flagged: false },
  { name: "expires later, included",        row: { concurStates: three, baselineState: "included", expiresAt: FUTURE }, current: true, eligible: true, inBaseline: true, indexable: true, matchAll: true, matchBaseline: true, flagged: false },
  { name: "TLP:RED with quorum",            row: { concurStates: three, tlp: "red" },            current: true,  eligible: false, inBaseline: false, indexable: false, matchAll: false, matchBaseline: false, flagged: false },
  { name: "TLP:RED marked included",        row: { concurStates: three, tlp: "red", baselineState: "included" }, current: true, eligible: false, inBaseline: false, indexable: false, matchAll: false, matchBaseline: false, flagged: false },
  { name: "TLP:AMBER included",             row: { concurStates: three, tlp: "amber", baselineState: "included" }, current: true, eligible: true, inBaseline: true, indexable: true, matchAll: true, matchBaseline: true, flagged: false },
  { name: "false positives at the rate",    row: { fbTrue: 7, fbFalse: 3 },                      current: true,  eligible: false, inBaseline: false, indexable: true,  matchAll: true,  matchBaseline: false, flagged: true },
  { name: "false positives below the rate", row: { fbTrue: 8, fbFalse: 3 },                      current: true,  eligible: false, inBaseline: false, indexable: true,  matchAll: true,  matchBaseline: false, flagged: false },
  { name: "too few reports to flag",        row: { fbTrue: 0, fbFalse: 2 },                      current: true,  eligible: false, inBaseline: false, indexable: true,  matchAll: true,  matchBaseline: false, flagged: false },
];

let n = 0;
function rowOf(c: Case): SubmissionRow {
  n++;
  const id = `hsh_rules_${String(n).padStart(4, "0")}`;
  return {
    id,
    recordId: `rec_rules_${n}`,
    submitterId: "par_rules",
    memberState: "NL",
    signalType: "md5",
    value: n.toString(16).padStart(32, "0"),
    fingerprint: `md5:${n}`,
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
    ...c.row,
  } as SubmissionRow;
}

const rows = CASES.map((c) => ({ c, row: rowOf(c) }));
const db = dbOf(env.DB);

/** The ids of the case rows for which the SQL condition holds. */
async function holds(cond: ReturnType<typeof sql>): Promise<Set<string>> {
  const got = await db.all<{ id: string }>(
    sql`SELECT s.id FROM submissions s WHERE s.id LIKE 'hsh_rules_%' AND ${cond}`,
  );
  return new Set(got.map((r) => r.id));
}

beforeAll(async () => {
  for (const { row } of rows) await db.insert(submissions).values(row);
});

describe("the baseline rule, predicate and SQL alike", () => {
  it.each(rows.map((r) => [r.c.name, r] as const))("%s", async (_name, { c, row }) => {
    expect(isCurrent(row, NOW), "current").toBe(c.current);
    expect(isEligible(row, P, NOW), "eligible").toBe(c.eligible);
    // No other submission of these values: only an entry's own TLP:RED links it to a RED one.
    const linked = { ...row, linkedRed: restrictsLinked(row) };
    expect(isInBaseline(linked, NOW), "in the baseline").toBe(c.inBaseline);
    expect(isIndexable(row), "indexable").toBe(c.indexable);
    expect(isMatchable(linked, "all", NOW), "matchable, scope all").toBe(c.matchAll);
    expect(isMatchable(linked, "baseline", NOW), "matchable, scope baseline").toBe(c.matchBaseline);
    expect(isFlagged(row, P), "flagged").toBe(c.flagged);

    expect((await holds(currentSql("s", NOW_ISO))).has(row.id), "SQL current").toBe(c.current);
    expect((await holds(eligibleSql("s", P.quorum, NOW_ISO))).has(row.id), "SQL eligible").toBe(c.eligible);
    expect((await holds(inBaselineSql("s", NOW_ISO))).has(row.id), "SQL in the baseline").toBe(c.inBaseline);
    expect((await holds(sql.raw(indexableSqlText("s")))).has(row.id), "SQL indexable").toBe(c.indexable);
    expect((await holds(flaggedSql("s", P))).has(row.id), "SQL flagged").toBe(c.flagged);
  });

  it("the default quorum follows the active member states", async () => {
    const { policy } = await import("../../workers/api/rules/baseline.ts");
    const p = await policy(db, { ...env, BASELINE_MIN_STATES: "0" });
    const active = await db.get<{ n: number }>(
      sql`SELECT count(DISTINCT member_state) AS n FROM participants WHERE role = 'authority' AND status = 'active'`,
    );
    expect(p.quorum).toBe(Math.max(1, active?.n ?? 0));
    expect((await policy(db, { ...env, BASELINE_MIN_STATES: "4" })).quorum).toBe(4);
  });
});

// The strictest TLP among linked submissions governs: an included, `clear` entry whose value
// another authority's submission holds at TLP:RED is withheld from every platform while that
// submission is live (withdrawn, reversed or voided, it no longer restricts; expiry alone does
// not lift it, as it is no record the change feed can announce).
type LinkedCase = { name: string; twin: Partial<SubmissionRow> | null; shared: boolean };
// biome-ignore format: a table of cases reads across.
const LINKED: LinkedCase[] = [
  { name: "no twin",                               twin: null,                                          shared: true },
  { name: "a live TLP:RED twin",                   twin: { tlp: "red" },                                shared: false },
  { name: "a live TLP:RED twin, expired",          twin: { tlp: "red", expiresAt: PAST },               shared: false },
  { name: "a withdrawn TLP:RED twin",              twin: { tlp: "red", status: "withdrawn" },           shared: true },
  { name: "a reversed TLP:RED twin",               twin: { tlp: "red", status: "reversed" },            shared: true },
  { name: "a voided TLP:RED twin",                 twin: { tlp: "red", status: "voided" },              shared: true },
  { name: "a live TLP:AMBER twin",                 twin: { tlp: "amber" },                              shared: true },
  { name: "a live twin without TLP",               twin: {},                                            shared: true },
];

describe("a linked TLP:RED submission withholds the value everywhere, predicate and SQL alike", () => {
  const linkedRows = LINKED.map((c, i) => {
    const value = (0xabc000 + i).toString(16).padStart(32, "0");
    const base = { value, fingerprint: `md5:${value}` };
    const entry = rowOf({
      name: c.name,
      row: { ...base, concurStates: three, baselineState: "included" },
    } as Case);
    const twin = c.twin
      ? rowOf({
          name: c.name,
          row: { ...base, submitterId: "par_rules_twin", memberState: "DE", ...c.twin },
        } as Case)
      : null;
    return { c, entry, twin };
  });

  beforeAll(async () => {
    for (const { entry, twin } of linkedRows) {
      await db.insert(submissions).values(entry);
      if (twin) await db.insert(submissions).values(twin);
    }
  });

  it.each(linkedRows.map((r) => [r.c.name, r] as const))("%s", async (_name, { c, entry, twin }) => {
    const linkedRed = twin !== null && restrictsLinked(twin);
    const row = { ...entry, linkedRed };
    expect(isShareable(row), "shareable").toBe(c.shared);
    expect(isInBaseline(row, NOW), "in the baseline").toBe(c.shared);
    expect(isMatchable(row, "all", NOW), "matchable, scope all").toBe(c.shared);
    expect(isMatchable(row, "baseline", NOW), "matchable, scope baseline").toBe(c.shared);
    // The index keeps it either way (a superset; matching judges the link per query).
    expect(isIndexable(row), "indexable").toBe(true);

    expect((await holds(linkedRedSql("s"))).has(entry.id), "SQL linked RED").toBe(linkedRed);
    expect((await holds(shareableSql("s"))).has(entry.id), "SQL shareable").toBe(c.shared);
    expect((await holds(inBaselineSql("s", NOW_ISO))).has(entry.id), "SQL in the baseline").toBe(c.shared);
    expect((await holds(sql.raw(indexableSqlText("s")))).has(entry.id), "SQL indexable").toBe(true);
    // The TLP:RED twin itself is never shared, whatever its status.
    if (twin?.tlp === "red") expect((await holds(shareableSql("s"))).has(twin.id)).toBe(false);
  });
});

// The fold (rules/entry-history.ts) orders an entry's records by signed time, then origin node:
// within one second, records accepted by different nodes are ordered by node id, which says
// nothing about which came first. A record signed by an authority can only exist once it is
// admitted (its key comes with the admission), so the authority's records count from their own
// place even when the admission, completed on another node in the same second (or within the clock
// skew a signed time may carry), sorts after them. Seen as a flaky three-node run: an inclusion
// citing two concurrences made in the second the assessors were admitted was refused as "revoked".
describe("the fold: an authority's records count from their own place, not from its admission's", () => {
  const S = 1_800_000_000;
  const at = (origin: string, originIndex: number, iat = S) => ({ iat, origin, originIndex });
  const authority = (id: string, memberState: string, admitted: Position, revoked: Position | null = null) =>
    [id, { id, memberState, admitted, revoked }] as const;
  const concur = (id: string, authorityId: string, memberState: string, p: Position): Fact => ({
    type: "assessment",
    id,
    recordId: `rec_${id}`,
    authorityId,
    memberState,
    verdict: "concur",
    void: false,
    ...p,
  });
  const include = (id: string, cited: string[], p: Position): Fact => ({
    type: "decision",
    id,
    recordId: `rec_${id}`,
    actorId: "par_coordinator",
    action: "include",
    cited,
    void: false,
    ...p,
  });
  const entry = (facts: Fact[]): EntryFacts => ({
    id: "hsh_fold",
    submitterId: "par_nl",
    memberState: "NL",
    tlp: null,
    expiresAt: null,
    createdVoid: false,
    facts,
  });

  it("concurrences and an inclusion in the second DE and AT were admitted on a node that sorts last", () => {
    const reg: Registry = {
      minStates: 3,
      authorities: new Map([
        authority("par_nl", "NL", at("node-a", 1, S - 60)),
        authority("par_de", "DE", at("node-z", 7)),
        authority("par_at", "AT", at("node-z", 8)),
      ]),
    };
    const s = foldEntry(
      entry([
        concur("asm_de", "par_de", "DE", at("node-b", 3)),
        concur("asm_at", "par_at", "AT", at("node-b", 4)),
        include("dec_1", ["asm_de", "asm_at"], at("node-m", 2)),
      ]),
      reg,
    );
    expect(s.refused.get("dec_1")).toBeUndefined();
    expect(s.baselineState).toBe("included");
    expect(s.concurStates).toEqual(["AT", "DE", "NL"]);
  });

  it("a submitter admitted in the same second counts toward the inclusion's quorum", () => {
    const reg: Registry = {
      minStates: 2,
      authorities: new Map([
        authority("par_nl", "NL", at("node-z", 9)),
        authority("par_de", "DE", at("node-a", 1, S - 60)),
      ]),
    };
    const s = foldEntry(
      entry([
        concur("asm_de", "par_de", "DE", at("node-b", 3)),
        include("dec_1", ["asm_de"], at("node-m", 2)),
      ]),
      reg,
    );
    expect(s.refused.get("dec_1")).toBeUndefined();
    expect(s.baselineState).toBe("included");
  });

  it("a revocation still ends them at its place: cited after it, refused; before it, counted", () => {
    const reg = (revokedAt: Position): Registry => ({
      minStates: 2,
      authorities: new Map([
        authority("par_nl", "NL", at("node-a", 1, S - 60)),
        authority("par_de", "DE", at("node-a", 2, S - 60), revokedAt),
      ]),
    });
    const facts = [
      concur("asm_de", "par_de", "DE", at("node-b", 3)),
      include("dec_1", ["asm_de"], at("node-m", 2)),
    ];
    const after = foldEntry(entry(facts), reg(at("node-c", 1)));
    expect(after.refused.get("dec_1")?.detail).toMatch(/revoked/);
    expect(after.baselineState).toBe("none");
    const before = foldEntry(entry(facts), reg(at("node-n", 1)));
    // Included, then sent back to the coordinators when the revocation takes DE's concurrence away.
    expect(before.refused.get("dec_1")).toBeUndefined();
    expect(before.baselineState).toBe("disputed");
  });
});
