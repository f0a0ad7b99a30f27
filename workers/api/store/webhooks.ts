// Webhooks' queries: the registered webhooks and their deliveries as participants read them, the
// fan-out that turns the node's events (the submission change feed, targeted signals, baseline
// versions) into signed deliveries, and the bookkeeping of attempts. Signing and sending live in
// webhooks/dispatcher.ts. No Hono types here.
import {
  newId,
  REVERSAL_CHANGES,
  type WebhookDeliveryClaims,
  type WebhookDeliveryState,
  type WebhookDeliveryView,
  type WebhookEvent,
  type WebhookView,
} from "@eusn/protocol";
import { and, asc, desc, eq, gt, inArray, isNotNull, isNull, lt, lte, sql } from "drizzle-orm";
import {
  participants,
  signals,
  submissionChanges,
  submissionMatches,
  webhookCursors,
  webhookDeliveries,
  webhooks,
} from "../../../schema/index.ts";
import { chunk, type Db, type DomainStatements, insertSelect } from "../lib/db.ts";
import { nowIso } from "../lib/encoding.ts";
import { foldMatches } from "./match.ts";

export type WebhookRow = typeof webhooks.$inferSelect;
export type DeliveryRow = typeof webhookDeliveries.$inferSelect;

export async function webhookById(db: Db, id: string): Promise<WebhookRow | undefined> {
  return db.select().from(webhooks).where(eq(webhooks.id, id)).get();
}

export async function activeWebhooksOf(db: Db, participantId: string): Promise<WebhookRow[]> {
  return db
    .select()
    .from(webhooks)
    .where(and(eq(webhooks.participantId, participantId), isNull(webhooks.removedAt)));
}

/**
 * The cursors start at the sources' ends when the first webhook is registered (in that record's
 * batch): deliveries are made for what happens from then on, never for the node's history.
 */
export function initCursorStatements(db: Db): DomainStatements {
  return [
    insertSelect(
      db,
      webhookCursors,
      { source: sql`'changes'`, seq: sql`coalesce(max(seq), 0)` },
      // "WHERE true": SQLite reads ON CONFLICT after a bare SELECT … FROM as a join constraint.
      sql`FROM submission_changes WHERE true`,
    ).onConflictDoNothing(),
    insertSelect(
      db,
      webhookCursors,
      { source: sql`'signals'`, seq: sql`coalesce(max(seq), 0)` },
      sql`FROM signals WHERE true`,
    ).onConflictDoNothing(),
    insertSelect(
      db,
      webhookCursors,
      { source: sql`'baseline'`, seq: sql`coalesce(max(seq), 0)` },
      sql`FROM submission_changes WHERE affects_baseline = 1`,
    ).onConflictDoNothing(),
  ];
}

function toView(w: WebhookRow, counts: Map<string, number>): WebhookView {
  const n = (s: WebhookDeliveryState) => counts.get(`${w.id}|${s}`) ?? 0;
  return {
    id: w.id,
    participantId: w.participantId,
    url: w.url,
    events: JSON.parse(w.events) as WebhookEvent[],
    label: w.label,
    createdAt: w.createdAt,
    recordId: w.recordId,
    removedAt: w.removedAt,
    status: w.removedAt ? "removed" : "active",
    deliveries: { pending: n("pending"), delivered: n("delivered"), failed: n("failed") },
  };
}

/** A participant's webhooks (removed ones too, newest first) with their deliveries counted by state. */
export async function listWebhooks(db: Db, participantId: string): Promise<WebhookView[]> {
  const rows = await db
    .select()
    .from(webhooks)
    .where(eq(webhooks.participantId, participantId))
    .orderBy(desc(webhooks.createdAt), desc(webhooks.id));
  const counts = new Map<string, number>();
  if (rows.length) {
    for (const c of await db
      .select({ id: webhookDeliveries.webhookId, state: webhookDeliveries.state, n: sql<number>`count(*)` })
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.participantId, participantId))
      .groupBy(webhookDeliveries.webhookId, webhookDeliveries.state)) {
      counts.set(`${c.id}|${c.state}`, c.n);
    }
  }
  return rows.map((r) => toView(r, counts));
}

function deliveryView(d: DeliveryRow): WebhookDeliveryView {
  return {
    id: d.id,
    webhookId: d.webhookId,
    event: d.event as WebhookEvent,
    subject: d.subject,
    state: d.state,
    attempts: d.attempts,
    createdAt: d.createdAt,
    lastAttemptAt: d.lastAttemptAt,
    lastStatus: d.lastStatus,
    lastError: d.lastError,
    nextAttemptAt: d.state === "pending" && d.nextAttemptAt !== null ? nowIso(d.nextAttemptAt) : null,
    deliveredAt: d.deliveredAt,
    jws: d.jws,
  };
}

/** A webhook's deliveries, newest first. */
export async function listDeliveries(
  db: Db,
  webhookId: string,
  q: { state?: WebhookDeliveryState | undefined; limit: number },
): Promise<WebhookDeliveryView[]> {
  const rows = await db
    .select()
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.webhookId, webhookId),
        q.state ? eq(webhookDeliveries.state, q.state) : undefined,
      ),
    )
    .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
    .limit(q.limit);
  return rows.map(deliveryView);
}

// ---- fan-out ----------------------------------------------------------------------------------

/** Most events one turn reads from each source; the next turn continues from the cursor. */
const FANOUT_BATCH = 200;

type Subscriber = { id: string; participantId: string; role: string; events: WebhookEvent[] };

/** An event owed to one webhook, before it is signed. */
export type PlannedDelivery = {
  id: string;
  webhook: Subscriber;
  event: WebhookDeliveryClaims["event"];
};

/**
 * The deliveries owed for the events after the cursors, and the cursors after them. Nothing
 * happens before the first webhook was registered (no cursors). A revoked participant's
 * webhooks receive nothing.
 */
export async function planFanOut(db: Db): Promise<{
  planned: PlannedDelivery[];
  before: Record<string, number>;
  cursors: Record<string, number>;
} | null> {
  const cursorRows = await db.select().from(webhookCursors);
  if (cursorRows.length === 0) return null;
  const cursor = Object.fromEntries(cursorRows.map((r) => [r.source, r.seq])) as Record<string, number>;
  const subs: Subscriber[] = (
    await db
      .select({
        id: webhooks.id,
        participantId: webhooks.participantId,
        role: participants.role,
        events: webhooks.events,
      })
      .from(webhooks)
      .innerJoin(participants, eq(participants.id, webhooks.participantId))
      .where(and(isNull(webhooks.removedAt), eq(participants.status, "active")))
  ).map((s) => ({ ...s, events: JSON.parse(s.events) as WebhookEvent[] }));
  const wants = (e: WebhookEvent) => subs.filter((s) => s.events.includes(e));
  const planned: PlannedDelivery[] = [];
  const next = { ...cursor };

  // Entries withdrawn, reversed or excluded: to authorities and coordinators, and to the platforms
  // that matched the entry (those GET /v1/reversals lists it for).
  const changes = await db
    .select()
    .from(submissionChanges)
    .where(gt(submissionChanges.seq, cursor.changes ?? 0))
    .orderBy(asc(submissionChanges.seq))
    .limit(FANOUT_BATCH);
  const ended = changes.filter((c) => (REVERSAL_CHANGES as readonly string[]).includes(c.change));
  const reversalSubs = wants("entry.reversed");
  if (ended.length && reversalSubs.length) {
    await foldMatches(db.$client);
    const matched = new Set<string>();
    for (const part of chunk([...new Set(ended.map((c) => c.submissionId))], 90)) {
      for (const m of await db
        .select({ s: submissionMatches.submissionId, p: submissionMatches.platformId })
        .from(submissionMatches)
        .where(inArray(submissionMatches.submissionId, part)))
        matched.add(`${m.s}|${m.p}`);
    }
    for (const c of ended) {
      for (const s of reversalSubs) {
        if (s.role === "platform" && !matched.has(`${c.submissionId}|${s.participantId}`)) continue;
        planned.push({
          id: newId("delivery"),
          webhook: s,
          event: {
            type: "entry.reversed",
            subject: c.submissionId,
            change: c.change,
            recordId: c.recordId,
            at: c.at,
          },
        });
      }
    }
  }
  if (changes.length) next.changes = changes[changes.length - 1]!.seq;

  // A new baseline version: one event with the latest version this turn saw.
  const baselineChanges = changes.filter((c) => c.affectsBaseline && c.seq > (cursor.baseline ?? 0));
  const latest = baselineChanges[baselineChanges.length - 1];
  if (latest) {
    for (const s of wants("baseline.version"))
      planned.push({
        id: newId("delivery"),
        webhook: s,
        event: {
          type: "baseline.version",
          subject: String(latest.seq),
          change: null,
          recordId: latest.recordId,
          at: latest.at,
        },
      });
    next.baseline = latest.seq;
  }

  // Migration signals targeted at a platform: to that platform only.
  const sigs = await db
    .select({
      seq: signals.seq,
      id: signals.id,
      target: signals.targetPlatformId,
      createdAt: signals.createdAt,
      recordId: signals.recordId,
    })
    .from(signals)
    .where(gt(signals.seq, cursor.signals ?? 0))
    .orderBy(asc(signals.seq))
    .limit(FANOUT_BATCH);
  const signalSubs = wants("signal.targeted").filter((s) => s.role === "platform");
  for (const g of sigs) {
    if (!g.target) continue;
    for (const s of signalSubs.filter((x) => x.participantId === g.target))
      planned.push({
        id: newId("delivery"),
        webhook: s,
        event: {
          type: "signal.targeted",
          subject: g.id,
          change: null,
          recordId: g.recordId,
          at: nowIso(g.createdAt * 1000),
        },
      });
  }
  if (sigs.length) next.signals = sigs[sigs.length - 1]!.seq;
  return { planned, before: cursor, cursors: next };
}

/**
 * Stores the signed deliveries and moves the cursors, in one batch: either both land or neither
 * (a failed batch is planned again on the next turn). The dispatcher's alarm is the only caller,
 * and alarms of one object never overlap, so no two turns plan the same events.
 */
export async function commitFanOut(
  db: Db,
  before: Record<string, number>,
  after: Record<string, number>,
  deliveries: { planned: PlannedDelivery; jws: string }[],
  nowMs: number,
): Promise<void> {
  const now = nowIso(nowMs);
  const rows = deliveries.map(({ planned: p, jws }) => ({
    id: p.id,
    webhookId: p.webhook.id,
    participantId: p.webhook.participantId,
    event: p.event.type,
    subject: p.event.subject,
    jws,
    state: "pending" as const,
    attempts: 0,
    nextAttemptAt: nowMs,
    createdAt: now,
  }));
  const statements: DomainStatements = [];
  for (const [source, seq] of Object.entries(after)) {
    if (seq !== before[source])
      statements.push(db.update(webhookCursors).set({ seq }).where(eq(webhookCursors.source, source)));
  }
  // Ten parameters a row: nine rows a statement stays under D1's 100 bound parameters.
  for (const part of chunk(rows, 9)) statements.push(db.insert(webhookDeliveries).values(part));
  if (statements.length === 0) return;
  await db.batch(statements as [DomainStatements[number], ...DomainStatements]);
}

// ---- attempts -----------------------------------------------------------------------------------

export type DueDelivery = DeliveryRow & { url: string; removedAt: string | null };

/** Pending deliveries due at `nowMs`, oldest first, with their webhook's URL. */
export async function dueDeliveries(db: Db, nowMs: number, limit: number): Promise<DueDelivery[]> {
  const rows = await db
    .select({ d: webhookDeliveries, url: webhooks.url, removedAt: webhooks.removedAt })
    .from(webhookDeliveries)
    .innerJoin(webhooks, eq(webhooks.id, webhookDeliveries.webhookId))
    .where(and(eq(webhookDeliveries.state, "pending"), lte(webhookDeliveries.nextAttemptAt, nowMs)))
    .orderBy(asc(webhookDeliveries.nextAttemptAt), asc(webhookDeliveries.id))
    .limit(limit);
  return rows.map((r) => ({ ...r.d, url: r.url, removedAt: r.removedAt }));
}

export type AttemptOutcome = {
  state: WebhookDeliveryState;
  attempts: number;
  status: number | null;
  error: string | null;
  nextAttemptAt: number | null;
  at: number;
};

/** Records one attempt's outcome (only while the delivery is still pending). */
export async function recordAttempt(db: Db, id: string, o: AttemptOutcome): Promise<void> {
  await db
    .update(webhookDeliveries)
    .set({
      state: o.state,
      attempts: o.attempts,
      lastStatus: o.status,
      lastError: o.error,
      lastAttemptAt: nowIso(o.at),
      nextAttemptAt: o.nextAttemptAt,
      ...(o.state === "delivered" ? { deliveredAt: nowIso(o.at) } : {}),
    })
    .where(and(eq(webhookDeliveries.id, id), eq(webhookDeliveries.state, "pending")));
}

/** When the next pending delivery is due (unix ms), or null. */
export async function nextDueAt(db: Db): Promise<number | null> {
  const row = await db
    .select({ at: sql<number | null>`min(${webhookDeliveries.nextAttemptAt})` })
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.state, "pending"), isNotNull(webhookDeliveries.nextAttemptAt)))
    .get();
  return row?.at ?? null;
}

/** Deletes finished deliveries (delivered or failed) created before `beforeIso`. */
export async function purgeDeliveries(db: Db, beforeIso: string): Promise<void> {
  await db
    .delete(webhookDeliveries)
    .where(
      and(
        inArray(webhookDeliveries.state, ["delivered", "failed"]),
        lt(webhookDeliveries.createdAt, beforeIso),
      ),
    );
}
