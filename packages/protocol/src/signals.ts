// Wire schemas for platform-migration signals, shared by the node and its clients:
// pseudonymised selectors, out-links, selector-key distribution, signals, retractions/reversals
// and the answers to lookups and pulls. See docs/signals.md. The constants, the pseudonym format
// and out-link normalisation these schemas check against are in signal-format.ts (no zod).
import { z } from "zod";
import { idPattern } from "./ids.ts";
import {
  normaliseOutLink,
  OUT_LINK_MAX_LENGTH,
  PSEUDONYM_PATTERN,
  parsePseudonym,
  SELECTOR_KEY_MAX_VERSION,
  SELECTOR_KEY_WRAP_ALG,
  SIGNAL_ADVISORY,
  SIGNAL_KINDS,
  SIGNAL_LOOKUP_MAX,
  SIGNAL_MAX_EXPIRY_DAYS,
  SIGNAL_MAX_OUT_LINKS,
  SIGNAL_MAX_RELATED,
  SIGNAL_MAX_SELECTORS,
} from "./signal-format.ts";

// ---- pseudonyms ------------------------------------------------------------------------------

export const Pseudonym = z
  .string()
  .max(64)
  .regex(
    PSEUDONYM_PATTERN,
    "must be a pseudonym v<version>:<handle|email|phone|profile_url>:<43 base64url chars> made with the selector key; raw values are never accepted",
  )
  .meta({
    id: "SelectorPseudonym",
    description:
      "HMAC-SHA-256 of the normalised selector under selector-key version <version>, base64url (43 chars). Made on the platform; the raw value never reaches the node.",
    example: "v1:email:3q2-7wV0ZVb6h0bQ8dHgK4l1T0pG9m3cB2aXyZ1w0kA",
  });

// ---- out-links -------------------------------------------------------------------------------

/** An out-link as signed: it must already be in normal form (the signed bytes are what is stored). */
export const OutLink = z
  .string()
  .min(1)
  .max(OUT_LINK_MAX_LENGTH)
  .superRefine((s, ctx) => {
    const n = normaliseOutLink(s);
    if (!n.ok) ctx.addIssue({ code: "custom", message: `not a public http(s) URL: ${n.reason}` });
    else if (n.value !== s) ctx.addIssue({ code: "custom", message: `not in normal form; use ${n.value}` });
  })
  .meta({
    id: "OutLink",
    description: "A public URL seen in the removed content, in the normal form of normaliseOutLink().",
    example: "https://t.me/examplechannel",
  });

// ---- selector-key distribution ---------------------------------------------------------------

const b64url = z.string().regex(/^[A-Za-z0-9_-]+$/, "must be base64url without padding");
const ParticipantRef = z.string().regex(idPattern("participant"));
const SignalRef = z.string().regex(idPattern("signal"));
const SubmissionRef = z.string().regex(idPattern("submission"));

/** A platform's P-256 public key for receiving wrapped selector keys (ECDH-ES). */
export const EncPublicJwk = z
  .object({
    kty: z.literal("EC"),
    crv: z.literal("P-256"),
    x: b64url.length(43),
    y: b64url.length(43),
    use: z.literal("enc").optional(),
    alg: z.literal(SELECTOR_KEY_WRAP_ALG).optional(),
    kid: z.string().max(100).optional(),
  })
  .strict()
  .meta({
    id: "EncPublicJwk",
    description: "A P-256 public JWK for ECDH-ES+A256KW key wrapping; `kid` is the RFC 7638 thumbprint.",
  });
export type EncPublicJwk = z.infer<typeof EncPublicJwk>;

/** A platform sets (or replaces) its key-wrapping public key. */
export const SetEncKeyRecord = z
  .object({ participantId: ParticipantRef, jwk: EncPublicJwk })
  .strict()
  .meta({ id: "SetSignalEncKeyRecord" });

const COMPACT_JWE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** One selector-key version wrapped for one platform. */
export const WrappedSelectorKey = z
  .object({
    participantId: ParticipantRef,
    kid: z.string().min(1).max(100).describe("Thumbprint of the platform's registered encryption key."),
    jwe: z.string().max(2000).regex(COMPACT_JWE, "must be a compact JWE"),
  })
  .strict()
  .meta({ id: "WrappedSelectorKey" });

const keyVersion = z.number().int().min(1).max(SELECTOR_KEY_MAX_VERSION);

/**
 * A coordinator publishes selector-key version `version`: new signals may use it from
 * `validFrom` until `validUntil` (unix seconds); lookups keep working while any signal made
 * with it is live. The key itself travels only inside the JWEs.
 */
export const PublishSelectorKeyRecord = z
  .object({
    version: keyVersion,
    validFrom: z.number().int().nonnegative(),
    validUntil: z.number().int().positive(),
    wrapped: z.array(WrappedSelectorKey).max(500),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.validUntil <= r.validFrom) {
      ctx.addIssue({ code: "custom", path: ["validUntil"], message: "must be after validFrom" });
    }
    if (r.validUntil - r.validFrom > 400 * 86400) {
      ctx.addIssue({ code: "custom", path: ["validUntil"], message: "a key version lasts at most 400 days" });
    }
  })
  .meta({ id: "PublishSelectorKeyRecord" });

/** A coordinator wraps an existing key version for more platforms (new, or a new encryption key). */
export const GrantSelectorKeyRecord = z
  .object({ version: keyVersion, wrapped: z.array(WrappedSelectorKey).min(1).max(500) })
  .strict()
  .meta({ id: "GrantSelectorKeyRecord" });

/** What the JWE plaintext holds (JSON). The client checks version and recipient. */
export const SelectorKeyPlaintext = z
  .object({
    typ: z.literal("eusn-selector-key"),
    version: keyVersion,
    participantId: ParticipantRef,
    key: b64url.length(43),
  })
  .strict();
export type SelectorKeyPlaintext = z.infer<typeof SelectorKeyPlaintext>;

// ---- signals ---------------------------------------------------------------------------------

export const SignalKindSchema = z.enum(SIGNAL_KINDS).meta({ id: "MigrationSignalKind" });

/** Reason for the removal: TCO Regulation (EU) 2021/784 Art 2(7) limb (a)–(e). */
export const SignalReason = z
  .object({
    tcoLimb: z
      .enum(["a", "b", "c", "d", "e"])
      .describe("TCO Art 2(7) limb of the content that got the account removed."),
  })
  .strict()
  .meta({ id: "MigrationSignalReason" });

const hostName = z
  .string()
  .min(3)
  .max(253)
  .regex(/^(?!-)[a-z0-9-]{1,63}(\.[a-z0-9-]{1,63})+$/, "a lower-case host name such as t.me");

export const CreateSignalRecord = z
  .object({
    kind: SignalKindSchema,
    keyVersion,
    selectors: z.array(Pseudonym).max(SIGNAL_MAX_SELECTORS).default([]),
    outLinks: z.array(OutLink).max(SIGNAL_MAX_OUT_LINKS).default([]),
    targetPlatformId: ParticipantRef.optional().describe("The target platform, when it is on the network."),
    targetHost: hostName
      .optional()
      .describe("The target service's host name when known (on or off network)."),
    relatedSubmissions: z.array(SubmissionRef).max(SIGNAL_MAX_RELATED).default([]),
    reason: SignalReason,
    expiresInDays: z
      .number()
      .int()
      .min(1)
      .max(SIGNAL_MAX_EXPIRY_DAYS)
      .optional()
      .describe("Days from iat until the signal expires; default 90, at most 180 (or the node's policy)."),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.selectors.length + r.outLinks.length === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["selectors"],
        message: "a signal needs a selector or an out-link",
      });
    }
    r.selectors.forEach((s, i) => {
      const p = parsePseudonym(s);
      if (p && p.version !== r.keyVersion) {
        ctx.addIssue({
          code: "custom",
          path: ["selectors", i],
          message: `made with key version ${p.version}; the signal says keyVersion ${r.keyVersion}`,
        });
      }
    });
    for (const [name, list] of [
      ["selectors", r.selectors],
      ["outLinks", r.outLinks],
      ["relatedSubmissions", r.relatedSubmissions],
    ] as const) {
      if (new Set(list).size !== list.length) {
        ctx.addIssue({ code: "custom", path: [name], message: "entries repeat" });
      }
    }
  })
  .meta({ id: "CreateMigrationSignalRecord" });
export type CreateSignalRecord = z.input<typeof CreateSignalRecord>;

/** The originating platform withdraws its own signal. */
export const RetractSignalRecord = z
  .object({ signalId: SignalRef, reason: z.string().trim().min(3).max(500).optional() })
  .strict()
  .meta({ id: "RetractMigrationSignalRecord" });

export const SIGNAL_REVERSAL_GROUNDS = ["appeal_upheld", "court_ruling", "error", "other"] as const;

/** A coordinator reverses a signal (e.g. after the user's successful appeal). */
export const ReverseSignalRecord = z
  .object({
    signalId: SignalRef,
    ground: z.enum(SIGNAL_REVERSAL_GROUNDS),
    reason: z.string().trim().min(3).max(500),
  })
  .strict()
  .meta({ id: "ReverseMigrationSignalRecord" });

// ---- requests and answers --------------------------------------------------------------------

const advisory = z.literal(SIGNAL_ADVISORY);

export const SignalView = z
  .object({
    id: z.string(),
    kind: SignalKindSchema,
    origin: z.object({ participantId: z.string(), displayName: z.string() }),
    reason: SignalReason,
    keyVersion: z.number().int(),
    targetPlatformId: z.string().nullable(),
    targetHost: z.string().nullable(),
    outLinks: z.array(z.string()),
    relatedSubmissions: z.array(z.string()),
    createdAt: z.string(),
    ageDays: z.number().describe("Whole days since the signal was made."),
    expiresAt: z.string(),
    recordId: z.string().describe("The signed record (GET /v1/records/{id}) until the signal is purged."),
    advisory,
  })
  .meta({
    id: "MigrationSignal",
    description:
      "A live migration signal. Selector pseudonyms are never returned: only the ones you asked about, in `hits`.",
  });
export type SignalView = z.infer<typeof SignalView>;

export const SignalLookupRequest = z
  .object({
    selectors: z.array(Pseudonym).max(SIGNAL_LOOKUP_MAX).default([]),
    urls: z.array(z.string().min(1).max(OUT_LINK_MAX_LENGTH)).max(SIGNAL_LOOKUP_MAX).default([]),
  })
  .strict()
  .superRefine((r, ctx) => {
    const n = r.selectors.length + r.urls.length;
    if (n === 0) ctx.addIssue({ code: "custom", path: ["selectors"], message: "ask about something" });
    if (n > SIGNAL_LOOKUP_MAX) {
      ctx.addIssue({
        code: "custom",
        path: ["selectors"],
        message: `at most ${SIGNAL_LOOKUP_MAX} selectors and URLs together`,
      });
    }
  })
  .meta({ id: "MigrationSignalLookup" });
export type SignalLookupRequest = z.input<typeof SignalLookupRequest>;

export const SignalHit = z
  .object({
    matched: z.string().describe("The pseudonym or (normalised) URL you asked about."),
    matchedAs: z.enum(["selector", "outLink"]),
    signalId: z.string(),
  })
  .meta({ id: "MigrationSignalHit" });

export const SignalLookupResponse = z
  .object({
    advisory,
    asOf: z.string(),
    hits: z.array(SignalHit),
    signals: z.array(SignalView),
  })
  .meta({ id: "MigrationSignalLookupResult" });
export type SignalLookupResponse = z.infer<typeof SignalLookupResponse>;

export const SignalPullPage = z
  .object({
    advisory,
    signals: z.array(SignalView.extend({ seq: z.number().int() })),
    next: z
      .number()
      .int()
      .nullable()
      .describe("Cursor for the next page (pass as `after`); null at the end."),
  })
  .meta({ id: "MigrationSignalPage" });
export type SignalPullPage = z.infer<typeof SignalPullPage>;

export const SignalReversalView = z
  .object({
    seq: z.number().int(),
    id: z.string(),
    signalId: z.string(),
    action: z.enum(["retracted", "reversed"]),
    by: z.string(),
    at: z.string(),
    ground: z.enum(SIGNAL_REVERSAL_GROUNDS).nullable(),
    reason: z.string().nullable(),
    recordId: z.string(),
  })
  .meta({ id: "MigrationSignalReversal" });
export type SignalReversalView = z.infer<typeof SignalReversalView>;

export const SignalReversalPage = z
  .object({
    reversals: z.array(SignalReversalView),
    next: z.number().int().nullable(),
  })
  .meta({ id: "MigrationSignalReversalPage" });
export type SignalReversalPage = z.infer<typeof SignalReversalPage>;

export const SelectorKeyVersionView = z
  .object({
    version: z.number().int(),
    validFrom: z.string(),
    validUntil: z.string(),
    acceptsNewSignals: z.boolean().describe("New signals may be made with this version now."),
    acceptsLookups: z
      .boolean()
      .describe("Pseudonymise lookups under this version too (it is current, or live signals use it)."),
    recordId: z.string().describe("The coordinator-signed publish record (verify the JWE is in it)."),
    wrapped: z
      .object({ kid: z.string(), jwe: z.string(), recordId: z.string() })
      .nullable()
      .describe("This version wrapped for you; null if the coordinator has not wrapped it for you yet."),
  })
  .meta({ id: "SelectorKeyVersion" });
export type SelectorKeyVersionView = z.infer<typeof SelectorKeyVersionView>;

export const SelectorKeysView = z
  .object({
    current: z.number().int().nullable().describe("The version new signals should use now."),
    versions: z.array(SelectorKeyVersionView),
  })
  .meta({ id: "SelectorKeys" });
export type SelectorKeysView = z.infer<typeof SelectorKeysView>;

export const SignalEncKeyView = z
  .object({ participantId: z.string(), kid: z.string(), jwk: EncPublicJwk, setAt: z.string() })
  .meta({ id: "SignalEncKey" });
export type SignalEncKeyView = z.infer<typeof SignalEncKeyView>;

/** GET /v1/signals/enc-keys. */
export const SignalEncKeyList = z.object({ encKeys: z.array(SignalEncKeyView) });

/** Cursor paging of /v1/signals/targeted and /v1/signals/reversals. */
export const SignalCursorQuery = z.object({
  after: z.coerce.number().int().min(0).default(0).describe("Return entries with seq greater than this."),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

/** A signal named in the path. */
export const SignalIdParam = z.object({ id: z.string().regex(/^sig_[0-9a-z]{1,40}$/) });

/** A selector-key version named in the path. */
export const SelectorKeyVersionParam = z.object({ version: z.coerce.number().int().min(1) });
