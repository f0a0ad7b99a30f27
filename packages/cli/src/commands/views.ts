// How entries print as text (one line in lists, a block for one entry). --json prints the node's
// answer instead.
import type { SubmissionView } from "@eusn/protocol";

export function entryLine(s: SubmissionView): string {
  const t = s.assessments;
  return `${s.id}  ${s.signalType} ${s.value.slice(0, 16)}…  ${s.memberState}  ${s.status}/${s.baselineState}  concur ${t.concurStates.join(" ") || "-"} (${t.concurring}/${t.quorum}${t.eligible ? ", eligible" : ""})  dissent ${t.dissenting}  limbs ${s.limbs.join(" ")}`;
}

export function entryText(s: SubmissionView): string {
  const t = s.assessments;
  return [
    `${s.id}  ${s.signalType} ${s.value}${s.quality !== null ? ` quality ${s.quality}` : ""}${s.lowQuality ? " (low quality)" : ""}`,
    `submitted by ${s.submitter} (${s.memberState}) ${s.createdAt}; ${s.contentType}; limbs ${s.limbs.join(" ")}; ${s.nationalProvision}${s.tlp ? `; TLP:${s.tlp.toUpperCase()}` : ""}`,
    `status ${s.status}, baseline ${s.baselineState}; concurring ${t.concurStates.join(" ") || "-"} (${t.concurring} of quorum ${t.quorum}${t.eligible ? ", eligible" : ""}), dissenting ${t.dissenting}`,
    `feedback: ${s.feedback.truePositive} true positive, ${s.feedback.falsePositive} false positive, ${s.feedback.notActioned} not actioned${s.feedback.flagged ? " (flagged)" : ""}`,
  ].join("\n");
}
