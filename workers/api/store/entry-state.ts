// Loading an entry's records for the fold (rules/entry-history.ts) and writing what the fold
// derives: the entry's status, baseline state and tallies, which assessments and feedback are
// live, which decisions took effect, and a change-feed row for every change of status or baseline
// state — all for the same D1 batch as the record that caused them, guarded so that a write that
// raced it on the same entry (or on the registry) fails the batch instead of landing on a stale
// derivation.

import { MAX_CLOCK_SKEW_S } from "@eusn/protocol";
import { and, eq, inArray, notInArray, type SQL, sql } from "drizzle-orm";
import {
  assessments,
  auditLog,
  batchGuard,
  decisions,
  feedback,
  stateVersions,
  submissionChanges,
  submissions,
} from "../../../schema/index.ts";
import { config } from "../config.ts";
import type { Env } from "../env.ts";
import { chunk, type Db, type DomainStatements, prepared } from "../lib/db.ts";
import { nowIso } from "../lib/encoding.ts";
import { linkedInBaselineSql, restrictsLinked, type SubmissionRow } from "../rules/baseline.ts";
import {
  type AuthorityTimeline,
  comparePositions,
  type EntryFacts,
  type EntryState,
  type Fact,
  foldEntry,
  type NewFact,
  type Position,
  quorumAt,
  type Refusal,
  type Registry,
  type RegistryChange,
} from "../rules/entry-history.ts";

/** Read-only statements in one D1 round trip; each answer's rows, in order. */
async function reads<T extends unknown[]>(db: Db, queries: SQL[]): Promise<{ [I in keyof T]: T[I][] }> {
  const results = await db.$client.batch(queries.map((q) => prepared(db.$client, q)));
  return results.map((r) => r.results ?? []) as { [I in keyof T]: T[I][] };
}

/** The statement that moves the registry version on (every record that changes the registry). */
export function bumpRegistry(db: Db) {
  return db
    .update(stateVersions)
    .set({ version: sql`${stateVersions.version} + 1` })
    .where(eq(stateVersions.name, "registry"));
}

const secs = (iso: string) => Math.floor(Date.parse(iso) / 1000);

/** SQL: the position of the record aliased `alias` (rules/entry-history.ts `Position`), as a row value. */
const positionOf = (alias: string) =>
  `(${alias}.iat, ${alias}.origin_node, coalesce(${alias}.origin_index, 0))`;

type PositionRow = { iat: number | null; origin: string | null; origin_index: number | null };
const toPosition = (r: PositionRow): Position | null =>
  r.iat === null ? null : { iat: r.iat, origin: r.origin ?? "", originIndex: r.origin_index ?? 0 };

/** The registry as the fold sees it, with a change planned by the record being applied. */
export async function loadRegistry(
  db: Db,
  env: Env,
  change?: RegistryChange,
): Promise<Registry & { version: number }> {
  const [rows, v] = await reads<
    [
      {
        id: string;
        member_state: string;
        admitted_at: string;
        a_iat: number | null;
        a_origin: string | null;
        a_index: number | null;
        r_iat: number | null;
        r_origin: string | null;
        r_index: number | null;
      },
      { version: number },
    ]
  >(db, [
    sql`SELECT p.id, p.member_state, p.admitted_at,
        a.iat AS a_iat, a.origin_node AS a_origin, a.origin_index AS a_index,
        r.iat AS r_iat, r.origin_node AS r_origin, r.origin_index AS r_index
      FROM participants p
      LEFT JOIN records a ON a.id = coalesce(p.admission_countersign_record_id, p.admission_record_id)
      LEFT JOIN records r ON r.id = p.revocation_record_id
      WHERE p.role = 'authority'`,
    sql`SELECT version FROM state_versions WHERE name = 'registry'`,
  ]);
  const authorities = new Map<string, AuthorityTimeline>();
  for (const r of rows) {
    authorities.set(r.id, {
      id: r.id,
      memberState: r.member_state,
      admitted: toPosition({ iat: r.a_iat, origin: r.a_origin, origin_index: r.a_index }) ?? {
        iat: secs(r.admitted_at),
        origin: "",
        originIndex: 0,
      },
      revoked: toPosition({ iat: r.r_iat, origin: r.r_origin, origin_index: r.r_index }),
    });
  }
  const also = change?.also;
  for (const id of also?.unadmits ?? []) authorities.delete(id);
  for (const id of also?.unrevokes ?? []) {
    const a = authorities.get(id);
    if (a) a.revoked = null;
  }
  for (const a of [...(change?.admits ? [change.admits] : []), ...(also?.admits ?? [])]) {
    // Only an authority's admission counts toward the quorum (others carry no member state).
    if (!a.memberState) continue;
    const revoked = authorities.get(a.id)?.revoked ?? null;
    authorities.set(a.id, { id: a.id, memberState: a.memberState, admitted: a.at, revoked });
  }
  for (const ends of [...(change?.ends ? [change.ends] : []), ...(also?.ends ?? [])]) {
    if (ends.kid) continue;
    const a = authorities.get(ends.participantId);
    if (a && (a.revoked === null || comparePositions(ends.at, a.revoked) < 0)) a.revoked = ends.at;
  }
  return { authorities, minStates: config(env).baseline.minStates, version: v[0]?.version ?? 0 };
}

/**
 * SQL: the record aliased `r` was signed validly — with a key of its issuer, not before the key
 * was added (allowing the clock skew a write may carry), and not after the record that retired the
 * key or revoked the issuer: not after it in signed order (rules/entry-history.ts `Position`), nor
 * after it in the log of the node that accepted both (an honest node refuses a key it has retired,
 * so a backdated `iat` cannot undo the order its origin logged), nor at or after the time a
 * retirement declared the key compromised. Judged from the records alone, so every node that holds
 * the same records gives the same answer.
 */
const SIGNED_VALIDLY =
  sql.raw(`EXISTS (SELECT 1 FROM participant_keys k WHERE k.participant_id = r.issuer AND k.kid = r.kid
  AND r.iat + ${MAX_CLOCK_SKEW_S} >= k.valid_from
  AND (k.compromised_since IS NULL OR r.iat < k.compromised_since)
  AND NOT EXISTS (SELECT 1 FROM records e
    WHERE e.id IN (k.retired_record_id, (SELECT p.revocation_record_id FROM participants p WHERE p.id = r.issuer))
      AND (${positionOf("e")} < ${positionOf("r")}
        OR (e.origin_node = r.origin_node AND coalesce(e.origin_index, 0) < coalesce(r.origin_index, 0)))))`);

/**
 * SQL: SIGNED_VALIDLY without the issuer's revocation: whether the record aliased `r` counts
 * once a revocation of its issuer is undone in the batch being planned (a revocation whose
 * second signature stopped counting).
 */
const SIGNED_VALIDLY_BY_KEY =
  sql.raw(`EXISTS (SELECT 1 FROM participant_keys k WHERE k.participant_id = r.issuer AND k.kid = r.kid
  AND r.iat + ${MAX_CLOCK_SKEW_S} >= k.valid_from
  AND (k.compromised_since IS NULL OR r.iat < k.compromised_since)
  AND NOT EXISTS (SELECT 1 FROM records e
    WHERE e.id = k.retired_record_id
      AND (${positionOf("e")} < ${positionOf("r")}
        OR (e.origin_node = r.origin_node AND coalesce(e.origin_index, 0) < coalesce(r.origin_index, 0)))))`);

/** SQL: the record aliased `r` was signed validly (exported for the registry's own records). */
export const signedValidlySql = () => SIGNED_VALIDLY;
/** SQL: the same, but for its issuer's revocation (see SIGNED_VALIDLY_BY_KEY). */
export const signedValidlyByKeySql = () => SIGNED_VALIDLY_BY_KEY;

/**
 * Whether a record of `issuer` (key `kid`) at `at` is void by a registry change the batch being
 * planned makes, given whether it was valid before (`valid`) and without its issuer's revocation
 * (`validByKey`): a revocation or retirement reaching back, an admission undone or moved later,
 * a revocation undone.
 */
export function voidByChange(
  change: RegistryChange | undefined,
  f: { issuer: string; kid: string; at: Position; valid: boolean; validByKey: boolean },
): boolean {
  if (!change) return !f.valid;
  const also = change.also;
  if (also?.unadmits.includes(f.issuer)) return true;
  const fresh = also?.admits.find((a) => a.fresh && a.id === f.issuer);
  let valid = fresh
    ? f.at.iat + MAX_CLOCK_SKEW_S >= fresh.at.iat
    : also?.unrevokes.includes(f.issuer)
      ? f.validByKey
      : f.valid;
  const ends = [...(change.ends ? [change.ends] : []), ...(also?.ends ?? [])];
  for (const e of ends) {
    if (
      e.participantId === f.issuer &&
      (!e.kid || e.kid === f.kid) &&
      (comparePositions(e.at, f.at) < 0 ||
        (e.at.origin === f.at.origin && e.at.originIndex < f.at.originIndex))
    )
      valid = false;
  }
  // An admission moved to a later countersignature: what the participant signed before it is void.
  for (const a of also?.admits ?? [])
    if (a.id === f.issuer && f.at.iat + MAX_CLOCK_SKEW_S < a.at.iat) valid = false;
  return !valid;
}

/**
 * Why a record about to be applied (issuer, key, place in signed order) is void here, or
 * undefined: the same rule as SIGNED_VALIDLY, for a record not stored yet.
 */
export async function voidReason(
  db: Db,
  r: { issuer: string; kid: string } & Position,
): Promise<string | undefined> {
  const row = await db.get<{ valid: number }>(
    sql`SELECT ${SIGNED_VALIDLY} AS valid FROM (SELECT ${r.issuer} AS issuer, ${r.kid} AS kid, ${r.iat} AS iat,
      ${r.origin} AS origin_node, ${r.originIndex === Number.POSITIVE_INFINITY ? Number.MAX_SAFE_INTEGER : r.originIndex} AS origin_index) r`,
  );
  return row?.valid
    ? undefined
    : `signed by ${r.issuer} with key ${r.kid} at ${r.iat}, outside the time the key was valid (before it was added, or after its retirement or its signer's revocation)`;
}

type Loaded = { row: SubmissionRow; entry: EntryFacts };

/** The rows and records of `ids`, with the facts `extra` adds (a record being applied). */
export async function loadEntries(
  db: Db,
  ids: string[],
  extra: NewFact[] = [],
  change?: RegistryChange,
): Promise<Map<string, Loaded>> {
  const out = new Map<string, Loaded>();
  // The registry change being applied (a revocation or key retirement reaching back, requests
  // settled again) voids, or makes count again, in memory, what it reaches.
  const isVoidNow = (issuer: string, kid: string, at: Position, valid: number, validByKey: number) =>
    voidByChange(change, { issuer, kid, at, valid: !!valid, validByKey: !!validByKey });
  for (const part of chunk([...new Set(ids)], 90)) {
    const json = JSON.stringify(part);
    const inPart = sql`(SELECT value FROM json_each(${json}))`;
    const [subs, asm, dec, fb] = await reads<
      [
        Record<string, unknown> & {
          c_iat: number;
          c_origin: string;
          c_index: number;
          c_issuer: string;
          c_kid: string;
          c_valid: number;
          c_valid_key: number;
        },
        {
          id: string;
          submission_id: string;
          record_id: string;
          iat: number;
          origin_node: string;
          origin_index: number;
          issuer: string;
          kid: string;
          valid: number;
          valid_key: number;
          authority_id: string;
          member_state: string;
          verdict: "concur" | "dissent";
        },
        {
          id: string;
          submission_id: string;
          record_id: string;
          iat: number;
          origin_node: string;
          origin_index: number;
          issuer: string;
          kid: string;
          valid: number;
          valid_key: number;
          actor_id: string;
          action: "include" | "exclude" | "retire" | "withdraw" | "reverse";
          assessment_ids: string;
        },
        {
          id: string;
          submission_id: string;
          record_id: string;
          iat: number;
          origin_node: string;
          origin_index: number;
          issuer: string;
          kid: string;
          valid: number;
          valid_key: number;
          platform_id: string;
          outcome: "true_positive" | "false_positive" | "not_actioned";
        },
      ]
    >(db, [
      sql`SELECT s.*, r.iat AS c_iat, r.origin_node AS c_origin, coalesce(r.origin_index, 0) AS c_index, r.issuer AS c_issuer, r.kid AS c_kid, ${SIGNED_VALIDLY} AS c_valid, ${SIGNED_VALIDLY_BY_KEY} AS c_valid_key
          FROM submissions s JOIN records r ON r.id = s.record_id WHERE s.id IN ${inPart}`,
      sql`SELECT a.id, a.submission_id, a.record_id, r.iat, r.origin_node, coalesce(r.origin_index, 0) AS origin_index, r.issuer, r.kid, ${SIGNED_VALIDLY} AS valid, ${SIGNED_VALIDLY_BY_KEY} AS valid_key, a.authority_id, a.member_state, a.verdict
          FROM assessments a JOIN records r ON r.id = a.record_id WHERE a.submission_id IN ${inPart}`,
      sql`SELECT d.id, d.submission_id, d.record_id, r.iat, r.origin_node, coalesce(r.origin_index, 0) AS origin_index, r.issuer, r.kid, ${SIGNED_VALIDLY} AS valid, ${SIGNED_VALIDLY_BY_KEY} AS valid_key, d.actor_id, d.action, d.assessment_ids
          FROM decisions d JOIN records r ON r.id = d.record_id WHERE d.submission_id IN ${inPart}`,
      sql`SELECT f.id, f.submission_id, f.record_id, r.iat, r.origin_node, coalesce(r.origin_index, 0) AS origin_index, r.issuer, r.kid, ${SIGNED_VALIDLY} AS valid, ${SIGNED_VALIDLY_BY_KEY} AS valid_key, f.platform_id, f.outcome
          FROM feedback f JOIN records r ON r.id = f.record_id WHERE f.submission_id IN ${inPart}`,
    ]);
    for (const s of subs) {
      const row = toRow(s);
      out.set(row.id, {
        row,
        entry: {
          id: row.id,
          submitterId: row.submitterId,
          memberState: row.memberState,
          tlp: row.tlp,
          expiresAt: row.expiresAt ? secs(row.expiresAt) : null,
          createdVoid: isVoidNow(
            s.c_issuer,
            s.c_kid,
            { iat: s.c_iat, origin: s.c_origin, originIndex: s.c_index },
            s.c_valid,
            s.c_valid_key,
          ),
          facts: [],
        },
      });
    }
    const isVoid = (f: {
      valid: number;
      valid_key: number;
      issuer: string;
      kid: string;
      iat: number;
      origin_node: string;
      origin_index: number;
    }) =>
      isVoidNow(
        f.issuer,
        f.kid,
        { iat: f.iat, origin: f.origin_node, originIndex: f.origin_index },
        f.valid,
        f.valid_key,
      );
    const add = (id: string, f: Fact) => out.get(id)?.entry.facts.push(f);
    for (const a of asm)
      add(a.submission_id, {
        type: "assessment",
        id: a.id,
        recordId: a.record_id,
        iat: a.iat,
        origin: a.origin_node,
        originIndex: a.origin_index,
        authorityId: a.authority_id,
        memberState: a.member_state,
        verdict: a.verdict,
        void: isVoid(a),
      });
    for (const d of dec)
      add(d.submission_id, {
        type: "decision",
        id: d.id,
        recordId: d.record_id,
        iat: d.iat,
        origin: d.origin_node,
        originIndex: d.origin_index,
        actorId: d.actor_id,
        action: d.action,
        cited: JSON.parse(d.assessment_ids) as string[],
        void: isVoid(d),
      });
    for (const f of fb)
      add(f.submission_id, {
        type: "feedback",
        id: f.id,
        recordId: f.record_id,
        iat: f.iat,
        origin: f.origin_node,
        originIndex: f.origin_index,
        platformId: f.platform_id,
        outcome: f.outcome,
        void: isVoid(f),
      });
  }
  for (const f of extra) {
    const { submissionId, ...fact } = f;
    out.get(submissionId)?.entry.facts.push(fact as Fact);
  }
  return out;
}

/** A raw `SELECT s.*` row (snake_case) as the drizzle row type. */
function toRow(s: Record<string, unknown>): SubmissionRow {
  return {
    id: s.id,
    recordId: s.record_id,
    submitterId: s.submitter_id,
    memberState: s.member_state,
    signalType: s.signal_type,
    value: s.value,
    fingerprint: s.fingerprint,
    quality: s.quality,
    lowQuality: !!s.low_quality,
    limbs: s.limbs,
    contentType: s.content_type,
    nationalProvision: s.national_provision,
    tlp: s.tlp,
    expiresAt: s.expires_at,
    note: s.note,
    status: s.status,
    baselineState: s.baseline_state,
    createdAt: s.created_at,
    concurStates: s.concur_states,
    liveDissents: s.live_dissents,
    fbTrue: s.fb_true,
    fbFalse: s.fb_false,
    fbNotActioned: s.fb_not_actioned,
    matchKey: s.match_key,
    stateVersion: s.state_version,
  } as SubmissionRow;
}

export type Derivation = {
  states: Map<string, EntryState>;
  /** Why a fact did not take effect, by fact id (for the record being applied). */
  refused: Map<string, Refusal>;
  /** For the start of the batch: fails it unless what the derivation read is still current. */
  guard: DomainStatements;
  statements: DomainStatements;
  /** Audit entries of the record's consequences, for after the record's own audit entry. */
  after: DomainStatements;
};

const SENT_BACK_WHY =
  "the concurring member states fell short of the quorum once the revoked authority's assessments stopped counting; a coordinator decides";

/**
 * Folds each loaded entry and plans the statements that bring its stored state to the result,
 * with one guard: every entry still at the version it was loaded at, and the registry at
 * `registryVersion`.
 */
export function derive(
  db: Db,
  loaded: Map<string, Loaded>,
  registry: Registry & { version: number },
  o: {
    recordId: string;
    at: string;
    /**
     * The record is a revocation or key retirement: every entry it changes gets an audit entry
     * (actor `system`) after the record's own, saying why.
     */
    consequenceOf?: { kind: string; participantId: string };
  },
): Derivation {
  const statements: DomainStatements = [];
  const after: DomainStatements = [];
  const states = new Map<string, EntryState>();
  const refused = new Map<string, Refusal>();
  const versions: [string, number][] = [];
  for (const [id, { row, entry }] of loaded) {
    const s = foldEntry(entry, registry);
    states.set(id, s);
    for (const [k, v] of s.refused) refused.set(k, v);
    versions.push([id, row.stateVersion]);
    const concur = JSON.stringify(s.concurStates);
    statements.push(
      db
        .update(submissions)
        .set({
          status: s.status,
          baselineState: s.baselineState,
          concurStates: concur,
          liveDissents: s.liveDissents,
          fbTrue: s.fbTrue,
          fbFalse: s.fbFalse,
          fbNotActioned: s.fbNotActioned,
          stateVersion: sql`${submissions.stateVersion} + 1`,
        })
        .where(eq(submissions.id, id)),
    );
    const liveA = [...s.liveAssessments];
    const superseded = JSON.stringify(Object.fromEntries(s.supersededBy));
    statements.push(
      db
        .update(assessments)
        .set({
          live: false,
          supersededBy: sql`json_extract(${superseded}, '$."' || ${assessments.id} || '"')`,
        })
        .where(
          and(eq(assessments.submissionId, id), notInArray(assessments.id, liveA.length ? liveA : [""])),
        ),
    );
    if (liveA.length)
      statements.push(
        db
          .update(assessments)
          .set({ live: true, supersededBy: null })
          .where(and(eq(assessments.submissionId, id), inArray(assessments.id, liveA))),
      );
    const liveF = [...s.liveFeedback];
    statements.push(
      db
        .update(feedback)
        .set({ live: false })
        .where(and(eq(feedback.submissionId, id), notInArray(feedback.id, liveF.length ? liveF : [""]))),
    );
    if (liveF.length)
      statements.push(
        db
          .update(feedback)
          .set({ live: true })
          .where(and(eq(feedback.submissionId, id), inArray(feedback.id, liveF))),
      );
    const notEffective = [...s.refused.keys()];
    statements.push(
      db
        .update(decisions)
        .set({
          effective: notEffective.length
            ? sql`${decisions.id} NOT IN (SELECT value FROM json_each(${JSON.stringify(notEffective)}))`
            : true,
        })
        .where(eq(decisions.submissionId, id)),
    );
    // The change feed: one row per change of status or baseline state, in that order.
    const wasIn = row.baselineState === "included" || row.baselineState === "disputed";
    const change = (c: string, affectsBaseline: boolean | SQL) =>
      statements.push(
        db
          .insert(submissionChanges)
          .values({ submissionId: id, change: c, affectsBaseline, recordId: o.recordId, at: o.at }),
      );
    if (s.baselineState !== row.baselineState) {
      // `reset`: back to no baseline state (an inclusion undone by an earlier-signed record).
      change(s.baselineState === "none" ? "reset" : s.baselineState, true);
      if (o.consequenceOf) {
        after.push(
          db.insert(auditLog).values({
            kind: `baseline.${s.baselineState}`,
            subjectId: id,
            actor: "system",
            at: nowIso(),
            detail: JSON.stringify({
              cause: o.consequenceOf.kind,
              recordId: o.recordId,
              participantId: o.consequenceOf.participantId,
              concurStates: s.concurStates,
              quorum: quorumAt(registry, null),
              why: SENT_BACK_WHY,
            }),
          }),
        );
      }
    }
    if (s.status !== row.status) {
      const own = wasIn || s.baselineState === "included" || s.baselineState === "disputed";
      // A TLP:RED entry going live or leaving withholds or releases the baseline entries of the
      // same value (rules/baseline.ts `restrictsLinked`).
      const linked =
        restrictsLinked(row) !== restrictsLinked({ status: s.status, tlp: row.tlp })
          ? linkedInBaselineSql(row.fingerprint, id)
          : false;
      change(s.status, own || linked);
    }
  }
  // The guard goes first in the record's batch, before the record's own statements move anything.
  const guarded = guard(db, versions, registry.version);
  return { states, refused, guard: guarded, statements, after };
}

/** The batch guard: fails the batch (CHECK) unless every version read is still current. */
function guard(db: Db, versions: [string, number][], registryVersion: number): DomainStatements {
  const conds: SQL[] = [
    sql`(SELECT version FROM state_versions WHERE name = 'registry') = ${registryVersion}`,
  ];
  for (const part of chunk(versions, 40)) {
    const json = JSON.stringify(part);
    conds.push(
      sql`NOT EXISTS (SELECT 1 FROM json_each(${json}) j JOIN submissions s ON s.id = json_extract(j.value, '$[0]')
        WHERE s.state_version <> json_extract(j.value, '$[1]'))`,
    );
  }
  return [
    db.insert(batchGuard).select(sql`SELECT CASE WHEN ${sql.join(conds, sql` AND `)} THEN 1 ELSE 0 END`),
    db.delete(batchGuard),
  ];
}

/** The batch failed on the guard above: what it was derived from changed meanwhile. */
export function isGuardFailure(msg: string): boolean {
  return /CHECK constraint failed: (batch_guard_ok|"?batch_guard"?\."?ok"? = 1|ok = 1)/.test(msg);
}
