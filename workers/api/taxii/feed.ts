// The TAXII collections as ordered logs over the submission change feed. Every STIX version sits
// at a fixed log position derived from `submission_changes.seq`, so paging by position never
// skips or repeats an object while new changes arrive (they only ever get higher positions).
// Design and the state machines: docs/taxii.md "Collections as logs".
import { type TaxiiCollectionKey, TLP2_MARKINGS } from "@eusn/protocol";
import type { Db } from "../lib/db.ts";
import { tlpAllowsSharing } from "../rules/baseline.ts";
import {
  type ChangeRow,
  type CollectionRestriction,
  changeHistories,
  changesAfter,
  collectionChanges,
  collectionStart,
  identityPositions,
} from "../store/changes.ts";
import {
  addToIndex,
  entriesOfIndicators,
  indexedUpTo,
  participantsById,
  submissionsById,
  type TaxiiObjectRow,
  tlpsOf,
} from "../store/taxii.ts";
import { videosOf } from "../store/videos.ts";
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

// ---- the STIX-id index (one-way UUIDv5 ids → submission and epoch) --------------------------

const INDEX_BATCH = 500;

/**
 * Brings `taxii_objects` up to the end of the change feed. Idempotent (INSERT OR IGNORE of
 * deterministic rows), so concurrent requests catching up at once are harmless.
 */
export async function catchUpIndex(db: Db, maxBatches = 40): Promise<void> {
  for (let b = 0; b < maxBatches; b++) {
    const rows = await changesAfter(db, await indexedUpTo(db), INDEX_BATCH);
    if (rows.length === 0) return;
    const upTo = rows[rows.length - 1]!.seq;
    const ids = [...new Set(rows.map((r) => r.submission_id))];
    const tlps = await tlpsOf(db, ids);
    const hist = await changeHistories(db, ids);
    const values: TaxiiObjectRow[] = [];
    for (const id of ids) {
      if (!tlpAllowsSharing({ tlp: tlps.get(id) ?? null })) continue;
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
    await addToIndex(db, values, upTo);
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
): Promise<CollectionRestriction | "none"> {
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
      for (const id of await entriesOfIndicators(db, collection, indicatorIds)) subIds.add(id);
    }
    if (ids.some((id) => id.startsWith("identity--"))) {
      for (const [pid, seq] of await identityPositions(db, collection, null)) {
        if (filter.ids.has(await authorityIdentityId(pid))) seqs.add(seq);
      }
    }
  } else {
    // Only non-indicator types: the prelude row and the identity rows, never the whole feed.
    seqs.add(first);
    for (const seq of (await identityPositions(db, collection, null)).values()) seqs.add(seq);
  }
  if (subIds.size === 0 && seqs.size === 0) return "none";
  return { submissionIds: [...subIds], seqs: [...seqs] };
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
  const first = await collectionStart(db, collection);
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
    const rows = await collectionChanges(db, collection, fromSeq, filter.addedAfter, restrict, SCAN_BATCH);
    if (rows.length === 0) return { entries: out, more: false, next: null };
    const subIds = [...new Set(rows.map((r) => r.submission_id))];
    const authorityIds = [...new Set(rows.map((r) => r.submitter_id))];
    const [hist, subRows, idSeqs, people] = await Promise.all([
      changeHistories(db, subIds),
      submissionsById(db, subIds),
      identityPositions(db, collection, authorityIds),
      participantsById(db, authorityIds),
    ]);
    // Video entries' frames, for their indicators' extension.
    const videoIds = [...subRows.values()].filter((s) => s.signalType === "vpdq").map((s) => s.id);
    const videos = videoIds.length > 0 && typeOk("indicator") ? await videosOf(db, videoIds) : new Map();
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
        const o = await indicator(v, sub, videos.get(sub.id));
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
