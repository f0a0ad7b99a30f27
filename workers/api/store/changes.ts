// The submission change feed (`submission_changes`) as read by everything that serves a position
// in it: the baseline version, a platform's reversals feed, an entry's changes for its history,
// the hash-list export's positions, the count of disputes for the statistics, and the positions
// of the TAXII collections' objects, and what ended an entry a platform acted on (statements of
// reasons). The appliers write the feed, each change in the batch of the record that caused it. No Hono types here.
import { type ExportLine, REVERSAL_CHANGES, type Reversal, type TaxiiCollectionKey } from "@eusn/protocol";
import { and, asc, eq, gt, inArray, type SQL, sql } from "drizzle-orm";
import { decisions, submissionChanges, submissionMatches, submissions } from "../../../schema/index.ts";
import { chunk, type Db } from "../lib/db.ts";
import { inBaselineSql, shareableSql } from "../rules/baseline.ts";
import { foldMatches } from "./match.ts";

/** The baseline version: the feed position of the latest change to baseline membership or state. */
export async function baselineVersion(db: Db): Promise<number> {
  const row = await db.get<{ v: number | null }>(
    sql`SELECT max(seq) AS v FROM submission_changes WHERE affects_baseline = 1`,
  );
  return row?.v ?? 0;
}

/**
 * The baseline version and the change feed's head (its last sequence and that change's
 * submission, the anchor a match shard checks: match/shard.ts), in one read.
 */
export async function versionAndHead(
  d1: D1Database,
): Promise<{ version: number; head: { seq: number; submissionId: string } | null }> {
  const row = await d1
    .prepare(
      `SELECT (SELECT max(seq) FROM submission_changes WHERE affects_baseline = 1) AS v,
              (SELECT seq FROM submission_changes ORDER BY seq DESC LIMIT 1) AS seq,
              (SELECT submission_id FROM submission_changes ORDER BY seq DESC LIMIT 1) AS sub`,
    )
    .first<{ v: number | null; seq: number | null; sub: string | null }>();
  return {
    version: row?.v ?? 0,
    head: row?.seq != null && row.sub != null ? { seq: row.seq, submissionId: row.sub } : null,
  };
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
  // The platform's latest matches may still be pending (store/match.ts).
  await foldMatches(db.$client);
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
      // A lapse has no decision behind it (the close's record or the scheduled job): its reason
      // is the lapse itself.
      reason:
        r.change === "provisional_lapsed" || r.change === "expired"
          ? r.change
          : ((r.recordId && why.get(r.recordId)?.reason) ?? null),
      ground: (r.recordId && why.get(r.recordId)?.ground) ?? null,
    })),
    next: rows.length > limit ? page[page.length - 1]!.seq : null,
  };
}

/**
 * Records in the change feed the entries whose term is over (`expired`, at the expiry time, by no
 * record; affecting the baseline when the entry was in it), once each: an expiry changes what an
 * entry is by time alone, so without this the reversals feed, webhooks and the baseline version
 * would never hear of it. Run by the scheduled job; returns how many it recorded.
 */
export async function recordDueExpiries(db: Db, nowIso: string): Promise<number> {
  const res = await db.run(sql`
    INSERT INTO submission_changes (submission_id, change, affects_baseline, record_id, at)
    SELECT s.id, 'expired', CASE WHEN s.baseline_state IN ('included', 'disputed') THEN 1 ELSE 0 END, NULL, s.expires_at
      FROM submissions s
     WHERE s.status = 'live' AND s.expires_at IS NOT NULL AND s.expires_at <= ${nowIso}
       AND NOT EXISTS (SELECT 1 FROM submission_changes x
         WHERE x.submission_id = s.id AND x.change = 'expired' AND x.at = s.expires_at)
     ORDER BY s.expires_at, s.id`);
  return res.meta.changes ?? 0;
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

// ---- the TAXII collections as logs over the feed (taxii/feed.ts; aliases c = submission_changes,
// s = submissions) ------------------------------------------------------------------------------

/** One change of one entry, as the TAXII state machine replays it. */
export type ChangeRow = { seq: number; submissionId: string; change: string; at: string };

/** Rows that can carry an entry of the collection (the state machine drops the rest). */
function candidateCond(collection: TaxiiCollectionKey): SQL {
  return collection === "baseline"
    ? sql`c.affects_baseline = 1 AND ${shareableSql("s")} AND EXISTS (SELECT 1 FROM submission_changes i WHERE i.submission_id = c.submission_id AND i.change = 'included' AND i.seq <= c.seq)`
    : shareableSql("s");
}

/** Rows where an entry first enters the collection (positions of the prelude and identities). */
function startCond(collection: TaxiiCollectionKey): SQL {
  return collection === "baseline"
    ? sql`c.change = 'included' AND ${shareableSql("s")}`
    : sql`c.change = 'created' AND ${shareableSql("s")}`;
}

/** The feed position where the collection begins (its first entry enters), or null while empty. */
export async function collectionStart(db: Db, collection: TaxiiCollectionKey): Promise<number | null> {
  const row = await db.get<{ seq: number | null }>(
    sql`SELECT min(c.seq) AS seq FROM submission_changes c JOIN submissions s ON s.id = c.submission_id WHERE ${startCond(collection)}`,
  );
  return row?.seq ?? null;
}

/** Every change of each of these entries, in feed order, by entry id. */
export async function changeHistories(db: Db, ids: string[]): Promise<Map<string, ChangeRow[]>> {
  const out = new Map<string, ChangeRow[]>();
  for (const part of chunk(ids, 90)) {
    const rows = await db.all<{ seq: number; submission_id: string; change: string; at: string }>(
      sql`SELECT seq, submission_id, change, at FROM submission_changes WHERE submission_id IN ${part} ORDER BY seq`,
    );
    for (const r of rows) {
      const list = out.get(r.submission_id) ?? [];
      list.push({ seq: r.seq, submissionId: r.submission_id, change: r.change, at: r.at });
      out.set(r.submission_id, list);
    }
  }
  return out;
}

/**
 * The feed position at which each authority (all of them, or those named) first has an entry
 * enter the collection: where its identity appears.
 */
export async function identityPositions(
  db: Db,
  collection: TaxiiCollectionKey,
  authorityIds: string[] | null,
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const parts = authorityIds ? chunk(authorityIds, 90) : [null];
  for (const part of parts) {
    const filter = part ? sql` AND s.submitter_id IN ${part}` : sql``;
    const rows = await db.all<{ pid: string; seq: number }>(
      sql`SELECT s.submitter_id AS pid, min(c.seq) AS seq FROM submission_changes c JOIN submissions s ON s.id = c.submission_id WHERE ${startCond(collection)}${filter} GROUP BY s.submitter_id`,
    );
    for (const r of rows) out.set(r.pid, r.seq);
  }
  return out;
}

/** Up to `limit` changes after feed position `after`, in order (the STIX-id index catching up). */
export async function changesAfter(
  db: Db,
  after: number,
  limit: number,
): Promise<{ seq: number; submission_id: string }[]> {
  return db.all<{ seq: number; submission_id: string }>(
    sql`SELECT seq, submission_id FROM submission_changes WHERE seq > ${after} ORDER BY seq LIMIT ${limit}`,
  );
}

/** Rows of named entries or at named positions only (`match[id]` / `match[type]`); null: all. */
export type CollectionRestriction = { submissionIds: string[]; seqs: number[] } | null;

/**
 * Up to `limit` changes from feed position `fromSeq` on that can carry an entry of the collection,
 * added after `addedAfter` when given, within `restrict`, each with the entry's submitter.
 */
export async function collectionChanges(
  db: Db,
  collection: TaxiiCollectionKey,
  fromSeq: number,
  addedAfter: string | undefined,
  restrict: CollectionRestriction,
  limit: number,
): Promise<{ seq: number; submission_id: string; at: string; submitter_id: string }[]> {
  let within = sql``;
  if (restrict) {
    const parts = [];
    if (restrict.submissionIds.length > 0) parts.push(sql`c.submission_id IN ${restrict.submissionIds}`);
    if (restrict.seqs.length > 0) parts.push(sql`c.seq IN ${restrict.seqs}`);
    within = sql` AND (${sql.join(parts, sql` OR `)})`;
  }
  return db.all<{ seq: number; submission_id: string; at: string; submitter_id: string }>(
    sql`SELECT c.seq, c.submission_id, c.at, s.submitter_id FROM submission_changes c JOIN submissions s ON s.id = c.submission_id WHERE c.seq >= ${fromSeq} AND ${candidateCond(collection)}${addedAfter ? sql` AND c.at > ${addedAfter}` : sql``}${within} ORDER BY c.seq LIMIT ${limit}`,
  );
}

// ---- what ends the ground for a platform's action (statements of reasons) ------------------------

/** Changes after which an entry no longer supports an action taken on it (the fold writes them). */
export const ENDING_CHANGES = ["reversed", "withdrawn", "voided"] as const;
export type EndingChange = {
  seq: number;
  change: (typeof ENDING_CHANGES)[number];
  at: string;
  recordId: string | null;
  ground: string | null;
  reason: string | null;
};

/** SQL: the entry whose id is the column `column` (e.g. "st.submission_id") has an ending change. */
export function endedSql(column: string): SQL {
  return sql`EXISTS (SELECT 1 FROM submission_changes x WHERE x.submission_id = ${sql.raw(column)}
    AND x.change IN ('reversed', 'withdrawn', 'voided'))`;
}

/** The first ending change of each of these entries, with the reason and ground of its decision. */
export async function endingChanges(db: Db, ids: string[]): Promise<Map<string, EndingChange>> {
  const out = new Map<string, EndingChange>();
  for (const part of chunk([...new Set(ids)], 90)) {
    const rows = await db.all<{
      seq: number;
      submission_id: string;
      change: EndingChange["change"];
      at: string;
      record_id: string | null;
      ground: string | null;
      reason: string | null;
    }>(sql`SELECT c.seq, c.submission_id, c.change, c.at, c.record_id, d.ground, d.reason
      FROM submission_changes c LEFT JOIN decisions d ON d.record_id = c.record_id AND d.submission_id = c.submission_id
      WHERE c.submission_id IN ${part} AND c.change IN ('reversed', 'withdrawn', 'voided')
      ORDER BY c.seq`);
    for (const r of rows) {
      if (out.has(r.submission_id)) continue;
      out.set(r.submission_id, {
        seq: r.seq,
        change: r.change,
        at: r.at,
        recordId: r.record_id,
        ground: r.ground,
        reason: r.reason,
      });
    }
  }
  return out;
}
