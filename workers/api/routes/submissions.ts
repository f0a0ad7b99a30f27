// /v1/submissions: authorities submit hashes and assess each other's; coordinators decide on
// the baseline and reverse; platforms give feedback on what they matched. The rules of each
// signed write live in its applier (apply/submissions.ts), shared with federation.

import {
  BulkResult,
  CurationQuery,
  CurationQueue,
  MAX_BULK,
  SubmissionDetail,
  SubmissionIdParam,
  SubmissionListQuery,
  SubmissionPage,
  SubmitResult,
} from "@eusn/protocol";
import { createRoute } from "@hono/zod-openapi";
import {
  type BulkPlan,
  createAssessment,
  createAssessmentBatch,
  createFeedback,
  createSubmissions,
  decideBaseline,
  decideBaselineBatch,
  reverseSubmission,
  withdrawSubmission,
} from "../apply/submissions.ts";
import { access } from "../auth/access.ts";
import {
  bearerSecurity,
  problems,
  type RouteContext,
  receiptResponse,
  router,
  signedBody,
} from "../lib/hono.ts";
import { ApiError } from "../lib/problem.ts";
import { curationQueue } from "../store/curation.ts";
import { mergeFingerprintKeysIfDue } from "../store/fingerprint-keys.ts";
import { submissionDetail, submissionPage } from "../store/submission-lists.ts";
import { signedWrite } from "./signed-write.ts";

const app = router();

export const postSubmissionsRoute = createRoute({
  method: "post",
  path: "/v1/submissions",
  tags: ["submissions"],
  summary: "Submit one or a batch (≤ 1,000) of hashes (authority)",
  description:
    "All-or-nothing. The same value by the same authority is idempotent (answered as `existing`; when every item exists nothing is stored and the answer is 200); if the repeat carries other labels (limbs, provision, content type, TLP, expiry, note), the stored labels stand and the item's `labelsDiffer` lists each difference. Two records of one value by one authority sent at once: one stores it, the other is refused whole (409) and, sent again, answers `existing`. The same value by another authority becomes a second submission linked to the first. PDQ below quality 50 is refused unless `force`, and then flagged lowQuality.",
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
/**
 * Submits a batch: answered with the receipt (null when every item already existed and nothing
 * was stored) and each item's submission, created or existing.
 */
export const postSubmissions = signedWrite({
  applier: createSubmissions,
  answer({ receipt, plan }, c) {
    const { fresh, ids, relabelled, answers } = plan;
    // New entries' fingerprint keys went into the small level of the key table: merged once it
    // is large enough, after the answer (store/fingerprint-keys.ts).
    if (receipt && fresh.length > 0)
      c.executionCtx.waitUntil(
        mergeFingerprintKeysIfDue(c.env.DB).catch((e: unknown) =>
          console.error(`merging fingerprint keys: ${String(e)}`),
        ),
      );
    const created = new Set(fresh.map((f) => f.id));
    const items = plan.items;
    return {
      body: {
        receipt,
        submissions: ids.map((id, n) => ({
          id,
          signalType: items[n]!.signalType,
          value: items[n]!.value,
          outcome: created.has(id) ? ("created" as const) : ("existing" as const),
          lowQuality: answers[n]!.lowQuality,
          linked: answers[n]!.linked,
          ...(relabelled.has(id) ? { labelsDiffer: relabelled.get(id) } : {}),
        })),
      },
      status: receipt ? 201 : 200,
    };
  },
});
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

/** The signed record must be about the submission the path names. */
const aboutPath = {
  param: "id",
  field: "submissionId",
  detail: "the signed record names another submission than the path",
} as const;

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
export const postAssessment = signedWrite({ applier: createAssessment, subject: aboutPath });
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
export const postDecision = signedWrite({ applier: decideBaseline, subject: aboutPath });
app.openapi(postDecisionRoute, postDecision);

/** A bulk record's answer: the receipt, and what each item created, in order. */
const bulkAnswer = ({ receipt, plan }: { receipt: unknown; plan: BulkPlan }) => ({
  body: { receipt, items: plan.items },
  status: 201 as const,
});
const bulkResponse = {
  description: "Stored: the receipt of the one record, and the id each item created",
  content: { "application/json": { schema: BulkResult } },
};

export const postAssessmentBatchRoute = createRoute({
  method: "post",
  path: "/v1/assessments",
  tags: ["submissions"],
  summary: "Concur or dissent on several entries with one signature (authority)",
  description: `Up to ${MAX_BULK} assessments signed as one record (assessment.batch), each item judged as a single assessment is (POST /v1/submissions/{id}/assessments). All take effect or none: the first item that would be refused is named in the problem, and nothing is stored.`,
  request: { body: signedBody("assessment.batch", "AssessBatchRecord") },
  responses: { 201: bulkResponse, ...problems(400, 401, 403, 404, 409, 413, 415, 422) },
});
export const postAssessmentBatch = signedWrite({ applier: createAssessmentBatch, answer: bulkAnswer });
app.openapi(postAssessmentBatchRoute, postAssessmentBatch);

export const postDecisionBatchRoute = createRoute({
  method: "post",
  path: "/v1/baseline/decisions",
  tags: ["baseline"],
  summary: "Include, exclude or retire several entries with one signature (coordinator)",
  description: `One decision and one reason for up to ${MAX_BULK} entries, each with the assessments it cites (baseline.decide.batch), each judged as a single decision is (POST /v1/submissions/{id}/decisions: an inclusion only of an eligible entry whose cited live concurrences reach the quorum). All take effect or none: the first item that would be refused is named in the problem, and nothing is stored.`,
  request: { body: signedBody("baseline.decide.batch", "BaselineDecisionBatchRecord") },
  responses: { 201: bulkResponse, ...problems(400, 401, 403, 404, 409, 413, 415, 422) },
});
export const postDecisionBatch = signedWrite({ applier: decideBaselineBatch, answer: bulkAnswer });
app.openapi(postDecisionBatchRoute, postDecisionBatch);

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
export const postWithdrawal = signedWrite({ applier: withdrawSubmission, subject: aboutPath });
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
export const postReversal = signedWrite({ applier: reverseSubmission, subject: aboutPath });
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
export const postFeedback = signedWrite({ applier: createFeedback, subject: aboutPath });
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
