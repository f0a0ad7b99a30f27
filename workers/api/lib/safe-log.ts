// What the node may write to its logs about a failure: the error's kind and the database's own
// message, never request data. drizzle's DrizzleQueryError puts every bound parameter in its
// message ("Failed query: … params: …"), and those parameters can be a stored JWS, selector
// pseudonyms or credential hashes; so the parameters are cut, and anything that still looks like
// a token, a JWS, a pseudonym or a long hex value is masked.

const REDACTIONS: [RegExp, string][] = [
  // Compact JWS / JWT (three base64url parts; the payload of ours starts with eyJ).
  [/[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, "[jws]"],
  [/\b(Bearer|Basic)\s+\S+/gi, "$1 [credential]"],
  // Selector pseudonyms (docs/signals.md) and API secrets.
  [/v\d{1,6}:(handle|email|phone|profile_url):[A-Za-z0-9_-]{43}/g, "[pseudonym]"],
  [/eusn_[A-Za-z0-9_-]{43}/g, "[secret]"],
  // Hashes, key material and thumbprints: not needed to diagnose a failure.
  [/\b[0-9a-f]{32,}\b/gi, "[hex]"],
  [/[A-Za-z0-9_-]{43,}/g, "[b64]"],
];

function scrub(text: string): string {
  let out = text.split(/\nparams:/)[0]!;
  for (const [re, to] of REDACTIONS) out = out.replace(re, to);
  return out.length > 500 ? `${out.slice(0, 500)}…` : out;
}

/** One line about `err` (and its cause) that is safe to log. */
export function safeErrorSummary(err: unknown): string {
  if (!(err instanceof Error)) return "unknown error";
  const parts = [`${err.name}: ${scrub(err.message)}`];
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof Error) parts.push(`cause ${cause.name}: ${scrub(cause.message)}`);
  return parts.join("; ");
}
