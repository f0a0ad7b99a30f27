// Wire schemas for case files: the evidence an authority attaches to its submission so that other
// authorities can assess the material itself, end-to-end encrypted (docs/evidence.md). The node
// stores the ciphertext, its SHA-256 and size, and one wrapped content key per recipient; it never
// holds the material or a content key in clear. The ciphertext format and the limits are in
// evidence-format.ts (no zod).
import { z } from "zod";
import { EU_MEMBER_STATES } from "./constants.ts";
import { ciphertextLimit, EVIDENCE_MEDIA_CLASSES } from "./evidence-format.ts";
import { idPattern } from "./ids.ts";
import { EncPublicJwk } from "./signals.ts";

// ---- records ---------------------------------------------------------------------------------

const COMPACT_JWE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const ParticipantRef = z.string().regex(idPattern("participant"));
const SubmissionRef = z.string().regex(idPattern("submission"));
const CaseFileRef = z.string().regex(idPattern("casefile"));
const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, "64 lower-case hex characters");
const State = z
  .string()
  .transform((s) => (s === "EL" ? "GR" : s))
  .pipe(z.enum(EU_MEMBER_STATES));

/** An authority or coordinator sets (or replaces) its key-wrapping public key for case files. */
export const SetEvidenceEncKeyRecord = z
  .object({ participantId: ParticipantRef, jwk: EncPublicJwk })
  .strict()
  .meta({ id: "SetEvidenceEncKeyRecord" });

/** The content key of one case file wrapped for one recipient. */
export const WrappedContentKey = z
  .object({
    participantId: ParticipantRef,
    kid: z.string().min(1).max(100).describe("Thumbprint of the recipient's registered encryption key."),
    jwe: z.string().max(1000).regex(COMPACT_JWE, "must be a compact JWE"),
  })
  .strict()
  .meta({ id: "WrappedContentKey" });

const recipients = z
  .array(WrappedContentKey)
  .min(1)
  .max(200)
  .superRefine((xs, ctx) => {
    const seen = new Set<string>();
    for (const [i, r] of xs.entries()) {
      if (seen.has(r.participantId))
        ctx.addIssue({ code: "custom", path: [i, "participantId"], message: "named twice" });
      seen.add(r.participantId);
    }
  });

/**
 * A case file: the ciphertext (its SHA-256 and size, so it cannot be swapped), the class of the
 * material, and the content key wrapped for each recipient. `memberStates` restricts it to the
 * authorities of those states (required for a TLP:RED submission); without it, it is for every
 * active authority. Coordinators see it only when named among the recipients.
 */
export const CreateCaseFileRecord = z
  .object({
    submissionId: SubmissionRef,
    mediaClass: z.enum(EVIDENCE_MEDIA_CLASSES),
    ciphertext: z
      .object({ sha256: Sha256, size: z.number().int().positive() })
      .strict()
      .describe("SHA-256 (hex) and size in bytes of the uploaded ciphertext."),
    memberStates: z.array(State).min(1).max(27).optional(),
    recipients,
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.ciphertext.size > ciphertextLimit(r.mediaClass)) {
      ctx.addIssue({
        code: "custom",
        path: ["ciphertext", "size"],
        message: `a ${r.mediaClass} case file is at most ${ciphertextLimit(r.mediaClass)} bytes of ciphertext`,
      });
    }
  })
  .meta({ id: "CreateCaseFileRecord" });

/**
 * The submitter wraps a case file's content key again: for a recipient that replaced its
 * encryption key, or for more recipients. A recipient's earlier wrap is replaced.
 */
export const RewrapCaseFileRecord = z
  .object({ caseFileId: CaseFileRef, recipients })
  .strict()
  .meta({ id: "RewrapCaseFileRecord" });

export type CreateCaseFileRecord = z.infer<typeof CreateCaseFileRecord>;
export type WrappedContentKey = z.infer<typeof WrappedContentKey>;

// ---- requests and views ----------------------------------------------------------------------

export const CaseFileIdParam = z.object({ id: CaseFileRef });
export const UploadIdParam = z.object({ id: z.string().regex(idPattern("upload")) });
export const UploadPartParam = z.object({
  id: z.string().regex(idPattern("upload")),
  n: z.coerce.number().int().min(1).max(10_000),
});

export const UploadRequest = z
  .object({
    submissionId: SubmissionRef,
    mediaClass: z.enum(EVIDENCE_MEDIA_CLASSES),
    size: z.number().int().positive().describe("Ciphertext bytes."),
    sha256: Sha256.describe("SHA-256 of the ciphertext, checked when the upload completes."),
  })
  .strict()
  .meta({ id: "EvidenceUploadRequest" });
export type UploadRequest = z.infer<typeof UploadRequest>;

export const UploadView = z
  .object({
    uploadId: z.string(),
    submissionId: z.string(),
    mediaClass: z.enum(EVIDENCE_MEDIA_CLASSES),
    size: z.number().int(),
    sha256: z.string(),
    partSize: z.number().int(),
    parts: z.number().int().describe("How many parts the ciphertext is uploaded in."),
    received: z.array(z.number().int()).describe("Part numbers already received (resume from the rest)."),
    status: z.enum(["open", "complete", "used", "failed"]),
  })
  .meta({ id: "EvidenceUpload" });
export type UploadView = z.infer<typeof UploadView>;

export const EvidenceEncKeyView = z
  .object({
    participantId: z.string(),
    role: z.enum(["authority", "coordinator"]),
    memberState: z.string().nullable(),
    kid: z.string(),
    jwk: EncPublicJwk,
  })
  .meta({ id: "EvidenceEncKey" });
export type EvidenceEncKeyView = z.infer<typeof EvidenceEncKeyView>;
export const EvidenceEncKeyList = z.object({ encKeys: z.array(EvidenceEncKeyView) });

export const CaseFileView = z
  .object({
    id: z.string(),
    recordId: z.string(),
    submissionId: z.string(),
    submitterId: z.string(),
    mediaClass: z.enum(EVIDENCE_MEDIA_CLASSES),
    sha256: z.string(),
    size: z.number().int(),
    memberStates: z.array(z.string()).nullable(),
    originNode: z.string(),
    createdAt: z.string(),
    /** Where the ciphertext is fetched: this node's path, or the origin node's URL (federation). */
    contentUrl: z.string(),
    /** The caller's own wrapped content key. */
    wrapped: WrappedContentKey,
    /** The caller's wrap is under an encryption key it has since replaced: ask the submitter to re-wrap. */
    stale: z.boolean(),
    /** For the submitter: every recipient, and whether its wrap is under its current key. */
    recipients: z
      .array(z.object({ participantId: z.string(), kid: z.string(), current: z.boolean() }))
      .optional(),
  })
  .meta({ id: "CaseFile" });
export type CaseFileView = z.infer<typeof CaseFileView>;
export const CaseFileList = z.object({ caseFiles: z.array(CaseFileView) }).meta({ id: "CaseFileList" });

export const CaseFileOpens = z
  .object({
    caseFileId: z.string(),
    opens: z.array(
      z.object({ participantId: z.string(), memberState: z.string().nullable(), at: z.string() }),
    ),
  })
  .meta({ id: "CaseFileOpens" });
export type CaseFileOpens = z.infer<typeof CaseFileOpens>;

/** What the envelope's JSON header may hold (inside the ciphertext; the node never sees it). */
export const CaseFileContext = z
  .object({
    mediaType: z.string().max(100),
    fileName: z.string().max(255).optional(),
    foundAt: z.string().max(2000).optional(),
    foundOn: z.string().max(100).optional(),
    language: z.string().max(35).optional(),
    description: z.string().max(20_000).optional(),
    translation: z.string().max(20_000).optional(),
    caseReference: z.string().max(200).optional(),
  })
  .strict();
export type CaseFileContext = z.infer<typeof CaseFileContext>;
