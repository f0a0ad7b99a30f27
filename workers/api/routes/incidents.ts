// /v1/incidents: crisis incidents (docs/incidents.md). Coordinators declare, extend and close
// them (signed writes); every participant lists them and follows an incident's hashes — the fast
// lane: a cursor over the incident's additions and removals, held open as a long-poll by the
// incident's IncidentWatch Durable Object until something changes. Coordinators read the
// per-entry report; a public incident's counts-only summary is public.
import {
  INCIDENT_MAX_WAIT_S,
  IncidentHashesQuery,
  IncidentHashPage,
  IncidentIdParam,
  IncidentList,
  IncidentListQuery,
  IncidentReport,
  IncidentSummary,
  IncidentView,
  WriteReceipt,
} from "@eusn/protocol";
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { closeIncident, declareIncident, extendIncident, type IncidentPlan } from "../apply/incidents.ts";
import type { Accepted } from "../apply/pipeline.ts";
import { access } from "../auth/access.ts";
import { type AppEnv, bearerSecurity, problems, type RouteContext, router, signedBody } from "../lib/hono.ts";
import { ApiError } from "../lib/problem.ts";
import {
  getIncident,
  incidentHashes,
  incidentReport,
  incidentStatus,
  incidentSummary,
  incidentViews,
  listIncidents,
} from "../store/incidents.ts";
import { signedWrite } from "./signed-write.ts";

const app = router();

const IncidentWriteResult = z
  .object({ receipt: WriteReceipt, incident: IncidentView })
  .meta({ id: "IncidentWriteResult" });

/** The receipt and the incident as it is now. */
async function answerIncident({ receipt, plan }: Accepted<IncidentPlan>, c: Context<AppEnv>) {
  const row = await getIncident(c.var.db, plan.incidentId);
  const [incident] = await incidentViews(c.var.db, row ? [row] : []);
  return { body: { receipt, incident }, status: 201 as const };
}

export const declareIncidentRoute = createRoute({
  method: "post",
  path: "/v1/incidents",
  tags: ["incidents"],
  summary: "Declare a crisis incident (coordinator)",
  description:
    "Title, description, the member states that asked for it, and a time box: it ends at most 72 h after it starts (extend it later, never beyond 7 days from its start). While it is active, authorities may submit provisional entries tagged with it (POST /v1/submissions with `incidentId`), which match at once in scope `baseline` too.",
  request: { body: signedBody("incident.declare", "DeclareIncidentRecord") },
  responses: {
    201: { description: "Declared", content: { "application/json": { schema: IncidentWriteResult } } },
    ...problems(400, 401, 403, 409, 413, 415, 422),
  },
});
export const postIncident = signedWrite({ applier: declareIncident, answer: answerIncident });
app.openapi(declareIncidentRoute, postIncident);

export const extendIncidentRoute = createRoute({
  method: "post",
  path: "/v1/incidents/{id}/extend",
  tags: ["incidents"],
  summary: "Move an active incident's end later (coordinator)",
  description:
    "Only before it has ended or been closed; the new end is later than the current one and at most 7 days after the incident's start.",
  request: { params: IncidentIdParam, body: signedBody("incident.extend", "ExtendIncidentRecord") },
  responses: {
    201: { description: "Extended", content: { "application/json": { schema: IncidentWriteResult } } },
    ...problems(400, 401, 403, 404, 409, 413, 415, 422),
  },
});
export const postIncidentExtend = signedWrite({
  applier: extendIncident,
  subject: { param: "id", field: "incidentId", detail: "the record's incidentId differs from the path" },
  answer: answerIncident,
});
app.openapi(extendIncidentRoute, postIncidentExtend);

export const closeIncidentRoute = createRoute({
  method: "post",
  path: "/v1/incidents/{id}/close",
  tags: ["incidents"],
  summary: "Close an incident (coordinator)",
  description:
    "Its provisional entries not included by then lapse in the same batch: no platform is answered one after the close is stored, and platforms that matched one see it in GET /v1/reversals (`provisional_lapsed`).",
  request: { params: IncidentIdParam, body: signedBody("incident.close", "CloseIncidentRecord") },
  responses: {
    201: { description: "Closed", content: { "application/json": { schema: IncidentWriteResult } } },
    ...problems(400, 401, 403, 404, 409, 413, 415),
  },
});
export const postIncidentClose = signedWrite({
  applier: closeIncident,
  subject: { param: "id", field: "incidentId", detail: "the record's incidentId differs from the path" },
  answer: answerIncident,
});
app.openapi(closeIncidentRoute, postIncidentClose);

export const listIncidentsRoute = createRoute({
  method: "get",
  path: "/v1/incidents",
  tags: ["incidents"],
  summary: "Crisis incidents, newest first (every participant)",
  security: bearerSecurity,
  middleware: [access(["coordinator", "authority", "platform"])] as const,
  request: { query: IncidentListQuery },
  responses: {
    200: { description: "Incidents", content: { "application/json": { schema: IncidentList } } },
    ...problems(400, 401, 403),
  },
});
export async function listIncidentsHandler(c: RouteContext<typeof listIncidentsRoute>) {
  const { status } = c.req.valid("query");
  const rows = await listIncidents(c.var.db, status === "active");
  return c.json({ incidents: await incidentViews(c.var.db, rows) }, 200);
}
app.openapi(listIncidentsRoute, listIncidentsHandler);

export const showIncidentRoute = createRoute({
  method: "get",
  path: "/v1/incidents/{id}",
  tags: ["incidents"],
  summary: "One incident, its status now and its entries' counts (every participant)",
  security: bearerSecurity,
  middleware: [access(["coordinator", "authority", "platform"])] as const,
  request: { params: IncidentIdParam },
  responses: {
    200: { description: "The incident", content: { "application/json": { schema: IncidentView } } },
    ...problems(400, 401, 403, 404),
  },
});
export async function showIncident(c: RouteContext<typeof showIncidentRoute>) {
  const { id } = c.req.valid("param");
  const row = await getIncident(c.var.db, id);
  if (!row) throw new ApiError("not_found", `no incident ${id}`);
  const [view] = await incidentViews(c.var.db, [row]);
  return c.json(view!, 200);
}
app.openapi(showIncidentRoute, showIncident);

export const incidentHashesRoute = createRoute({
  method: "get",
  path: "/v1/incidents/{id}/hashes",
  tags: ["incidents"],
  summary: "The fast lane: an incident's hash additions and removals after a cursor (every participant)",
  description: `Each change of the incident's entries after \`after\` (a position in the change feed), with what to do now: \`add\` (match it: provisional, or included) or \`remove\` (lapsed, withdrawn, reversed, excluded). Replaying pages in order gives the set the node answers in scope \`baseline\` for this incident. With \`wait\` (≤ ${INCIDENT_MAX_WAIT_S} s) and nothing after the cursor, the request is held open and answered as soon as a write changes the incident's hashes (the incident's IncidentWatch Durable Object wakes it), or empty at the timeout. TLP:RED entries are never listed.`,
  security: bearerSecurity,
  middleware: [access(["coordinator", "authority", "platform"])] as const,
  request: { params: IncidentIdParam, query: IncidentHashesQuery },
  responses: {
    200: { description: "A page of changes", content: { "application/json": { schema: IncidentHashPage } } },
    ...problems(400, 401, 403, 404),
  },
});
export async function incidentHashesHandler(c: RouteContext<typeof incidentHashesRoute>) {
  const { id } = c.req.valid("param");
  const { after, limit, wait } = c.req.valid("query");
  const row = await getIncident(c.var.db, id);
  if (!row) throw new ApiError("not_found", `no incident ${id}`);
  let page = await incidentHashes(c.env.DB, id, after, limit);
  if (page.changes.length === 0 && wait > 0) {
    const watch = c.env.INCIDENT_WATCH.get(c.env.INCIDENT_WATCH.idFromName(id));
    if (await watch.wait(id, after, wait * 1000)) page = await incidentHashes(c.env.DB, id, after, limit);
  }
  const fresh = (await getIncident(c.var.db, id)) ?? row;
  c.header("cache-control", "no-store");
  return c.json(
    {
      incidentId: id,
      status: incidentStatus(fresh),
      changes: page.changes,
      next: page.changes.at(-1)?.seq ?? after,
      more: page.more,
    },
    200,
  );
}
app.openapi(incidentHashesRoute, incidentHashesHandler);

export const incidentReportRoute = createRoute({
  method: "get",
  path: "/v1/incidents/{id}/report",
  tags: ["incidents"],
  summary: "Per entry of an incident: submitted, first match, matches, feedback, fate (coordinator)",
  description:
    "Accountability after a crisis: every entry tagged with the incident, when it was submitted, when any platform first matched it, how many match answers returned it and by how many platforms, the platforms' feedback, and its fate now (provisional, included, lapsed, withdrawn, reversed, excluded).",
  security: bearerSecurity,
  middleware: [access(["coordinator"])] as const,
  request: { params: IncidentIdParam },
  responses: {
    200: { description: "The report", content: { "application/json": { schema: IncidentReport } } },
    ...problems(400, 401, 403, 404),
  },
});
export async function incidentReportHandler(c: RouteContext<typeof incidentReportRoute>) {
  const { id } = c.req.valid("param");
  const row = await getIncident(c.var.db, id);
  if (!row) throw new ApiError("not_found", `no incident ${id}`);
  const [incident] = await incidentViews(c.var.db, [row]);
  const entries = await incidentReport(c.var.db, id, new Date().toISOString());
  return c.json({ incident: incident!, entries }, 200);
}
app.openapi(incidentReportRoute, incidentReportHandler);

export const incidentSummaryRoute = createRoute({
  method: "get",
  path: "/v1/incidents/{id}/summary",
  tags: ["incidents"],
  summary: "A public incident's counts-only summary, for transparency reports (no sign-in)",
  description:
    "Only for an incident its coordinator marked public (any other is 404, as if it did not exist): its title and dates, how many entries, how many were matched and how often, their fates and the platforms' feedback. No hash, member state or participant.",
  request: { params: IncidentIdParam },
  responses: {
    200: { description: "The summary", content: { "application/json": { schema: IncidentSummary } } },
    ...problems(400, 404),
  },
});
export async function incidentSummaryHandler(c: RouteContext<typeof incidentSummaryRoute>) {
  const { id } = c.req.valid("param");
  const row = await getIncident(c.var.db, id);
  if (!row?.public) throw new ApiError("not_found", `no public incident ${id}`);
  c.header("cache-control", "public, max-age=60");
  return c.json(await incidentSummary(c.var.db, row, new Date().toISOString()), 200);
}
app.openapi(incidentSummaryRoute, incidentSummaryHandler);

export default app;
