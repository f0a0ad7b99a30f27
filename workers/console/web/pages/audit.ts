// Coordinator: the audit trail, newest first, filtered by the node (GET /v1/audit: kind, actor,
// subject prefix, days), 100 entries a page with "Load older entries" for the next. Each entry
// can show its signed record (GET /v1/records/{id}, the exact JWS, decoded in the page).
import { type AuditEntry, type ParticipantView, RECORD_SCHEMAS } from "@eusn/protocol";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { ApiProblem, get, getPublic, getText } from "../api.ts";
import { $, h, replace, table, when } from "../dom.ts";
import type { Session } from "../session.ts";

const PAGE = 100;

export default async function audit(s: Session | null) {
  if (!s) return;
  const [plist, facets] = await Promise.all([
    getPublic<{ participants: ParticipantView[] }>("/v1/participants"),
    get<{ kinds: string[]; actors: string[] }>(s, "/v1/audit/facets"),
  ]);
  const people = new Map(plist.participants.map((p) => [p.id, p]));

  const kindSel = $("audit-kind") as unknown as HTMLSelectElement;
  const actorSel = $("audit-actor") as unknown as HTMLSelectElement;
  const subject = $("audit-subject") as unknown as HTMLInputElement;
  const from = $("audit-from") as unknown as HTMLInputElement;
  const to = $("audit-to") as unknown as HTMLInputElement;
  const more = $("audit-more") as unknown as HTMLButtonElement;

  const kinds = new Set([...Object.keys(RECORD_SCHEMAS), ...facets.kinds]);
  replace(
    kindSel,
    h("option", { value: "" }, "any"),
    [...kinds].sort().map((k) => h("option", { value: k }, k)),
  );
  const actors = new Set([...people.keys(), ...facets.actors]);
  replace(
    actorSel,
    h("option", { value: "" }, "anyone"),
    [...actors].sort().map((a) => h("option", { value: a }, `${people.get(a)?.displayName ?? a} (${a})`)),
  );

  const recordView = (id: string) => {
    const d = h("details", {}, h("summary", {}, "signed record"));
    d.addEventListener("toggle", async () => {
      if (!d.open || d.dataset.loaded) return;
      d.dataset.loaded = "1";
      try {
        const jws = await getText(s, `/v1/records/${encodeURIComponent(id)}`);
        d.appendChild(
          h(
            "pre",
            { tabindex: 0 },
            JSON.stringify({ header: decodeProtectedHeader(jws), claims: decodeJwt(jws) }, null, 2),
          ),
        );
      } catch (e) {
        d.appendChild(h("p", { class: "error" }, (e as Error).message));
      }
    });
    return d;
  };

  let entries: AuditEntry[] = [];
  let next: number | null = null;
  let total = 0;
  let shownFor = "";
  let seq = 0;

  const query = () => {
    const q = new URLSearchParams({ order: "desc", limit: String(PAGE) });
    if (kindSel.value) q.set("kind", kindSel.value);
    if (actorSel.value) q.set("actor", actorSel.value);
    const sub = subject.value.trim();
    // The node takes a subject prefix of two characters or more.
    if (sub.length >= 2) q.set("subject", sub);
    if (from.value) q.set("from", from.value);
    if (to.value) q.set("to", to.value);
    return q;
  };

  const render = () => {
    replace(
      $("audit-count"),
      `Showing the newest ${entries.length.toLocaleString("en")} of ${total.toLocaleString("en")} matching entr${total === 1 ? "y" : "ies"}.`,
    );
    replace(
      $("audit-table"),
      table(
        "Audit trail entries (newest first)",
        ["#", "When", "Kind", "Actor", "Subject", "Record"],
        entries.map((e) => [
          String(e.seq),
          when(e.at),
          e.kind,
          [people.get(e.actor)?.displayName ?? "", " ", h("code", {}, e.actor)],
          e.subjectId ? h("code", {}, e.subjectId) : "—",
          e.recordId ? [h("code", {}, e.recordId), recordView(e.recordId)] : "—",
        ]),
        "No entry matches the filters.",
      ),
    );
    more.hidden = next === null;
  };

  /** The first page for the filters now (`more`: the next, older page). */
  const load = async (older = false) => {
    const q = query();
    const key = q.toString();
    // `change` follows `input` on blur: ask again only when the answer can differ, so a record
    // someone just opened is not swept away.
    if (!older && key === shownFor) return;
    if (older && next !== null) q.set("before", String(next));
    else q.set("count", "true");
    const mine = ++seq;
    more.disabled = true;
    try {
      const page = await get<{ entries: AuditEntry[]; next: number | null; total?: number }>(
        s,
        `/v1/audit?${q}`,
      );
      if (mine !== seq) return;
      shownFor = key;
      entries = older ? [...entries, ...page.entries] : page.entries;
      next = page.next;
      if (page.total !== undefined) total = page.total;
      render();
    } catch (e) {
      if (mine !== seq) return;
      replace(
        $("audit-count"),
        h("span", { class: "error" }, e instanceof ApiProblem ? e.describe() : String(e)),
      );
    } finally {
      more.disabled = false;
    }
  };

  let typing: ReturnType<typeof setTimeout> | undefined;
  for (const el of [kindSel, actorSel, from, to]) el.addEventListener("change", () => void load());
  subject.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => void load(), 300);
  });
  subject.addEventListener("change", () => void load());
  ($("audit-filters") as unknown as HTMLFormElement).addEventListener("submit", (e) => {
    e.preventDefault();
    void load();
  });
  more.addEventListener("click", () => void load(true));
  await load();
}
