// Wire schemas of the accountability outputs: a platform's statement of reasons for an action it
// took on a match (DSA Art. 17, TCO Art. 11), the competent authorities' transparency report
// (TCO Art. 8) and the measured error rates of the shared hashes. None of them carries content, a
// raw user identifier or a selector: free text is checked for what would be one.
import { z } from "zod";
import {
  EEA_COUNTRIES,
  EU_MEMBER_STATES,
  REPORT_FORMATS,
  STATEMENT_ACTIONS,
  STATEMENT_LANGUAGES,
} from "./constants.ts";
import { ENTRY_STATES } from "./entry-state.ts";
import { idPattern } from "./ids.ts";
import { SubmissionId } from "./submissions.ts";

// ---- what may not appear in free text --------------------------------------------------------

/**
 * Why `s` looks like something no statement or report may carry — an e-mail address, a URL, a
 * selector pseudonym, a hash (32+ hex digits: a content fingerprint), a phone number (7+ digits in
 * a row) or a control character — or undefined. A heuristic over short fields whose purpose is a
 * role or a name; it is what keeps a platform from pasting a user's handle or address into them.
 */
export function identifierIn(s: string): string | undefined {
  if (s.includes("@")) return "an e-mail address or handle (@)";
  if (/[a-z][a-z0-9+.-]*:\/\//i.test(s) || /\bwww\./i.test(s)) return "a URL";
  if (/\bv[0-9]+:[a-z_]+:/i.test(s)) return "a selector pseudonym";
  if (/[0-9a-f]{32,}/i.test(s)) return "a hash value";
  if (/[0-9]{7,}/.test(s.replace(/[\s().-]/g, ""))) return "a phone number or account number";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point.
  if (/[\u0000-\u001f\u007f]/.test(s)) return "a control character";
  return undefined;
}

/** A short plain-text field that names a role, a body or a team, never a person's identifier. */
const plainText = (min: number, max: number) =>
  z
    .string()
    .trim()
    .min(min)
    .max(max)
    .superRefine((s, ctx) => {
      const why = identifierIn(s);
      if (why) ctx.addIssue({ code: "custom", message: `must not contain ${why}` });
    });

/** A calendar date, YYYY-MM-DD (the DSA Transparency Database's date format). */
export const IsoDate = z.iso.date();

// ---- statements of reasons -------------------------------------------------------------------

/** The 27 EU member states, the default territorial scope. */
export const EU_SCOPE = EEA_COUNTRIES.filter((c) => c !== "IS" && c !== "LI" && c !== "NO");

/**
 * The platform's own reference of what it acted on: opaque letters, digits, `.`, `_` and `-`
 * (no `@`, `:` or `/`, so never an address, a URL or a selector), and no run of 32 hex digits
 * (never a content hash).
 */
export const ContentRef = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/,
    "the platform's opaque reference: letters, digits, . _ - (at most 128), never a URL, an address or a user's identifier",
  )
  .refine((s) => !/[0-9a-f]{32,}/i.test(s), "must not contain a hash value")
  .describe("The platform's own reference of the content it acted on. Never the content itself.");

const uniq = <T>(a: T[]) => new Set(a).size === a.length;

/** The platform's complaint page: an https URL without a query or fragment (nothing per user). */
export const ComplaintUrl = z
  .url({ protocol: /^https$/ })
  .max(300)
  .refine((u) => !/[?#]/.test(u), "the address of the complaint procedure itself: no query or fragment")
  .refine((u) => !u.includes("@"), "must not contain an @");

/** A platform documents what it did on a match (signed, node-local: it names the platform's content). */
export const StatementRecord = z
  .object({
    submissionId: SubmissionId.describe("The entry the platform matched and acted on."),
    contentRef: ContentRef,
    actions: z
      .array(z.enum(STATEMENT_ACTIONS))
      .min(1)
      .max(STATEMENT_ACTIONS.length)
      .refine(uniq, "actions repeat"),
    language: z
      .enum(STATEMENT_LANGUAGES)
      .describe("Language of the fixed parts of the user-readable statement."),
    reviewer: plainText(2, 120).describe(
      "Who reviewed the match before the decision: the reviewer's role or team and an internal reference (required: the decision is never taken on the automated match alone).",
    ),
    reviewedAt: z.iso.datetime({ offset: true }).describe("When the human review took place."),
    contentDate: IsoDate.describe("When the content was posted (DSA `content_date`)."),
    appliedOn: IsoDate.describe("When the action took effect (DSA `application_date`)."),
    territorialScope: z
      .array(z.enum(EEA_COUNTRIES))
      .min(1)
      .max(EEA_COUNTRIES.length)
      .refine(uniq, "countries repeat")
      .default([...EU_SCOPE])
      .describe("Where the restriction applies (default: the 27 EU member states)."),
    complaintUrl: ComplaintUrl.describe("The platform's complaint procedure (DSA Art. 20, TCO Art. 10)."),
    outOfCourtBody: plainText(2, 200)
      .optional()
      .describe("A certified out-of-court dispute settlement body the platform names (DSA Art. 21)."),
    accountType: z.enum(["business", "private"]).optional().describe("DSA `account_type`, when known."),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.contentDate > r.appliedOn)
      ctx.addIssue({
        code: "custom",
        path: ["contentDate"],
        message: "the content was posted after the action",
      });
    if (r.contentDate < "2000-01-01")
      ctx.addIssue({ code: "custom", path: ["contentDate"], message: "on or after 2000-01-01" });
    if (r.appliedOn < "2020-01-01")
      ctx.addIssue({ code: "custom", path: ["appliedOn"], message: "on or after 2020-01-01" });
    if (r.reviewedAt.slice(0, 10) > r.appliedOn)
      ctx.addIssue({
        code: "custom",
        path: ["reviewedAt"],
        message: "the human review comes before the action takes effect",
      });
    if (r.actions.includes("account_suspended") && r.actions.includes("account_terminated"))
      ctx.addIssue({
        code: "custom",
        path: ["actions"],
        message: "an account is suspended or terminated, not both",
      });
  })
  .meta({ id: "StatementRecord" });
export type StatementRecord = z.infer<typeof StatementRecord>;

export const StatementId = z.string().regex(idPattern("statement")).meta({ id: "StatementId" });

/** The legal ground a statement cites: the entry's, as its authority submitted it. */
export const StatementGround = z.object({
  limbs: z.array(z.string()).describe("TCO Art. 2(7) limbs the authority cited."),
  nationalProvision: z.string().describe("The national provision the authority cited."),
  memberState: z.string().describe("The member state of the authority."),
  authority: z.string().describe("The competent authority's name as registered."),
  contentType: z.string(),
});
export type StatementGround = z.infer<typeof StatementGround>;

/** What a reversal of the entry did to a statement built on it. */
export const StatementAffected = z
  .object({
    change: z.enum(["reversed", "withdrawn", "voided"]),
    at: z.string(),
    seq: z.number().int().describe("Position in the submission change feed."),
    recordId: z.string().nullable(),
    ground: z.string().nullable(),
    reason: z.string().nullable(),
  })
  .meta({ id: "StatementAffected" });

/** The user-readable statement: plain language, fixed parts in the chosen language. */
export const UserStatement = z
  .object({
    language: z.enum(STATEMENT_LANGUAGES),
    title: z.string(),
    sections: z.array(z.object({ heading: z.string(), body: z.string() })),
    text: z.string().describe("The whole statement as plain text, ready to send."),
  })
  .meta({ id: "UserStatement" });
export type UserStatement = z.infer<typeof UserStatement>;

export const StatementView = z
  .object({
    id: StatementId,
    recordId: z.string(),
    submissionId: SubmissionId,
    contentRef: z.string(),
    actions: z.array(z.enum(STATEMENT_ACTIONS)),
    language: z.enum(STATEMENT_LANGUAGES),
    createdAt: z.string(),
    ground: StatementGround,
    affected: StatementAffected.nullable().describe(
      "Set once the entry was reversed, withdrawn or voided: the platform should tell the user and reconsider the action.",
    ),
    user: UserStatement,
    dsa: z
      .record(z.string(), z.unknown())
      .describe(
        "The statement as the DSA Transparency Database's statement API (v2) takes it. EUSN does not send it: the platform files it (DSA Art. 24(5)).",
      ),
  })
  .meta({ id: "Statement" });
export type StatementView = z.infer<typeof StatementView>;

/** POST /v1/statements answers the receipt and the statement. */
export const StatementResult = z
  .object({ receipt: z.unknown(), statement: StatementView })
  .meta({ id: "StatementResult" });

/** GET /v1/statements. */
export const StatementListQuery = z.object({
  affected: z
    .enum(["true", "false"])
    .optional()
    .describe("true: only statements whose entry was reversed, withdrawn or voided; false: only the others."),
  language: z.enum(STATEMENT_LANGUAGES).optional().describe("Render the fixed parts in this language."),
  after: z
    .string()
    .regex(idPattern("statement"))
    .optional()
    .describe("Cursor: the last id of the previous page."),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
export const StatementIdParam = z.object({ id: StatementId });
export const StatementShowQuery = z.object({
  language: z.enum(STATEMENT_LANGUAGES).optional().describe("Render the fixed parts in this language."),
});

export const StatementPage = z
  .object({ statements: z.array(StatementView), next: z.string().nullable() })
  .meta({ id: "StatementPage" });
export type StatementPage = z.infer<typeof StatementPage>;

// ---- the TCO Art. 8 transparency report ------------------------------------------------------

/** One quarter's figure: its value and the signed records it counts (GET /v1/records/{id}). */
export const ReportCell = z.object({
  value: z.number().int().nonnegative(),
  records: z.array(z.string()).describe("Ids of the signed records this figure counts."),
});

export const REPORT_FIGURES = [
  "submitted",
  "assessed",
  "assessedConcur",
  "assessedDissent",
  "assessedByOthers",
  "included",
  "disputed",
  "withdrawn",
  "reversed",
  "reversedComplaintUpheld",
  "reversedCourtRuling",
  "reversedError",
  "reversedOther",
  "matchesReported",
  "truePositive",
  "falsePositive",
  "notActioned",
] as const;
export type ReportFigureKey = (typeof REPORT_FIGURES)[number];

export const ReportFigure = z.object({
  key: z.enum(REPORT_FIGURES),
  label: z.string(),
  counts: z.string().describe("What one unit of the figure is."),
  quarters: z.array(ReportCell).length(4),
  total: z.number().int().nonnegative(),
});
export type ReportFigure = z.infer<typeof ReportFigure>;

export const TcoReport = z
  .object({
    year: z.number().int(),
    scope: z.object({
      authorityId: z
        .string()
        .nullable()
        .describe("The authority reported on; null: a member state's authorities, or every authority."),
      memberState: z
        .string()
        .nullable()
        .describe("The authority's member state, or the member state reported on; null: every authority."),
      displayName: z.string().nullable(),
    }),
    authorities: z
      .array(z.object({ id: z.string(), displayName: z.string(), memberState: z.string().nullable() }))
      .describe("The authorities whose figures are counted (public participants, GET /v1/participants)."),
    nodeId: z.string(),
    generatedAt: z.string(),
    period: z
      .object({ from: z.string(), to: z.string() })
      .describe("The days counted (UTC, `to` exclusive): the year unless a part of it was asked for."),
    quarters: z.array(z.object({ quarter: z.number().int(), from: z.string(), to: z.string() })).length(4),
    figures: z.array(ReportFigure),
    recordUrl: z.string().describe("Where each record id resolves (the exact signed bytes)."),
    note: z.string(),
  })
  .meta({ id: "TcoReport" });
export type TcoReport = z.infer<typeof TcoReport>;

/** GET /v1/reports/tco. */
export const TcoReportQuery = z.object({
  year: z.coerce.number().int().min(2020).max(2100).describe("Calendar year, UTC."),
  format: z.enum(REPORT_FORMATS).default("json"),
  from: IsoDate.optional().describe(
    "First day counted (YYYY-MM-DD, UTC), within the year; default the year's first. Quarters outside the period count nothing.",
  ),
  to: IsoDate.optional().describe(
    "First day no longer counted (YYYY-MM-DD, UTC, exclusive), after `from`, at most the next year's 1 January (the default).",
  ),
  authority: z
    .string()
    .regex(idPattern("participant"))
    .optional()
    .describe("Coordinators: one authority's report (default: every authority)."),
  memberState: z
    .string()
    .transform((s) => (s === "EL" ? "GR" : s))
    .pipe(z.enum(EU_MEMBER_STATES))
    .optional()
    .describe(
      "Coordinators: the report of a member state's authorities together (a member state may designate several competent authorities, TCO Art. 12).",
    ),
});

// ---- measured error rates --------------------------------------------------------------------

export const WilsonInterval = z
  .object({ low: z.number().min(0).max(1), high: z.number().min(0).max(1) })
  .describe("Wilson score interval, 95 % (z = 1.96), of the false-positive rate.");

export const ErrorRate = z
  .object({
    reports: z.number().int().nonnegative().describe("Live platform reports (every outcome)."),
    truePositive: z.number().int().nonnegative(),
    falsePositive: z.number().int().nonnegative(),
    notActioned: z.number().int().nonnegative(),
    enough: z
      .boolean()
      .describe("At least the policy's minimum of true- and false-positive reports (FP_FLAG_MIN_REPORTS)."),
    falsePositiveRate: z
      .number()
      .min(0)
      .max(1)
      .nullable()
      .describe("FP / (TP + FP); null when there are too few reports to say."),
    interval: WilsonInterval.nullable(),
    summary: z.string().describe('The rate as people read it, or "too few reports (n of m)".'),
  })
  .meta({ id: "ErrorRate" });
export type ErrorRate = z.infer<typeof ErrorRate>;

export const ErrorRateWindows = z.object({
  allTime: ErrorRate,
  last90Days: ErrorRate.describe("Live reports signed in the last 90 days."),
});
export type ErrorRateWindows = z.infer<typeof ErrorRateWindows>;

export const ErrorRates = z
  .object({
    minReports: z.number().int().describe("True- and false-positive reports needed before a rate is given."),
    baseline: ErrorRateWindows.describe("Reports on entries in the baseline now."),
    entriesWithReports: z.number().int(),
    entries: z
      .array(
        z.object({
          state: z.enum(ENTRY_STATES).describe("The entry's one state now (as every view shows it)."),
          label: z.string().describe("The state as worded for people, e.g. `reversed (was included)`."),
          baselineState: z.string().describe("The last baseline decision it had (kept when the entry ends)."),
          status: z
            .string()
            .describe(
              "live, withdrawn, reversed or voided: a reversed entry keeps the baseline state it last had, and its reports still count here.",
            ),
          allTime: ErrorRate,
          last90Days: ErrorRate,
        }),
      )
      .describe(
        "Each entry with reports, most reported first (at most 200; entriesWithReports counts all). Entries are not named: the public figures name no record, hash or participant.",
      ),
  })
  .meta({ id: "ErrorRates" });
export type ErrorRates = z.infer<typeof ErrorRates>;
