// The node's activity per week (ISO 8601 weeks, Monday to Sunday, UTC): entries submitted,
// inclusions, withdrawals and reversals, entries matched and platform feedback, for a period.
// Aggregates only, as GET /v1/stats; the console's statistics page draws them. No Hono types here.
import { WEEKLY_SERIES, type WeeklySeriesName, type WeeklyStats } from "@eusn/protocol";
import { type SQL, sql } from "drizzle-orm";
import type { Db } from "../lib/db.ts";

const DAY = 86_400_000;

/** Monday of the ISO week that holds `day` (YYYY-MM-DD), as YYYY-MM-DD. */
export function mondayOf(day: string): string {
  const t = Date.parse(`${day}T00:00:00Z`);
  const dow = (new Date(t).getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
  return new Date(t - dow * DAY).toISOString().slice(0, 10);
}

/** The week (its Monday) of an ISO timestamp column, in SQL: the next Sunday on or after it, less 6 days. */
const weekOf = (col: SQL) => sql`date(${col}, 'weekday 0', '-6 days')`;

/** The weekly series from the week of `from` to the week of `to` (both UTC days), every week listed. */
export async function weeklyStats(db: Db, from: string, to: string): Promise<WeeklyStats> {
  const first = mondayOf(from);
  const last = mondayOf(to);
  const start = `${first}T00:00:00.000Z`;
  const end = new Date(Date.parse(`${last}T00:00:00Z`) + 7 * DAY).toISOString();
  const per = (table: SQL, col: SQL, value: SQL, where: SQL = sql`1 = 1`) =>
    db.all<{ w: string; n: number }>(
      sql`SELECT ${weekOf(col)} AS w, ${value} AS n FROM ${table} WHERE ${col} >= ${start} AND ${col} < ${end} AND ${where} GROUP BY w`,
    );
  const [submissions, inclusions, reversals, matches, feedback] = await Promise.all([
    per(sql`submissions`, sql`created_at`, sql`count(*)`),
    per(sql`submission_changes`, sql`at`, sql`count(*)`, sql`change = 'included'`),
    per(sql`submission_changes`, sql`at`, sql`count(*)`, sql`change IN ('withdrawn', 'reversed')`),
    per(sql`match_requests`, sql`at`, sql`coalesce(sum(matched_entries), 0)`),
    per(sql`feedback`, sql`created_at`, sql`count(*)`),
  ]);
  const by: Record<WeeklySeriesName, Map<string, number>> = {
    submissions: new Map(submissions.map((r) => [r.w, Number(r.n)])),
    inclusions: new Map(inclusions.map((r) => [r.w, Number(r.n)])),
    reversals: new Map(reversals.map((r) => [r.w, Number(r.n)])),
    matches: new Map(matches.map((r) => [r.w, Number(r.n)])),
    feedback: new Map(feedback.map((r) => [r.w, Number(r.n)])),
  };
  const weeks: WeeklyStats["weeks"] = [];
  for (let t = Date.parse(`${first}T00:00:00Z`); t <= Date.parse(`${last}T00:00:00Z`); t += 7 * DAY) {
    const week = new Date(t).toISOString().slice(0, 10);
    const row = { week } as WeeklyStats["weeks"][number];
    for (const s of WEEKLY_SERIES) row[s] = by[s].get(week) ?? 0;
    weeks.push(row);
  }
  return {
    from: first,
    to: new Date(Date.parse(`${last}T00:00:00Z`) + 6 * DAY).toISOString().slice(0, 10),
    weeks,
  };
}
