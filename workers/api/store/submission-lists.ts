// Submissions as authorities and coordinators read them: a page of the list (mine, awaiting my
// assessment, all) and one entry with every signed record about it. No Hono types here.
import type { HistoryItem, Role, SubmissionListQuery, SubmissionView } from "@eusn/protocol";
import { and, asc, eq, gt, inArray, notExists, sql } from "drizzle-orm";
import {
  assessments,
  decisions,
  feedback,
  participants,
  records,
  submissions,
} from "../../../schema/index.ts";
import type { Env } from "../env.ts";
import { chunk, type Db } from "../lib/db.ts";
import { policy } from "../rules/baseline.ts";
import { changesOf } from "./changes.ts";
import { getSubmission, viewsOf } from "./submissions.ts";

/**
 * A page of submissions in id order for `me`: `mine` are its own, `awaiting` other authorities'
 * live submissions it has no live assessment of, `all` every one; then filtered by status and
 * baseline state. Which scopes a role may ask for is the route's to decide.
 */
export async function submissionPage(
  db: Db,
  env: Env,
  me: { id: string; role: Role },
  q: SubmissionListQuery,
): Promise<{ submissions: SubmissionView[]; next: string | null }> {
  const conds = [];
  if (q.scope === "mine") conds.push(eq(submissions.submitterId, me.id));
  if (q.scope === "awaiting") {
    conds.push(
      eq(submissions.status, "live"),
      sql`${submissions.submitterId} <> ${me.id}`,
      notExists(
        db
          .select({ one: sql`1` })
          .from(assessments)
          .where(
            and(
              eq(assessments.submissionId, submissions.id),
              eq(assessments.authorityId, me.id),
              eq(assessments.live, true),
            ),
          ),
      ),
    );
  }
  if (q.status) conds.push(eq(submissions.status, q.status));
  if (q.baselineState) conds.push(eq(submissions.baselineState, q.baselineState));
  if (q.after) conds.push(gt(submissions.id, q.after));
  const rows = await db
    .select()
    .from(submissions)
    .where(and(...conds))
    .orderBy(asc(submissions.id))
    .limit(q.limit + 1);
  const page = rows.slice(0, q.limit);
  const p = await policy(db, env);
  return {
    submissions: await viewsOf(db, page, p),
    next: rows.length > q.limit ? page[page.length - 1]!.id : null,
  };
}

/**
 * One entry with its tallies and every signed record about it in the order received, each with a
 * summary of what it did to the entry; undefined when there is no such entry.
 */
export async function submissionDetail(
  db: Db,
  env: Env,
  id: string,
): Promise<{ submission: SubmissionView; history: HistoryItem[] } | undefined> {
  const row = await getSubmission(db, id);
  if (!row) return undefined;
  const [view] = await viewsOf(db, [row], await policy(db, env));
  const asm = await db
    .select({ a: assessments, authorityStatus: participants.status })
    .from(assessments)
    .leftJoin(participants, eq(participants.id, assessments.authorityId))
    .where(eq(assessments.submissionId, id));
  const dec = await db.select().from(decisions).where(eq(decisions.submissionId, id));
  const fbk = await db.select().from(feedback).where(eq(feedback.submissionId, id));
  const summaries = new Map<string, Record<string, unknown>>();
  summaries.set(row.recordId, { action: "submitted", submissionId: id });
  for (const { a, authorityStatus } of asm) {
    summaries.set(a.recordId, {
      action: "assessed",
      assessmentId: a.id,
      verdict: a.verdict,
      limb: a.limb,
      reason: a.reason,
      memberState: a.memberState,
      live: a.live,
      // Only a live assessment of an active authority counts toward the quorum or may be cited.
      counts: a.live && authorityStatus === "active",
      ...(authorityStatus === "revoked" ? { authorityRevoked: true } : {}),
    });
  }
  for (const d of dec) {
    summaries.set(d.recordId, {
      action: d.action,
      decisionId: d.id,
      reason: d.reason,
      assessmentIds: JSON.parse(d.assessmentIds),
      ground: d.ground,
    });
  }
  for (const f of fbk) summaries.set(f.recordId, { action: "feedback", outcome: f.outcome, live: f.live });
  // Changes caused by a record about something else (the item's `kind` says which): a
  // participant.revoke that sent the entry back to review names itself in its `disputed` change.
  for (const ch of await changesOf(db, id)) {
    if (ch.recordId && !summaries.has(ch.recordId)) summaries.set(ch.recordId, { action: ch.change });
  }
  const recs = [];
  for (const part of chunk([...summaries.keys()], 90)) {
    recs.push(...(await db.select().from(records).where(inArray(records.id, part))));
  }
  recs.sort((a, b) =>
    a.receivedAt < b.receivedAt ? -1 : a.receivedAt > b.receivedAt ? 1 : a.id.localeCompare(b.id),
  );
  return {
    submission: view!,
    history: recs.map((r) => ({
      kind: r.kind,
      recordId: r.id,
      issuer: r.issuer,
      receivedAt: r.receivedAt,
      jws: r.jws,
      summary: summaries.get(r.id) ?? {},
    })),
  };
}
