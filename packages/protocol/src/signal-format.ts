// Migration signals' rules without their wire schemas (docs/signals.md): the kinds, the protocol
// caps, the selector key and pseudonym formats and the normal form of out-links, so a platform
// pseudonymises and normalises without building the schemas (@eusn/protocol/plain). The records
// and answers are in signals.ts.

// ---- constants -------------------------------------------------------------------------------

/** What a signal says about the removed account. */
export const SIGNAL_KINDS = ["account_removed", "migration_announced", "reappearance"] as const;
export type SignalKind = (typeof SIGNAL_KINDS)[number];

/** The kinds of account selector a platform can pseudonymise (normalisation rules in docs/signals.md). */
export const SELECTOR_KINDS = ["handle", "email", "phone", "profile_url"] as const;
export type SelectorKind = (typeof SELECTOR_KINDS)[number];

/** The fixed statement every lookup and pull answer carries, and every signal in it. */
export const SIGNAL_ADVISORY = "Lead for human review only; not grounds for automatic action." as const;

/** Protocol caps (a node's policy may be stricter, never looser). */
export const SIGNAL_DEFAULT_EXPIRY_DAYS = 90;
export const SIGNAL_MAX_EXPIRY_DAYS = 180;
/** Most selectors / out-links / related submissions in one signal. */
export const SIGNAL_MAX_SELECTORS = 50;
export const SIGNAL_MAX_OUT_LINKS = 50;
export const SIGNAL_MAX_RELATED = 50;
/** Most selectors + URLs in one lookup request. */
export const SIGNAL_LOOKUP_MAX = 1000;
export const SELECTOR_KEY_MAX_VERSION = 999_999;
/** A selector key is 256 random bits. */
export const SELECTOR_KEY_BYTES = 32;
/** Key wrapping: JWE ECDH-ES+A256KW with A256GCM to the platform's P-256 encryption key. */
export const SELECTOR_KEY_WRAP_ALG = "ECDH-ES+A256KW" as const;
export const SELECTOR_KEY_WRAP_ENC = "A256GCM" as const;
/** Domain separation for the HMAC input (`<label>\0<kind>\0<normalised value>`). */
export const SELECTOR_HMAC_LABEL = "eusn-selector";

/**
 * `v<version>:<kind>:<HMAC-SHA-256 as 43 base64url chars>`. The last character must be one of
 * the 16 that leave the two padding bits zero, so there is exactly one encoding per digest.
 */
export const PSEUDONYM_PATTERN =
  /^v([1-9][0-9]{0,5}):(handle|email|phone|profile_url):([A-Za-z0-9_-]{42}[AEIMQUYcgkosw048])$/;

export type ParsedPseudonym = { version: number; kind: SelectorKind; mac: string };

/** Parses a pseudonym; `undefined` for anything that is not exactly one. */
export function parsePseudonym(s: string): ParsedPseudonym | undefined {
  const m = PSEUDONYM_PATTERN.exec(s);
  if (!m) return undefined;
  return { version: Number(m[1]), kind: m[2] as SelectorKind, mac: m[3]! };
}

/**
 * Query parameters that only track the click, never identify the resource: dropped from
 * out-links (docs/signals.md lists them). `utm_*` is matched as a prefix.
 */
export const TRACKING_PARAMS: readonly string[] = [
  "fbclid",
  "gclid",
  "dclid",
  "gbraid",
  "wbraid",
  "msclkid",
  "twclid",
  "ttclid",
  "yclid",
  "li_fat_id",
  "igshid",
  "igsh",
  "mc_cid",
  "mc_eid",
  "_hsenc",
  "_hsmi",
  "mkt_tok",
  "oly_anon_id",
  "oly_enc_id",
  "vero_id",
  "rb_clickid",
  "s_cid",
  "si",
  "ref_src",
  "ref_url",
];
const TRACKING_PREFIXES = ["utm_"];
export const OUT_LINK_MAX_LENGTH = 2048;

export type NormaliseResult = { ok: true; value: string } | { ok: false; reason: string };

/**
 * The normal form of a public URL seen in content: https/http only (a bare `host/path` gets
 * `https://`), lower-case scheme and host, no leading `www.`, no credentials, no default port,
 * no fragment, no tracking parameters, remaining parameters sorted by name (stable), no empty
 * `?`, no trailing `/` except for the root. Paths keep their case (they are case-sensitive).
 */
export function normaliseOutLink(input: string): NormaliseResult {
  const raw = input.trim();
  if (raw.length === 0) return { ok: false, reason: "empty URL" };
  if (raw.length > OUT_LINK_MAX_LENGTH) return { ok: false, reason: `longer than ${OUT_LINK_MAX_LENGTH}` };
  // `scheme:` without `//` (mailto:, javascript:, data:) is another scheme, not a bare host
  // (a bare `host:port/path` is told apart by its digits).
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(raw);
  const rest = scheme ? raw.slice(scheme[0].length) : "";
  if (scheme && !rest.startsWith("//") && !/^[0-9]+([/?#]|$)/.test(rest)) {
    return { ok: false, reason: `scheme ${scheme[1]!.toLowerCase()}: is not http(s)` };
  }
  const withScheme = scheme && rest.startsWith("//") ? raw : `https://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return { ok: false, reason: "not a URL" };
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return { ok: false, reason: `scheme ${url.protocol} is not http(s)` };
  }
  url.username = "";
  url.password = "";
  url.hash = "";
  const host = url.hostname.replace(/\.$/, "").replace(/^www\./, "");
  if (!host.includes(".")) return { ok: false, reason: "no public host name" };
  url.hostname = host;
  const kept = [...url.searchParams.entries()].filter(
    ([k]) =>
      !TRACKING_PARAMS.includes(k.toLowerCase()) &&
      !TRACKING_PREFIXES.some((p) => k.toLowerCase().startsWith(p)),
  );
  kept.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  url.search = kept.length > 0 ? new URLSearchParams(kept).toString() : "";
  if (url.pathname.length > 1 && url.pathname.endsWith("/")) url.pathname = url.pathname.replace(/\/+$/, "");
  const out = url.toString().replace(/\?$/, "");
  if (out.length > OUT_LINK_MAX_LENGTH) return { ok: false, reason: `longer than ${OUT_LINK_MAX_LENGTH}` };
  return { ok: true, value: out };
}
