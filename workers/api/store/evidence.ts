// Case-file queries (docs/evidence.md): encryption keys of authorities and coordinators, uploads
// and their parts, what a reader may open (its own wrapped key, while the case file is reachable),
// the download audit, and the purge. No Hono types here. Every read of a case file goes through
// `readableCaseFiles`, which applies the retention rule (rules/evidence.ts) in SQL, so an expired,
// withdrawn or reversed case file is never handed out, even before the cron has deleted it.
import type { CaseFileView, EncPublicJwk, EvidenceEncKeyView, UploadView } from "@eusn/protocol";
import { and, asc, eq, inArray, lt, or, sql } from "drizzle-orm";
import {
  auditLog,
  caseFileKeys,
  caseFiles,
  evidenceUploadParts,
  evidenceUploads,
  participants,
  signalEncKeys,
  submissions,
} from "../../../schema/index.ts";
import type { Db } from "../lib/db.ts";
import { nowIso } from "../lib/encoding.ts";
import { caseFileReachableSql } from "../rules/evidence.ts";

export type CaseFileRow = typeof caseFiles.$inferSelect;
export type UploadRow = typeof evidenceUploads.$inferSelect;

export async function getCaseFile(db: Db, id: string): Promise<CaseFileRow | undefined> {
  return db.select().from(caseFiles).where(eq(caseFiles.id, id)).get();
}

// ---- encryption keys -------------------------------------------------------------------------

/** The current key-wrapping key of every active authority and coordinator that registered one. */
export async function evidenceEncKeys(db: Db): Promise<EvidenceEncKeyView[]> {
  const rows = await db
    .select({
      participantId: signalEncKeys.participantId,
      kid: signalEncKeys.kid,
      jwk: signalEncKeys.jwk,
      role: participants.role,
      memberState: participants.memberState,
    })
    .from(signalEncKeys)
    .innerJoin(participants, eq(participants.id, signalEncKeys.participantId))
    .where(and(eq(participants.status, "active"), inArray(participants.role, ["authority", "coordinator"])))
    .orderBy(asc(participants.memberState), asc(signalEncKeys.participantId));
  return rows.map((r) => ({
    participantId: r.participantId,
    role: r.role as "authority" | "coordinator",
    memberState: r.memberState,
    kid: r.kid,
    jwk: JSON.parse(r.jwk) as EncPublicJwk,
  }));
}

// ---- uploads ---------------------------------------------------------------------------------

export async function getUpload(db: Db, id: string, owner: string): Promise<UploadRow | undefined> {
  return db
    .select()
    .from(evidenceUploads)
    .where(and(eq(evidenceUploads.id, id), eq(evidenceUploads.participantId, owner)))
    .get();
}

export async function receivedParts(db: Db, uploadId: string) {
  return db
    .select()
    .from(evidenceUploadParts)
    .where(eq(evidenceUploadParts.uploadId, uploadId))
    .orderBy(asc(evidenceUploadParts.partNumber));
}

export const partCount = (u: Pick<UploadRow, "size" | "partSize">) =>
  Math.max(1, Math.ceil(u.size / u.partSize));

/** The exact size part `n` of an upload must have: every part is `partSize` but the last. */
export function partLength(u: Pick<UploadRow, "size" | "partSize">, n: number): number {
  const parts = partCount(u);
  return n < parts ? u.partSize : u.size - (parts - 1) * u.partSize;
}

export async function uploadView(db: Db, u: UploadRow): Promise<UploadView> {
  const parts = await receivedParts(db, u.id);
  return {
    uploadId: u.id,
    submissionId: u.submissionId,
    mediaClass: u.mediaClass,
    size: u.size,
    sha256: u.sha256,
    partSize: u.partSize,
    parts: partCount(u),
    received: parts.map((p) => p.partNumber),
    status: u.status,
  };
}

// ---- reading ---------------------------------------------------------------------------------

type Readable = { cf: CaseFileRow; key: typeof caseFileKeys.$inferSelect; currentKid: string | null };

/**
 * The reachable case files `readerId` holds a wrapped key for (optionally one id, or those of one
 * submission). Anything else does not exist for this reader: no existence oracle.
 */
export async function readableCaseFiles(
  db: Db,
  readerId: string,
  retentionDays: number,
  filter: { id?: string; submissionId?: string } = {},
  now = Date.now(),
): Promise<Readable[]> {
  const rows = await db
    .select({ cf: caseFiles, key: caseFileKeys, currentKid: signalEncKeys.kid })
    .from(caseFiles)
    .innerJoin(submissions, eq(submissions.id, caseFiles.submissionId))
    .innerJoin(
      caseFileKeys,
      and(eq(caseFileKeys.caseFileId, caseFiles.id), eq(caseFileKeys.participantId, readerId)),
    )
    .leftJoin(signalEncKeys, eq(signalEncKeys.participantId, readerId))
    .where(
      and(
        caseFileReachableSql("case_files", "submissions", retentionDays, now),
        filter.id ? eq(caseFiles.id, filter.id) : undefined,
        filter.submissionId ? eq(caseFiles.submissionId, filter.submissionId) : undefined,
      ),
    )
    .orderBy(asc(caseFiles.createdAt))
    .limit(200);
  return rows;
}

/** Every recipient of a case file, and whether its wrap is under its current encryption key. */
export async function recipientsOf(db: Db, caseFileId: string) {
  const rows = await db
    .select({
      participantId: caseFileKeys.participantId,
      kid: caseFileKeys.encKid,
      currentKid: signalEncKeys.kid,
    })
    .from(caseFileKeys)
    .leftJoin(signalEncKeys, eq(signalEncKeys.participantId, caseFileKeys.participantId))
    .where(eq(caseFileKeys.caseFileId, caseFileId))
    .orderBy(asc(caseFileKeys.participantId));
  return rows.map((r) => ({ participantId: r.participantId, kid: r.kid, current: r.currentKid === r.kid }));
}

export async function caseFileView(
  db: Db,
  r: Readable,
  readerId: string,
  contentUrl: string,
): Promise<CaseFileView> {
  const view: CaseFileView = {
    id: r.cf.id,
    recordId: r.cf.recordId,
    submissionId: r.cf.submissionId,
    submitterId: r.cf.submitterId,
    mediaClass: r.cf.mediaClass,
    sha256: r.cf.sha256,
    size: r.cf.size,
    memberStates: r.cf.memberStates ? (JSON.parse(r.cf.memberStates) as string[]) : null,
    originNode: r.cf.originNode,
    createdAt: r.cf.createdAt,
    contentUrl,
    wrapped: { participantId: r.key.participantId, kid: r.key.encKid, jwe: r.key.jwe },
    stale: r.currentKid !== r.key.encKid,
  };
  if (r.cf.submitterId === readerId) view.recipients = await recipientsOf(db, r.cf.id);
  return view;
}

// ---- the download audit ----------------------------------------------------------------------

export const OPEN_KIND = "evidence.open";

/** Writes the audit entry of one download; the ciphertext is served only after it is stored. */
export async function auditOpen(db: Db, caseFileId: string, readerId: string, nodeId: string): Promise<void> {
  await db.insert(auditLog).values({
    kind: OPEN_KIND,
    subjectId: caseFileId,
    actor: readerId,
    at: nowIso(),
    detail: JSON.stringify({ node: nodeId }),
  });
}

/** Who downloaded a case file, oldest first (for its submitter). */
export async function opensOf(db: Db, caseFileId: string) {
  const rows = await db
    .select({ actor: auditLog.actor, at: auditLog.at, memberState: participants.memberState })
    .from(auditLog)
    .leftJoin(participants, eq(participants.id, auditLog.actor))
    .where(and(eq(auditLog.kind, OPEN_KIND), eq(auditLog.subjectId, caseFileId)))
    .orderBy(asc(auditLog.seq))
    .limit(1000);
  return rows.map((r) => ({ participantId: r.actor, memberState: r.memberState ?? null, at: r.at }));
}

// ---- purge -----------------------------------------------------------------------------------

/** Uploads not attached to a case file within a day are aborted and deleted. */
const UPLOAD_TTL_S = 86_400;

export type PurgeCounts = { caseFiles: number; objects: number; keys: number; uploads: number };

/**
 * Deletes what retention no longer allows (docs/evidence.md "Retention"): case files that are
 * deleted (withdrawal, reversal) or no longer reachable lose their wrapped keys and their R2
 * object, and stale uploads are aborted. One counts-only audit entry when anything was deleted.
 */
export async function purgeCaseFiles(
  db: Db,
  bucket: R2Bucket,
  retentionDays: number,
  now = Date.now(),
): Promise<PurgeCounts> {
  const counts: PurgeCounts = { caseFiles: 0, objects: 0, keys: 0, uploads: 0 };
  const ended = await db
    .select({ id: caseFiles.id, r2Key: caseFiles.r2Key, status: caseFiles.status })
    .from(caseFiles)
    .innerJoin(submissions, eq(submissions.id, caseFiles.submissionId))
    .where(
      and(
        sql`NOT ${caseFileReachableSql("case_files", "submissions", retentionDays, now)}`,
        or(eq(caseFiles.status, "live"), sql`${caseFiles.r2Key} IS NOT NULL`),
      ),
    )
    .limit(500);
  for (const cf of ended) {
    if (cf.r2Key) {
      await bucket.delete(cf.r2Key);
      counts.objects++;
    }
    const keys = await db
      .select({ n: sql<number>`count(*)` })
      .from(caseFileKeys)
      .where(eq(caseFileKeys.caseFileId, cf.id))
      .get();
    counts.keys += keys?.n ?? 0;
    await db.batch([
      db.delete(caseFileKeys).where(eq(caseFileKeys.caseFileId, cf.id)),
      db
        .update(caseFiles)
        .set({
          status: "deleted",
          r2Key: null,
          deletedAt: sql`COALESCE(${caseFiles.deletedAt}, ${nowIso(now)})`,
        })
        .where(eq(caseFiles.id, cf.id)),
    ]);
    counts.caseFiles++;
  }
  const stale = await db
    .select()
    .from(evidenceUploads)
    .where(
      and(
        lt(evidenceUploads.createdAt, Math.floor(now / 1000) - UPLOAD_TTL_S),
        inArray(evidenceUploads.status, ["open", "complete", "failed"]),
      ),
    )
    .limit(500);
  for (const u of stale) {
    try {
      await bucket.resumeMultipartUpload(u.r2Key, u.r2UploadId).abort();
    } catch {
      // Already completed or aborted: the object, if any, is deleted below.
    }
    await bucket.delete(u.r2Key);
    await db.batch([
      db.delete(evidenceUploadParts).where(eq(evidenceUploadParts.uploadId, u.id)),
      db.delete(evidenceUploads).where(eq(evidenceUploads.id, u.id)),
    ]);
    counts.uploads++;
  }
  if (counts.caseFiles + counts.uploads > 0) {
    await db.insert(auditLog).values({
      kind: "evidence.purge",
      actor: "system",
      at: nowIso(now),
      detail: JSON.stringify(counts),
    });
  }
  return counts;
}
