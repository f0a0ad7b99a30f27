// Bulk decisions from the work queues: the entries selected on a page go into ONE signed batch
// record (assessment.batch to POST /v1/assessments, baseline.decide.batch to POST
// /v1/baseline/decisions), through the one confirmation dialog, which lists every selected entry
// and shows the record exactly as it will be signed. The node takes the batch whole or refuses
// it whole, naming the item that would not take effect.
import { type HistoryItem, type SubmissionView, TCO_LIMBS } from "@eusn/protocol";
import { get } from "./api.ts";
import { confirmWrite, reasonField } from "./confirm.ts";
import { h } from "./dom.ts";
import type { Session } from "./session.ts";

/** The selected entries as the dialog lists them: id, origin, hash (prefix…suffix), legal basis. */
function selectionList(entries: SubmissionView[]): HTMLElement {
  const short = (v: string) => (v.length > 20 ? `${v.slice(0, 8)}…${v.slice(-8)}` : v);
  return h(
    "ul",
    { class: "bulk-list", "data-bulk-list": "1", tabindex: 0, "aria-label": "Selected entries" },
    entries.map((v) =>
      h(
        "li",
        { "data-entry": v.id },
        h("code", {}, v.id),
        ` — ${v.memberState}, ${v.signalType} ${short(v.value)}, ${v.limbs.map((l) => `(${l})`).join(" ")} ${v.nationalProvision}`,
      ),
    ),
  );
}

const intro = (what: string, entries: SubmissionView[]) => [
  h(
    "span",
    {},
    `${what} ${entries.length} entr${entries.length === 1 ? "y" : "ies"} with one signature: one record, taken whole or refused whole (the refusal names the entry that would not take effect). The entries:`,
  ),
  selectionList(entries),
];

/** An authority concurs with, or dissents from, the selected entries (assessment.batch). */
export async function bulkAssess(
  s: Session,
  entries: SubmissionView[],
  verdict: "concur" | "dissent",
): Promise<boolean> {
  const r = await confirmWrite(s, {
    title: verdict === "concur" ? "Concur with the selected entries" : "Dissent from the selected entries",
    intro: intro(verdict === "concur" ? "Concur with" : "Dissent from", entries),
    kind: "assessment.batch",
    path: "/v1/assessments",
    fields: [
      {
        name: "limb",
        label: "TCO Art 2(7) limb",
        type: "select",
        options: [
          ["own", "each entry's first limb, as submitted"],
          ...TCO_LIMBS.map((l) => [l, `(${l}) for every entry`] as [string, string]),
        ],
        value: "own",
      },
      reasonField(verdict === "dissent" ? "Reason" : "Reason (optional)", verdict === "dissent"),
    ],
    record: (x) => {
      const reason = String(x.reason ?? "").trim();
      return {
        items: entries.map((v) => ({
          submissionId: v.id,
          verdict,
          limb: x.limb === "own" ? (v.limbs[0] ?? "a") : x.limb,
          ...(reason ? { reason } : {}),
        })),
      };
    },
  });
  return r !== null;
}

type Summary = { action?: string; assessmentId?: string; verdict?: string; live?: boolean; counts?: boolean };

/** The live concurrences of active authorities on an entry: what an inclusion cites. */
async function concurrences(s: Session, id: string): Promise<string[]> {
  const d = await get<{ history: HistoryItem[] }>(s, `/v1/submissions/${encodeURIComponent(id)}`);
  return d.history
    .map((it) => it.summary as Summary)
    .filter((x) => x.action === "assessed" && x.live && x.counts !== false && x.verdict === "concur")
    .map((x) => x.assessmentId!)
    .filter(Boolean);
}

/** A coordinator includes, excludes or retires the selected entries (baseline.decide.batch). */
export async function bulkDecide(
  s: Session,
  entries: SubmissionView[],
  decision: "include" | "exclude" | "retire",
): Promise<boolean> {
  // An inclusion cites each entry's live concurrences (as the single decision does by default).
  const cites = new Map<string, string[]>();
  if (decision === "include")
    for (const [i, ids] of (await Promise.all(entries.map((v) => concurrences(s, v.id)))).entries())
      cites.set(entries[i]!.id, ids);
  const what = { include: "Include in the baseline", exclude: "Exclude", retire: "Retire" }[decision];
  const r = await confirmWrite(s, {
    title: `${what}: the selected entries`,
    intro: intro(what, entries),
    kind: "baseline.decide.batch",
    path: "/v1/baseline/decisions",
    fields: [reasonField()],
    record: (x) => ({
      decision,
      reason: String(x.reason ?? "").trim(),
      items: entries.map((v) => ({
        submissionId: v.id,
        ...(decision === "include" ? { assessmentIds: cites.get(v.id) ?? [] } : {}),
      })),
    }),
  });
  return r !== null;
}
