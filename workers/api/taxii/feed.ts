// The TAXII collections as ordered logs over the submission change feed. Every STIX version sits
// at a fixed log position derived from `submission_changes.seq`, so paging by position never
// skips or repeats an object while new changes arrive (they only ever get higher positions).
// Design and the state machines: docs/taxii.md "Collections as logs".
import { type TaxiiCollectionKey, TLP2_MARKINGS } from "@eusn/protocol";
import { and, eq, inArray, sql } from "drizzle-orm";
import { participants, submissions, taxiiIndexState, taxiiObjects } from "../../../schema/index.ts";
import type { Db } from "../lib/db.ts";
import { chunk } from "../lib/db.ts";
import { isShareable, type SubmissionRow, shareableSql } from "../rules/baseline.ts";
import type { ParticipantRow } from "../store/participants.ts";
import {
  authorityIdentity,
  authorityIdentityId,
  extensionDefinition,
  extensionId,
  type IndicatorVersion,
  indicator,
  indicatorId,
  networkIdentity,
  networkIdentityId,
  SERVED_TLPS,
  type StixObject,
  stixTime,
  tlpMarking,
} from "./stix.ts";

/**
 * Log position = seq × 16 + slot. At the collection's first change come the network-wide objects
 * (slots 0–5), at an authority's first change in the collection its identity (slot 8), and at
 * every change that makes a version, that indicator version (slot 9).
 */
export const SLOTS = 16;
const SLOT_IDENTITY = 8;
const SLOT_INDICATOR = 9;

export type ChangeRow = { seq: number; submissionId: string; change: string; at: string };

export type Version = IndicatorVersion & { seq: number; at: string; first: boolean; last: boolean };

const ENDING = new Set(["excluded", "retired", "withdrawn", "reversed"]);

/**
 * Replays one submission's changes (in seq order) into STIX versions for a collection.
 *
 * baseline: an `included` change opens an epoch (or, while in, re-includes a disputed entry);
 * `disputed` is a new, still valid version labelled disputed; excluded/retired/withdrawn/reversed
 * end the epoch with a revoked version. STIX forbids versions after a revocation, so a later
 * re-inclusion opens a new epoch with a new id.
 *
 * submissions: `created` opens epoch 0; included/disputed/retired are valid versions (a retired
 * entry still matches in scope `all`); excluded/withdrawn/reversed end it revoked; an inclusion
 * after an exclusion opens a new epoch.
 */
export function versionsOf(collection: TaxiiCollectionKey, changes: ChangeRow[]): Version[] {
  const out: Version[] = [];
  let epoch = -1;
  let open = false;
  let created = "";
  let prev = 0;
  const emit = (c: ChangeRow, state: string, revoked: boolean, opens: boolean) => {
    // `modified` must grow strictly within an object; two changes in one millisecond get +1 ms.
    const t = Math.max(Date.parse(c.at), prev + 1);
    prev = t;
    const modified = stixTime(t);
    if (opens) created = modified;
    out.push({
      collection,
      submissionId: c.submissionId,
      epoch,
      created,
      modified,
      state,
      revoked,
      seq: c.seq,
      at: stixTime(c.at),
      first: opens,
      last: false,
    });
  };
  for (const c of changes) {
    if (collection === "baseline") {
      if (c.change === "included") {
        const opens = !open;
        if (opens) {
          epoch++;
          open = true;
        }
        emit(c, "included", false, opens);
      } else if (open && c.change === "disputed") emit(c, "disputed", false, false);
      else if (open && ENDING.has(c.change)) {
        emit(c, c.change, true, false);
        open = false;
      }
    } else {
      if (c.change === "created" && epoch === -1) {
        epoch = 0;
        open = true;
        emit(c, "none", false, true);
      } else if (c.change === "included" && !open && epoch >= 0) {
        epoch++;
        open = true;
        emit(c, "included", false, true);
      } else if (open && (c.change === "included" || c.change === "disputed" || c.change === "retired"))
        emit(c, c.change, false, false);
      else if (open && (c.change === "excluded" || c.change === "withdrawn" || c.change === "reversed")) {
        emit(c, c.change, true, false);
        open = false;
      }
    }
  }
  for (let i = 0; i < out.length; i++) {
    const next = out[i + 1];
    out[i]!.last = !next || next.epoch !== out[i]!.epoch;
  }
  return out;
}

// ---- SQL fragments (aliases: c = submission_changes, s = submissions) ------------------------

const NOT_RED = shareableSql("s");

/** Rows that can carry an entry of the collection (the state machine drops the rest). */
function candidateCond(collection: TaxiiCollectionKey) {
  return collection === "baseline"
    ? sql`c.affects_baseline = 1 AND ${NOT_RED} AND EXISTS (SELECT 1 FROM submission_changes i WHERE i.submission_id = c.submission_id AND i.change = 'included' AND i.seq <= c.seq)`
    : NOT_RED;
}

/** Rows where an entry first enters the collection (positions of the prelude and identities). */
function startCond(collection: TaxiiCollectionKey) {
  return collection === "baseline"
    ? sql`c.change = 'included' AND ${NOT_RED}`
    : sql`c.change = 'created' AND ${NOT_RED}`;
}

async function firstSeq(db: Db, collection: TaxiiCollectionKey): Promise<number | null> {
  const row = await db.get<{ seq: number | null }>(
    sql`SELECT min(c.seq) AS seq FROM submission_changes c JOIN submissions s ON s.id = c.submission_id WHERE ${startCond(collection)}`,
  );
  return row?.seq ?? null;
}

async function histories(db: Db, ids: string[]): Promise<Map<string, ChangeRow[]>> {
  const out = new Map<string, ChangeRow[]>();
  for (const part of chunk(ids, 90)) {
    const rows = await db.all<{ seq: number; submission_id: string; change: string; at: string }>(
      sql`SELECT seq, submission_id, change, at FROM submission_changes WHERE submission_id IN ${part} ORDER BY seq`,
    );
    for (const r of rows) {
      const list = out.get(r.submission_id) ?? [];
      list.push({ seq: r.seq, submissionId: r.submission_id, change: r.change, at: r.at });
      out.set(r.submission_id, list);
    }
  }
  return out;
}

/** The collection position (seq) at which each authority's identity appears. */
async function identitySeqs(
  db: Db,
  collection: TaxiiCollectionKey,
  authorityIds: string[] | null,
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const parts = authorityIds ? chunk(authorityIds, 90) : [null];
  for (const part of parts) {
    const filter = part ? sql` AND s.submitter_id IN ${part}` : sql``;
    const rows = await db.all<{ pid: string; seq: number }>(
      sql`SELECT s.submitter_id AS pid, min(c.seq) AS seq FROM submission_changes c JOIN submissions s ON s.id = c.submission_id WHERE ${startCond(collection)}${filter} GROUP BY s.submitter_id`,
    );
    for (const r of rows) out.set(r.pid, r.seq);
  }
  return out;
}

// ---- the STIX-id index (one-way UUIDv5 ids → submission and epoch) --------------------------

const INDEX_BATCH = 500;

/**
 * Brings `taxii_objects` up to the end of the change feed. Idempotent (INSERT OR IGNORE of
 * deterministic rows), so concurrent requests catching up at once are harmless.
 */
export async function catchUpIndex(db: Db, maxBatches = 40): Promise<void> {
  for (let b = 0; b < maxBatches; b++) {
    const state = await db
      .select({ seq: taxiiIndexState.seq })
      .from(taxiiIndexState)
      .where(eq(taxiiIndexState.name, "objects"))
      .get();
    const from = state?.seq ?? 0;
    const rows = await db.all<{ seq: number; submission_id: string }>(
      sql`SELECT seq, submission_id FROM submission_changes WHERE seq > ${from} ORDER BY seq LIMIT ${INDEX_BATCH}`,
    );
    if (rows.length === 0) return;
    const upTo = rows[rows.length - 1]!.seq;
    const ids = [...new Set(rows.map((r) => r.submission_id))];
    const red = new Set<string>();
    for (const part of chunk(ids, 90)) {
      for (const r of await db
        .select({ id: submissions.id, tlp: submissions.tlp })
        .from(submissions)
        .where(inArray(submissions.id, part))) {
        if (!isShareable(r)) red.add(r.id);
      }
    }
    const hist = await histories(db, ids);
    const values: (typeof taxiiObjects.$inferInsert)[] = [];
    for (const id of ids) {
      if (red.has(id)) continue;
      for (const collection of ["baseline", "submissions"] as const) {
        for (const v of versionsOf(collection, hist.get(id) ?? [])) {
          if (!v.first) continue;
          values.push({
            stixId: await indicatorId(collection, id, v.epoch),
            collection,
            submissionId: id,
            epoch: v.epoch,
            firstSeq: v.seq,
          });
        }
      }
    }
    const stmts = [
      // 5 columns per row: 19 rows per statement stays under D1's 100 bound parameters.
      ...chunk(values, 19).map((part) => db.insert(taxiiObjects).values(part).onConflictDoNothing()),
      db
        .insert(taxiiIndexState)
        .values({ name: "objects", seq: upTo })
        .onConflictDoUpdate({
          target: taxiiIndexState.name,
          set: { seq: sql`max(${taxiiIndexState.seq}, ${upTo})` },
        }),
    ];
    await db.batch(stmts as [(typeof stmts)[number], ...(typeof stmts)[number][]]);
    if (rows.length < INDEX_BATCH) return;
  }
}

// ---- walking a collection ----------------------------------------------------------------------

export type VersionFilter = { last: boolean; first: boolean; all: boolean; stamps: Set<string> };

export type Filter = {
  /** Only entries whose date_added is later than this (normalised RFC 3339, ms). */
  addedAfter?: string | undefined;
  ids?: Set<string> | undefined;
  types?: Set<string> | undefined;
  version: VersionFilter;
  /** False when match[spec_version] excludes 2.1: nothing matches. */
  specVersionOk: boolean;
};

export type Entry = {
  pos: number;
  dateAdded: string;
  id: string;
  type: string;
  version: string;
  object: StixObject;
};

export type Page = { entries: Entry[]; more: boolean; next: number | null };

/** Changes read per query, and at most this many per request before answering `more`. */
const SCAN_BATCH = 200;
const MAX_SCAN = 4000;

const PRELUDE_TYPES = new Set(["identity", "extension-definition", "marking-definition"]);

function versionMatches(v: VersionFilter, version: string, first: boolean, last: boolean): boolean {
  return v.all || (v.last && last) || (v.first && first) || v.stamps.has(version);
}

async function preludeObjects(): Promise<StixObject[]> {
  return [await networkIdentity(), await extensionDefinition(), ...SERVED_TLPS.map(tlpMarking)];
}

/** Ids of the objects that do not come from an entry (all have a single version). */
export async function preludeIds(): Promise<string[]> {
  return [await networkIdentityId(), await extensionId(), ...SERVED_TLPS.map((t) => TLP2_MARKINGS[t].id)];
}

/**
 * The SQL restriction for `match[id]` / `match[type]`: rows of the named submissions and the rows
 * that carry the named prelude or identity objects. Null = no restriction; "none" = no row can match.
 */
async function restriction(
  db: Db,
  collection: TaxiiCollectionKey,
  filter: Filter,
  first: number,
): Promise<ReturnType<typeof sql> | null | "none"> {
  const wantsIndicators = !filter.types || filter.types.has("indicator");
  if (!filter.ids && wantsIndicators) return null;
  const subIds = new Set<string>();
  const seqs = new Set<number>();
  const prelude = await preludeIds();
  if (filter.ids) {
    const ids = [...filter.ids];
    if (ids.some((id) => prelude.includes(id))) seqs.add(first);
    const indicatorIds = ids.filter((id) => id.startsWith("indicator--"));
    if (indicatorIds.length > 0 && wantsIndicators) {
      await catchUpIndex(db);
      for (const part of chunk(indicatorIds, 90)) {
        for (const r of await db
          .select({ submissionId: taxiiObjects.submissionId })
          .from(taxiiObjects)
          .where(and(inArray(taxiiObjects.stixId, part), eq(taxiiObjects.collection, collection)))) {
          subIds.add(r.submissionId);
        }
      }
    }
    if (ids.some((id) => id.startsWith("identity--"))) {
      for (const [pid, seq] of await identitySeqs(db, collection, null)) {
        if (filter.ids.has(await authorityIdentityId(pid))) seqs.add(seq);
      }
    }
  } else {
    // Only non-indicator types: the prelude row and the identity rows, never the whole feed.
    seqs.add(first);
    for (const seq of (await identitySeqs(db, collection, null)).values()) seqs.add(seq);
  }
  if (subIds.size === 0 && seqs.size === 0) return "none";
  const parts = [];
  if (subIds.size > 0) parts.push(sql`c.submission_id IN ${[...subIds]}`);
  if (seqs.size > 0) parts.push(sql`c.seq IN ${[...seqs]}`);
  return sql`(${sql.join(parts, sql` OR `)})`;
}

/**
 * One page of a collection after log position `after`, with the TAXII filters applied. Reads the
 * feed in batches; answers `more` with the last position read when the scan budget runs out
 * first, so a sparse filter still makes progress without one request reading everything.
 */
export async function walk(
  db: Db,
  collection: TaxiiCollectionKey,
  filter: Filter,
  after: number | null,
  limit: number,
): Promise<Page> {
  const first = await firstSeq(db, collection);
  if (first === null || !filter.specVersionOk) return { entries: [], more: false, next: null };
  const restrict = await restriction(db, collection, filter, first);
  if (restrict === "none") return { entries: [], more: false, next: null };
  const out: Entry[] = [];
  let fromSeq = after === null ? 0 : Math.floor(after / SLOTS);
  let scanned = 0;
  let lastPos: number | null = null;
  const typeOk = (t: string) => !filter.types || filter.types.has(t);
  const idOk = (id: string) => !filter.ids || filter.ids.has(id);
  const keep = (e: Entry, firstV: boolean, lastV: boolean) =>
    (after === null || e.pos > after) &&
    typeOk(e.type) &&
    idOk(e.id) &&
    versionMatches(filter.version, e.version, firstV, lastV);

  for (;;) {
    const rows = await db.all<{ seq: number; submission_id: string; at: string; submitter_id: string }>(
      sql`SELECT c.seq, c.submission_id, c.at, s.submitter_id FROM submission_changes c JOIN submissions s ON s.id = c.submission_id WHERE c.seq >= ${fromSeq} AND ${candidateCond(collection)}${filter.addedAfter ? sql` AND c.at > ${filter.addedAfter}` : sql``}${restrict ? sql` AND ${restrict}` : sql``} ORDER BY c.seq LIMIT ${SCAN_BATCH}`,
    );
    if (rows.length === 0) return { entries: out, more: false, next: null };
    const subIds = [...new Set(rows.map((r) => r.submission_id))];
    const authorityIds = [...new Set(rows.map((r) => r.submitter_id))];
    const [hist, subRows, idSeqs, people] = await Promise.all([
      histories(db, subIds),
      loadSubmissions(db, subIds),
      identitySeqs(db, collection, authorityIds),
      loadParticipants(db, authorityIds),
    ]);
    const versions = new Map<string, Map<number, Version>>();
    for (const id of subIds) {
      versions.set(id, new Map(versionsOf(collection, hist.get(id) ?? []).map((v) => [v.seq, v])));
    }
    for (const r of rows) {
      const at = stixTime(r.at);
      if (r.seq === first && (!filter.types || [...filter.types].some((t) => PRELUDE_TYPES.has(t)))) {
        const objs = await preludeObjects();
        objs.forEach((o, slot) => {
          const version = String(o.modified ?? o.created);
          const e = { pos: r.seq * SLOTS + slot, dateAdded: at, id: o.id, type: o.type, version, object: o };
          if (keep(e, true, true)) out.push(e);
        });
      }
      const person = people.get(r.submitter_id);
      if (idSeqs.get(r.submitter_id) === r.seq && person && typeOk("identity")) {
        const o = await authorityIdentity(person);
        const e = {
          pos: r.seq * SLOTS + SLOT_IDENTITY,
          dateAdded: at,
          id: o.id,
          type: o.type,
          version: String(o.modified),
          object: o,
        };
        if (keep(e, true, true)) out.push(e);
      }
      const v = versions.get(r.submission_id)?.get(r.seq);
      const sub = subRows.get(r.submission_id);
      if (v && sub && typeOk("indicator")) {
        const o = await indicator(v, sub);
        const e = {
          pos: r.seq * SLOTS + SLOT_INDICATOR,
          dateAdded: at,
          id: o.id,
          type: o.type,
          version: v.modified,
          object: o,
        };
        if (keep(e, v.first, v.last)) out.push(e);
      }
      lastPos = r.seq * SLOTS + (SLOTS - 1);
      if (out.length > limit) return { entries: out.slice(0, limit), more: true, next: out[limit - 1]!.pos };
    }
    scanned += rows.length;
    if (rows.length < SCAN_BATCH) return { entries: out, more: false, next: null };
    if (scanned >= MAX_SCAN) return { entries: out, more: true, next: lastPos };
    fromSeq = rows[rows.length - 1]!.seq + 1;
  }
}

async function loadSubmissions(db: Db, ids: string[]): Promise<Map<string, SubmissionRow>> {
  const out = new Map<string, SubmissionRow>();
  for (const part of chunk(ids, 90)) {
    for (const r of await db.select().from(submissions).where(inArray(submissions.id, part))) {
      out.set(r.id, r);
    }
  }
  return out;
}

async function loadParticipants(db: Db, ids: string[]): Promise<Map<string, ParticipantRow>> {
  const out = new Map<string, ParticipantRow>();
  for (const part of chunk(ids, 90)) {
    for (const r of await db.select().from(participants).where(inArray(participants.id, part))) {
      out.set(r.id, r);
    }
  }
  return out;
}
