// The registry's reach at scale: what a revocation, a key's compromise or a settled admission
// reads to find the entries it must fold again must be answered from indexes, never by scanning
// every submission. At ten million entries such a scan made one countersignature take 9.7 s and
// a revocation (every submission joined to its record) run for minutes, holding the node.
//
// The queries are captured as the code builds them (drizzle's query logger on the real local D1)
// and asked for their plan with SQLite's EXPLAIN QUERY PLAN: a plan that scans one of the
// per-entry tables (submissions, assessments, decisions, feedback) fails, whatever the data.
import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";
import * as schema from "../../schema/index.ts";
import { entriesOf, registryReach, voidedBy } from "../../workers/api/apply/registry.ts";
import type { Db } from "../../workers/api/lib/db.ts";
import { MATCH_ROWS_SQL } from "../../workers/api/store/match.ts";

/** The tables with a row per entry or more, under every alias the registry's SQL gives them. */
const PER_ENTRY = /^SCAN (submissions|assessments|decisions|feedback|s|a|d|f)\b/;

function capturing(): { db: Db; queries: { sql: string; params: unknown[] }[] } {
  const queries: { sql: string; params: unknown[] }[] = [];
  const db = drizzle(env.DB, {
    schema,
    logger: { logQuery: (sql, params) => queries.push({ sql, params }) },
  }) as unknown as Db;
  return { db, queries };
}

async function plan(q: { sql: string; params: unknown[] }): Promise<string[]> {
  const res = await env.DB.prepare(`EXPLAIN QUERY PLAN ${q.sql}`)
    .bind(...q.params)
    .all<{ detail: string }>();
  return res.results.map((r) => r.detail);
}

async function expectIndexed(queries: { sql: string; params: unknown[] }[]) {
  expect(queries.length).toBeGreaterThan(0);
  for (const q of queries) {
    const steps = await plan(q);
    const scans = steps.filter((d) => PER_ENTRY.test(d));
    expect(scans, `${q.sql}\n${steps.join("\n")}`).toEqual([]);
  }
}

const ends = {
  participantId: "par_someone",
  kid: "kid-1",
  at: { iat: 1_700_000_000, origin: "eusn-test", originIndex: 7 },
};

describe("the registry's reach is read through indexes", () => {
  it("an authority's entries (submitted or assessed, every status)", async () => {
    const { db, queries } = capturing();
    await entriesOf(db, "par_someone");
    await expectIndexed(queries);
  });

  it("the entries a revoked participant's later records were about", async () => {
    const { db, queries } = capturing();
    await voidedBy(db, ends, "rec_revocation");
    await expectIndexed(queries);
  });

  it("the registry records a revocation reaches", async () => {
    const { db, queries } = capturing();
    await registryReach(db, ends, "rec_revocation");
    await expectIndexed(queries);
  });

  it("the check can fail: a scan of every submission is caught", async () => {
    const steps = await plan({ sql: "SELECT id FROM submissions WHERE note = ?", params: ["x"] });
    expect(steps.some((d) => PER_ENTRY.test(d))).toBe(true);
  });
});

// Matching reads the current row of every entry a match found (store/match.ts), whether a live
// TLP:RED submission holds its value among them: at thousands of answered entries per request,
// that lookup must come from the small index of live RED rows, not a page of the large index of
// every fingerprint per entry.
describe("matching's metadata read", () => {
  it("finds entries by key and the TLP:RED link through the index of live RED rows", async () => {
    const steps = await plan({ sql: MATCH_ROWS_SQL, params: ["[1,2,3]"] });
    expect(
      steps.filter((d) => PER_ENTRY.test(d)),
      steps.join("\n"),
    ).toEqual([]);
    expect(
      steps.some((d) => /^SEARCH lr USING (COVERING )?INDEX submissions_live_red\b/.test(d)),
      steps.join("\n"),
    ).toBe(true);
  });
});
