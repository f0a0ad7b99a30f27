// Webhooks (docs/webhooks.md): the endpoints participants registered, the deliveries the node owes
// them, and how far the dispatcher has read the node's event sources.
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * A webhook a participant registered with a signed `webhook.register` record (node-local). Rows
 * are never deleted: removal sets `removed_at`, so the audit trail and the console's delivery
 * history keep naming it.
 */
export const webhooks = sqliteTable(
  "webhooks",
  {
    id: text("id").primaryKey(),
    participantId: text("participant_id").notNull(),
    url: text("url").notNull(),
    /** JSON array of event names (protocol WEBHOOK_EVENTS). */
    events: text("events").notNull(),
    label: text("label"),
    recordId: text("record_id").notNull(),
    createdAt: text("created_at").notNull(),
    removedAt: text("removed_at"),
    removedRecordId: text("removed_record_id"),
  },
  (t) => [index("webhooks_participant").on(t.participantId, t.removedAt)],
);

/**
 * One event owed to one webhook. `jws` is signed once, when the delivery is made, so every retry
 * sends the same bytes (receivers drop a `jti` they have seen). `next_attempt_at` is unix ms: the
 * dispatcher's alarm is set to the earliest pending one.
 */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: text("id").primaryKey(),
    webhookId: text("webhook_id").notNull(),
    participantId: text("participant_id").notNull(),
    event: text("event").notNull(),
    subject: text("subject").notNull(),
    jws: text("jws").notNull(),
    state: text("state", { enum: ["pending", "delivered", "failed"] })
      .notNull()
      .default("pending"),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: integer("next_attempt_at"),
    lastAttemptAt: text("last_attempt_at"),
    lastStatus: integer("last_status"),
    lastError: text("last_error"),
    deliveredAt: text("delivered_at"),
    createdAt: text("created_at").notNull(),
  },
  (t) => [
    index("webhook_deliveries_due").on(t.state, t.nextAttemptAt),
    index("webhook_deliveries_webhook").on(t.webhookId, t.createdAt),
  ],
);

/**
 * How far the dispatcher has turned each event source into deliveries: `changes` (the
 * submission_changes seq), `signals` (the signals seq) and `baseline` (the last baseline version
 * announced). Set to the sources' ends when the first webhook is registered, so history is never
 * pushed; advanced in the same batch as the deliveries it makes.
 */
export const webhookCursors = sqliteTable("webhook_cursors", {
  source: text("source").primaryKey(),
  seq: integer("seq").notNull(),
});
