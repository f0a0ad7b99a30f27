// Empties every stateful binding the workers tests' Worker has: every Durable Object (running
// instances, storage and alarms), every D1 database's tables and every R2 bucket's objects. The
// workers project's files share a workerd (vitest.config.ts), so its setup file
// (apply-migrations.ts) runs this before each file; test/api/storage-reset.test.ts fills every
// kind of binding and checks that nothing is left.
import { abortAllDurableObjects, listDurableObjectIds, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";

export const OBJECTS_SQL =
  "SELECT type, name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'";

/** Binding kinds that hold no state of their own: plain values and the test pool's services. */
const STATELESS = new Set(["string", "Array", "Object", "Fetcher", "UnsafeEval", "ColoLocalActorNamespace"]);

/** A binding's kind, as workerd names its class (D1Database, R2Bucket, DurableObjectNamespace …). */
function kind(v: unknown): string {
  return typeof v === "object" && v !== null ? (Object.getPrototypeOf(v)?.constructor?.name ?? "") : typeof v;
}

/**
 * Deletes every object's storage and alarm. (cloudflare:test's reset() leaves these SQLite-backed
 * objects' storage in place.) An emptied object stays listed, so this visits every object any
 * earlier file made: all at once, since each visit is a round trip rather than work.
 */
async function emptyDurableObjects(ns: DurableObjectNamespace): Promise<void> {
  const ids = await listDurableObjectIds(ns);
  await Promise.all(
    ids.map((id) =>
      runInDurableObject(ns.get(id), async (_instance: unknown, state: DurableObjectState) => {
        await state.storage.deleteAlarm();
        await state.storage.deleteAll();
      }),
    ),
  );
}

/** Drops every view and table (their indexes and triggers go with them) in one transaction. */
async function emptyD1(name: string, db: D1Database): Promise<void> {
  const { results } = await db.prepare(OBJECTS_SQL).all<{ type: "table" | "view"; name: string }>();
  if (results.length === 0) return;
  // DROP TABLE drops a table's triggers (the append-only ones included) before deleting its
  // rows; deferred foreign keys let the tables go in any order.
  await db.batch([
    db.prepare("PRAGMA defer_foreign_keys = on"),
    ...results.filter((o) => o.type === "view").map((o) => db.prepare(`DROP VIEW "${o.name}"`)),
    ...results.filter((o) => o.type === "table").map((o) => db.prepare(`DROP TABLE "${o.name}"`)),
  ]);
  if ((await db.prepare(OBJECTS_SQL).all()).results.length > 0) throw new Error(`${name} still has tables`);
}

/** Deletes every object, a page at a time, until a listing comes back empty. */
async function emptyR2(bucket: R2Bucket): Promise<void> {
  for (
    let page = await bucket.list({ limit: 1000 });
    page.objects.length > 0;
    page = await bucket.list({ limit: 1000 })
  )
    await bucket.delete(page.objects.map((o) => o.key));
}

/**
 * Empties every binding of env; throws, before touching anything, on a binding of a kind it does
 * not know how to empty (a KV namespace or a queue added to wrangler.toml must be added here).
 */
export async function emptyStorage(): Promise<void> {
  const bindings = Object.entries(env as unknown as Record<string, unknown>).map(([name, v]) => ({
    name,
    v,
    kind: kind(v),
  }));
  for (const b of bindings) {
    if (!["D1Database", "R2Bucket", "DurableObjectNamespace"].includes(b.kind) && !STATELESS.has(b.kind))
      throw new Error(
        `binding ${b.name} (${b.kind}): test/helpers/empty-storage.ts does not know how to empty it`,
      );
  }
  // Objects first, stopped before and after (emptying instantiates them): an alarm or a build
  // left by the file before must not run against the databases while they are being emptied.
  await abortAllDurableObjects();
  for (const b of bindings)
    if (b.kind === "DurableObjectNamespace") await emptyDurableObjects(b.v as DurableObjectNamespace);
  await abortAllDurableObjects();
  for (const b of bindings) {
    if (b.kind === "D1Database") await emptyD1(b.name, b.v as D1Database);
    else if (b.kind === "R2Bucket") await emptyR2(b.v as R2Bucket);
  }
}
