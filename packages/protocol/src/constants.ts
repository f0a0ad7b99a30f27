// Network-wide constants shared by the node and its clients: roles, member states, token types, limits.

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
