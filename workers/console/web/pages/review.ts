// Platform: the review queue — match results kept on the node (GET /v1/review), a page at a time,
// open or done, each with the entry's state now and a "Report outcome…" button (the signed
// feedback record, which closes the item); the queue as CSV (GET /v1/review/export).
import type { ReviewItem, ReviewPage } from "@eusn/protocol";
import { ApiProblem, get, getText } from "../api.ts";
import { $, button, h, hashCell, replace, table, when } from "../dom.ts";
import { textFileLink } from "../download.ts";
import type { Session } from "../session.ts";
import { reportOutcome } from "./match.ts";
import { entryStateBadges } from "./views.ts";

const PAGE = 25;

export default async function review(s: Session | null) {
  if (!s) return;
  const status = $("review-status") as unknown as HTMLSelectElement;
  const ref = $("review-ref") as unknown as HTMLInputElement;
  const prev = $("review-prev") as unknown as HTMLButtonElement;
  const next = $("review-next") as unknown as HTMLButtonElement;
  let offset = 0;
  let seq = 0;

  const query = () => {
    const q = new URLSearchParams({ status: status.value });
    if (ref.value.trim()) q.set("ref", ref.value.trim());
    return q;
  };

  const outcomeCell = (i: ReviewItem) =>
    i.outcome
      ? [
          h("strong", {}, i.outcome.outcome.replace("_", " ")),
          h("br"),
          h("span", { class: "hint" }, when(i.outcome.at)),
        ]
      : button(
          "Report outcome…",
          async () => {
            if (await reportOutcome(s, i.submissionId)) await load();
          },
          { "aria-label": `Report outcome for ${i.ref ?? i.submissionId}` },
        );

  const load = async () => {
    const mine = ++seq;
    const q = query();
    q.set("offset", String(offset));
    q.set("limit", String(PAGE));
    try {
      const page = await get<ReviewPage>(s, `/v1/review?${q}`);
      if (mine !== seq) return;
      replace($("review-retention"), `${page.retentionDays} days`);
      const to = offset + page.items.length;
      replace(
        $("review-count"),
        page.total === 0
          ? `Nothing here. ${page.open} open item(s) in all.`
          : `Showing ${offset + 1}–${to} of ${page.total} item(s); ${page.open} open in all.`,
      );
      replace(
        $("review-table"),
        table(
          "Kept match results, most recently matched first",
          ["Your reference", "Entry", "State", "Legal basis", "Matched", "Outcome"],
          page.items.map((i) => [
            i.ref ?? h("span", { class: "hint" }, "(none)"),
            [
              h("code", {}, i.submissionId),
              h("br"),
              h("span", { class: "type" }, i.entry.signalType),
              " ",
              hashCell(i.entry.value),
            ],
            entryStateBadges(i.entry.state),
            `${i.entry.memberState}: ${i.entry.limbs.map((l) => `(${l})`).join(" ")} ${i.entry.nationalProvision}`,
            [when(i.lastMatchedAt), i.count > 1 ? ` (${i.count} times)` : ""],
            outcomeCell(i),
          ]),
          status.value === "open" ? "Nothing open: every kept result has an outcome." : "Nothing here.",
        ),
      );
      prev.disabled = offset === 0;
      next.disabled = to >= page.total;
    } catch (e) {
      if (mine !== seq) return;
      replace(
        $("review-count"),
        h("span", { class: "error" }, e instanceof ApiProblem ? e.describe() : String(e)),
      );
    }
  };

  const restart = () => {
    offset = 0;
    void load();
  };
  status.addEventListener("change", restart);
  let typing: ReturnType<typeof setTimeout> | undefined;
  ref.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(restart, 300);
  });
  ($("review-filters") as unknown as HTMLFormElement).addEventListener("submit", (e) => {
    e.preventDefault();
    restart();
  });
  prev.addEventListener("click", () => {
    offset = Math.max(0, offset - PAGE);
    void load();
  });
  next.addEventListener("click", () => {
    offset += PAGE;
    void load();
  });
  $("review-export-make").addEventListener("click", async () => {
    const box = $("review-export-buttons");
    try {
      const text = await getText(s, `/v1/review/export?${query()}`);
      const day = new Date().toISOString().slice(0, 10);
      replace(
        box,
        textFileLink(
          `eusn-review-${day}.csv`,
          text,
          "text/csv",
          `Download the CSV (${text.split("\r\n").length - 2} item(s))`,
        ),
      );
    } catch (e) {
      box.appendChild(h("p", { class: "error" }, e instanceof ApiProblem ? e.describe() : String(e)));
    }
  });
  await load();
}
