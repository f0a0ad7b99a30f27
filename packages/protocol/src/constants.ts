// Network-wide constants shared by the node and its clients: roles, member states, token types, limits,
// and the closed lists the wire schemas are built from (plain values: no zod, @eusn/protocol/plain).

/** Participant roles (ARCHITECTURE.md "Who uses it"). */
export const ROLES = ["coordinator", "authority", "platform"] as const;

/**
 * The 27 EU member states as ISO 3166-1 alpha-2 codes. Greece is `GR` (ISO), not the EU's
 * own abbreviation `EL`; both are accepted on input and stored as `GR`.
 */
export const EU_MEMBER_STATES = [
  "AT",
  "BE",
  "BG",
  "HR",
  "CY",
  "CZ",
  "DK",
  "EE",
  "FI",
  "FR",
  "DE",
  "GR",
  "HU",
  "IE",
  "IT",
  "LV",
  "LT",
  "LU",
  "MT",
  "NL",
  "PL",
  "PT",
  "RO",
  "SK",
  "SI",
  "ES",
  "SE",
] as const;

/**
 * JOSE `typ` header values. Writes and read tokens carry different types so that a signed
 * write can never be replayed as a bearer token or the other way round (RFC 8725 §3.11,
 * "Use Explicit Typing").
 */
export const WRITE_TYP = "eusn-record+jwt";
export const ACCESS_TYP = "eusn-access+jwt";

/** Only asymmetric signatures: EdDSA (Ed25519) and ES256 (P-256). Never `none`, never HMAC. */
export const ALLOWED_ALGS = ["EdDSA", "ES256"] as const;

/** Allowed clock skew for `iat` on writes, and the maximum lifetime of a read token (seconds). */
export const MAX_CLOCK_SKEW_S = 300;
export const MAX_TOKEN_LIFETIME_S = 300;

/**
 * Clock leeway for read tokens (RFC 7519 §4.1.4/§4.1.5 allow "some small leeway"): a token may
 * be issued, or become valid, at most this far in the future, and must expire within its
 * lifetime plus this from now — so no token is usable for longer than the lifetime plus leeway.
 */
export const TOKEN_LEEWAY_S = 60;

/** Largest accepted request body (bytes). A batch of 1,000 hashes with labels fits well within it. */
export const MAX_BODY_BYTES = 2 * 1024 * 1024;

/** The media type of a compact JWS (RFC 7515 §9.2.1). Every write body uses it. */
export const JOSE_MEDIA_TYPE = "application/jose";

/** The `typ` header of a webhook delivery's JWS: it can never pass for a receipt or a write. */
export const WEBHOOK_JWS_TYP = "eusn-webhook+jws";

/**
 * The form of a credential secret: `eusn_` + 43 base64url characters (32 random bytes, 256 bits)
 * made by the client. The node only ever sees its SHA-256; at use it refuses any password not of
 * this form, so a hand-picked weak password cannot be used even if its hash was registered.
 */
export const API_SECRET_PATTERN = /^eusn_[A-Za-z0-9_-]{43}$/;

// ---- closed lists (the schema modules build their z.enum from these) ----------------------------

/** TCO Regulation (EU) 2021/784 Art 2(7): the limbs (a)–(e) of the definition of terrorist content. */
export const TCO_LIMBS = ["a", "b", "c", "d", "e"] as const;

export const SIGNAL_TYPES = ["pdq", "md5", "sha256", "vpdq"] as const;

export const CONTENT_TYPES = ["image", "video", "audio", "document", "text", "other"] as const;

/** TLP 2.0 (FIRST). */
export const TLP_LEVELS = ["clear", "green", "amber", "amber+strict", "red"] as const;

export const MATCH_SCOPES = ["baseline", "all"] as const;
export type MatchScope = (typeof MATCH_SCOPES)[number];

/** What the platform did to the content or the account (each maps to a DSA decision field). */
export const STATEMENT_ACTIONS = [
  "content_removed",
  "access_disabled",
  "account_suspended",
  "account_terminated",
] as const;
export type StatementAction = (typeof STATEMENT_ACTIONS)[number];

/** Languages the fixed parts of the user-readable statement are written in. */
export const STATEMENT_LANGUAGES = ["en", "nl", "de", "fr"] as const;
export type StatementLanguage = (typeof STATEMENT_LANGUAGES)[number];

/**
 * EU and EEA countries as the DSA Transparency Database takes them in `territorial_scope`
 * (ISO 3166-1 alpha-2; Greece is GR).
 */
export const EEA_COUNTRIES = [
  "AT",
  "BE",
  "BG",
  "CY",
  "CZ",
  "DE",
  "DK",
  "EE",
  "ES",
  "FI",
  "FR",
  "GR",
  "HR",
  "HU",
  "IE",
  "IS",
  "IT",
  "LI",
  "LT",
  "LU",
  "LV",
  "MT",
  "NL",
  "NO",
  "PL",
  "PT",
  "RO",
  "SE",
  "SI",
  "SK",
] as const;

export const REPORT_FORMATS = ["json", "csv"] as const;

/**
 * The events a webhook can ask for:
 * - `entry.reversed`: an entry was withdrawn, reversed or excluded — the changes that end a
 *   platform's use of it, as GET /v1/reversals lists them (to platforms that matched it, and to
 *   every authority and coordinator);
 * - `signal.targeted`: a migration signal targeted at the receiving platform (platforms only);
 * - `baseline.version`: the baseline has a new version (one event for each new version seen).
 */
export const WEBHOOK_EVENTS = ["entry.reversed", "signal.targeted", "baseline.version"] as const;
