// Wire schemas of the baseline as platforms read it: the paged baseline and its signed snapshot's
// entries, the reversals feed of entries a platform matched, and the hash-list export's query.
import { z } from "zod";
import { EXPORT_FORMATS } from "./taxii.ts";

export const BaselineEntry = z
  .object({
    id: z.string(),
    signalType: z.enum(["pdq", "md5", "sha256", "vpdq"]),
    value: z.string(),
    quality: z.number().int().nullable(),
    limbs: z.array(z.string()),
    contentType: z.string(),
    memberState: z.string().describe("Originating member state."),
    nationalProvision: z.string(),
    tlp: z.string().nullable(),
    state: z.enum(["included", "disputed"]),
    concurStates: z.array(z.string()),
    expiresAt: z.string().nullable(),
  })
  .meta({ id: "BaselineEntry" });
export type BaselineEntry = z.infer<typeof BaselineEntry>;

/** GET /v1/baseline. */
export const BaselineQuery = z.object({
  after: z.string().max(64).optional().describe("Cursor: the last id of the previous page."),
  limit: z.coerce.number().int().min(1).max(5000).default(1000),
});
export const BaselineRequestHeaders = z.object({ "if-none-match": z.string().optional() });

export const BaselinePage = z
  .object({
    version: z.number().int(),
    entries: z.array(BaselineEntry),
    next: z.string().nullable(),
  })
  .meta({ id: "BaselinePage" });

/**
 * The changes that end a platform's use of an entry it matched. `provisional_lapsed`: a crisis
 * incident's provisional entry stopped matching unconfirmed (its incident ended or closed, or 72 h
 * passed) — its reason is `provisional_lapsed` (docs/incidents.md). `expired`: the entry's term
 * (`expiresAt`) is over, recorded by the node's scheduled job after that time (it stopped matching
 * at that time already) — its reason is `expired`, its `at` the expiry time.
 */
export const REVERSAL_CHANGES = [
  "withdrawn",
  "reversed",
  "excluded",
  "provisional_lapsed",
  "expired",
] as const;

export const Reversal = z
  .object({
    seq: z.number().int().describe("Cursor position in the submission change feed."),
    submissionId: z.string(),
    change: z.enum(REVERSAL_CHANGES),
    at: z.string(),
    recordId: z.string().nullable(),
    reason: z.string().nullable(),
    ground: z.string().nullable(),
    signalType: z.string(),
    value: z.string(),
  })
  .meta({ id: "Reversal" });
export type Reversal = z.infer<typeof Reversal>;

/** GET /v1/reversals. */
export const ReversalQuery = z.object({
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(500),
});

export const ReversalPage = z
  .object({ reversals: z.array(Reversal), next: z.number().int().nullable() })
  .meta({ id: "ReversalPage" });

/** GET /v1/baseline/export. */
export const ExportQuery = z.object({
  format: z.enum(EXPORT_FORMATS).default("csv"),
  after: z.coerce
    .number()
    .int()
    .min(0)
    .default(0)
    .describe("Cursor: the X-EUSN-Next of the previous page (0 = from the start)."),
  limit: z.coerce.number().int().min(1).max(50_000).default(10_000),
});
