// Wire schemas (zod) shared by the node and its clients. The node validates every record with
// these; the OpenAPI document is generated from them (`.meta({ id })` names a component).
import { z } from "zod";
import { StatementRecord } from "./accountability.ts";
import { ALLOWED_ALGS, EU_MEMBER_STATES, ROLES } from "./constants.ts";
import { CreateCaseFileRecord, RewrapCaseFileRecord, SetEvidenceEncKeyRecord } from "./evidence.ts";
import { idPattern } from "./ids.ts";
import { CloseIncidentRecord, DeclareIncidentRecord, ExtendIncidentRecord } from "./incidents.ts";
import {
  CreateSignalRecord,
  GrantSelectorKeyRecord,
  PublishSelectorKeyRecord,
  RetractSignalRecord,
  ReverseSignalRecord,
  SetEncKeyRecord,
} from "./signals.ts";
import {
  AssessBatchRecord,
  AssessRecord,
  BaselineDecisionBatchRecord,
  BaselineDecisionRecord,
  FeedbackRecord,
  ReverseRecord,
  SubmissionId,
  SubmitRecord,
  WithdrawRecord,
} from "./submissions.ts";
import { RevokeApiCredentialRecord, SetApiCredentialRecord } from "./taxii.ts";
import { RegisterWebhookRecord, RemoveWebhookRecord } from "./webhooks.ts";

const b64url = z.string().regex(/^[A-Za-z0-9_-]+$/, "must be base64url without padding");

/** An Ed25519 public key (RFC 8037). */
const okpPublicJwk = z
  .object({
    kty: z.literal("OKP"),
    crv: z.literal("Ed25519"),
    x: b64url.length(43),
    alg: z.literal("EdDSA").optional(),
    kid: z.string().max(100).optional(),
    use: z.literal("sig").optional(),
  })
  .strict();

/** A P-256 public key (RFC 7518 §6.2). */
const ecPublicJwk = z
  .object({
    kty: z.literal("EC"),
    crv: z.literal("P-256"),
    x: b64url.length(43),
    y: b64url.length(43),
    alg: z.literal("ES256").optional(),
    kid: z.string().max(100).optional(),
    use: z.literal("sig").optional(),
  })
  .strict();

/**
 * A participant's public signing key. Private members (`d`) and symmetric keys are refused by
 * `.strict()` and the literal `kty`/`crv`: only Ed25519 and P-256 public keys get in.
 */
export const PublicJwk = z.discriminatedUnion("kty", [okpPublicJwk, ecPublicJwk]).meta({
  id: "PublicJwk",
  description: "An Ed25519 (OKP) or P-256 (EC) public JWK; `kid` is the RFC 7638 thumbprint.",
});
export type PublicJwk = z.infer<typeof PublicJwk>;

export const Jwks = z
  .object({ keys: z.array(PublicJwk).min(1).max(10) })
  .meta({ id: "Jwks", description: "A JSON Web Key Set of public signing keys." });

export const Role = z.enum(ROLES).meta({ id: "Role" });
export type Role = z.infer<typeof Role>;

/** ISO 3166-1 alpha-2 code of an EU member state; the EU's `EL` for Greece is folded to `GR`. */
export const MemberState = z
  .string()
  .transform((s) => (s === "EL" ? "GR" : s))
  .pipe(z.enum(EU_MEMBER_STATES))
  .meta({
    id: "MemberState",
    description: "ISO 3166-1 alpha-2 code of an EU member state (EL is accepted for GR).",
  });
export type MemberState = z.infer<typeof MemberState>;

export const ParticipantId = z
  .string()
  .regex(idPattern("participant"))
  .meta({ id: "ParticipantId", example: "par_01jd0000000000000000000000" });

const displayName = z.string().trim().min(2).max(120);
const reason = z.string().trim().min(3).max(2000);

// ---- records (the `record` claim of a signed write) ----------------------------------------

/** Coordinator admits a participant. Authorities must name their member state; others must not. */
export const AdmitParticipantRecord = z
  .object({
    role: Role,
    memberState: MemberState.optional(),
    displayName,
    jwks: Jwks,
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.role === "authority" && !r.memberState) {
      ctx.addIssue({
        code: "custom",
        path: ["memberState"],
        message: "an authority must name its member state",
      });
    }
    if (r.role !== "authority" && r.memberState) {
      ctx.addIssue({
        code: "custom",
        path: ["memberState"],
        message: "only authorities carry a member state",
      });
    }
  })
  .meta({ id: "AdmitParticipantRecord" });

/** A participant adds a signing key to its own JWKS (rotation, step 1). */
export const AddKeyRecord = z
  .object({ participantId: ParticipantId, jwk: PublicJwk })
  .strict()
  .meta({ id: "AddKeyRecord" });

/**
 * A participant retires one of its own keys (rotation, step 2). Records it signed earlier stay
 * valid, unless the key is declared compromised: then what it signed from `compromisedSince` on
 * (Unix seconds, at or before the retirement's own signed time) stops counting on every node.
 */
export const RetireKeyRecord = z
  .object({
    participantId: ParticipantId,
    kid: z.string().min(1).max(100),
    reason: reason.optional(),
    compromisedSince: z
      .number()
      .int()
      .nonnegative()
      .optional()
      .describe(
        "The key is compromised since this time (Unix seconds): every record it signed at or after it is void. Signed with another of the participant's keys, at or after this time.",
      ),
  })
  .strict()
  .meta({ id: "RetireKeyRecord" });

/** A coordinator revokes a participant: all its keys stop working from now on. */
export const RevokeParticipantRecord = z
  .object({ participantId: ParticipantId, reason })
  .strict()
  .meta({ id: "RevokeParticipantRecord" });

/**
 * The second signature an authority's admission or revocation needs (REGISTRY_SECOND_SIGNATURE):
 * another coordinator than the one who signed the request, or an active authority of the same
 * member state. It names the request's record and what that record asks, so it cannot be carried
 * over to another participant or another request.
 */
export const CountersignRecord = z
  .object({
    participantId: ParticipantId,
    requestRecordId: z.string().regex(idPattern("record")),
    action: z.enum(["admit", "revoke"]),
  })
  .strict()
  .meta({ id: "CountersignRecord" });

/**
 * The signer of an admission or revocation request withdraws it while it waits for its second
 * signature; a withdrawn request cannot be countersigned. Names the request's record, participant
 * and action, like a countersignature.
 */
export const WithdrawRequestRecord = z
  .object({
    participantId: ParticipantId,
    requestRecordId: z.string().regex(idPattern("record")),
    action: z.enum(["admit", "revoke"]),
    reason: reason.optional(),
  })
  .strict()
  .meta({ id: "WithdrawRequestRecord" });

/** The record kinds this node accepts, each with its schema. Other issues add kinds here. */
export const RECORD_SCHEMAS = {
  "participant.admit": AdmitParticipantRecord,
  "participant.key.add": AddKeyRecord,
  "participant.key.retire": RetireKeyRecord,
  "participant.revoke": RevokeParticipantRecord,
  "participant.countersign": CountersignRecord,
  "participant.request.withdraw": WithdrawRequestRecord,
  "submission.create": SubmitRecord,
  "submission.withdraw": WithdrawRecord,
  "submission.reverse": ReverseRecord,
  "assessment.create": AssessRecord,
  "assessment.batch": AssessBatchRecord,
  "baseline.decide": BaselineDecisionRecord,
  "baseline.decide.batch": BaselineDecisionBatchRecord,
  "feedback.create": FeedbackRecord,
  "signal.enckey.set": SetEncKeyRecord,
  "signal.key.publish": PublishSelectorKeyRecord,
  "signal.key.grant": GrantSelectorKeyRecord,
  "signal.create": CreateSignalRecord,
  "signal.retract": RetractSignalRecord,
  "signal.reverse": ReverseSignalRecord,
  "participant.apicred.set": SetApiCredentialRecord,
  "participant.apicred.revoke": RevokeApiCredentialRecord,
  "statement.create": StatementRecord,
  "webhook.register": RegisterWebhookRecord,
  "webhook.remove": RemoveWebhookRecord,
  "evidence.enckey.set": SetEvidenceEncKeyRecord,
  "evidence.create": CreateCaseFileRecord,
  "evidence.rewrap": RewrapCaseFileRecord,
  "incident.declare": DeclareIncidentRecord,
  "incident.extend": ExtendIncidentRecord,
  "incident.close": CloseIncidentRecord,
} as const;
export type RecordKind = keyof typeof RECORD_SCHEMAS;
export type RecordOf<K extends RecordKind> = z.infer<(typeof RECORD_SCHEMAS)[K]>;

/**
 * The claims of a signed write (the JWS payload). `kind` is signed, so a body signed for one
 * endpoint can never be accepted by another.
 */
export const WriteClaims = z
  .object({
    iss: ParticipantId,
    aud: z.string().min(1).max(200),
    iat: z.number().int().nonnegative(),
    jti: z
      .string()
      .min(16)
      .max(128)
      .regex(/^[A-Za-z0-9_.:-]+$/),
    kind: z.string().min(1).max(64),
    record: z.unknown(),
  })
  .strict()
  .meta({ id: "WriteClaims" });
export type WriteClaims = z.infer<typeof WriteClaims>;

/**
 * The claims of a read token (RFC 7519). `aud` may be one node id or an array of them (§4.1.3);
 * it must include the node read from. `nbf`, when present, is honoured (§4.1.5).
 */
export const AccessClaims = z
  .object({
    iss: ParticipantId,
    sub: ParticipantId.optional(),
    aud: z.union([z.string().min(1).max(200), z.array(z.string().min(1).max(200)).min(1).max(10)]),
    iat: z.number().int().nonnegative(),
    nbf: z.number().int().nonnegative().optional(),
    exp: z.number().int().positive(),
    jti: z.string().min(16).max(128),
  })
  .meta({ id: "AccessClaims" });

export const AllowedAlg = z.enum(ALLOWED_ALGS);
export type AllowedAlg = z.infer<typeof AllowedAlg>;

// ---- responses ---------------------------------------------------------------------------------

export const ParticipantKeyView = z
  .object({
    kid: z.string(),
    jwk: PublicJwk,
    status: z.enum(["active", "retired"]),
    addedAt: z.string(),
    retiredAt: z.string().nullable(),
  })
  .meta({ id: "ParticipantKey" });

export const ParticipantView = z
  .object({
    id: ParticipantId,
    role: Role,
    memberState: z.enum(EU_MEMBER_STATES).nullable(),
    displayName: z.string(),
    status: z.enum(["active", "revoked"]),
    admittedAt: z.string(),
    admissionRecordId: z
      .string()
      .nullable()
      .describe(
        "The coordinator-signed admission record; null for the bootstrap coordinator, which comes from configuration.",
      ),
    revokedAt: z.string().nullable(),
    keys: z.array(ParticipantKeyView),
  })
  .meta({ id: "Participant" });
export type ParticipantView = z.infer<typeof ParticipantView>;

/** An admission or revocation of an authority, signed once, waiting for (or given) its second signature. */
export const RegistryRequestView = z
  .object({
    requestRecordId: z
      .string()
      .describe("The first signature's record: the participant.admit or participant.revoke."),
    action: z.enum(["admit", "revoke"]),
    participantId: ParticipantId,
    role: Role,
    memberState: z.enum(EU_MEMBER_STATES).nullable(),
    displayName: z.string(),
    requestedBy: ParticipantId,
    requestedAt: z.string().describe("The first signature's signed time."),
    reason: z.string().nullable().describe("A revocation's reason."),
    keys: z.array(z.string()).describe("An admission's key ids (RFC 7638 thumbprints)."),
    status: z
      .enum(["pending", "completed", "withdrawn", "void"])
      .describe(
        "pending: waiting for its second signature; completed: in effect; withdrawn: by its signer; void: signed after its signer's revocation or its key's retirement or compromise.",
      ),
    completedBy: ParticipantId.nullable(),
    completedRecordId: z.string().nullable().describe("The second signature's record."),
    completedAt: z.string().nullable().describe("The second signature's signed time: when it took effect."),
    withdrawnRecordId: z.string().nullable().describe("The requester's withdrawal record."),
    withdrawnAt: z.string().nullable(),
    voidReason: z.string().nullable(),
  })
  .meta({ id: "RegistryRequest" });
export type RegistryRequestView = z.infer<typeof RegistryRequestView>;

export const RegistryRequestList = z
  .object({ requests: z.array(RegistryRequestView) })
  .meta({ id: "RegistryRequestList" });

export const RegistryRequestQuery = z.object({
  status: z.enum(["pending", "completed", "withdrawn", "void"]).optional().describe("Default: pending."),
});

/** What every accepted write answers: the ids and where it sits in the audit trail. */
export const WriteReceipt = z
  .object({
    recordId: z.string().describe("Id of the stored signed record (the exact JWS bytes)."),
    kind: z.string(),
    subjectId: z
      .string()
      .describe("Id of the thing the record created or changed (participant, submission, …)."),
    auditSeq: z.number().int().describe("Sequence number of the audit-trail entry for this write."),
    jwsSha256: z.string().describe("Hex SHA-256 of the JWS bytes as stored."),
    logIndex: z
      .number()
      .int()
      .describe("Position of the record in the node's transparency log (GET /v1/log/inclusion?index=…)."),
    leafHash: z
      .string()
      .describe(
        'RFC 6962 leaf hash, as 64 lowercase hex digits: SHA-256(0x00 ‖ JWS) — for a node-local kind (signals, API credentials) SHA-256(0x00 ‖ "eusn-withheld/v1|" ‖ kind ‖ SHA-256(JWS)).',
      ),
    treeSize: z.number().int().optional().describe("With ?proof=1: the tree size the proof is for."),
    inclusionProof: z
      .array(z.string())
      .optional()
      .describe("With ?proof=1: the audit path of logIndex in that tree (hex), leaf side first."),
    checkpoint: z
      .string()
      .optional()
      .describe(
        "With ?proof=1: the node-signed checkpoint for treeSize. The receipt then verifies offline with @eusn/client verifyWriteReceipt.",
      ),
  })
  .meta({ id: "WriteReceipt" });
export type WriteReceipt = z.infer<typeof WriteReceipt>;

/** The answer to a bulk record: its receipt and, per item in order, the entry and the id it created. */
export const BulkResult = z
  .object({
    receipt: WriteReceipt,
    items: z.array(
      z.object({
        submissionId: z.string(),
        id: z.string().describe("The assessment or decision the item created."),
      }),
    ),
  })
  .meta({ id: "BulkResult" });
export type BulkResult = z.infer<typeof BulkResult>;

/** What POST /v1/submissions answers: the receipt (if anything was stored) and every item's outcome. */
export const SubmitResult = z
  .object({
    receipt: WriteReceipt.nullable().describe(
      "Null when every item already existed (nothing new was stored).",
    ),
    submissions: z.array(
      z.object({
        id: SubmissionId,
        signalType: z.string(),
        value: z.string(),
        outcome: z.enum(["created", "existing"]),
        lowQuality: z.boolean(),
        linked: z.array(z.string()),
        labelsDiffer: z
          .array(
            z.object({
              field: z.enum(["limbs", "contentType", "nationalProvision", "tlp", "expiresAt", "note"]),
              stored: z.union([z.string(), z.array(z.string())]).nullable(),
              sent: z.union([z.string(), z.array(z.string())]).nullable(),
            }),
          )
          .optional()
          .describe(
            "An `existing` item sent with other labels than the stored submission's: each difference. The stored labels stand; nothing about the entry changed.",
          ),
      }),
    ),
  })
  .meta({ id: "SubmitResult" });
export type SubmitResult = z.infer<typeof SubmitResult>;

/** What POST /v1/signals answers: the write receipt, the signal's id and when it expires. */
export const SignalReceipt = WriteReceipt.extend({
  signalId: z.string(),
  expiresAt: z.string(),
}).meta({ id: "MigrationSignalReceipt" });

export const AuditEntry = z
  .object({
    seq: z.number().int(),
    kind: z.string(),
    recordId: z.string().nullable(),
    subjectId: z.string().nullable(),
    actor: z.string(),
    at: z.string(),
    jwsSha256: z.string().nullable(),
  })
  .meta({ id: "AuditEntry" });
export type AuditEntry = z.infer<typeof AuditEntry>;

export const AuditPage = z
  .object({
    entries: z.array(AuditEntry),
    next: z
      .number()
      .int()
      .nullable()
      .describe(
        "The cursor of the next page: `after` for order asc, `before` for order desc; null at the end.",
      ),
    total: z
      .number()
      .int()
      .optional()
      .describe("Entries matching the filters (when asked for with `count`)."),
  })
  .meta({ id: "AuditPage" });

export const AuditFacets = z
  .object({ kinds: z.array(z.string()), actors: z.array(z.string()) })
  .meta({ id: "AuditFacets" });

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    instance: z.string().optional(),
    code: z.string(),
    requestId: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: "Problem", description: "RFC 9457 problem details." });

// ---- requests and answers of the node's metadata, registry and audit routes --------------------

/** GET /health. */
export const HealthView = z.object({ status: z.literal("ok"), nodeId: z.string() });

/** GET /problems/{code}: what a problem `type` means. */
export const ProblemCodeParam = z.object({ code: z.string().max(64) });
export const ProblemTypeView = z.object({ code: z.string(), status: z.number(), title: z.string() });

/** A participant named in the path. */
export const ParticipantIdParam = z.object({ id: ParticipantId });

/** GET /v1/participants. */
export const ParticipantListQuery = z.object({
  role: Role.optional(),
  status: z.enum(["active", "revoked"]).optional(),
});
export const ParticipantList = z.object({ participants: z.array(ParticipantView) });

/** GET /v1/whoami: the caller as the node knows it, and which of its keys signed the token. */
export const WhoAmIView = z
  .object({
    nodeId: z.string(),
    kid: z.string().describe("The key that signed the bearer token (RFC 7638 thumbprint)."),
    participant: ParticipantView,
  })
  .meta({ id: "WhoAmI" });
export type WhoAmIView = z.infer<typeof WhoAmIView>;

/** GET /v1/audit. */
export const AuditQuery = z.object({
  after: z.coerce.number().int().min(0).default(0).describe("Return entries with seq greater than this."),
  before: z.coerce
    .number()
    .int()
    .min(1)
    .optional()
    .describe("Return entries with seq less than this (paging with order=desc)."),
  order: z
    .enum(["asc", "desc"])
    .default("asc")
    .describe("asc: oldest first (follow with `after`); desc: newest first (page with `before`)."),
  kind: z
    .string()
    .max(64)
    .regex(/^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$/)
    .optional()
    .describe("Only entries of this kind (e.g. baseline.included): dotted lower-case words."),
  actor: z.string().max(64).optional().describe("Only entries by this participant."),
  subject: z
    .string()
    .max(64)
    .optional()
    .describe("Only entries whose subject id starts with this (a whole id, or a start such as `hsh_01j`)."),
  from: z.iso.date().optional().describe("On or after this UTC day (YYYY-MM-DD)."),
  to: z.iso.date().optional().describe("On or before this UTC day (YYYY-MM-DD)."),
  count: z
    .enum(["true", "false"])
    .default("false")
    .describe("Also answer `total`, the number of entries matching the filters."),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
export type AuditQuery = z.infer<typeof AuditQuery>;

/** GET /v1/records/{id}. */
export const RecordIdParam = z.object({ id: z.string().regex(idPattern("record")) });
