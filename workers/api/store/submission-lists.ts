// Submissions as authorities and coordinators read them: a page of the list (mine, awaiting my
// assessment, all) and one entry with every signed record about it. No Hono types here.
import {
  type HistoryItem,
  type Role,
  SIGNAL_TYPES,
  type SubmissionListQuery,
  type SubmissionSort,
  type SubmissionView,
} from "@eusn/protocol";
import {
  and,
  asc,
  count,
  desc,
  eq,
  gt,
  gte,
  inArray,
  isNull,
  lt,
  lte,
  notExists,
  or,
  type SQL,
  sql,
} from "drizzle-orm";
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
import { nowIso } from "../lib/encoding.ts";
import { entryStateSql, flaggedEntrySql, policy } from "../rules/baseline.ts";
import { changesOf } from "./changes.ts";
import { prefixEnd, withFingerprintPrefixSql } from "./fingerprint-keys.ts";
import { getSubmission, viewsOf } from "./submissions.ts";

/** How each sort orders the list; every order ends with the id, so pages never overlap. */
const ORDER: Record<SubmissionSort, (s: typeof submissions) => SQL[]> = {
  id: (t) => [asc(t.id)],
  newest: (t) => [desc(t.createdAt), desc(t.id)],
  oldest: (t) => [asc(t.createdAt), asc(t.id)],
  member_state: (t) => [asc(t.memberState), desc(t.createdAt), asc(t.id)],
  most_false_positives: (t) => [desc(t.fbFalse), asc(t.fbTrue), desc(t.createdAt), asc(t.id)],
  most_concurrences: (t) => [sql`json_array_length(${t.concurStates}) DESC`, desc(t.createdAt), asc(t.id)],
};

/** The smallest string greater than every string starting with `prefix` (a prefix as a range). */

/**
 * A page of submissions for `me`: `mine` are its own, `awaiting` other authorities' live
 * submissions it has no live assessment of, `all` every one; filtered by state (the entry's one
 * state, rules/baseline.ts), flag, stored status and baseline state, member state, limb, TLP,
 * submitter and day, or found by id or hash prefix; in the order asked for, from `offset` (or,
 * for sort `id`, after the cursor `after`); with the number of entries matching in all. Which
 * scopes a role may ask for is the route's to decide.
 */
export async function submissionPage(
  db: Db,
  env: Env,
  me: { id: string; role: Role },
  q: SubmissionListQuery,
): Promise<{ submissions: SubmissionView[]; next: string | null; total: number }> {
  const p = await policy(db, env);
  const now = nowIso();
  const conds: (SQL | undefined)[] = [];
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
  if (q.state) conds.push(inArray(entryStateSql("submissions", p.quorum, now), q.state.split(",")));
  if (q.flag === "flagged") conds.push(flaggedEntrySql("submissions", p));
  if (q.flag === "low_quality") conds.push(eq(submissions.lowQuality, true));
  if (q.flag === "tlp_red") conds.push(eq(submissions.tlp, "red"));
  if (q.memberState) conds.push(eq(submissions.memberState, q.memberState));
  if (q.limb) conds.push(sql`EXISTS (SELECT 1 FROM json_each(${submissions.limbs}) WHERE value = ${q.limb})`);
  if (q.tlp) conds.push(q.tlp === "none" ? isNull(submissions.tlp) : eq(submissions.tlp, q.tlp));
  if (q.submitter) conds.push(eq(submissions.submitterId, q.submitter));
  if (q.from) conds.push(gte(submissions.createdAt, `${q.from}T00:00:00.000Z`));
  if (q.to) conds.push(lte(submissions.createdAt, `${q.to}T23:59:59.999Z`));
  if (q.q) {
    // An id or a hash value, by its start: each a range its index answers (a value's, one per
    // signal type, on the fingerprint `type:value`, through the key table of fingerprints).
    conds.push(
      q.q.startsWith("hsh_")
        ? and(gte(submissions.id, q.q), lt(submissions.id, prefixEnd(q.q)))
        : or(...SIGNAL_TYPES.map((t) => withFingerprintPrefixSql("submissions", `${t}:${q.q}`))),
    );
  }
  const where = and(...conds);
  const cursor = q.sort === "id" && q.after ? gt(submissions.id, q.after) : undefined;
  const [rows, counted] = await Promise.all([
    db
      .select()
      .from(submissions)
      .where(and(where, cursor))
      .orderBy(...ORDER[q.sort](submissions))
      .limit(q.limit + 1)
      .offset(q.offset),
    db.select({ n: count() }).from(submissions).where(where).get(),
  ]);
  const page = rows.slice(0, q.limit);
  return {
    submissions: await viewsOf(db, page, p),
    next: q.sort === "id" && rows.length > q.limit ? page[page.length - 1]!.id : null,
    total: counted?.n ?? 0,
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
