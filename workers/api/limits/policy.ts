// Per-participant rate limits and quotas: the request classes, the rules configured for each
// (wrangler.toml vars with defaults), and GCRA, the arithmetic the RateLimiter Durable Object
// applies. No bindings here, so the arithmetic is unit-testable and shared with docs.

/**
 * What a request costs against. `write`: a verified signed write (any kind). `match`: POST
 * /v1/match, charged by its work (`matchCost`), not per request. `signal-lookup`: POST /v1/signals/lookup. `read`: every other verified read (bearer
 * reads, TAXII by bearer or API credential, and a peer node's log pulls, charged to `peer:<id>`).
 */
export const LIMIT_CLASSES = ["write", "read", "match", "signal-lookup"] as const;
export type LimitClass = (typeof LIMIT_CLASSES)[number];

/**
 * At most `limit` units per `windowS` seconds, with bursts of up to `limit` at once. A unit is one
 * request, except for `match`, where it is one hash variant at T <= 31 (see `matchCost`).
 */
export type Rule = { limit: number; windowS: number };

/** A limiter's answer: admitted, or refused by `rule` until `retryAfterS` from now. */
export type TakeResult = { ok: true } | { ok: false; retryAfterS: number; rule: Rule };

/**
 * The RateLimiter Durable Object's RPC method (limits/rate-limiter.ts implements it). Declared
 * here, beside the types it speaks, so env.ts can type the binding without importing the object.
 */
export interface RateLimiterRpc extends Rpc.DurableObjectBranded {
  /** Charges `cost` units (default 1) of `cls` if every rule admits them, else nothing. */
  take(cls: LimitClass, rules: Rule[], nowMs?: number, cost?: number): TakeResult;
}

/** The var that configures each class, e.g. `RATE_LIMIT_WRITE = "600/min, 50000/day"`. */
export const LIMIT_VARS = {
  write: "RATE_LIMIT_WRITE",
  read: "RATE_LIMIT_READ",
  match: "RATE_LIMIT_MATCH",
  "signal-lookup": "RATE_LIMIT_SIGNAL_LOOKUP",
} as const satisfies Record<LimitClass, string>;

/**
 * Defaults: generous enough that no honest participant meets them in normal operation, low
 * enough that one participant — or one stolen key — cannot monopolise a node. `match` is in
 * work units, and its smallest limit is also the most one request may cost (`tooCostly`: 413):
 * 8,000 units is the largest ordinary batch — 1,000 items with all 8 dihedral variants at
 * T <= 31, or 1,000 single hashes above 31 (each a scan of the index instead of a probe) — so
 * 1,000 items x 8 variants at T = 63 (64,000 units, eight such scans per item) is refused
 * before the index is asked. Sustained, 8,000 per 5 s is 1,600 units a second (about a third of
 * what one 1M-entry shard serves at T <= 31). The signal-lookup class sits above the signals
 * policy (SIGNAL_LOOKUPS_PER_MINUTE, default 60) on purpose: that policy, and the daily
 * enumeration guard, stay the binding limits for lookups (SECURITY.md).
 */
export const DEFAULT_LIMITS: Record<LimitClass, string> = {
  write: "600/min, 50000/day",
  read: "1200/min",
  match: "8000/5s, 50000000/day",
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
  cost = 1,
): { ok: true; tat: number } | { ok: false; retryAfterMs: number } {
  const windowMs = rule.windowS * 1000;
  // `cost` units advance the bucket as `cost` requests would: an expensive request waits as long
  // as the cheap ones it is worth. A cost above `limit` never fits (see `tooCostly`).
  const interval = (windowMs / rule.limit) * cost;
  // A stored time more than a window ahead cannot come from this arithmetic: the clock went
  // back (or was faked forward and restored). Start over rather than lock the caller out.
  const from = tat === undefined || tat > nowMs + windowMs ? nowMs : Math.max(tat, nowMs);
  const next = from + interval;
  if (next - nowMs <= windowMs) return { ok: true, tat: next };
  return { ok: false, retryAfterMs: next - windowMs - nowMs };
}

/**
 * Work weight of one PDQ hash variant by threshold, relative to T <= 31. Multi-index probing
 * (16 bands of 16 bits) is exact with radius r = floor(T / 16) bits per band: r <= 1 (T <= 31)
 * probes 272 buckets; r = 2 probes 2,192 and r = 3 11,152, where the shard scans every entry
 * instead. Measured per query at 1M entries (packages/match/README.md, bench/results): T = 31
 * about 0.2 ms; T = 32-63 about 1.6-2.3 ms with the WebAssembly scan (6-10 ms with the JS
 * fallback). So a far-threshold variant costs 8 units.
 */
export function matchThresholdWeight(threshold: number): number {
  return threshold <= 31 ? 1 : 8;
}

/** What a match request asks of the index: its items, each with its dihedral variants. */
export type MatchWork = {
  threshold: number;
  items: readonly {
    type: string;
    dihedral?: readonly string[] | undefined;
    /** A video item: its frames ([frameNumber, quality, hash, timestamp]), distance and quality. */
    frames?: readonly (readonly [number, number, string, number])[] | undefined;
    distance?: number | undefined;
    quality?: number | undefined;
  }[];
};

/** A video item's PDQ queries: its distinct frame hashes of sufficient quality. */
function videoQueries(it: MatchWork["items"][number]): number {
  const hashes = new Set<string>();
  for (const f of it.frames ?? []) if (f[1] >= (it.quality ?? 0)) hashes.add(f[2]);
  return hashes.size;
}

/**
 * The `match` units a request costs: every PDQ hash variant it sends (the hash and its dihedral
 * variants) times the threshold's weight, plus one per MD5/SHA-256 item (a map lookup). Charged
 * before the index is asked, so a platform's T = 63 batches of 1,000 items x 8 variants
 * (64,000 units) draw down its own quota 64 times faster than the same batch at T = 31 with one
 * variant each, and cannot crowd out other platforms' matches. A video item costs one unit per
 * distinct frame of sufficient quality (each is one PDQ query), weighted by its distance: a
 * 60-frame clip at D = 31 costs 60, and a video above 8,000 such frames must be sent in parts.
 */
export function matchCost(work: MatchWork): number {
  const w = matchThresholdWeight(work.threshold);
  let cost = 0;
  for (const it of work.items) {
    if (it.type === "pdq") cost += (1 + (it.dihedral?.length ?? 0)) * w;
    else if (it.type === "vpdq")
      cost += videoQueries(it) * matchThresholdWeight(it.distance ?? work.threshold);
    else cost += 1;
  }
  return Math.max(1, cost);
}

/** The first rule no request of `cost` units can ever fit (its whole burst is smaller), if any. */
export function tooCostly(rules: readonly Rule[], cost: number): Rule | undefined {
  return rules.find((r) => cost > r.limit);
}
