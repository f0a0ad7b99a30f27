// The facts the record read policy (rules/record-access.ts) needs, loaded for a page of records in
// one query, and the policy applied to them: for every route that serves signed records.
import { sql } from "drizzle-orm";
import { chunk, type Db } from "../lib/db.ts";
import { type Reader, type RecordFacts, readRefusal, SIGNAL_RECORD_KINDS } from "../rules/record-access.ts";

export type ServedRecord = { id: string; kind: string; issuer: string | null };

/**
 * For each record (by id): why `reader` may not read its bytes, or undefined when it may. Signal
 * records are judged with their signal's state now (live, unexpired, handed to the reader).
 */
export async function readRefusals(
  db: Db,
  reader: Reader,
  rows: readonly ServedRecord[],
  nowS: number = Math.floor(Date.now() / 1000),
): Promise<Map<string, string | undefined>> {
  const signalIds = rows.filter((r) => SIGNAL_RECORD_KINDS.has(r.kind)).map((r) => r.id);
  const signals = new Map<string, NonNullable<RecordFacts["signal"]>>();
  const me = "participantId" in reader ? reader.participantId : "";
  for (const part of chunk(signalIds, 90)) {
    const ids = JSON.stringify(part);
    const found = await db.all<{
      rid: string;
      origin_id: string;
      status: string;
      expires_at: number;
      handed: number;
    }>(
      sql`SELECT x.rid, s.origin_id, s.status, s.expires_at,
            EXISTS (SELECT 1 FROM signal_fetches f WHERE f.platform_id = ${me} AND f.signal_id = s.id) AS handed
          FROM (SELECT s.record_id AS rid, s.id AS sid FROM signals s
                 WHERE s.record_id IN (SELECT value FROM json_each(${ids}))
                UNION ALL
                SELECT v.record_id, v.signal_id FROM signal_reversals v
                 WHERE v.record_id IN (SELECT value FROM json_each(${ids}))) x
          JOIN signals s ON s.id = x.sid`,
    );
    for (const f of found) {
      const unexpired = f.expires_at > nowS;
      signals.set(f.rid, {
        originId: f.origin_id,
        unexpired,
        live: unexpired && f.status === "active",
        handedToReader: !!f.handed,
      });
    }
  }
  const out = new Map<string, string | undefined>();
  for (const r of rows) {
    const facts: RecordFacts = SIGNAL_RECORD_KINDS.has(r.kind)
      ? { kind: r.kind, issuer: r.issuer, signal: signals.get(r.id) ?? null }
      : { kind: r.kind, issuer: r.issuer };
    out.set(r.id, readRefusal(reader, facts));
  }
  return out;
}
