// Coordinator: crisis incidents (docs/incidents.md). Lists them; declares, extends and closes one
// through the confirmation dialog (incident.declare / incident.extend / incident.close, signed
// here); watches one live: its fast lane (GET /v1/incidents/{id}/hashes?after=&wait=25, a
// long-poll the node holds until a write changes the incident's hashes, so arrivals show within a
// round trip of the authority's submission) and its entries' matches from the report, re-read
// every few seconds while watching (matches are not feed changes).
import {
  INCIDENT_MAX_HOURS,
  INCIDENT_MAX_TOTAL_DAYS,
  INCIDENT_MAX_WAIT_S,
  type IncidentHashChange,
  type IncidentHashPage,
  type IncidentList,
  type IncidentReport,
  type IncidentView,
} from "@eusn/protocol";
import { ApiProblem, get } from "../api.ts";
import { confirmWrite, reasonField } from "../confirm.ts";
import { $, button, entryLink, formValues, h, hashCell, replace, table, when } from "../dom.ts";
import { refreshIncidentBanner } from "../incident-banner.ts";
import type { Session } from "../session.ts";
import { stateBadge } from "./views.ts";

const HOUR = 3600_000;
/** How often the watched incident's report (its matches) is read again. */
const REPORT_EVERY_MS = 4000;
/** Lines of the fast lane kept on the page. */
const FEED_LINES = 200;

type Written = { incident: IncidentView };

const counts = (i: IncidentView) =>
  `${i.provisional.submitted} submitted, ${i.provisional.active} provisional now, ${i.provisional.included} included, ${i.provisional.lapsed} lapsed`;

/** The later ends an extension may choose: +6 h … up to the 7-day limit from the start. */
function extensionOptions(i: IncidentView): [string, string][] {
  const limit = Date.parse(i.startsAt) + INCIDENT_MAX_TOTAL_DAYS * 24 * HOUR;
  const end = Date.parse(i.endsAt);
  const out: [string, string][] = [];
  for (const hrs of [6, 12, 24, 48, 72]) {
    const t = end + hrs * HOUR;
    if (t <= limit)
      out.push([new Date(t).toISOString(), `+${hrs} h: until ${when(new Date(t).toISOString())}`]);
  }
  if (limit > end && !out.some(([v]) => v === new Date(limit).toISOString()))
    out.push([
      new Date(limit).toISOString(),
      `to the ${INCIDENT_MAX_TOTAL_DAYS}-day limit: ${when(new Date(limit).toISOString())}`,
    ]);
  return out;
}

export default async function incidents(s: Session | null) {
  if (!s) return;
  let watching: { id: string; gen: number } | null = null;
  let gen = 0;

  const load = async () => {
    const { incidents: list } = await get<IncidentList>(s, "/v1/incidents");
    replace(
      $("incidents-table"),
      table(
        `${list.length} incident(s), newest first`,
        ["Incident", "Status", "Starts", "Ends", "Requested by", "Entries", ""],
        list.map((i) => [
          [h("strong", {}, i.title), h("br"), h("code", {}, i.id), i.public ? " (public)" : ""],
          stateBadge(i.status),
          when(i.startsAt),
          [
            when(i.closedAt ?? i.endsAt),
            i.closedAt ? " (closed)" : "",
            i.extensions ? ` (${i.extensions} extension(s))` : "",
          ],
          i.requestedBy.join(", "),
          counts(i),
          h(
            "span",
            { class: "buttons" },
            button("Watch", () => void watch(i), { "aria-label": `Watch ${i.title}` }),
            i.status === "active"
              ? [
                  " ",
                  button("Extend…", () => void extend(i), { "aria-label": `Extend ${i.title}` }),
                  " ",
                  button("Close…", () => void close(i), { "aria-label": `Close ${i.title}` }),
                ]
              : "",
          ),
        ]),
        "No incident has been declared.",
      ),
    );
    return list;
  };

  const after = async (r: { data: Written } | null) => {
    if (!r) return;
    await Promise.all([
      load(),
      refreshIncidentBanner(s),
      watching?.id === r.data.incident.id ? watch(r.data.incident) : null,
    ]);
  };

  const extend = async (i: IncidentView) => {
    const options = extensionOptions(i);
    if (options.length === 0) {
      $("flash").textContent = `${i.title} already ends at the ${INCIDENT_MAX_TOTAL_DAYS}-day limit.`;
      return;
    }
    await after(
      await confirmWrite<Written>(s, {
        title: `Extend “${i.title}”`,
        intro: `It ends ${when(i.endsAt)}; an extension moves the end later, never beyond ${INCIDENT_MAX_TOTAL_DAYS} days from its start (${when(i.startsAt)}). Its provisional entries still lapse 72 h after each was submitted.`,
        kind: "incident.extend",
        path: `/v1/incidents/${encodeURIComponent(i.id)}/extend`,
        fields: [{ name: "endsAt", label: "New end", type: "select", options }, reasonField()],
        record: (v) => ({ incidentId: i.id, endsAt: v.endsAt, reason: String(v.reason ?? "").trim() }),
      }),
    );
  };

  const close = async (i: IncidentView) =>
    after(
      await confirmWrite<Written>(s, {
        title: `Close “${i.title}”`,
        intro: `Its ${i.provisional.active} provisional entr${i.provisional.active === 1 ? "y" : "ies"} not included by now lapse in the same write: no platform is answered them after it is stored, and platforms that matched one see it among their reversals.`,
        kind: "incident.close",
        path: `/v1/incidents/${encodeURIComponent(i.id)}/close`,
        fields: [reasonField()],
        record: (v) => ({ incidentId: i.id, reason: String(v.reason ?? "").trim() }),
      }),
    );

  const declareForm = $("declare-form") as unknown as HTMLFormElement;
  declareForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = formValues(declareForm);
    const states = (v.requestedBy as string[]) ?? [];
    const hours = Number(v.hours);
    const problems: string[] = [];
    if (String(v.title ?? "").trim().length < 3) problems.push("Give the incident a title.");
    if (String(v.description ?? "").trim().length < 3) problems.push("Describe what happened.");
    if (states.length === 0) problems.push("Name the member states that asked for it.");
    if (!Number.isInteger(hours) || hours < 1 || hours > INCIDENT_MAX_HOURS)
      problems.push(`It lasts 1 to ${INCIDENT_MAX_HOURS} hours.`);
    replace($("declare-error"), problems.join(" "));
    if (problems.length) return;
    // The time box starts when the record is signed (the preview shows it as it will be sent).
    const record = () => {
      const start = Date.now();
      return {
        title: String(v.title).trim(),
        description: String(v.description).trim(),
        requestedBy: states,
        startsAt: new Date(start).toISOString(),
        endsAt: new Date(start + hours * HOUR).toISOString(),
        public: v.public === true,
      };
    };
    const r = await confirmWrite<Written>(s, {
      title: "Declare a crisis incident",
      intro: `From now for ${hours} h, authorities may submit hashes tagged with it; they match at once, labelled provisional, and lapse at its end or 72 h after submission unless included first. Every participant sees a banner while it is active.`,
      kind: "incident.declare",
      path: "/v1/incidents",
      record,
    });
    if (!r) return;
    declareForm.reset();
    await after(r);
    await watch(r.data.incident);
  });

  // ---- watching one incident ------------------------------------------------------------------

  const feedRows: IncidentHashChange[] = [];
  const renderFeed = () =>
    replace(
      $("watch-feed"),
      table(
        `${feedRows.length} change(s) shown`,
        ["When", "Do", "Change", "Entry", "Hash", "Provisional until"],
        feedRows.map((c) => [
          when(c.at),
          stateBadge(c.op),
          c.change,
          entryLink(c.submissionId),
          [h("span", { class: "type" }, c.signalType), " ", hashCell(c.value)],
          c.provisional ? when(c.provisional.lapsesAt) : "—",
        ]),
        "Nothing yet: the page shows each hash as it arrives.",
      ),
    );

  const readReport = async (id: string, mine: number) => {
    const rep = await get<IncidentReport>(s, `/v1/incidents/${encodeURIComponent(id)}/report`);
    if (watching?.gen !== mine) return;
    const i = rep.incident;
    replace(
      $("watch-status"),
      stateBadge(i.status),
      ` ${i.title}: ${when(i.startsAt)} to ${when(i.closedAt ?? i.endsAt)}${i.closedAt ? " (closed)" : ""}. ${counts(i)}; `,
      h(
        "span",
        { id: "watch-matches" },
        `${rep.entries.reduce((n, e) => n + e.matches, 0)} provisional match(es)`,
      ),
      ".",
    );
    replace(
      $("watch-report"),
      table(
        `${rep.entries.length} entr${rep.entries.length === 1 ? "y" : "ies"} of the incident`,
        ["Entry", "Origin", "Hash", "Submitted", "First match", "Matches", "Platforms", "Feedback", "Fate"],
        rep.entries.map((e) => [
          entryLink(e.submissionId),
          e.memberState,
          [h("span", { class: "type" }, e.signalType), " ", hashCell(e.value)],
          when(e.submittedAt),
          when(e.firstMatchAt),
          h("span", { "data-matches": e.submissionId }, String(e.matches)),
          String(e.platforms),
          `${e.feedback.truePositive} TP / ${e.feedback.falsePositive} FP / ${e.feedback.notActioned} NA`,
          h("span", { class: `badge b-${e.fate}`, "data-fate": e.submissionId }, e.fate),
        ]),
        "No entry has been submitted with this incident yet.",
      ),
    );
  };

  /** Follows the fast lane with long-polls until another incident is watched or watching stops. */
  const follow = async (id: string, mine: number) => {
    let cursor = 0;
    while (watching?.gen === mine) {
      try {
        const page = await get<IncidentHashPage>(
          s,
          `/v1/incidents/${encodeURIComponent(id)}/hashes?after=${cursor}&wait=${page0(cursor)}`,
        );
        if (watching?.gen !== mine) return;
        cursor = page.next;
        if (page.changes.length > 0) {
          feedRows.unshift(...[...page.changes].reverse());
          feedRows.length = Math.min(feedRows.length, FEED_LINES);
          renderFeed();
          await readReport(id, mine);
        }
      } catch (e) {
        if (watching?.gen !== mine) return;
        replace(
          $("watch-status"),
          `The fast lane answered: ${e instanceof ApiProblem ? e.describe() : String(e)}; retrying.`,
        );
        await new Promise((r) => setTimeout(r, 3000));
      }
    }
  };
  // The first page answers at once (everything so far); later ones are held by the node.
  const page0 = (cursor: number) => (cursor === 0 ? 0 : INCIDENT_MAX_WAIT_S);

  const poll = async (id: string, mine: number) => {
    while (watching?.gen === mine) {
      await new Promise((r) => setTimeout(r, REPORT_EVERY_MS));
      if (watching?.gen !== mine) return;
      // Not while the tab is in the background: the report is for someone looking at it.
      if (document.visibilityState === "hidden") continue;
      await readReport(id, mine).catch(() => {});
    }
  };

  const watch = async (i: IncidentView) => {
    if (watching?.id === i.id) {
      await readReport(i.id, watching.gen);
      return;
    }
    const mine = ++gen;
    watching = { id: i.id, gen: mine };
    feedRows.length = 0;
    const section = $("incident-watch");
    section.hidden = false;
    section.dataset.incident = i.id;
    replace($("incident-watch-h"), `Watching “${i.title}”`);
    renderFeed();
    await readReport(i.id, mine);
    void follow(i.id, mine);
    void poll(i.id, mine);
  };

  $("watch-stop").addEventListener("click", () => {
    watching = null;
    $("incident-watch").hidden = true;
  });
  $("incidents-refresh").addEventListener("click", () => void load());

  const list = await load();
  // Watch the active incident there is, if one.
  const active = list.find((i) => i.status === "active");
  if (active) await watch(active);
}
