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
    revokedAt: text("revoked_at"),
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
  },
  (t) => [primaryKey({ columns: [t.participantId, t.kid] }), uniqueIndex("participant_keys_kid").on(t.kid)],
);
