// Per-participant API credentials (HTTP Basic for TAXII clients) and the STIX-id index of the
// TAXII facade (issue 7). Rules and rationale: docs/taxii.md.
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * An API credential a participant registered with a signed `participant.apicred.set` record.
 * Only the SHA-256 of the client-generated 256-bit secret is stored; it is compared in constant
 * time. Rows are never deleted: revocation sets `revoked_at`, so the audit trail stays whole.
 */
export const apiCredentials = sqliteTable(
  "api_credentials",
  {
    id: text("id").primaryKey(),
    participantId: text("participant_id").notNull(),
    label: text("label").notNull(),
    /** Lower-case hex SHA-256 of the secret. Unique: one secret cannot serve two credentials. */
    secretSha256: text("secret_sha256").notNull(),
    recordId: text("record_id").notNull(),
    createdAt: text("created_at").notNull(),
    expiresAt: text("expires_at").notNull(),
    revokedAt: text("revoked_at"),
    revokedRecordId: text("revoked_record_id"),
  },
  (t) => [
    uniqueIndex("api_credentials_secret").on(t.secretSha256),
    index("api_credentials_participant").on(t.participantId, t.revokedAt),
  ],
);

/**
 * STIX id → the submission and inclusion period ("epoch") it names, per TAXII collection. STIX ids
 * are UUIDv5 hashes (one-way), so single-object and `match[id]` look-ups need this index. It is
 * derived data: rebuilt from `submission_changes` by a catch-up that any TAXII request runs first,
 * with idempotent inserts, so losing it loses nothing.
 */
export const taxiiObjects = sqliteTable(
  "taxii_objects",
  {
    stixId: text("stix_id").primaryKey(),
    collection: text("collection", { enum: ["baseline", "submissions"] }).notNull(),
    submissionId: text("submission_id").notNull(),
    epoch: integer("epoch").notNull(),
    /** Feed position (`submission_changes.seq`) of the change that began this epoch. */
    firstSeq: integer("first_seq").notNull(),
  },
  (t) => [index("taxii_objects_submission").on(t.submissionId)],
);

/** How far the `taxii_objects` catch-up has read the change feed (one row, name = 'objects'). */
export const taxiiIndexState = sqliteTable("taxii_index_state", {
  name: text("name").primaryKey(),
  seq: integer("seq").notNull(),
});
