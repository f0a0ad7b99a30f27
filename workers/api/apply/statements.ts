// The applier of a platform's statement of reasons (`statement.create`): a platform documents the
// action it took on content that matched an entry. Node-local (never replicated): the statement
// names the platform's own content reference, and the match that entitles the platform to make it
// is a fact of this node only (submission_matches). The legal ground is copied from the entry as
// its authority submitted it, so the statement reads the same whatever happens to the entry later;
// a later reversal is read from the change feed, not written here.
import { MAX_CLOCK_SKEW_S, type StatementGround, type TcoLimb } from "@eusn/protocol";
import { statements } from "../../../schema/index.ts";
import { nowIso } from "../lib/encoding.ts";
import { derivedId } from "../lib/ids.ts";
import { ApiError } from "../lib/problem.ts";
import { getParticipant } from "../store/participants.ts";
import { hasMatched, type StatementDetails } from "../store/statements.ts";
import { getSubmission } from "../store/submissions.ts";
import type { Applier } from "./context.ts";

const DAY_MS = 86_400_000;

export const createStatement: Applier<"statement.create"> = {
  kind: "statement.create",
  roles: ["platform"],
  replicated: false,
  async apply(db, _env, w, ctx) {
    const r = w.record;
    const entry = await getSubmission(db, r.submissionId);
    if (!entry) throw new ApiError("not_found", `no submission ${r.submissionId}`);
    // Only the platform that matched the entry acted on it; any other could cite an authority's
    // assessment for content that never matched it.
    if (!(await hasMatched(db, entry.id, w.claims.iss)))
      throw new ApiError(
        "forbidden",
        `you have not matched ${entry.id}; a statement is about your own action on your own match`,
      );
    const late = (path: string, message: string) =>
      new ApiError("validation_failed", message, [{ path: `/record/${path}`, message }]);
    if (Date.parse(r.reviewedAt) > ctx.at + MAX_CLOCK_SKEW_S * 1000)
      throw late("reviewedAt", "the review is in the future");
    // A day's grace for platforms east of UTC, whose today may be UTC's tomorrow.
    if (r.appliedOn > nowIso(ctx.at + DAY_MS).slice(0, 10))
      throw late("appliedOn", "the action is in the future: a statement documents an action taken");
    const authority = await getParticipant(db, entry.submitterId);
    const ground: StatementGround = {
      limbs: JSON.parse(entry.limbs) as TcoLimb[],
      nationalProvision: entry.nationalProvision,
      memberState: entry.memberState,
      authority: authority?.displayName ?? `the competent authority of ${entry.memberState}`,
      contentType: entry.contentType,
    };
    const id = await derivedId("statement", w);
    const details: StatementDetails = { record: r, ground };
    return {
      subjectId: id,
      statements: [
        db.insert(statements).values({
          id,
          recordId: ctx.recordId,
          platformId: w.claims.iss,
          submissionId: entry.id,
          contentRef: r.contentRef,
          details: JSON.stringify(details),
          createdAt: nowIso(ctx.at),
        }),
      ],
    };
  },
};
