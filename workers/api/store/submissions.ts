// Submission, assessment and baseline queries and the statements that keep tallies and the
// change feed consistent. No Hono types here.
import type { SubmissionView, TcoLimb } from "@eusn/protocol";
import { and, asc, eq, inArray, sql } from "drizzle-orm";
import { assessments, submissions } from "../../../schema/index.ts";
import type { Env } from "../env.ts";
import type { Db } from "../lib/db.ts";

export type SubmissionRow = typeof submissions.$inferSelect;

/** D1 binds at most 100 parameters per statement. */
export function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export type Policy = { quorum: number; fpRate: number; fpMinReports: number };

/**
 * The network policy now. Quorum: BASELINE_MIN_STATES distinct member states when set (> 0),
 * otherwise every member state that has an active authority (ARCHITECTURE.md "The baseline").
 */
export async function policy(db: Db, env: Env): Promise<Policy> {
  const min = Number.parseInt(env.BASELINE_MIN_STATES ?? "0", 10);
  let quorum = Number.isFinite(min) && min > 0 ? min : 0;
  if (quorum === 0) {
    const row = await db.get<{ n: number }>(
      sql`SELECT count(DISTINCT member_state) AS n FROM participants WHERE role = 'authority' AND status = 'active'`,
    );
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
 * Recomputes the assessment tallies of one submission from the live assessments, in SQL, so it
 * can run inside the same batch as the assessment that changes them. The submitter's own member
 * state counts as concurring; two authorities of one member state count once.
 */
export function recomputeAssessmentTally(db: Db, submissionId: string) {
  return db
    .update(submissions)
    .set({
      concurStates: sql`(
        SELECT json_group_array(ms) FROM (
          SELECT DISTINCT ms FROM (
            SELECT member_state AS ms FROM assessments
              WHERE submission_id = ${submissionId} AND live = 1 AND verdict = 'concur'
            UNION SELECT member_state AS ms FROM submissions WHERE id = ${submissionId}
          ) ORDER BY ms
        ))`,
      liveDissents: sql`(SELECT count(*) FROM assessments WHERE submission_id = ${submissionId} AND live = 1 AND verdict = 'dissent')`,
    })
    .where(eq(submissions.id, submissionId));
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

/** The live assessments of a submission (for decisions that must cite them). */
export async function liveAssessments(db: Db, submissionId: string) {
  return db
    .select()
    .from(assessments)
    .where(and(eq(assessments.submissionId, submissionId), eq(assessments.live, true)))
    .orderBy(asc(assessments.createdAt));
}
