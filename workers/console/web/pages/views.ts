// Shared renderers for submission views (queues, lists).
import {
  ENTRY_FLAG_LABELS,
  type EntryStateView,
  rateText,
  type SubmissionView,
  shownRate,
} from "@eusn/protocol";
import { type Child, entryLink, h, hashCell, table, when } from "../dom.ts";

export function tallyText(v: SubmissionView): string {
  const a = v.assessments;
  return `${a.concurring}/${a.quorum} states concur (${a.concurStates.join(", ")})${a.dissenting ? `, ${a.dissenting} dissent` : ""}`;
}

export function feedbackText(v: SubmissionView): string {
  const f = v.feedback;
  const n = f.truePositive + f.falsePositive + f.notActioned;
  if (n === 0) return "no reports";
  // The rate with its sample, withheld below the minimum (@eusn/protocol shownRate).
  const rate = rateText(shownRate(f.falsePositive, f.truePositive + f.falsePositive, f.minReports));
  return `${f.truePositive} TP / ${f.falsePositive} FP / ${f.notActioned} NA (FP rate ${rate})${f.flagged ? " — flagged" : ""}`;
}

/** A badge for a word that is not an entry's state (a feed change, a participant's status). */
export function stateBadge(state: string): HTMLElement {
  return h("span", { class: `badge b-${state}` }, state);
}

/**
 * An entry's one state as the node decided it (its label, e.g. "reversed (was included)") and
 * the flags beside it: the only way any page shows what state an entry is in.
 */
export function entryStateBadges(s: EntryStateView): Child[] {
  return [
    h("span", { class: `badge b-${s.name}`, "data-state": s.name }, s.label),
    s.flags.map((f) => [" ", h("span", { class: "badge b-flag", "data-flag": f }, ENTRY_FLAG_LABELS[f])]),
  ];
}

export function submissionTable(
  caption: string,
  rows: SubmissionView[],
  extra?: { header: string; cell: (v: SubmissionView) => Child },
  empty = "Nothing waiting.",
  lead?: { header: string; cell: (v: SubmissionView) => Child },
): HTMLElement {
  const headers = ["Entry", "Origin", "Hash", "Limbs", "Assessments", "Feedback", "State", "Submitted"];
  if (lead) headers.unshift(lead.header);
  if (extra) headers.push(extra.header);
  return table(
    caption,
    headers,
    rows.map((v) => {
      const cells: Child[] = [
        entryLink(v.id),
        v.memberState,
        [
          h("span", { class: "type" }, v.signalType),
          " ",
          hashCell(v.value),
          v.lowQuality ? " (low quality)" : "",
        ],
        v.limbs.map((l) => `(${l})`).join(" "),
        tallyText(v),
        feedbackText(v),
        entryStateBadges(v.state),
        when(v.createdAt),
      ];
      if (lead) cells.unshift(lead.cell(v));
      if (extra) cells.push(extra.cell(v));
      return cells;
    }),
    empty,
  );
}
