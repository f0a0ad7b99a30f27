// Statements of reasons that platforms made on this node (node-local: each names the platform's
// own content reference, so it never leaves the node and only its platform reads it).
import { index, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * One statement of reasons: a platform documents an action it took on content that matched an
 * entry. `details` holds the signed record's fields and the legal ground copied from the entry as
 * it stood (limbs, national provision, authority), as JSON, so the statement reads the same later.
 * Whether the entry was reversed since is not stored here: it is read from the change feed.
 */
export const statements = sqliteTable(
  "statements",
  {
    id: text("id").primaryKey(),
    recordId: text("record_id").notNull(),
    platformId: text("platform_id").notNull(),
    submissionId: text("submission_id").notNull(),
    contentRef: text("content_ref").notNull(),
    details: text("details").notNull(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [
    index("statements_platform").on(t.platformId, t.id),
    index("statements_submission").on(t.submissionId),
  ],
);
