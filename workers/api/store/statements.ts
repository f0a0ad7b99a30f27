// Statements of reasons as stored and read: whether a platform matched an entry (the right to make
// one), a platform's own statements (never another's), and each statement as a view with both
// forms rendered and whether the entry it relies on was reversed since — read from the change
// feed (store/changes.ts), so a reversal needs no write here. No Hono types here.
import type { StatementGround, StatementLanguage, StatementRecord, StatementView } from "@eusn/protocol";
import { and, desc, eq, lt, sql } from "drizzle-orm";
import { participants, statements, submissionMatches } from "../../../schema/index.ts";
import { dsaStatement } from "../accountability/dsa.ts";
import { userStatement } from "../accountability/statement-text.ts";
import type { Db } from "../lib/db.ts";
import { endedSql, endingChanges } from "./changes.ts";
import { foldMatches } from "./match.ts";

export type StatementRow = typeof statements.$inferSelect;
/** What `details` holds: the record's fields and the ground as the entry stated it then. */
export type StatementDetails = { record: StatementRecord; ground: StatementGround };

/** Did `platformId` match entry `submissionId` on this node (submission_matches)? */
export async function hasMatched(db: Db, submissionId: string, platformId: string): Promise<boolean> {
  await foldMatches(db.$client);
  const row = await db
    .select({ n: submissionMatches.count })
    .from(submissionMatches)
    .where(
      and(eq(submissionMatches.submissionId, submissionId), eq(submissionMatches.platformId, platformId)),
    )
    .get();
  return !!row;
}

export async function getStatement(db: Db, id: string): Promise<StatementRow | undefined> {
  return db.select().from(statements).where(eq(statements.id, id)).get();
}

/**
 * A page of `platformId`'s statements, newest first, after cursor `after`; `affected` keeps only
 * those whose entry has (true) or has not (false) been reversed, withdrawn or voided.
 */
export async function listStatements(
  db: Db,
  platformId: string,
  q: { affected?: boolean | undefined; after?: string | undefined; limit: number },
): Promise<{ rows: StatementRow[]; next: string | null }> {
  const conds = [eq(statements.platformId, platformId)];
  if (q.after) conds.push(lt(statements.id, q.after));
  if (q.affected !== undefined) {
    const ended = endedSql(`"statements"."submission_id"`);
    conds.push(q.affected ? ended : sql`NOT ${ended}`);
  }
  const rows = await db
    .select()
    .from(statements)
    .where(and(...conds))
    .orderBy(desc(statements.id))
    .limit(q.limit + 1);
  const page = rows.slice(0, q.limit);
  return { rows: page, next: rows.length > q.limit ? page[page.length - 1]!.id : null };
}

/** The views of `rows`: both forms rendered (in `lang`, else each statement's own language). */
export async function statementViews(
  db: Db,
  rows: StatementRow[],
  lang?: StatementLanguage,
): Promise<StatementView[]> {
  const ended = await endingChanges(
    db,
    rows.map((r) => r.submissionId),
  );
  const names = new Map<string, string>();
  for (const pid of new Set(rows.map((r) => r.platformId))) {
    const p = await db
      .select({ name: participants.displayName })
      .from(participants)
      .where(eq(participants.id, pid))
      .get();
    names.set(pid, p?.name ?? pid);
  }
  return rows.map((r) => {
    const d = JSON.parse(r.details) as StatementDetails;
    const input = { id: r.id, record: d.record, ground: d.ground, platformName: names.get(r.platformId)! };
    const e = ended.get(r.submissionId);
    return {
      id: r.id,
      recordId: r.recordId,
      submissionId: r.submissionId,
      contentRef: r.contentRef,
      actions: d.record.actions,
      language: d.record.language,
      createdAt: r.createdAt,
      ground: d.ground,
      affected: e
        ? { change: e.change, at: e.at, seq: e.seq, recordId: e.recordId, ground: e.ground, reason: e.reason }
        : null,
      user: userStatement(input, lang),
      dsa: dsaStatement(input),
    };
  });
}
