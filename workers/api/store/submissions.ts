// Submission, assessment and baseline queries and the statements that keep tallies and the
// change feed consistent. No Hono types here.
import type { SubmissionView, TcoLimb } from "@eusn/protocol";
import { and, asc, eq, inArray, type SQL, sql } from "drizzle-orm";
import {
  assessments,
  auditLog,
  participants,
  submissionChanges,
  submissions,
} from "../../../schema/index.ts";
import type { Env } from "../env.ts";
import { type Db, insertSelect } from "../lib/db.ts";

export type SubmissionRow = typeof submissions.$inferSelect;

/** D1 binds at most 100 parameters per statement. */
export function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export type Policy = { quorum: number; fpRate: number; fpMinReports: number };

/** BASELINE_MIN_STATES when set (> 0); 0 means "every member state that has an active authority". */
function fixedQuorum(env: Env): number {
  const min = Number.parseInt(env.BASELINE_MIN_STATES ?? "0", 10);
  return Number.isFinite(min) && min > 0 ? min : 0;
}

/** Distinct member states that have an active authority (at least 1), in SQL. */
const ACTIVE_STATES_SQL = sql`max(1, (SELECT count(DISTINCT member_state) FROM participants WHERE role = 'authority' AND status = 'active'))`;

/**
 * The quorum as an SQL expression, for statements that must judge it inside a write's batch
 * (after, say, a revocation in the same batch has changed which authorities are active). Same
 * rule as `policy()`.
 */
export function quorumSql(env: Env): SQL {
  const fixed = fixedQuorum(env);
  return fixed > 0 ? sql`${fixed}` : ACTIVE_STATES_SQL;
}

/**
 * The network policy now. Quorum: BASELINE_MIN_STATES distinct member states when set (> 0),
 * otherwise every member state that has an active authority (ARCHITECTURE.md "The baseline").
 */
export async function policy(db: Db, env: Env): Promise<Policy> {
  let quorum = fixedQuorum(env);
  if (quorum === 0) {
    const row = await db.get<{ n: number }>(sql`SELECT ${ACTIVE_STATES_SQL} AS n`);
    quorum = Math.max(1, row?.n ?? 1);
  }
  const fpRate = Number.parseFloat(env.FP_FLAG_RATE ?? "0.3");
  const fpMinReports = Number.parseInt(env.FP_FLAG_MIN_REPORTS ?? "3", 10);
  return {
    quorum,
    fpRate: Number.isFinite(fpRate) ? fpRate : 0.3,
    fpMinReports: Number.isFinite(fpMinReports) ? fpMinReports : 3,
  };
}

export function isExpired(row: Pick<SubmissionRow, "expiresAt">, now = Date.now()): boolean {
  return row.expiresAt !== null && Date.parse(row.expiresAt) <= now;
}

export function isEligible(row: SubmissionRow, p: Policy): boolean {
  const states = JSON.parse(row.concurStates) as string[];
  return (
    row.status === "live" &&
    !isExpired(row) &&
    row.tlp !== "red" &&
    row.liveDissents === 0 &&
    states.length >= p.quorum
  );
}

export function isFlagged(row: SubmissionRow, p: Policy): boolean {
  const rated = row.fbTrue + row.fbFalse;
  return rated >= p.fpMinReports && rated > 0 && row.fbFalse / rated >= p.fpRate;
}

export async function getSubmission(db: Db, id: string): Promise<SubmissionRow | undefined> {
  return db.select().from(submissions).where(eq(submissions.id, id)).get();
}

/** Other authorities' live submissions of the same fingerprints (for the `linked` field). */
export async function linkedOf(db: Db, rows: SubmissionRow[]): Promise<Map<string, string[]>> {
  const fps = [...new Set(rows.map((r) => r.fingerprint))];
  const byFp = new Map<string, { id: string; submitterId: string }[]>();
  for (const part of chunk(fps, 90)) {
    const found = await db
      .select({
        id: submissions.id,
        submitterId: submissions.submitterId,
        fingerprint: submissions.fingerprint,
      })
      .from(submissions)
      .where(and(inArray(submissions.fingerprint, part), eq(submissions.status, "live")));
    for (const f of found) byFp.set(f.fingerprint, [...(byFp.get(f.fingerprint) ?? []), f]);
  }
  const out = new Map<string, string[]>();
  for (const r of rows) {
    out.set(
      r.id,
      (byFp.get(r.fingerprint) ?? [])
        .filter((o) => o.id !== r.id && o.submitterId !== r.submitterId)
        .map((o) => o.id),
    );
  }
  return out;
}

export function toView(row: SubmissionRow, p: Policy, linked: string[] = []): SubmissionView {
  const concurStates = JSON.parse(row.concurStates) as string[];
  const rated = row.fbTrue + row.fbFalse;
  return {
    id: row.id,
    recordId: row.recordId,
    submitter: row.submitterId,
    memberState: row.memberState,
    signalType: row.signalType,
    value: row.value,
    quality: row.quality,
    lowQuality: row.lowQuality,
    limbs: JSON.parse(row.limbs) as TcoLimb[],
    contentType: row.contentType as SubmissionView["contentType"],
    nationalProvision: row.nationalProvision,
    tlp: (row.tlp as SubmissionView["tlp"]) ?? null,
    expiresAt: row.expiresAt,
    status: row.status,
    baselineState: row.baselineState,
    createdAt: row.createdAt,
    linked,
    assessments: {
      concurStates,
      concurring: concurStates.length,
      dissenting: row.liveDissents,
      quorum: p.quorum,
      eligible: isEligible(row, p),
    },
    feedback: {
      truePositive: row.fbTrue,
      falsePositive: row.fbFalse,
      notActioned: row.fbNotActioned,
      falsePositiveRate: rated > 0 ? row.fbFalse / rated : null,
      flagged: isFlagged(row, p),
    },
  };
}

export async function viewsOf(db: Db, rows: SubmissionRow[], p: Policy): Promise<SubmissionView[]> {
  const linked = await linkedOf(db, rows);
  return rows.map((r) => toView(r, p, linked.get(r.id) ?? []));
}

/**
 * An assessment counts when it is live and its authority is active: a revoked authority's
 * assessments stay stored and verifiable, but no longer count toward the quorum, dissent, or an
 * inclusion's citations. `a` is the alias of `assessments`.
 */
const COUNTS = sql.raw(
  "a.live = 1 AND EXISTS (SELECT 1 FROM participants p WHERE p.id = a.authority_id AND p.status = 'active')",
);

/**
 * Recomputes the assessment tallies of the submissions matching `where`, in SQL, so it can run
 * inside the same batch as the write that changes them (an assessment, a revocation). Counted:
 * the live assessments of active authorities, and the submitter's own member state while the
 * submitter is active; two authorities of one member state count once.
 */
export function recomputeTallies(db: Db, where: SQL) {
  return db
    .update(submissions)
    .set({
      concurStates: sql`(
        SELECT json_group_array(ms) FROM (
          SELECT DISTINCT ms FROM (
            SELECT a.member_state AS ms FROM assessments a
              WHERE a.submission_id = "submissions"."id" AND a.verdict = 'concur' AND ${COUNTS}
            UNION SELECT "submissions"."member_state" AS ms
              WHERE EXISTS (SELECT 1 FROM participants p WHERE p.id = "submissions"."submitter_id" AND p.status = 'active')
          ) ORDER BY ms
        ))`,
      liveDissents: sql`(SELECT count(*) FROM assessments a WHERE a.submission_id = "submissions"."id" AND a.verdict = 'dissent' AND ${COUNTS})`,
    })
    .where(where);
}

/** The tallies of one submission (in the batch of the assessment that changes them). */
export function recomputeAssessmentTally(db: Db, submissionId: string) {
  return recomputeTallies(db, eq(submissions.id, submissionId));
}

export function recomputeFeedbackTally(db: Db, submissionId: string) {
  const count = (outcome: string) =>
    sql`(SELECT count(*) FROM feedback WHERE submission_id = ${submissionId} AND live = 1 AND outcome = ${outcome})`;
  return db
    .update(submissions)
    .set({
      fbTrue: count("true_positive"),
      fbFalse: count("false_positive"),
      fbNotActioned: count("not_actioned"),
    })
    .where(eq(submissions.id, submissionId));
}

/** The baseline version: the feed position of the latest change to baseline membership or state. */
export async function baselineVersion(db: Db): Promise<number> {
  const row = await db.get<{ v: number | null }>(
    sql`SELECT max(seq) AS v FROM submission_changes WHERE affects_baseline = 1`,
  );
  return row?.v ?? 0;
}

/**
 * The live assessments of a submission (for decisions that must cite them), each with whether it
 * counts: only an active authority's do (a revoked authority's stay live but count for nothing).
 */
export async function liveAssessments(db: Db, submissionId: string) {
  const rows = await db
    .select({ a: assessments, authorityStatus: participants.status })
    .from(assessments)
    .leftJoin(participants, eq(participants.id, assessments.authorityId))
    .where(and(eq(assessments.submissionId, submissionId), eq(assessments.live, true)))
    .orderBy(asc(assessments.createdAt));
  return rows.map((r) => ({ ...r.a, counts: r.authorityStatus === "active" }));
}

/**
 * What revoking an authority does to the baseline, as statements for the revocation's own batch
 * (after the statement that marks the participant revoked, so the counting rule already sees it):
 *
 * 1. the tallies of every submission it submitted or assessed are recomputed: its concurrences,
 *    its dissents and its own member state as submitter no longer count;
 * 2. every live entry among them that is `included` but whose concurring member states now fall
 *    short of the quorum (judged in SQL, with the quorum as of the same batch) is sent back to the
 *    coordinators: `disputed` (it stays in the baseline, labelled, until a coordinator includes it
 *    again, excludes or retires it), with a `disputed` change in the feed whose record is the
 *    revocation.
 *
 * `after` holds one `baseline.disputed` audit entry per entry sent back (actor `system`, detail:
 * the revocation record, the participant, the remaining states and the quorum), for after the
 * revocation's own audit entry.
 */
export function revocationStatements(
  db: Db,
  env: Env,
  o: { participantId: string; recordId: string; at: string; auditAt: string },
) {
  const touched = sql`("submissions"."submitter_id" = ${o.participantId} OR "submissions"."id" IN (SELECT submission_id FROM assessments WHERE authority_id = ${o.participantId} AND live = 1))`;
  const q = quorumSql(env);
  const sentBack = db
    .select({ id: submissionChanges.submissionId })
    .from(submissionChanges)
    .where(and(eq(submissionChanges.recordId, o.recordId), eq(submissionChanges.change, "disputed")));
  return {
    statements: [
      recomputeTallies(db, touched),
      insertSelect(
        db,
        submissionChanges,
        {
          submissionId: sql`"submissions"."id"`,
          change: sql`'disputed'`,
          affectsBaseline: sql`1`,
          recordId: sql`${o.recordId}`,
          at: sql`${o.at}`,
        },
        sql`FROM submissions
          WHERE "submissions"."baseline_state" = 'included' AND "submissions"."status" = 'live' AND ${touched}
            AND json_array_length("submissions"."concur_states") < ${q}
          ORDER BY "submissions"."id"`,
      ),
      db
        .update(submissions)
        .set({ baselineState: "disputed" })
        .where(and(eq(submissions.baselineState, "included"), inArray(submissions.id, sentBack))),
    ],
    after: [
      insertSelect(
        db,
        auditLog,
        {
          kind: sql`'baseline.disputed'`,
          subjectId: sql`c.submission_id`,
          actor: sql`'system'`,
          at: sql`${o.auditAt}`,
          detail: sql`json_object('cause', 'participant.revoke', 'recordId', ${o.recordId},
            'participantId', ${o.participantId}, 'concurStates', json(s.concur_states), 'quorum', ${q},
            'why', ${SENT_BACK_WHY})`,
        },
        sql`FROM submission_changes c JOIN submissions s ON s.id = c.submission_id
          WHERE c.record_id = ${o.recordId} AND c.change = 'disputed'
          ORDER BY c.seq`,
      ),
    ],
  };
}

const SENT_BACK_WHY =
  "the concurring member states fell short of the quorum once the revoked authority's assessments stopped counting; a coordinator decides";

/**
 * `reason` when `guard` holds inside the batch, NULL otherwise: written into `decisions.reason`
 * (NOT NULL), a failed guard aborts the whole batch, which commitWrite answers as a 409 conflict.
 * This re-checks, at the moment the batch lands, a rule that apply() judged on an earlier read.
 */
export function guardedReason(guard: SQL, reason: string): SQL {
  return sql`(CASE WHEN ${guard} THEN ${reason} END)`;
}

/**
 * The entry is still live (and, given `baselineState`, still in that baseline state) as the batch
 * lands: a withdrawal, reversal, exclusion or retirement judged on an earlier read re-checks it
 * with `guardedReason`, so a decision that another one overtook is refused whole (409) instead of
 * recording a decision and a change that did not happen.
 */
export function unchangedGuard(id: string, baselineState?: string): SQL {
  return baselineState === undefined
    ? sql`EXISTS (SELECT 1 FROM submissions s WHERE s.id = ${id} AND s.status = 'live')`
    : sql`EXISTS (SELECT 1 FROM submissions s WHERE s.id = ${id} AND s.status = 'live' AND s.baseline_state = ${baselineState})`;
}

/**
 * The inclusion rule as an SQL condition, re-checked inside the inclusion's batch: the entry is
 * still in the state the decision was judged on, live, without counting dissent, its counting
 * concurrences reach the quorum, and every cited assessment is still live, by an active authority,
 * a concurrence of this entry, and together (with the submitter's state while the submitter is
 * active) they reach the quorum. A revocation or a dissent that lands between apply() and the
 * batch makes it false.
 */
export function inclusionGuard(env: Env, id: string, fromState: string, cited: string[]): SQL {
  const q = quorumSql(env);
  const citedJson = JSON.stringify(cited);
  return sql`(
    EXISTS (SELECT 1 FROM submissions s WHERE s.id = ${id} AND s.status = 'live' AND s.baseline_state = ${fromState}
      AND s.live_dissents = 0 AND json_array_length(s.concur_states) >= ${q})
    AND NOT EXISTS (SELECT 1 FROM json_each(${citedJson}) j WHERE NOT EXISTS (
      SELECT 1 FROM assessments a WHERE a.id = j.value AND a.submission_id = ${id} AND a.verdict = 'concur' AND ${COUNTS}))
    AND (SELECT count(DISTINCT ms) FROM (
      SELECT a.member_state AS ms FROM assessments a WHERE a.id IN (SELECT value FROM json_each(${citedJson}))
      UNION SELECT s.member_state AS ms FROM submissions s WHERE s.id = ${id}
        AND EXISTS (SELECT 1 FROM participants p WHERE p.id = s.submitter_id AND p.status = 'active')
    )) >= ${q}
  )`;
}
