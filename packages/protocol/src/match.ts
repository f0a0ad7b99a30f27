// Wire schemas of POST /v1/match: a platform checks up to MAX_BATCH hashes per request against
// the baseline (default) or every live submission, and gets every entry within the threshold.
import { z } from "zod";
import { ContentRef } from "./accountability.ts";
import { MATCH_SCOPES } from "./constants.ts";
import { EntryStateView } from "./entry-state.ts";
import { ProvisionalLabel } from "./incidents.ts";
import { MAX_BATCH, MAX_VPDQ_FRAMES, VpdqFrame } from "./submissions.ts";

const hex = (n: number) => z.string().regex(new RegExp(`^[0-9a-f]{${n}}$`), `${n} lower-case hex characters`);

export const MatchItem = z
  .discriminatedUnion("type", [
    z
      .object({
        type: z.literal("pdq"),
        value: hex(64),
        ref: ContentRef.optional(),
        dihedral: z
          .array(hex(64))
          .max(7)
          .optional()
          .describe(
            "The other dihedral variants of the same image (rotations/flips), as computed by the client (`eusn hash --dihedral`): PDQ variants come from the image's DCT and cannot be derived from the hash.",
          ),
      })
      .strict(),
    z.object({ type: z.literal("md5"), value: hex(32), ref: ContentRef.optional() }).strict(),
    z.object({ type: z.literal("sha256"), value: hex(64), ref: ContentRef.optional() }).strict(),
    z
      .object({
        type: z.literal("vpdq"),
        ref: ContentRef.optional(),
        frames: z.array(VpdqFrame).min(1).max(MAX_VPDQ_FRAMES),
        distance: z
          .number()
          .int()
          .min(0)
          .max(63)
          .default(31)
          .describe("A frame matches a frame within this Hamming distance (inclusive)."),
        quality: z
          .number()
          .int()
          .min(0)
          .max(100)
          .default(50)
          .describe("Frames below this quality are left out on both sides."),
        queryMatchPercent: z
          .number()
          .min(0)
          .max(100)
          .default(80)
          .describe("Share of this video's unique frames that must match a stored video's frames."),
        targetMatchPercent: z
          .number()
          .min(0)
          .max(100)
          .default(0)
          .describe(
            "Share of a stored video's unique frames that must match this video's. Set it (e.g. 80) and queryMatchPercent to 0 to find known videos inside a longer upload.",
          ),
      })
      .strict(),
  ])
  .meta({ id: "MatchItem" });
export type MatchItem = z.infer<typeof MatchItem>;

export const MatchRequest = z
  .object({
    scope: z.enum(MATCH_SCOPES).default("baseline"),
    threshold: z
      .number()
      .int()
      .min(0)
      .max(63)
      .default(31)
      .describe("PDQ Hamming distance threshold (inclusive)."),
    items: z.array(MatchItem).min(1).max(MAX_BATCH),
    keep: z
      .boolean()
      .default(false)
      .describe(
        "Keep the results on the node for your review queue (GET /v1/review): each matched entry with the item's `ref`, never the hashes you sent.",
      ),
  })
  .strict()
  .superRefine((r, ctx) => {
    let frames = 0;
    for (const it of r.items) if (it.type === "vpdq") frames += it.frames.length;
    if (frames > MAX_VPDQ_FRAMES)
      ctx.addIssue({
        code: "custom",
        path: ["items"],
        message: `at most ${MAX_VPDQ_FRAMES} video frames per request, got ${frames}`,
      });
  })
  .meta({ id: "MatchRequest" });
/** What a client sends (`scope` and `threshold` may be left to their defaults). */
export type MatchRequest = z.input<typeof MatchRequest>;

/** One frame of a video, named by its frame number and timestamp. */
export const VideoFrameRef = z
  .object({ frameNumber: z.number().int(), timestamp: z.number() })
  .meta({ id: "VideoFrameRef" });

/** A stretch of a video, in seconds: from the first to the last matched frame of a run. */
export const TimeRange = z.object({ start: z.number(), end: z.number() }).meta({ id: "TimeRange" });

/** How a query video matched a stored one (the reference's comparison, python-threatexchange's terms). */
export const VideoMatch = z
  .object({
    queryMatchPercent: z
      .number()
      .describe("Share of the query's unique frames (quality >= the item's) that matched."),
    targetMatchPercent: z.number().describe("Share of the stored video's unique frames that matched."),
    queryFrames: z
      .number()
      .int()
      .describe("The query's unique frames of sufficient quality (the denominator)."),
    targetFrames: z.number().int().describe("The stored video's unique frames of sufficient quality."),
    queryRanges: z.array(TimeRange).describe("Runs of consecutive matched frames in the query."),
    targetRanges: z.array(TimeRange).describe("Runs of consecutive matched frames in the stored video."),
    durationSeconds: z.number().describe("The stored video's duration."),
    frameCount: z.number().int().describe("The stored video's frame hashes."),
  })
  .meta({ id: "VideoMatch" });
export type VideoMatch = z.infer<typeof VideoMatch>;

export const MatchHit = z
  .object({
    submissionId: z.string(),
    distance: z.number().int(),
    variant: z.number().int().describe("0 = the hash as sent; 1..7 = the nth entry of `dihedral`."),
    signalType: z.string(),
    value: z.string(),
    limbs: z.array(z.string()),
    contentType: z.string(),
    legalBasis: z.object({ limbs: z.array(z.string()), nationalProvision: z.string() }),
    memberState: z.string().describe("The originating member state."),
    baselineState: z.enum(["included", "disputed", "none", "retired"]),
    state: EntryStateView,
    assessments: z.object({ concurStates: z.array(z.string()), dissenting: z.number().int() }),
    tlp: z.string().nullable(),
    lowQuality: z.boolean(),
    kind: z
      .enum(["hash", "video", "frame"])
      .describe(
        "hash: the item's hash matched the entry's; video: a video item matched a video entry (see `video`); frame: one frame matched — a video item's frame matched a still-image entry (`queryFrame`), or a still-image item matched a frame of a video entry (`entryFrame`).",
      ),
    queryFrame: VideoFrameRef.optional(),
    entryFrame: VideoFrameRef.optional(),
    video: VideoMatch.optional(),
    provisional: ProvisionalLabel.nullable().describe(
      "Set for a provisional entry of a crisis incident (matched before any quorum, docs/incidents.md): the incident and when the entry lapses unless included first. null otherwise.",
    ),
  })
  .meta({ id: "MatchHit" });
export type MatchHit = z.infer<typeof MatchHit>;

export const MatchResponse = z
  .object({
    requestId: z.string(),
    scope: z.enum(MATCH_SCOPES),
    threshold: z.number().int(),
    baselineVersion: z.number().int().describe("The baseline version (snapshot) the answer came from."),
    results: z.array(z.object({ index: z.number().int(), matches: z.array(MatchHit) })),
    kept: z
      .number()
      .int()
      .describe("Review items stored or refreshed for this request (0 unless `keep` was asked for)."),
    advisory: z.string(),
  })
  .meta({ id: "MatchResponse" });
export type MatchResponse = z.infer<typeof MatchResponse>;

/** Sent with every match answer. */
export const MATCH_ADVISORY =
  "Matches are leads for human review under your own terms and the TCO Regulation; a match alone is not a removal order.";

/** GET /v1/match/stats: one row per shard of the match index. */
export const MatchStats = z
  .object({
    shards: z.array(
      z.object({
        shard: z.number().int(),
        entries: z.number().int(),
        appliedSeq: z.number().int(),
        memoryBytes: z.number().int(),
        rebuilds: z.number().int(),
        builtAt: z.iso.datetime().meta({
          description:
            "When this shard's instance loaded its index (from its snapshot or from D1); it changes only when the index is loaded again (a restart, an eviction, a replaced database)",
        }),
        source: z.enum(["d1", "snapshot"]).meta({
          description:
            "Where the index was loaded from: the serialized index in the shard's own storage (then caught up from the change feed), or D1",
        }),
        kernel: z.enum(["wasm", "js"]).meta({
          description: "The WebAssembly scan kernel, or the JavaScript fallback (identical answers)",
        }),
        snapshotSeq: z.number().int().nullable().meta({
          description: "The change-feed position the shard's stored snapshot covers (null: none yet)",
        }),
        snapshotRefused: z.enum(["none", "format", "layout", "rule", "corrupt", "stale"]).nullable().meta({
          description:
            "Why the last stored snapshot was not used and was rebuilt from D1 instead (null: it was, or there was none)",
        }),
        compactions: z.number().int().meta({
          description:
            "Compactions of the index since this instance loaded it: each folds the entries added since the last one (the delta) into the base, O(n) of CPU during which the shard answers nobody. A match answer that waited for one says so in its Server-Timing (`compactions`)",
        }),
        delta: z.number().int().meta({ description: "Entries added since the last compaction" }),
        deltaCapacity: z.number().int().meta({
          description:
            "The delta size that triggers the next compaction (a 32nd of the base, at least 4,096)",
        }),
      }),
    ),
  })
  .meta({ id: "MatchStats" });
