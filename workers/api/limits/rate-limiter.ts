// RateLimiter: a Durable Object per participant that keeps its GCRA state for every request
// class (limits/policy.ts), and enforceRateLimit(), the hook verify.ts calls once a caller is
// authenticated. Limiting only verified identities means nobody can spend someone else's quota
// by sending requests in their name; unauthenticated floods are the edge's job (SECURITY.md).
import { DurableObject } from "cloudflare:workers";
import { config } from "../config.ts";
import type { Env } from "../env.ts";
import { ApiError } from "../lib/problem.ts";
import {
  gcra,
  type LimitClass,
  type RateLimiterRpc,
  type Rule,
  type TakeResult,
  tooCostly,
} from "./policy.ts";

export class RateLimiter extends DurableObject<Env> implements RateLimiterRpc {
  /** GCRA state, `${class}/${limit}/${windowS}` → theoretical arrival time (ms). */
  private readonly tats = new Map<string, number>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // Loaded once per instance: a restart or eviction continues from the stored state (a daily
    // quota survives an idle participant's object being evicted).
    void ctx.blockConcurrencyWhile(async () => {
      for (const [k, v] of await ctx.storage.list<number>()) this.tats.set(k, v);
    });
  }

  /**
   * Admits `cost` units of `cls` (one request, or a match's work) if every rule admits them, and
   * only then charges them to each rule
   * (a refused request costs nothing, so a caller that waits `retryAfterS` gets in). A Durable
   * Object handles one call at a time, so the read-modify-write needs no lock. The new state is
   * written through without holding the answer for the write to be confirmed
   * (`allowUnconfirmed`): at worst a crash forgets the last few charges, which errs towards
   * the caller, and no request waits on a disk write to be counted.
   */
  take(cls: LimitClass, rules: Rule[], nowMs: number = Date.now(), cost = 1): TakeResult {
    const next: [string, number][] = [];
    let refused: { retryAfterMs: number; rule: Rule } | null = null;
    for (const rule of rules) {
      const key = `${cls}/${rule.limit}/${rule.windowS}`;
      const r = gcra(this.tats.get(key), rule, nowMs, cost);
      if (r.ok) next.push([key, r.tat]);
      else if (!refused || r.retryAfterMs > refused.retryAfterMs) refused = { ...r, rule };
    }
    if (refused) {
      return {
        ok: false,
        retryAfterS: Math.max(1, Math.ceil(refused.retryAfterMs / 1000)),
        rule: refused.rule,
      };
    }
    for (const [key, tat] of next) {
      this.tats.set(key, tat);
      this.ctx.storage.put(key, tat, { allowUnconfirmed: true }).catch((e: unknown) => {
        console.error("rate limiter state not saved:", e instanceof Error ? e.name : "unknown");
      });
    }
    return { ok: true };
  }
}

/**
 * The class of a verified bearer read, from its route. `match` is charged by the route once it
 * has read what the request asks for (routes/match.ts, `matchCost`), not here.
 */
export function readClass(req: Request): LimitClass {
  if (req.method !== "POST") return "read";
  const path = new URL(req.url).pathname;
  if (path === "/v1/match") return "match";
  if (path === "/v1/signals/lookup") return "signal-lookup";
  return "read";
}

const per = (rule: Rule) =>
  rule.windowS === 60
    ? "minute"
    : rule.windowS === 86_400
      ? "day"
      : rule.windowS === 3600
        ? "hour"
        : `${rule.windowS} s`;

/**
 * Charges `cost` units of `cls` (one request unless said otherwise) to `participantId`, or throws
 * `rate_limited` (429) with Retry-After. Called by verifyWrite / verifyAccess after every check
 * has passed, and by the match route with the request's work. A cost larger than a rule's whole
 * burst could never be admitted, however long the caller waited: that is `payload_too_large`
 * (413), and nothing is charged.
 */
export async function enforceRateLimit(
  env: Env,
  participantId: string,
  cls: LimitClass,
  cost = 1,
): Promise<void> {
  const rules = config(env).rateLimits[cls];
  if (rules.length === 0) return;
  const never = tooCostly(rules, cost);
  if (never) {
    throw new ApiError(
      "payload_too_large",
      `this request costs ${cost} ${cls} units, more than the ${never.limit} per ${per(never)} ${participantId} may use at once; send fewer items or variants, or a lower threshold`,
    );
  }
  let result: TakeResult;
  try {
    const stub = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(participantId));
    result = await stub.take(cls, rules, Date.now(), cost);
  } catch (e) {
    // Fail closed. The object is per participant, so this refuses only the caller whose limiter
    // is unavailable — typically because that caller is flooding it; failing open would hand the
    // flood exactly the bypass the limiter exists to prevent. No request data goes to the log.
    console.error(`rate limiter unavailable (${cls}):`, e instanceof Error ? e.name : "unknown");
    throw new ApiError("unavailable", "the rate limiter is unavailable; retry shortly", undefined, {
      "retry-after": "1",
    });
  }
  if (!result.ok) {
    throw new ApiError(
      "rate_limited",
      cls === "match"
        ? `${participantId} may make at most ${result.rule.limit} match requests per ${per(result.rule)} counted in work units (one per hash variant at threshold 31 or less); this request costs ${cost}; retry in ${result.retryAfterS}s`
        : `${participantId} may make at most ${result.rule.limit} ${cls} requests per ${per(result.rule)}; retry in ${result.retryAfterS}s`,
      undefined,
      { "retry-after": String(result.retryAfterS) },
    );
  }
}
