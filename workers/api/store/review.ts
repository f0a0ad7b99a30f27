// A platform's review queue: the match results it kept (store/match.ts writes them), each with
// the entry's state now (rules/baseline.ts) and the platform's live feedback on the entry,
// which marks the item done; a page of them, all of them as CSV rows, and the retention purge.
// No Hono types here.
import type { ReviewItem, ReviewQuery } from "@eusn/protocol";
import { and, count, desc, eq, gte, isNotNull, isNull, lt, type SQL, sql } from "drizzle-orm";
import { feedback, reviewItems, submissions } from "../../../schema/index.ts";
import type { Env } from "../env.ts";
import type { Db } from "../lib/db.ts";
import { nowIso } from "../lib/encoding.ts";
import { entryState, linkedRedSql, policy } from "../rules/baseline.ts";

/** The items joined with their entry and the platform's live feedback on it. */
function itemsQuery(db: Db, platformId: string) {
  return db
    .select({
      r: reviewItems,
      s: submissions,
      f: feedback,
      linkedRed: sql<number>`${linkedRedSql("submissions")}`,
    })
    .from(reviewItems)
    .innerJoin(submissions, eq(submissions.id, reviewItems.submissionId))
    .leftJoin(
      feedback,
      and(
        eq(feedback.submissionId, reviewItems.submissionId),
        eq(feedback.platformId, reviewItems.platformId),
        eq(feedback.live, true),
      ),
    )
    .where(eq(reviewItems.platformId, platformId))
    .$dynamic();
}

function conds(q: Pick<ReviewQuery, "status" | "ref">): (SQL | undefined)[] {
  return [
    q.status === "open" ? isNull(feedback.id) : q.status === "done" ? isNotNull(feedback.id) : undefined,
    q.ref ? and(gte(reviewItems.ref, q.ref), lt(reviewItems.ref, `${q.ref}\uffff`)) : undefined,
  ];
}

/** A page of `platformId`'s kept results, most recently matched first, with the counts. */
export async function reviewPage(
  db: Db,
  env: Env,
  platformId: string,
  q: ReviewQuery,
): Promise<{ items: ReviewItem[]; total: number; open: number }> {
  const p = await policy(db, env);
  const now = Date.now();
  const base = (extra: (SQL | undefined)[]) =>
    db
      .select({ n: count() })
      .from(reviewItems)
      .leftJoin(
        feedback,
        and(
          eq(feedback.submissionId, reviewItems.submissionId),
          eq(feedback.platformId, reviewItems.platformId),
          eq(feedback.live, true),
        ),
      )
      .where(and(eq(reviewItems.platformId, platformId), ...extra))
      .get();
  const [rows, total, open] = await Promise.all([
    itemsQuery(db, platformId)
      .where(and(eq(reviewItems.platformId, platformId), ...conds(q)))
      .orderBy(desc(reviewItems.lastMatchedAt), desc(reviewItems.id))
      .limit(q.limit)
      .offset(q.offset),
    base(conds(q)),
    base([isNull(feedback.id)]),
  ]);
  return {
    items: rows.map(({ r, s, f, linkedRed }) => ({
      id: r.id,
      ref: r.ref === "" ? null : r.ref,
      submissionId: r.submissionId,
      firstMatchedAt: r.firstMatchedAt,
      lastMatchedAt: r.lastMatchedAt,
      count: r.count,
      entry: {
        state: entryState({ ...s, linkedRed: linkedRed === 1 }, p, now),
        signalType: s.signalType,
        value: s.value,
        memberState: s.memberState,
        limbs: JSON.parse(s.limbs) as string[],
        nationalProvision: s.nationalProvision,
        contentType: s.contentType,
      },
      outcome: f ? { outcome: f.outcome, at: f.createdAt, recordId: f.recordId, note: f.note } : null,
    })),
    total: total?.n ?? 0,
    open: open?.n ?? 0,
  };
}

/** Deletes kept results last matched more than `days` days before `now` (the scheduled job). */
export async function purgeReviewItems(db: Db, days: number, now = Date.now()): Promise<number> {
  const cutoff = nowIso(now - days * 86_400_000);
  const res = await db.run(sql`DELETE FROM review_items WHERE last_matched_at < ${cutoff}`);
  return res.meta.changes ?? 0;
}
