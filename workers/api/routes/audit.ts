// /v1/audit: the append-only audit trail, paged by sequence number; /v1/records/{id}: the exact
// signed bytes of one record.

import { AuditPage } from "@eusn/protocol";
import { createRoute, z } from "@hono/zod-openapi";
import { asc, eq, gt } from "drizzle-orm";
import { auditLog, records } from "../../../schema/index.ts";
import { access, bearerSecurity, problems, router } from "../lib/hono.ts";
import { ApiError } from "../lib/problem.ts";

const app = router();

app.openapi(
  createRoute({
    method: "get",
    path: "/v1/audit",
    tags: ["audit"],
    summary: "Page through the audit trail (coordinator)",
    security: bearerSecurity,
    middleware: [access(["coordinator"])] as const,
    request: {
      query: z.object({
        after: z.coerce
          .number()
          .int()
          .min(0)
          .default(0)
          .describe("Return entries with seq greater than this."),
        limit: z.coerce.number().int().min(1).max(1000).default(100),
      }),
    },
    responses: {
      200: {
        description: "Entries in sequence order",
        content: { "application/json": { schema: AuditPage } },
      },
      ...problems(400, 401, 403),
    },
  }),
  async (c) => {
    const { after, limit } = c.req.valid("query");
    const rows = await c.var.db
      .select()
      .from(auditLog)
      .where(gt(auditLog.seq, after))
      .orderBy(asc(auditLog.seq))
      .limit(limit + 1);
    const page = rows.slice(0, limit);
    return c.json(
      {
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
      },
      200,
    );
  },
);

app.openapi(
  createRoute({
    method: "get",
    path: "/v1/records/{id}",
    tags: ["audit"],
    summary: "The exact signed bytes of a record (participants)",
    description:
      "Answers the compact JWS exactly as it was received, as application/jose, for independent verification.",
    security: bearerSecurity,
    middleware: [access(["coordinator", "authority", "platform"])] as const,
    request: { params: z.object({ id: z.string().regex(/^rec_[0-9a-z]{1,40}$/) }) },
    responses: {
      200: { description: "The compact JWS", content: { "application/jose": { schema: z.string() } } },
      ...problems(400, 401, 404),
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const row = await c.var.db.select({ jws: records.jws }).from(records).where(eq(records.id, id)).get();
    if (!row) throw new ApiError("not_found", `no record ${id}`);
    return c.body(row.jws, 200, { "content-type": "application/jose" });
  },
);

export default app;
