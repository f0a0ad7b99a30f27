// Matching's reads and writes in D1: the current rows of the entries the index shards found, and
// the accounting of a match request (counts only, never the queried hashes) with the memory of
// which platform matched which entry, so it sees later reversals. No Hono types here.
import { newId } from "@eusn/protocol";
import { sql } from "drizzle-orm";
import { matchRequests, submissionMatches, submissions } from "../../../schema/index.ts";
import { chunk, type Db } from "../lib/db.ts";
import type { SubmissionRow } from "../rules/baseline.ts";

/**
 * The submissions with these match keys, by key, read straight from D1 so status, expiry and
 * baseline state are current whatever the index holds. One statement whatever the number of keys:
 * they travel as one JSON parameter.
 */
export async function rowsByMatchKey(db: Db, keys: readonly number[]): Promise<Map<number, SubmissionRow>> {
  const rows = new Map<number, SubmissionRow>();
  if (keys.length === 0) return rows;
  const found = await db
    .select()
    .from(submissions)
    .where(sql`${submissions.matchKey} IN (SELECT value FROM json_each(${JSON.stringify(keys)}))`);
  for (const r of found) if (r.matchKey !== null) rows.set(r.matchKey, r);
  return rows;
}

export type MatchAccount = {
  platformId: string;
  at: string;
  scope: string;
  threshold: number;
  queried: number;
  matchedItems: number;
  matchedIds: readonly string[];
};

/**
 * Counts a match request for the platform and remembers, per matched entry, that the platform
 * matched it (first and last time, how often), in one batch: both or neither.
 */
export async function recordMatches(db: Db, m: MatchAccount): Promise<void> {
  await db.batch([
    db.insert(matchRequests).values({
      id: newId("record").replace(/^rec_/, "mrq_"),
      platformId: m.platformId,
      at: m.at,
      scope: m.scope,
      threshold: m.threshold,
      queried: m.queried,
      matchedItems: m.matchedItems,
      matchedEntries: m.matchedIds.length,
    }),
    // 4 columns per row: 10 rows per statement stays well under D1's 100 bound parameters.
    ...chunk([...m.matchedIds], 10).map((part) =>
      db
        .insert(submissionMatches)
        .values(
          part.map((id) => ({
            submissionId: id,
            platformId: m.platformId,
            firstMatchedAt: m.at,
            lastMatchedAt: m.at,
          })),
        )
        .onConflictDoUpdate({
          target: [submissionMatches.submissionId, submissionMatches.platformId],
          set: { lastMatchedAt: m.at, count: sql`${submissionMatches.count} + 1` },
        }),
    ),
  ]);
}
