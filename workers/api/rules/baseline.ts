// The baseline rule over an entry's stored state, in one place: the quorum, when an entry is
// eligible, what is in the baseline, what a platform may match in each scope, when an entry is
// flagged for false positives, and the one state an entry is in now (the last section: every view,
// statistic and console page takes an entry's state from it). How an entry reaches that state from its records — which
// assessments count, which decisions take effect, in what order — is the fold in
// rules/entry-history.ts. Each rule here is written once as a predicate over a submission row
// (for code that holds the row) and once as an SQL condition (for statements that judge it inside
// D1: lists, curation queues, exports, statistics, the match shard).
// The two forms sit side by side so they cannot drift apart, and test/api/rules-baseline.test.ts
// runs every case of the rule through both (ARCHITECTURE.md "The baseline").
//
// SQL forms take the table alias they apply to (e.g. "s", or "submissions" for drizzle queries
// that do not alias) and, where time matters, the current time as an ISO string bound as a
// parameter (ISO-8601 UTC strings sort as they compare, which is how expiry is stored).
import { type EntryFlag, type EntryStateName, type EntryStateView, entryStateLabel } from "@eusn/protocol";
import { type SQL, sql } from "drizzle-orm";
import type { submissions } from "../../../schema/index.ts";
import { config } from "../config.ts";
import type { Env } from "../env.ts";
import type { Db } from "../lib/db.ts";
import { ofFingerprintSql } from "../store/fingerprint-keys.ts";

export type SubmissionRow = typeof submissions.$inferSelect;

/** The network policy that the rules below are judged under. */
export type Policy = {
  /** Distinct member states whose counting concurrences an entry needs to be eligible. */
  quorum: number;
  /** A false-positive rate at or above which an entry is flagged for coordinator review… */
  fpRate: number;
  /** …once it has at least this many true/false-positive reports. */
  fpMinReports: number;
};

/** Baseline states in which an entry is part of the baseline (a dispute keeps it, labelled). */
export const IN_BASELINE_STATES = ["included", "disputed"] as const;

/** Match scopes (ARCHITECTURE.md "The baseline": platforms choose `baseline` or `all`). */
export type MatchScope = "baseline" | "all";

// ---- SQL plumbing -------------------------------------------------------------------------------

/** `alias.column` as raw SQL text (aliases are code constants, never user input). */
const col = (alias: string, column: string) => sql.raw(`"${alias}"."${column}"`);

// ---- quorum -------------------------------------------------------------------------------------

/**
 * Distinct member states that have an active authority (at least 1): the default quorum,
 * "material that every member state assesses as terrorist" (ARCHITECTURE.md "The baseline").
 */
const ACTIVE_STATES_SQL = sql`max(1, (SELECT count(DISTINCT member_state) FROM participants WHERE role = 'authority' AND status = 'active'))`;

/** The network policy now: BASELINE_MIN_STATES when set (> 0), otherwise every active member state. */
export async function policy(db: Db, env: Env): Promise<Policy> {
  const c = config(env).baseline;
  let quorum = c.minStates;
  if (quorum === 0) {
    const row = await db.get<{ n: number }>(sql`SELECT ${ACTIVE_STATES_SQL} AS n`);
    quorum = Math.max(1, row?.n ?? 1);
  }
  return { quorum, fpRate: c.fpRate, fpMinReports: c.fpMinReports };
}

// ---- live and unexpired -------------------------------------------------------------------------

export function isExpired(row: Pick<SubmissionRow, "expiresAt">, now = Date.now()): boolean {
  return row.expiresAt !== null && Date.parse(row.expiresAt) <= now;
}

/** Live (not withdrawn or reversed) and not expired at `now`. */
export function isCurrent(row: Pick<SubmissionRow, "status" | "expiresAt">, now = Date.now()): boolean {
  return row.status === "live" && !isExpired(row, now);
}
export function currentSql(alias: string, nowIso: string): SQL {
  return sql`(${col(alias, "status")} = 'live' AND (${col(alias, "expires_at")} IS NULL OR ${col(alias, "expires_at")} > ${nowIso}))`;
}

// ---- TLP ----------------------------------------------------------------------------------------

/**
 * TLP:RED (FIRST TLP 2.0: "for the eyes and ears of individual recipients only") is never shared
 * beyond the submitter's own reading. This is the entry's own marking; it never changes on an
 * entry, so the entry's own records (rules/entry-history.ts) and the match index judge by it.
 */
export function tlpAllowsSharing(row: Pick<SubmissionRow, "tlp">): boolean {
  return row.tlp !== "red";
}
export function tlpAllowsSharingSql(alias: string): SQL {
  return sql`(${col(alias, "tlp")} IS NULL OR ${col(alias, "tlp")} <> 'red')`;
}

/**
 * Does this submission hold its value back from every other submission of it? A live one marked
 * TLP:RED does. The node links submissions of the same value by their fingerprint (type and
 * value); without this, a second authority resubmitting a TLP:RED value as `clear` would share
 * what the first restricted. The strictest TLP among linked live submissions governs.
 *
 * Judged by status alone, not expiry: status changes only by a record (withdrawal, reversal,
 * voiding), which the change feed announces, so consumers of the baseline learn when the value
 * comes back (store/changes.ts); an expired TLP:RED submission keeps restricting until withdrawn.
 */
export function restrictsLinked(row: Pick<SubmissionRow, "status" | "tlp">): boolean {
  return row.status === "live" && row.tlp === "red";
}
/** SQL form of "some linked submission `restrictsLinked`" for the row under `alias`. */
export function linkedRedSql(alias: string): SQL {
  return sql.raw(linkedRedSqlText(alias));
}
/** Raw text of `linkedRedSql` (for statements bound by hand, e.g. the match rows). */
export function linkedRedSqlText(alias = ""): string {
  const fp = alias ? `"${alias}"."fingerprint"` : `"submissions"."fingerprint"`;
  return `EXISTS (SELECT 1 FROM submissions lr WHERE lr.fingerprint = ${fp} AND lr.status = 'live' AND lr.tlp = 'red')`;
}

/**
 * For the change feed: would a TLP:RED submission of `fingerprint` (id `selfId`) arriving or
 * leaving change what the baseline shares? It does when another live, own-TLP-shareable
 * submission of the value is in the baseline: that entry is withheld, or shared again. The change
 * is then marked as affecting the baseline, so its version moves and consumers reload. Asked
 * through the key table of fingerprints: the unary `+` keeps SQLite from walking every entry of
 * the baseline by its state's index instead.
 */
export function linkedInBaselineSql(fingerprint: string | SQL, selfId: string | SQL): SQL {
  return sql`EXISTS (SELECT 1 FROM submissions lb WHERE ${ofFingerprintSql("lb", fingerprint)} AND lb.id <> ${selfId}
    AND lb.status = 'live' AND (lb.tlp IS NULL OR lb.tlp <> 'red') AND +lb.baseline_state IN ('included', 'disputed'))`;
}

/** What sharing an entry depends on beyond its own row: its linked submissions. */
export type Links = {
  /** Some submission of the same value `restrictsLinked` (the entry's own, if it is RED, counts). */
  linkedRed: boolean;
};

/**
 * Shareable with platforms (baseline, matching, exports, TAXII, statistics): its own TLP allows
 * it and no linked live submission holds the value at TLP:RED.
 */
export function isShareable(row: Pick<SubmissionRow, "tlp"> & Links): boolean {
  return tlpAllowsSharing(row) && !row.linkedRed;
}
export function shareableSql(alias: string): SQL {
  return sql`(${tlpAllowsSharingSql(alias)} AND NOT ${linkedRedSql(alias)})`;
}

// ---- eligibility --------------------------------------------------------------------------------

/**
 * Eligible for inclusion: current, its own TLP not RED, no counting dissent, and counting
 * concurrences from at least `quorum` distinct member states (the submitter's own state included
 * while it is active). Judged on the entry's own state, as its fold judges an inclusion; a linked
 * TLP:RED submission withholds an included entry from sharing (`isInBaseline`) instead.
 */
export function isEligible(row: SubmissionRow, p: Policy, now = Date.now()): boolean {
  const states = JSON.parse(row.concurStates) as string[];
  return isCurrent(row, now) && tlpAllowsSharing(row) && row.liveDissents === 0 && states.length >= p.quorum;
}
/** SQL form of `isEligible`, with the quorum as a number or an SQL expression. */
export function eligibleSql(alias: string, quorum: number | SQL, nowIso: string): SQL {
  return sql`(${currentSql(alias, nowIso)} AND ${tlpAllowsSharingSql(alias)} AND ${col(alias, "live_dissents")} = 0
    AND json_array_length(${col(alias, "concur_states")}) >= ${quorum})`;
}

// ---- the baseline -------------------------------------------------------------------------------

/**
 * In the baseline: included or disputed, current, and shareable (so an included entry whose value
 * a linked live submission holds at TLP:RED is withheld until that submission leaves).
 */
export function isInBaseline(row: SubmissionRow & Links, now = Date.now()): boolean {
  return (
    (IN_BASELINE_STATES as readonly string[]).includes(row.baselineState) &&
    isCurrent(row, now) &&
    isShareable(row)
  );
}
export function inBaselineSql(alias: string, nowIso: string): SQL {
  return sql`(${col(alias, "baseline_state")} IN ('included', 'disputed') AND ${currentSql(alias, nowIso)} AND ${shareableSql(alias)})`;
}

// ---- provisional entries (crisis incidents) -----------------------------------------------------
//
// During an active incident an authority's submission tagged with it is provisional: it matches
// at once, in scope `baseline` too, labelled with the incident, before any quorum. It stops by
// itself at the earlier of its incident's end (scheduled, or its close) and 72 h after it was
// submitted (`provisional_until`, set when it is created), unless it was included by then by the
// normal rules (then it is a baseline entry like any other). Judged here at query time against
// the reader's clock, so a lapsed entry is never answered even before the scheduled job records
// the lapse in the change feed; once recorded (`provisional_lapsed_at`, also set in the close's
// own batch) it stays lapsed whatever the clock says. Only an undecided entry is provisional: an
// excluded, retired or disputed-then-retired one follows its decision. TLP:RED never matches,
// provisional or not (isShareable).

/** What provisional matching depends on beyond the entry's row: its incident's end. */
export type ProvisionalLinks = {
  incidentId?: string | null;
  provisionalUntil?: string | null;
  provisionalLapsedAt?: string | null;
  /** The end of the entry's incident now: the earlier of its scheduled end and its close. */
  incidentEndsAt?: string | null;
};

/** When a provisional entry stops matching (unless included first); null for any other entry. */
export function provisionalLapsesAt(row: ProvisionalLinks): string | null {
  if (!row.incidentId || !row.provisionalUntil) return null;
  if (!row.incidentEndsAt) return row.provisionalUntil;
  // ISO-8601 UTC strings sort as the instants they name.
  return [row.incidentEndsAt, row.provisionalUntil].sort()[0]!;
}

/**
 * Matching now as provisional: tagged with an incident, its lapse not recorded, undecided,
 * current, shareable, and before the earlier of its incident's end and its own 72 h.
 */
export function isProvisional(
  row: Pick<SubmissionRow, "status" | "baselineState" | "expiresAt" | "tlp"> & Links & ProvisionalLinks,
  now = Date.now(),
): boolean {
  const lapses = provisionalLapsesAt(row);
  return (
    lapses !== null &&
    !row.provisionalLapsedAt &&
    row.baselineState === "none" &&
    isCurrent(row, now) &&
    isShareable(row) &&
    Date.parse(lapses) > now
  );
}

/** SQL: the end of the incident of the row under `alias` (null when it has none). */
export function incidentEndSql(alias: string): SQL {
  return sql`(SELECT coalesce(min(i.ends_at, i.closed_at), i.ends_at) FROM incidents i WHERE i.id = ${col(alias, "incident_id")})`;
}
/** Raw text of `incidentEndSql` (for statements bound by hand, e.g. the match rows). */
export function incidentEndSqlText(alias: string): string {
  return `(SELECT coalesce(min(i.ends_at, i.closed_at), i.ends_at) FROM incidents i WHERE i.id = "${alias}"."incident_id")`;
}
export function provisionalSql(alias: string, nowIso: string): SQL {
  return sql`(${col(alias, "incident_id")} IS NOT NULL AND ${col(alias, "provisional_lapsed_at")} IS NULL
    AND ${col(alias, "baseline_state")} = 'none' AND ${currentSql(alias, nowIso)} AND ${shareableSql(alias)}
    AND ${col(alias, "provisional_until")} > ${nowIso} AND ${incidentEndSql(alias)} > ${nowIso})`;
}

/**
 * For the scheduled job and the close: provisional entries whose window is over but whose lapse
 * is not recorded yet (undecided and live; an entry included in time is not lapsed, and one that
 * ended otherwise is already in the feed by its own change).
 */
export function lapseDueSql(alias: string, nowIso: string): SQL {
  return sql`(${col(alias, "incident_id")} IS NOT NULL AND ${col(alias, "provisional_lapsed_at")} IS NULL
    AND ${col(alias, "baseline_state")} = 'none' AND ${col(alias, "status")} = 'live'
    AND (${col(alias, "provisional_until")} <= ${nowIso} OR ${incidentEndSql(alias)} <= ${nowIso}))`;
}

// ---- matching -----------------------------------------------------------------------------------

/**
 * What the match index holds: every live entry that is not excluded and whose own TLP is not RED
 * (TLP never changes on an entry, so a TLP:RED entry is never indexed at all). The index is a
 * superset of what may be answered: expiry, scope and linked TLP:RED submissions are judged per
 * query by `isMatchable` against the current rows, so an entry that expires, changes state or
 * gets a TLP:RED twin is never answered from a stale index. Raw SQL text (no parameters) because
 * the shard runs it through the D1 binding with its own bound shard numbers; `alias` prefixes the
 * columns ("" for none).
 */
export function indexableSqlText(alias = ""): string {
  const c = (column: string) => (alias ? `"${alias}"."${column}"` : column);
  return `(${c("status")} = 'live' AND ${c("baseline_state")} <> 'excluded' AND (${c("tlp")} IS NULL OR ${c("tlp")} <> 'red'))`;
}
export function isIndexable(row: Pick<SubmissionRow, "status" | "baselineState" | "tlp">): boolean {
  return row.status === "live" && row.baselineState !== "excluded" && tlpAllowsSharing(row);
}

/**
 * May a platform be answered this entry in `scope`? Current, shareable (no linked TLP:RED
 * submission either), not excluded, and for scope `baseline` in the baseline or provisional
 * (`isProvisional`: a row read without its incident fields is never provisional).
 */
export function isMatchable(
  row: Pick<SubmissionRow, "status" | "baselineState" | "tlp" | "expiresAt"> & Links & ProvisionalLinks,
  scope: MatchScope,
  now = Date.now(),
): boolean {
  return (
    isIndexable(row) &&
    isShareable(row) &&
    isCurrent(row, now) &&
    (scope === "all" ||
      (IN_BASELINE_STATES as readonly string[]).includes(row.baselineState) ||
      isProvisional(row, now))
  );
}
/** SQL form of `isMatchable` for scope `baseline`: in the baseline, or provisional. */
export function matchableBaselineSql(alias: string, nowIso: string): SQL {
  return sql`(${inBaselineSql(alias, nowIso)} OR ${provisionalSql(alias, nowIso)})`;
}

// ---- false positives ----------------------------------------------------------------------------

export function isFlagged(row: Pick<SubmissionRow, "fbTrue" | "fbFalse">, p: Policy): boolean {
  const rated = row.fbTrue + row.fbFalse;
  return rated >= p.fpMinReports && rated > 0 && row.fbFalse / rated >= p.fpRate;
}
export function flaggedSql(alias: string, p: Policy): SQL {
  const tp = col(alias, "fb_true");
  const fp = col(alias, "fb_false");
  return sql`(${tp} + ${fp} >= ${p.fpMinReports} AND ${tp} + ${fp} > 0 AND CAST(${fp} AS REAL) / (${tp} + ${fp}) >= ${p.fpRate})`;
}

// ---- the entry's one state ----------------------------------------------------------------------
//
// Exactly one of ENTRY_STATES (@eusn/protocol), whether the entry is in the baseline, what it was
// when it ended, and the flags that hold beside the state. The API's views, the statistics and
// every console page take the state from here, so none of them can show an entry as both reversed
// and included, or count one as "included" that the baseline does not hold.
//
// Precedence, first match wins: an ended entry (voided, withdrawn, reversed, then expired) is in
// that state whatever its last baseline decision; an included or disputed entry whose value a
// linked live submission holds at TLP:RED is withheld (isShareable: the baseline, matching and the
// statistics leave it out until that submission leaves); otherwise a current entry is in its
// baseline state; before any decision, eligible (isEligible) or awaiting assessment. An entry
// marked TLP:RED itself never counts as in the baseline whatever its row says. test/api/entry-state.test.ts
// runs every case through the predicate and the SQL CASE.

/** The row's fields the state depends on, and its links (a linked live TLP:RED submission). */
export type StateRow = Pick<
  SubmissionRow,
  | "status"
  | "baselineState"
  | "expiresAt"
  | "tlp"
  | "concurStates"
  | "liveDissents"
  | "fbTrue"
  | "fbFalse"
  | "lowQuality"
> &
  Links;

/** The state's name alone (`entryState` adds what goes with it). */
export function entryStateName(row: StateRow, p: Policy, now = Date.now()): EntryStateName {
  if (row.status !== "live") return row.status;
  if (isExpired(row, now)) return "expired";
  const decidedIn = (IN_BASELINE_STATES as readonly string[]).includes(row.baselineState);
  if (decidedIn && tlpAllowsSharing(row) && row.linkedRed) return "withheld";
  // A baseline decision stands while the entry is current; an entry marked TLP:RED is never in the
  // baseline whatever a row says (isInBaseline), so it cannot be shown as such.
  if (row.baselineState !== "none" && (tlpAllowsSharing(row) || !decidedIn)) return row.baselineState;
  return isEligible(row as unknown as SubmissionRow, p, now) ? "eligible" : "awaiting";
}

/** SQL form of `entryStateName`: a CASE over the columns of `alias`, giving the state's name. */
export function entryStateSql(alias: string, quorum: number | SQL, nowIso: string): SQL {
  const c = (column: string) => sql.raw(`"${alias}"."${column}"`);
  return sql`(CASE
    WHEN ${c("status")} <> 'live' THEN ${c("status")}
    WHEN NOT ${currentSql(alias, nowIso)} THEN 'expired'
    WHEN ${c("baseline_state")} IN ('included', 'disputed') AND ${tlpAllowsSharingSql(alias)}
      AND ${linkedRedSql(alias)} THEN 'withheld'
    WHEN ${c("baseline_state")} <> 'none'
      AND (${tlpAllowsSharingSql(alias)} OR ${c("baseline_state")} NOT IN ('included', 'disputed'))
      THEN ${c("baseline_state")}
    WHEN ${eligibleSql(alias, quorum, nowIso)} THEN 'eligible'
    ELSE 'awaiting' END)`;
}

/** The flags that hold beside the state. */
export function entryFlags(row: StateRow, p: Policy): EntryFlag[] {
  const flags: EntryFlag[] = [];
  if (row.status === "live" && isFlagged(row, p)) flags.push("flagged");
  if (row.lowQuality) flags.push("low_quality");
  if (!tlpAllowsSharing(row)) flags.push("tlp_red");
  return flags;
}
/** SQL form of the `flagged` flag (the statistics count flagged entries with it). */
export function flaggedEntrySql(alias: string, p: Policy): SQL {
  return sql`(${sql.raw(`"${alias}"."status"`)} = 'live' AND ${flaggedSql(alias, p)})`;
}

/** An entry's state as every view carries it. */
export function entryState(row: StateRow, p: Policy, now = Date.now()): EntryStateView {
  const name = entryStateName(row, p, now);
  const ended = !isCurrent(row, now);
  const was: EntryStateView["was"] =
    ended && row.baselineState !== "none" ? (row.baselineState as NonNullable<EntryStateView["was"]>) : null;
  return {
    name,
    label: entryStateLabel(name, was),
    inBaseline: name === "included" || name === "disputed",
    was,
    flags: entryFlags(row, p),
  };
}

/**
 * The baseline state an entry holds now: its last baseline decision while it is current, `none`
 * once it has ended (GET /v1/stats `submissions.byBaselineState` counts this, so it always agrees
 * with the baseline figures).
 */
export function baselineStateNow(
  name: EntryStateName,
): "none" | "included" | "disputed" | "excluded" | "retired" {
  // A withheld entry keeps its decision but is not in the baseline now: counted under none.
  return name === "included" || name === "disputed" || name === "excluded" || name === "retired"
    ? name
    : "none";
}
