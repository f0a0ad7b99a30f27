// Authority: the queue of other authorities' submissions awaiting my assessment (concur /
// dissent, one entry or a selection signed as one batch), and my own submissions (withdraw); both
// paged and filtered by the node.
import type { ParticipantView, SubmissionView } from "@eusn/protocol";
import { getPublic } from "../api.ts";
import { bulkAssess } from "../bulk.ts";
import { confirmWrite, reasonField } from "../confirm.ts";
import { button, h } from "../dom.ts";
import { type Queue, queue } from "../queue.ts";
import type { Session } from "../session.ts";
import { assessFields, assessRecord } from "./entry.ts";

export default async function assess(s: Session | null) {
  if (!s) return;
  const { participants: people } = await getPublic<{ participants: ParticipantView[] }>("/v1/participants");
  const awaiting: Queue = queue(s, {
    host: "awaiting-table",
    caption: "Submissions awaiting your assessment",
    base: { scope: "awaiting" },
    sort: "oldest",
    filters: ["search", "memberState", "limb", "tlp", "submitter", "days"],
    people,
    empty: "Nothing awaits your assessment.",
    // Select entries on the page, then concur or dissent with one signature (assessment.batch).
    bulk: [
      { label: "Concur with selected", run: (sel) => bulkAssess(s, sel, "concur") },
      { label: "Dissent from selected", run: (sel) => bulkAssess(s, sel, "dissent") },
    ],
    extra: {
      header: "Assess",
      cell: (v: SubmissionView) =>
        h(
          "div",
          { class: "buttons" },
          (["concur", "dissent"] as const).map((verdict) =>
            button(
              verdict === "concur" ? "Concur…" : "Dissent…",
              async () => {
                const r = await confirmWrite(s, {
                  title: verdict === "concur" ? "Concur" : "Dissent",
                  intro: `${verdict === "concur" ? "Concur with" : "Dissent from"} ${v.memberState}'s assessment of ${v.id} (${v.limbs.map((l) => `(${l})`).join(" ")}, ${v.nationalProvision}).`,
                  kind: "assessment.create",
                  path: `/v1/submissions/${encodeURIComponent(v.id)}/assessments`,
                  fields: assessFields(v, verdict),
                  record: (x) => assessRecord(v.id, verdict, x),
                });
                // An assessment moves the entry out of this queue; "my submissions" is unchanged.
                if (r) await awaiting.reload();
              },
              { "aria-label": `${verdict === "concur" ? "Concur with" : "Dissent from"} ${v.id}` },
            ),
          ),
        ),
    },
  });
  const mine: Queue = queue(s, {
    host: "mine-table",
    caption: "Your submissions",
    base: { scope: "mine" },
    sort: "newest",
    filters: ["search", "state", "limb", "tlp", "days"],
    empty: "You have not submitted anything yet.",
    extra: {
      header: "Withdraw",
      cell: (v: SubmissionView) =>
        v.status === "live"
          ? button(
              "Withdraw…",
              async () => {
                const r = await confirmWrite(s, {
                  title: "Withdraw your submission",
                  intro: `Withdraw ${v.id}. It stops matching at once; platforms that matched it see the withdrawal.`,
                  kind: "submission.withdraw",
                  path: `/v1/submissions/${encodeURIComponent(v.id)}/withdraw`,
                  fields: [reasonField()],
                  record: (x) => ({ submissionId: v.id, reason: String(x.reason ?? "").trim() }),
                });
                if (r) await mine.reload();
              },
              { "aria-label": `Withdraw ${v.id}` },
            )
          : "—",
    },
  });
  await Promise.all([awaiting.reload(), mine.reload()]);
}
