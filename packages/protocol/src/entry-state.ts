// An entry's state on the wire: the one answer to "what is this entry now" that the node derives
// from an entry's stored status and baseline state (the node's rules/baseline.ts decides it),
// and the one way clients word it. Every view of an entry (lists, queues, the entry page, match
// hits) carries it, and the statistics count entries by it, so no page can call one entry
// "reversed" and "included" at once. Also the rule for showing a rate: with its sample size, and
// withheld below a minimum sample.
import { z } from "zod";

/**
 * The states an entry can be in, exactly one at a time. An ended entry (voided, withdrawn,
 * reversed, expired) is in that state whatever its last baseline decision was; an included or
 * disputed one is withheld while a linked live submission holds its value at TLP:RED; otherwise a
 * current one is in its baseline state, or, before any decision, eligible or awaiting assessment.
 */
export const ENTRY_STATES = [
  "awaiting",
  "eligible",
  "included",
  "disputed",
  "withheld",
  "retired",
  "excluded",
  "expired",
  "withdrawn",
  "reversed",
  "voided",
] as const;
export type EntryStateName = (typeof ENTRY_STATES)[number];

/** States in which an entry is part of the baseline now (a dispute keeps it, labelled). */
export const BASELINE_MEMBER_STATES = ["included", "disputed"] as const satisfies readonly EntryStateName[];
/** States that end an entry: it matches nothing and is no longer in any queue. */
export const ENDED_STATES = [
  "expired",
  "withdrawn",
  "reversed",
  "voided",
] as const satisfies readonly EntryStateName[];

/** How each state is worded wherever it is shown (console pages, the statistics page). */
export const ENTRY_STATE_LABELS: Record<EntryStateName, string> = {
  awaiting: "awaiting assessment",
  eligible: "eligible for inclusion",
  included: "included",
  disputed: "disputed",
  withheld: "withheld (its value is TLP:RED in a linked submission)",
  retired: "retired",
  excluded: "excluded",
  expired: "expired",
  withdrawn: "withdrawn",
  reversed: "reversed",
  voided: "void",
};

/** Conditions that hold beside the state; each is shown as its own mark. */
export const ENTRY_FLAGS = ["flagged", "low_quality", "tlp_red"] as const;
export type EntryFlag = (typeof ENTRY_FLAGS)[number];
export const ENTRY_FLAG_LABELS: Record<EntryFlag, string> = {
  flagged: "flagged by platform feedback",
  low_quality: "low quality",
  tlp_red: "TLP:RED (never shared)",
};

const BASELINE_DECISION_STATES = ["included", "disputed", "excluded", "retired"] as const;

export const EntryStateView = z
  .object({
    name: z.enum(ENTRY_STATES),
    label: z.string().describe("The state as worded for people, e.g. `reversed (was included)`."),
    inBaseline: z.boolean().describe("Part of the baseline now: state included or disputed."),
    was: z
      .enum(BASELINE_DECISION_STATES)
      .nullable()
      .describe("For an ended entry, the baseline state it had when it ended; null otherwise."),
    flags: z.array(z.enum(ENTRY_FLAGS)),
  })
  .meta({ id: "EntryState" });
export type EntryStateView = z.infer<typeof EntryStateView>;

/** The label of a state, with the baseline state an ended entry had. */
export function entryStateLabel(name: EntryStateName, was: EntryStateView["was"]): string {
  const base = ENTRY_STATE_LABELS[name];
  return was ? `${base} (was ${ENTRY_STATE_LABELS[was]})` : base;
}

// ---- rates ---------------------------------------------------------------------------------------
//
// A rate from a handful of reports says little: "1 false positive of 1 report" would read as a
// 100 % false-positive rate. One minimum decides when a rate is shown, everywhere: the policy's
// FP_FLAG_MIN_REPORTS, the number of reports from which a rate may also flag an entry (GET
// /v1/stats policy.minRateSample and errorRates.minReports, and each entry's feedback.minReports).

export type ShownRate = { value: number | null; sample: number; min: number; withheld: boolean };

/** `part / sample`, withheld (null) when the sample is below `min`. */
export function shownRate(part: number, sample: number, min: number): ShownRate {
  const need = Math.max(1, min);
  if (sample < need) return { value: null, sample, min: need, withheld: sample > 0 };
  return { value: part / sample, sample, min: need, withheld: false };
}

/** A rate as text with its sample size: "25.0 % of 8 reports", "withheld: 2 reports (fewer than 3)". */
export function rateText(r: ShownRate, unit = "report", digits = 1): string {
  const n = `${r.sample} ${unit}${r.sample === 1 ? "" : "s"}`;
  if (r.sample === 0) return `no ${unit}s`;
  if (r.value === null) return `withheld: ${n} (fewer than ${r.min})`;
  return `${(r.value * 100).toFixed(digits)} % of ${n}`;
}
