// Coordinator: the curation queues — entries eligible for the baseline, disputed entries, and
// entries flagged by platforms' false-positive reports — each a paged, filterable queue answered
// by the node (GET /v1/submissions with the entry's state or flag). Decisions are taken on the
// entry page, or for a selection of a queue's page with one signature (baseline.decide.batch).
import type { ParticipantView } from "@eusn/protocol";
import { getPublic } from "../api.ts";
import { bulkDecide } from "../bulk.ts";
import { $ } from "../dom.ts";
import { queue } from "../queue.ts";
import type { Session } from "../session.ts";

/** Each queue, and the decisions a selection of it can take with one signature. */
const QUEUES = [
  {
    q: "eligible",
    caption: "Entries eligible for the baseline",
    base: { state: "eligible" },
    sort: "oldest",
    decisions: ["include", "exclude"],
  },
  {
    q: "disputed",
    caption: "Disputed baseline entries",
    base: { state: "disputed" },
    sort: "oldest",
    decisions: ["exclude", "retire"],
  },
  {
    q: "flagged",
    caption: "Entries flagged by platform feedback",
    base: { flag: "flagged" },
    sort: "most_false_positives",
    decisions: ["exclude", "retire"],
  },
] as const;

const DECISION_LABELS = {
  include: "Include selected",
  exclude: "Exclude selected",
  retire: "Retire selected",
};

export default async function curation(s: Session | null) {
  if (!s) return;
  const { participants: people } = await getPublic<{ participants: ParticipantView[] }>("/v1/participants");
  await Promise.all(
    QUEUES.map(({ q, caption, base, sort, decisions }) => {
      const heading = $(`queue-${q}-h`);
      const title = heading.textContent ?? "";
      return queue(s, {
        host: `queue-${q}-table`,
        caption,
        base: { scope: "all", ...base },
        sort,
        filters: ["search", "memberState", "limb", "tlp", "submitter", "days"],
        empty: "Nothing waiting.",
        people,
        bulk: decisions.map((d) => ({ label: DECISION_LABELS[d], run: (sel) => bulkDecide(s, sel, d) })),
        onTotal: (n) => {
          heading.dataset.count = String(n);
          heading.textContent = `${title} (${n})`;
        },
      }).reload();
    }),
  );
}
