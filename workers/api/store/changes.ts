// The submission change feed (`submission_changes`) as read by everything that serves a position
// in it: the baseline version, a platform's reversals feed, an entry's changes for its history,
// the hash-list export's positions and the count of disputes for the statistics. The appliers
// write the feed, each change in the batch of the record that caused it. No Hono types here.
import { type ExportLine, REVERSAL_CHANGES, type Reversal } from "@eusn/protocol";
import { and, asc, eq, gt, inArray, type SQL, sql } from "drizzle-orm";
import { decisions, submissionChanges, submissionMatches, submissions } from "../../../schema/index.ts";
import { chunk, type Db } from "../lib/db.ts";
import { inBaselineSql } from "../rules/baseline.ts";

/** The baseline version: the feed position of the latest change to baseline membership or state. */
export async function baselineVersion(db: Db): Promise<number> {
  const row = await db.get<{ v: number | null }>(
    sql`SELECT max(seq) AS v FROM submission_changes WHERE affects_baseline = 1`,
  );
  return row?.v ?? 0;
}

/**
 * Withdrawals, reversals and exclusions of entries `platformId` matched, after feed position
 * `after`, with the reason and ground of the decision that made each, and the next cursor.
 */
export async function reversalsFor(
  db: Db,
  platformId: string,
  after: number,
  limit: number,
): Promise<{ reversals: Reversal[]; next: number | null }> {
  const rows = await db
    .select({
      seq: submissionChanges.seq,
      submissionId: submissionChanges.submissionId,
      change: submissionChanges.change,
      at: submissionChanges.at,
      recordId: submissionChanges.recordId,
      signalType: submissions.signalType,
      value: submissions.value,
    })
    .from(submissionChanges)
    .innerJoin(
      submissionMatches,
      and(
        eq(submissionMatches.submissionId, submissionChanges.submissionId),
        eq(submissionMatches.platformId, platformId),
      ),
    )
    .innerJoin(submissions, eq(submissions.id, submissionChanges.submissionId))
    .where(and(gt(submissionChanges.seq, after), inArray(submissionChanges.change, [...REVERSAL_CHANGES])))
    .orderBy(asc(submissionChanges.seq))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  const recIds = page.map((r) => r.recordId).filter((x): x is string => x !== null);
  const why = new Map<string, { reason: string; ground: string | null }>();
  for (const part of chunk(recIds, 90)) {
    for (const d of await db
      .select({ recordId: decisions.recordId, reason: decisions.reason, ground: decisions.ground })
      .from(decisions)
      .where(inArray(decisions.recordId, part))) {
      why.set(d.recordId, d);
    }
  }
  return {
    reversals: page.map((r) => ({
      ...r,
      change: r.change as Reversal["change"],
      reason: (r.recordId && why.get(r.recordId)?.reason) ?? null,
      ground: (r.recordId && why.get(r.recordId)?.ground) ?? null,
    })),
    next: rows.length > limit ? page[page.length - 1]!.seq : null,
  };
}

/** An entry's changes in feed order: the record that caused each (if any) and what it was. */
export async function changesOf(
  db: Db,
  submissionId: string,
): Promise<{ recordId: string | null; change: string }[]> {
  return db
    .select({ recordId: submissionChanges.recordId, change: submissionChanges.change })
    .from(submissionChanges)
    .where(eq(submissionChanges.submissionId, submissionId))
    .orderBy(asc(submissionChanges.seq));
}

/** One line of the hash-list export, at the feed position `pos` where its current stay began. */
export type ExportRow = {
  pos: number;
  id: string;
  signal_type: ExportLine["type"];
  value: string;
  quality: number | null;
  baseline_state: ExportLine["state"];
  tlp: string | null;
  expires_at: string | null;
};

/**
 * Entries in the baseline now, after feed position `after` (up to `limit` + 1, to tell whether
 * there is more), each at the seq of the `included` change that began its current stay (a later
 * dispute or re-inclusion of a disputed entry does not move it; an entry that left and came back
 * is at its new inclusion). Membership is the baseline rule's (rules/baseline.ts).
 */
export async function exportRows(db: Db, after: number, limit: number, now: string): Promise<ExportRow[]> {
  return db.all<ExportRow>(sql`
    SELECT c.seq AS pos, s.id, s.signal_type, s.value, s.quality, s.baseline_state, s.tlp, s.expires_at
    FROM submission_changes c JOIN submissions s ON s.id = c.submission_id
    WHERE c.affects_baseline = 1 AND c.change = 'included' AND c.seq > ${after}
      AND ${inBaselineSql("s", now)}
      AND NOT EXISTS (
        SELECT 1 FROM submission_changes x WHERE x.submission_id = c.submission_id AND x.seq > c.seq
          AND x.change IN ('excluded', 'retired', 'withdrawn', 'reversed'))
      AND coalesce((
        SELECT p.change FROM submission_changes p WHERE p.submission_id = c.submission_id AND p.seq < c.seq
          AND p.change IN ('included', 'excluded', 'retired', 'withdrawn', 'reversed')
        ORDER BY p.seq DESC LIMIT 1), '') <> 'included'
    ORDER BY c.seq
    LIMIT ${limit + 1}`);
}

/** How many times an included entry became disputed (a statement for the statistics' batch). */
export const DISPUTES_RAISED_SQL: SQL = sql`SELECT count(*) AS n FROM submission_changes WHERE change = 'disputed'`;
