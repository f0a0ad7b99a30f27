// What the TAXII collections read and keep besides the change feed (store/changes.ts): the
// STIX-id index (one-way UUIDv5 indicator ids → entry and epoch, brought up to the feed's end by
// taxii/feed.ts) and the entries and authorities the objects are made from. No Hono types here.
import type { TaxiiCollectionKey } from "@eusn/protocol";
import { and, eq, inArray, sql } from "drizzle-orm";
import { participants, submissions, taxiiIndexState, taxiiObjects } from "../../../schema/index.ts";
import { chunk, type Db } from "../lib/db.ts";
import type { SubmissionRow } from "../rules/baseline.ts";
import type { ParticipantRow } from "./participants.ts";

export type TaxiiObjectRow = typeof taxiiObjects.$inferInsert;

/** The feed position up to which the STIX-id index is complete (0 before the first catch-up). */
export async function indexedUpTo(db: Db): Promise<number> {
  const state = await db
    .select({ seq: taxiiIndexState.seq })
    .from(taxiiIndexState)
    .where(eq(taxiiIndexState.name, "objects"))
    .get();
  return state?.seq ?? 0;
}

/**
 * Adds index rows and moves the index position to `upTo`, in one batch. Idempotent (INSERT OR
 * IGNORE of deterministic rows, the position only grows), so concurrent catch-ups are harmless.
 */
export async function addToIndex(db: Db, values: TaxiiObjectRow[], upTo: number): Promise<void> {
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
}

/** The entries whose indicators in `collection` have these STIX ids. */
export async function entriesOfIndicators(
  db: Db,
  collection: TaxiiCollectionKey,
  stixIds: string[],
): Promise<Set<string>> {
  const out = new Set<string>();
  for (const part of chunk(stixIds, 90)) {
    for (const r of await db
      .select({ submissionId: taxiiObjects.submissionId })
      .from(taxiiObjects)
      .where(and(inArray(taxiiObjects.stixId, part), eq(taxiiObjects.collection, collection)))) {
      out.add(r.submissionId);
    }
  }
  return out;
}

/** The TLP of each of these entries (null when none was given), by id. */
export async function tlpsOf(db: Db, ids: string[]): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  for (const part of chunk(ids, 90)) {
    for (const r of await db
      .select({ id: submissions.id, tlp: submissions.tlp })
      .from(submissions)
      .where(inArray(submissions.id, part))) {
      out.set(r.id, r.tlp);
    }
  }
  return out;
}

/** These entries, by id. */
export async function submissionsById(db: Db, ids: string[]): Promise<Map<string, SubmissionRow>> {
  const out = new Map<string, SubmissionRow>();
  for (const part of chunk(ids, 90)) {
    for (const r of await db.select().from(submissions).where(inArray(submissions.id, part))) {
      out.set(r.id, r);
    }
  }
  return out;
}

/** These participants, by id. */
export async function participantsById(db: Db, ids: string[]): Promise<Map<string, ParticipantRow>> {
  const out = new Map<string, ParticipantRow>();
  for (const part of chunk(ids, 90)) {
    for (const r of await db.select().from(participants).where(inArray(participants.id, part))) {
      out.set(r.id, r);
    }
  }
  return out;
}
