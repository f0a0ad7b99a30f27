// The rules of case files (docs/evidence.md), each as a predicate over rows and, where the node
// filters in D1, as SQL beside it:
//
// - Reachable: a case file can be opened while it is live and its entry is live and current, and
//   either no baseline decision has been taken on the entry yet (it is being assessed) or its last
//   effective decision is less than the retention period old (EVIDENCE_RETENTION_DAYS, at most 183
//   days). A withdrawal or reversal ends it at once; an expired entry's case file is unreachable
//   from the moment the entry expires, before the cron has deleted anything.
// - Audience: who may be a recipient of a case file's key. Authorities (of the named member
//   states when the submitter names some, which TLP:RED requires) and coordinators the submitter
//   names; never a platform.
import { type SQL, sql } from "drizzle-orm";
import { currentSql, isCurrent, type SubmissionRow } from "./baseline.ts";

/** Decisions that end an entry's assessment (withdraw and reverse end the case file outright). */
export const DECIDING_ACTIONS = ["include", "exclude", "retire"] as const;

export type CaseFileLife = {
  status: "live" | "deleted";
  submission: Pick<SubmissionRow, "status" | "expiresAt">;
  /** ISO time of the entry's last effective include/exclude/retire, or null. */
  lastDecisionAt: string | null;
};

/** The ISO instant before which a last decision puts a case file past its retention. */
export function retentionCutoff(retentionDays: number, now = Date.now()): string {
  return new Date(now - retentionDays * 86_400_000).toISOString();
}

/** Can this case file be opened now? */
export function caseFileReachable(row: CaseFileLife, retentionDays: number, now = Date.now()): boolean {
  if (row.status !== "live") return false;
  if (!isCurrent(row.submission, now)) return false;
  return row.lastDecisionAt === null || row.lastDecisionAt > retentionCutoff(retentionDays, now);
}

/** SQL form of `caseFileReachable` over `case_files` alias `cf` joined to its submission `s`. */
export function caseFileReachableSql(cf: string, s: string, retentionDays: number, now = Date.now()): SQL {
  const c = (a: string, column: string) => sql.raw(`"${a}"."${column}"`);
  const nowIso = new Date(now).toISOString();
  const cutoff = retentionCutoff(retentionDays, now);
  return sql`(${c(cf, "status")} = 'live' AND ${currentSql(s, nowIso)}
    AND COALESCE((SELECT MAX(d.created_at) FROM decisions d WHERE d.submission_id = ${c(s, "id")}
      AND d.effective = 1 AND d.action IN ('include', 'exclude', 'retire')), ${cutoff} || 'z') > ${cutoff})`;
}

export type Recipient = {
  participantId: string;
  role: "coordinator" | "authority" | "platform";
  status: string;
  memberState: string | null;
};

/**
 * Why `r` may not receive a case file's key, or null when it may. `memberStates` is the case
 * file's restriction (null: every authority); `red` is the entry's TLP:RED marking.
 */
export function recipientRefusal(
  r: Recipient | undefined,
  memberStates: readonly string[] | null,
): string | null {
  if (r?.status !== "active") return "is not an active participant";
  if (r.role === "platform") return "is a platform: case files are for authorities only";
  if (r.role === "authority" && memberStates && !memberStates.includes(r.memberState ?? ""))
    return `is an authority of ${r.memberState}, outside the case file's member states (${memberStates.join(", ")})`;
  return null;
}
