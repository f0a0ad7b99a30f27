// Submission, assessment and baseline queries and the statements that keep tallies and the
// change feed consistent; the rules they apply live in rules/baseline.ts. No Hono types here.
import type { SubmissionView, TcoLimb } from "@eusn/protocol";
import { and, eq, inArray } from "drizzle-orm";
import { submissions } from "../../../schema/index.ts";
import { chunk, type Db } from "../lib/db.ts";
import {
  entryState,
  isEligible,
  isFlagged,
  type Policy,
  restrictsLinked,
  type SubmissionRow,
} from "../rules/baseline.ts";
import { ofFingerprintsSql } from "./fingerprint-keys.ts";
import { videoSizesOf } from "./videos.ts";

export async function getSubmission(db: Db, id: string): Promise<SubmissionRow | undefined> {
  return db.select().from(submissions).where(eq(submissions.id, id)).get();
}

/** The rows of `ids` (any order; unknown ids are left out). */
export async function submissionsByIds(db: Db, ids: string[]): Promise<SubmissionRow[]> {
  const out: SubmissionRow[] = [];
  for (const part of chunk(ids, 90))
    out.push(...(await db.select().from(submissions).where(inArray(submissions.id, part))));
  return out;
}

/**
 * Every live submission of `fingerprints`, whoever holds it, in one statement whatever their
 * number (they travel as one JSON parameter), each fingerprint one lookup in the key table of
 * fingerprints: a submitted batch's idempotency check (the submitter's own) and the links its
 * answer reports (everyone else's) at once.
 */
export async function liveOfFingerprints(db: Db, fingerprints: readonly string[]): Promise<SubmissionRow[]> {
  return db
    .select()
    .from(submissions)
    .where(
      and(eq(submissions.status, "live"), ofFingerprintsSql("submissions", JSON.stringify(fingerprints))),
    );
}

/**
 * Other authorities' live submissions of the same fingerprints (for the `linked` field), and the
 * fingerprints some live submission holds at TLP:RED (rules/baseline.ts restrictsLinked).
 */
export async function linkedOf(
  db: Db,
  rows: SubmissionRow[],
): Promise<{ linked: Map<string, string[]>; red: Set<string> }> {
  const fps = [...new Set(rows.map((r) => r.fingerprint))];
  const byFp = new Map<string, { id: string; submitterId: string }[]>();
  const red = new Set<string>();
  // One statement whatever their number: the fingerprints travel as one JSON parameter.
  const found = await db
    .select({
      id: submissions.id,
      submitterId: submissions.submitterId,
      fingerprint: submissions.fingerprint,
      status: submissions.status,
      tlp: submissions.tlp,
    })
    .from(submissions)
    .where(and(ofFingerprintsSql("submissions", JSON.stringify(fps)), eq(submissions.status, "live")));
  for (const f of found) {
    byFp.set(f.fingerprint, [...(byFp.get(f.fingerprint) ?? []), f]);
    if (restrictsLinked(f)) red.add(f.fingerprint);
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
  return { linked: out, red };
}

export function toView(
  row: SubmissionRow,
  p: Policy,
  linked: string[] = [],
  now = Date.now(),
  linkedRed = restrictsLinked(row),
): SubmissionView {
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
    state: entryState({ ...row, linkedRed }, p, now),
    createdAt: row.createdAt,
    linked,
    assessments: {
      concurStates,
      concurring: concurStates.length,
      dissenting: row.liveDissents,
      quorum: p.quorum,
      eligible: isEligible(row, p, now),
    },
    feedback: {
      truePositive: row.fbTrue,
      falsePositive: row.fbFalse,
      notActioned: row.fbNotActioned,
      falsePositiveRate: rated > 0 ? row.fbFalse / rated : null,
      minReports: p.fpMinReports,
      flagged: isFlagged(row, p),
    },
  };
}

export async function viewsOf(db: Db, rows: SubmissionRow[], p: Policy): Promise<SubmissionView[]> {
  const { linked, red } = await linkedOf(db, rows);
  const videoIds = rows.filter((r) => r.signalType === "vpdq").map((r) => r.id);
  const videos = videoIds.length > 0 ? await videoSizesOf(db, videoIds) : new Map();
  const now = Date.now();
  return rows.map((r) => {
    const view = toView(r, p, linked.get(r.id) ?? [], now, red.has(r.fingerprint));
    const video = videos.get(r.id);
    return video ? { ...view, video } : view;
  });
}
