// Crisis incidents (docs/incidents.md): declared, extended and closed by coordinators' signed
// records; submissions tagged with one are provisional entries (columns on `submissions`).
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const incidents = sqliteTable(
  "incidents",
  {
    id: text("id").primaryKey(),
    /** The `incident.declare` record. */
    recordId: text("record_id").notNull(),
    declaredBy: text("declared_by").notNull(),
    title: text("title").notNull(),
    description: text("description").notNull(),
    /** JSON array of the member states that asked for it. */
    requestedBy: text("requested_by").notNull(),
    startsAt: text("starts_at").notNull(),
    /** The scheduled end (ISO-8601 UTC), moved by each extension. */
    endsAt: text("ends_at").notNull(),
    /** The signed time of the `incident.close` record; the incident ends at the earlier of the two. */
    closedAt: text("closed_at"),
    closeRecordId: text("close_record_id"),
    public: integer("public", { mode: "boolean" }).notNull().default(false),
    extensions: integer("extensions").notNull().default(0),
    createdAt: text("created_at").notNull(),
    /** Bumped by every extension and the close; writes that relied on it are guarded on it. */
    version: integer("version").notNull().default(0),
  },
  (t) => [index("incidents_ends").on(t.endsAt)],
);

/**
 * Matches of provisional entries, per entry and platform: only the answers that returned the entry
 * labelled `provisional` (while it matched as a provisional entry of its incident), so the
 * incident's report and public summary count what the crisis mode did, not the entry's later
 * matches as a baseline entry or in scope `all` after its lapse (those stay in
 * `submission_matches`, which routes reversals and feedback).
 */
export const provisionalMatches = sqliteTable(
  "provisional_matches",
  {
    submissionId: text("submission_id").notNull(),
    platformId: text("platform_id").notNull(),
    incidentId: text("incident_id").notNull(),
    firstMatchedAt: text("first_matched_at").notNull(),
    lastMatchedAt: text("last_matched_at").notNull(),
    count: integer("count").notNull().default(1),
  },
  (t) => [
    uniqueIndex("provisional_matches_pk").on(t.submissionId, t.platformId),
    index("provisional_matches_incident").on(t.incidentId),
  ],
);
