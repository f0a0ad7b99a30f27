// The audit trail and the stored signed records, as read by the audit routes: pages in either
// order, filtered in D1 by kind, actor, subject and day, so the console never has to load the
// whole trail to find one entry. No Hono types here.

import type { AuditEntry, AuditQuery } from "@eusn/protocol";
import { and, asc, count, desc, eq, gt, gte, lt, lte, type SQL } from "drizzle-orm";
import { auditLog, records } from "../../../schema/index.ts";
import type { Db } from "../lib/db.ts";

export type AuditFilter = Pick<AuditQuery, "kind" | "actor" | "subject" | "from" | "to">;

/** The filters as conditions on audit_log (a subject matches by its start). */
function filterConds(f: AuditFilter): SQL[] {
  const conds: SQL[] = [];
  if (f.kind) conds.push(eq(auditLog.kind, f.kind));
  if (f.actor) conds.push(eq(auditLog.actor, f.actor));
  // A prefix as a range, which the subject index can answer: [prefix, prefix + U+FFFF).
  if (f.subject) conds.push(gte(auditLog.subjectId, f.subject), lt(auditLog.subjectId, `${f.subject}\uffff`));
  // `at` is ISO-8601 UTC, which sorts as it compares.
  if (f.from) conds.push(gte(auditLog.at, `${f.from}T00:00:00.000Z`));
  if (f.to) conds.push(lte(auditLog.at, `${f.to}T23:59:59.999Z`));
  return conds;
}

/**
 * Up to `limit` audit entries matching the filters: oldest first after sequence number `after`,
 * or newest first before `before`; with the cursor of the next page and, on request, how many
 * entries match in all.
 */
export async function auditPage(
  db: Db,
  q: AuditFilter & {
    order: "asc" | "desc";
    after: number;
    before?: number | undefined;
    limit: number;
    count?: boolean;
  },
): Promise<{ entries: (AuditEntry & { detail?: unknown })[]; next: number | null; total?: number }> {
  const filters = filterConds(q);
  const cursor = [gt(auditLog.seq, q.after)];
  if (q.before !== undefined) cursor.push(lt(auditLog.seq, q.before));
  const [rows, total] = await Promise.all([
    db
      .select()
      .from(auditLog)
      .where(and(...filters, ...cursor))
      .orderBy(q.order === "asc" ? asc(auditLog.seq) : desc(auditLog.seq))
      .limit(q.limit + 1),
    q.count
      ? db
          .select({ n: count() })
          .from(auditLog)
          .where(and(...filters))
          .get()
      : Promise.resolve(undefined),
  ]);
  const page = rows.slice(0, q.limit);
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
    next: rows.length > q.limit ? page[page.length - 1]!.seq : null,
    ...(total ? { total: total.n } : {}),
  };
}

/** The distinct kinds and actors in the trail, for the console's filter choices. */
export async function auditFacets(db: Db): Promise<{ kinds: string[]; actors: string[] }> {
  const [kinds, actors] = await Promise.all([
    db.selectDistinct({ v: auditLog.kind }).from(auditLog).orderBy(asc(auditLog.kind)),
    db.selectDistinct({ v: auditLog.actor }).from(auditLog).orderBy(asc(auditLog.actor)),
  ]);
  return { kinds: kinds.map((k) => k.v), actors: actors.map((a) => a.v) };
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
