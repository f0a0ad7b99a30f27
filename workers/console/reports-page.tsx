/** @jsxImportSource hono/jsx */
// /console/reports: the TCO Art. 8 transparency report for an authority (its own) or a
// coordinator (every authority's, a member state's authorities together, or one authority's), as a
// printable page with charts. A shell like the other
// signed-in pages: the browser module (web/pages/reports.ts) reads GET /v1/reports/tco with the
// participant's own token and draws the figures; the server reads nothing on anyone's behalf.
import type { Context } from "hono";
import type { AppEnv } from "../api/lib/hono.ts";
import { Layout } from "./layout.tsx";

export function consoleReports(c: Context<AppEnv>) {
  const year = new Date().getUTCFullYear();
  return c.html(
    <Layout
      title="Transparency report (TCO Art. 8)"
      page="reports"
      path="/console/reports"
      roles={["authority", "coordinator"]}
    >
      <link rel="stylesheet" href="/console/assets/reports.css" />
      <form id="report-form" class="grid no-print" novalidate>
        <label>
          Year <input type="number" id="report-year" name="year" min={2020} max={2100} value={String(year)} />
        </label>
        <label>
          From (optional) <input type="date" id="report-from" name="from" />
        </label>
        <label>
          To, exclusive (optional) <input type="date" id="report-to" name="to" />
        </label>
        <label id="report-state-label" hidden>
          Member state{" "}
          <select id="report-state" name="memberState">
            <option value="">every member state</option>
          </select>
        </label>
        <label id="report-authority-label" hidden>
          Authority{" "}
          <select id="report-authority" name="authority">
            <option value="">every authority</option>
          </select>
        </label>
        <p class="buttons">
          <button type="submit" class="primary">
            Show
          </button>{" "}
          <button type="button" id="report-csv">
            Download CSV
          </button>{" "}
          <button type="button" id="report-print">
            Print
          </button>
        </p>
      </form>
      <div id="report-body" aria-live="polite" />
    </Layout>,
  );
}
