// Appliers of the hash-sharing records: submissions, assessments, baseline decisions,
// withdrawals/reversals and match feedback. Used by routes/submissions.ts and by federation,
// so a replicated assessment counts toward eligibility exactly as a local one (apply/context.ts).
import type { SubmissionItem } from "@eusn/protocol";
import { and, eq, inArray, sql } from "drizzle-orm";
import {
  assessments,
  decisions,
  feedback,
  submissionChanges,
  submissionMatches,
  submissions,
} from "../../../schema/index.ts";
import { chunk, type Db, insertSelect } from "../lib/db.ts";
import { nowIso } from "../lib/encoding.ts";
import { ApiError } from "../lib/problem.ts";
import {
  guardedReason,
  inclusionGuard,
  isEligible,
  isExpired,
  isShareable,
  policy,
  type SubmissionRow,
  unchangedGuard,
} from "../rules/baseline.ts";
import { getParticipant } from "../store/participants.ts";
import {
  getSubmission,
  liveAssessments,
  recomputeAssessmentTally,
  recomputeFeedbackTally,
} from "../store/submissions.ts";
import type { Applied, Applier, ApplyContext } from "./context.ts";
import { derivedId } from "./ids.ts";

const fp = (i: SubmissionItem) => `${i.signalType}:${i.value}`;

export type SubmitApplied = Applied & {
  /** Items new to this node, with the ids they get. */
  fresh: { item: SubmissionItem; id: string }[];
  /** The submission id of every item, in record order (existing ones keep theirs). */
  ids: string[];
};

/**
 * An authority submits one or a batch of hashes. The same value by the same authority is the same
 * live submission (idempotent); only new items are created, each with an id derived from the
 * record and its position in the batch.
 */
export const createSubmissions: Applier<"submission.create", SubmitApplied> = {
  kind: "submission.create",
  roles: ["authority"],
  async apply(db, _env, w, ctx) {
    const me = w.caller.participant;
    const items = w.record.items;
    const seen = new Set<string>();
    items.forEach((it, idx) => {
      if (seen.has(fp(it))) {
        throw new ApiError("validation_failed", "the batch repeats a value", [
          { path: `/record/items/${idx}/value`, message: "repeated in this batch" },
        ]);
      }
      seen.add(fp(it));
    });
    items.forEach((it, idx) => {
      if (it.expiresAt && Date.parse(it.expiresAt) <= ctx.at) {
        throw new ApiError("validation_failed", "expiry in the past", [
          { path: `/record/items/${idx}/expiresAt`, message: "must be in the future" },
        ]);
      }
    });
    // Idempotency: this authority's live submissions of the same fingerprints.
    const existing = new Map<string, SubmissionRow>();
    for (const part of chunk([...seen], 90)) {
      const rows = await db
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
    const createdAt = nowIso(ctx.at);
    const fresh: SubmitApplied["fresh"] = [];
    for (const [n, item] of items.entries()) {
      if (!existing.has(fp(item))) fresh.push({ item, id: await derivedId("submission", w, n) });
    }
    const ids = items.map((it) => existing.get(fp(it))?.id ?? fresh.find((f) => f.item === it)!.id);
    return {
      fresh,
      ids,
      subjectId: fresh.length === 1 ? fresh[0]!.id : `batch:${fresh.length}`,
      statements: (recordId) => {
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
          // The submitter's own state counts while it is active (a replica may apply the record
          // of an authority revoked since; recomputeTallies keeps to the same rule).
          concurStates: JSON.stringify(me.status === "active" ? [me.memberState] : []),
          createdAt,
        }));
        // 23 columns per row: 4 rows per statement stays under D1's 100 bound parameters.
        const inserts = chunk(rows, 4).map((part) => db.insert(submissions).values(part));
        const changes = chunk(fresh, 16).map((part) =>
          db.insert(submissionChanges).values(
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
    };
  },
};

/** A live, unexpired submission (as of the record's time), or a 404/409 problem. */
async function liveSubmission(db: Db, id: string, ctx: ApplyContext): Promise<SubmissionRow> {
  const row = await getSubmission(db, id);
  if (!row) throw new ApiError("not_found", `no submission ${id}`);
  if (row.status !== "live") throw new ApiError("conflict", `submission ${id} is ${row.status}`);
  if (isExpired(row, ctx.at)) throw new ApiError("conflict", `submission ${id} expired at ${row.expiresAt}`);
  return row;
}

/**
 * Another authority concurs or dissents. One live assessment per authority per submission: a
 * later one replaces the earlier (both kept). A dissent on an included entry disputes it, when its
 * authority is active as the batch lands (a replicated dissent of an authority revoked since is
 * stored but, like all its assessments, counts for nothing).
 */
export const createAssessment: Applier<"assessment.create"> = {
  kind: "assessment.create",
  roles: ["authority"],
  async apply(db, _env, w, ctx) {
    const id = w.record.submissionId;
    const row = await liveSubmission(db, id, ctx);
    const me = w.caller.participant;
    if (row.submitterId === me.id)
      throw new ApiError("forbidden", "an authority cannot assess its own submission");
    const assessmentId = await derivedId("assessment", w);
    const disputes =
      w.record.verdict === "dissent" && row.baselineState === "included" && me.status === "active";
    const at = nowIso(ctx.at);
    const assessorActive = sql`EXISTS (SELECT 1 FROM participants p WHERE p.id = ${me.id} AND p.status = 'active')`;
    return {
      subjectId: assessmentId,
      statements: (recordId) => [
        db
          .update(assessments)
          .set({ live: false, supersededBy: assessmentId })
          .where(
            and(
              eq(assessments.submissionId, id),
              eq(assessments.authorityId, me.id),
              eq(assessments.live, true),
            ),
          ),
        db.insert(assessments).values({
          id: assessmentId,
          recordId,
          submissionId: id,
          authorityId: me.id,
          memberState: me.memberState!,
          verdict: w.record.verdict,
          limb: w.record.limb,
          reason: w.record.reason ?? null,
          createdAt: at,
        }),
        recomputeAssessmentTally(db, id),
        ...(disputes
          ? [
              // Both judged as the batch lands: still included, the assessor still active.
              insertSelect(
                db,
                submissionChanges,
                {
                  submissionId: sql`${id}`,
                  change: sql`'disputed'`,
                  affectsBaseline: sql`1`,
                  recordId: sql`${recordId}`,
                  at: sql`${at}`,
                },
                sql`WHERE EXISTS (SELECT 1 FROM submissions WHERE id = ${id} AND baseline_state = 'included')
                  AND ${assessorActive}`,
              ),
              db
                .update(submissions)
                .set({ baselineState: "disputed" })
                .where(
                  and(
                    eq(submissions.id, id),
                    eq(submissions.baselineState, "included"),
                    inArray(
                      submissions.id,
                      db
                        .select({ id: submissionChanges.submissionId })
                        .from(submissionChanges)
                        .where(
                          and(
                            eq(submissionChanges.recordId, recordId),
                            eq(submissionChanges.change, "disputed"),
                          ),
                        ),
                    ),
                  ),
                ),
            ]
          : []),
      ],
    };
  },
};

/**
 * A coordinator includes, excludes or retires a baseline entry. `include` only when the entry is
 * eligible under this node's policy and the cited live concurrences reach the quorum by themselves.
 */
export const decideBaseline: Applier<"baseline.decide"> = {
  kind: "baseline.decide",
  roles: ["coordinator"],
  async apply(db, env, w, ctx) {
    const id = w.record.submissionId;
    const row = await liveSubmission(db, id, ctx);
    const p = await policy(db, env);
    const cited = w.record.assessmentIds;
    const live = await liveAssessments(db, id);
    const liveById = new Map(live.map((a) => [a.id, a]));
    for (const aid of cited) {
      if (!liveById.has(aid))
        throw new ApiError("unprocessable", `assessment ${aid} is not a live assessment of ${id}`);
    }
    const submitterActive = (await getParticipant(db, row.submitterId))?.status === "active";
    let next: SubmissionRow["baselineState"];
    let change: "included" | "excluded" | "retired";
    switch (w.record.decision) {
      case "include": {
        if (row.baselineState === "included")
          throw new ApiError("conflict", `${id} is already in the baseline`);
        if (!isShareable(row))
          throw new ApiError("unprocessable", "TLP:RED entries are never shared through the baseline");
        // The submitter's state counts while the submitter is active, like in the tallies.
        const citedStates = new Set(submitterActive ? [row.memberState] : []);
        for (const aid of cited) {
          const a = liveById.get(aid)!;
          if (a.verdict !== "concur")
            throw new ApiError(
              "unprocessable",
              `assessment ${aid} is a dissent; an inclusion cites concurrences`,
            );
          if (!a.counts)
            throw new ApiError(
              "unprocessable",
              `assessment ${aid} is by ${a.authorityId}, which was revoked: its assessments no longer count`,
            );
          citedStates.add(a.memberState);
        }
        // Expiry was judged as of the record's time above (liveSubmission); eligibility is the rest.
        if (!isEligible({ ...row, expiresAt: null }, p)) {
          throw new ApiError(
            "unprocessable",
            `${id} is not eligible: ${JSON.parse(row.concurStates).length} of ${p.quorum} member states concur, ${row.liveDissents} live dissent(s)`,
          );
        }
        if (citedStates.size < p.quorum) {
          throw new ApiError(
            "unprocessable",
            `the cited assessments cover ${citedStates.size} member state(s)${submitterActive ? " (with the submitter's)" : " (the submitter was revoked and does not count)"}; the quorum is ${p.quorum}`,
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
    const decisionId = await derivedId("decision", w);
    const at = nowIso(ctx.at);
    // Every decision re-checks, as its batch lands, what it was judged on: an inclusion its whole
    // rule (a revocation or a dissent that landed since the reads above fails the batch with 409
    // instead of including on a stale tally); an exclusion or retirement that the entry is still
    // live and in the state it was judged in (another decision, a withdrawal or a reversal that
    // landed first fails it the same way, instead of recording a change that did not happen).
    const reason = guardedReason(
      next === "included"
        ? inclusionGuard(env, id, row.baselineState, cited)
        : unchangedGuard(id, row.baselineState),
      w.record.reason,
    );
    return {
      subjectId: decisionId,
      statements: (recordId) => [
        db.insert(decisions).values({
          id: decisionId,
          recordId,
          submissionId: id,
          actorId: w.claims.iss,
          action: w.record.decision,
          reason,
          assessmentIds: JSON.stringify(cited),
          createdAt: at,
        }),
        // Guarded by the state read above, so a racing decision cannot apply on a stale state.
        db
          .update(submissions)
          .set({ baselineState: next })
          .where(
            and(
              eq(submissions.id, id),
              eq(submissions.baselineState, row.baselineState),
              eq(submissions.status, "live"),
            ),
          ),
        db
          .insert(submissionChanges)
          .values({ submissionId: id, change, affectsBaseline: true, recordId, at }),
      ],
    };
  },
};

function endSubmission<K extends "submission.withdraw" | "submission.reverse">(
  kind: K,
  roles: K extends "submission.withdraw" ? ["authority"] : ["coordinator"],
): Applier<K> {
  return {
    kind,
    roles,
    async apply(db, _env, w, ctx) {
      const id = w.record.submissionId;
      const row = await getSubmission(db, id);
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
      const decisionId = await derivedId("decision", w);
      const record = w.record as { reason: string; ground?: string; reference?: string };
      const at = nowIso(ctx.at);
      return {
        subjectId: decisionId,
        statements: (recordId) => [
          db.insert(decisions).values({
            id: decisionId,
            recordId,
            submissionId: id,
            actorId: w.claims.iss,
            action,
            // Still live as the batch lands, or the whole write is refused (409): of a withdrawal
            // and a reversal racing, one ends the entry and the other records nothing.
            reason: guardedReason(unchangedGuard(id), record.reason),
            ground: record.ground ?? null,
            reference: record.reference ?? null,
            createdAt: at,
          }),
          db
            .update(submissions)
            .set({ status })
            .where(and(eq(submissions.id, id), eq(submissions.status, "live"))),
          db.insert(submissionChanges).values({
            submissionId: id,
            change: status,
            affectsBaseline: row.baselineState === "included" || row.baselineState === "disputed",
            recordId,
            at,
          }),
        ],
      };
    },
  };
}

/** The submitting authority withdraws its own submission. */
export const withdrawSubmission = endSubmission("submission.withdraw", ["authority"]);
/** A coordinator reverses a submission (upheld complaint, court ruling). */
export const reverseSubmission = endSubmission("submission.reverse", ["coordinator"]);

/**
 * A platform reports a match outcome. One live report per platform per entry. Only a platform
 * that matched the entry may report; matches are node-local facts (no signed record), so for a
 * replicated report the origin node's check stands and is not repeated (docs/federation.md).
 */
export const createFeedback: Applier<"feedback.create"> = {
  kind: "feedback.create",
  roles: ["platform"],
  async apply(db, _env, w, ctx) {
    const id = w.record.submissionId;
    const row = await getSubmission(db, id);
    if (!row) throw new ApiError("not_found", `no submission ${id}`);
    if (!ctx.replicated) {
      const matched = await db
        .select({ n: submissionMatches.count })
        .from(submissionMatches)
        .where(and(eq(submissionMatches.submissionId, id), eq(submissionMatches.platformId, w.claims.iss)))
        .get();
      if (!matched)
        throw new ApiError("forbidden", `you have not matched ${id}; feedback is about your own matches`);
    }
    const feedbackId = await derivedId("feedback", w);
    return {
      subjectId: feedbackId,
      statements: (recordId) => [
        db
          .update(feedback)
          .set({ live: false })
          .where(
            and(
              eq(feedback.submissionId, id),
              eq(feedback.platformId, w.claims.iss),
              eq(feedback.live, true),
            ),
          ),
        db.insert(feedback).values({
          id: feedbackId,
          recordId,
          submissionId: id,
          platformId: w.claims.iss,
          outcome: w.record.outcome,
          note: w.record.note ?? null,
          createdAt: nowIso(ctx.at),
        }),
        recomputeFeedbackTally(db, id),
      ],
    };
  },
};
