// The workers project's files share one workerd (vitest.config.ts), so each starts on storage
// emptied by its setup file (test/helpers/apply-migrations.ts, test/helpers/empty-storage.ts).
// These tests check both halves: that this file found nothing a file before it left, and that
// emptying leaves nothing of any kind of binding once every kind holds something, an admission's
// rows and its rate-limit state, an evidence object and a Durable Object alarm among them.
import { listDurableObjectIds, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { emptyStorage, OBJECTS_SQL } from "../helpers/empty-storage.ts";
import { migrate } from "../helpers/migrate.ts";
import { admit, secondCoordinator } from "../helpers/node.ts";

type Bindings = Record<string, unknown>;
/** The test-only databases (vitest.config.ts), not in the Worker's Env. */
const extra = env as unknown as { DB_B: D1Database; NET_9: D1Database };
const bindings = Object.entries(env as unknown as Bindings);
const ofKind = (k: string) =>
  bindings.filter(
    ([, v]) => typeof v === "object" && v !== null && Object.getPrototypeOf(v).constructor.name === k,
  );

/** Rows per table of a database: the tables a fresh migration makes, with their seeded rows. */
async function rowCounts(db: D1Database): Promise<Record<string, number>> {
  const { results } = await db.prepare(OBJECTS_SQL).all<{ type: string; name: string }>();
  const out: Record<string, number> = {};
  for (const t of results.filter((o) => o.type === "table").map((o) => o.name)) {
    if (t === "d1_migrations") continue; // applied_at differs; the names are compared below
    const row = await db.prepare(`SELECT count(*) AS n FROM "${t}"`).first<{ n: number }>();
    out[t] = row?.n ?? -1;
  }
  return out;
}

/** Everything stored outside DB: tables of the other databases, objects, Durable Object state. */
async function leftovers(skip: readonly string[] = []): Promise<string[]> {
  const found: string[] = [];
  for (const [name, v] of ofKind("D1Database")) {
    if (skip.includes(name)) continue;
    const { results } = await (v as D1Database).prepare(OBJECTS_SQL).all<{ name: string }>();
    for (const r of results) found.push(`${name}: ${r.name}`);
  }
  for (const [name, v] of ofKind("R2Bucket")) {
    for (const o of (await (v as R2Bucket).list()).objects) found.push(`${name}: ${o.key}`);
  }
  for (const [name, v] of ofKind("DurableObjectNamespace")) {
    const ns = v as DurableObjectNamespace;
    for (const id of await listDurableObjectIds(ns)) {
      await runInDurableObject(ns.get(id), async (_i: unknown, state: DurableObjectState) => {
        const keys = [...(await state.storage.list()).keys()];
        const tables = [
          ...state.storage.sql.exec<{ name: string }>(
            "SELECT name FROM sqlite_master WHERE name NOT LIKE '_cf_%' AND name NOT LIKE 'sqlite_%'",
          ),
        ].map((r) => r.name);
        const alarm = await state.storage.getAlarm();
        for (const k of [...keys, ...tables]) found.push(`${name} ${id}: ${k}`);
        if (alarm !== null) found.push(`${name} ${id}: alarm`);
      });
    }
  }
  return found;
}

describe("each workers test file", () => {
  it("starts on a freshly migrated DB and nothing else stored, whatever ran before it", async () => {
    // NET_9 is migrated here, afresh, as the yardstick for DB.
    await migrate(extra.NET_9);
    expect(await rowCounts(env.DB)).toEqual(await rowCounts(extra.NET_9));
    const names = async (db: D1Database) =>
      (await db.prepare("SELECT name FROM d1_migrations ORDER BY id").all<{ name: string }>()).results;
    expect(await names(env.DB)).toEqual(await names(extra.NET_9));
    expect(await leftovers(["DB", "NET_9"])).toEqual([]);
  });

  it("is emptied before it starts: nothing of any binding is left once every kind holds something", async () => {
    // Something in every kind of binding: rows (an admission, countersigned), the rate limiter's
    // state for both coordinators, a second database, an evidence object, a Durable Object's
    // storage and alarm.
    await admit("authority", "NL");
    await secondCoordinator();
    await migrate(extra.DB_B);
    await env.EVIDENCE.put("left/behind", "bytes");
    const shard = env.MATCH_SHARD.get(env.MATCH_SHARD.idFromName("storage-reset"));
    await runInDurableObject(shard, async (_i: unknown, state: DurableObjectState) => {
      await state.storage.put("left", 1);
      await state.storage.setAlarm(Date.now() + 3_600_000);
    });
    const before = await leftovers();
    for (const kind of ["DB:", "DB_B:", "EVIDENCE:", "RATE_LIMITER", "MATCH_SHARD"])
      expect(
        before.some((l) => l.startsWith(kind)),
        kind,
      ).toBe(true);
    expect(before.some((l) => l.startsWith("MATCH_SHARD") && l.endsWith(": alarm"))).toBe(true);

    await emptyStorage();
    expect(await leftovers()).toEqual([]);
    // The next file's setup migrates DB again; so does this file, for any test after this one.
    await migrate(env.DB);
  });
});
