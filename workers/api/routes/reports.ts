// /v1/reports/tco: the TCO Art. 8 transparency report figures EUSN can know, per quarter, as JSON
// or CSV. An authority reads its own report only; a coordinator reads every authority's together,
// one member state's authorities together (`?memberState=`) or one authority's (`?authority=`).
// Every figure lists the signed records it counts.
import { TcoReport, TcoReportQuery } from "@eusn/protocol";
import { createRoute, z } from "@hono/zod-openapi";
import { access } from "../auth/access.ts";
import { bearerSecurity, problems, type RouteContext, router } from "../lib/hono.ts";
import { ApiError } from "../lib/problem.ts";
import { getParticipant } from "../store/participants.ts";
import { type ReportScope, reportCsv, tcoReport, yearPeriod } from "../store/reports.ts";

const app = router();

export const getTcoReportRoute = createRoute({
  method: "get",
  path: "/v1/reports/tco",
  tags: ["reports"],
  summary:
    "Transparency report figures under TCO Art. 8, per quarter (authority: its own; coordinator: all, a member state's, or one authority's)",
  description:
    "Hashes submitted, assessments given and received, inclusions, disputes, withdrawals, reversals by ground (complaints upheld among them) and platforms' match reports (true and false positives), per calendar quarter of `year` (UTC; `from`/`to` count a part of it), each with the ids of the signed records it counts (GET /v1/records/{id}). `format=csv` answers one row per figure and quarter. A coordinator names one authority (`authority`) or one member state (`memberState`: its authorities together), not both (400). An authority naming another authority, or a member state, is refused (403): it reads its own figures only.",
  security: bearerSecurity,
  middleware: [access(["authority", "coordinator"])] as const,
  request: { query: TcoReportQuery },
  responses: {
    200: {
      description: "The report",
      content: { "application/json": { schema: TcoReport }, "text/csv": { schema: z.string() } },
    },
    ...problems(400, 401, 403, 404),
  },
});
export async function getTcoReport(c: RouteContext<typeof getTcoReportRoute>) {
  const { year, format, authority, memberState, from, to } = c.req.valid("query");
  // A part of the year at most: the quarters are the year's, and a figure never counts a record
  // of another year under this one's name.
  const period = { ...yearPeriod(year), ...(from ? { from } : {}), ...(to ? { to } : {}) };
  const bad: { path: string; message: string }[] = [];
  if (period.from < `${year}-01-01` || period.from >= `${year + 1}-01-01`)
    bad.push({ path: "/from", message: `a day of ${year}` });
  if (period.to <= period.from || period.to > `${year + 1}-01-01`)
    bad.push({ path: "/to", message: `after from, at most ${year + 1}-01-01` });
  if (bad.length > 0) throw new ApiError("validation_failed", "the period is not a part of the year", bad);
  const me = c.var.caller!.participant;
  let scope: ReportScope;
  if (me.role === "authority") {
    // A member state's report holds the other authorities of that state: not this one's to read.
    if ((authority && authority !== me.id) || memberState)
      throw new ApiError(
        "forbidden",
        "an authority reads its own report; a coordinator reads every authority's or a member state's",
      );
    scope = { authorityId: me.id };
  } else if (authority && memberState) {
    throw new ApiError("validation_failed", "name one authority or one member state, not both", [
      { path: "/memberState", message: "not with authority" },
    ]);
  } else if (authority) {
    const p = await getParticipant(c.var.db, authority);
    if (p?.role !== "authority") throw new ApiError("not_found", `no authority ${authority}`);
    scope = { authorityId: authority };
  } else scope = memberState ? { memberState } : "all";
  const report = await tcoReport(c.var.db, c.env.NODE_ID, year, scope, period);
  c.header("cache-control", "no-store");
  if (format === "csv") {
    c.header(
      "content-disposition",
      `attachment; filename="tco-report-${year}${scope === "all" ? "" : `-${"authorityId" in scope ? scope.authorityId : scope.memberState}`}${from || to ? `-${period.from}-to-${period.to}` : ""}.csv"`,
    );
    return c.body(reportCsv(report), 200, { "content-type": "text/csv; charset=utf-8" });
  }
  return c.json(report, 200);
}
app.openapi(getTcoReportRoute, getTcoReport);

export default app;
