// Coordinator: the curation queue — entries eligible for the baseline, disputed entries, and
// entries flagged by platforms' false-positive reports. Decisions are taken on the entry page.
import type { SubmissionView } from "@eusn/protocol";
import { get } from "../api.ts";
import { $, replace } from "../dom.ts";
import type { Session } from "../session.ts";
import { submissionTable } from "./views.ts";

const QUEUES = [
  ["eligible", "Entries eligible for the baseline"],
  ["disputed", "Disputed baseline entries"],
  ["flagged", "Entries flagged by platform feedback"],
] as const;

export default async function curation(s: Session | null) {
  if (!s) return;
  await Promise.all(
    QUEUES.map(async ([q, caption]) => {
      const res = await get<{ submissions: SubmissionView[] }>(s, `/v1/curation?queue=${q}&limit=200`);
      const heading = $(`queue-${q}-h`);
      heading.dataset.count = String(res.submissions.length);
      heading.textContent = `${heading.textContent?.replace(/ \(\d+\)$/, "")} (${res.submissions.length})`;
      replace($(`queue-${q}-table`), submissionTable(caption, res.submissions));
    }),
  );
}
