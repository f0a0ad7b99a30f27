// Authority: the queue of other authorities' submissions awaiting my assessment (concur /
// dissent), and my own submissions (withdraw).
import type { SubmissionView } from "@eusn/protocol";
import { get } from "../api.ts";
import { confirmWrite, reasonField } from "../confirm.ts";
import { $, button, h, replace } from "../dom.ts";
import type { Session } from "../session.ts";
import { assessFields, assessRecord } from "./entry.ts";
import { submissionTable } from "./views.ts";

async function all(s: Session, scope: string): Promise<SubmissionView[]> {
  const out: SubmissionView[] = [];
  let after = "";
  for (let i = 0; i < 10; i++) {
    const page = await get<{ submissions: SubmissionView[]; next: string | null }>(
      s,
      `/v1/submissions?scope=${scope}&limit=500${after ? `&after=${encodeURIComponent(after)}` : ""}`,
    );
    out.push(...page.submissions);
    if (!page.next) break;
    after = page.next;
  }
  return out;
}

export default async function assess(s: Session | null) {
  if (!s) return;
  const render = async () => {
    const [awaiting, mine] = await Promise.all([all(s, "awaiting"), all(s, "mine")]);
    replace(
      $("awaiting-table"),
      submissionTable(
        `${awaiting.length} submission(s) awaiting your assessment`,
        awaiting,
        {
          header: "Assess",
          cell: (v) =>
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
                    if (r) await render();
                  },
                  { "aria-label": `${verdict === "concur" ? "Concur with" : "Dissent from"} ${v.id}` },
                ),
              ),
            ),
        },
        "Nothing awaits your assessment.",
      ),
    );
    replace(
      $("mine-table"),
      submissionTable(
        `Your ${mine.length} submission(s)`,
        mine,
        {
          header: "Withdraw",
          cell: (v) =>
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
                    if (r) await render();
                  },
                  { "aria-label": `Withdraw ${v.id}` },
                )
              : "—",
        },
        "You have not submitted anything yet.",
      ),
    );
  };
  await render();
}
