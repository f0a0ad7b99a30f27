// The baseline as platforms read it: its entries in id order, paged or whole (for the signed
// snapshot). Membership is the baseline rule's (rules/baseline.ts). No Hono types here.
import type { BaselineEntry } from "@eusn/protocol";
import { and, asc, gt } from "drizzle-orm";
import { submissions } from "../../../schema/index.ts";
import type { Db } from "../lib/db.ts";
import { inBaselineSql, type SubmissionRow } from "../rules/baseline.ts";

export function toBaselineEntry(r: SubmissionRow): BaselineEntry {
  return {
    id: r.id,
    signalType: r.signalType,
    value: r.value,
    quality: r.quality,
    limbs: JSON.parse(r.limbs) as string[],
    contentType: r.contentType,
    memberState: r.memberState,
    nationalProvision: r.nationalProvision,
    tlp: r.tlp,
    state: r.baselineState as BaselineEntry["state"],
    concurStates: JSON.parse(r.concurStates) as string[],
    expiresAt: r.expiresAt,
  };
}

/** Up to `limit` baseline entries with ids after `after`, and the cursor of the next page. */
export async function baselinePage(
  db: Db,
  after: string | undefined,
  limit: number,
  now: string,
): Promise<{ entries: BaselineEntry[]; next: string | null }> {
  const rows = await db
    .select()
    .from(submissions)
    .where(and(inBaselineSql("submissions", now), after ? gt(submissions.id, after) : undefined))
    .orderBy(asc(submissions.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  return {
    entries: page.map(toBaselineEntry),
    next: rows.length > limit ? page[page.length - 1]!.id : null,
  };
}

/** Every baseline entry, in id order. */
export async function baselineEntries(db: Db, now: string): Promise<BaselineEntry[]> {
  const rows = await db
    .select()
    .from(submissions)
    .where(inBaselineSql("submissions", now))
    .orderBy(asc(submissions.id));
  return rows.map(toBaselineEntry);
}
