// Appliers of crisis incidents (docs/incidents.md): a coordinator declares an incident with a
// time box (≤ 72 h), extends it (never beyond 7 days from its start) and closes it. Closing lapses
// the incident's unconfirmed provisional entries in the close's own batch, so no platform is
// answered one after the close is stored. Shared by HTTP and federation (apply/pipeline.ts): a
// replica judges each record at its signed time, as its origin did.
import { INCIDENT_MAX_TOTAL_DAYS } from "@eusn/protocol";
import { eq } from "drizzle-orm";
import { incidents } from "../../../schema/index.ts";
import type { Db } from "../lib/db.ts";
import { nowIso } from "../lib/encoding.ts";
import { derivedId } from "../lib/ids.ts";
import { ApiError } from "../lib/problem.ts";
import {
  effectiveEnd,
  getIncident,
  type IncidentRow,
  incidentGuard,
  lapseStatements,
} from "../store/incidents.ts";
import type { Applier, Plan } from "./context.ts";

/** How far before its signing an incident may be declared to have started. */
const MAX_BACKDATE_MS = 24 * 3600_000;

/** The incident a record names, or 404. */
async function incidentOf(db: Db, id: string): Promise<IncidentRow> {
  const row = await getIncident(db, id);
  if (!row) throw new ApiError("not_found", `no incident ${id}`);
  return row;
}

/**
 * Has the incident ended by `at` (ms)? Judged at the record's signed time and, for a write to this
 * node, at the node's time too: a record signed up to 5 minutes early (the skew a signed write may
 * have) cannot act on an incident that has ended here.
 */
function endedBy(row: IncidentRow, at: number, replicated: boolean): boolean {
  const end = Date.parse(effectiveEnd(row));
  return end <= at || (!replicated && end <= Date.now());
}

export type IncidentPlan = Plan & { incidentId: string };

export const declareIncident: Applier<"incident.declare", IncidentPlan> = {
  kind: "incident.declare",
  roles: ["coordinator"],
  replicated: true,
  async apply(db, _env, w, ctx) {
    const r = w.record;
    const start = Date.parse(r.startsAt);
    const end = Date.parse(r.endsAt);
    if (start < ctx.at - MAX_BACKDATE_MS)
      throw new ApiError("validation_failed", "an incident starts at most 24 h before it is declared", [
        { path: "/record/startsAt", message: "more than 24 h before the record's signed time" },
      ]);
    if (end <= ctx.at || (!ctx.replicated && end <= Date.now()))
      throw new ApiError("validation_failed", "an incident cannot be declared after its end", [
        { path: "/record/endsAt", message: "must be in the future" },
      ]);
    const id = await derivedId("incident", w);
    return {
      incidentId: id,
      subjectId: id,
      incidents: [id],
      statements: [
        db.insert(incidents).values({
          id,
          recordId: ctx.recordId,
          declaredBy: w.claims.iss,
          title: r.title,
          description: r.description,
          requestedBy: JSON.stringify([...r.requestedBy].sort()),
          startsAt: new Date(start).toISOString(),
          endsAt: new Date(end).toISOString(),
          public: r.public,
          createdAt: nowIso(ctx.at),
        }),
      ],
      uniqueConflict: { pattern: /UNIQUE.*incidents\.id/, detail: `incident ${id} exists` },
    };
  },
};

export const extendIncident: Applier<"incident.extend", IncidentPlan> = {
  kind: "incident.extend",
  roles: ["coordinator"],
  replicated: true,
  dependsOn: (w) => [`incident:${w.record.incidentId}`],
  async apply(db, _env, w, ctx) {
    const row = await incidentOf(db, w.record.incidentId);
    if (row.closedAt) throw new ApiError("conflict", `incident ${row.id} is closed`);
    if (endedBy(row, ctx.at, ctx.replicated))
      throw new ApiError("conflict", `incident ${row.id} has ended; declare a new incident`);
    const end = Date.parse(w.record.endsAt);
    if (end <= Date.parse(row.endsAt))
      throw new ApiError("validation_failed", "an extension moves the end later", [
        { path: "/record/endsAt", message: `must be after the current end ${row.endsAt}` },
      ]);
    if (end - Date.parse(row.startsAt) > INCIDENT_MAX_TOTAL_DAYS * 86400_000)
      throw new ApiError("validation_failed", `an incident lasts at most ${INCIDENT_MAX_TOTAL_DAYS} days`, [
        {
          path: "/record/endsAt",
          message: `more than ${INCIDENT_MAX_TOTAL_DAYS} days after ${row.startsAt}`,
        },
      ]);
    return {
      incidentId: row.id,
      subjectId: row.id,
      incidents: [row.id],
      statements: [
        ...incidentGuard(db, row),
        db
          .update(incidents)
          .set({
            endsAt: new Date(end).toISOString(),
            extensions: row.extensions + 1,
            version: row.version + 1,
          })
          .where(eq(incidents.id, row.id)),
      ],
    };
  },
};

export const closeIncident: Applier<"incident.close", IncidentPlan> = {
  kind: "incident.close",
  roles: ["coordinator"],
  replicated: true,
  dependsOn: (w) => [`incident:${w.record.incidentId}`],
  async apply(db, _env, w, ctx) {
    const row = await incidentOf(db, w.record.incidentId);
    if (row.closedAt) throw new ApiError("conflict", `incident ${row.id} is already closed`);
    const at = nowIso(ctx.at);
    return {
      incidentId: row.id,
      subjectId: row.id,
      incidents: [row.id],
      statements: [
        ...incidentGuard(db, row),
        db
          .update(incidents)
          .set({ closedAt: at, closeRecordId: ctx.recordId, version: row.version + 1 })
          .where(eq(incidents.id, row.id)),
        // Every unconfirmed entry lapses now, in this batch, whatever the clock of the node says.
        ...lapseStatements(db, { incidentId: row.id, recordId: ctx.recordId, at, all: true }),
      ],
    };
  },
};
