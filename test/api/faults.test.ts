// Faults, with real D1 and the real Durable Object index: a database failure in the middle of a
// write's batch leaves nothing half-written (made to fail by a real trigger installed for the
// test, not by mocking our code); a retried write never duplicates; the match index rebuilt
// after a restart, or after the database was restored, misses nothing and resurrects nothing.

import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { signWrite } from "@eusn/client";
import type { SubmitResult } from "@eusn/protocol";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { MatchShard, ShardHit } from "../../workers/api/match/shard.ts";
import { foldMatches } from "../../workers/api/store/match.ts";
import { allTables, dbState, expectGapFreeAudit } from "../helpers/db-state.ts";
import { breakInserts, clearFault } from "../helpers/faults.ts";
import { pdqItem, randomPdq, rng } from "../helpers/hashes.ts";
import { type Admitted, admit, BASE, coordinator, expectProblem, nodeFetch } from "../helpers/node.ts";

const r = rng(2026);
let nl: Admitted;
let platform: Admitted;

beforeAll(async () => {
  nl = await admit("authority", "NL");
  platform = await admit("platform");
});

afterEach(async () => {
  await clearFault();
  vi.restoreAllMocks();
});

const signer = (a: Admitted) => ({ participantId: a.id, privateJwk: a.key.privateJwk });
const postJws = (path: string, jws: string) =>
  nodeFetch(`${BASE}${path}`, { method: "POST", headers: { "content-type": "application/jose" }, body: jws });

async function matchAll(values: string[]): Promise<string[][]> {
  const res = await platform.client.match({
    scope: "all",
    threshold: 0,
    items: values.map((value) => ({ type: "pdq", value })),
  });
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
  return res.data.results.map((x) => x.matches.map((m) => m.submissionId));
}

describe("a D1 failure in the middle of a write's batch leaves nothing half-written", () => {
  // A submission's batch: the record, its transparency-log leaf (and subtree nodes), the
  // submissions, their change-feed rows, the audit entry. Fail each in turn.
  const STAGES = ["records", "log_leaves", "submissions", "submission_changes", "audit_log"];

  it.each(STAGES)(
    "when the insert into %s fails, nothing of the write lands; the same JWS then lands once",
    async (stage) => {
      expect(await allTables()).toContain(stage);
      vi.spyOn(console, "error").mockImplementation(() => {});
      const values = [randomPdq(r), randomPdq(r), randomPdq(r)];
      const jws = await signWrite(signer(nl), env.NODE_ID, "submission.create", {
        items: values.map((v) => pdqItem(v)),
      });
      const before = await dbState();
      await breakInserts(stage);
      const res = await postJws("/v1/submissions", jws);
      const problem = await expectProblem(res, 500, "internal_error");
      expect(problem.detail).not.toMatch(/injected|SQLITE|D1_/);
      await clearFault();
      // Every table, every AUTOINCREMENT counter and the audit trail are as they were.
      expect(await dbState()).toEqual(before);
      // The index never saw the failed write (it follows D1's change feed).
      expect(await matchAll(values)).toEqual([[], [], []]);

      // The client retries the very same signed bytes: accepted once, with the next audit seq.
      const retry = await postJws("/v1/submissions", jws);
      expect(retry.status).toBe(201);
      const body = (await retry.json()) as SubmitResult;
      expect(body.receipt!.auditSeq).toBe(before["audit:maxSeq"]! + 1);
      const after = await dbState();
      expect(after.records).toBe(before.records! + 1);
      expect(after.submissions).toBe(before.submissions! + 3);
      expect(after.submission_changes).toBe(before.submission_changes! + 3);
      expect(after.audit_log).toBe(before.audit_log! + 1);
      await expectGapFreeAudit();
      expect(await matchAll(values)).toEqual(body.submissions.map((s) => [s.id]));
      // And a third time: a replay, refused, storing nothing.
      const settled = await dbState();
      await expectProblem(await postJws("/v1/submissions", jws), 409, "replayed_jti");
      expect(await dbState()).toEqual(settled);
    },
  );

  it("a participant admission whose audit entry fails leaves no participant, key or record", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const { generateParticipantKey } = await import("@eusn/client");
    const key = await generateParticipantKey();
    const c = coordinator();
    const jws = await signWrite(
      { participantId: c.participantId, privateJwk: c.privateJwk },
      env.NODE_ID,
      "participant.admit",
      {
        role: "platform",
        displayName: "Half-admitted platform",
        jwks: { keys: [key.publicJwk] },
      },
    );
    const before = await dbState();
    await breakInserts("audit_log");
    await expectProblem(await postJws("/v1/participants", jws), 500, "internal_error");
    await clearFault();
    expect(await dbState()).toEqual(before);
    // The key is not half-registered: it cannot sign anything.
    const token = await import("@eusn/client").then((m) =>
      m.signAccessToken({ participantId: "par_nobody", privateJwk: key.privateJwk }, env.NODE_ID),
    );
    const read = await nodeFetch(`${BASE}/v1/baseline`, { headers: { authorization: `Bearer ${token}` } });
    await expectProblem(read, 401, "unknown_key");
  });

  it("a match whose accounting fails answers an error and records neither the request nor the matched entries", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const value = randomPdq(r);
    const res = await nl.client.write<SubmitResult>("/v1/submissions", "submission.create", {
      items: [pdqItem(value)],
    });
    expect(res.status).toBe(201);
    const before = await dbState();
    // The accounting is one batch: the request's row with the entries it was answered, then the
    // results kept for review (asked for below): fail the last, and the first must not stay.
    await breakInserts("review_items");
    const m = await nodeFetch(`${BASE}/v1/match`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${await platform.client.token()}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ scope: "all", keep: true, items: [{ type: "pdq", value, ref: "upload-1" }] }),
    });
    await expectProblem(m, 500, "internal_error");
    await clearFault();
    expect(await dbState()).toEqual(before);
  });

  it("a fold of the match accounting that fails leaves every pending request whole, folded once later", async () => {
    const value = randomPdq(r);
    const res = await nl.client.write<SubmitResult>("/v1/submissions", "submission.create", {
      items: [pdqItem(value)],
    });
    const id = res.ok ? res.data.submissions[0]!.id : "";
    await foldMatches(env.DB);
    for (let i = 0; i < 3; i++)
      expect((await platform.client.match({ scope: "all", items: [{ type: "pdq", value }] })).ok).toBe(true);
    const before = await dbState();
    await breakInserts("submission_matches");
    await expect(foldMatches(env.DB)).rejects.toThrow(/injected fault/);
    await clearFault();
    expect(await dbState()).toEqual(before);
    expect(await foldMatches(env.DB)).toBe(3);
    const m = await env.DB.prepare(
      "SELECT count FROM submission_matches WHERE submission_id = ? AND platform_id = ?",
    )
      .bind(id, platform.id)
      .first<number>("count");
    expect(m).toBe(3);
  });
});

describe("a retried write never duplicates", () => {
  it("eight copies of one signed submission sent at once: exactly one lands", async () => {
    const values = [randomPdq(r), randomPdq(r)];
    const jws = await signWrite(signer(nl), env.NODE_ID, "submission.create", {
      items: values.map((v) => pdqItem(v)),
    });
    const before = await dbState();
    const results = await Promise.all(Array.from({ length: 8 }, () => postJws("/v1/submissions", jws)));
    expect(results.filter((x) => x.status === 201)).toHaveLength(1);
    for (const x of results) {
      if (x.status === 201) continue;
      // A copy that arrives after the first committed is a replay (409). One that passed the
      // replay pre-check while the first was still in flight finds every hash already submitted
      // by this authority, and is answered as an idempotent resend: 200, nothing stored.
      const body = (await x.json()) as { code?: string; receipt?: null; submissions?: { outcome: string }[] };
      if (x.status === 409) expect(body.code).toBe("replayed_jti");
      else {
        expect(x.status).toBe(200);
        expect(body.receipt).toBeNull();
        expect(body.submissions?.map((s) => s.outcome)).toEqual(["existing", "existing"]);
      }
    }
    const after = await dbState();
    expect(after.records).toBe(before.records! + 1);
    expect(after.submissions).toBe(before.submissions! + 2);
    expect(after.audit_log).toBe(before.audit_log! + 1);
    await expectGapFreeAudit();
  });

  it("a client that re-signs the same hashes under a new jti gets `existing`, and nothing new is stored", async () => {
    const items = [pdqItem(randomPdq(r)), pdqItem(randomPdq(r))];
    const first = await nl.client.write<SubmitResult>("/v1/submissions", "submission.create", { items });
    expect(first.status).toBe(201);
    const before = await dbState();
    const second = await nl.client.write<SubmitResult>("/v1/submissions", "submission.create", { items });
    expect(second.status).toBe(200);
    if (!second.ok || !first.ok) throw new Error("unreachable");
    expect(second.data.receipt).toBeNull();
    expect(second.data.submissions.map((s) => [s.id, s.outcome])).toEqual(
      first.data.submissions.map((s) => [s.id, "existing"]),
    );
    expect(await dbState()).toEqual(before);
  });
});

describe("the match index after a restart or a restore", () => {
  const probe = (name: string) => env.MATCH_SHARD.get(env.MATCH_SHARD.idFromName(name));
  const live = () => env.MATCH_SHARD.get(env.MATCH_SHARD.idFromName("shard-0-of-1"));
  const ask = (values: string[]) => values.map((v) => ({ type: "pdq" as const, values: [v] }));
  // Shards answer with match keys; the test speaks submission ids (looked up in D1).
  const byItem = async (hits: ShardHit[], n: number) => {
    const keys = [...new Set(hits.map((h) => h.key))];
    const found = await env.DB.prepare(
      "SELECT id, match_key FROM submissions WHERE match_key IN (SELECT value FROM json_each(?))",
    )
      .bind(JSON.stringify(keys))
      .all<{ id: string; match_key: number }>();
    const idOf = new Map(found.results.map((r) => [r.match_key, r.id]));
    const out: string[][] = Array.from({ length: n }, () => []);
    for (const h of hits) out[h.item]!.push(idOf.get(h.key) ?? `unknown key ${h.key}`);
    return out.map((x) => x.sort());
  };

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

  it("concurrent queries that both find new changes apply them once, without a rebuild", async () => {
    const probeShard = probe(`concurrent-${Date.now()}`);
    const seed = [randomPdq(r)];
    await submit(seed);
    await probeShard.query(0, 1, ask(seed), 0); // built
    const before = await probeShard.stats(0, 1);
    // New changes for both catch-ups to find: three submissions and a withdrawal.
    const values = Array.from({ length: 3 }, () => randomPdq(r));
    const ids = await submit(values);
    await withdraw(ids[1]!);
    // Inside the object, so all four start (and send their catch-up reads) before any read
    // returns: the interleaving that used to read the same changes twice, every time.
    const answers = await runInDurableObject(probeShard, (shard: MatchShard) =>
      Promise.all(Array.from({ length: 4 }, () => shard.query(0, 1, ask(values), 0))),
    );
    for (const a of answers) expect(await byItem(a, 3)).toEqual([[ids[0]], [], [ids[2]]]);
    const after = await probeShard.stats(0, 1);
    expect(after.rebuilds).toBe(before.rebuilds);
    expect(after.builtAt).toBe(before.builtAt);
    expect(after.entries).toBe(before.entries + 2);
  });

  it("a fresh shard instance built from D1 holds exactly the live entries, and keeps following the feed", async () => {
    const values = Array.from({ length: 6 }, () => randomPdq(r));
    const ids = await submit(values);
    await withdraw(ids[1]!);
    await withdraw(ids[4]!);
    // The serving shard, warmed by queries, and a new instance standing in for a restarted one.
    const warm = await byItem(await live().query(0, 1, ask(values), 0), values.length);
    const restarted = probe(`restart-${crypto.randomUUID()}`);
    const cold = await byItem(await restarted.query(0, 1, ask(values), 0), values.length);
    const expected = ids.map((id, i) => (i === 1 || i === 4 ? [] : [id]));
    expect(cold).toEqual(expected);
    expect(warm).toEqual(expected);
    const [ws, cs] = [await live().stats(0, 1), await restarted.stats(0, 1)];
    expect(cs.entries).toBe(ws.entries);
    expect(cs.appliedSeq).toBe(ws.appliedSeq);
    // Both keep following: a withdrawal and a new submission reach the restarted one too.
    await withdraw(ids[0]!);
    const [extra] = await submit([randomPdq(r)]);
    const extraValue = (await env.DB.prepare("SELECT value FROM submissions WHERE id = ?")
      .bind(extra)
      .first<{ value: string }>())!.value;
    const after = await byItem(await restarted.query(0, 1, ask([values[0]!, extraValue]), 0), 2);
    expect(after).toEqual([[], [extra]]);
    expect((await restarted.stats(0, 1)).rebuilds).toBe(1);
  });

  it("the serving shard evicted (a restart) comes back from D1 with exactly the live entries", async () => {
    const values = Array.from({ length: 4 }, () => randomPdq(r));
    const ids = await submit(values);
    await withdraw(ids[2]!);
    const before = await byItem(await live().query(0, 1, ask(values), 0), values.length);
    const statsBefore = await live().stats(0, 1);
    await evictDurableObject(live());
    const after = await byItem(await live().query(0, 1, ask(values), 0), values.length);
    expect(after).toEqual(before);
    expect(after).toEqual(ids.map((id, i) => (i === 2 ? [] : [id])));
    const statsAfter = await live().stats(0, 1);
    expect(statsAfter.entries).toBe(statsBefore.entries);
    expect(statsAfter.appliedSeq).toBe(statsBefore.appliedSeq);
    expect(statsAfter.rebuilds).toBe(1); // a new instance: one full load, then the feed
    expect(Date.parse(statsAfter.builtAt)).toBeGreaterThanOrEqual(Date.parse(statsBefore.builtAt));
    // Following the feed is not a rebuild: the build time stays while changes are applied.
    await withdraw(ids[0]!);
    await live().query(0, 1, ask(values), 0);
    expect((await live().stats(0, 1)).builtAt).toBe(statsAfter.builtAt);
  });

  it("after the database is restored to an earlier point, the index rebuilds: nothing lost is resurrected", async () => {
    const kept = Array.from({ length: 3 }, () => randomPdq(r));
    const keptIds = await submit(kept);
    const mark = (await env.DB.prepare("SELECT max(seq) AS s FROM submission_changes").first<{
      s: number;
    }>())!.s;
    const lost = Array.from({ length: 3 }, () => randomPdq(r));
    const lostIds = await submit(lost);
    const shard = probe(`restore-${crypto.randomUUID()}`);
    const all = [...kept, ...lost];
    expect(await byItem(await shard.query(0, 1, ask(all), 0), all.length)).toEqual(
      [...keptIds, ...lostIds].map((id) => [id]),
    );
    const rebuildsBefore = (await shard.stats(0, 1)).rebuilds;

    // "Restore" the match inputs to `mark` (what D1 Time Travel does to every table): the later
    // changes and the submissions they created are gone, and the sequence counter with them, so
    // the next change reuses the next sequence number for a different submission.
    await env.DB.batch([
      env.DB.prepare(
        "DELETE FROM submissions WHERE id IN (SELECT submission_id FROM submission_changes WHERE seq > ?)",
      ).bind(mark),
      env.DB.prepare("DELETE FROM submission_changes WHERE seq > ?").bind(mark),
      env.DB.prepare("UPDATE sqlite_sequence SET seq = ? WHERE name = 'submission_changes'").bind(mark),
    ]);
    const fresh = [randomPdq(r)];
    const freshIds = await submit(fresh);
    const seqOfFresh = (await env.DB.prepare("SELECT seq FROM submission_changes WHERE submission_id = ?")
      .bind(freshIds[0])
      .first<{ seq: number }>())!.seq;
    expect(seqOfFresh).toBe(mark + 1); // the same position the shard saw a lost entry at

    const queried = [...kept, ...lost, ...fresh];
    // Three queries at once inside the object: one of them finds the feed replaced, and all three
    // answer from the one rebuilt index.
    const answers = await runInDurableObject(shard, (o: MatchShard) =>
      Promise.all(Array.from({ length: 3 }, () => o.query(0, 1, ask(queried), 0))),
    );
    for (const a of answers)
      expect(await byItem(a, queried.length)).toEqual([
        ...keptIds.map((id) => [id]),
        [],
        [],
        [],
        [freshIds[0]],
      ]);
    const stats = await shard.stats(0, 1);
    expect(stats.rebuilds).toBe(rebuildsBefore + 1);
    expect(stats.appliedSeq).toBe(seqOfFresh);
  });

  it("after the change feed is emptied (a database replaced by an empty one), the index empties too", async () => {
    const values = [randomPdq(r), randomPdq(r)];
    const ids = await submit(values);
    const shard = probe(`reset-${crypto.randomUUID()}`);
    expect(await byItem(await shard.query(0, 1, ask(values), 0), 2)).toEqual(ids.map((id) => [id]));
    await env.DB.batch([
      env.DB.prepare("DELETE FROM submission_changes"),
      env.DB.prepare("DELETE FROM submissions"),
    ]);
    expect(await byItem(await shard.query(0, 1, ask(values), 0), 2)).toEqual([[], []]);
  });
});
