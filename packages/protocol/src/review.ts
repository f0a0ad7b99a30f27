// Wire schemas of the platforms' review queue: match results a platform kept on the node
// (POST /v1/match with `keep`) — the matched entry and the platform's own content reference, never
// the queried hash — listed with the entry's state now and the platform's reported outcome.
import { z } from "zod";
import { EntryStateView } from "./entry-state.ts";
import { idPattern } from "./ids.ts";

// A kept result's content reference is the ContentRef of statements of reasons (accountability.ts):
// opaque letters and digits, never a URL, an address or a hash, so a kept result can never hold
// the hash the platform queried, and a statement can cite it as it is.

export const REVIEW_STATUSES = ["open", "done", "all"] as const;

export const ReviewQuery = z.object({
  status: z
    .enum(REVIEW_STATUSES)
    .default("open")
    .describe("open: no outcome reported on the entry yet; done: reported; all."),
  ref: z.string().max(200).optional().describe("Items whose content reference starts with this."),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});
export type ReviewQuery = z.infer<typeof ReviewQuery>;

export const ReviewItem = z
  .object({
    id: z.string().regex(idPattern("review")),
    ref: z.string().nullable(),
    submissionId: z.string(),
    firstMatchedAt: z.string(),
    lastMatchedAt: z.string(),
    count: z.number().int().describe("How many match requests returned this entry for this content."),
    entry: z.object({
      state: EntryStateView,
      signalType: z.string(),
      value: z.string(),
      memberState: z.string(),
      limbs: z.array(z.string()),
      nationalProvision: z.string(),
      contentType: z.string(),
    }),
    outcome: z
      .object({
        outcome: z.enum(["true_positive", "false_positive", "not_actioned"]),
        at: z.string(),
        recordId: z.string(),
        note: z.string().nullable(),
      })
      .nullable()
      .describe("Your live feedback on the entry (feedback.create), which marks the item done."),
  })
  .meta({ id: "ReviewItem" });
export type ReviewItem = z.infer<typeof ReviewItem>;

export const ReviewPage = z
  .object({
    items: z.array(ReviewItem),
    total: z.number().int(),
    open: z.number().int().describe("Items without an outcome, whatever the filter."),
    retentionDays: z.number().int().describe("Kept items are deleted this many days after their last match."),
  })
  .meta({ id: "ReviewPage" });
export type ReviewPage = z.infer<typeof ReviewPage>;
