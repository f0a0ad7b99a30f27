// /v1/audit: the append-only audit trail, paged by sequence number in either order and filtered
// by kind, actor, subject and day; /v1/audit/facets: the kinds and actors it holds;
// /v1/records/{id}: the exact signed bytes of one record.

import { AuditFacets, AuditPage, AuditQuery, RecordIdParam } from "@eusn/protocol";
import { createRoute, z } from "@hono/zod-openapi";
import { access } from "../auth/access.ts";
import { bearerSecurity, problems, type RouteContext, router } from "../lib/hono.ts";
import { ApiError } from "../lib/problem.ts";
import { auditFacets, auditPage, recordJws } from "../store/audit.ts";
import { readRefusals } from "../store/record-access.ts";

const app = router();

export const listAuditRoute = createRoute({
  method: "get",
  path: "/v1/audit",
  tags: ["audit"],
  summary: "Page through the audit trail, oldest or newest first, filtered (coordinator)",
  description:
    "Order `asc` pages with `after` (the default, from the start), `desc` with `before` (from the newest). Filters: kind, actor, subject (its start), from/to (UTC days). `count=true` adds `total`.",
  security: bearerSecurity,
  middleware: [access(["coordinator"])] as const,
  request: { query: AuditQuery },
  responses: {
    200: {
      description: "Entries in sequence order",
      content: { "application/json": { schema: AuditPage } },
    },
    ...problems(400, 401, 403),
  },
});
export async function listAudit(c: RouteContext<typeof listAuditRoute>) {
  const q = c.req.valid("query");
  if (q.order === "asc" && q.before !== undefined)
    throw new ApiError("validation_failed", "`before` pages order desc; order asc pages with `after`", [
      { path: "/query/before", message: "only with order=desc" },
    ]);
  if (q.from && q.to && q.from > q.to)
    throw new ApiError("validation_failed", "`from` is after `to`", [
      { path: "/query/from", message: "must not be after `to`" },
    ]);
  return c.json(await auditPage(c.var.db, { ...q, count: q.count === "true" }), 200);
}
app.openapi(listAuditRoute, listAudit);

export const auditFacetsRoute = createRoute({
  method: "get",
  path: "/v1/audit/facets",
  tags: ["audit"],
  summary: "The kinds and actors the audit trail holds, for filter choices (coordinator)",
  security: bearerSecurity,
  middleware: [access(["coordinator"])] as const,
  responses: {
    200: {
      description: "Distinct kinds and actors",
      content: { "application/json": { schema: AuditFacets } },
    },
    ...problems(401, 403),
  },
});
export async function listAuditFacets(c: RouteContext<typeof auditFacetsRoute>) {
  return c.json(await auditFacets(c.var.db), 200);
}
app.openapi(auditFacetsRoute, listAuditFacets);

export const getRecordRoute = createRoute({
  method: "get",
  path: "/v1/records/{id}",
  tags: ["audit"],
  summary: "The exact signed bytes of a record (participants)",
  description:
    "Answers the compact JWS exactly as it was received, as application/jose, for independent verification — to the participants its kind's read policy allows (404 to anyone else, as for a record that does not exist): registry records to everyone; submissions and what is said about them to coordinators and authorities (a platform: its own feedback); a signal's record to its origin while the signal is live; a signal's retraction or reversal to those it concerns; selector-key records to platforms and coordinators; API credentials to their signer and coordinators; a statement of reasons to its signer.",
  security: bearerSecurity,
  middleware: [access(["coordinator", "authority", "platform"])] as const,
  request: { params: RecordIdParam },
  responses: {
    200: { description: "The compact JWS", content: { "application/jose": { schema: z.string() } } },
    ...problems(400, 401, 404),
  },
});
export async function getRecord(c: RouteContext<typeof getRecordRoute>) {
  const { id } = c.req.valid("param");
  const row = await recordJws(c.var.db, id);
  const me = c.var.caller!.participant;
  // The read policy of the record's kind (rules/record-access.ts). A record the caller may not
  // read is, to the caller, not there: its existence alone can say too much.
  const refusal =
    row && (await readRefusals(c.var.db, { participantId: me.id, role: me.role }, [{ id, ...row }])).get(id);
  if (!row || refusal !== undefined) throw new ApiError("not_found", `no record ${id}`);
  return c.body(row.jws, 200, { "content-type": "application/jose" });
}
app.openapi(getRecordRoute, getRecord);

export default app;
