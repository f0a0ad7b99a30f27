// /v1/stats: public, aggregate-only figures for transparency reports (baseline entries per TCO limb
// and per member state, assessments, disputes, reversals, false-positive rates, matching volume),
// and /v1/stats/submissions/{id}: one entry's match counts per platform (coordinator). The figures
// and what they may name: store/stats.ts.

import {
  EntryMatches,
  MAX_WEEKS,
  NodeStats,
  SubmissionIdParam,
  WEEKLY_SERIES,
  WeeklyStats,
  WeeklyStatsQuery,
} from "@eusn/protocol";
import { createRoute, z } from "@hono/zod-openapi";
import { verifyAccess } from "../auth/verify.ts";
import { csv } from "../lib/csv.ts";
import { bearerSecurity, problems, type RouteContext, router } from "../lib/hono.ts";
import { ApiError } from "../lib/problem.ts";
import { computeStats, entryMatches } from "../store/stats.ts";
import { weeklyStats } from "../store/stats-weekly.ts";
import { getSubmission } from "../store/submissions.ts";

const app = router();

export const getStatsRoute = createRoute({
  method: "get",
  path: "/v1/stats",
  tags: ["stats"],
  summary: "Public aggregate statistics for transparency reports (no sign-in)",
  description:
    "Counts of baseline entries per TCO limb and per originating member state, submissions, assessments, disputes, decisions, withdrawals and reversals, platform feedback and false-positive rates, and matching volume. Aggregates only.",
  responses: {
    200: { description: "The figures now", content: { "application/json": { schema: NodeStats } } },
  },
});
export async function getStats(c: RouteContext<typeof getStatsRoute>) {
  c.header("cache-control", "public, max-age=60");
  return c.json(await computeStats(c.var.db, c.env), 200);
}
app.openapi(getStatsRoute, getStats);

export const getWeeklyStatsRoute = createRoute({
  method: "get",
  path: "/v1/stats/weekly",
  tags: ["stats"],
  summary: "Activity per week over a period, as JSON or CSV (public, no sign-in)",
  description: `For each ISO week (Monday to Sunday, UTC) from the week of \`from\` to the week of \`to\`: ${WEEKLY_SERIES.join(", ")}. Every week of the period is listed, empty ones with zeros. At most ${MAX_WEEKS} weeks; default: the 12 weeks up to today. Aggregates only.`,
  request: { query: WeeklyStatsQuery },
  responses: {
    200: {
      description: "The weeks",
      content: { "application/json": { schema: WeeklyStats }, "text/csv": { schema: z.string() } },
    },
    ...problems(400),
  },
});
export async function getWeeklyStats(c: RouteContext<typeof getWeeklyStatsRoute>) {
  const q = c.req.valid("query");
  const to = q.to ?? new Date().toISOString().slice(0, 10);
  const from =
    q.from ?? new Date(Date.parse(`${to}T00:00:00Z`) - 11 * 7 * 86_400_000).toISOString().slice(0, 10);
  if (from > to)
    throw new ApiError("validation_failed", "`from` is after `to`", [
      { path: "/query/from", message: "after `to`" },
    ]);
  if (Date.parse(to) - Date.parse(from) > (MAX_WEEKS - 1) * 7 * 86_400_000)
    throw new ApiError("validation_failed", `the period is longer than ${MAX_WEEKS} weeks`, [
      { path: "/query/from", message: `at most ${MAX_WEEKS} weeks before \`to\`` },
    ]);
  const stats = await weeklyStats(c.var.db, from, to);
  c.header("cache-control", "public, max-age=60");
  if (q.format === "csv")
    return c.body(
      csv(
        ["week", ...WEEKLY_SERIES],
        stats.weeks.map((w) => [w.week, ...WEEKLY_SERIES.map((s) => w[s])]),
      ),
      200,
      {
        "content-type": "text/csv; charset=utf-8",
        "content-disposition": `attachment; filename="eusn-weekly-${stats.from}-${stats.to}.csv"`,
      },
    );
  return c.json(stats, 200);
}
app.openapi(getWeeklyStatsRoute, getWeeklyStats);

export const getEntryMatchesRoute = createRoute({
  method: "get",
  path: "/v1/stats/submissions/{id}",
  tags: ["stats"],
  summary: "Match counts of one entry, per platform (coordinator)",
  description:
    "Which platforms matched the entry and how often: what a coordinator weighs with the feedback tally before a decision. Platforms carry no member state in the registry, so the breakdown is per platform.",
  security: bearerSecurity,
  request: { params: SubmissionIdParam },
  responses: {
    200: { description: "Match counts", content: { "application/json": { schema: EntryMatches } } },
    ...problems(400, 401, 403, 404),
  },
});
export async function getEntryMatches(c: RouteContext<typeof getEntryMatchesRoute>) {
  await verifyAccess(c.req.raw, c.env, c.var.db, ["coordinator"]);
  const { id } = c.req.valid("param");
  if (!(await getSubmission(c.var.db, id))) throw new ApiError("not_found", `no submission ${id}`);
  const byPlatform = await entryMatches(c.env, id);
  return c.json(
    {
      submissionId: id,
      platforms: byPlatform.length,
      total: byPlatform.reduce((a, r) => a + r.count, 0),
      byPlatform,
      note: "Counts of match requests that returned this entry; the queried hashes themselves are never stored.",
    },
    200,
  );
}
app.openapi(getEntryMatchesRoute, getEntryMatches);

export default app;
