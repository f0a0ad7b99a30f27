// The drizzle handle over the D1 binding.
import { getTableColumns, is, SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { drizzle } from "drizzle-orm/d1";
import { SQLiteAsyncDialect, type SQLiteTable } from "drizzle-orm/sqlite-core";
import * as schema from "../../../schema/index.ts";

function handle(d1: D1Database) {
  return drizzle(d1, { schema });
}
export type Db = ReturnType<typeof handle>;

/**
 * One handle per binding for the isolate's life: drizzle reads the whole schema's relations when
 * a handle is made, which was a measurable share of a request's CPU when done per request
 * (a CPU profile of the ingest showed it). A handle holds no per-request state (D1 has no open transactions).
 */
const handles = new WeakMap<D1Database, Db>();
export function db(d1: D1Database): Db {
  let h = handles.get(d1);
  if (!h) {
    h = handle(d1);
    handles.set(d1, h);
  }
  return h;
}

/** Statements for one D1 batch (atomic: all of them land or none). */
export type DomainStatements = BatchItem<"sqlite">[];

/**
 * `INSERT INTO table (every column) SELECT <values, in column order> <tail>` as a batchable
 * drizzle statement, for rows whose existence or content is decided in SQL inside a write's batch
 * (drizzle cannot batch a raw statement with bound parameters on D1). Columns without a value get
 * their default, or NULL (an AUTOINCREMENT key then takes its next value).
 */
export function insertSelect<T extends SQLiteTable>(
  d: Db,
  table: T,
  values: Partial<Record<keyof T["_"]["columns"], SQL>>,
  tail: SQL,
) {
  // The same columns, in the same order, as drizzle's own column list for the INSERT.
  const cols = Object.entries(getTableColumns(table)).filter(
    ([, col]) => !(col as unknown as { shouldDisableInsert(): boolean }).shouldDisableInsert(),
  );
  const list = cols.map(([key, col]) => {
    const v = (values as Record<string, SQL | undefined>)[key];
    if (v) return v;
    if (col.default !== undefined && col.default !== null)
      return is(col.default, SQL) ? col.default : sql.param(col.default, col);
    return sql`NULL`;
  });
  return d.insert(table).select(sql`SELECT ${sql.join(list, sql`, `)} ${tail}`);
}

/** Splits `items` into parts of `size`: D1 binds at most 100 parameters per statement. */
export function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

const dialect = new SQLiteAsyncDialect();

/**
 * A drizzle `sql` query as a D1 prepared statement, for read-only statements that go into one
 * `D1Database.batch` round trip (drizzle's own batch does not take raw `sql` queries on D1).
 */
export function prepared(d1: D1Database, query: SQL): D1PreparedStatement {
  const q = dialect.sqlToQuery(query);
  return d1.prepare(q.sql).bind(...q.params);
}
