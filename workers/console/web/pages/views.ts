// Shared renderers for submission views (queues, lists).
import type { SubmissionView } from "@eusn/protocol";
import { type Child, entryLink, h, hashCell, pct, table, when } from "../dom.ts";

export function tallyText(v: SubmissionView): string {
  const a = v.assessments;
  return `${a.concurring}/${a.quorum} states concur (${a.concurStates.join(", ")})${a.dissenting ? `, ${a.dissenting} dissent` : ""}`;
}

export function feedbackText(v: SubmissionView): string {
  const f = v.feedback;
  const n = f.truePositive + f.falsePositive + f.notActioned;
  if (n === 0) return "no reports";
  return `${f.truePositive} TP / ${f.falsePositive} FP / ${f.notActioned} NA (FP ${pct(f.falsePositiveRate)})${f.flagged ? " — flagged" : ""}`;
}

export function stateBadge(state: string): HTMLElement {
  return h("span", { class: `badge b-${state}` }, state);
}

export function submissionTable(
  caption: string,
  rows: SubmissionView[],
  extra?: { header: string; cell: (v: SubmissionView) => Child },
  empty = "Nothing waiting.",
): HTMLElement {
  const headers = ["Entry", "Origin", "Hash", "Limbs", "Assessments", "Feedback", "State", "Submitted"];
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
        [stateBadge(v.baselineState), v.status !== "live" ? [" ", stateBadge(v.status)] : null],
        when(v.createdAt),
      ];
      if (extra) cells.push(extra.cell(v));
      return cells;
    }),
    empty,
  );
}
