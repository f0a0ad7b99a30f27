// Submission, assessment and baseline queries and the statements that keep tallies and the
// change feed consistent; the rules they apply live in rules/baseline.ts. No Hono types here.
import type { SubmissionView, TcoLimb } from "@eusn/protocol";
import { and, asc, eq, inArray, sql } from "drizzle-orm";
import {
  assessments,
  auditLog,
  participants,
  submissionChanges,
  submissions,
} from "../../../schema/index.ts";
import type { Env } from "../env.ts";
import { chunk, type Db, insertSelect } from "../lib/db.ts";
import {
  isEligible,
  isFlagged,
  type Policy,
  quorumSql,
  recomputeTallies,
  type SubmissionRow,
} from "../rules/baseline.ts";

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

/** The tallies of one submission (in the batch of the assessment that changes them). */
export function recomputeAssessmentTally(db: Db, submissionId: string) {
  return recomputeTallies(db, submissions, eq(submissions.id, submissionId));
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
      recomputeTallies(db, submissions, touched),
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
