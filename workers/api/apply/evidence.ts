// Appliers of the case-file records (docs/evidence.md): an authority's or coordinator's key-wrapping
// key, a case file (the ciphertext's hash and size, and the content key wrapped per recipient),
// and the submitter's re-wrap. All replicated: the signed record and the wrapped keys cross nodes,
// the ciphertext stays on the node that accepted the case file and is fetched from there.
//
// What the node checks, it checks on the records alone: recipients (rules/evidence.ts), the JWE
// header of every wrap, and on the origin that the ciphertext it stored is exactly the one the
// signed record names. It cannot open a wrap and does not need to.
import {
  EVIDENCE_WRAP_ALG,
  EVIDENCE_WRAP_ENC,
  EVIDENCE_WRAP_TYP,
  type WrappedContentKey,
} from "@eusn/protocol";
import { and, eq, inArray } from "drizzle-orm";
import { decodeProtectedHeader } from "jose";
import { caseFileKeys, caseFiles, evidenceUploads } from "../../../schema/index.ts";
import type { Db, DomainStatements } from "../lib/db.ts";
import { nowIso } from "../lib/encoding.ts";
import { derivedId } from "../lib/ids.ts";
import { ApiError } from "../lib/problem.ts";
import { tlpAllowsSharing } from "../rules/baseline.ts";
import { recipientRefusal } from "../rules/evidence.ts";
import { getCaseFile } from "../store/evidence.ts";
import { getParticipant } from "../store/participants.ts";
import { getEncKey } from "../store/signals.ts";
import { getSubmission } from "../store/submissions.ts";
import type { Applier, ApplyContext, Plan } from "./context.ts";
import { encKeyStatements } from "./enc-keys.ts";

/** A case file's id is unique per node even when two racing writes pick the same upload. */
const CASE_FILE_UNIQUE = /UNIQUE constraint failed: case_files/;

/** An authority or coordinator sets its key-wrapping public key for case files. */
export const setEvidenceEncKey: Applier<"evidence.enckey.set"> = {
  kind: "evidence.enckey.set",
  roles: ["authority", "coordinator"],
  replicated: true,
  dependsOn: (w) => [`participant:${w.claims.iss}`],
  async apply(db, _env, w, ctx) {
    if (w.record.participantId !== w.claims.iss) {
      throw new ApiError("forbidden", "a participant can only set its own encryption key");
    }
    return {
      subjectId: w.claims.iss,
      statements: await encKeyStatements(
        db,
        w.claims.iss,
        w.record.jwk,
        ctx.recordId,
        Math.floor(ctx.at / 1000),
      ),
    };
  },
};

/**
 * Checks every wrap: an allowed recipient (rules/evidence.ts), under the encryption key it has
 * registered (on the node that accepts the record; a replica keeps the origin's judgement, as the
 * key may reach it later), as a compact JWE with the one accepted algorithm pair and type.
 */
async function checkRecipients(
  db: Db,
  recipients: readonly WrappedContentKey[],
  memberStates: readonly string[] | null,
  ctx: ApplyContext,
): Promise<void> {
  for (const [i, r] of recipients.entries()) {
    const path = `/record/recipients/${i}`;
    const fail = (message: string): never => {
      throw new ApiError("unprocessable", `${r.participantId} ${message}`, [{ path, message }]);
    };
    const p = await getParticipant(db, r.participantId);
    const why = recipientRefusal(
      p ? { participantId: p.id, role: p.role, status: p.status, memberState: p.memberState } : undefined,
      memberStates,
    );
    if (why && !(ctx.replicated && !p)) fail(why);
    if (!ctx.replicated) {
      const enc = await getEncKey(db, r.participantId);
      if (!enc) fail("has not registered an encryption key (POST /v1/evidence/keys)");
      if (enc!.kid !== r.kid) fail(`is wrapped for key ${r.kid}; its registered key is ${enc!.kid}`);
    }
    let header: Record<string, unknown>;
    try {
      header = decodeProtectedHeader(r.jwe) as Record<string, unknown>;
    } catch {
      return fail("has a JWE whose protected header is not readable");
    }
    if (
      header.alg !== EVIDENCE_WRAP_ALG ||
      header.enc !== EVIDENCE_WRAP_ENC ||
      header.typ !== EVIDENCE_WRAP_TYP
    )
      fail(
        `must be wrapped with alg ${EVIDENCE_WRAP_ALG}, enc ${EVIDENCE_WRAP_ENC}, typ ${EVIDENCE_WRAP_TYP}`,
      );
    if (header.kid !== r.kid) fail("has a JWE whose kid is not the recipient's kid");
  }
}

function keyStatements(
  db: Db,
  caseFileId: string,
  recipients: readonly WrappedContentKey[],
  recordId: string,
): DomainStatements {
  return recipients.map((r) =>
    db
      .insert(caseFileKeys)
      .values({ caseFileId, participantId: r.participantId, encKid: r.kid, jwe: r.jwe, recordId })
      .onConflictDoUpdate({
        target: [caseFileKeys.caseFileId, caseFileKeys.participantId],
        set: { encKid: r.kid, jwe: r.jwe, recordId },
      }),
  );
}

export type CaseFilePlan = Plan & { caseFileId: string };

/** The submitting authority attaches a case file to its submission. */
export const createCaseFile: Applier<"evidence.create", CaseFilePlan> = {
  kind: "evidence.create",
  roles: ["authority"],
  replicated: true,
  dependsOn: (w) => [`submission:${w.record.submissionId}`],
  async apply(db, _env, w, ctx) {
    const r = w.record;
    const sub = await getSubmission(db, r.submissionId);
    if (!sub) throw new ApiError("not_found", `no submission ${r.submissionId}`);
    if (sub.submitterId !== w.claims.iss)
      throw new ApiError("forbidden", "only the submitting authority can attach a case file to a submission");
    if (!ctx.replicated && sub.status !== "live")
      throw new ApiError("unprocessable", `submission ${sub.id} is ${sub.status}`);
    const memberStates = r.memberStates ? [...new Set(r.memberStates)].sort() : null;
    if (!tlpAllowsSharing(sub) && !memberStates) {
      throw new ApiError(
        "unprocessable",
        "a TLP:RED entry's case file must name the member states that may open it",
        [{ path: "/record/memberStates", message: "required for TLP:RED" }],
      );
    }
    if (!r.recipients.some((x) => x.participantId === w.claims.iss)) {
      throw new ApiError(
        "unprocessable",
        "the submitter must be a recipient: it re-wraps the key when a recipient replaces its encryption key",
        [{ path: "/record/recipients", message: "wrap the key for yourself too" }],
      );
    }
    await checkRecipients(db, r.recipients, memberStates, ctx);
    const id = await derivedId("casefile", w);
    let r2Key: string | null = null;
    const statements: DomainStatements = [];
    if (!ctx.replicated) {
      // The ciphertext must be on this node already, uploaded by the signer and checked against
      // the SHA-256 it declared: the signed hash is the one the bytes have, or nothing is stored.
      const upload = await db
        .select()
        .from(evidenceUploads)
        .where(
          and(
            eq(evidenceUploads.participantId, w.claims.iss),
            eq(evidenceUploads.submissionId, r.submissionId),
            eq(evidenceUploads.sha256, r.ciphertext.sha256),
            eq(evidenceUploads.status, "complete"),
          ),
        )
        .get();
      if (!upload || upload.size !== r.ciphertext.size || upload.mediaClass !== r.mediaClass) {
        throw new ApiError(
          "unprocessable",
          "no completed upload of yours for this submission has this ciphertext (SHA-256, size and media class): the signed record must name the bytes uploaded",
          [{ path: "/record/ciphertext/sha256", message: "differs from every completed upload" }],
        );
      }
      r2Key = upload.r2Key;
      statements.push(
        db
          .update(evidenceUploads)
          .set({ status: "used" })
          .where(and(eq(evidenceUploads.id, upload.id), eq(evidenceUploads.status, "complete"))),
      );
    }
    statements.unshift(
      db.insert(caseFiles).values({
        id,
        recordId: ctx.recordId,
        submissionId: r.submissionId,
        submitterId: w.claims.iss,
        originNode: ctx.origin,
        mediaClass: r.mediaClass,
        sha256: r.ciphertext.sha256,
        size: r.ciphertext.size,
        memberStates: memberStates ? JSON.stringify(memberStates) : null,
        r2Key,
        createdAt: nowIso(ctx.at),
      }),
    );
    statements.push(...keyStatements(db, id, r.recipients, ctx.recordId));
    return {
      subjectId: id,
      caseFileId: id,
      uniqueConflict: { pattern: CASE_FILE_UNIQUE, detail: "this upload was attached concurrently" },
      statements,
    };
  },
};

/** The submitter wraps a case file's content key again, for recipients that replaced their key or new ones. */
export const rewrapCaseFile: Applier<"evidence.rewrap"> = {
  kind: "evidence.rewrap",
  roles: ["authority"],
  replicated: true,
  dependsOn: (w) => [`casefile:${w.record.caseFileId}`],
  async apply(db, _env, w, ctx) {
    const cf = await getCaseFile(db, w.record.caseFileId);
    // Anyone but the submitter learns nothing about whether the case file exists.
    if (!cf || cf.submitterId !== w.claims.iss || (!ctx.replicated && cf.status !== "live"))
      throw new ApiError("not_found", `no case file ${w.record.caseFileId} of yours`);
    const memberStates = cf.memberStates ? (JSON.parse(cf.memberStates) as string[]) : null;
    await checkRecipients(db, w.record.recipients, memberStates, ctx);
    // A deleted case file keeps no keys, even when a replica learns of a re-wrap after the deletion.
    return {
      subjectId: cf.id,
      statements: cf.status === "live" ? keyStatements(db, cf.id, w.record.recipients, ctx.recordId) : [],
    };
  },
};

/**
 * What ends an entry's case files at once (its withdrawal or reversal): every wrapped key is
 * deleted in the same batch as the record, so no one can open them from that moment; the cron
 * then deletes the ciphertext objects (store/evidence.ts `purgeCaseFiles`).
 */
export function endCaseFilesStatements(db: Db, submissionId: string, at: string): DomainStatements {
  return [
    db
      .delete(caseFileKeys)
      .where(
        inArray(
          caseFileKeys.caseFileId,
          db.select({ id: caseFiles.id }).from(caseFiles).where(eq(caseFiles.submissionId, submissionId)),
        ),
      ),
    db
      .update(caseFiles)
      .set({ status: "deleted", deletedAt: at })
      .where(and(eq(caseFiles.submissionId, submissionId), eq(caseFiles.status, "live"))),
  ];
}
