// Matching's reads and writes in D1: the current rows of the entries the index shards found, and the accounting of a match request (counts only,
// never the queried hashes) with the memory of which platform matched which entry, so it sees
// later reversals. No Hono types here.
//
// Both run on every match request, on its critical path, once per request whatever the number of
// hits: each is one D1 round trip of one or two statements, the keys and ids travelling as one
// JSON parameter (json_each), never as a statement per row.
//
// The memory of who matched what (`submission_matches`, one row per entry and platform) is folded
// in later: a request stores the ids it was answered in its own accounting row, and they are
// folded in batches of requests after answers have been sent (a request that finds enough pending
// folds them once its answer is out), by the scheduled job, and by every reader of
// `submission_matches` before it reads (`foldMatches`). So the platform's right to be told of a
// reversal is stored before its answer is, and is never read stale; what the fold saves is
// rewriting a row per matched entry on every request (at far thresholds ~10,000 rows a request),
// and repeats within a fold are one row write.
import { newId } from "@eusn/protocol";
import {
  incidentEndSqlText,
  type Links,
  linkedRedSqlText,
  type ProvisionalLinks,
  type SubmissionRow,
} from "../rules/baseline.ts";

/** The columns of a submission a match answer, the matchable rule and the entry's state need (see `MATCH_COLUMNS`). */
export type MatchRow = Pick<
  SubmissionRow,
  | "id"
  | "signalType"
  | "value"
  | "limbs"
  | "contentType"
  | "nationalProvision"
  | "memberState"
  | "baselineState"
  | "concurStates"
  | "liveDissents"
  | "tlp"
  | "lowQuality"
  | "status"
  | "expiresAt"
  | "fbTrue"
  | "fbFalse"
> &
  Links &
  ProvisionalLinks;

/**
 * The columns of `MatchRow` in the order `matchRows` reads them (by position: see there), with
 * the key they were asked by first. Named as the answer names them, for reading the statement.
 */
const MATCH_COLUMNS = [
  "match_key AS matchKey",
  "id",
  "signal_type AS signalType",
  "value",
  "limbs",
  "content_type AS contentType",
  "national_provision AS nationalProvision",
  "member_state AS memberState",
  "baseline_state AS baselineState",
  "concur_states AS concurStates",
  "live_dissents AS liveDissents",
  "tlp",
  "low_quality AS lowQuality",
  "status",
  "expires_at AS expiresAt",
  "fb_true AS fbTrue",
  "fb_false AS fbFalse",
  `${linkedRedSqlText("submissions")} AS linkedRed`,
  "incident_id AS incidentId",
  "provisional_until AS provisionalUntil",
  "provisional_lapsed_at AS provisionalLapsedAt",
  `${incidentEndSqlText("submissions")} AS incidentEndsAt`,
].join(", ");

/** The statement of `matchRows`, its one parameter the keys as a JSON array (for its plan's test too). */
export const MATCH_ROWS_SQL = `SELECT ${MATCH_COLUMNS} FROM submissions WHERE match_key IN (SELECT value FROM json_each(?1))`;

/**
 * The submissions with these match keys, by key, read straight from D1 so status, expiry,
 * baseline state and tallies are current whatever the index holds. Only the columns an answer
 * needs, read as arrays (D1's `raw()`) and made into rows here by position: at tens of thousands
 * of hits per request, whole rows, an ORM's column mapping, or D1 making an object per row that
 * is then copied, cost more than the query.
 */
export async function matchRows(d1: D1Database, keys: readonly number[]): Promise<Map<number, MatchRow>> {
  const rows = new Map<number, MatchRow>();
  if (keys.length === 0) return rows;
  const found = await d1.prepare(MATCH_ROWS_SQL).bind(JSON.stringify(keys)).raw<unknown[]>();
  for (const r of found)
    rows.set(r[0] as number, {
      id: r[1] as string,
      signalType: r[2] as MatchRow["signalType"],
      value: r[3] as string,
      limbs: r[4] as string,
      contentType: r[5] as MatchRow["contentType"],
      nationalProvision: r[6] as string,
      memberState: r[7] as string,
      baselineState: r[8] as MatchRow["baselineState"],
      concurStates: r[9] as string,
      liveDissents: r[10] as number,
      tlp: r[11] as MatchRow["tlp"],
      lowQuality: r[12] === 1,
      status: r[13] as MatchRow["status"],
      expiresAt: r[14] as MatchRow["expiresAt"],
      fbTrue: r[15] as number,
      fbFalse: r[16] as number,
      linkedRed: r[17] === 1,
      incidentId: r[18] as string | null,
      provisionalUntil: r[19] as string | null,
      provisionalLapsedAt: r[20] as string | null,
      incidentEndsAt: r[21] as string | null,
    });
  return rows;
}

export type MatchAccount = {
  platformId: string;
  at: string;
  scope: string;
  threshold: number;
  queried: number;
  matchedItems: number;
  matchedIds: readonly string[];
  /**
   * The entries answered labelled `provisional` (matched as provisional entries of an incident),
   * with their incident: counted apart for the incident's report and summary.
   */
  provisional?: readonly { submissionId: string; incidentId: string }[];
  /**
   * Results the platform asked to keep for its review queue: the matched entry and the item's own
   * content reference ('' for none). Never the queried hash.
   */
  keep?: readonly { submissionId: string; ref: string }[];
};

/** Pending requests after which a match request folds them once its answer is sent. */
export const FOLD_AFTER = 16;
/** Requests folded per D1 batch: a bounded transaction however large the backlog. */
export const FOLD_REQUESTS = 64;

/**
 * Counts a match request for the platform, with the ids of the entries it was answered (folded
 * into `submission_matches` later: see above), and keeps the results it asked to keep for its
 * review queue, and the matches of provisional entries, in one batch: all or nothing. Answers
 * whether enough requests are pending that the caller should fold them (`foldMatches`) once its
 * answer is sent.
 */
export async function recordMatches(d1: D1Database, m: MatchAccount): Promise<{ foldDue: boolean }> {
  const requestId = newId("record").replace(/^rec_/, "mrq_");
  const request = d1
    .prepare(
      "INSERT INTO match_requests (id, platform_id, at, scope, threshold, queried, matched_items, matched_entries, unfolded_ids) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .bind(
      requestId,
      m.platformId,
      m.at,
      m.scope,
      m.threshold,
      m.queried,
      m.matchedItems,
      m.matchedIds.length,
      m.matchedIds.length > 0 ? JSON.stringify(m.matchedIds) : null,
    );
  if (m.matchedIds.length === 0) {
    await request.run();
    return { foldDue: false };
  }
  // Counted up to the bound only (the partial index holds just the pending rows).
  const pending = d1
    .prepare(
      "SELECT count(*) AS n FROM (SELECT 1 FROM match_requests WHERE unfolded_ids IS NOT NULL LIMIT ?1)",
    )
    .bind(FOLD_AFTER);
  const keep = [...new Map((m.keep ?? []).map((k) => [`${k.submissionId}\n${k.ref}`, k])).values()];
  // Kept results as one upsert over the ids as a JSON array, however many (a statement per ten
  // rows, as D1's 100 bound parameters would otherwise force, is many round trips): the same
  // content matching the same entry again is one item, matched more often. `WHERE true` is
  // SQLite's documented way to let an upsert follow INSERT ... SELECT (without it the parser
  // would read ON CONFLICT as a join constraint).
  const kept = d1
    .prepare(
      `INSERT INTO review_items (id, platform_id, submission_id, ref, request_id, first_matched_at, last_matched_at, count)
       SELECT json_extract(value, '$[0]'), ?1, json_extract(value, '$[1]'), json_extract(value, '$[2]'), ?2, ?3, ?3, 1
       FROM json_each(?4) WHERE true
       ON CONFLICT (platform_id, submission_id, ref) DO UPDATE SET last_matched_at = excluded.last_matched_at,
         request_id = excluded.request_id, count = count + 1`,
    )
    .bind(
      m.platformId,
      requestId,
      m.at,
      JSON.stringify(keep.map((k) => [newId("review"), k.submissionId, k.ref])),
    );
  // Matches of provisional entries, apart (store/incidents.ts reports them per incident): only
  // what this answer returned labelled `provisional`, never the entry's other matches.
  const provisional =
    m.provisional && m.provisional.length > 0
      ? d1
          .prepare(
            `INSERT INTO provisional_matches (submission_id, platform_id, incident_id, first_matched_at, last_matched_at, count)
             SELECT json_extract(value, '$[0]'), ?1, json_extract(value, '$[1]'), ?2, ?2, 1 FROM json_each(?3) WHERE true
             ON CONFLICT (submission_id, platform_id) DO UPDATE SET last_matched_at = excluded.last_matched_at, count = count + 1`,
          )
          .bind(m.platformId, m.at, JSON.stringify(m.provisional.map((p) => [p.submissionId, p.incidentId])))
      : null;
  const done = await d1.batch<{ n: number }>([
    request,
    ...(keep.length > 0 ? [kept] : []),
    ...(provisional ? [provisional] : []),
    pending,
  ]);
  return { foldDue: (done.at(-1)?.results[0]?.n ?? 0) >= FOLD_AFTER };
}

/** The oldest pending requests, at most FOLD_REQUESTS (by the partial index of pending rows). */
const PENDING_SQL =
  "SELECT rowid FROM match_requests WHERE unfolded_ids IS NOT NULL ORDER BY at, rowid LIMIT ?1";

/**
 * Folds the matched entries of pending match requests into `submission_matches`: per entry and
 * platform the first and last time and how many requests matched it. Each round is one batch (a
 * transaction): the upsert of a bounded set of pending requests' ids and the clearing of exactly
 * those requests, so a fold that fails leaves them pending, whole, and two folds at once cannot
 * count a request twice (the second finds it cleared). Called by every reader of
 * `submission_matches` before it reads, and after answers; answers how many requests it folded.
 */
export async function foldMatches(d1: D1Database): Promise<number> {
  let folded = 0;
  for (;;) {
    const [, cleared] = await d1.batch([
      d1
        .prepare(
          `INSERT INTO submission_matches (submission_id, platform_id, first_matched_at, last_matched_at, count)
           SELECT j.value, r.platform_id, r.at, r.at, 1 FROM match_requests r, json_each(r.unfolded_ids) j
           WHERE r.rowid IN (${PENDING_SQL})
           ON CONFLICT (submission_id, platform_id) DO UPDATE SET
             first_matched_at = min(first_matched_at, excluded.first_matched_at),
             last_matched_at = max(last_matched_at, excluded.last_matched_at),
             count = count + 1`,
        )
        .bind(FOLD_REQUESTS),
      d1
        .prepare(`UPDATE match_requests SET unfolded_ids = NULL WHERE rowid IN (${PENDING_SQL})`)
        .bind(FOLD_REQUESTS),
    ]);
    const n = cleared?.meta.changes ?? 0;
    folded += n;
    if (n < FOLD_REQUESTS) return folded;
  }
}
