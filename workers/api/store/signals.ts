// Migration-signal queries: key versions, live-signal lookups and pulls, the fetch log and
// reversal listing, the abuse-limit counters and the purge. No Hono types here. Every query that
// returns a signal filters on `expires_at > now`, so an expired signal is never handed out, even
// before the purge has deleted it.

import {
  type EncPublicJwk,
  SELECTOR_KEY_MAX_VERSION,
  type SelectorKeysView,
  SIGNAL_ADVISORY,
  type SignalEncKeyView,
  type SignalKind,
  type SignalReversalView,
  type SignalView,
} from "@eusn/protocol";
import { and, asc, desc, eq, gt, inArray, or, sql } from "drizzle-orm";
import {
  participants,
  signalEncKeys,
  signalFetches,
  signalKeyVersions,
  signalKeyWraps,
  signalOutLinks,
  signalReversals,
  signalSelectors,
  signals,
} from "../../../schema/index.ts";
import { config, type SignalPolicy } from "../config.ts";
import type { Env } from "../env.ts";
import { type Db, prepared } from "../lib/db.ts";
import { nowIso, sha256Hex } from "../lib/encoding.ts";
import {
  enumerationAllows,
  enumerationAllowsSql,
  keyVersionKeptSql,
  PURGEABLE_SQL_TEXT,
  signalLiveSql,
} from "../rules/signals.ts";
import type { DomainStatements } from "./records.ts";

export type SignalRow = typeof signals.$inferSelect;
export type EncKeyRow = typeof signalEncKeys.$inferSelect;
export type KeyVersionRow = typeof signalKeyVersions.$inferSelect;

const DAY_S = 86_400;
/** D1 binds at most 100 parameters per statement. */
const IN_CHUNK = 90;

export const nowS = (ms: number = Date.now()) => Math.floor(ms / 1000);

function chunks<T>(xs: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

// ---- policy ----------------------------------------------------------------------------------

export type { SignalPolicy };

/** The signal policies of this node's configuration (workers/api/config.ts). */
export function signalPolicy(env: Env): SignalPolicy {
  return config(env).signals;
}

// ---- encryption keys and selector-key versions -----------------------------------------------

export async function getEncKey(db: Db, participantId: string): Promise<EncKeyRow | undefined> {
  return db.select().from(signalEncKeys).where(eq(signalEncKeys.participantId, participantId)).get();
}

/** The current key-wrapping key of every active platform that registered one, as shown. */
export async function encKeyViews(db: Db): Promise<SignalEncKeyView[]> {
  return (await listEncKeys(db)).map((r) => ({
    participantId: r.participantId,
    kid: r.kid,
    jwk: JSON.parse(r.jwk) as EncPublicJwk,
    setAt: nowIso(r.setAt * 1000),
  }));
}

export async function listEncKeys(db: Db): Promise<EncKeyRow[]> {
  return db
    .select({
      participantId: signalEncKeys.participantId,
      kid: signalEncKeys.kid,
      jwk: signalEncKeys.jwk,
      recordId: signalEncKeys.recordId,
      setAt: signalEncKeys.setAt,
    })
    .from(signalEncKeys)
    .innerJoin(participants, eq(participants.id, signalEncKeys.participantId))
    .where(and(eq(participants.status, "active"), eq(participants.role, "platform")))
    .orderBy(asc(signalEncKeys.participantId));
}

export async function getKeyVersion(db: Db, version: number): Promise<KeyVersionRow | undefined> {
  return db.select().from(signalKeyVersions).where(eq(signalKeyVersions.version, version)).get();
}

export async function latestKeyVersion(db: Db): Promise<number> {
  const row = await db
    .select({ v: signalKeyVersions.version })
    .from(signalKeyVersions)
    .orderBy(desc(signalKeyVersions.version))
    .limit(1)
    .get();
  return row?.v ?? 0;
}

/** The versions a lookup may name: every version ever published (older ones simply match nothing). */
export async function knownKeyVersions(db: Db, versions: readonly number[]): Promise<Set<number>> {
  const wanted = [...new Set(versions)].filter((v) => v >= 1 && v <= SELECTOR_KEY_MAX_VERSION);
  const out = new Set<number>();
  for (const part of chunks(wanted, IN_CHUNK)) {
    const rows = await db
      .select({ v: signalKeyVersions.version })
      .from(signalKeyVersions)
      .where(inArray(signalKeyVersions.version, part));
    for (const r of rows) out.add(r.v);
  }
  return out;
}

/**
 * What a participant needs to pseudonymise: every version that is current or may still have
 * live signals (validUntil + the longest expiry is in the future), with the caller's own wrapped
 * copy. `acceptsLookups` tells the client under which versions to pseudonymise a lookup.
 */
export async function keyVersionsFor(
  db: Db,
  participantId: string,
  policy: SignalPolicy,
  now: number = nowS(),
): Promise<SelectorKeysView> {
  const rows = await db
    .select()
    .from(signalKeyVersions)
    .where(keyVersionKeptSql(policy, now))
    .orderBy(asc(signalKeyVersions.version));
  const live = await db.selectDistinct({ v: signals.keyVersion }).from(signals).where(signalLiveSql(now));
  const liveVersions = new Set(live.map((r) => r.v));
  const wraps = await db.select().from(signalKeyWraps).where(eq(signalKeyWraps.participantId, participantId));
  const wrapOf = new Map(wraps.map((w) => [w.version, w]));
  let current: number | null = null;
  const versions = rows.map((r) => {
    const issuing = r.validFrom <= now && now < r.validUntil;
    if (issuing && (current === null || r.version > current)) current = r.version;
    const w = wrapOf.get(r.version);
    return {
      version: r.version,
      validFrom: nowIso(r.validFrom * 1000),
      validUntil: nowIso(r.validUntil * 1000),
      acceptsNewSignals: issuing,
      acceptsLookups: r.validFrom <= now && (issuing || liveVersions.has(r.version)),
      recordId: r.recordId,
      wrapped: w ? { kid: w.encKid, jwe: w.jwe, recordId: w.recordId } : null,
    };
  });
  return { current, versions };
}

// ---- signals ---------------------------------------------------------------------------------

/** A signal that is active and not expired (what every read may hand out: rules/signals.ts). */
const live = (now: number) => signalLiveSql(now);

export async function getSignal(db: Db, id: string): Promise<SignalRow | undefined> {
  return db.select().from(signals).where(eq(signals.id, id)).get();
}

/** The inserts a new signal implies (for commitWrite's batch), chunked under the parameter limit. */
export function insertSignalStatements(
  db: Db,
  row: Omit<SignalRow, "seq" | "status" | "statusChangedAt">,
  selectors: readonly string[],
  outLinks: readonly string[],
): DomainStatements {
  const stmts: DomainStatements = [db.insert(signals).values(row)];
  for (const part of chunks(selectors, 40)) {
    stmts.push(db.insert(signalSelectors).values(part.map((pseudonym) => ({ pseudonym, signalId: row.id }))));
  }
  for (const part of chunks(outLinks, 40)) {
    stmts.push(db.insert(signalOutLinks).values(part.map((url) => ({ url, signalId: row.id }))));
  }
  return stmts;
}

/** Full views of the given live signals, in the order given (missing or expired ones dropped). */
export async function signalViews(
  db: Db,
  ids: readonly string[],
  now: number = nowS(),
): Promise<(SignalView & { seq: number })[]> {
  const rows: (SignalRow & { displayName: string | null })[] = [];
  const links = new Map<string, string[]>();
  for (const part of chunks([...new Set(ids)], IN_CHUNK)) {
    const got = await db
      .select({ s: signals, displayName: participants.displayName })
      .from(signals)
      .leftJoin(participants, eq(participants.id, signals.originId))
      .where(and(inArray(signals.id, part), live(now)));
    rows.push(...got.map((g) => ({ ...g.s, displayName: g.displayName })));
    const ls = await db
      .select()
      .from(signalOutLinks)
      .where(inArray(signalOutLinks.signalId, part))
      .orderBy(asc(signalOutLinks.url));
    for (const l of ls) links.set(l.signalId, [...(links.get(l.signalId) ?? []), l.url]);
  }
  const byId = new Map(rows.map((r) => [r.id, r]));
  const out: (SignalView & { seq: number })[] = [];
  for (const id of new Set(ids)) {
    const r = byId.get(id);
    if (!r) continue;
    out.push({
      seq: r.seq,
      id: r.id,
      kind: r.kind as SignalKind,
      origin: { participantId: r.originId, displayName: r.displayName ?? r.originId },
      reason: { tcoLimb: r.tcoLimb as "a" | "b" | "c" | "d" | "e" },
      keyVersion: r.keyVersion,
      targetPlatformId: r.targetPlatformId,
      targetHost: r.targetHost,
      outLinks: links.get(r.id) ?? [],
      relatedSubmissions: JSON.parse(r.relatedSubmissions) as string[],
      createdAt: nowIso(r.createdAt * 1000),
      ageDays: Math.max(0, Math.floor((now - r.createdAt) / DAY_S)),
      expiresAt: nowIso(r.expiresAt * 1000),
      recordId: r.recordId,
      advisory: SIGNAL_ADVISORY,
    });
  }
  return out;
}

export type Hit = { matched: string; matchedAs: "selector" | "outLink"; signalId: string };

/** Live signals naming any of these pseudonyms or (normalised) URLs. */
export async function findHits(
  db: Db,
  selectors: readonly string[],
  urls: readonly string[],
  now: number = nowS(),
): Promise<Hit[]> {
  const hits: Hit[] = [];
  for (const part of chunks([...new Set(selectors)], IN_CHUNK)) {
    const rows = await db
      .select({ matched: signalSelectors.pseudonym, signalId: signalSelectors.signalId })
      .from(signalSelectors)
      .innerJoin(signals, eq(signals.id, signalSelectors.signalId))
      .where(and(inArray(signalSelectors.pseudonym, part), live(now)));
    for (const r of rows) hits.push({ ...r, matchedAs: "selector" });
  }
  for (const part of chunks([...new Set(urls)], IN_CHUNK)) {
    const rows = await db
      .select({ matched: signalOutLinks.url, signalId: signalOutLinks.signalId })
      .from(signalOutLinks)
      .innerJoin(signals, eq(signals.id, signalOutLinks.signalId))
      .where(and(inArray(signalOutLinks.url, part), live(now)));
    for (const r of rows) hits.push({ ...r, matchedAs: "outLink" });
  }
  return hits;
}

/** Records that `platformId` was handed these signals (first time only). */
/**
 * Records, in one batch, which live signals a platform was handed (lookup hit or pull), after
 * `first` (a lookup's enumeration-guard counts). Nothing to record, nothing written.
 */
export async function recordFetches(db: Db, platformId: string, signalIds: readonly string[]): Promise<void> {
  const writes = fetchLogStatements(db, platformId, signalIds);
  if (writes.length > 0) await db.batch(writes as [DomainStatements[number], ...DomainStatements]);
}

export function fetchLogStatements(
  db: Db,
  platformId: string,
  signalIds: readonly string[],
  now: number = nowS(),
): DomainStatements {
  return chunks([...new Set(signalIds)], 30).map((part) =>
    db
      .insert(signalFetches)
      .values(part.map((signalId) => ({ platformId, signalId, firstFetchedAt: now })))
      .onConflictDoNothing(),
  );
}

/** Live signals that name `platformId` as their target, after cursor `after` (signals.seq). */
export async function targetedSignalIds(
  db: Db,
  platformId: string,
  after: number,
  limit: number,
  now: number = nowS(),
): Promise<string[]> {
  const rows = await db
    .select({ id: signals.id })
    .from(signals)
    .where(and(eq(signals.targetPlatformId, platformId), gt(signals.seq, after), live(now)))
    .orderBy(asc(signals.seq))
    .limit(limit);
  return rows.map((r) => r.id);
}

export async function hasFetched(db: Db, platformId: string, signalId: string): Promise<boolean> {
  const row = await db
    .select({ one: sql<number>`1` })
    .from(signalFetches)
    .where(and(eq(signalFetches.platformId, platformId), eq(signalFetches.signalId, signalId)))
    .get();
  return row !== undefined;
}

/**
 * Retractions and reversals after cursor `after` that concern `platformId`: of signals it was
 * handed or made. A coordinator (`platformId` null) sees them all. Reversals of expired signals
 * are left out like the signals themselves (a consumer drops a signal at its expiry anyway).
 */
export async function listReversals(
  db: Db,
  platformId: string | null,
  after: number,
  limit: number,
  now: number = nowS(),
): Promise<SignalReversalView[]> {
  const concerns =
    platformId === null
      ? undefined
      : or(
          eq(signals.originId, platformId),
          sql`EXISTS (SELECT 1 FROM ${signalFetches} WHERE ${signalFetches.platformId} = ${platformId} AND ${signalFetches.signalId} = ${signalReversals.signalId})`,
        );
  const rows = await db
    .select({ r: signalReversals })
    .from(signalReversals)
    .innerJoin(signals, eq(signals.id, signalReversals.signalId))
    .where(and(gt(signalReversals.seq, after), gt(signals.expiresAt, now), concerns))
    .orderBy(asc(signalReversals.seq))
    .limit(limit);
  return rows.map(({ r }) => ({
    seq: r.seq,
    id: r.id,
    signalId: r.signalId,
    action: r.action,
    by: r.actorId,
    at: nowIso(r.at * 1000),
    ground: (r.ground as SignalReversalView["ground"]) ?? null,
    reason: r.reason,
    recordId: r.recordId,
  }));
}

/**
 * A retraction or reversal: the status change, the reversal row, and the immediate removal of
 * the signal's selector and out-link index rows (a withdrawn signal must not match any more,
 * and the network has no reason to keep its pseudonyms). The signal row and its signed record
 * stay until the original expiry so the withdrawal can be listed and checked, then are purged.
 */
export function withdrawStatements(
  db: Db,
  signalId: string,
  w: {
    id: string;
    action: "retracted" | "reversed";
    actorId: string;
    recordId: string;
    ground: string | null;
    reason: string | null;
  },
  now: number = nowS(),
): DomainStatements {
  return [
    db
      .update(signals)
      .set({ status: w.action, statusChangedAt: now })
      .where(and(eq(signals.id, signalId), eq(signals.status, "active"))),
    db.insert(signalReversals).values({ ...w, signalId, at: now }),
    db.delete(signalSelectors).where(eq(signalSelectors.signalId, signalId)),
    db.delete(signalOutLinks).where(eq(signalOutLinks.signalId, signalId)),
  ];
}

// ---- abuse limits ----------------------------------------------------------------------------

/**
 * Fixed one-minute window per platform, in D1. The conditional upsert counts this request only
 * if the window still has room, so a refused request changes nothing. (A Durable Object or the
 * Workers rate-limiting binding can replace this without changing the answer.)
 */
export async function takeLookupToken(
  d1: D1Database,
  platformId: string,
  perMinute: number,
  nowMs: number = Date.now(),
): Promise<{ ok: true } | { ok: false; retryAfterS: number }> {
  const windowStart = Math.floor(nowMs / 60_000) * 60;
  const row = await d1
    .prepare(
      `INSERT INTO signal_rate_windows (platform_id, window_start, count) VALUES (?1, ?2, 1)
       ON CONFLICT (platform_id, window_start) DO UPDATE SET count = count + 1 WHERE count < ?3
       RETURNING count`,
    )
    .bind(platformId, windowStart, perMinute)
    .first<{ count: number }>();
  if (row) return { ok: true };
  return { ok: false, retryAfterS: Math.max(1, windowStart + 60 - Math.floor(nowMs / 1000)) };
}

export const utcDay = (nowMs: number = Date.now()) => new Date(nowMs).toISOString().slice(0, 10);

/** Seconds until the next UTC midnight (when the enumeration guard resets). */
export function secondsToNextUtcDay(nowMs: number = Date.now()): number {
  const s = Math.floor(nowMs / 1000);
  return DAY_S - (s % DAY_S);
}

/**
 * The enumeration guard's digest of a looked-up pseudonym: SHA-256 over platform, day and
 * pseudonym, truncated to 128 bits. The guard needs only "have I seen this one today"; it
 * does not need, and does not keep, the pseudonym itself.
 */
export async function guardDigest(platformId: string, day: string, pseudonym: string): Promise<string> {
  return (await sha256Hex(`${platformId}\u0000${day}\u0000${pseudonym}`)).slice(0, 32);
}

export type LookupBudget =
  | { ok: true; used: { selectors: number; urls: number } }
  | { ok: false; over: "selectors" | "urls"; used: number; asked: number };

/**
 * The enumeration guard, as one atomic step: counts the distinct selectors and the distinct URLs
 * `platformId` looks up today, each against its own daily budget (rules/signals.ts
 * `enumerationAllows`), and records the fresh ones only if both budgets hold. The check is the
 * WHERE clause of the one INSERT that records them, so it judges the rows as they are when the
 * insert runs: lookups racing each other cannot all pass on a count none of them has added to
 * yet, and a refused lookup records nothing (neither its selectors nor its URLs).
 */
export async function takeLookupBudget(
  db: Db,
  platformId: string,
  asked: { selectors: readonly string[]; urls: readonly string[] },
  policy: Pick<SignalPolicy, "maxDistinctSelectorsPerDay">,
  nowMs: number = Date.now(),
): Promise<LookupBudget> {
  const day = utcDay(nowMs);
  const digestsOf = async (values: readonly string[], prefix: string) =>
    JSON.stringify([
      ...new Set(await Promise.all(values.map((v) => guardDigest(platformId, day, `${prefix}${v}`)))),
    ]);
  // A URL's digest covers "url" and a NUL first: no pseudonym contains a NUL, so none collides.
  const sel = await digestsOf(asked.selectors, "");
  const url = await digestsOf(asked.urls, "url\u0000");
  const usedOf = (kind: string) =>
    sql`SELECT count(*) FROM signal_lookup_guard WHERE platform_id = ${platformId} AND day = ${day} AND kind = ${kind}`;
  const freshOf = (list: string) =>
    sql`SELECT count(*) FROM json_each(${list}) j WHERE NOT EXISTS (SELECT 1 FROM signal_lookup_guard g
      WHERE g.platform_id = ${platformId} AND g.day = ${day} AND g.digest = j.value)`;
  const allowed = sql`${enumerationAllowsSql(usedOf("selector"), freshOf(sel), policy)}
    AND ${enumerationAllowsSql(usedOf("url"), freshOf(url), policy)}`;
  // One statement: SQLite evaluates the whole SELECT (budget included) before the first row is
  // inserted, as it reads the table it writes to.
  const record = prepared(
    db.$client,
    sql`INSERT INTO signal_lookup_guard (platform_id, day, digest, kind)
      SELECT ${platformId}, ${day}, a.digest, a.kind FROM (
        SELECT j.value AS digest, 'selector' AS kind FROM json_each(${sel}) j
        UNION ALL SELECT j.value, 'url' FROM json_each(${url}) j) a
      WHERE ${allowed}
      ON CONFLICT DO NOTHING`,
  );
  // Read in the same batch (one transaction), so the counts are those the insert left.
  const counts = prepared(
    db.$client,
    sql`SELECT (${usedOf("selector")}) AS used_sel, (${freshOf(sel)}) AS fresh_sel,
      (${usedOf("url")}) AS used_url, (${freshOf(url)}) AS fresh_url`,
  );
  const [, after] = await db.$client.batch<{
    used_sel: number;
    fresh_sel: number;
    used_url: number;
    fresh_url: number;
  }>([record, counts]);
  const c = after!.results[0]!;
  // Anything still fresh after the insert was refused; the budget it overran is named.
  if (c.fresh_sel > 0 || c.fresh_url > 0) {
    const overSelectors = !enumerationAllows(c.used_sel, c.fresh_sel, policy);
    return overSelectors
      ? { ok: false, over: "selectors", used: c.used_sel, asked: c.fresh_sel }
      : { ok: false, over: "urls", used: c.used_url, asked: c.fresh_url };
  }
  return { ok: true, used: { selectors: c.used_sel, urls: c.used_url } };
}

// ---- purge -----------------------------------------------------------------------------------

export type PurgeCounts = {
  signals: number;
  selectors: number;
  outLinks: number;
  fetches: number;
  reversals: number;
  records: number;
  guardRows: number;
  rateWindows: number;
};

/**
 * Deletes everything tied to expired signals (index rows, fetch log, reversal rows, the signals,
 * and the signed `signal.create` records that carry the pseudonyms), old enumeration-guard rows
 * (before yesterday) and old rate windows (older than an hour), and appends one audit entry
 * with the counts only (actor `system`). One D1 batch: the counts are computed inside it, by
 * the same predicates as the deletes that follow, so they are exact and all of it lands or none.
 * Nothing to purge → no entry, and `null`.
 */
export async function purgeExpiredSignals(
  d1: D1Database,
  nowMs: number = Date.now(),
): Promise<PurgeCounts | null> {
  const now = nowS(nowMs);
  const yesterday = utcDay(nowMs - DAY_S * 1000);
  const oldWindow = now - 3600;
  const expired = `SELECT id FROM signals WHERE ${PURGEABLE_SQL_TEXT}`;
  const counts = `json_object(
      'signals', (SELECT count(*) FROM signals WHERE ${PURGEABLE_SQL_TEXT}),
      'selectors', (SELECT count(*) FROM signal_selectors WHERE signal_id IN (${expired})),
      'outLinks', (SELECT count(*) FROM signal_out_links WHERE signal_id IN (${expired})),
      'fetches', (SELECT count(*) FROM signal_fetches WHERE signal_id IN (${expired})),
      'reversals', (SELECT count(*) FROM signal_reversals WHERE signal_id IN (${expired})),
      'records', (SELECT count(*) FROM records WHERE id IN (SELECT record_id FROM signals WHERE ${PURGEABLE_SQL_TEXT})),
      'guardRows', (SELECT count(*) FROM signal_lookup_guard WHERE day < ?3),
      'rateWindows', (SELECT count(*) FROM signal_rate_windows WHERE window_start < ?4))`;
  const results = await d1.batch([
    d1
      .prepare(
        `INSERT INTO audit_log (kind, actor, at, detail)
         SELECT 'signal.purge', 'system', ?2, ${counts}
         WHERE EXISTS (SELECT 1 FROM signals WHERE ${PURGEABLE_SQL_TEXT})
            OR EXISTS (SELECT 1 FROM signal_lookup_guard WHERE day < ?3)
         RETURNING detail`,
      )
      .bind(now, nowIso(nowMs), yesterday, oldWindow),
    d1.prepare(`DELETE FROM signal_selectors WHERE signal_id IN (${expired})`).bind(now),
    d1.prepare(`DELETE FROM signal_out_links WHERE signal_id IN (${expired})`).bind(now),
    d1.prepare(`DELETE FROM signal_fetches WHERE signal_id IN (${expired})`).bind(now),
    d1.prepare(`DELETE FROM signal_reversals WHERE signal_id IN (${expired})`).bind(now),
    d1
      .prepare(`DELETE FROM records WHERE id IN (SELECT record_id FROM signals WHERE ${PURGEABLE_SQL_TEXT})`)
      .bind(now),
    d1.prepare(`DELETE FROM signals WHERE ${PURGEABLE_SQL_TEXT}`).bind(now),
    d1.prepare("DELETE FROM signal_lookup_guard WHERE day < ?1").bind(yesterday),
    d1.prepare("DELETE FROM signal_rate_windows WHERE window_start < ?1").bind(oldWindow),
  ]);
  const entry = results[0]?.results?.[0] as { detail?: string } | undefined;
  return entry?.detail ? (JSON.parse(entry.detail) as PurgeCounts) : null;
}
