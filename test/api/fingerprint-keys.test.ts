// The key table of fingerprints (schema/submissions.ts `fingerprint_keys`), against real local D1:
// no index of `submissions` is keyed by the hash any more, so the idempotency rule (one live
// submission per authority per fingerprint) is kept by the write itself, and every lookup by hash
// must see both levels of the table, before and after a merge. Each rule is attacked here as a
// client or a failing database would: two records of one value racing, a merge failing halfway,
// two merges at once, a lookup between a submission and its merge.

import { env } from "cloudflare:workers";
import type { SubmissionView, SubmitResult } from "@eusn/protocol";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { prepareRecord } from "../../workers/api/apply/pipeline.ts";
import { createSubmissions } from "../../workers/api/apply/submissions.ts";
import { db } from "../../workers/api/lib/db.ts";
import { ApiError } from "../../workers/api/lib/problem.ts";
import {
  KEY_CHARS,
  mergeFingerprintKeys,
  mergeFingerprintKeysIfDue,
} from "../../workers/api/store/fingerprint-keys.ts";
import { dbState } from "../helpers/db-state.ts";
import { clearFault, injectFault } from "../helpers/faults.ts";
import { pdqItem, randomPdq, rng } from "../helpers/hashes.ts";
import { type Admitted, admit, coordinator, must } from "../helpers/node.ts";
import { verifiedFor } from "../helpers/planned-write.ts";

const r = rng(1627);
let nl: Admitted;
let de: Admitted;
let fr: Admitted;

beforeAll(async () => {
  nl = await admit("authority", "NL");
  de = await admit("authority", "DE");
  fr = await admit("authority", "FR");
});

afterEach(clearFault);

const signer = (a: Admitted) => ({ participantId: a.id, privateJwk: a.key.privateJwk });

async function submit(a: Admitted, values: string[], extra: Record<string, unknown> = {}) {
  return must(
    await a.client.write<SubmitResult>("/v1/submissions", "submission.create", {
      items: values.map((v) => pdqItem(v, extra)),
    }),
  ).submissions;
}

/** How many keys each level holds. */
async function levels(): Promise<{ 0: number; 1: number }> {
  const rows = await env.DB.prepare("SELECT level, count(*) AS n FROM fingerprint_keys GROUP BY level").all<{
    level: 0 | 1;
    n: number;
  }>();
  const out = { 0: 0, 1: 0 };
  for (const x of rows.results) out[x.level] = x.n;
  return out;
}

/** The level the key of one submission is in (undefined: it has none). */
async function levelOf(id: string): Promise<number[]> {
  const rows = await env.DB.prepare(
    `SELECT k.level FROM fingerprint_keys k JOIN submissions s ON s.match_key = k.match_key
     WHERE s.id = ? AND k.key = substr(s.fingerprint, 1, ${KEY_CHARS})`,
  )
    .bind(id)
    .all<{ level: number }>();
  return rows.results.map((x) => x.level);
}

async function liveOf(submitter: string, value: string): Promise<string[]> {
  const rows = await env.DB.prepare(
    "SELECT id FROM submissions WHERE submitter_id = ? AND fingerprint = ? AND status = 'live'",
  )
    .bind(submitter, `pdq:${value}`)
    .all<{ id: string }>();
  return rows.results.map((x) => x.id);
}

describe("one live submission per authority per fingerprint, kept by the write", () => {
  // Record B is judged (its idempotency read finds the value new) before record A, of the same
  // value by the same authority, lands; then B's batch is committed. Without the unique index the
  // write's own check must refuse B, whole: not a second live submission, and not half of B.
  it.each([
    ["the first one's key still in the small level", false],
    ["the first one's key merged", true],
  ])("two records of one value racing: the second is refused whole (409) — %s", async (_, merge) => {
    const shared = randomPdq(r);
    const other = randomPdq(r);
    const w = await verifiedFor(createSubmissions, signer(nl), { items: [pdqItem(other), pdqItem(shared)] });
    const prepared = await prepareRecord(db(env.DB), env, w, { applier: createSubmissions });
    expect(prepared.plan.fresh).toHaveLength(2);

    const [first] = await submit(nl, [shared]);
    if (merge) await mergeFingerprintKeys(env.DB);
    expect(await levelOf(first!.id)).toEqual([merge ? 0 : 1]);

    const before = await dbState();
    const err = await prepared.commit().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe("conflict");
    expect(await dbState()).toEqual(before);
    expect(await liveOf(nl.id, shared)).toEqual([first!.id]);
    expect(await liveOf(nl.id, other)).toEqual([]);

    // Sent again, the record finds the shared value and stores only the other.
    const again = await submit(nl, [other, shared]);
    expect(again.map((s) => s.outcome)).toEqual(["created", "existing"]);
    expect(again[1]!.id).toBe(first!.id);
  });

  it("withdrawn or voided submissions never block a new live one", async () => {
    const v = randomPdq(r);
    const [a] = await submit(nl, [v]);
    must(
      await nl.client.write(`/v1/submissions/${a!.id}/withdraw`, "submission.withdraw", {
        submissionId: a!.id,
        reason: "entered in error",
      }),
    );
    await mergeFingerprintKeys(env.DB);
    const [b] = await submit(nl, [v]);
    expect(b!.outcome).toBe("created");
    expect(b!.id).not.toBe(a!.id);
    expect(await liveOf(nl.id, v)).toEqual([b!.id]);
    // Both entries keep their keys (a lookup by hash still finds the withdrawn one).
    expect(await levelOf(a!.id)).toEqual([0]);
    expect(await levelOf(b!.id)).toEqual([1]);
  });
});

describe("every lookup by hash sees both levels", () => {
  it("idempotency, links and the console's search, before and after the merge", async () => {
    const v = randomPdq(r);
    const [mine] = await submit(nl, [v]);
    expect(await levelOf(mine!.id)).toEqual([1]);

    // Before any merge: a repeat is `existing`, another authority's submission links it.
    expect((await submit(nl, [v]))[0]).toMatchObject({ id: mine!.id, outcome: "existing" });
    const [theirs] = await submit(de, [v]);
    expect(theirs).toMatchObject({ outcome: "created", linked: [mine!.id] });

    await mergeFingerprintKeys(env.DB);
    expect(await levelOf(mine!.id)).toEqual([0]);
    expect(await levelOf(theirs!.id)).toEqual([0]);

    // One key in each level: FR's new submission (small level) and the merged ones are all found.
    const [third] = await submit(fr, [v]);
    expect(await levelOf(third!.id)).toEqual([1]);
    expect(third!.linked.sort()).toEqual([mine!.id, theirs!.id].sort());
    expect((await submit(nl, [v]))[0]).toMatchObject({ id: mine!.id, outcome: "existing" });
    const view = must(await coordinator().get<{ submission: SubmissionView }>(`/v1/submissions/${mine!.id}`));
    expect(view.submission.linked.sort()).toEqual([theirs!.id, third!.id].sort());

    // The console's search by the value's start finds every one of them, in both levels.
    for (const q of [v.slice(0, 6), v.slice(0, 12), v.slice(0, 20), v]) {
      const page = must(
        await coordinator().get<{ submissions: { id: string }[] }>(
          `/v1/submissions?scope=all&q=${q}&limit=100`,
        ),
      );
      expect(page.submissions.map((x) => x.id).sort(), q).toEqual([mine!.id, theirs!.id, third!.id].sort());
    }
  });
});

describe("the merge of the small level", () => {
  it("moves every key once, in batches of the least keys left", async () => {
    await submit(nl, [randomPdq(r), randomPdq(r), randomPdq(r), randomPdq(r), randomPdq(r)]);
    const before = await levels();
    expect(before[1]).toBeGreaterThanOrEqual(5);
    expect(await mergeFingerprintKeys(env.DB, 2)).toBe(before[1]);
    expect(await levels()).toEqual({ 0: before[0] + before[1], 1: 0 });
    expect(await mergeFingerprintKeys(env.DB, 2)).toBe(0);
  });

  it("a batch of a merge that fails leaves its keys in the small level, whole; the next merge moves them once", async () => {
    await submit(nl, [randomPdq(r), randomPdq(r), randomPdq(r), randomPdq(r), randomPdq(r)]);
    const before = await levels();
    const least = await env.DB.prepare(
      "SELECT key, match_key FROM fingerprint_keys WHERE level = 1 ORDER BY key, match_key LIMIT 2",
    ).all<{ key: string; match_key: number }>();
    // The first batch of two lands; the second fails inside SQLite.
    await injectFault(
      `BEFORE INSERT ON fingerprint_keys WHEN NEW.level = 0 AND (SELECT count(*) FROM fingerprint_keys WHERE level = 0) >= ${before[0] + 2}`,
    );
    await expect(mergeFingerprintKeys(env.DB, 2)).rejects.toThrow(/injected fault/);
    await clearFault();
    expect(await levels()).toEqual({ 0: before[0] + 2, 1: before[1] - 2 });
    for (const k of least.results) {
      const at = await env.DB.prepare("SELECT level FROM fingerprint_keys WHERE key = ? AND match_key = ?")
        .bind(k.key, k.match_key)
        .all<{ level: number }>();
      expect(at.results).toEqual([{ level: 0 }]);
    }
    expect(await mergeFingerprintKeys(env.DB, 2)).toBe(before[1] - 2);
    expect(await levels()).toEqual({ 0: before[0] + before[1], 1: 0 });
  });

  it("two merges at once copy no key twice", async () => {
    await submit(nl, [randomPdq(r), randomPdq(r), randomPdq(r), randomPdq(r)]);
    const before = await levels();
    const moved = await Promise.all([mergeFingerprintKeys(env.DB, 1), mergeFingerprintKeys(env.DB, 1)]);
    expect(moved.reduce((a, b) => a + b, 0)).toBe(before[1]);
    expect(await levels()).toEqual({ 0: before[0] + before[1], 1: 0 });
  });

  it("merges when due only", async () => {
    await submit(nl, [randomPdq(r), randomPdq(r)]);
    const { 1: small } = await levels();
    expect(await mergeFingerprintKeysIfDue(env.DB, small + 1)).toBe(0);
    expect((await levels())[1]).toBe(small);
    expect(await mergeFingerprintKeysIfDue(env.DB, small)).toBe(small);
    expect((await levels())[1]).toBe(0);
  });
});

describe("every entry has exactly one key", () => {
  /** Entries without their key, keys without their entry, and entries with more than one. */
  async function mismatches() {
    const q = (s: string) => env.DB.prepare(s).first<number>("n");
    return {
      missing: await q(
        `SELECT count(*) AS n FROM submissions s WHERE s.match_key IS NOT NULL AND NOT EXISTS
           (SELECT 1 FROM fingerprint_keys k WHERE k.match_key = s.match_key AND k.key = substr(s.fingerprint, 1, ${KEY_CHARS}))`,
      ),
      orphaned: await q(
        `SELECT count(*) AS n FROM fingerprint_keys k WHERE NOT EXISTS
           (SELECT 1 FROM submissions s WHERE s.match_key = k.match_key AND k.key = substr(s.fingerprint, 1, ${KEY_CHARS}))`,
      ),
      twice: await q(
        "SELECT count(*) AS n FROM (SELECT match_key FROM fingerprint_keys GROUP BY match_key HAVING count(*) > 1)",
      ),
      withoutMatchKey: await q("SELECT count(*) AS n FROM submissions WHERE match_key IS NULL"),
    };
  }

  it("whatever wrote it, and as the migration builds them from the entries", async () => {
    await submit(nl, [randomPdq(r)], { tlp: "red" });
    await submit(de, [randomPdq(r), randomPdq(r)]);
    const none = { missing: 0, orphaned: 0, twice: 0, withoutMatchKey: 0 };
    expect(await mismatches()).toEqual(none);
    expect((await levels())[1]).toBeGreaterThan(0);

    // The migration's own statement, run on a node whose keys are gone, rebuilds every one (merged).
    const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0027_"));
    const backfill = migration?.queries.find((q) => /INSERT INTO `fingerprint_keys`/.test(q));
    expect(backfill).toBeDefined();
    const entries = await env.DB.prepare("SELECT count(*) AS n FROM submissions").first<number>("n");
    await env.DB.exec("DELETE FROM fingerprint_keys");
    expect((await mismatches()).missing).toBe(entries);
    await env.DB.prepare(backfill!).run();
    expect(await mismatches()).toEqual(none);
    expect(await levels()).toEqual({ 0: entries, 1: 0 });
  });
});
