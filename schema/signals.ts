// Platform-migration signals (issue 5): signals, their pseudonymised-selector and out-link
// indexes, who fetched what (for reversal propagation), retractions/reversals, the selector-key
// versions (wrapped per platform; the node never holds a key in clear) and the abuse-limit
// counters. Everything tied to a signal is deleted when it expires; see docs/signals.md.
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * One row per signal. `seq` is the pull cursor (never a timestamp). `expires_at` is unix
 * seconds: every read filters on it, so an expired signal is never returned even before the
 * purge deletes it. Status changes (retract/reverse) are updates here plus a row in
 * signal_reversals.
 */
export const signals = sqliteTable(
  "signals",
  {
    seq: integer("seq").primaryKey({ autoIncrement: true }),
    id: text("id").notNull(),
    /** The signed `signal.create` record; deleted from `records` by the purge. */
    recordId: text("record_id").notNull(),
    originId: text("origin_id").notNull(),
    kind: text("kind", { enum: ["account_removed", "migration_announced", "reappearance"] }).notNull(),
    keyVersion: integer("key_version").notNull(),
    targetPlatformId: text("target_platform_id"),
    targetHost: text("target_host"),
    tcoLimb: text("tco_limb").notNull(),
    /** JSON array of hsh_ ids. */
    relatedSubmissions: text("related_submissions").notNull(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    status: text("status", { enum: ["active", "retracted", "reversed"] })
      .notNull()
      .default("active"),
    statusChangedAt: integer("status_changed_at"),
  },
  (t) => [
    uniqueIndex("signals_id").on(t.id),
    index("signals_target").on(t.targetPlatformId, t.seq),
    index("signals_expires").on(t.expiresAt),
    index("signals_origin").on(t.originId),
  ],
);

/** Pseudonym → signal. The only place selector pseudonyms are kept (besides the signed record). */
export const signalSelectors = sqliteTable(
  "signal_selectors",
  {
    pseudonym: text("pseudonym").notNull(),
    signalId: text("signal_id").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.pseudonym, t.signalId] }),
    index("signal_selectors_signal").on(t.signalId),
  ],
);

/** Normalised out-link → signal. */
export const signalOutLinks = sqliteTable(
  "signal_out_links",
  {
    url: text("url").notNull(),
    signalId: text("signal_id").notNull(),
  },
  (t) => [primaryKey({ columns: [t.url, t.signalId] }), index("signal_out_links_signal").on(t.signalId)],
);

/** Which platform was handed which signal (lookup hit or pull): reversals reach exactly these. */
export const signalFetches = sqliteTable(
  "signal_fetches",
  {
    platformId: text("platform_id").notNull(),
    signalId: text("signal_id").notNull(),
    firstFetchedAt: integer("first_fetched_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.platformId, t.signalId] }), index("signal_fetches_signal").on(t.signalId)],
);

/** Retractions (by the originator) and reversals (by a coordinator); `seq` is the listing cursor. */
export const signalReversals = sqliteTable(
  "signal_reversals",
  {
    seq: integer("seq").primaryKey({ autoIncrement: true }),
    id: text("id").notNull(),
    signalId: text("signal_id").notNull(),
    action: text("action", { enum: ["retracted", "reversed"] }).notNull(),
    actorId: text("actor_id").notNull(),
    recordId: text("record_id").notNull(),
    ground: text("ground"),
    reason: text("reason"),
    at: integer("at").notNull(),
  },
  (t) => [uniqueIndex("signal_reversals_id").on(t.id), uniqueIndex("signal_reversals_signal").on(t.signalId)],
);

/** Each platform's current key-wrapping public key (P-256, ECDH-ES+A256KW). */
export const signalEncKeys = sqliteTable("signal_enc_keys", {
  participantId: text("participant_id").primaryKey(),
  kid: text("kid").notNull(),
  jwk: text("jwk").notNull(),
  recordId: text("record_id").notNull(),
  setAt: integer("set_at").notNull(),
});

/** Selector-key versions: metadata only. The key exists on the node only inside the JWEs below. */
export const signalKeyVersions = sqliteTable("signal_key_versions", {
  version: integer("version").primaryKey(),
  validFrom: integer("valid_from").notNull(),
  validUntil: integer("valid_until").notNull(),
  recordId: text("record_id").notNull(),
  publishedAt: integer("published_at").notNull(),
});

/** A key version wrapped (JWE) for one platform's encryption key. */
export const signalKeyWraps = sqliteTable(
  "signal_key_wraps",
  {
    version: integer("version").notNull(),
    participantId: text("participant_id").notNull(),
    encKid: text("enc_kid").notNull(),
    jwe: text("jwe").notNull(),
    recordId: text("record_id").notNull(),
  },
  (t) => [primaryKey({ columns: [t.version, t.participantId] })],
);

/**
 * Enumeration guard: the distinct selectors, and separately the distinct URLs, each platform
 * looked up per UTC day, as truncated SHA-256 digests (not the pseudonyms or URLs). Rows older
 * than yesterday are purged.
 */
export const signalLookupGuard = sqliteTable(
  "signal_lookup_guard",
  {
    platformId: text("platform_id").notNull(),
    day: text("day").notNull(),
    digest: text("digest").notNull(),
    /** Which daily budget the row counts against. */
    kind: text("kind", { enum: ["selector", "url"] })
      .notNull()
      .default("selector"),
  },
  (t) => [primaryKey({ columns: [t.platformId, t.day, t.digest] })],
);

/** Fixed-window lookup counters (one row per platform per minute). */
export const signalRateWindows = sqliteTable(
  "signal_rate_windows",
  {
    platformId: text("platform_id").notNull(),
    windowStart: integer("window_start").notNull(),
    count: integer("count").notNull(),
  },
  (t) => [primaryKey({ columns: [t.platformId, t.windowStart] })],
);
