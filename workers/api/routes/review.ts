// /v1/review: a platform's review queue — the match results it kept (POST /v1/match with `keep`),
// a page at a time with each entry's state now and the platform's reported outcome, and the whole
// queue as CSV. Outcomes are reported with the signed feedback record
// (POST /v1/submissions/{id}/feedback), which marks the platform's items on that entry done.
import { ReviewPage, ReviewQuery } from "@eusn/protocol";
import { createRoute, z } from "@hono/zod-openapi";
import { access } from "../auth/access.ts";
import { config } from "../config.ts";
import { csv } from "../lib/csv.ts";
import { bearerSecurity, problems, type RouteContext, router } from "../lib/hono.ts";
import { reviewPage } from "../store/review.ts";

const app = router();

export const listReviewRoute = createRoute({
  method: "get",
  path: "/v1/review",
  tags: ["match"],
  summary: "My kept match results to review: open, done or all (platform)",
  description:
    "Most recently matched first. An item is done once you reported an outcome on its entry (feedback.create). Only the matched entry and your `ref` were kept, never the hash you sent; items are deleted REVIEW_RETENTION_DAYS after their last match.",
  security: bearerSecurity,
  middleware: [access(["platform"])] as const,
  request: { query: ReviewQuery },
  responses: {
    200: { description: "A page of the queue", content: { "application/json": { schema: ReviewPage } } },
    ...problems(400, 401, 403),
  },
});
export async function listReview(c: RouteContext<typeof listReviewRoute>) {
  const q = c.req.valid("query");
  const page = await reviewPage(c.var.db, c.env, c.var.caller!.participant.id, q);
  return c.json({ ...page, retentionDays: config(c.env).review.retentionDays }, 200);
}
app.openapi(listReviewRoute, listReview);

/** The most rows one export carries (the retention period keeps a queue well below it). */
const EXPORT_MAX = 20_000;

export const exportReviewRoute = createRoute({
  method: "get",
  path: "/v1/review/export",
  tags: ["match"],
  summary: "My review queue as CSV (platform)",
  description: `RFC 4180 CSV, one line per kept result (at most ${EXPORT_MAX.toLocaleString("en")}), with the entry's state now and your outcome. Text a spreadsheet could run as a formula is prefixed with an apostrophe.`,
  security: bearerSecurity,
  middleware: [access(["platform"])] as const,
  request: { query: ReviewQuery.pick({ status: true, ref: true }) },
  responses: {
    200: { description: "The queue", content: { "text/csv": { schema: z.string() } } },
    ...problems(400, 401, 403),
  },
});
export async function exportReview(c: RouteContext<typeof exportReviewRoute>) {
  const q = c.req.valid("query");
  const rows = [];
  for (let offset = 0; offset < EXPORT_MAX; offset += 500) {
    const page = await reviewPage(c.var.db, c.env, c.var.caller!.participant.id, {
      ...q,
      offset,
      limit: 500,
    });
    rows.push(...page.items);
    if (page.items.length < 500) break;
  }
  const body = csv(
    [
      "item",
      "ref",
      "entry",
      "state",
      "signal_type",
      "value",
      "member_state",
      "limbs",
      "national_provision",
      "first_matched_at",
      "last_matched_at",
      "times_matched",
      "outcome",
      "outcome_at",
      "outcome_record",
    ],
    rows.map((i) => [
      i.id,
      i.ref,
      i.submissionId,
      i.entry.state.name,
      i.entry.signalType,
      i.entry.value,
      i.entry.memberState,
      i.entry.limbs.join(" "),
      i.entry.nationalProvision,
      i.firstMatchedAt,
      i.lastMatchedAt,
      i.count,
      i.outcome?.outcome,
      i.outcome?.at,
      i.outcome?.recordId,
    ]),
  );
  const day = new Date().toISOString().slice(0, 10);
  return c.body(body, 200, {
    "content-type": "text/csv; charset=utf-8",
    "content-disposition": `attachment; filename="eusn-review-${day}.csv"`,
  });
}
app.openapi(exportReviewRoute, exportReview);

export default app;
