// A work queue over GET /v1/submissions: filters (state, flag, member state, limb, TLP, submitter,
// days), sort and search by id or hash prefix, all answered by the node a page at a time, so a
// queue of thousands of entries loads as fast as one of ten. Each queue is a table with a count
// line ("41–60 of 2,013") and a pager; changing a filter starts again at the first page.
import {
  ENTRY_FLAG_LABELS,
  ENTRY_FLAGS,
  ENTRY_STATE_LABELS,
  ENTRY_STATES,
  EU_MEMBER_STATES,
  type ParticipantView,
  SUBMISSION_SORTS,
  type SubmissionSort,
  type SubmissionView,
  TCO_LIMBS,
  TLP_LEVELS,
} from "@eusn/protocol";
import { ApiProblem, get } from "./api.ts";
import { $, type Child, h, replace } from "./dom.ts";
import { submissionTable } from "./pages/views.ts";
import type { Session } from "./session.ts";

export type QueueFilter = "state" | "flag" | "memberState" | "limb" | "tlp" | "submitter" | "days" | "search";

export type QueueSpec = {
  /** The element the queue renders into (its table's rows are `#<host> tbody tr`). */
  host: string;
  caption: string;
  /** Query parameters every page of this queue carries (scope, a fixed state, …). */
  base: Record<string, string>;
  filters?: QueueFilter[];
  sort?: SubmissionSort;
  pageSize?: number;
  extra?: { header: string; cell: (v: SubmissionView) => Child };
  empty: string;
  /** Authorities to offer as submitters (the public registry). */
  people?: ParticipantView[];
  /** Told the total after every load (headings show it). */
  onTotal?: (total: number) => void;
  /** Show the filters open (the page is the queue); otherwise they fold under "Filter, sort, search". */
  filtersOpen?: boolean;
  /**
   * Bulk actions: a checkbox on every row, "select all on this page", and a button per action
   * that acts on the selected entries (one signed batch record; the action's own confirmation
   * shows what will be signed). The selection is of the page shown and is cleared on every load.
   */
  bulk?: { label: string; run: (selected: SubmissionView[]) => Promise<boolean> }[];
};

const SORT_LABELS: Record<SubmissionSort, string> = {
  id: "entry id",
  newest: "newest first",
  oldest: "oldest first",
  member_state: "member state",
  most_false_positives: "most false positives",
  most_concurrences: "most concurrences",
};

const select = (name: string, label: string, options: [string, string][], value = "") =>
  h(
    "label",
    {},
    label,
    h(
      "select",
      { name },
      options.map(([v, l]) => h("option", { value: v, selected: v === value }, l)),
    ),
  );

export type Queue = { reload(): Promise<void> };

export function queue(s: Session, spec: QueueSpec): Queue {
  const host = $(spec.host);
  const id = spec.host;
  const size = spec.pageSize ?? 25;
  let offset = 0;
  const filters = spec.filters ?? [];
  const fixed = new Set(Object.keys(spec.base));

  const controls: HTMLElement[] = [];
  const add = (f: QueueFilter, el: HTMLElement) => {
    if (filters.includes(f)) controls.push(el);
  };
  add(
    "search",
    h("label", {}, "Search id or hash prefix", h("input", { type: "search", name: "q", spellcheck: false })),
  );
  if (!fixed.has("state"))
    add(
      "state",
      select("state", "State", [
        ["", "any"],
        ...ENTRY_STATES.map((x) => [x, ENTRY_STATE_LABELS[x]] as [string, string]),
      ]),
    );
  if (!fixed.has("flag"))
    add(
      "flag",
      select("flag", "Flag", [
        ["", "any"],
        ...ENTRY_FLAGS.map((x) => [x, ENTRY_FLAG_LABELS[x]] as [string, string]),
      ]),
    );
  add(
    "memberState",
    select("memberState", "Member state", [
      ["", "any"],
      ...EU_MEMBER_STATES.map((x) => [x, x] as [string, string]),
    ]),
  );
  add(
    "limb",
    select("limb", "TCO limb", [["", "any"], ...TCO_LIMBS.map((l) => [l, `(${l})`] as [string, string])]),
  );
  add(
    "tlp",
    select("tlp", "TLP", [
      ["", "any"],
      ["none", "none"],
      ...TLP_LEVELS.map((t) => [t, `TLP:${t.toUpperCase()}`] as [string, string]),
    ]),
  );
  add(
    "submitter",
    select("submitter", "Submitted by", [
      ["", "anyone"],
      ...(spec.people ?? [])
        .filter((p) => p.role === "authority")
        .map((p) => [p.id, `${p.displayName} (${p.memberState})`] as [string, string]),
    ]),
  );
  if (filters.includes("days")) {
    controls.push(h("label", {}, "Submitted from", h("input", { type: "date", name: "from" })));
    controls.push(h("label", {}, "to", h("input", { type: "date", name: "to" })));
  }
  controls.push(
    select(
      "sort",
      "Sort",
      SUBMISSION_SORTS.map((x) => [x, SORT_LABELS[x]]),
      spec.sort ?? "newest",
    ),
  );
  const form = h(
    "form",
    { class: "filters", "aria-label": `Filter ${spec.caption}`, novalidate: true },
    controls,
  );
  const status = h("p", { class: "queue-status", role: "status", id: `${id}-status` });
  const body = h("div", { class: "table" });
  // Bulk selection (spec.bulk): the entries ticked on the page shown.
  const selected = new Map<string, SubmissionView>();
  let shown: SubmissionView[] = [];
  const all = h("input", { type: "checkbox", id: `${id}-select-all`, "data-select-all": "1" });
  const count = h("span", { class: "hint", id: `${id}-selected`, "aria-live": "polite" }, "none selected");
  const actions = (spec.bulk ?? []).map((a) =>
    h("button", { type: "button", disabled: true, "data-bulk-action": a.label }, `${a.label} (0)…`),
  );
  const toolbar = spec.bulk
    ? h(
        "div",
        { class: "bulk", role: "group", "aria-label": `Act on selected entries of ${spec.caption}` },
        h("label", { class: "check", for: `${id}-select-all` }, all, " Select all on this page"),
        " ",
        count,
        " ",
        actions,
      )
    : null;
  const syncSelection = () => {
    const n = selected.size;
    replace(count, n === 0 ? "none selected" : `${n} selected`);
    (spec.bulk ?? []).forEach((a, i) => {
      actions[i]!.disabled = n === 0;
      actions[i]!.textContent = `${a.label} (${n})…`;
    });
    all.checked = shown.length > 0 && shown.every((v) => selected.has(v.id));
    all.indeterminate = n > 0 && !all.checked;
    for (const box of Array.from(body.querySelectorAll<HTMLInputElement>("input[data-select]")))
      box.checked = selected.has(box.value);
  };
  all.addEventListener("change", () => {
    if (all.checked) for (const v of shown) selected.set(v.id, v);
    else selected.clear();
    syncSelection();
  });
  (spec.bulk ?? []).forEach((a, i) => {
    actions[i]!.addEventListener("click", async () => {
      const chosen = shown.filter((v) => selected.has(v.id));
      if (chosen.length && (await a.run(chosen))) await load();
    });
  });
  const lead = spec.bulk
    ? {
        header: "Select",
        cell: (v: SubmissionView) => {
          const box = h("input", {
            type: "checkbox",
            value: v.id,
            "data-select": "1",
            "aria-label": `Select ${v.id}`,
          });
          box.addEventListener("change", () => {
            if (box.checked) selected.set(v.id, v);
            else selected.delete(v.id);
            syncSelection();
          });
          return box;
        },
      }
    : undefined;
  const prev = h(
    "button",
    { type: "button", "aria-label": `Previous page of ${spec.caption}` },
    "‹ Previous",
  );
  const next = h("button", { type: "button", "aria-label": `Next page of ${spec.caption}` }, "Next ›");
  const pager = h("nav", { class: "pager", "aria-label": `Pages of ${spec.caption}` }, prev, next);
  const box = h(
    "details",
    { class: "filters-box", open: spec.filtersOpen ?? false },
    h("summary", {}, "Filter, sort, search"),
    form,
  );
  replace(host, box, status, toolbar, body, pager);

  const params = () => {
    const q = new URLSearchParams(spec.base);
    // (Typed structurally: workers-types' HTMLRewriter Element clashes with the DOM's select.)
    for (const el of Array.from(form.querySelectorAll("[name]")) as unknown as {
      name: string;
      value: string;
    }[]) {
      const v = el.value.trim();
      if (v) q.set(el.name, el.name === "q" ? v.toLowerCase() : v);
    }
    q.set("limit", String(size));
    q.set("offset", String(offset));
    return q;
  };

  let seq = 0;
  /** The query whose answer is shown: a `change` that alters nothing (leaving the search box
   * after its answer came) does not reload the table, so the focus a keyboard user moved to a
   * row's button stays there. */
  let shownFor = "";
  const load = async () => {
    const mine = ++seq;
    const q = params();
    const search = q.get("q");
    // Search needs an id or 4+ hex characters; say so instead of asking the node.
    if (search && !/^(hsh_[0-9a-z]{1,40}|[0-9a-f]{4,64})$/.test(search)) {
      replace(status, "Search takes an entry id (hsh_…) or at least 4 hex characters of a hash.");
      return;
    }
    status.setAttribute("aria-busy", "true");
    try {
      const page = await get<{ submissions: SubmissionView[]; total: number }>(s, `/v1/submissions?${q}`);
      if (mine !== seq) return; // a newer load overtook this one
      shownFor = q.toString();
      const from = page.total === 0 ? 0 : offset + 1;
      const to = offset + page.submissions.length;
      replace(
        status,
        page.total === 0
          ? ""
          : `Showing ${from.toLocaleString("en")}–${to.toLocaleString("en")} of ${page.total.toLocaleString("en")} entr${page.total === 1 ? "y" : "ies"}.`,
      );
      shown = page.submissions;
      selected.clear();
      replace(body, submissionTable(spec.caption, page.submissions, spec.extra, spec.empty, lead));
      if (toolbar) toolbar.hidden = page.submissions.length === 0;
      syncSelection();
      prev.disabled = offset === 0;
      next.disabled = to >= page.total;
      pager.hidden = page.total <= size;
      host.dataset.total = String(page.total);
      spec.onTotal?.(page.total);
    } catch (e) {
      if (mine !== seq) return;
      replace(status, h("span", { class: "error" }, e instanceof ApiProblem ? e.describe() : String(e)));
    } finally {
      status.removeAttribute("aria-busy");
    }
  };

  let typing: ReturnType<typeof setTimeout> | undefined;
  /** The first page for the filters now, unless it is what is shown already. */
  const restart = () => {
    const was = offset;
    offset = 0;
    if (was === 0 && params().toString() === shownFor) return;
    void load();
  };
  form.addEventListener("change", () => {
    clearTimeout(typing);
    restart();
  });
  form.addEventListener("input", (e) => {
    if ((e.target as HTMLInputElement).name !== "q") return;
    clearTimeout(typing);
    typing = setTimeout(restart, 300);
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    offset = 0;
    void load();
  });
  prev.addEventListener("click", () => {
    offset = Math.max(0, offset - size);
    void load();
  });
  next.addEventListener("click", () => {
    offset += size;
    void load();
  });
  return { reload: load };
}
