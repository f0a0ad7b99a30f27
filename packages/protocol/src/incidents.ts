// Wire schemas for crisis incidents: a coordinator declares a time-boxed incident (the EU Crisis
// Protocol's "crisis" and GIFCT's Content Incident Protocol are its models), extends or closes it;
// authorities tag submissions with an active incident so they match at once, labelled
// `provisional`, until the incident ends or 72 hours pass (docs/incidents.md).
import { z } from "zod";
import { EU_MEMBER_STATES } from "./constants.ts";
import { idPattern } from "./ids.ts";

/** An incident lasts at most this long from its start when declared… */
export const INCIDENT_MAX_HOURS = 72;
/** …and extensions never take it beyond this many days from its start. */
export const INCIDENT_MAX_TOTAL_DAYS = 7;
/** A provisional entry stops matching this long after it was submitted, whatever its incident does. */
export const PROVISIONAL_MAX_HOURS = 72;
/** The longest a long-poll on an incident's hashes is held open (seconds). */
export const INCIDENT_MAX_WAIT_S = 25;

export const IncidentId = z.string().regex(idPattern("incident")).meta({ id: "IncidentId" });

// A local copy of the member-state schema (schemas.ts imports this file for RECORD_SCHEMAS).
const memberState = z
  .string()
  .transform((s) => (s === "EL" ? "GR" : s))
  .pipe(z.enum(EU_MEMBER_STATES));
const reason = z.string().trim().min(3).max(2000);
const instant = z.iso.datetime({ offset: true });

/** A coordinator declares an incident: what happened, who asked, and its time box. */
export const DeclareIncidentRecord = z
  .object({
    title: z.string().trim().min(3).max(200),
    description: z.string().trim().min(3).max(4000),
    requestedBy: z
      .array(memberState)
      .min(1)
      .max(27)
      .describe("The member states that asked for the incident to be declared."),
    startsAt: instant.describe("When the incident starts (at most 24 h before it is signed)."),
    endsAt: instant.describe(
      `When it ends: after it is signed, at most ${INCIDENT_MAX_HOURS} h after startsAt.`,
    ),
    public: z
      .boolean()
      .default(false)
      .describe("List its title and dates in the public statistics and publish its counts-only summary."),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (new Set(r.requestedBy).size !== r.requestedBy.length)
      ctx.addIssue({ code: "custom", path: ["requestedBy"], message: "a member state is named twice" });
    const start = Date.parse(r.startsAt);
    const end = Date.parse(r.endsAt);
    if (end <= start) ctx.addIssue({ code: "custom", path: ["endsAt"], message: "must be after startsAt" });
    else if (end - start > INCIDENT_MAX_HOURS * 3600_000)
      ctx.addIssue({
        code: "custom",
        path: ["endsAt"],
        message: `at most ${INCIDENT_MAX_HOURS} h after startsAt; extend the incident later if needed`,
      });
  })
  .meta({ id: "DeclareIncidentRecord" });

/** A coordinator moves an active incident's end later (never beyond 7 days from its start). */
export const ExtendIncidentRecord = z
  .object({ incidentId: IncidentId, endsAt: instant, reason })
  .strict()
  .meta({ id: "ExtendIncidentRecord" });

/** A coordinator closes an incident: its unconfirmed provisional entries lapse at once. */
export const CloseIncidentRecord = z
  .object({ incidentId: IncidentId, reason })
  .strict()
  .meta({ id: "CloseIncidentRecord" });

export const INCIDENT_STATUSES = ["scheduled", "active", "ended", "closed"] as const;

/** An incident as every participant reads it. */
export const IncidentView = z
  .object({
    id: IncidentId,
    title: z.string(),
    description: z.string(),
    requestedBy: z.array(z.string()),
    declaredBy: z.string(),
    startsAt: z.string(),
    endsAt: z.string().describe("The scheduled end, after any extensions."),
    closedAt: z.string().nullable(),
    public: z.boolean(),
    status: z
      .enum(INCIDENT_STATUSES)
      .describe("Judged now: scheduled (not started), active, ended (its time ran out) or closed."),
    extensions: z.number().int(),
    provisional: z
      .object({
        submitted: z.number().int(),
        active: z.number().int().describe("Matching now as provisional."),
        included: z.number().int(),
        lapsed: z.number().int(),
      })
      .describe("Counts of the entries tagged with the incident."),
    createdAt: z.string(),
  })
  .meta({ id: "Incident" });
export type IncidentView = z.infer<typeof IncidentView>;

export const IncidentList = z.object({ incidents: z.array(IncidentView) }).meta({ id: "IncidentList" });
export type IncidentList = z.infer<typeof IncidentList>;
export const IncidentIdParam = z.object({ id: IncidentId });
export const IncidentListQuery = z.object({
  status: z.enum(["active", "all"]).default("all").describe("`active`: only incidents active now."),
});

/** The provisional label a match hit, a feed item and a view carry. */
export const ProvisionalLabel = z
  .object({
    incidentId: z.string(),
    lapsesAt: z
      .string()
      .describe("When it stops matching unless included first: the incident's end or 72 h after submission."),
  })
  .meta({ id: "ProvisionalLabel" });
export type ProvisionalLabel = z.infer<typeof ProvisionalLabel>;

/** GET /v1/incidents/{id}/hashes. */
export const IncidentHashesQuery = z.object({
  after: z.coerce.number().int().min(0).default(0).describe("The cursor: the last `seq` already seen."),
  limit: z.coerce.number().int().min(1).max(1000).default(500),
  wait: z.coerce
    .number()
    .int()
    .min(0)
    .max(INCIDENT_MAX_WAIT_S)
    .default(0)
    .describe(
      `Long-poll: with nothing after the cursor, hold the request up to this many seconds and answer as soon as something changes (at most ${INCIDENT_MAX_WAIT_S}).`,
    ),
});

export const IncidentHashChange = z
  .object({
    seq: z.number().int(),
    op: z
      .enum(["add", "remove"])
      .describe("add: match this hash now; remove: stop (lapsed, withdrawn, reversed, excluded, ended)."),
    change: z
      .string()
      .describe(
        "The change feed's own word: created, included, provisional_lapsed, …; withheld / released when a TLP:RED submission of the value arrives / leaves.",
      ),
    submissionId: z.string(),
    signalType: z.string(),
    value: z.string(),
    provisional: ProvisionalLabel.nullable().describe("null once the entry is in the baseline or gone."),
    at: z.string(),
  })
  .meta({ id: "IncidentHashChange" });
export type IncidentHashChange = z.infer<typeof IncidentHashChange>;

export const IncidentHashPage = z
  .object({
    incidentId: z.string(),
    status: z.enum(INCIDENT_STATUSES),
    changes: z.array(IncidentHashChange),
    next: z.number().int().describe("The cursor to ask with next (the last seq answered, or `after`)."),
    more: z.boolean().describe("More changes wait after `next`: ask again at once."),
  })
  .meta({ id: "IncidentHashPage" });
export type IncidentHashPage = z.infer<typeof IncidentHashPage>;

/** What a coordinator sees per entry after an incident. */
export const IncidentReportEntry = z
  .object({
    submissionId: z.string(),
    signalType: z.string(),
    value: z.string(),
    memberState: z.string(),
    submittedAt: z.string(),
    firstMatchAt: z
      .string()
      .nullable()
      .describe("The first match answer that returned it labelled provisional, by any platform."),
    matches: z
      .number()
      .int()
      .describe(
        "Match answers that returned it labelled provisional, summed over platforms (not its later matches once included, or in scope all after its lapse).",
      ),
    platforms: z.number().int().describe("Platforms it was answered to labelled provisional."),
    feedback: z.object({
      truePositive: z.number().int(),
      falsePositive: z.number().int(),
      notActioned: z.number().int(),
    }),
    fate: z.enum(["provisional", "included", "lapsed", "withdrawn", "reversed", "excluded", "other"]),
  })
  .meta({ id: "IncidentReportEntry" });

export const IncidentReport = z
  .object({ incident: IncidentView, entries: z.array(IncidentReportEntry) })
  .meta({ id: "IncidentReport" });
export type IncidentReport = z.infer<typeof IncidentReport>;

/** The public counts-only summary of a public incident (for transparency reports). */
export const IncidentSummary = z
  .object({
    id: z.string(),
    title: z.string(),
    startsAt: z.string(),
    endsAt: z.string(),
    closedAt: z.string().nullable(),
    entries: z.number().int(),
    matched: z.number().int().describe("Entries some platform was answered labelled provisional."),
    matches: z
      .number()
      .int()
      .describe("Match answers that returned one of its entries labelled provisional."),
    fates: z.record(z.string(), z.number().int()),
    feedback: z.object({
      truePositive: z.number().int(),
      falsePositive: z.number().int(),
      notActioned: z.number().int(),
    }),
  })
  .meta({ id: "IncidentSummary" });
export type IncidentSummary = z.infer<typeof IncidentSummary>;
