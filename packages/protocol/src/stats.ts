// Wire schemas of the node's statistics: the public aggregate figures for transparency reports
// (GET /v1/stats, also rendered by the console) and one entry's match counts per platform.
import { z } from "zod";
import { ErrorRates } from "./accountability.ts";
import { ENTRY_STATES } from "./entry-state.ts";
import { SubmissionId } from "./submissions.ts";

const count = z.number().int().nonnegative();
const rate = z
  .number()
  .min(0)
  .max(1)
  .nullable()
  .describe(
    "FP / (TP + FP); null when there are no reports. The sample is TP + FP: show the rate with it, and withhold it below policy.minRateSample.",
  );

export const MemberStateStats = z.object({
  memberState: z.string(),
  submissions: count.describe("Submissions originated by this state's authorities (any status)."),
  baselineEntries: count.describe("Of those, entries in the baseline now."),
  withdrawn: count,
  reversed: count,
  concurrences: count.describe("Live concurrences given by this state's authorities."),
  dissents: count.describe("Live dissents given by this state's authorities."),
  truePositive: count.describe("Live platform reports on this state's entries."),
  falsePositive: count,
  falsePositiveRate: rate,
});

export const NodeStats = z
  .object({
    generatedAt: z.string(),
    nodeId: z.string(),
    baselineVersion: z.number().int(),
    policy: z.object({
      quorum: count,
      fpFlagRate: z.number(),
      fpFlagMinReports: count,
      minRateSample: count.describe(
        "The fewest reports a rate is shown for (the console withholds it below): fpFlagMinReports, the same minimum as errorRates.minReports.",
      ),
    }),
    participants: z.object({
      coordinators: count,
      authorities: count,
      platforms: count,
      memberStatesWithAuthority: count,
    }),
    baseline: z.object({
      total: count.describe(
        "Entries in state included or disputed (= submissions.byState.included + disputed).",
      ),
      included: count,
      disputed: count,
      byLimb: z.record(z.string(), count).describe("An entry citing several limbs counts once per limb."),
      bySignalType: z.record(z.string(), count),
      byMemberState: z.record(z.string(), count).describe("By originating member state."),
    }),
    submissions: z.object({
      total: count,
      byStatus: z
        .object({ live: count, withdrawn: count, reversed: count, voided: count })
        .describe(
          "The stored status; `live` includes expired entries (see byState); `voided`: submissions signed with a key after its declared compromise.",
        ),
      byState: z
        .object(
          Object.fromEntries(ENTRY_STATES.map((x) => [x, count])) as Record<
            (typeof ENTRY_STATES)[number],
            typeof count
          >,
        )
        .describe("Every entry counted once, by the state it is in now; the counts add up to `total`."),
      byBaselineState: z
        .object({
          none: count,
          included: count,
          disputed: count,
          excluded: count,
          retired: count,
        })
        .describe(
          "The baseline state entries hold now: an ended entry (expired, withdrawn, reversed, void) counts as none.",
        ),
      bySignalType: z.record(z.string(), count),
      lowQuality: count,
    }),
    assessments: z.object({
      total: count.describe("Every assessment record, superseded ones included."),
      concur: count.describe("Live concurrences."),
      dissent: count.describe("Live dissents."),
      superseded: count,
    }),
    disputes: z.object({
      open: count.describe("Entries in state disputed now (a dissent after inclusion, not yet decided)."),
      raised: count.describe("Times an included entry became disputed."),
    }),
    decisions: z.object({ include: count, exclude: count, retire: count }),
    reversals: z.object({
      withdrawn: count.describe("Withdrawn by the submitting authority."),
      reversed: count.describe("Reversed by a coordinator."),
      byGround: z.record(z.string(), count),
    }),
    feedback: z.object({
      truePositive: count,
      falsePositive: count,
      notActioned: count,
      falsePositiveRate: rate,
      baseline: z
        .object({ truePositive: count, falsePositive: count, falsePositiveRate: rate })
        .describe("Reports on entries that are in the baseline now."),
      flaggedEntries: count.describe("Live entries whose false-positive rate crossed the policy threshold."),
    }),
    matching: z.object({ requests: count, hashesQueried: count, itemsMatched: count }),
    errorRates: ErrorRates.describe(
      "Measured false-positive rates from platforms' live reports, with Wilson 95 % intervals, over all time and the last 90 days.",
    ),
    byMemberState: z.array(MemberStateStats),
    incidents: z
      .array(
        z.object({
          id: z.string(),
          title: z.string(),
          startsAt: z.string(),
          endsAt: z.string(),
          closedAt: z.string().nullable(),
        }),
      )
      .describe(
        "Crisis incidents their coordinator marked public: title and dates only (counts: GET /v1/incidents/{id}/summary).",
      ),
    note: z.string(),
  })
  .meta({ id: "NodeStats" });
export type NodeStats = z.infer<typeof NodeStats>;
export type MemberStateStats = z.infer<typeof MemberStateStats>;

export const EntryMatches = z
  .object({
    submissionId: SubmissionId,
    platforms: count.describe("Distinct platforms that matched the entry."),
    total: count.describe("Match requests that returned the entry, over all platforms."),
    byPlatform: z.array(
      z.object({
        platformId: z.string(),
        displayName: z.string().nullable(),
        count,
        firstMatchedAt: z.string(),
        lastMatchedAt: z.string(),
      }),
    ),
    note: z.string(),
  })
  .meta({ id: "EntryMatches" });
export type EntryMatches = z.infer<typeof EntryMatches>;

// ---- over time ----------------------------------------------------------------------------------

/** The weekly series of GET /v1/stats/weekly, in this order (also the CSV's columns). */
export const WEEKLY_SERIES = ["submissions", "inclusions", "reversals", "matches", "feedback"] as const;
export type WeeklySeriesName = (typeof WEEKLY_SERIES)[number];

export const WEEKLY_SERIES_LABELS: Record<WeeklySeriesName, string> = {
  submissions: "Submissions",
  inclusions: "Inclusions in the baseline",
  reversals: "Withdrawals and reversals",
  matches: "Entries matched",
  feedback: "Platform feedback reports",
};

/** The longest period one request covers, in weeks (two years). */
export const MAX_WEEKS = 105;

const day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "a UTC day, YYYY-MM-DD")
  .refine(
    (d) =>
      !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().startsWith(d),
    "not a calendar day",
  );

export const WeeklyStatsQuery = z.object({
  from: day
    .optional()
    .describe("First day of the period (UTC); its week is the first. Default: 12 weeks before `to`."),
  to: day.optional().describe("Last day of the period (UTC); default today."),
  format: z.enum(["json", "csv"]).default("json").describe("csv: RFC 4180, one line per week."),
});

export const WeeklyStats = z
  .object({
    from: z.string().describe("Monday of the first week (ISO 8601 weeks, UTC)."),
    to: z.string().describe("Sunday of the last week."),
    weeks: z.array(
      z.object({
        week: z.string().describe("Monday of the week (UTC day)."),
        submissions: count.describe("Entries submitted."),
        inclusions: count.describe("Inclusions in the baseline (each entry each time it was included)."),
        reversals: count.describe("Entries withdrawn or reversed."),
        matches: count.describe(
          "Entries returned by platforms' match requests (a request's matched entries, summed).",
        ),
        feedback: count.describe(
          "Platform feedback reports (true/false positive, not actioned), superseded ones included.",
        ),
      }),
    ),
  })
  .meta({ id: "WeeklyStats" });
export type WeeklyStats = z.infer<typeof WeeklyStats>;
