// The coordinators' curation queues: entries eligible for the baseline, disputed ones, and live
// ones flagged by platforms' false-positive reports. The conditions are the baseline rule's
// (rules/baseline.ts). No Hono types here.
import type { CurationQueueName, SubmissionView } from "@eusn/protocol";
import { and, asc, desc, eq, inArray } from "drizzle-orm";
import { submissions } from "../../../schema/index.ts";
import type { Env } from "../env.ts";
import type { Db } from "../lib/db.ts";
import { nowIso } from "../lib/encoding.ts";
import { currentSql, eligibleSql, flaggedSql, policy, type SubmissionRow } from "../rules/baseline.ts";
import { viewsOf } from "./submissions.ts";

/**
 * Up to `limit` entries of a queue: eligible (not yet included, or disputed) and disputed ones
 * oldest first, flagged ones by most false-positive reports first.
 */
export async function curationQueue(
  db: Db,
  env: Env,
  queue: CurationQueueName,
  limit: number,
): Promise<SubmissionView[]> {
  const p = await policy(db, env);
  const now = nowIso();
  const live = currentSql("submissions", now);
  let rows: SubmissionRow[];
  if (queue === "eligible") {
    rows = await db
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
    rows = await db
      .select()
      .from(submissions)
      .where(and(live, eq(submissions.baselineState, "disputed")))
      .orderBy(asc(submissions.createdAt))
      .limit(limit);
  } else {
    rows = await db
      .select()
      .from(submissions)
      .where(and(live, flaggedSql("submissions", p)))
      .orderBy(desc(submissions.fbFalse))
      .limit(limit);
  }
  return viewsOf(db, rows, p);
}
