// Signed records (the exact JWS bytes of every accepted write) and the append-only audit trail.
import { sql } from "drizzle-orm";
import { check, index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

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
    /**
     * The record's index in its origin node's transparency log: with `iat` and `origin_node`, the
     * total order in which an entry's records are folded (rules/entry-history.ts). Two records
     * signed in the same second keep the order their origin accepted them in, on every node.
     */
    originIndex: integer("origin_index"),
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
  (t) => [
    index("audit_log_record").on(t.recordId),
    // The audit trail's server-side filters (subject by its start: a range on the index).
    index("audit_log_subject").on(t.subjectId),
    index("audit_log_kind").on(t.kind, t.seq),
    index("audit_log_actor").on(t.actor, t.seq),
  ],
);

/**
 * Node-wide version numbers that in-batch guards compare: `registry` is bumped by every record
 * that changes the participant registry (admission, keys, revocation), since who is active decides
 * quorums and which assessments count for every entry.
 */
export const stateVersions = sqliteTable("state_versions", {
  name: text("name").primaryKey(),
  version: integer("version").notNull().default(0),
});

/**
 * Scratch table for in-batch guards: a batch inserts `ok` = 1 when its precondition still holds
 * and 0 otherwise; the CHECK makes a 0 fail the whole batch (D1 batches are atomic). The row is
 * deleted in the same batch.
 */
export const batchGuard = sqliteTable("batch_guard", { ok: integer("ok").notNull() }, (t) => [
  check("batch_guard_ok", sql`${t.ok} = 1`),
]);
