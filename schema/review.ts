// The platforms' review queue: match results a platform chose to keep on the node so it can work
// through them later (docs/console.md "Review queue"). Only what the platform needs to find its
// own content again and the entry it matched — never the hashes it queried.
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const reviewItems = sqliteTable(
  "review_items",
  {
    id: text("id").primaryKey(),
    platformId: text("platform_id").notNull(),
    submissionId: text("submission_id").notNull(),
    /** The platform's own content reference for the matched item ('' when it gave none). */
    ref: text("ref").notNull().default(""),
    /** The match request (match_requests.id) that last matched it. */
    requestId: text("request_id").notNull(),
    firstMatchedAt: text("first_matched_at").notNull(),
    lastMatchedAt: text("last_matched_at").notNull(),
    count: integer("count").notNull().default(1),
  },
  (t) => [
    // The same content matching the same entry again is one item, matched more often.
    uniqueIndex("review_items_key").on(t.platformId, t.submissionId, t.ref),
    index("review_items_platform").on(t.platformId, t.lastMatchedAt),
  ],
);
