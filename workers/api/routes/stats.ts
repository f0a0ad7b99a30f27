// /v1/stats: public, aggregate-only figures for transparency reports (baseline entries per TCO limb
// and per member state, assessments, disputes, reversals, false-positive rates, matching volume),
// and /v1/stats/submissions/{id}: one entry's match counts per platform (coordinator). The figures
// and what they may name: store/stats.ts.

import { EntryMatches, NodeStats, SubmissionIdParam } from "@eusn/protocol";
import { createRoute } from "@hono/zod-openapi";
import { verifyAccess } from "../auth/verify.ts";
import { bearerSecurity, problems, type RouteContext, router } from "../lib/hono.ts";
import { ApiError } from "../lib/problem.ts";
import { computeStats, entryMatches } from "../store/stats.ts";
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
