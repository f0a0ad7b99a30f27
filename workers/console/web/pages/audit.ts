// Coordinator: the audit trail, paged from GET /v1/audit (500 entries a page, "Load more" for the
// next) and filtered here by kind, actor, subject and date. Each entry can show its signed
// record (GET /v1/records/{id}, the exact JWS, decoded in the page).
import { type ParticipantView, RECORD_SCHEMAS } from "@eusn/protocol";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { get, getPublic, getText } from "../api.ts";
import { $, h, replace, table, when } from "../dom.ts";
import type { Session } from "../session.ts";

type Entry = {
  seq: number;
  kind: string;
  recordId: string | null;
  subjectId: string | null;
  actor: string;
  at: string;
  jwsSha256: string | null;
};

export default async function audit(s: Session | null) {
  if (!s) return;
  const entries: Entry[] = [];
  let next: number | null = 0;
  const people = new Map<string, ParticipantView>();
  for (const p of (await getPublic<{ participants: ParticipantView[] }>("/v1/participants")).participants)
    people.set(p.id, p);

  const kindSel = $("audit-kind") as unknown as HTMLSelectElement;
  const actorSel = $("audit-actor") as unknown as HTMLSelectElement;
  const subject = $("audit-subject") as unknown as HTMLInputElement;
  const from = $("audit-from") as unknown as HTMLInputElement;
  const to = $("audit-to") as unknown as HTMLInputElement;
  const more = $("audit-more") as unknown as HTMLButtonElement;

  const fillSelects = () => {
    const kinds = new Set([...Object.keys(RECORD_SCHEMAS), ...entries.map((e) => e.kind)]);
    const keepKind = kindSel.value;
    replace(
      kindSel,
      h("option", { value: "" }, "any"),
      [...kinds].sort().map((k) => h("option", { value: k }, k)),
    );
    kindSel.value = keepKind;
    const keepActor = actorSel.value;
    const actors = new Set([...people.keys(), ...entries.map((e) => e.actor)]);
    replace(
      actorSel,
      h("option", { value: "" }, "anyone"),
      [...actors].sort().map((a) => h("option", { value: a }, `${people.get(a)?.displayName ?? a} (${a})`)),
    );
    actorSel.value = keepActor;
  };

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

  let shownFor = "";
  const render = () => {
    const k = kindSel.value;
    const a = actorSel.value;
    const sub = subject.value.trim().toLowerCase();
    const f = from.value ? `${from.value}T00:00:00` : "";
    const t = to.value ? `${to.value}T23:59:59.999` : "";
    // `change` follows `input` on blur: redraw only when the result can differ, so a record
    // someone just opened is not swept away.
    const key = JSON.stringify([k, a, sub, f, t, entries.length]);
    if (key === shownFor) return;
    shownFor = key;
    const shown = entries.filter(
      (e) =>
        (!k || e.kind === k) &&
        (!a || e.actor === a) &&
        (!sub || (e.subjectId ?? "").toLowerCase().includes(sub)) &&
        (!f || e.at >= f) &&
        (!t || e.at <= t),
    );
    replace(
      $("audit-count"),
      `Showing ${shown.length} of ${entries.length} loaded entr${entries.length === 1 ? "y" : "ies"}.`,
    );
    replace(
      $("audit-table"),
      table(
        "Audit trail entries (newest last)",
        ["#", "When", "Kind", "Actor", "Subject", "Record"],
        shown.map((e) => [
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

  const load = async () => {
    if (next === null) return;
    more.disabled = true;
    const page = await get<{ entries: Entry[]; next: number | null }>(s, `/v1/audit?after=${next}&limit=500`);
    entries.push(...page.entries);
    next = page.next;
    more.disabled = false;
    fillSelects();
    render();
  };
  for (const el of [kindSel, actorSel, subject, from, to]) {
    el.addEventListener("input", render);
    el.addEventListener("change", render);
  }
  ($("audit-filters") as unknown as HTMLFormElement).addEventListener("submit", (e) => e.preventDefault());
  more.addEventListener("click", () => void load());
  await load();
}
