// /v1/statements: a platform's statements of reasons for what it did on a match (DSA Art. 17,
// TCO Art. 11), each in two forms: the text for the person affected and the DSA Transparency
// Database document the platform files. A platform makes them only for entries it matched and reads
// only its own; `?affected=true` lists those whose entry was reversed, withdrawn or voided since.
import {
  StatementIdParam,
  StatementListQuery,
  StatementPage,
  StatementResult,
  StatementShowQuery,
  StatementView,
} from "@eusn/protocol";
import { createRoute } from "@hono/zod-openapi";
import { createStatement } from "../apply/statements.ts";
import { access } from "../auth/access.ts";
import { bearerSecurity, problems, type RouteContext, router, signedBody } from "../lib/hono.ts";
import { ApiError } from "../lib/problem.ts";
import { getStatement, listStatements, statementViews } from "../store/statements.ts";
import { signedWrite } from "./signed-write.ts";

const app = router();

export const postStatementRoute = createRoute({
  method: "post",
  path: "/v1/statements",
  tags: ["statements"],
  summary: "Make a statement of reasons for an action on a match (platform that matched the entry)",
  description:
    "The platform names the entry, its own reference of the content (never the content), what it did, who reviewed the match and when, and its complaint page. The answer carries the statement for the person affected (plain language; fixed parts in en, nl, de or fr) and the document for the DSA Transparency Database (its statement API v2). EUSN sends neither: the platform does. Refused (403) for an entry the platform did not match.",
  request: { body: signedBody("statement.create", "StatementRecord") },
  responses: {
    201: { description: "Stored", content: { "application/json": { schema: StatementResult } } },
    ...problems(400, 401, 403, 404, 409, 413, 415),
  },
});
/** Stores the statement and answers it rendered, with the write receipt. */
export const postStatement = signedWrite({
  applier: createStatement,
  async answer({ receipt, plan }, c) {
    const row = await getStatement(c.var.db, plan.subjectId);
    const [statement] = await statementViews(c.var.db, row ? [row] : []);
    return { body: { receipt, statement }, status: 201 };
  },
});
app.openapi(postStatementRoute, postStatement);

export const listStatementsRoute = createRoute({
  method: "get",
  path: "/v1/statements",
  tags: ["statements"],
  summary: "My statements of reasons, newest first (platform)",
  description:
    "Only the caller's own. `affected=true`: those whose entry was reversed, withdrawn or voided since (read from the change feed) — the people to tell and the actions to reconsider.",
  security: bearerSecurity,
  middleware: [access(["platform"])] as const,
  request: { query: StatementListQuery },
  responses: {
    200: { description: "A page of statements", content: { "application/json": { schema: StatementPage } } },
    ...problems(400, 401, 403),
  },
});
export async function listStatementsHandler(c: RouteContext<typeof listStatementsRoute>) {
  const q = c.req.valid("query");
  const { rows, next } = await listStatements(c.var.db, c.var.caller!.participant.id, {
    affected: q.affected === undefined ? undefined : q.affected === "true",
    after: q.after,
    limit: q.limit,
  });
  return c.json({ statements: await statementViews(c.var.db, rows, q.language), next }, 200);
}
app.openapi(listStatementsRoute, listStatementsHandler);

export const showStatementRoute = createRoute({
  method: "get",
  path: "/v1/statements/{id}",
  tags: ["statements"],
  summary: "One of my statements of reasons (platform)",
  description: "Another platform's statement is answered 404, as if it did not exist.",
  security: bearerSecurity,
  middleware: [access(["platform"])] as const,
  request: { params: StatementIdParam, query: StatementShowQuery },
  responses: {
    200: { description: "The statement", content: { "application/json": { schema: StatementView } } },
    ...problems(400, 401, 403, 404),
  },
});
export async function showStatement(c: RouteContext<typeof showStatementRoute>) {
  const { id } = c.req.valid("param");
  const { language } = c.req.valid("query");
  const row = await getStatement(c.var.db, id);
  if (!row || row.platformId !== c.var.caller!.participant.id)
    throw new ApiError("not_found", `no statement ${id}`);
  const [view] = await statementViews(c.var.db, [row], language);
  return c.json(view!, 200);
}
app.openapi(showStatementRoute, showStatement);

export default app;
