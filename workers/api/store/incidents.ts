// Crisis incidents' reads and the statements their writes share: an incident and its status now,
// the list with counts, the lapse of provisional entries (recorded in the change feed by an
// incident's close and by the scheduled job), the fast lane's cursor over one incident's hash
// additions and removals, and the coordinator's report and the public summary. No Hono types here.
import type { INCIDENT_STATUSES, IncidentHashChange, IncidentSummary, IncidentView } from "@eusn/protocol";
import { eq, type SQL, sql } from "drizzle-orm";
import { batchGuard, incidents, submissionChanges, submissions } from "../../../schema/index.ts";
import { type Db, type DomainStatements, insertSelect } from "../lib/db.ts";
import {
  incidentEndSqlText,
  isMatchable,
  isProvisional,
  lapseDueSql,
  linkedRedSqlText,
  provisionalLapsesAt,
  provisionalSql,
  type SubmissionRow,
} from "../rules/baseline.ts";
import { ofFingerprintsSql, ofFingerprintText } from "./fingerprint-keys.ts";

export type IncidentRow = typeof incidents.$inferSelect;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

export async function getIncident(db: Db, id: string): Promise<IncidentRow | undefined> {
  return db.select().from(incidents).where(eq(incidents.id, id)).get();
}

/** When the incident ends now: its scheduled end, or its close if that came first. */
export function effectiveEnd(row: Pick<IncidentRow, "endsAt" | "closedAt">): string {
  return row.closedAt && row.closedAt < row.endsAt ? row.closedAt : row.endsAt;
}

/** The incident's status judged at `now` (ms). */
export function incidentStatus(row: IncidentRow, now = Date.now()): IncidentStatus {
  if (row.closedAt) return "closed";
  if (Date.parse(row.endsAt) <= now) return "ended";
  if (Date.parse(row.startsAt) > now) return "scheduled";
  return "active";
}

/** Is the incident open to provisional submissions at `at` (ms)? */
export function isActiveAt(row: IncidentRow, at: number): boolean {
  return !row.closedAt && Date.parse(row.startsAt) <= at && Date.parse(row.endsAt) > at;
}

/**
 * Was it open at some moment of the second that starts at `at` (ms)? A signed time (JWT `iat`,
 * RFC 7519) has whole seconds, so a record signed just after an incident started may carry the
 * start of that second, before the incident's own millisecond.
 */
export function isActiveInSecond(row: IncidentRow, at: number): boolean {
  return !row.closedAt && Date.parse(row.startsAt) < at + 1000 && Date.parse(row.endsAt) > at;
}

/** Fails the write's batch (409) if the incident changed after it was read (extension, close). */
export function incidentGuard(db: Db, row: Pick<IncidentRow, "id" | "version">): DomainStatements {
  return [
    db
      .insert(batchGuard)
      .select(
        sql`SELECT CASE WHEN (SELECT version FROM incidents WHERE id = ${row.id}) = ${row.version} THEN 1 ELSE 0 END`,
      ),
    db.delete(batchGuard),
  ];
}

/**
 * Records lapses in the change feed (`provisional_lapsed`, affecting the baseline) and marks the
 * entries, in one batch's statements: every unconfirmed entry of one incident (`all`, its close),
 * or every entry whose window is over at `at` (the scheduled job).
 */
export function lapseStatements(
  db: Db,
  o: { incidentId?: string; recordId: string | null; at: string; all?: boolean },
): DomainStatements {
  const cond: SQL = o.all
    ? sql`"submissions"."incident_id" = ${o.incidentId!} AND "submissions"."provisional_lapsed_at" IS NULL
        AND "submissions"."baseline_state" = 'none' AND "submissions"."status" = 'live'`
    : o.incidentId
      ? sql`"submissions"."incident_id" = ${o.incidentId} AND ${lapseDueSql("submissions", o.at)}`
      : lapseDueSql("submissions", o.at);
  return [
    insertSelect(
      db,
      submissionChanges,
      {
        submissionId: sql`"submissions"."id"`,
        change: sql`'provisional_lapsed'`,
        affectsBaseline: sql`1`,
        recordId: o.recordId === null ? sql`NULL` : sql`${o.recordId}`,
        at: sql`${o.at}`,
      },
      sql`FROM submissions WHERE ${cond}`,
    ),
    db.update(submissions).set({ provisionalLapsedAt: o.at }).where(cond),
  ];
}

/** Incidents with lapses due now (the scheduled job records them, then wakes their followers). */
export async function incidentsWithLapsesDue(db: Db, nowIso: string): Promise<string[]> {
  const rows = await db.all<{ id: string }>(
    sql`SELECT DISTINCT s.incident_id AS id FROM submissions s WHERE ${lapseDueSql("s", nowIso)}`,
  );
  return rows.map((r) => r.id);
}

type Counts = IncidentView["provisional"];

/** Counts of the entries tagged with each of `ids`, judged at `nowIso`. */
async function countsOf(db: Db, ids: string[], nowIso: string): Promise<Map<string, Counts>> {
  const out = new Map<string, Counts>();
  if (ids.length === 0) return out;
  const rows = await db.all<{
    id: string;
    submitted: number;
    active: number;
    included: number;
    lapsed: number;
  }>(sql`
    SELECT s.incident_id AS id, count(*) AS submitted,
      sum(CASE WHEN ${provisionalSql("s", nowIso)} THEN 1 ELSE 0 END) AS active,
      sum(CASE WHEN s.status = 'live' AND s.baseline_state IN ('included', 'disputed') THEN 1 ELSE 0 END) AS included,
      sum(CASE WHEN s.provisional_lapsed_at IS NOT NULL OR ${lapseDueSql("s", nowIso)} THEN 1 ELSE 0 END) AS lapsed
    FROM submissions s WHERE s.incident_id IN (SELECT value FROM json_each(${JSON.stringify(ids)}))
    GROUP BY s.incident_id`);
  for (const r of rows)
    out.set(r.id, { submitted: r.submitted, active: r.active, included: r.included, lapsed: r.lapsed });
  return out;
}

export async function incidentViews(db: Db, rows: IncidentRow[], now = Date.now()): Promise<IncidentView[]> {
  const counts = await countsOf(
    db,
    rows.map((r) => r.id),
    new Date(now).toISOString(),
  );
  return rows.map((r) => ({
    id: r.id,
    title: r.title,
    description: r.description,
    requestedBy: JSON.parse(r.requestedBy) as string[],
    declaredBy: r.declaredBy,
    startsAt: r.startsAt,
    endsAt: r.endsAt,
    closedAt: r.closedAt,
    public: r.public,
    status: incidentStatus(r, now),
    extensions: r.extensions,
    provisional: counts.get(r.id) ?? { submitted: 0, active: 0, included: 0, lapsed: 0 },
    createdAt: r.createdAt,
  }));
}

/** Every incident, newest first; `active`: only those active now. */
export async function listIncidents(db: Db, activeOnly: boolean, now = Date.now()): Promise<IncidentRow[]> {
  const nowIso = new Date(now).toISOString();
  return db
    .select()
    .from(incidents)
    .where(
      activeOnly
        ? sql`${incidents.closedAt} IS NULL AND ${incidents.startsAt} <= ${nowIso} AND ${incidents.endsAt} > ${nowIso}`
        : undefined,
    )
    .orderBy(sql`${incidents.startsAt} DESC`, sql`${incidents.id} DESC`)
    .limit(500);
}

/** Public incidents (title and dates only are shown), newest first. */
export async function publicIncidents(db: Db): Promise<IncidentRow[]> {
  return db
    .select()
    .from(incidents)
    .where(eq(incidents.public, true))
    .orderBy(sql`${incidents.startsAt} DESC`)
    .limit(100);
}

// ---- the fast lane ------------------------------------------------------------------------------

type FeedRow = Pick<
  SubmissionRow,
  | "status"
  | "baselineState"
  | "tlp"
  | "expiresAt"
  | "incidentId"
  | "provisionalUntil"
  | "provisionalLapsedAt"
  | "signalType"
  | "value"
> & {
  seq: number;
  change: string;
  at: string;
  submissionId: string;
  linkedRed: number;
  incidentEndsAt: string | null;
};

/**
 * The feed positions that change an incident's hashes, as `(seq, change, at, sid)` rows for
 * incident `?1` after position `?2`: every change of its own entries (created, included,
 * provisional_lapsed, withdrawn, …), and every change of another submission of an entry's value
 * marked TLP:RED that makes it hold the value back or let it go (rules/baseline.ts
 * `restrictsLinked`): `withheld` when one goes live, `released` when it leaves. Those lines name
 * the incident's entry, never the TLP:RED submission. The incident's own TLP:RED entries are
 * never in it.
 */
export const INCIDENT_FEED_SQL = `
  SELECT c.seq, c.change, c.at, s.id AS sid
    FROM submissions s JOIN submission_changes c ON c.submission_id = s.id
   WHERE s.incident_id = ?1 AND c.seq > ?2 AND (s.tlp IS NULL OR s.tlp <> 'red')
  UNION ALL
  SELECT c.seq, CASE WHEN c.change IN ('created', 'live') THEN 'withheld' ELSE 'released' END, c.at, s.id
    FROM submissions s
    JOIN submissions r ON ${ofFingerprintText("r", "s.fingerprint")} AND r.id <> s.id AND r.tlp = 'red'
    JOIN submission_changes c ON c.submission_id = r.id
   WHERE s.incident_id = ?1 AND c.seq > ?2 AND (s.tlp IS NULL OR s.tlp <> 'red')
     AND c.change IN ('created', 'live', 'withdrawn', 'reversed', 'voided')`;

/**
 * One incident's hash additions and removals after feed position `after` (`INCIDENT_FEED_SQL`),
 * each answered with what a platform must do now — `add` while the entry may be matched in scope
 * `baseline` (provisional or included), `remove` otherwise, judged at `now` by the baseline rule
 * (rules/baseline.ts), so a follower replaying the page in order ends with the set the node would
 * answer. Entries marked TLP:RED are never in it.
 */
export async function incidentHashes(
  d1: D1Database,
  incidentId: string,
  after: number,
  limit: number,
  now = Date.now(),
): Promise<{ changes: IncidentHashChange[]; more: boolean }> {
  const found = await d1
    .prepare(
      `SELECT f.seq, f.change, f.at, s.id AS submissionId, s.signal_type AS signalType, s.value, s.status,
         s.baseline_state AS baselineState, s.tlp, s.expires_at AS expiresAt, s.incident_id AS incidentId,
         s.provisional_until AS provisionalUntil, s.provisional_lapsed_at AS provisionalLapsedAt,
         ${linkedRedSqlText("s")} AS linkedRed, ${incidentEndSqlText("s")} AS incidentEndsAt
       FROM (${INCIDENT_FEED_SQL}) f JOIN submissions s ON s.id = f.sid
       ORDER BY f.seq, s.id LIMIT ?3`,
    )
    .bind(incidentId, after, limit + 1)
    .all<FeedRow>();
  // One feed position can change several of the incident's entries (a TLP:RED submission of a
  // value two authorities submitted): a page never ends inside one, since the cursor is a position.
  let cut = Math.min(limit, found.results.length);
  if (found.results.length > limit) {
    while (cut > 0 && found.results[cut]!.seq === found.results[cut - 1]!.seq) cut--;
    if (cut === 0) cut = limit;
  }
  const rows = found.results.slice(0, cut);
  return {
    more: found.results.length > cut,
    changes: rows.map((r) => {
      const row = { ...r, linkedRed: r.linkedRed === 1 };
      const provisional = isProvisional(row, now);
      return {
        seq: r.seq,
        op: isMatchable(row, "baseline", now) ? "add" : "remove",
        change: r.change,
        submissionId: r.submissionId,
        signalType: r.signalType,
        value: r.value,
        provisional: provisional ? { incidentId, lapsesAt: provisionalLapsesAt(row)! } : null,
        at: r.at,
      };
    }),
  };
}

/** The latest feed position of any change of the incident's entries (0: none). */
export async function incidentHead(d1: D1Database, incidentId: string, after = 0): Promise<number> {
  const row = await d1
    .prepare(`SELECT max(f.seq) AS seq FROM (${INCIDENT_FEED_SQL}) f`)
    .bind(incidentId, after)
    .first<{ seq: number | null }>();
  return row?.seq ?? 0;
}

/**
 * The incidents with a provisional entry of one of these fingerprints (`type:value`): those whose
 * followers a TLP:RED submission of the value arriving or leaving must wake.
 */
export async function incidentsLinkedTo(db: Db, fingerprints: readonly string[]): Promise<string[]> {
  if (fingerprints.length === 0) return [];
  const rows = await db.all<{ id: string }>(
    sql`SELECT DISTINCT incident_id AS id FROM submissions WHERE incident_id IS NOT NULL
      AND ${ofFingerprintsSql("submissions", JSON.stringify([...fingerprints]))}`,
  );
  return rows.map((r) => r.id);
}

// ---- accountability -----------------------------------------------------------------------------

type ReportRow = {
  id: string;
  signal_type: string;
  value: string;
  member_state: string;
  created_at: string;
  first_match: string | null;
  matches: number | null;
  platforms: number;
  fb_true: number;
  fb_false: number;
  fb_not_actioned: number;
  fate: string;
};

/** The fate of an entry as an SQL CASE (judged at `nowIso`). */
function fateSql(nowIso: string): SQL {
  return sql`CASE
    WHEN s.status = 'withdrawn' THEN 'withdrawn'
    WHEN s.status = 'reversed' THEN 'reversed'
    WHEN s.status <> 'live' THEN 'other'
    WHEN s.baseline_state IN ('included', 'disputed') THEN 'included'
    WHEN s.baseline_state = 'excluded' THEN 'excluded'
    WHEN s.provisional_lapsed_at IS NOT NULL OR ${lapseDueSql("s", nowIso)} THEN 'lapsed'
    WHEN ${provisionalSql("s", nowIso)} THEN 'provisional'
    ELSE 'other' END`;
}

/**
 * Per entry of the incident: when submitted, when first matched as a provisional entry, how many
 * answers returned it labelled `provisional` and to how many platforms (provisional_matches: its
 * later matches as a baseline entry, or in scope `all` after its lapse, are not the incident's),
 * the feedback and its fate.
 */
export async function incidentReport(db: Db, incidentId: string, nowIso: string) {
  const rows = await db.all<ReportRow>(sql`
    SELECT s.id, s.signal_type, s.value, s.member_state, s.created_at,
      (SELECT min(m.first_matched_at) FROM provisional_matches m WHERE m.submission_id = s.id) AS first_match,
      (SELECT sum(m.count) FROM provisional_matches m WHERE m.submission_id = s.id) AS matches,
      (SELECT count(*) FROM provisional_matches m WHERE m.submission_id = s.id) AS platforms,
      s.fb_true, s.fb_false, s.fb_not_actioned, ${fateSql(nowIso)} AS fate
    FROM submissions s WHERE s.incident_id = ${incidentId} ORDER BY s.created_at, s.id`);
  return rows.map((r) => ({
    submissionId: r.id,
    signalType: r.signal_type,
    value: r.value,
    memberState: r.member_state,
    submittedAt: r.created_at,
    firstMatchAt: r.first_match,
    matches: r.matches ?? 0,
    platforms: r.platforms,
    feedback: { truePositive: r.fb_true, falsePositive: r.fb_false, notActioned: r.fb_not_actioned },
    fate: r.fate as "provisional" | "included" | "lapsed" | "withdrawn" | "reversed" | "excluded" | "other",
  }));
}

/** Counts only, for transparency reports: no hash, no member state, no participant. */
export async function incidentSummary(db: Db, row: IncidentRow, nowIso: string): Promise<IncidentSummary> {
  const entries = await incidentReport(db, row.id, nowIso);
  const fates: Record<string, number> = {};
  for (const e of entries) fates[e.fate] = (fates[e.fate] ?? 0) + 1;
  return {
    id: row.id,
    title: row.title,
    startsAt: row.startsAt,
    endsAt: row.endsAt,
    closedAt: row.closedAt,
    entries: entries.length,
    matched: entries.filter((e) => e.matches > 0).length,
    matches: entries.reduce((n, e) => n + e.matches, 0),
    fates,
    feedback: {
      truePositive: entries.reduce((n, e) => n + e.feedback.truePositive, 0),
      falsePositive: entries.reduce((n, e) => n + e.feedback.falsePositive, 0),
      notActioned: entries.reduce((n, e) => n + e.feedback.notActioned, 0),
    },
  };
}

/**
 * The scheduled job's part: records the lapse of every provisional entry whose window is over at
 * `now` (one batch per incident: the feed's changes and the entries' marks land together), and
 * answers the incidents it touched, whose followers are then woken. The rule already stops those
 * entries from matching at query time; this puts the lapse in the change feed, where
 * GET /v1/reversals and the incident's hash feed show it.
 */
export async function recordDueLapses(db: Db, now = Date.now()): Promise<string[]> {
  const at = new Date(now).toISOString();
  const ids = await incidentsWithLapsesDue(db, at);
  for (const id of ids) {
    const [first, ...rest] = lapseStatements(db, { incidentId: id, recordId: null, at });
    await db.batch([first!, ...rest]);
  }
  return ids;
}
