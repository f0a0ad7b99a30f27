/** @jsxImportSource hono/jsx */
// /console/incidents: crisis incidents for coordinators (docs/incidents.md). A shell like the other
// signed-in pages; the browser module (web/pages/incidents.ts) lists the incidents, declares,
// extends and closes them through the confirmation dialog (signed in the page), and watches one
// live: its hash additions and removals by the fast lane's long-poll (GET
// /v1/incidents/{id}/hashes?wait=, held by the node until something changes) and its matches from
// the coordinator's report, re-read while the page watches.
import { EU_MEMBER_STATES, INCIDENT_MAX_HOURS, INCIDENT_MAX_TOTAL_DAYS } from "@eusn/protocol";
import type { Context } from "hono";
import type { AppEnv } from "../api/lib/hono.ts";
import { Layout, Section } from "./layout.tsx";

export function consoleIncidents(c: Context<AppEnv>) {
  return c.html(
    <Layout title="Crisis incidents" page="incidents" path="/console/incidents" roles={["coordinator"]}>
      <p>
        An incident is the network's fast and accountable exception for a crisis: while it is active,
        authorities' hashes tagged with it match at once, labelled <strong>provisional</strong>, before any
        quorum. They lapse by themselves at the incident's end or 72 h after submission, unless the normal
        rules include them first. An incident lasts at most {INCIDENT_MAX_HOURS} h when declared and never
        more than {INCIDENT_MAX_TOTAL_DAYS} days with extensions.
      </p>
      <Section id="incidents-list" title="Incidents">
        <p>
          <button type="button" id="incidents-refresh">
            Refresh
          </button>
        </p>
        <div class="table" id="incidents-table" />
      </Section>
      <Section id="incident-declare" title="Declare an incident">
        <form id="declare-form" novalidate>
          <label>
            Title <input name="title" id="declare-title" required minlength={3} maxlength={200} />
          </label>
          <label>
            Description{" "}
            <textarea name="description" id="declare-description" rows={3} required maxlength={4000} />
          </label>
          <fieldset class="inline" id="declare-states">
            <legend>Requested by (the member states that asked for it)</legend>
            {EU_MEMBER_STATES.map((s) => (
              <label class="check">
                <input type="checkbox" name="requestedBy" value={s} /> {s}
              </label>
            ))}
          </fieldset>
          <div class="grid">
            <label>
              Lasts (hours from now, at most {INCIDENT_MAX_HOURS}){" "}
              <input
                type="number"
                name="hours"
                id="declare-hours"
                min={1}
                max={INCIDENT_MAX_HOURS}
                value="24"
                required
              />
            </label>
          </div>
          <label class="check">
            <input type="checkbox" name="public" id="declare-public" /> Public: list its title and dates in
            the public statistics and publish its counts-only summary
          </label>
          <p id="declare-error" class="error" role="alert" />
          <p>
            <button type="submit" class="primary" id="declare-submit">
              Review and declare…
            </button>
          </p>
        </form>
      </Section>
      <section aria-labelledby="incident-watch-h" id="incident-watch" hidden>
        <h2 id="incident-watch-h">Watching</h2>
        <p id="watch-status" role="status" />
        <p>
          <button type="button" id="watch-stop">
            Stop watching
          </button>
        </p>
        <h3 id="watch-feed-h">Arrivals and removals (the fast lane, newest first)</h3>
        <p class="hint">
          What platforms following the incident receive: each hash to add to their matcher or remove from it,
          as the node answers it. The page holds a long-poll open and shows each change as it lands.
        </p>
        <div class="table" id="watch-feed" />
        <h3 id="watch-report-h">Entries and their matches</h3>
        <p class="hint">
          Per entry: when it was submitted, its first match as a provisional entry, how many match answers
          returned it labelled provisional and to how many platforms, the platforms' feedback and its fate
          now. Re-read every few seconds while you watch.
        </p>
        <div class="table" id="watch-report" />
      </section>
    </Layout>,
  );
}
