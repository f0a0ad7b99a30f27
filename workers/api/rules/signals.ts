// The migration-signal policy, in one place (docs/signals.md): how long a signal lives, when it is
// live (handed out) or due for purging, which selector-key versions still accept lookups, and the
// enumeration guard's limit. Each rule is a predicate beside its SQL form where SQL judges it;
// store/signals.ts, apply/signals.ts and the routes call these. Spec cases:
// test/api/rules-signals.test.ts.
import { type SQL, sql } from "drizzle-orm";
import type { signalKeyVersions, signals } from "../../../schema/index.ts";
import type { SignalPolicy } from "../config.ts";

export const DAY_S = 86_400;

type SignalRow = typeof signals.$inferSelect;
type KeyVersionRow = typeof signalKeyVersions.$inferSelect;

/**
 * A new signal's expiry (seconds): `requestedDays` (default: the node's default) after its signed
 * time, refused above the node's maximum (ARCHITECTURE.md: default 90 days, at most 180).
 */
export function signalExpiry(
  iat: number,
  requestedDays: number | undefined,
  policy: Pick<SignalPolicy, "defaultExpiryDays" | "maxExpiryDays">,
): { ok: true; expiresAt: number } | { ok: false; reason: string } {
  const days = requestedDays ?? policy.defaultExpiryDays;
  if (days > policy.maxExpiryDays)
    return { ok: false, reason: `this node keeps signals at most ${policy.maxExpiryDays} days` };
  return { ok: true, expiresAt: iat + days * DAY_S };
}

/** Live: active (not retracted or reversed) and not expired — the only signals any read hands out. */
export function isSignalLive(s: Pick<SignalRow, "status" | "expiresAt">, now: number): boolean {
  return s.status === "active" && s.expiresAt > now;
}
export function signalLiveSql(now: number): SQL {
  return sql`("signals"."status" = 'active' AND "signals"."expires_at" > ${now})`;
}

/** Due for purging (with everything it names): expired, whatever its status. */
export function isPurgeable(s: Pick<SignalRow, "expiresAt">, now: number): boolean {
  return s.expiresAt <= now;
}
/** SQL text of `isPurgeable` over table `signals`, with the time as the first bound parameter (?1). */
export const PURGEABLE_SQL_TEXT = "expires_at <= ?1";

/**
 * A selector-key version is kept (and accepts lookups) until the last signal it could have made
 * has expired: its validity end plus the longest signal life.
 */
export function keyVersionKept(
  v: Pick<KeyVersionRow, "validUntil">,
  policy: Pick<SignalPolicy, "maxExpiryDays">,
  now: number,
): boolean {
  return v.validUntil + policy.maxExpiryDays * DAY_S > now;
}
export function keyVersionKeptSql(policy: Pick<SignalPolicy, "maxExpiryDays">, now: number): SQL {
  return sql`("signal_key_versions"."valid_until" + ${policy.maxExpiryDays * DAY_S} > ${now})`;
}

/**
 * The enumeration guard: a platform may look up at most `maxDistinctSelectorsPerDay` distinct
 * selectors per UTC day, and as many distinct URLs (a budget of their own); what it already
 * looked up that day can be asked again for free.
 */
export function enumerationAllows(
  usedToday: number,
  freshSelectors: number,
  policy: Pick<SignalPolicy, "maxDistinctSelectorsPerDay">,
): boolean {
  return usedToday + freshSelectors <= policy.maxDistinctSelectorsPerDay;
}
/**
 * SQL form of `enumerationAllows`, over counts computed inside the statement that records the
 * lookup, so that the check and the count are one atomic step (store/signals.ts).
 */
export function enumerationAllowsSql(
  usedToday: SQL,
  freshSelectors: SQL,
  policy: Pick<SignalPolicy, "maxDistinctSelectorsPerDay">,
): SQL {
  return sql`((${usedToday}) + (${freshSelectors}) <= ${policy.maxDistinctSelectorsPerDay})`;
}
