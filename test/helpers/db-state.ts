// The whole database as numbers, for "this request changed nothing" assertions that do not go
// stale when a table is added: the row count of every table in sqlite_master, the AUTOINCREMENT
// counters (a rolled-back insert must not burn a sequence number), and the audit trail's length.
import { env } from "cloudflare:workers";
import { expect } from "vitest";

/** Every application table (SQLite's and Cloudflare's internal tables excluded). */
export async function allTables(): Promise<string[]> {
  const rows = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' ORDER BY name",
  ).all<{ name: string }>();
  return rows.results.map((r) => r.name);
}

export type DbState = Record<string, number>;

/** Row count of every table, `seq:<table>` for every AUTOINCREMENT counter, `audit:maxSeq`. */
export async function dbState(): Promise<DbState> {
  const tables = await allTables();
  const out: DbState = {};
  // One row of scalar subqueries per 50 tables (D1 caps compound SELECTs at a few terms).
  for (let i = 0; i < tables.length; i += 50) {
    const part = tables.slice(i, i + 50);
    const row = await env.DB.prepare(
      `SELECT ${part.map((t, j) => `(SELECT count(*) FROM "${t}") AS c${j}`).join(", ")}`,
    ).first<Record<string, number>>();
    part.forEach((t, j) => {
      out[t] = row?.[`c${j}`] ?? -1;
    });
  }
  const seqs = await env.DB.prepare("SELECT name, seq FROM sqlite_sequence").all<{
    name: string;
    seq: number;
  }>();
  for (const r of seqs.results) out[`seq:${r.name}`] = r.seq;
  const audit = await env.DB.prepare("SELECT coalesce(max(seq), 0) AS m FROM audit_log").first<{
    m: number;
  }>();
  out["audit:maxSeq"] = audit?.m ?? 0;
  return out;
}

/** Runs `send` and checks that not one row anywhere changed; answers the response. */
export async function unchanged(send: () => Promise<Response>, label = ""): Promise<Response> {
  const before = await dbState();
  const res = await send();
  // Read the body before comparing, so any work the request does while streaming is done.
  const body = await res.clone().arrayBuffer();
  void body;
  expect(await dbState(), `database changed by ${label}`).toEqual(before);
  return res;
}

/** The audit trail is gap-free: seq runs 1..n with no hole. */
export async function expectGapFreeAudit(): Promise<number> {
  const r = await env.DB.prepare(
    "SELECT count(*) AS n, coalesce(min(seq), 1) AS lo, coalesce(max(seq), 0) AS hi FROM audit_log",
  ).first<{
    n: number;
    lo: number;
    hi: number;
  }>();
  expect(r?.lo, "audit starts at 1").toBe(1);
  expect(r?.hi, "audit has no gap").toBe(r?.n);
  return r?.n ?? 0;
}
