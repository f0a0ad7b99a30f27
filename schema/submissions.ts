// Hash submissions, cross-border assessments, baseline decisions, match feedback, and the
// submission change feed (the cursor the match index and platforms follow).
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * One fingerprint submitted by one authority. The same value by the same authority is the same
 * submission (idempotent); by another authority it is a second submission sharing `fingerprint`.
 */
export const submissions = sqliteTable(
  "submissions",
  {
    id: text("id").primaryKey(),
    recordId: text("record_id").notNull(),
    submitterId: text("submitter_id").notNull(),
    memberState: text("member_state").notNull(),
    signalType: text("signal_type", { enum: ["pdq", "md5", "sha256", "vpdq"] }).notNull(),
    value: text("value").notNull(),
    /** `${signalType}:${value}`: links submissions of the same fingerprint by different authorities. */
    fingerprint: text("fingerprint").notNull(),
    quality: integer("quality"),
    lowQuality: integer("low_quality", { mode: "boolean" }).notNull().default(false),
    /** JSON array of TCO limbs, e.g. ["a","c"]. */
    limbs: text("limbs").notNull(),
    contentType: text("content_type").notNull(),
    nationalProvision: text("national_provision").notNull(),
    tlp: text("tlp"),
    expiresAt: text("expires_at"),
    note: text("note"),
    /**
     * `voided`: the record that created it was signed after its key stopped being valid (a
     * revocation or key retirement with an earlier signed time reached this node later).
     */
    status: text("status", { enum: ["live", "withdrawn", "reversed", "voided"] })
      .notNull()
      .default("live"),
    baselineState: text("baseline_state", { enum: ["none", "included", "disputed", "excluded", "retired"] })
      .notNull()
      .default("none"),
    createdAt: text("created_at").notNull(),
    /** Denormalised tallies, recomputed in the same batch as every assessment / feedback. */
    concurStates: text("concur_states").notNull().default("[]"),
    liveDissents: integer("live_dissents").notNull().default(0),
    fbTrue: integer("fb_true").notNull().default(0),
    fbFalse: integer("fb_false").notNull().default(0),
    fbNotActioned: integer("fb_not_actioned").notNull().default(0),
    /**
     * Node-local integer key of the entry in the in-memory match index: the `seq` of its `created`
     * change, set by a trigger when that change is inserted (migration 0009). Stable (the feed's
     * sequence is AUTOINCREMENT, never reused), never leaves the node, and far smaller in memory
     * than the 30-character id.
     */
    matchKey: integer("match_key"),
    /**
     * Bumped by every write that re-derives this entry's state from its records
     * (rules/entry-history.ts); a write's batch is guarded on the version it derived from, so two
     * writes racing on one entry cannot both land on a stale derivation.
     */
    stateVersion: integer("state_version").notNull().default(0),
    /**
     * A provisional entry (docs/incidents.md): the active incident it was submitted under, and
     * when it lapses at the latest (72 h after submission, ISO-8601 UTC); its incident's end may
     * come first. `provisional_lapsed_at`: when its lapse was recorded in the change feed (by the
     * incident's close, or the scheduled job).
     */
    incidentId: text("incident_id"),
    provisionalUntil: text("provisional_until"),
    provisionalLapsedAt: text("provisional_lapsed_at"),
  },
  (t) => [
    uniqueIndex("submissions_match_key").on(t.matchKey),
    // No index of `submissions` is keyed by the hash: lookups by fingerprint go through
    // `fingerprint_keys` (below), whose recent keys sit in a small level of their own. Hash values
    // arrive in random order, and an index of this table keyed by one took a page write per row a
    // batch added, wherever it landed in the tree (at a million entries, ~1,000 pages for a batch
    // of 1,000): most of an ingest batch's database time.
    // Whether a live TLP:RED submission holds a value (rules/baseline.ts, linkedRedSqlText): asked
    // for every entry a match answers and every entry the baseline lists. Only the few RED rows
    // are in it, so it stays in SQLite's page cache, where the lookup through the fingerprint
    // index above read a page of a large index per entry (~3 ms per 1,000 entries answered).
    index("submissions_live_red").on(t.fingerprint).where(sql`tlp = 'red' AND status = 'live'`),
    index("submissions_baseline").on(t.baselineState, t.status),
    // The console's queues: newest first.
    index("submissions_created").on(t.createdAt),
    index("submissions_incident").on(t.incidentId),
    // The registry's reach (apply/registry.ts): an authority's entries (every status, so the
    // partial index above does not serve), and the entries a record made, when a revocation,
    // a key's compromise or a settled request folds them again. Without these a registry write
    // scanned every submission: 9.7 s for one countersignature at 10M entries, and a revocation
    // joined every row to its record. Both keys arrive in order (one record per batch of up to
    // 1,000, one submitter), so ingest appends to them.
    index("submissions_submitter").on(t.submitterId),
    index("submissions_record").on(t.recordId),
  ],
);

/**
 * The entries by fingerprint, as a two-level index an ingest batch can add to cheaply: one row per
 * submission (its match key) under the first 16 characters of its fingerprint. A new submission's
 * key goes into level 1 when its match key is given (the trigger of migration 0009, amended in
 * 0027), a small part of the tree a batch of 1,000 dirties a few dozen pages of; level 1 is merged
 * into level 0 in large sorted batches (workers/api/store/fingerprint-keys.ts), each of which
 * writes each page of level 0 it touches once. A lookup asks both levels for the key and then
 * compares the whole fingerprint on the submission (keys of 16 characters can be shared). Kept
 * `WITHOUT ROWID` (migration 0027), so the key is the table's only tree.
 */
export const fingerprintKeys = sqliteTable(
  "fingerprint_keys",
  {
    /** 1: added since the last merge; 0: merged. */
    level: integer("level").notNull(),
    /** `substr(fingerprint, 1, 16)`: the signal type and the leading characters of the value. */
    key: text("key").notNull(),
    matchKey: integer("match_key").notNull(),
  },
  (t) => [primaryKey({ columns: [t.level, t.key, t.matchKey] })],
);

/** Every assessment ever made; `live` marks the current one per (authority, submission). */
export const assessments = sqliteTable(
  "assessments",
  {
    id: text("id").primaryKey(),
    recordId: text("record_id").notNull(),
    submissionId: text("submission_id").notNull(),
    authorityId: text("authority_id").notNull(),
    memberState: text("member_state").notNull(),
    verdict: text("verdict", { enum: ["concur", "dissent"] }).notNull(),
    limb: text("limb").notNull(),
    reason: text("reason"),
    live: integer("live", { mode: "boolean" }).notNull().default(true),
    supersededBy: text("superseded_by"),
    createdAt: text("created_at").notNull(),
  },
  (t) => [
    index("assessments_submission").on(t.submissionId, t.live),
    uniqueIndex("assessments_live_one").on(t.submissionId, t.authorityId).where(sql`live = 1`),
    // An authority's assessments, and a record's, for the registry's reach (see submissions).
    index("assessments_authority").on(t.authorityId),
    index("assessments_record").on(t.recordId),
  ],
);

/** Coordinator decisions and originator/coordinator withdrawals and reversals. */
export const decisions = sqliteTable(
  "decisions",
  {
    id: text("id").primaryKey(),
    recordId: text("record_id").notNull(),
    submissionId: text("submission_id").notNull(),
    actorId: text("actor_id").notNull(),
    action: text("action", { enum: ["include", "exclude", "retire", "withdraw", "reverse"] }).notNull(),
    reason: text("reason").notNull(),
    /** JSON array of assessment ids the decision relies on. */
    assessmentIds: text("assessment_ids").notNull().default("[]"),
    ground: text("ground"),
    reference: text("reference"),
    createdAt: text("created_at").notNull(),
    /**
     * Whether the decision took effect when the entry's records are folded in signed order
     * (rules/entry-history.ts): a decision overtaken by an earlier-signed record that arrived
     * later (a dissent, a withdrawal) stays on record but changes nothing.
     */
    effective: integer("effective", { mode: "boolean" }).notNull().default(true),
  },
  (t) => [index("decisions_submission").on(t.submissionId), index("decisions_record").on(t.recordId)],
);

/** Platform feedback about matched entries; one live per (platform, submission). */
export const feedback = sqliteTable(
  "feedback",
  {
    id: text("id").primaryKey(),
    recordId: text("record_id").notNull(),
    submissionId: text("submission_id").notNull(),
    platformId: text("platform_id").notNull(),
    outcome: text("outcome", { enum: ["true_positive", "false_positive", "not_actioned"] }).notNull(),
    note: text("note"),
    live: integer("live", { mode: "boolean" }).notNull().default(true),
    createdAt: text("created_at").notNull(),
  },
  (t) => [
    index("feedback_submission").on(t.submissionId, t.live),
    uniqueIndex("feedback_live_one").on(t.submissionId, t.platformId).where(sql`live = 1`),
    index("feedback_record").on(t.recordId),
  ],
);

/** Which platforms matched which submissions (for reversal propagation and feedback rights). */
export const submissionMatches = sqliteTable(
  "submission_matches",
  {
    submissionId: text("submission_id").notNull(),
    platformId: text("platform_id").notNull(),
    firstMatchedAt: text("first_matched_at").notNull(),
    lastMatchedAt: text("last_matched_at").notNull(),
    count: integer("count").notNull().default(1),
  },
  (t) => [
    uniqueIndex("submission_matches_pk").on(t.submissionId, t.platformId),
    index("submission_matches_platform").on(t.platformId),
  ],
);

/**
 * The change feed of submissions, in order: created, included, disputed, excluded, retired,
 * withdrawn, reversed, reinstated. `seq` is the cursor the in-memory match index catches up from
 * and the one platforms page reversals with; the baseline version is the latest `seq` that
 * changed baseline membership or state.
 */
export const submissionChanges = sqliteTable(
  "submission_changes",
  {
    seq: integer("seq").primaryKey({ autoIncrement: true }),
    submissionId: text("submission_id").notNull(),
    change: text("change").notNull(),
    affectsBaseline: integer("affects_baseline", { mode: "boolean" }).notNull().default(false),
    recordId: text("record_id"),
    at: text("at").notNull(),
  },
  (t) => [
    index("submission_changes_submission").on(t.submissionId),
    index("submission_changes_baseline").on(t.affectsBaseline, t.seq),
  ],
);

/** One row per match request: the platform's own accounting. Counts only, never the queried hashes. */
export const matchRequests = sqliteTable(
  "match_requests",
  {
    id: text("id").primaryKey(),
    platformId: text("platform_id").notNull(),
    at: text("at").notNull(),
    scope: text("scope").notNull(),
    threshold: integer("threshold").notNull(),
    queried: integer("queried").notNull(),
    matchedItems: integer("matched_items").notNull(),
    matchedEntries: integer("matched_entries").notNull(),
    /**
     * The ids of the entries the request was answered (a JSON array) until they are folded into
     * `submission_matches`, then NULL: a request writes this one row on its critical path, and
     * every reader of `submission_matches` folds what is pending first (store/match.ts).
     */
    unfoldedIds: text("unfolded_ids"),
  },
  (t) => [
    index("match_requests_platform").on(t.platformId, t.at),
    index("match_requests_unfolded").on(t.at).where(sql`unfolded_ids IS NOT NULL`),
  ],
);
