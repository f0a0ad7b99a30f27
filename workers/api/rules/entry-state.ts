// What state an entry is in now, decided in one place from its stored row: exactly one of
// ENTRY_STATES (@eusn/protocol), whether it is in the baseline, what it was when it ended, and the
// flags that hold beside the state. The API's views, the statistics and every console page take
// the state from here, so none of them can show an entry as both reversed and included, or count
// one as "included" that the baseline does not hold.
//
// Precedence, first match wins: an ended entry (voided, withdrawn, reversed, then expired) is in
// that state whatever its last baseline decision; a current one is in its baseline state; before
// any decision, eligible (rules/baseline.ts isEligible) or awaiting assessment. As in
// rules/baseline.ts, the rule is written twice side by side — a predicate over a row and an SQL
// CASE for statements that count or filter inside D1 — and test/api/entry-state.test.ts runs every
// case through both.
import { type EntryFlag, type EntryStateName, type EntryStateView, entryStateLabel } from "@eusn/protocol";
import { type SQL, sql } from "drizzle-orm";
import {
  currentSql,
  eligibleSql,
  flaggedSql,
  IN_BASELINE_STATES,
  isCurrent,
  isEligible,
  isExpired,
  isFlagged,
  isShareable,
  type Policy,
  type SubmissionRow,
  shareableSql,
} from "./baseline.ts";

/** The row's fields the state depends on. */
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
>;

const inBaselineState = (bs: string) => (IN_BASELINE_STATES as readonly string[]).includes(bs);

/** The state's name alone (`entryState` adds what goes with it). */
export function entryStateName(row: StateRow, p: Policy, now = Date.now()): EntryStateName {
  if (row.status !== "live") return row.status;
  if (isExpired(row, now)) return "expired";
  // A baseline decision stands while the entry is current; a TLP:RED entry is never in the
  // baseline whatever a row says (rules/baseline.ts isInBaseline), so it cannot be shown as such.
  if (row.baselineState !== "none" && (isShareable(row) || !inBaselineState(row.baselineState)))
    return row.baselineState;
  return isEligible(row as SubmissionRow, p, now) ? "eligible" : "awaiting";
}

/** SQL form of `entryStateName`: a CASE over the columns of `alias`, giving the state's name. */
export function entryStateSql(alias: string, quorum: number | SQL, nowIso: string): SQL {
  const c = (column: string) => sql.raw(`"${alias}"."${column}"`);
  return sql`(CASE
    WHEN ${c("status")} <> 'live' THEN ${c("status")}
    WHEN NOT ${currentSql(alias, nowIso)} THEN 'expired'
    WHEN ${c("baseline_state")} <> 'none'
      AND (${shareableSql(alias)} OR ${c("baseline_state")} NOT IN ('included', 'disputed'))
      THEN ${c("baseline_state")}
    WHEN ${eligibleSql(alias, quorum, nowIso)} THEN 'eligible'
    ELSE 'awaiting' END)`;
}

/** The flags that hold beside the state. */
export function entryFlags(row: StateRow, p: Policy): EntryFlag[] {
  const flags: EntryFlag[] = [];
  if (row.status === "live" && isFlagged(row, p)) flags.push("flagged");
  if (row.lowQuality) flags.push("low_quality");
  if (!isShareable(row)) flags.push("tlp_red");
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
  return name === "included" || name === "disputed" || name === "excluded" || name === "retired"
    ? name
    : "none";
}
