// /v1/submissions: authorities submit hashes and assess each other's; coordinators decide on
// the baseline and reverse; platforms give feedback on what they matched. The rules of each
// signed write live in its applier (apply/submissions.ts), shared with federation.

import { SubmissionId, SubmissionView, WriteReceipt } from "@eusn/protocol";
import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, desc, eq, gt, inArray, notExists, sql } from "drizzle-orm";
import {
  assessments,
  decisions,
  feedback,
  participants,
  records,
  submissionChanges,
  submissions,
} from "../../../schema/index.ts";
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
import { verifyWrite } from "../auth/verify.ts";
import { chunk } from "../lib/db.ts";
import { nowIso } from "../lib/encoding.ts";
import { access, bearerSecurity, problems, receiptResponse, router, signedBody } from "../lib/hono.ts";
import { ApiError } from "../lib/problem.ts";
import { currentSql, eligibleSql, flaggedSql, policy, type SubmissionRow } from "../rules/baseline.ts";
import { commitWrite } from "../store/records.ts";
import { getSubmission, viewsOf } from "../store/submissions.ts";

const app = router();

const SubmitResult = z
  .object({
    receipt: WriteReceipt.nullable().describe(
      "Null when every item already existed (nothing new was stored).",
    ),
    submissions: z.array(
      z.object({
        id: SubmissionId,
        signalType: z.string(),
        value: z.string(),
        outcome: z.enum(["created", "existing"]),
        lowQuality: z.boolean(),
        linked: z.array(z.string()),
      }),
    ),
  })
  .meta({ id: "SubmitResult" });

app.openapi(
  createRoute({
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
  }),
  async (c) => {
    const w = await verifyWrite(c.req.raw, c.env, c.var.db, "submission.create", createSubmissions.roles);
    const applied = await createSubmissions.apply(c.var.db, c.env, w, localContext(c.env));
    const { fresh, ids } = applied;
    let receipt: z.infer<typeof WriteReceipt> | null = null;
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
  },
);

const ListQuery = z.object({
  scope: z
    .enum(["mine", "awaiting", "all"])
    .default("all")
    .describe(
      "mine: my submissions; awaiting: other authorities' live submissions I have not assessed; all (coordinators and authorities).",
    ),
  status: z.enum(["live", "withdrawn", "reversed"]).optional(),
  baselineState: z.enum(["none", "included", "disputed", "excluded", "retired"]).optional(),
  after: z.string().max(64).optional().describe("Cursor: the last id of the previous page."),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

app.openapi(
  createRoute({
    method: "get",
    path: "/v1/submissions",
    tags: ["submissions"],
    summary: "List submissions (authority: mine / awaiting my assessment; coordinator: all)",
    security: bearerSecurity,
    middleware: [access(["authority", "coordinator"])] as const,
    request: { query: ListQuery },
    responses: {
      200: {
        description: "A page of submissions",
        content: {
          "application/json": {
            schema: z
              .object({ submissions: z.array(SubmissionView), next: z.string().nullable() })
              .meta({ id: "SubmissionPage" }),
          },
        },
      },
      ...problems(400, 401, 403),
    },
  }),
  async (c) => {
    const caller = c.var.caller!;
    const q = c.req.valid("query");
    const me = caller.participant;
    if (q.scope !== "all" && me.role !== "authority")
      throw new ApiError("forbidden", `scope ${q.scope} is for authorities`);
    const conds = [];
    if (q.scope === "mine") conds.push(eq(submissions.submitterId, me.id));
    if (q.scope === "awaiting") {
      conds.push(
        eq(submissions.status, "live"),
        sql`${submissions.submitterId} <> ${me.id}`,
        notExists(
          c.var.db
            .select({ one: sql`1` })
            .from(assessments)
            .where(
              and(
                eq(assessments.submissionId, submissions.id),
                eq(assessments.authorityId, me.id),
                eq(assessments.live, true),
              ),
            ),
        ),
      );
    }
    if (q.status) conds.push(eq(submissions.status, q.status));
    if (q.baselineState) conds.push(eq(submissions.baselineState, q.baselineState));
    if (q.after) conds.push(gt(submissions.id, q.after));
    const rows = await c.var.db
      .select()
      .from(submissions)
      .where(and(...conds))
      .orderBy(asc(submissions.id))
      .limit(q.limit + 1);
    const page = rows.slice(0, q.limit);
    const p = await policy(c.var.db, c.env);
    return c.json(
      {
        submissions: await viewsOf(c.var.db, page, p),
        next: rows.length > q.limit ? page[page.length - 1]!.id : null,
      },
      200,
    );
  },
);

const HistoryItem = z.object({
  kind: z.string(),
  recordId: z.string(),
  issuer: z.string(),
  receivedAt: z.string(),
  jws: z.string().describe("The signed record exactly as received."),
  summary: z.record(z.string(), z.unknown()),
});

app.openapi(
  createRoute({
    method: "get",
    path: "/v1/submissions/{id}",
    tags: ["submissions"],
    summary: "One entry with its full signed history (authority, coordinator)",
    security: bearerSecurity,
    middleware: [access(["authority", "coordinator"])] as const,
    request: { params: z.object({ id: SubmissionId }) },
    responses: {
      200: {
        description: "The entry, its tallies and every signed record about it, in order",
        content: {
          "application/json": {
            schema: z
              .object({ submission: SubmissionView, history: z.array(HistoryItem) })
              .meta({ id: "SubmissionDetail" }),
          },
        },
      },
      ...problems(400, 401, 403, 404),
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const row = await getSubmission(c.var.db, id);
    if (!row) throw new ApiError("not_found", `no submission ${id}`);
    const [view] = await viewsOf(c.var.db, [row], await policy(c.var.db, c.env));
    const asm = await c.var.db
      .select({ a: assessments, authorityStatus: participants.status })
      .from(assessments)
      .leftJoin(participants, eq(participants.id, assessments.authorityId))
      .where(eq(assessments.submissionId, id));
    const dec = await c.var.db.select().from(decisions).where(eq(decisions.submissionId, id));
    const fbk = await c.var.db.select().from(feedback).where(eq(feedback.submissionId, id));
    const summaries = new Map<string, Record<string, unknown>>();
    summaries.set(row.recordId, { action: "submitted", submissionId: id });
    for (const { a, authorityStatus } of asm) {
      summaries.set(a.recordId, {
        action: "assessed",
        assessmentId: a.id,
        verdict: a.verdict,
        limb: a.limb,
        reason: a.reason,
        memberState: a.memberState,
        live: a.live,
        // Only a live assessment of an active authority counts toward the quorum or may be cited.
        counts: a.live && authorityStatus === "active",
        ...(authorityStatus === "revoked" ? { authorityRevoked: true } : {}),
      });
    }
    for (const d of dec) {
      summaries.set(d.recordId, {
        action: d.action,
        decisionId: d.id,
        reason: d.reason,
        assessmentIds: JSON.parse(d.assessmentIds),
        ground: d.ground,
      });
    }
    for (const f of fbk) summaries.set(f.recordId, { action: "feedback", outcome: f.outcome, live: f.live });
    // Changes caused by a record about something else (the item's `kind` says which): a
    // participant.revoke that sent the entry back to review names itself in its `disputed` change.
    const caused = await c.var.db
      .select({ recordId: submissionChanges.recordId, change: submissionChanges.change })
      .from(submissionChanges)
      .where(eq(submissionChanges.submissionId, id))
      .orderBy(asc(submissionChanges.seq));
    for (const ch of caused) {
      if (ch.recordId && !summaries.has(ch.recordId)) summaries.set(ch.recordId, { action: ch.change });
    }
    const recs = [];
    for (const part of chunk([...summaries.keys()], 90)) {
      recs.push(...(await c.var.db.select().from(records).where(inArray(records.id, part))));
    }
    recs.sort((a, b) =>
      a.receivedAt < b.receivedAt ? -1 : a.receivedAt > b.receivedAt ? 1 : a.id.localeCompare(b.id),
    );
    return c.json(
      {
        submission: view!,
        history: recs.map((r) => ({
          kind: r.kind,
          recordId: r.id,
          issuer: r.issuer,
          receivedAt: r.receivedAt,
          jws: r.jws,
          summary: summaries.get(r.id) ?? {},
        })),
      },
      200,
    );
  },
);

function samePath(pathId: string, recordId: string) {
  if (pathId !== recordId)
    throw new ApiError("bad_request", "the signed record names another submission than the path");
}

app.openapi(
  createRoute({
    method: "post",
    path: "/v1/submissions/{id}/assessments",
    tags: ["submissions"],
    summary: "Concur or dissent (another authority)",
    description:
      "One live assessment per authority per submission: a later one replaces the earlier (both kept). The submitter cannot assess its own submission. A dissent needs a reason; a dissent on an included entry marks it disputed. If the authority is later revoked, its assessments stay on record but stop counting.",
    request: {
      params: z.object({ id: SubmissionId }),
      body: signedBody("assessment.create", "AssessRecord"),
    },
    responses: { 201: receiptResponse, ...problems(400, 401, 403, 404, 409, 413, 415) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const w = await verifyWrite(c.req.raw, c.env, c.var.db, "assessment.create", createAssessment.roles);
    samePath(id, w.record.submissionId);
    return c.json(await applyAndCommit(c.var.db, c.env, w, createAssessment), 201);
  },
);

app.openapi(
  createRoute({
    method: "post",
    path: "/v1/submissions/{id}/decisions",
    tags: ["baseline"],
    summary: "Include, exclude or retire a baseline entry (coordinator)",
    description:
      "`include` is refused unless the entry is eligible (concurring authorities from distinct member states, the submitter's included, reach the quorum, with no live dissent) and the decision cites live concurrences that by themselves reach the quorum. Only active authorities count: a revoked authority's assessments (and its member state as submitter) count for nothing and cannot be cited (422). The rule is checked again as the decision's batch lands: if an authority was revoked or a dissent arrived meanwhile, nothing is stored (409). `exclude` takes an entry out of the baseline and out of matching; `retire` takes it out of the baseline (it still matches in scope `all`).",
    request: {
      params: z.object({ id: SubmissionId }),
      body: signedBody("baseline.decide", "BaselineDecisionRecord"),
    },
    responses: { 201: receiptResponse, ...problems(400, 401, 403, 404, 409, 413, 415, 422) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const w = await verifyWrite(c.req.raw, c.env, c.var.db, "baseline.decide", decideBaseline.roles);
    samePath(id, w.record.submissionId);
    return c.json(await applyAndCommit(c.var.db, c.env, w, decideBaseline), 201);
  },
);

async function endSubmission(
  c: Parameters<Parameters<typeof app.openapi>[1]>[0],
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

app.openapi(
  createRoute({
    method: "post",
    path: "/v1/submissions/{id}/withdraw",
    tags: ["submissions"],
    summary: "Withdraw one's own submission (the submitting authority)",
    description:
      "It stops matching at once; platforms that matched it see it in /v1/reversals. The history is kept.",
    request: {
      params: z.object({ id: SubmissionId }),
      body: signedBody("submission.withdraw", "WithdrawRecord"),
    },
    responses: { 201: receiptResponse, ...problems(400, 401, 403, 404, 409, 413, 415) },
  }),
  async (c) => c.json(await endSubmission(c, c.req.valid("param").id, "submission.withdraw"), 201),
);

app.openapi(
  createRoute({
    method: "post",
    path: "/v1/submissions/{id}/reverse",
    tags: ["submissions"],
    summary: "Reverse a submission (coordinator), e.g. after an upheld complaint or a court ruling",
    description:
      "It stops matching at once; platforms that matched it see it in /v1/reversals. The history is kept.",
    request: {
      params: z.object({ id: SubmissionId }),
      body: signedBody("submission.reverse", "ReverseRecord"),
    },
    responses: { 201: receiptResponse, ...problems(400, 401, 403, 404, 409, 413, 415) },
  }),
  async (c) => c.json(await endSubmission(c, c.req.valid("param").id, "submission.reverse"), 201),
);

app.openapi(
  createRoute({
    method: "post",
    path: "/v1/submissions/{id}/feedback",
    tags: ["submissions"],
    summary: "Report a match outcome (platform that matched the entry)",
    description:
      "true_positive / false_positive / not_actioned. One live report per platform per entry; a later one replaces the earlier. Only a platform that matched the entry can report on it.",
    request: {
      params: z.object({ id: SubmissionId }),
      body: signedBody("feedback.create", "FeedbackRecord"),
    },
    responses: { 201: receiptResponse, ...problems(400, 401, 403, 404, 409, 413, 415) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const w = await verifyWrite(c.req.raw, c.env, c.var.db, "feedback.create", createFeedback.roles);
    samePath(id, w.record.submissionId);
    return c.json(await applyAndCommit(c.var.db, c.env, w, createFeedback), 201);
  },
);

app.openapi(
  createRoute({
    method: "get",
    path: "/v1/curation",
    tags: ["baseline"],
    summary: "The coordinator's curation queue: eligible, disputed, or flagged by feedback",
    security: bearerSecurity,
    middleware: [access(["coordinator"])] as const,
    request: {
      query: z.object({
        queue: z.enum(["eligible", "disputed", "flagged"]),
        limit: z.coerce.number().int().min(1).max(500).default(100),
      }),
    },
    responses: {
      200: {
        description: "Entries waiting for a coordinator",
        content: {
          "application/json": {
            schema: z.object({ queue: z.string(), submissions: z.array(SubmissionView) }),
          },
        },
      },
      ...problems(400, 401, 403),
    },
  }),
  async (c) => {
    const { queue, limit } = c.req.valid("query");
    const p = await policy(c.var.db, c.env);
    const now = nowIso();
    const live = currentSql("submissions", now);
    let rows: SubmissionRow[];
    if (queue === "eligible") {
      rows = await c.var.db
        .select()
        .from(submissions)
        .where(
          and(
            inArray(submissions.baselineState, ["none", "disputed"]),
            eligibleSql("submissions", p.quorum, now),
          ),
        )
        .orderBy(asc(submissions.createdAt))
        .limit(limit);
    } else if (queue === "disputed") {
      rows = await c.var.db
        .select()
        .from(submissions)
        .where(and(live, eq(submissions.baselineState, "disputed")))
        .orderBy(asc(submissions.createdAt))
        .limit(limit);
    } else {
      rows = await c.var.db
        .select()
        .from(submissions)
        .where(and(live, flaggedSql("submissions", p)))
        .orderBy(desc(submissions.fbFalse))
        .limit(limit);
    }
    return c.json({ queue, submissions: await viewsOf(c.var.db, rows, p) }, 200);
  },
);

export default app;
