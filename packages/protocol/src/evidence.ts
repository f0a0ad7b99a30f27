// Wire schemas for case files: the evidence an authority attaches to its submission so that other
// authorities can assess the material itself, end-to-end encrypted (docs/evidence.md). The node
// stores the ciphertext, its SHA-256 and size, and one wrapped content key per recipient; it never
// holds the material or a content key in clear.
import { z } from "zod";
import { EU_MEMBER_STATES } from "./constants.ts";
import { idPattern } from "./ids.ts";
import { EncPublicJwk } from "./signals.ts";

// ---- cryptography ----------------------------------------------------------------------------

/** Content keys are wrapped as JWE (RFC 7516) with ECDH-ES+A256KW (RFC 7518 §4.6) and A256GCM. */
export const EVIDENCE_WRAP_ALG = "ECDH-ES+A256KW" as const;
export const EVIDENCE_WRAP_ENC = "A256GCM" as const;
/** `typ` of the JWE protected header, so a wrapped selector key cannot pass for a content key. */
export const EVIDENCE_WRAP_TYP = "eusn-content-key" as const;

/**
 * The ciphertext format, "EUSNCF01": a 24-byte header (8-byte magic, chunk size as u32 big-endian,
 * 12 random bytes: a 7-byte nonce prefix and 5 reserved zero bytes), then the plaintext in chunks
 * of `chunkSize` bytes, each sealed with AES-256-GCM under the content key with the nonce
 * prefix ‖ chunk counter (u32 BE) ‖ last-chunk flag (1 byte) and the header as additional data:
 * the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár, CRYPTO 2015), so chunks cannot be
 * reordered, dropped or truncated unnoticed and a large video never has to be in memory whole.
 * The plaintext is an envelope: u32 BE length of a JSON header (media type, file name, context),
 * the header, then the file's bytes.
 */
export const EVIDENCE_MAGIC = "EUSNCF01" as const;
export const EVIDENCE_HEADER_BYTES = 24;
export const EVIDENCE_TAG_BYTES = 16;
/** Plaintext bytes per encrypted chunk. */
export const EVIDENCE_CHUNK_BYTES = 1024 * 1024;
/** Most bytes of the envelope's JSON header (context, file name, media type). */
export const EVIDENCE_CONTEXT_MAX_BYTES = 64 * 1024;

/** The largest media file per class (bytes of the image or video itself). */
export const EVIDENCE_MEDIA_LIMITS = { image: 25_000_000, video: 500_000_000 } as const;
export const EVIDENCE_MEDIA_CLASSES = ["image", "video"] as const;
export type EvidenceMediaClass = (typeof EVIDENCE_MEDIA_CLASSES)[number];

/** The ciphertext size of a plaintext of `plain` bytes (header + chunks + one tag per chunk). */
export function ciphertextSize(plain: number, chunk = EVIDENCE_CHUNK_BYTES): number {
  const chunks = Math.max(1, Math.ceil(plain / chunk));
  return EVIDENCE_HEADER_BYTES + plain + chunks * EVIDENCE_TAG_BYTES;
}

/** The largest ciphertext of a class: its media limit plus the envelope and encryption overhead. */
export function ciphertextLimit(mediaClass: EvidenceMediaClass): number {
  return ciphertextSize(EVIDENCE_MEDIA_LIMITS[mediaClass] + 4 + EVIDENCE_CONTEXT_MAX_BYTES);
}

/** Upload part size (R2 multipart needs every part but the last to be the same size, ≥ 5 MiB). */
export const EVIDENCE_PART_BYTES = 8 * 1024 * 1024;

/** Protocol cap on retention after an entry's last decision; a node may only keep case files less. */
export const EVIDENCE_MAX_RETENTION_DAYS = 183;

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
