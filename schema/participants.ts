// Participants (coordinators, authorities, platforms) and their signing-key history.
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const participants = sqliteTable(
  "participants",
  {
    id: text("id").primaryKey(),
    role: text("role", { enum: ["coordinator", "authority", "platform"] }).notNull(),
    /** ISO 3166-1 alpha-2; authorities only. */
    memberState: text("member_state"),
    displayName: text("display_name").notNull(),
    status: text("status", { enum: ["active", "revoked"] })
      .notNull()
      .default("active"),
    admittedAt: text("admitted_at").notNull(),
    /** The coordinator-signed admission record; null for the bootstrap coordinator (configuration). */
    admissionRecordId: text("admission_record_id"),
    /**
     * The countersignature that completed the admission (REGISTRY_SECOND_SIGNATURE): the
     * authority counts from its signed place on. Null when the admission took one signature.
     */
    admissionCountersignRecordId: text("admission_countersign_record_id"),
    revokedAt: text("revoked_at"),
    /** The record whose signed place the revocation takes effect at: the revocation, or its countersignature. */
    revocationRecordId: text("revocation_record_id"),
  },
  (t) => [index("participants_role_state").on(t.role, t.memberState)],
);

/**
 * Every key a participant has ever had. Keys are never deleted: retiring sets `retired_at`, so
 * records signed before the retirement (or before a revocation) can still be verified.
 */
export const participantKeys = sqliteTable(
  "participant_keys",
  {
    participantId: text("participant_id")
      .notNull()
      .references(() => participants.id),
    /** RFC 7638 JWK thumbprint (SHA-256, base64url). Globally unique: a key belongs to one participant. */
    kid: text("kid").notNull(),
    /** The public JWK as JSON, `kid` and `alg` included. */
    jwk: text("jwk").notNull(),
    alg: text("alg", { enum: ["EdDSA", "ES256"] }).notNull(),
    status: text("status", { enum: ["active", "retired"] })
      .notNull()
      .default("active"),
    addedAt: text("added_at").notNull(),
    addedRecordId: text("added_record_id"),
    retiredAt: text("retired_at"),
    retiredRecordId: text("retired_record_id"),
    /** Unix seconds from which the key is valid / after which it is not (for verifying history). */
    validFrom: integer("valid_from").notNull(),
    validUntil: integer("valid_until"),
    /**
     * Unix seconds from which the key is declared compromised (by the retirement that says so,
     * the earliest such declaration): every record it signed at or after this time is void.
     */
    compromisedSince: integer("compromised_since"),
  },
  (t) => [primaryKey({ columns: [t.participantId, t.kid] }), uniqueIndex("participant_keys_kid").on(t.kid)],
);

/**
 * Admissions and revocations of authorities that need a second signature (REGISTRY_SECOND_SIGNATURE):
 * the first signature's record makes a request here, with no effect; a countersignature by another
 * coordinator or an active authority of the same member state completes it, and the registry
 * change takes effect at the countersignature's signed time. Every field derives from signed
 * records, so the table is the same on every node that holds them.
 */
export const registryRequests = sqliteTable(
  "registry_requests",
  {
    /** The first signature: the participant.admit or participant.revoke record. */
    requestRecordId: text("request_record_id").primaryKey(),
    action: text("action", { enum: ["admit", "revoke"] }).notNull(),
    participantId: text("participant_id").notNull(),
    role: text("role", { enum: ["coordinator", "authority", "platform"] }).notNull(),
    memberState: text("member_state"),
    displayName: text("display_name").notNull(),
    requestedBy: text("requested_by").notNull(),
    /** The first signature's signed time (ISO 8601). */
    requestedAt: text("requested_at").notNull(),
    /** An admission's public JWKS (JSON), as signed; null for a revocation. */
    jwks: text("jwks"),
    /** A revocation's reason; null for an admission. */
    reason: text("reason"),
    /**
     * The earliest valid countersignature in signed order, by an eligible signer and before any
     * withdrawal, that completes the request (apply/registry.ts `settleRequest`).
     */
    completedRecordId: text("completed_record_id"),
    completedBy: text("completed_by"),
    completedAt: text("completed_at"),
    /** The requester's withdrawal (`participant.request.withdraw`, the earliest in signed order). */
    withdrawnRecordId: text("withdrawn_record_id"),
    withdrawnAt: text("withdrawn_at"),
    /**
     * Why the request itself is void: signed after its signer's revocation or its key's
     * retirement or declared compromise, in signed order. A void request is never completed.
     */
    voidReason: text("void_reason"),
  },
  (t) => [index("registry_requests_participant").on(t.participantId)],
);

/**
 * Every countersignature a request received, valid or not, so that which one completes it can be
 * settled again from the records alone when a revocation, a key compromise or a withdrawal
 * changes which of them count (apply/registry.ts).
 */
export const registryCountersignatures = sqliteTable(
  "registry_countersignatures",
  {
    /** The participant.countersign record. */
    recordId: text("record_id").primaryKey(),
    requestRecordId: text("request_record_id").notNull(),
    signerId: text("signer_id").notNull(),
  },
  (t) => [index("registry_countersignatures_request").on(t.requestRecordId)],
);
