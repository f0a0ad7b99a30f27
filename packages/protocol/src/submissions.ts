// Wire schemas for hash submissions, assessments, baseline decisions, withdrawals/reversals and
// match feedback, and the requests and answers of the submission routes, shared by the node and its
// clients.
import { z } from "zod";
import { CONTENT_TYPES, EU_MEMBER_STATES, SIGNAL_TYPES, TCO_LIMBS, TLP_LEVELS } from "./constants.ts";
import { ENTRY_FLAGS, ENTRY_STATES, EntryStateView } from "./entry-state.ts";
import { idPattern } from "./ids.ts";
import { IncidentId } from "./incidents.ts";

export const TcoLimb = z.enum(TCO_LIMBS).meta({
  id: "TcoLimb",
  description:
    "TCO Art 2(7) limb: (a) incites, (b) solicits to commit or contribute, (c) solicits participation in a group's activities, (d) instructs on making/using weapons or methods, (e) threatens to commit a terrorist offence.",
});
export type TcoLimb = z.infer<typeof TcoLimb>;

export const SignalType = z.enum(SIGNAL_TYPES).meta({ id: "SignalType" });
export type SignalType = z.infer<typeof SignalType>;

export const ContentType = z.enum(CONTENT_TYPES).meta({ id: "ContentType" });

export const Tlp = z
  .enum(TLP_LEVELS)
  .meta({ id: "Tlp", description: "FIRST Traffic Light Protocol 2.0 marking." });
export type Tlp = z.infer<typeof Tlp>;

/** The PDQ quality below which a submission is refused unless `force` is set (then flagged). */
export const MIN_PDQ_QUALITY = 50;
export const MAX_BATCH = 1000;

const HEX_LEN: Record<SignalType, number> = { pdq: 64, md5: 32, sha256: 64, vpdq: 64 };

// ---- video (vPDQ) ------------------------------------------------------------------------------

/** At most this many frame hashes per video: 3 hours at the reference's default of 1 per second. */
export const MAX_VPDQ_FRAMES = 10_800;

/**
 * One hashed frame as the reference's text format has it (`frameNumber,quality,pdqHex,timestamp`),
 * as a JSON array: a 10,800-frame video is then about 0.9 MB of JSON, 1.2 MB signed, under the
 * 2 MiB body limit (objects with named fields would be 1.9 MB signed).
 */
export const VpdqFrame = z
  .tuple([
    z.number().int().min(0).max(0xffff_ffff).describe("frameNumber: decoded frames counted from 0"),
    z.number().int().min(0).max(100).describe("quality: PDQ quality 0-100"),
    z
      .string()
      .regex(/^[0-9a-f]{64}$/, "64 lower-case hex characters")
      .describe("pdqHex"),
    z
      .number()
      .min(0)
      .max(1e7)
      .refine((t) => Number(t.toFixed(3)) === t, "at most 3 decimals, as the reference prints it")
      .describe("timestampSeconds"),
  ])
  .meta({ id: "VpdqFrame", description: "[frameNumber, quality, pdqHex, timestampSeconds]" });
export type VpdqFrame = z.infer<typeof VpdqFrame>;

export const VpdqVideo = z
  .object({
    frameCount: z
      .number()
      .int()
      .min(1)
      .max(MAX_VPDQ_FRAMES)
      .describe("How many frame hashes `frames` holds (a guard against a list cut short)."),
    durationSeconds: z.number().min(0).max(1e7).describe("The video's duration."),
    frames: z.array(VpdqFrame).min(1).max(MAX_VPDQ_FRAMES),
  })
  .strict()
  .meta({ id: "VpdqVideo" });
export type VpdqVideo = z.infer<typeof VpdqVideo>;

/** Problems with a video's frame list that a schema cannot state per field; [] when none. */
export function vpdqVideoIssues(v: VpdqVideo): { path: (string | number)[]; message: string }[] {
  const out: { path: (string | number)[]; message: string }[] = [];
  if (v.frameCount !== v.frames.length)
    out.push({
      path: ["frameCount"],
      message: `frameCount is ${v.frameCount} but frames holds ${v.frames.length}`,
    });
  for (let i = 1; i < v.frames.length; i++) {
    const [n, , , t] = v.frames[i]!;
    const [pn, , , pt] = v.frames[i - 1]!;
    if (n <= pn) {
      out.push({ path: ["frames", i, 0], message: "frame numbers must increase" });
      break;
    }
    if (t < pt) {
      out.push({ path: ["frames", i, 3], message: "timestamps must not decrease" });
      break;
    }
  }
  const last = v.frames[v.frames.length - 1];
  if (last && v.durationSeconds + 0.001 < last[3])
    out.push({ path: ["durationSeconds"], message: "shorter than the last frame's timestamp" });
  return out;
}

export const SubmissionId = z.string().regex(idPattern("submission")).meta({ id: "SubmissionId" });
export const AssessmentId = z.string().regex(idPattern("assessment"));
const reason = z.string().trim().min(3).max(2000);

export const SubmissionItem = z
  .object({
    signalType: SignalType,
    value: z
      .string()
      .max(64)
      .describe(
        "Lower-case hex: 64 chars for pdq and sha256, 32 for md5; for vpdq the SHA-256 of its frames' text (vpdqDigest).",
      ),
    quality: z.number().int().min(0).max(100).optional().describe("PDQ quality (required for pdq)."),
    force: z
      .boolean()
      .optional()
      .describe(
        "Accept a PDQ hash below quality 50, or a video none of whose frames reaches 50; it is then flagged lowQuality.",
      ),
    video: VpdqVideo.optional().describe(
      "vpdq only: the video's frame hashes. `value` is then the SHA-256 of the frames in the reference's text format (see vpdqDigest).",
    ),
    limbs: z.array(TcoLimb).min(1).max(5),
    contentType: ContentType,
    nationalProvision: z
      .string()
      .trim()
      .min(2)
      .max(300)
      .describe("The national legal provision relied on, e.g. 'NL Sr. art. 131'."),
    tlp: Tlp.optional(),
    expiresAt: z.iso.datetime({ offset: true }).optional(),
    note: z.string().max(1000).optional(),
  })
  .strict()
  .superRefine((item, ctx) => {
    const len = HEX_LEN[item.signalType];
    if (item.value.length !== len || !/^[0-9a-f]+$/.test(item.value)) {
      ctx.addIssue({
        code: "custom",
        path: ["value"],
        message: `a ${item.signalType} value is ${len} lower-case hex characters`,
      });
    }
    if (item.signalType === "pdq") {
      if (item.quality === undefined)
        ctx.addIssue({ code: "custom", path: ["quality"], message: "PDQ submissions carry their quality" });
      else if (item.quality < MIN_PDQ_QUALITY && !item.force) {
        ctx.addIssue({
          code: "custom",
          path: ["quality"],
          message: `PDQ quality ${item.quality} is below ${MIN_PDQ_QUALITY}; set force to submit anyway (it will be flagged)`,
        });
      }
      if (/^0+$/.test(item.value))
        ctx.addIssue({
          code: "custom",
          path: ["value"],
          message: "an all-zero PDQ hash carries no information",
        });
    } else if (item.signalType === "vpdq") {
      if (item.quality !== undefined)
        ctx.addIssue({ code: "custom", path: ["quality"], message: "a video's quality is per frame" });
      if (!item.video)
        ctx.addIssue({ code: "custom", path: ["video"], message: "vpdq submissions carry video" });
      else {
        for (const issue of vpdqVideoIssues(item.video))
          ctx.addIssue({ code: "custom", path: ["video", ...issue.path], message: issue.message });
        if (!item.force && !item.video.frames.some((f) => f[1] >= MIN_PDQ_QUALITY))
          ctx.addIssue({
            code: "custom",
            path: ["video", "frames"],
            message: `no frame reaches quality ${MIN_PDQ_QUALITY}; set force to submit anyway (it will be flagged)`,
          });
      }
    } else if (item.quality !== undefined || item.force !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["quality"],
        message: "quality and force apply to pdq and vpdq only",
      });
    }
    if (item.signalType !== "vpdq" && item.video !== undefined)
      ctx.addIssue({ code: "custom", path: ["video"], message: "video applies to vpdq only" });
    if (new Set(item.limbs).size !== item.limbs.length)
      ctx.addIssue({ code: "custom", path: ["limbs"], message: "limbs repeat" });
  })
  .meta({ id: "SubmissionItem" });
export type SubmissionItem = z.infer<typeof SubmissionItem>;

/** An authority submits one or a batch of hashes; the batch is all-or-nothing. */
export const SubmitRecord = z
  .object({
    items: z.array(SubmissionItem).min(1).max(MAX_BATCH),
    incidentId: IncidentId.optional().describe(
      "Tag every item with an active incident: new entries match at once, labelled provisional, until the incident ends or 72 h pass (docs/incidents.md).",
    ),
  })
  .strict()
  .meta({ id: "SubmitRecord" });

export const AssessRecord = z
  .object({
    submissionId: SubmissionId,
    verdict: z.enum(["concur", "dissent"]),
    limb: TcoLimb,
    reason: z.string().trim().max(2000).optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.verdict === "dissent" && (!r.reason || r.reason.length < 3)) {
      ctx.addIssue({ code: "custom", path: ["reason"], message: "a dissent must give a reason" });
    }
  })
  .meta({ id: "AssessRecord" });

export const BaselineDecisionRecord = z
  .object({
    submissionId: SubmissionId,
    decision: z.enum(["include", "exclude", "retire"]),
    reason,
    assessmentIds: z
      .array(AssessmentId)
      .max(64)
      .default([])
      .describe(
        "The assessments the decision relies on. An inclusion must cite live concurrences of active authorities that reach the quorum (a revoked authority's assessments cannot be cited).",
      ),
  })
  .strict()
  .meta({ id: "BaselineDecisionRecord" });

/** The most entries one bulk record may name (one signature, one atomic batch). */
export const MAX_BULK = 100;

const distinctEntries = (items: { submissionId: string }[], ctx: z.RefinementCtx) => {
  const seen = new Set<string>();
  items.forEach((it, i) => {
    if (seen.has(it.submissionId))
      ctx.addIssue({
        code: "custom",
        path: ["items", i, "submissionId"],
        message: "an entry is named twice",
      });
    seen.add(it.submissionId);
  });
};

/**
 * Several assessments signed as one record: each item is checked as a single assessment is
 * (AssessRecord), and the record takes effect for all of them or for none.
 */
export const AssessBatchRecord = z
  .object({
    items: z
      .array(
        z
          .object({
            submissionId: SubmissionId,
            verdict: z.enum(["concur", "dissent"]),
            limb: TcoLimb,
            reason: z.string().trim().max(2000).optional(),
          })
          .strict()
          .superRefine((r, ctx) => {
            if (r.verdict === "dissent" && (!r.reason || r.reason.length < 3)) {
              ctx.addIssue({ code: "custom", path: ["reason"], message: "a dissent must give a reason" });
            }
          }),
      )
      .min(1)
      .max(MAX_BULK),
  })
  .strict()
  .superRefine((r, ctx) => distinctEntries(r.items, ctx))
  .meta({ id: "AssessBatchRecord" });

/**
 * One baseline decision on several entries, signed as one record, with one reason: each item is
 * checked as a single decision is (BaselineDecisionRecord, its own cited assessments), and the
 * record takes effect for all of them or for none.
 */
export const BaselineDecisionBatchRecord = z
  .object({
    decision: z.enum(["include", "exclude", "retire"]),
    reason,
    items: z
      .array(
        z
          .object({
            submissionId: SubmissionId,
            assessmentIds: z.array(AssessmentId).max(64).default([]),
          })
          .strict(),
      )
      .min(1)
      .max(MAX_BULK),
  })
  .strict()
  .superRefine((r, ctx) => distinctEntries(r.items, ctx))
  .meta({ id: "BaselineDecisionBatchRecord" });

export const WithdrawRecord = z
  .object({ submissionId: SubmissionId, reason })
  .strict()
  .meta({ id: "WithdrawRecord" });

export const ReverseRecord = z
  .object({
    submissionId: SubmissionId,
    ground: z
      .enum(["complaint_upheld", "court_ruling", "error", "other"])
      .describe("TCO Art 10 complaint, a court ruling, an error, …"),
    reason,
    reference: z.string().trim().max(300).optional().describe("Case or judgment reference."),
  })
  .strict()
  .meta({ id: "ReverseRecord" });

export const FeedbackRecord = z
  .object({
    submissionId: SubmissionId,
    outcome: z.enum(["true_positive", "false_positive", "not_actioned"]),
    note: z.string().trim().max(1000).optional(),
  })
  .strict()
  .meta({ id: "FeedbackRecord" });

// ---- views -------------------------------------------------------------------------------------

export const BASELINE_STATES = ["none", "included", "disputed", "excluded", "retired"] as const;
/**
 * `voided`: created by a record signed after its key was retired or its signer revoked (by signed
 * times; it reached the node before the revocation did). It matches nothing and counts for nothing.
 */
export const SUBMISSION_STATUSES = ["live", "withdrawn", "reversed", "voided"] as const;

export const Tally = z
  .object({
    concurStates: z
      .array(z.string())
      .describe(
        "Member states concurring: live concurrences of active authorities, and the submitter's state while the submitter is active. A revoked authority's assessments do not count.",
      ),
    concurring: z.number().int(),
    dissenting: z.number().int().describe("Live dissents of active authorities."),
    quorum: z.number().int().describe("Distinct member states needed under the current policy."),
    eligible: z.boolean(),
  })
  .meta({ id: "AssessmentTally" });

export const FeedbackTally = z
  .object({
    truePositive: z.number().int(),
    falsePositive: z.number().int(),
    notActioned: z.number().int(),
    falsePositiveRate: z.number().nullable(),
    minReports: z
      .number()
      .int()
      .describe("The fewest true/false-positive reports a rate is shown (and can flag the entry) from."),
    flagged: z
      .boolean()
      .describe("The false-positive rate crossed the policy threshold: up for coordinator review."),
  })
  .meta({ id: "FeedbackTally" });

export const SubmissionView = z
  .object({
    id: SubmissionId,
    recordId: z.string(),
    submitter: z.string(),
    memberState: z.string(),
    signalType: SignalType,
    value: z.string(),
    quality: z.number().int().nullable(),
    lowQuality: z.boolean(),
    limbs: z.array(TcoLimb),
    contentType: ContentType,
    nationalProvision: z.string(),
    tlp: Tlp.nullable(),
    expiresAt: z.string().nullable(),
    status: z
      .enum(SUBMISSION_STATUSES)
      .describe("The stored status (see `state` for what the entry is now)."),
    baselineState: z
      .enum(BASELINE_STATES)
      .describe(
        "The last baseline decision as stored; an ended entry keeps it. Show `state`, which says what the entry is now.",
      ),
    state: EntryStateView,
    createdAt: z.string(),
    linked: z.array(z.string()).describe("Other authorities' live submissions of the same fingerprint."),
    assessments: Tally,
    feedback: FeedbackTally,
    video: z
      .object({
        frameCount: z.number().int().describe("How many frame hashes the video entry holds."),
        durationSeconds: z.number().describe("The video's duration."),
      })
      .optional()
      .describe("A video entry's (vpdq) size; its frames are in the signed record and the exports."),
  })
  .meta({ id: "Submission" });
export type SubmissionView = z.infer<typeof SubmissionView>;

// ---- requests and answers of /v1/submissions and /v1/curation ---------------------------------

/** A submission named in the path. */
export const SubmissionIdParam = z.object({ id: SubmissionId });

/** Orders a submission list can be read in; each breaks ties by id. */
export const SUBMISSION_SORTS = [
  "id",
  "newest",
  "oldest",
  "member_state",
  "most_false_positives",
  "most_concurrences",
] as const;
export type SubmissionSort = (typeof SUBMISSION_SORTS)[number];

const STATE_LIST = new RegExp(`^(${ENTRY_STATES.join("|")})(,(${ENTRY_STATES.join("|")}))*$`);
const day = z.iso.date().describe("A UTC day, YYYY-MM-DD (inclusive).");

/** GET /v1/submissions. */
export const SubmissionListQuery = z.object({
  scope: z
    .enum(["mine", "awaiting", "all"])
    .default("all")
    .describe(
      "mine: my submissions; awaiting: other authorities' live submissions I have not assessed; all (coordinators and authorities).",
    ),
  status: z.enum(["live", "withdrawn", "reversed"]).optional(),
  baselineState: z.enum(["none", "included", "disputed", "excluded", "retired"]).optional(),
  state: z
    .string()
    .regex(STATE_LIST, `one or more of ${ENTRY_STATES.join(", ")}, comma-separated`)
    .optional()
    .describe("Entries in any of these states (the entry's one state, `state.name`), comma-separated."),
  flag: z.enum(ENTRY_FLAGS).optional().describe("Entries with this flag."),
  memberState: z.enum(EU_MEMBER_STATES).optional().describe("The originating member state."),
  limb: TcoLimb.optional().describe("Entries citing this TCO limb."),
  tlp: z
    .enum([...TLP_LEVELS, "none"])
    .optional()
    .describe("Entries with this TLP marking (`none`: unmarked)."),
  submitter: z.string().regex(idPattern("participant")).optional().describe("The submitting authority."),
  from: day.optional().describe("Submitted on or after this UTC day."),
  to: day.optional().describe("Submitted on or before this UTC day."),
  q: z
    .string()
    .trim()
    .toLowerCase()
    .regex(/^(hsh_[0-9a-z]{1,40}|[0-9a-f]{4,64})$/, "an entry id (or its start) or at least 4 hex characters")
    .optional()
    .describe(
      "Search: an entry id or its start (`hsh_…`), or the start of a hash value (≥ 4 hex characters).",
    ),
  sort: z.enum(SUBMISSION_SORTS).default("id"),
  offset: z.coerce
    .number()
    .int()
    .min(0)
    .max(1_000_000)
    .default(0)
    .describe("Skip this many entries (with any sort); `after` is the cursor for sort `id`."),
  after: z.string().max(64).optional().describe("Cursor (sort `id` only): the last id of the previous page."),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export type SubmissionListQuery = z.infer<typeof SubmissionListQuery>;

export const SubmissionPage = z
  .object({
    submissions: z.array(SubmissionView),
    next: z
      .string()
      .nullable()
      .describe("Cursor of the next page for sort `id`; null at the end or for other sorts."),
    total: z.number().int().describe("Entries matching the scope and filters, over all pages."),
  })
  .meta({ id: "SubmissionPage" });

/** One signed record about an entry, in GET /v1/submissions/{id}. */
export const HistoryItem = z.object({
  kind: z.string(),
  recordId: z.string(),
  issuer: z.string(),
  receivedAt: z.string(),
  jws: z.string().describe("The signed record exactly as received."),
  summary: z.record(z.string(), z.unknown()),
});
export type HistoryItem = z.infer<typeof HistoryItem>;

export const SubmissionDetail = z
  .object({ submission: SubmissionView, history: z.array(HistoryItem) })
  .meta({ id: "SubmissionDetail" });

/** GET /v1/curation. */
export const CURATION_QUEUES = ["eligible", "disputed", "flagged"] as const;
export type CurationQueueName = (typeof CURATION_QUEUES)[number];
export const CurationQuery = z.object({
  queue: z.enum(CURATION_QUEUES),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export const CurationQueue = z.object({ queue: z.string(), submissions: z.array(SubmissionView) });
