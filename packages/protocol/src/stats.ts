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
