// The match shard inside workerd: its WebAssembly kernel (imported precompiled, as Workers
// require) answers exactly as the JavaScript fallback; and its snapshot, the serialized index in
// the shard's own storage, brings a restarted shard back without paging D1, while a corrupt,
// foreign or stale snapshot is refused and rebuilt from D1, never trusted.

import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { MatchIndex, type MatchStrategy } from "@eusn/match";
import scanModule from "@eusn/match/scan.wasm";
import type { SubmitResult } from "@eusn/protocol";
import { beforeAll, describe, expect, it } from "vitest";
import type { MatchShard, ShardHit } from "../../workers/api/match/shard.ts";
import { flipBits, pdqItem, randomPdq, rng } from "../helpers/hashes.ts";
import { type Admitted, admit } from "../helpers/node.ts";

const r = rng(4242);
let nl: Admitted;

beforeAll(async () => {
  nl = await admit("authority", "NL");
});

async function submit(values: string[]): Promise<string[]> {
  const res = await nl.client.write<SubmitResult>("/v1/submissions", "submission.create", {
    items: values.map((v) => pdqItem(v)),
  });
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
  return res.data.submissions.map((s) => s.id);
}

async function withdraw(id: string) {
  const res = await nl.client.write(`/v1/submissions/${id}/withdraw`, "submission.withdraw", {
    submissionId: id,
    reason: "entered in error",
  });
  expect(res.status).toBe(201);
}

const shardNamed = (name: string) => env.MATCH_SHARD.get(env.MATCH_SHARD.idFromName(name));
const ask = (values: string[]) => values.map((v) => ({ type: "pdq" as const, values: [v] }));

/** Shard hits as submission ids per query, sorted (shards answer with match keys). */
async function byItem(hits: ShardHit[], n: number): Promise<string[][]> {
  const keys = [...new Set(hits.map((h) => h.key))];
  const found = await env.DB.prepare(
    "SELECT id, match_key FROM submissions WHERE match_key IN (SELECT value FROM json_each(?))",
  )
    .bind(JSON.stringify(keys))
    .all<{ id: string; match_key: number }>();
  const idOf = new Map(found.results.map((x) => [x.match_key, x.id]));
  const out: string[][] = Array.from({ length: n }, () => []);
  for (const h of hits) out[h.item]!.push(idOf.get(h.key) ?? `unknown key ${h.key}`);
  return out.map((x) => x.sort());
}

describe("the WebAssembly kernel in workerd", () => {
  it("is what the shard runs, imported as a precompiled module", async () => {
    expect(scanModule).toBeInstanceOf(WebAssembly.Module);
    const stub = shardNamed(`kernel-${crypto.randomUUID()}`);
    await stub.query(0, 1, ask([randomPdq(r)]), 31);
    expect((await stub.stats(0, 1)).kernel).toBe("wasm");
  });

  it("answers exactly as the JS path: every strategy and threshold, base, delta, removals, compaction", () => {
    // Uniform entries and clustered families (variants at 0-40 bits of a centre), 6,000 in all.
    const rnd = rng(77);
    const entries: { id: string; type: "pdq"; value: string }[] = [];
    for (let i = 0; i < 3_000; i++) entries.push({ id: `u${i}`, type: "pdq", value: randomPdq(rnd) });
    for (let c = 0; c < 60; c++) {
      const centre = randomPdq(rnd);
      for (let v = 0; v < 50; v++)
        entries.push({ id: `c${c}-${v}`, type: "pdq", value: flipBits(centre, Math.floor(rnd() * 41), rnd) });
    }
    const build = (withKernel: boolean) => {
      const built = MatchIndex.build(entries.slice(0, 5_000), withKernel ? { scanModule } : {});
      if (!built.ok) throw new Error(built.error.message);
      const index = built.value;
      for (const e of entries.slice(5_000)) index.add(e.id, e.type, e.value);
      for (const e of entries.filter((_, i) => i % 9 === 4)) index.remove(e.id);
      return index;
    };
    const wasm = build(true);
    const js = build(false);
    const queries = entries
      .filter((_, i) => i % 60 === 0)
      .map((e, i) => (i % 2 === 0 ? e.value : flipBits(e.value, Math.floor(rnd() * 50), rnd)));
    let compared = 0;
    for (const round of ["before compaction", "after compaction"]) {
      for (const threshold of [0, 16, 31, 32, 47, 48, 52, 56, 63]) {
        for (const strategy of ["auto", "mih", "scan"] as MatchStrategy[]) {
          const a = wasm.queryPdq(queries, { threshold, strategy });
          const b = js.queryPdq(queries, { threshold, strategy });
          expect(a.ok && b.ok).toBe(true);
          if (a.ok && b.ok) {
            expect(a.value, `T=${threshold} ${strategy} ${round}`).toEqual(b.value);
            compared += a.value.reduce((n, l) => n + l.length, 0);
          }
        }
      }
      wasm.pdq.compact();
      js.pdq.compact();
    }
    expect(compared).toBeGreaterThan(1_000); // the comparison covered real hits, not empty lists
  });
});

describe("the shard's snapshot", () => {
  /** A shard that has loaded from D1 and written its snapshot (the alarm its build scheduled). */
  async function snapshotted(values: string[]) {
    const stub = shardNamed(`snapshot-${crypto.randomUUID()}`);
    await stub.query(0, 1, ask(values), 0);
    expect((await stub.stats(0, 1)).source).toBe("d1");
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const stats = await stub.stats(0, 1);
    expect(stats.snapshotSeq).toBe(stats.appliedSeq);
    return stub;
  }

  it("brings an evicted shard back from its own storage, caught up with the changes made since", async () => {
    const values = Array.from({ length: 5 }, () => randomPdq(r));
    const ids = await submit(values);
    const stub = await snapshotted(values);
    // Changes after the snapshot: a withdrawal and a new submission.
    await withdraw(ids[1]!);
    const [later] = await submit([values[4]!.replace(/^./, (c) => (c === "0" ? "1" : "0"))]);
    const laterValue = (await env.DB.prepare("SELECT value FROM submissions WHERE id = ?")
      .bind(later)
      .first<{ value: string }>())!.value;
    await evictDurableObject(stub);
    const asked = [...values, laterValue];
    const answer = await byItem(await stub.query(0, 1, ask(asked), 0), asked.length);
    expect(answer).toEqual([[ids[0]], [], [ids[2]], [ids[3]], [ids[4]], [later]]);
    const stats = await stub.stats(0, 1);
    expect(stats.source).toBe("snapshot");
    expect(stats.snapshotRefused).toBeNull();
    expect(stats.rebuilds).toBe(1);
  });

  it("a corrupt snapshot (a changed byte, or counts that do not add up) is refused and rebuilt from D1", async () => {
    const values = Array.from({ length: 4 }, () => randomPdq(r));
    const ids = await submit(values);
    const corruptions: [string, (sql: SqlStorage) => void][] = [
      [
        "a flipped bit in an entry's hash",
        (sql) => {
          const row = sql.exec<{ data: ArrayBuffer }>("SELECT data FROM snapshot_chunks WHERE n = 0").one();
          const bytes = new Uint8Array(row.data.slice(0));
          bytes[bytes.length - 5]! ^= 0x10;
          sql.exec("UPDATE snapshot_chunks SET data = ? WHERE n = 0", bytes.buffer);
        },
      ],
      [
        "a meta row that claims one entry more",
        (sql) => {
          const meta = JSON.parse(sql.exec<{ v: string }>("SELECT v FROM snapshot_meta").one().v);
          sql.exec("UPDATE snapshot_meta SET v = ?", JSON.stringify({ ...meta, pdq: meta.pdq + 1 }));
        },
      ],
      ["a missing chunk", (sql) => sql.exec("DELETE FROM snapshot_chunks WHERE n = 0")],
    ];
    for (const [what, corrupt] of corruptions) {
      const stub = await snapshotted(values);
      await runInDurableObject(stub, (_o: MatchShard, state) => corrupt(state.storage.sql));
      await evictDurableObject(stub);
      const answer = await byItem(await stub.query(0, 1, ask(values), 0), values.length);
      expect(answer, what).toEqual(ids.map((id) => [id]));
      const stats = await stub.stats(0, 1);
      expect(stats.source, what).toBe("d1");
      expect(stats.snapshotRefused, what).toBe("corrupt");
      // The rebuild writes a good snapshot in its place, which the next restart uses.
      expect(await runDurableObjectAlarm(stub)).toBe(true);
      await evictDurableObject(stub);
      await stub.query(0, 1, ask(values), 0);
      expect((await stub.stats(0, 1)).source, what).toBe("snapshot");
    }
  });

  it("a snapshot of another shard layout or index rule is not used", async () => {
    const values = [randomPdq(r)];
    const ids = await submit(values);
    for (const [field, value, refusal] of [
      ["shards", 2, "layout"],
      ["rule", "(status = 'live')", "rule"],
      ["format", 0, "format"],
    ] as const) {
      const stub = await snapshotted(values);
      await runInDurableObject(stub, (_o: MatchShard, state) => {
        const sql = state.storage.sql;
        const meta = JSON.parse(sql.exec<{ v: string }>("SELECT v FROM snapshot_meta").one().v);
        sql.exec("UPDATE snapshot_meta SET v = ?", JSON.stringify({ ...meta, [field]: value }));
      });
      await evictDurableObject(stub);
      expect(await byItem(await stub.query(0, 1, ask(values), 0), 1)).toEqual([[ids[0]]]);
      const stats = await stub.stats(0, 1);
      expect(stats.source, field).toBe("d1");
      expect(stats.snapshotRefused, field).toBe(refusal);
    }
  });

  it("a stale snapshot (the database was restored to before it) is detected by the feed and rebuilt: nothing resurrected", async () => {
    const kept = [randomPdq(r), randomPdq(r)];
    const keptIds = await submit(kept);
    const mark = (await env.DB.prepare("SELECT max(seq) AS s FROM submission_changes").first<{
      s: number;
    }>())!.s;
    const lost = [randomPdq(r), randomPdq(r)];
    await submit(lost);
    const all = [...kept, ...lost];
    const stub = await snapshotted(all); // covers the changes after `mark` too
    // The database restored to `mark` (as D1 Time Travel would), and a new submission that takes
    // the sequence number a lost one had.
    await env.DB.batch([
      env.DB.prepare(
        "DELETE FROM submissions WHERE id IN (SELECT submission_id FROM submission_changes WHERE seq > ?)",
      ).bind(mark),
      env.DB.prepare("DELETE FROM submission_changes WHERE seq > ?").bind(mark),
      env.DB.prepare("UPDATE sqlite_sequence SET seq = ? WHERE name = 'submission_changes'").bind(mark),
    ]);
    const fresh = [randomPdq(r)];
    const freshIds = await submit(fresh);
    await evictDurableObject(stub);
    const asked = [...all, ...fresh];
    expect(await byItem(await stub.query(0, 1, ask(asked), 0), asked.length)).toEqual([
      ...keptIds.map((id) => [id]),
      [],
      [],
      [freshIds[0]],
    ]);
    const stats = await stub.stats(0, 1);
    expect(stats.source).toBe("d1");
    expect(stats.snapshotRefused).toBe("stale");
    expect(stats.snapshotSeq).toBeNull(); // dropped; the next alarm writes a fresh one
  });
});

describe("several shards", () => {
  it("each builds from D1 exactly the entries whose key falls to it, reading its own keys only", async () => {
    // Enough entries for every shard to hold some, one withdrawn (in no shard), and shard counts
    // that do and do not divide the keys evenly.
    const values = Array.from({ length: 40 }, () => randomPdq(r));
    const ids = await submit(values);
    await withdraw(ids[7]!);
    const keys = await env.DB.prepare(
      "SELECT id, match_key FROM submissions WHERE id IN (SELECT value FROM json_each(?))",
    )
      .bind(JSON.stringify(ids))
      .all<{ id: string; match_key: number }>();
    const keyOf = new Map(keys.results.map((k) => [k.id, k.match_key]));
    for (const shards of [2, 3, 7]) {
      const run = crypto.randomUUID();
      const found: string[][] = values.map(() => []);
      for (let s = 0; s < shards; s++) {
        const stub = shardNamed(`split-${run}-${s}-of-${shards}`);
        const answer = await byItem(await stub.query(s, shards, ask(values), 0), values.length);
        answer.forEach((got, i) => {
          for (const id of got) {
            expect(keyOf.get(id)! % shards, `${id} answered by shard ${s} of ${shards}`).toBe(s);
            found[i]!.push(id);
          }
        });
      }
      expect(found, `${shards} shards`).toEqual(ids.map((id, i) => (i === 7 ? [] : [id])));
    }
  });
});
