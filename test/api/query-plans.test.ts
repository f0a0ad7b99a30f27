// The registry's reach at scale: what a revocation, a key's compromise or a settled admission
// reads to find the entries it must fold again must be answered from indexes, never by scanning
// every submission. At ten million entries such a scan made one countersignature take 9.7 s and
// a revocation (every submission joined to its record) run for minutes, holding the node.
//
// The queries are captured as the code builds them (drizzle's query logger on the real local D1)
// and asked for their plan with SQLite's EXPLAIN QUERY PLAN: a plan that scans one of the
// per-entry tables (submissions, assessments, decisions, feedback) fails, whatever the data.

import { env } from "cloudflare:workers";
import { SubmissionListQuery } from "@eusn/protocol";
import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";
import * as schema from "../../schema/index.ts";
import { prepareRecord } from "../../workers/api/apply/pipeline.ts";
import { entriesOf, registryReach, voidedBy } from "../../workers/api/apply/registry.ts";
import { createSubmissions } from "../../workers/api/apply/submissions.ts";
import { type Db, db } from "../../workers/api/lib/db.ts";
import { SPLIT_PAGE_SQL, SPLIT_TOTAL_SQL, VIDEO_PAGE_SQL } from "../../workers/api/match/shard.ts";
import { linkedInBaselineSql, type SubmissionRow } from "../../workers/api/rules/baseline.ts";
import { INCIDENT_FEED_SQL, incidentsLinkedTo } from "../../workers/api/store/incidents.ts";
import { MATCH_ROWS_SQL } from "../../workers/api/store/match.ts";
import { submissionPage } from "../../workers/api/store/submission-lists.ts";
import { linkedOf, liveOfFingerprints } from "../../workers/api/store/submissions.ts";
import { pdqItem, randomPdq, rng } from "../helpers/hashes.ts";
import { admit } from "../helpers/node.ts";
import { verifiedFor } from "../helpers/planned-write.ts";

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

// A shard's build (match/shard.ts) reads its own entries page by page; its other statements
// (the index's size, the video pages) must start from the few video rows, never pass over every
// submission: at 10M entries one pass is about 50 s of page reads, made by each of the shards.
describe("a match shard's build", () => {
  const ALL_SUBMISSIONS =
    /^SCAN (submissions|s)\b|^SEARCH (submissions|s) USING INDEX submissions_match_key \(match_key>\?\)$/;
  for (const [name, sql, params] of [
    ["the split shard's size", SPLIT_TOTAL_SQL, [12, 5, 1000]],
    ["a split shard's page of still entries", SPLIT_PAGE_SQL, [12, 5, 5, 20_000, 1000]],
    ["a page of video entries", VIDEO_PAGE_SQL, [12, 5, 0, 50_000]],
  ] as const) {
    it(`${name}: no pass over every submission`, async () => {
      const steps = await plan({ sql, params: [...params] });
      expect(
        steps.filter((d) => ALL_SUBMISSIONS.test(d)),
        steps.join("\n"),
      ).toEqual([]);
    });
  }
});

// An entry's hash is kept in no index of `submissions` (migration 0027): hash values arrive in
// random order, so an index keyed by one costs a page write per row a batch of submissions adds.
// Every lookup by hash goes through the two-level key table `fingerprint_keys` and then the
// entry's match key — the links a submission answer and every view carry, the console's search by
// hash prefix, a submitted batch's idempotency check, the TLP:RED rules, an incident's followers.
describe("an entry's hash: every lookup through the key table of fingerprints", () => {
  const KEYS = /SEARCH fingerprint_keys USING (COVERING INDEX|PRIMARY KEY)/;
  const BY_MATCH_KEY = /SEARCH (submissions|s|lb|r) USING INDEX submissions_match_key\b/;

  async function expectThroughKeys(queries: { sql: string; params: unknown[] }[]) {
    await expectIndexed(queries);
    for (const q of queries) {
      const steps = await plan(q);
      expect(
        steps.some((d) => KEYS.test(d)) && steps.some((d) => BY_MATCH_KEY.test(d)),
        `${q.sql}\n${steps.join("\n")}`,
      ).toBe(true);
    }
  }

  it("the console's search by hash prefix, every status, a range per signal type", async () => {
    const { db, queries } = capturing();
    await submissionPage(
      db,
      env,
      { id: "par_coordinator", role: "coordinator" },
      SubmissionListQuery.parse({ scope: "all", q: "ab12" }),
    );
    const page = queries.filter((q) => /from "submissions"/i.test(q.sql) && /fingerprint/.test(q.sql));
    expect(page.length).toBeGreaterThan(0);
    await expectThroughKeys(page);
  });

  it("a submitted batch's idempotency check and its answer's links, and a view's", async () => {
    const { db, queries } = capturing();
    await liveOfFingerprints(db, ["pdq:00", "pdq:01"]);
    await linkedOf(db, [{ id: "hsh_a", fingerprint: "pdq:00", submitterId: "par_a" } as SubmissionRow]);
    await expectThroughKeys(queries);
  });

  it("the TLP:RED rules' lookups of the same value, and an incident's followers", async () => {
    const { db, queries } = capturing();
    await db.all(sql`SELECT ${linkedInBaselineSql("pdq:00", "hsh_a")} AS x`);
    await incidentsLinkedTo(db, ["pdq:00"]);
    await expectThroughKeys(queries);
    // An incident's feed: the TLP:RED submissions of its entries' values.
    const feed = await plan({ sql: INCIDENT_FEED_SQL, params: ["inc_x", 0] });
    expect(
      feed.filter((d) => PER_ENTRY.test(d)),
      feed.join("\n"),
    ).toEqual([]);
    expect(feed.some((d) => KEYS.test(d)) && feed.some((d) => BY_MATCH_KEY.test(d)), feed.join("\n")).toBe(
      true,
    );
  });

  it("a submitted batch's statements: the idempotency rule at the insert, per value, never per authority", async () => {
    // The insert adds a live row only where the authority holds none of the value: asked per
    // row, that check must go through the value's key, not through every submission of the
    // authority by its index (which made each record of a bulk load slower than the last).
    const nl = await admit("authority", "NL");
    const w = await verifiedFor(
      createSubmissions,
      { participantId: nl.id, privateJwk: nl.key.privateJwk },
      {
        items: [pdqItem(randomPdq(rng(5))), pdqItem(randomPdq(rng(6)))],
      },
    );
    const prepared = await prepareRecord(db(env.DB), env, w, { applier: createSubmissions });
    const statements = prepared.plan.statements.map((q) =>
      (q as unknown as { toSQL(): { sql: string; params: unknown[] } }).toSQL(),
    );
    const insert = statements.find((q) => /^insert into "submissions"/i.test(q.sql));
    expect(insert).toBeDefined();
    for (const q of statements) {
      const steps = await plan(q);
      expect(
        steps.filter((d) => PER_ENTRY.test(d) || /SCAN o\b/.test(d)),
        `${q.sql}\n${steps.join("\n")}`,
      ).toEqual([]);
      expect(
        steps.filter((d) => /USING (COVERING )?INDEX submissions_submitter\b/.test(d)),
        `${q.sql}\n${steps.join("\n")}`,
      ).toEqual([]);
    }
    const steps = await plan(insert!);
    expect(
      steps.some((d) => KEYS.test(d)) &&
        steps.some((d) => /SEARCH o USING INDEX submissions_match_key\b/.test(d)),
      steps.join("\n"),
    ).toBe(true);
  });

  it("the check can fail: a lookup by fingerprint alone is caught", async () => {
    const { db, queries } = capturing();
    await db.all(sql`SELECT id FROM submissions WHERE fingerprint = ${"pdq:00"}`);
    await expect(expectThroughKeys(queries)).rejects.toThrow();
  });

  it("no index of submissions is keyed by the hash, but the partial one of live TLP:RED rows", async () => {
    const rows = await env.DB.prepare(
      "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'submissions' AND sql IS NOT NULL",
    ).all<{ name: string; sql: string }>();
    const byHash = rows.results.filter((r) => /\(\s*`?(fingerprint|value)`?\b/.test(r.sql));
    expect(byHash.map((r) => r.name)).toEqual(["submissions_live_red"]);
    expect(byHash[0]!.sql).toMatch(/WHERE tlp = 'red' AND status = 'live'/);
    // The key table is its key's tree alone.
    const keys = await env.DB.prepare(
      "SELECT sql FROM sqlite_master WHERE name = 'fingerprint_keys'",
    ).first<string>("sql");
    expect(keys).toMatch(/WITHOUT ROWID/);
  });
});
