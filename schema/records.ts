// Signed records (the exact JWS bytes of every accepted write) and the append-only audit trail.
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * One row per accepted signed write. `jws` holds the compact JWS exactly as received, so anyone
 * can re-verify it against the issuer's key history. (issuer, jti) is unique: a replayed write is
 * refused by the database itself, even when two copies race.
 */
export const records = sqliteTable(
  "records",
  {
    id: text("id").primaryKey(),
    kind: text("kind").notNull(),
    issuer: text("issuer").notNull(),
    kid: text("kid").notNull(),
    jti: text("jti").notNull(),
    iat: integer("iat").notNull(),
    jws: text("jws").notNull(),
    jwsSha256: text("jws_sha256").notNull(),
    /** What the record created or changed (participant id, submission id, …). */
    subjectId: text("subject_id"),
    /** The node the record was first accepted on (this node's NODE_ID unless replicated). */
    originNode: text("origin_node").notNull(),
    receivedAt: text("received_at").notNull(),
  },
  (t) => [uniqueIndex("records_issuer_jti").on(t.issuer, t.jti), index("records_subject").on(t.subjectId)],
);

/**
 * The audit trail: one entry per accepted write (and per system action such as a purge), in
 * order. Triggers in the migration refuse UPDATE and DELETE, so it is append-only in the
 * database itself, not only by convention.
 */
export const auditLog = sqliteTable(
  "audit_log",
  {
    seq: integer("seq").primaryKey({ autoIncrement: true }),
    kind: text("kind").notNull(),
    recordId: text("record_id"),
    subjectId: text("subject_id"),
    /** Participant id, or `system` / `config` for actions of the node itself. */
    actor: text("actor").notNull(),
    at: text("at").notNull(),
    jwsSha256: text("jws_sha256"),
    /** Counts and other non-personal details of system actions, as JSON. */
    detail: text("detail"),
  },
  (t) => [index("audit_log_record").on(t.recordId)],
);
