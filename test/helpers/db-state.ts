// The whole database as numbers, for "this request changed nothing" assertions that do not go
// stale when a table is added: the row count of every table in sqlite_master, the AUTOINCREMENT
// counters (a rolled-back insert must not burn a sequence number), and the audit trail's length.
import { env } from "cloudflare:workers";
import { expect } from "vitest";

const TABLES_SQL =
  "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' ORDER BY name";

/** Every application table (SQLite's and Cloudflare's internal tables excluded). */
export async function allTables(): Promise<string[]> {
  const rows = await env.DB.prepare(TABLES_SQL).all<{ name: string }>();
  return rows.results.map((r) => r.name);
}

export type DbState = Record<string, number>;

/** Scalar subqueries per statement (D1 caps compound SELECTs at a few terms; these are columns). */
const CHUNK = 50;
/** The table list the counting statements were built for; rebuilt whenever it no longer holds. */
let known: { tables: string[]; statements: D1PreparedStatement[] } | undefined;

function countingStatements(tables: string[]): D1PreparedStatement[] {
  const statements: D1PreparedStatement[] = [];
  for (let i = 0; i < Math.max(tables.length, 1); i += CHUNK) {
    const cols = tables.slice(i, i + CHUNK).map((t, j) => `(SELECT count(*) FROM "${t}") AS c${i + j}`);
    // The first statement also reads the current table list, the AUTOINCREMENT counters and the
    // audit trail's length: the whole state is one D1 round trip, not four.
    if (i === 0)
      cols.unshift(
        `(SELECT json_group_array(name) FROM (${TABLES_SQL})) AS tables`,
        "(SELECT json_group_array(json_array(name, seq)) FROM sqlite_sequence) AS seqs",
        "(SELECT coalesce(max(seq), 0) FROM audit_log) AS audit",
      );
    statements.push(env.DB.prepare(`SELECT ${cols.join(", ")}`));
  }
  return statements;
}

/** One D1 round trip; "stale" when the statements no longer fit the database's tables. */
async function readState(k: NonNullable<typeof known>, fresh: boolean): Promise<DbState | "stale"> {
  let rows: (Record<string, unknown> | null)[];
  try {
    rows =
      k.statements.length === 1
        ? [await k.statements[0]!.first<Record<string, unknown>>()]
        : (await env.DB.batch<Record<string, unknown>>(k.statements)).map((r) => r.results[0] ?? null);
  } catch (e) {
    // With statements built from an older list, a dropped table fails the read: rebuild them.
    if (fresh) throw e;
    return "stale";
  }
  const head = rows[0] ?? {};
  const now = (JSON.parse(String(head.tables ?? "[]")) as string[]).sort();
  if (now.join("\n") !== [...k.tables].sort().join("\n")) return "stale";
  const out: DbState = {};
  k.tables.forEach((t, i) => {
    const v = rows[Math.floor(i / CHUNK)]?.[`c${i}`];
    out[t] = typeof v === "number" ? v : -1;
  });
  for (const [name, seq] of JSON.parse(String(head.seqs)) as [string, number][]) out[`seq:${name}`] = seq;
  out["audit:maxSeq"] = typeof head.audit === "number" ? head.audit : 0;
  return out;
}

/**
 * Row count of every table, `seq:<table>` for every AUTOINCREMENT counter, `audit:maxSeq`.
 * The statements are built once per table list and checked against the current list on every
 * call, so a table added or dropped since is counted (or missed) exactly as a fresh read would.
 */
export async function dbState(): Promise<DbState> {
  if (known) {
    const state = await readState(known, false);
    if (state !== "stale") return state;
  }
  const tables = await allTables();
  known = { tables, statements: countingStatements(tables) };
  const state = await readState(known, true);
  if (state === "stale") throw new Error("dbState: the table list changed while it was being read");
  return state;
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
