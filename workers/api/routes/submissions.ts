// /v1/submissions: authorities submit hashes and assess each other's; coordinators decide on
// the baseline and reverse; platforms give feedback on what they matched. The rules of each
// signed write live in its applier (apply/submissions.ts), shared with federation.

import {
  CurationQuery,
  CurationQueue,
  SubmissionDetail,
  SubmissionIdParam,
  SubmissionListQuery,
  SubmissionPage,
  SubmitResult,
  type WriteReceipt,
} from "@eusn/protocol";
import { createRoute } from "@hono/zod-openapi";
import { inArray } from "drizzle-orm";
import { submissions } from "../../../schema/index.ts";
import { applyAndCommit } from "../apply/commit.ts";
import { localContext } from "../apply/context.ts";
import {
  createAssessment,
  createFeedback,
  createSubmissions,
  decideBaseline,
  reverseSubmission,
  withdrawSubmission,
} from "../apply/submissions.ts";
import { access } from "../auth/access.ts";
import { verifyWrite } from "../auth/verify.ts";
import { chunk } from "../lib/db.ts";
import {
  bearerSecurity,
  problems,
  type RouteContext,
  receiptResponse,
  router,
  signedBody,
} from "../lib/hono.ts";
import { ApiError } from "../lib/problem.ts";
import { policy, type SubmissionRow } from "../rules/baseline.ts";
import { curationQueue } from "../store/curation.ts";
import { commitWrite } from "../store/records.ts";
import { submissionDetail, submissionPage } from "../store/submission-lists.ts";
import { viewsOf } from "../store/submissions.ts";

const app = router();

export const postSubmissionsRoute = createRoute({
  method: "post",
  path: "/v1/submissions",
  tags: ["submissions"],
  summary: "Submit one or a batch (≤ 1,000) of hashes (authority)",
  description:
    "All-or-nothing. The same value by the same authority is idempotent (answered as `existing`; when every item exists nothing is stored and the answer is 200). The same value by another authority becomes a second submission linked to the first. PDQ below quality 50 is refused unless `force`, and then flagged lowQuality.",
  request: { body: signedBody("submission.create", "SubmitRecord") },
  responses: {
    201: { description: "Stored", content: { "application/json": { schema: SubmitResult } } },
    200: {
      description: "Every item already existed",
      content: { "application/json": { schema: SubmitResult } },
    },
    ...problems(400, 401, 403, 409, 413, 415),
  },
});
export async function postSubmissions(c: RouteContext<typeof postSubmissionsRoute>) {
  const w = await verifyWrite(c.req.raw, c.env, c.var.db, "submission.create", createSubmissions.roles);
  const applied = await createSubmissions.apply(c.var.db, c.env, w, localContext(c.env));
  const { fresh, ids } = applied;
  let receipt: WriteReceipt | null = null;
  if (fresh.length > 0) {
    receipt = await commitWrite(c.var.db, c.env, w, applied.subjectId, applied.statements);
  }
  const all: SubmissionRow[] = [];
  for (const part of chunk(ids, 90)) {
    all.push(...(await c.var.db.select().from(submissions).where(inArray(submissions.id, part))));
  }
  const byId = new Map(all.map((r) => [r.id, r]));
  const p = await policy(c.var.db, c.env);
  const views = await viewsOf(
    c.var.db,
    ids.map((id) => byId.get(id)!),
    p,
  );
  return c.json(
    {
      receipt,
      submissions: views.map((v) => ({
        id: v.id,
        signalType: v.signalType,
        value: v.value,
        outcome: fresh.some((f) => f.id === v.id) ? ("created" as const) : ("existing" as const),
        lowQuality: v.lowQuality,
        linked: v.linked,
      })),
    },
    receipt ? 201 : 200,
  );
}
app.openapi(postSubmissionsRoute, postSubmissions);

export const listSubmissionsRoute = createRoute({
  method: "get",
  path: "/v1/submissions",
  tags: ["submissions"],
  summary: "List submissions (authority: mine / awaiting my assessment; coordinator: all)",
  security: bearerSecurity,
  middleware: [access(["authority", "coordinator"])] as const,
  request: { query: SubmissionListQuery },
  responses: {
    200: {
      description: "A page of submissions",
      content: {
        "application/json": { schema: SubmissionPage },
      },
    },
    ...problems(400, 401, 403),
  },
});
export async function listSubmissions(c: RouteContext<typeof listSubmissionsRoute>) {
  const caller = c.var.caller!;
  const q = c.req.valid("query");
  const me = caller.participant;
  if (q.scope !== "all" && me.role !== "authority")
    throw new ApiError("forbidden", `scope ${q.scope} is for authorities`);
  return c.json(await submissionPage(c.var.db, c.env, me, q), 200);
}
app.openapi(listSubmissionsRoute, listSubmissions);

export const showSubmissionRoute = createRoute({
  method: "get",
  path: "/v1/submissions/{id}",
  tags: ["submissions"],
  summary: "One entry with its full signed history (authority, coordinator)",
  security: bearerSecurity,
  middleware: [access(["authority", "coordinator"])] as const,
  request: { params: SubmissionIdParam },
  responses: {
    200: {
      description: "The entry, its tallies and every signed record about it, in order",
      content: {
        "application/json": { schema: SubmissionDetail },
      },
    },
    ...problems(400, 401, 403, 404),
  },
});
export async function showSubmission(c: RouteContext<typeof showSubmissionRoute>) {
  const { id } = c.req.valid("param");
  const detail = await submissionDetail(c.var.db, c.env, id);
  if (!detail) throw new ApiError("not_found", `no submission ${id}`);
  return c.json(detail, 200);
}
app.openapi(showSubmissionRoute, showSubmission);

function samePath(pathId: string, recordId: string) {
  if (pathId !== recordId)
    throw new ApiError("bad_request", "the signed record names another submission than the path");
}

export const postAssessmentRoute = createRoute({
  method: "post",
  path: "/v1/submissions/{id}/assessments",
  tags: ["submissions"],
  summary: "Concur or dissent (another authority)",
  description:
    "One live assessment per authority per submission: a later one replaces the earlier (both kept). The submitter cannot assess its own submission. A dissent needs a reason; a dissent on an included entry marks it disputed. If the authority is later revoked, its assessments stay on record but stop counting.",
  request: {
    params: SubmissionIdParam,
    body: signedBody("assessment.create", "AssessRecord"),
  },
  responses: { 201: receiptResponse, ...problems(400, 401, 403, 404, 409, 413, 415) },
});
export async function postAssessment(c: RouteContext<typeof postAssessmentRoute>) {
  const { id } = c.req.valid("param");
  const w = await verifyWrite(c.req.raw, c.env, c.var.db, "assessment.create", createAssessment.roles);
  samePath(id, w.record.submissionId);
  return c.json(await applyAndCommit(c.var.db, c.env, w, createAssessment), 201);
}
app.openapi(postAssessmentRoute, postAssessment);

export const postDecisionRoute = createRoute({
  method: "post",
  path: "/v1/submissions/{id}/decisions",
  tags: ["baseline"],
  summary: "Include, exclude or retire a baseline entry (coordinator)",
  description:
    "`include` is refused unless the entry is eligible (concurring authorities from distinct member states, the submitter's included, reach the quorum, with no live dissent) and the decision cites live concurrences that by themselves reach the quorum. Only active authorities count: a revoked authority's assessments (and its member state as submitter) count for nothing and cannot be cited (422). The rule is checked again as the decision's batch lands: if an authority was revoked or a dissent arrived meanwhile, nothing is stored (409). `exclude` takes an entry out of the baseline and out of matching; `retire` takes it out of the baseline (it still matches in scope `all`).",
  request: {
    params: SubmissionIdParam,
    body: signedBody("baseline.decide", "BaselineDecisionRecord"),
  },
  responses: { 201: receiptResponse, ...problems(400, 401, 403, 404, 409, 413, 415, 422) },
});
export async function postDecision(c: RouteContext<typeof postDecisionRoute>) {
  const { id } = c.req.valid("param");
  const w = await verifyWrite(c.req.raw, c.env, c.var.db, "baseline.decide", decideBaseline.roles);
  samePath(id, w.record.submissionId);
  return c.json(await applyAndCommit(c.var.db, c.env, w, decideBaseline), 201);
}
app.openapi(postDecisionRoute, postDecision);

async function endSubmission(
  c: RouteContext<typeof postWithdrawalRoute> | RouteContext<typeof postReversalRoute>,
  id: string,
  kind: "submission.withdraw" | "submission.reverse",
) {
  if (kind === "submission.withdraw") {
    const w = await verifyWrite(c.req.raw, c.env, c.var.db, kind, withdrawSubmission.roles);
    samePath(id, w.record.submissionId);
    return applyAndCommit(c.var.db, c.env, w, withdrawSubmission);
  }
  const w = await verifyWrite(c.req.raw, c.env, c.var.db, kind, reverseSubmission.roles);
  samePath(id, w.record.submissionId);
  return applyAndCommit(c.var.db, c.env, w, reverseSubmission);
}

export const postWithdrawalRoute = createRoute({
  method: "post",
  path: "/v1/submissions/{id}/withdraw",
  tags: ["submissions"],
  summary: "Withdraw one's own submission (the submitting authority)",
  description:
    "It stops matching at once; platforms that matched it see it in /v1/reversals. The history is kept.",
  request: {
    params: SubmissionIdParam,
    body: signedBody("submission.withdraw", "WithdrawRecord"),
  },
  responses: { 201: receiptResponse, ...problems(400, 401, 403, 404, 409, 413, 415) },
});
export async function postWithdrawal(c: RouteContext<typeof postWithdrawalRoute>) {
  return c.json(await endSubmission(c, c.req.valid("param").id, "submission.withdraw"), 201);
}
app.openapi(postWithdrawalRoute, postWithdrawal);

export const postReversalRoute = createRoute({
  method: "post",
  path: "/v1/submissions/{id}/reverse",
  tags: ["submissions"],
  summary: "Reverse a submission (coordinator), e.g. after an upheld complaint or a court ruling",
  description:
    "It stops matching at once; platforms that matched it see it in /v1/reversals. The history is kept.",
  request: {
    params: SubmissionIdParam,
    body: signedBody("submission.reverse", "ReverseRecord"),
  },
  responses: { 201: receiptResponse, ...problems(400, 401, 403, 404, 409, 413, 415) },
});
export async function postReversal(c: RouteContext<typeof postReversalRoute>) {
  return c.json(await endSubmission(c, c.req.valid("param").id, "submission.reverse"), 201);
}
app.openapi(postReversalRoute, postReversal);

export const postFeedbackRoute = createRoute({
  method: "post",
  path: "/v1/submissions/{id}/feedback",
  tags: ["submissions"],
  summary: "Report a match outcome (platform that matched the entry)",
  description:
    "true_positive / false_positive / not_actioned. One live report per platform per entry; a later one replaces the earlier. Only a platform that matched the entry can report on it.",
  request: {
    params: SubmissionIdParam,
    body: signedBody("feedback.create", "FeedbackRecord"),
  },
  responses: { 201: receiptResponse, ...problems(400, 401, 403, 404, 409, 413, 415) },
});
export async function postFeedback(c: RouteContext<typeof postFeedbackRoute>) {
  const { id } = c.req.valid("param");
  const w = await verifyWrite(c.req.raw, c.env, c.var.db, "feedback.create", createFeedback.roles);
  samePath(id, w.record.submissionId);
  return c.json(await applyAndCommit(c.var.db, c.env, w, createFeedback), 201);
}
app.openapi(postFeedbackRoute, postFeedback);

export const listCurationRoute = createRoute({
  method: "get",
  path: "/v1/curation",
  tags: ["baseline"],
  summary: "The coordinator's curation queue: eligible, disputed, or flagged by feedback",
  security: bearerSecurity,
  middleware: [access(["coordinator"])] as const,
  request: { query: CurationQuery },
  responses: {
    200: {
      description: "Entries waiting for a coordinator",
      content: {
        "application/json": { schema: CurationQueue },
      },
    },
    ...problems(400, 401, 403),
  },
});
export async function listCuration(c: RouteContext<typeof listCurationRoute>) {
  const { queue, limit } = c.req.valid("query");
  return c.json({ queue, submissions: await curationQueue(c.var.db, c.env, queue, limit) }, 200);
}
app.openapi(listCurationRoute, listCuration);

export default app;
