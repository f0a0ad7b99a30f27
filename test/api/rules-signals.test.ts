// The migration-signal policy as plain spec cases (workers/api/rules/signals.ts): each rule is
// judged by its predicate and, where SQL judges it, by its SQL form in real D1, and both must give
// the expected answer.

import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { db as dbOf } from "../../workers/api/lib/db.ts";
import {
  DAY_S,
  enumerationAllows,
  enumerationAllowsSql,
  isPurgeable,
  isSignalLive,
  keyVersionKept,
  keyVersionKeptSql,
  PURGEABLE_SQL_TEXT,
  signalExpiry,
  signalLiveSql,
} from "../../workers/api/rules/signals.ts";

const NOW = 1_800_000_000;
const POLICY = {
  defaultExpiryDays: 90,
  maxExpiryDays: 180,
  lookupsPerMinute: 60,
  maxDistinctSelectorsPerDay: 5000,
};
const db = dbOf(env.DB);

// biome-ignore format: a table of cases reads across.
const SIGNALS = [
  { name: "active, expires later",     status: "active",    expiresAt: NOW + 1,  live: true,  purgeable: false },
  { name: "active, expires now",       status: "active",    expiresAt: NOW,      live: false, purgeable: true },
  { name: "active, expired",           status: "active",    expiresAt: NOW - 1,  live: false, purgeable: true },
  { name: "retracted, not expired",    status: "retracted", expiresAt: NOW + 99, live: false, purgeable: false },
  { name: "reversed, expired",         status: "reversed",  expiresAt: NOW - 99, live: false, purgeable: true },
] as const;

describe("signals: live and purgeable, predicate and SQL alike", () => {
  it.each(SIGNALS.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    expect(isSignalLive(c, NOW)).toBe(c.live);
    expect(isPurgeable(c, NOW)).toBe(c.purgeable);
    const row = await db.get<{ live: number }>(
      sql`SELECT ${signalLiveSql(NOW)} AS live FROM (SELECT ${c.status} AS status, ${c.expiresAt} AS expires_at) "signals"`,
    );
    expect(!!row?.live).toBe(c.live);
    const purge = await env.DB.prepare(`SELECT (${PURGEABLE_SQL_TEXT}) AS p FROM (SELECT ?2 AS expires_at)`)
      .bind(NOW, c.expiresAt)
      .first<{ p: number }>();
    expect(!!purge?.p).toBe(c.purgeable);
  });
});

describe("selector-key versions are kept until the last signal they could make has expired", () => {
  it.each([
    ["issuing", NOW + DAY_S, true],
    ["ended yesterday", NOW - DAY_S, true],
    ["ended 180 days ago less a second", NOW - 180 * DAY_S + 1, true],
    ["ended exactly 180 days ago", NOW - 180 * DAY_S, false],
  ] as const)("%s", async (_n, validUntil, kept) => {
    expect(keyVersionKept({ validUntil }, POLICY, NOW)).toBe(kept);
    const row = await db.get<{ k: number }>(
      sql`SELECT ${keyVersionKeptSql(POLICY, NOW)} AS k FROM (SELECT ${validUntil} AS valid_until) "signal_key_versions"`,
    );
    expect(!!row?.k).toBe(kept);
  });
});

describe("a signal's life", () => {
  it("defaults to the node's default, may ask for up to its maximum, never more", () => {
    expect(signalExpiry(NOW, undefined, POLICY)).toEqual({ ok: true, expiresAt: NOW + 90 * DAY_S });
    expect(signalExpiry(NOW, 180, POLICY)).toEqual({ ok: true, expiresAt: NOW + 180 * DAY_S });
    expect(signalExpiry(NOW, 181, POLICY)).toMatchObject({ ok: false });
    expect(signalExpiry(NOW, 30, { defaultExpiryDays: 90, maxExpiryDays: 20 })).toMatchObject({ ok: false });
  });
});

describe("the enumeration guard", () => {
  it.each([
    [0, 5000, true],
    [4999, 1, true],
    [5000, 0, true],
    [5000, 1, false],
    [0, 5001, false],
  ] as const)("%i looked up today, %i fresh: allowed %s", async (used, fresh, allowed) => {
    expect(enumerationAllows(used, fresh, POLICY)).toBe(allowed);
    const row = await db.get<{ a: number }>(
      sql`SELECT ${enumerationAllowsSql(sql`SELECT ${used}`, sql`SELECT ${fresh}`, POLICY)} AS a`,
    );
    expect(!!row?.a).toBe(allowed);
  });
});
