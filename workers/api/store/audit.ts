// The audit trail and the stored signed records, as read by the audit routes. No Hono types here.

import type { AuditEntry, AuditQuery } from "@eusn/protocol";
import { and, asc, desc, eq, gt, lt, type SQL } from "drizzle-orm";
import { auditLog, records } from "../../../schema/index.ts";
import type { Db } from "../lib/db.ts";

/**
 * Up to `limit` audit entries, oldest first after `after`, or newest first before `before`
 * (order=desc), optionally of one kind, actor or subject, and the cursor of the next page.
 */
export async function auditPage(
  db: Db,
  q: AuditQuery,
): Promise<{ entries: (AuditEntry & { detail?: unknown })[]; next: number | null }> {
  const { limit } = q;
  const where: SQL[] = [gt(auditLog.seq, q.after)];
  if (q.before !== undefined) where.push(lt(auditLog.seq, q.before));
  if (q.kind !== undefined) where.push(eq(auditLog.kind, q.kind));
  if (q.actor !== undefined) where.push(eq(auditLog.actor, q.actor));
  if (q.subject !== undefined) where.push(eq(auditLog.subjectId, q.subject));
  const rows = await db
    .select()
    .from(auditLog)
    .where(and(...where))
    .orderBy(q.order === "desc" ? desc(auditLog.seq) : asc(auditLog.seq))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  return {
    entries: page.map((r) => ({
      seq: r.seq,
      kind: r.kind,
      recordId: r.recordId,
      subjectId: r.subjectId,
      actor: r.actor,
      at: r.at,
      jwsSha256: r.jwsSha256,
      ...(r.detail ? { detail: JSON.parse(r.detail) as unknown } : {}),
    })),
    next: rows.length > limit ? page[page.length - 1]!.seq : null,
  };
}

/** The compact JWS of a stored record exactly as it was received, its kind and signer, or undefined. */
export async function recordJws(
  db: Db,
  id: string,
): Promise<{ jws: string; kind: string; issuer: string } | undefined> {
  return db
    .select({ jws: records.jws, kind: records.kind, issuer: records.issuer })
    .from(records)
    .where(eq(records.id, id))
    .get();
}
