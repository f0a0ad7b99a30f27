// /v1/submissions: authorities submit hashes and assess each other's; coordinators decide on
// the baseline and reverse; platforms give feedback on what they matched.

import { newId, SubmissionId, type SubmissionItem, SubmissionView, WriteReceipt } from "@eusn/protocol";
import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, desc, eq, gt, inArray, notExists, sql } from "drizzle-orm";
import {
  assessments,
  decisions,
  feedback,
  records,
  submissionChanges,
  submissionMatches,
  submissions,
} from "../../../schema/index.ts";
import { verifyWrite } from "../auth/verify.ts";
import { nowIso } from "../lib/encoding.ts";
import { access, bearerSecurity, problems, receiptResponse, router, signedBody } from "../lib/hono.ts";
import { ApiError } from "../lib/problem.ts";
import { commitWrite } from "../store/records.ts";
import {
  chunk,
  getSubmission,
  isEligible,
  isExpired,
  liveAssessments,
  policy,
  recomputeAssessmentTally,
  recomputeFeedbackTally,
  type SubmissionRow,
  viewsOf,
} from "../store/submissions.ts";

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
    const w = await verifyWrite(c.req.raw, c.env, c.var.db, "submission.create", ["authority"]);
    const me = w.caller.participant;
    const items = w.record.items;
    const fp = (i: SubmissionItem) => `${i.signalType}:${i.value}`;
    const seen = new Set<string>();
    items.forEach((it, idx) => {
      if (seen.has(fp(it))) {
        throw new ApiError("validation_failed", "the batch repeats a value", [
          { path: `/record/items/${idx}/value`, message: "repeated in this batch" },
        ]);
      }
      seen.add(fp(it));
    });
    const now = Date.now();
    items.forEach((it, idx) => {
      if (it.expiresAt && Date.parse(it.expiresAt) <= now) {
        throw new ApiError("validation_failed", "expiry in the past", [
          { path: `/record/items/${idx}/expiresAt`, message: "must be in the future" },
        ]);
      }
    });
    // Idempotency: this authority's live submissions of the same fingerprints.
    const existing = new Map<string, SubmissionRow>();
    for (const part of chunk([...seen], 90)) {
      const rows = await c.var.db
        .select()
        .from(submissions)
        .where(
          and(
            eq(submissions.submitterId, me.id),
            eq(submissions.status, "live"),
            inArray(submissions.fingerprint, part),
          ),
        );
      for (const r of rows) existing.set(r.fingerprint, r);
    }
    const createdAt = nowIso();
    const fresh = items
      .filter((it) => !existing.has(fp(it)))
      .map((it) => ({ item: it, id: newId("submission") }));
    let receipt: z.infer<typeof WriteReceipt> | null = null;
    if (fresh.length > 0) {
      receipt = await commitWrite(
        c.var.db,
        c.env,
        w,
        fresh.length === 1 ? fresh[0]!.id : `batch:${fresh.length}`,
        (recordId) => {
          const rows = fresh.map(({ item, id }) => ({
            id,
            recordId,
            submitterId: me.id,
            memberState: me.memberState!,
            signalType: item.signalType,
            value: item.value,
            fingerprint: fp(item),
            quality: item.quality ?? null,
            lowQuality: item.signalType === "pdq" && (item.quality ?? 0) < 50,
            limbs: JSON.stringify([...item.limbs].sort()),
            contentType: item.contentType,
            nationalProvision: item.nationalProvision,
            tlp: item.tlp ?? null,
            expiresAt: item.expiresAt ? new Date(item.expiresAt).toISOString() : null,
            note: item.note ?? null,
            concurStates: JSON.stringify([me.memberState]),
            createdAt,
          }));
          // 23 columns per row: 4 rows per statement stays under D1's 100 bound parameters.
          const inserts = chunk(rows, 4).map((part) => c.var.db.insert(submissions).values(part));
          const changes = chunk(fresh, 16).map((part) =>
            c.var.db.insert(submissionChanges).values(
              part.map(({ id }) => ({
                submissionId: id,
                change: "created",
                affectsBaseline: false,
                recordId,
                at: createdAt,
              })),
            ),
          );
          return [...inserts, ...changes];
        },
      );
    }
    const all: SubmissionRow[] = [];
    const ids = items.map((it) => existing.get(fp(it))?.id ?? fresh.find((f) => f.item === it)!.id);
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
    const asm = await c.var.db.select().from(assessments).where(eq(assessments.submissionId, id));
    const dec = await c.var.db.select().from(decisions).where(eq(decisions.submissionId, id));
    const fbk = await c.var.db.select().from(feedback).where(eq(feedback.submissionId, id));
    const summaries = new Map<string, Record<string, unknown>>();
    summaries.set(row.recordId, { action: "submitted", submissionId: id });
    for (const a of asm) {
      summaries.set(a.recordId, {
        action: "assessed",
        assessmentId: a.id,
        verdict: a.verdict,
        limb: a.limb,
        reason: a.reason,
        memberState: a.memberState,
        live: a.live,
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

/** A live, unexpired submission, or a 404/409 problem. */
async function liveSubmission(
  c: { var: { db: import("../lib/db.ts").Db } },
  id: string,
): Promise<SubmissionRow> {
  const row = await getSubmission(c.var.db, id);
  if (!row) throw new ApiError("not_found", `no submission ${id}`);
  if (row.status !== "live") throw new ApiError("conflict", `submission ${id} is ${row.status}`);
  if (isExpired(row)) throw new ApiError("conflict", `submission ${id} expired at ${row.expiresAt}`);
  return row;
}

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
      "One live assessment per authority per submission: a later one replaces the earlier (both kept). The submitter cannot assess its own submission. A dissent needs a reason; a dissent on an included entry marks it disputed.",
    request: {
      params: z.object({ id: SubmissionId }),
      body: signedBody("assessment.create", "AssessRecord"),
    },
    responses: { 201: receiptResponse, ...problems(400, 401, 403, 404, 409, 413, 415) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const w = await verifyWrite(c.req.raw, c.env, c.var.db, "assessment.create", ["authority"]);
    samePath(id, w.record.submissionId);
    const row = await liveSubmission(c, id);
    const me = w.caller.participant;
    if (row.submitterId === me.id)
      throw new ApiError("forbidden", "an authority cannot assess its own submission");
    const assessmentId = newId("assessment");
    const disputes = w.record.verdict === "dissent" && row.baselineState === "included";
    const receipt = await commitWrite(c.var.db, c.env, w, assessmentId, (recordId) => [
      c.var.db
        .update(assessments)
        .set({ live: false, supersededBy: assessmentId })
        .where(
          and(
            eq(assessments.submissionId, id),
            eq(assessments.authorityId, me.id),
            eq(assessments.live, true),
          ),
        ),
      c.var.db.insert(assessments).values({
        id: assessmentId,
        recordId,
        submissionId: id,
        authorityId: me.id,
        memberState: me.memberState!,
        verdict: w.record.verdict,
        limb: w.record.limb,
        reason: w.record.reason ?? null,
        createdAt: nowIso(),
      }),
      recomputeAssessmentTally(c.var.db, id),
      ...(disputes
        ? [
            c.var.db
              .update(submissions)
              .set({ baselineState: "disputed" })
              .where(and(eq(submissions.id, id), eq(submissions.baselineState, "included"))),
            c.var.db.insert(submissionChanges).values({
              submissionId: id,
              change: "disputed",
              affectsBaseline: true,
              recordId,
              at: nowIso(),
            }),
          ]
        : []),
    ]);
    return c.json(receipt, 201);
  },
);

app.openapi(
  createRoute({
    method: "post",
    path: "/v1/submissions/{id}/decisions",
    tags: ["baseline"],
    summary: "Include, exclude or retire a baseline entry (coordinator)",
    description:
      "`include` is refused unless the entry is eligible (concurring authorities from distinct member states, the submitter's included, reach the quorum, with no live dissent) and the decision cites live concurrences that by themselves reach the quorum. `exclude` takes an entry out of the baseline and out of matching; `retire` takes it out of the baseline (it still matches in scope `all`).",
    request: {
      params: z.object({ id: SubmissionId }),
      body: signedBody("baseline.decide", "BaselineDecisionRecord"),
    },
    responses: { 201: receiptResponse, ...problems(400, 401, 403, 404, 409, 413, 415, 422) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const w = await verifyWrite(c.req.raw, c.env, c.var.db, "baseline.decide", ["coordinator"]);
    samePath(id, w.record.submissionId);
    const row = await liveSubmission(c, id);
    const p = await policy(c.var.db, c.env);
    const cited = w.record.assessmentIds;
    const live = await liveAssessments(c.var.db, id);
    const liveById = new Map(live.map((a) => [a.id, a]));
    for (const aid of cited) {
      if (!liveById.has(aid))
        throw new ApiError("unprocessable", `assessment ${aid} is not a live assessment of ${id}`);
    }
    let next: SubmissionRow["baselineState"];
    let change: "included" | "excluded" | "retired";
    switch (w.record.decision) {
      case "include": {
        if (row.baselineState === "included")
          throw new ApiError("conflict", `${id} is already in the baseline`);
        if (row.tlp === "red")
          throw new ApiError("unprocessable", "TLP:RED entries are never shared through the baseline");
        if (!isEligible(row, p)) {
          throw new ApiError(
            "unprocessable",
            `${id} is not eligible: ${JSON.parse(row.concurStates).length} of ${p.quorum} member states concur, ${row.liveDissents} live dissent(s)`,
          );
        }
        const citedStates = new Set([row.memberState]);
        for (const aid of cited) {
          const a = liveById.get(aid)!;
          if (a.verdict !== "concur")
            throw new ApiError(
              "unprocessable",
              `assessment ${aid} is a dissent; an inclusion cites concurrences`,
            );
          citedStates.add(a.memberState);
        }
        if (citedStates.size < p.quorum) {
          throw new ApiError(
            "unprocessable",
            `the cited assessments cover ${citedStates.size} member state(s) (with the submitter's); the quorum is ${p.quorum}`,
          );
        }
        next = "included";
        change = "included";
        break;
      }
      case "exclude":
        if (row.baselineState === "excluded") throw new ApiError("conflict", `${id} is already excluded`);
        next = "excluded";
        change = "excluded";
        break;
      case "retire":
        if (row.baselineState !== "included" && row.baselineState !== "disputed") {
          throw new ApiError(
            "conflict",
            `only an entry in the baseline can be retired; ${id} is ${row.baselineState}`,
          );
        }
        next = "retired";
        change = "retired";
        break;
    }
    const decisionId = newId("decision");
    const receipt = await commitWrite(c.var.db, c.env, w, decisionId, (recordId) => [
      c.var.db.insert(decisions).values({
        id: decisionId,
        recordId,
        submissionId: id,
        actorId: w.claims.iss,
        action: w.record.decision,
        reason: w.record.reason,
        assessmentIds: JSON.stringify(cited),
        createdAt: nowIso(),
      }),
      // Guarded by the state read above, so a racing decision cannot apply on a stale state.
      c.var.db
        .update(submissions)
        .set({ baselineState: next })
        .where(
          and(
            eq(submissions.id, id),
            eq(submissions.baselineState, row.baselineState),
            eq(submissions.status, "live"),
          ),
        ),
      c.var.db
        .insert(submissionChanges)
        .values({ submissionId: id, change, affectsBaseline: true, recordId, at: nowIso() }),
    ]);
    return c.json(receipt, 201);
  },
);

async function endSubmission(
  c: Parameters<Parameters<typeof app.openapi>[1]>[0],
  id: string,
  kind: "submission.withdraw" | "submission.reverse",
) {
  const w =
    kind === "submission.withdraw"
      ? await verifyWrite(c.req.raw, c.env, c.var.db, kind, ["authority"])
      : await verifyWrite(c.req.raw, c.env, c.var.db, kind, ["coordinator"]);
  samePath(id, w.record.submissionId);
  const row = await getSubmission(c.var.db, id);
  if (!row) throw new ApiError("not_found", `no submission ${id}`);
  if (row.status !== "live") throw new ApiError("conflict", `submission ${id} is already ${row.status}`);
  if (kind === "submission.withdraw" && row.submitterId !== w.claims.iss) {
    throw new ApiError(
      "forbidden",
      "only the submitting authority can withdraw a submission; a coordinator can reverse it",
    );
  }
  const status = kind === "submission.withdraw" ? "withdrawn" : "reversed";
  const action = kind === "submission.withdraw" ? "withdraw" : "reverse";
  const decisionId = newId("decision");
  const record = w.record as { reason: string; ground?: string; reference?: string };
  return commitWrite(c.var.db, c.env, w, decisionId, (recordId) => [
    c.var.db.insert(decisions).values({
      id: decisionId,
      recordId,
      submissionId: id,
      actorId: w.claims.iss,
      action,
      reason: record.reason,
      ground: record.ground ?? null,
      reference: record.reference ?? null,
      createdAt: nowIso(),
    }),
    c.var.db
      .update(submissions)
      .set({ status })
      .where(and(eq(submissions.id, id), eq(submissions.status, "live"))),
    c.var.db.insert(submissionChanges).values({
      submissionId: id,
      change: status,
      affectsBaseline: row.baselineState === "included" || row.baselineState === "disputed",
      recordId,
      at: nowIso(),
    }),
  ]);
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
    const w = await verifyWrite(c.req.raw, c.env, c.var.db, "feedback.create", ["platform"]);
    samePath(id, w.record.submissionId);
    const row = await getSubmission(c.var.db, id);
    if (!row) throw new ApiError("not_found", `no submission ${id}`);
    const matched = await c.var.db
      .select({ n: submissionMatches.count })
      .from(submissionMatches)
      .where(and(eq(submissionMatches.submissionId, id), eq(submissionMatches.platformId, w.claims.iss)))
      .get();
    if (!matched)
      throw new ApiError("forbidden", `you have not matched ${id}; feedback is about your own matches`);
    const feedbackId = newId("feedback");
    const receipt = await commitWrite(c.var.db, c.env, w, feedbackId, (recordId) => [
      c.var.db
        .update(feedback)
        .set({ live: false })
        .where(
          and(eq(feedback.submissionId, id), eq(feedback.platformId, w.claims.iss), eq(feedback.live, true)),
        ),
      c.var.db.insert(feedback).values({
        id: feedbackId,
        recordId,
        submissionId: id,
        platformId: w.claims.iss,
        outcome: w.record.outcome,
        note: w.record.note ?? null,
        createdAt: nowIso(),
      }),
      recomputeFeedbackTally(c.var.db, id),
    ]);
    return c.json(receipt, 201);
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
    const nowIsoStr = nowIso();
    const live = and(
      eq(submissions.status, "live"),
      sql`(${submissions.expiresAt} IS NULL OR ${submissions.expiresAt} > ${nowIsoStr})`,
    );
    let rows: SubmissionRow[];
    if (queue === "eligible") {
      rows = await c.var.db
        .select()
        .from(submissions)
        .where(
          and(
            live,
            inArray(submissions.baselineState, ["none", "disputed"]),
            eq(submissions.liveDissents, 0),
            sql`(${submissions.tlp} IS NULL OR ${submissions.tlp} <> 'red')`,
            sql`json_array_length(${submissions.concurStates}) >= ${p.quorum}`,
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
        .where(
          and(
            live,
            sql`${submissions.fbTrue} + ${submissions.fbFalse} >= ${p.fpMinReports}`,
            sql`CAST(${submissions.fbFalse} AS REAL) / (${submissions.fbTrue} + ${submissions.fbFalse}) >= ${p.fpRate}`,
          ),
        )
        .orderBy(desc(submissions.fbFalse))
        .limit(limit);
    }
    return c.json({ queue, submissions: await viewsOf(c.var.db, rows, p) }, 200);
  },
);

export default app;
