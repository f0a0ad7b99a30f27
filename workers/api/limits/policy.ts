// Per-participant rate limits and quotas: the request classes, the rules configured for each
// (wrangler.toml vars with defaults), and GCRA, the arithmetic the RateLimiter Durable Object
// applies. No bindings here, so the arithmetic is unit-testable and shared with docs.

/**
 * What a request costs against. `write`: a verified signed write (any kind). `match`: POST
 * /v1/match. `signal-lookup`: POST /v1/signals/lookup. `read`: every other verified read (bearer
 * reads, TAXII by bearer or API credential, and a peer node's log pulls, charged to `peer:<id>`).
 */
export const LIMIT_CLASSES = ["write", "read", "match", "signal-lookup"] as const;
export type LimitClass = (typeof LIMIT_CLASSES)[number];

/** At most `limit` requests per `windowS` seconds, with bursts of up to `limit` at once. */
export type Rule = { limit: number; windowS: number };

/** A limiter's answer: admitted, or refused by `rule` until `retryAfterS` from now. */
export type TakeResult = { ok: true } | { ok: false; retryAfterS: number; rule: Rule };

/**
 * The RateLimiter Durable Object's RPC method (limits/rate-limiter.ts implements it). Declared
 * here, beside the types it speaks, so env.ts can type the binding without importing the object.
 */
export interface RateLimiterRpc extends Rpc.DurableObjectBranded {
  take(cls: LimitClass, rules: Rule[], nowMs?: number): TakeResult;
}

/** The var that configures each class, e.g. `RATE_LIMIT_WRITE = "600/min, 50000/day"`. */
export const LIMIT_VARS = {
  write: "RATE_LIMIT_WRITE",
  read: "RATE_LIMIT_READ",
  match: "RATE_LIMIT_MATCH",
  "signal-lookup": "RATE_LIMIT_SIGNAL_LOOKUP",
} as const satisfies Record<LimitClass, string>;

/**
 * Defaults: generous enough that no honest participant meets them in normal operation (a
 * platform matching 1,000 hashes per request at 10 requests a second stays under `match`), low
 * enough that one participant — or one stolen key — cannot monopolise a node. The signal-lookup
 * class sits above the signals policy (SIGNAL_LOOKUPS_PER_MINUTE, default 60) on purpose: that
 * policy, and the daily enumeration guard, stay the binding limits for lookups (SECURITY.md).
 */
export const DEFAULT_LIMITS: Record<LimitClass, string> = {
  write: "600/min, 50000/day",
  read: "1200/min",
  match: "600/min, 500000/day",
  "signal-lookup": "300/min, 20000/day",
};

const UNITS: Record<string, number> = {
  s: 1,
  sec: 1,
  second: 1,
  min: 60,
  minute: 60,
  h: 3600,
  hour: 3600,
  d: 86_400,
  day: 86_400,
};

/**
 * Parses `"600/min, 50000/day"` (also `"10/30s"`, `"100/2h"`); `"off"` or `""` means no limit.
 * Answers null when the text is not a rule list, so a typo in configuration is loud, not silent.
 */
export function parseRules(text: string): Rule[] | null {
  const t = text.trim().toLowerCase();
  if (t === "" || t === "off") return [];
  const rules: Rule[] = [];
  for (const part of t.split(",")) {
    const m = /^\s*(\d{1,9})\s*\/\s*(\d{1,6})?\s*([a-z]+)\s*$/.exec(part);
    if (!m) return null;
    const unit = UNITS[m[3]!];
    const limit = Number(m[1]);
    const windowS = (m[2] ? Number(m[2]) : 1) * (unit ?? 0);
    if (!unit || limit < 1 || windowS < 1 || windowS > 366 * 86_400) return null;
    rules.push({ limit, windowS });
  }
  return rules;
}

/**
 * GCRA (the generic cell rate algorithm; a token bucket kept as one number): `tat` is the
 * theoretical arrival time of the next request at the sustained rate `limit / windowS`. A request
 * is admitted if, after it, the bucket is at most `windowS` ahead of now, so a fresh bucket takes
 * a burst of `limit` and then one request every `windowS / limit` seconds. Unlike fixed windows
 * there is no double burst at a window edge, and the wait is exact: `retryAfterMs` is when the
 * same request would be admitted.
 */
export function gcra(
  tat: number | undefined,
  rule: Rule,
  nowMs: number,
): { ok: true; tat: number } | { ok: false; retryAfterMs: number } {
  const windowMs = rule.windowS * 1000;
  const interval = windowMs / rule.limit;
  // A stored time more than a window ahead cannot come from this arithmetic: the clock went
  // back (or was faked forward and restored). Start over rather than lock the caller out.
  const from = tat === undefined || tat > nowMs + windowMs ? nowMs : Math.max(tat, nowMs);
  const next = from + interval;
  if (next - nowMs <= windowMs) return { ok: true, tat: next };
  return { ok: false, retryAfterMs: next - windowMs - nowMs };
}
