// Measured error rates of the shared hashes, public (GET /v1/stats, the console's statistics page):
// per entry and for the baseline as a whole, the platforms' live reports — true and false positives
// — and the false-positive rate with its Wilson score interval (95 %), over all time and over the
// last 90 days. A rate from a handful of reports says little, so below the policy's minimum
// (FP_FLAG_MIN_REPORTS, the same number that decides flagging) a rate is not given: the figure
// says "too few reports" instead of a misleading 0 %. No Hono types here.
import { type EntryStateName, type ErrorRate, type ErrorRates, entryStateLabel } from "@eusn/protocol";
import { sql } from "drizzle-orm";
import type { Db } from "../lib/db.ts";
import { entryStateSql, inBaselineSql, type Policy, shareableSql } from "../rules/baseline.ts";

/** z for a two-sided 95 % interval. */
const Z95 = 1.959964;
const WINDOW_DAYS = 90;
/** Entries listed by name at most (the count covers all). */
const MAX_LISTED = 200;

/**
 * The Wilson score interval of a proportion `k`/`n` (Wilson 1927; Brown, Cai & DasGupta 2001 on
 * why it beats the normal approximation for small n and rates near 0): never outside [0, 1], and
 * not empty at k = 0, where a plain k/n would claim certainty. null for n = 0.
 */
export function wilson(k: number, n: number, z = Z95): { low: number; high: number } | null {
  if (n <= 0) return null;
  const p = k / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

/** The error rate of `tp` true and `fp` false positives (and `na` not actioned), given `min`. */
export function errorRate(tp: number, fp: number, na: number, min: number): ErrorRate {
  const n = tp + fp;
  const need = Math.max(1, min);
  const enough = n >= need;
  const interval = enough ? wilson(fp, n) : null;
  const rate = enough ? fp / n : null;
  return {
    reports: tp + fp + na,
    truePositive: tp,
    falsePositive: fp,
    notActioned: na,
    enough,
    falsePositiveRate: rate,
    interval,
    summary:
      enough && interval && rate !== null
        ? `${pct(rate)} (95 % interval ${pct(interval.low)} to ${pct(interval.high)}; ${fp} false of ${n} reports)`
        : `too few reports (${n} of ${need} needed)`,
  };
}

/** The baseline decision an ended entry had (as rules/baseline.ts entryState words it), else null. */
function wasOf(es: EntryStateName, bs: string): "included" | "disputed" | "excluded" | "retired" | null {
  const ended = es === "withdrawn" || es === "reversed" || es === "voided" || es === "expired";
  return ended && bs !== "none" ? (bs as "included" | "disputed" | "excluded" | "retired") : null;
}

type Counts = { tp: number; fp: number; na: number; tp90: number; fp90: number; na90: number };
const COUNTS = (cutoff: string) => sql`
  coalesce(sum(f.outcome = 'true_positive'), 0) AS tp,
  coalesce(sum(f.outcome = 'false_positive'), 0) AS fp,
  coalesce(sum(f.outcome = 'not_actioned'), 0) AS na,
  coalesce(sum(f.outcome = 'true_positive' AND f.created_at >= ${cutoff}), 0) AS tp90,
  coalesce(sum(f.outcome = 'false_positive' AND f.created_at >= ${cutoff}), 0) AS fp90,
  coalesce(sum(f.outcome = 'not_actioned' AND f.created_at >= ${cutoff}), 0) AS na90`;

/** Entries counted: every shareable one (TLP:RED is never matched, so never reported on). */
const PUBLIC_TLP = shareableSql("s");

/**
 * The error rates now (`now` ISO), with the policy's `fpMinReports` true/false-positive reports
 * needed for a rate. Each entry is shown in its one state (rules/baseline.ts), never by a stored
 * baseline decision that a reversal, withdrawal or expiry has ended.
 */
export async function errorRates(
  db: Db,
  now: string,
  p: Pick<Policy, "quorum" | "fpMinReports">,
): Promise<ErrorRates> {
  const minReports = p.fpMinReports;
  const cutoff = new Date(Date.parse(now) - WINDOW_DAYS * 86_400_000).toISOString();
  const windows = (c: Counts) => ({
    allTime: errorRate(c.tp, c.fp, c.na, minReports),
    last90Days: errorRate(c.tp90, c.fp90, c.na90, minReports),
  });
  const [baseline, entries, count] = await Promise.all([
    db.get<Counts>(sql`SELECT ${COUNTS(cutoff)} FROM feedback f JOIN submissions s ON s.id = f.submission_id
      WHERE f.live = 1 AND ${inBaselineSql("s", now)}`),
    db.all<Counts & { id: string; es: EntryStateName; bs: string; st: string }>(sql`SELECT s.id,
        ${entryStateSql("s", p.quorum, now)} AS es, s.baseline_state AS bs, s.status AS st, ${COUNTS(cutoff)}
      FROM feedback f JOIN submissions s ON s.id = f.submission_id
      WHERE f.live = 1 AND ${PUBLIC_TLP}
      GROUP BY s.id ORDER BY count(*) DESC, s.id LIMIT ${MAX_LISTED}`),
    db.get<{
      n: number;
    }>(sql`SELECT count(DISTINCT s.id) AS n FROM feedback f JOIN submissions s ON s.id = f.submission_id
      WHERE f.live = 1 AND ${PUBLIC_TLP}`),
  ]);
  return {
    minReports,
    baseline: windows(baseline ?? { tp: 0, fp: 0, na: 0, tp90: 0, fp90: 0, na90: 0 }),
    entriesWithReports: count?.n ?? 0,
    // Unnamed: the public figures name no entry (store/stats.ts).
    entries: entries.map((e) => ({
      state: e.es,
      label: entryStateLabel(e.es, wasOf(e.es, e.bs)),
      baselineState: e.bs,
      status: e.st,
      ...windows(e),
    })),
  };
}
