// POST /v1/match through the real Worker, D1 and the Durable Object index: scope rules, exact
// threshold edges, dihedral variants, exact hashes, recall against brute force, accounting,
// feedback and reversal propagation.

import { env } from "cloudflare:workers";
import type { MatchRequest, MatchResponse, SubmissionView, SubmitResult, WriteReceipt } from "@eusn/protocol";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { FOLD_AFTER, foldMatches, MATCH_ROWS_SQL, matchRows } from "../../workers/api/store/match.ts";
import { flipBits, hamming, pdqItem, randomPdq, rng } from "../helpers/hashes.ts";
import { matchChecked } from "../helpers/match-answer.ts";
import { type Admitted, admit, BASE, coordinator, expectProblem, must, nodeFetch } from "../helpers/node.ts";
import { statementRecord } from "../helpers/statements.ts";

let nl: Admitted;
let de: Admitted;
let fr: Admitted;
let p1: Admitted;
let p2: Admitted;
const r = rng(42);

beforeAll(async () => {
  nl = await admit("authority", "NL");
  de = await admit("authority", "DE");
  fr = await admit("authority", "FR");
  p1 = await admit("platform");
  p2 = await admit("platform");
});

async function submit(by: Admitted, items: unknown[]): Promise<string[]> {
  const res = await by.client.write<SubmitResult>("/v1/submissions", "submission.create", { items });
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
  return res.data.submissions.map((s) => s.id);
}

async function include(id: string) {
  const cites: string[] = [];
  for (const a of [de, fr]) {
    const res = await a.client.write<WriteReceipt>(`/v1/submissions/${id}/assessments`, "assessment.create", {
      submissionId: id,
      verdict: "concur",
      limb: "a",
    });
    if (!res.ok) throw new Error(JSON.stringify(res.problem));
    cites.push(res.data.subjectId);
  }
  const res = await coordinator().write(`/v1/submissions/${id}/decisions`, "baseline.decide", {
    submissionId: id,
    decision: "include",
    reason: "quorum",
    assessmentIds: cites,
  });
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
}

/** Every answer's bytes are checked too (helpers/match-answer.ts). */
async function match(by: Admitted, body: MatchRequest): Promise<MatchResponse> {
  return matchChecked(by.client, body);
}

const ids = (m: MatchResponse, i = 0) => m.results[i]!.matches.map((h) => h.submissionId);

describe("match semantics", () => {
  it("finds an included entry in the baseline scope with everything a reviewer needs", async () => {
    const value = randomPdq(r);
    const [id] = await submit(nl, [pdqItem(value, { nationalProvision: "NL Sr. art. 131" })]);
    const before = await match(p1, { items: [{ type: "pdq", value }] });
    expect(ids(before)).toEqual([]); // not in the baseline yet
    expect(
      (await match(p1, { scope: "all", items: [{ type: "pdq", value }] })).results[0]!.matches[0],
    ).toMatchObject({ submissionId: id, baselineState: "none" });
    await include(id!);
    const m = await match(p1, { items: [{ type: "pdq", value: flipBits(value, 5, r) }] });
    expect(m.results[0]!.matches).toHaveLength(1);
    expect(m.results[0]!.matches[0]).toMatchObject({
      submissionId: id,
      distance: 5,
      variant: 0,
      baselineState: "included",
      memberState: "NL",
      legalBasis: { nationalProvision: "NL Sr. art. 131" },
    });
    expect(m.baselineVersion).toBeGreaterThan(0);
    expect(m.advisory).toMatch(/human review/);
  });

  it("is exact at the threshold: distance T matches, T+1 does not (T = 31, 0, 63 and 52)", async () => {
    const value = randomPdq(r);
    await submit(nl, [pdqItem(value)]);
    for (const t of [31, 0, 52, 63]) {
      const at = flipBits(value, t, r);
      const past = t < 64 ? flipBits(value, t + 1, r) : null;
      const m = await match(p1, {
        scope: "all",
        threshold: t,
        items: [
          { type: "pdq", value: at },
          ...(past && t < 63 ? [{ type: "pdq" as const, value: past }] : []),
        ],
      });
      expect(m.results[0]!.matches.find((h) => h.distance === t)).toBeDefined();
      if (t < 63)
        expect(
          m.results[1]!.matches.filter(
            (h) => hamming(h.submissionId === "" ? "" : value, value) === 0 && h.distance > t,
          ),
        ).toEqual([]);
      if (t < 63)
        expect(ids(m, 1).length === 0 || m.results[1]!.matches.every((h) => h.distance <= t)).toBe(true);
    }
  });

  it("tries the dihedral variants the client sends and reports which one matched", async () => {
    const stored = randomPdq(r);
    const [id] = await submit(nl, [pdqItem(stored)]);
    const variants = Array.from({ length: 7 }, () => randomPdq(r));
    variants[3] = flipBits(stored, 2, r); // the rotated image's hash
    const m = await match(p1, {
      scope: "all",
      items: [{ type: "pdq", value: randomPdq(r), dihedral: variants }],
    });
    expect(m.results[0]!.matches.find((h) => h.submissionId === id)).toMatchObject({
      variant: 4,
      distance: 2,
    });
  });

  it("a batch longer than one shard slice (256 queries) keeps every answer and variant on its item", async () => {
    // 40 items x 8 hashes = 320 queries: the shard answers them in two slices. Item 35's match is
    // its variant 5 (flat position 285, in the second slice); item 31 ends the first slice.
    const stored = [randomPdq(r), randomPdq(r)];
    const [a, b] = await submit(
      nl,
      stored.map((v) => pdqItem(v)),
    );
    const items = Array.from({ length: 40 }, () => ({
      type: "pdq" as const,
      value: randomPdq(r),
      dihedral: Array.from({ length: 7 }, () => randomPdq(r)),
    }));
    items[35]!.dihedral[4] = flipBits(stored[0]!, 3, r);
    items[31]!.value = flipBits(stored[1]!, 1, r); // flat 248, first slice
    items[31]!.dihedral[6] = flipBits(stored[1]!, 4, r); // flat 255, the slice's last query
    const m = await match(p1, { scope: "all", items });
    const mine = (i: number) =>
      m.results[i]!.matches.filter((h) => h.submissionId === a || h.submissionId === b);
    expect(mine(35)).toEqual([expect.objectContaining({ submissionId: a, variant: 5, distance: 3 })]);
    // The best variant is reported: the original at distance 1.
    expect(mine(31)).toEqual([expect.objectContaining({ submissionId: b, variant: 0, distance: 1 })]);
    for (let i = 0; i < 40; i++) if (i !== 31 && i !== 35) expect(mine(i)).toEqual([]);
  });

  it("matches md5 and sha256 by equality only", async () => {
    const md5 = "00112233445566778899aabbccddeeff";
    const [id] = await submit(nl, [
      {
        signalType: "md5",
        value: md5,
        limbs: ["d"],
        contentType: "document",
        nationalProvision: "NL Sr. art. 134a",
      },
    ]);
    const m = await match(p1, {
      scope: "all",
      items: [
        { type: "md5", value: md5 },
        { type: "md5", value: "00112233445566778899aabbccddeefe" },
      ],
    });
    expect(ids(m, 0)).toEqual([id]);
    expect(ids(m, 1)).toEqual([]);
  });

  it("a new submission matches on the next query; a withdrawal stops matching at once", async () => {
    const value = randomPdq(r);
    const [id] = await submit(fr, [pdqItem(value)]);
    expect(ids(await match(p1, { scope: "all", items: [{ type: "pdq", value }] }))).toContain(id);
    await fr.client.write(`/v1/submissions/${id}/withdraw`, "submission.withdraw", {
      submissionId: id,
      reason: "error",
    });
    expect(ids(await match(p1, { scope: "all", items: [{ type: "pdq", value }] }))).not.toContain(id);
  });

  it("keys every entry by the seq of its created change, unique, and says where the time went", async () => {
    const values = [randomPdq(r), randomPdq(r), randomPdq(r)];
    const created = await submit(
      nl,
      values.map((v) => pdqItem(v)),
    );
    const rows = await env.DB.prepare(
      `SELECT s.id, s.match_key, c.seq FROM submissions s
         JOIN submission_changes c ON c.submission_id = s.id AND c.change = 'created'
        WHERE s.id IN (SELECT value FROM json_each(?))`,
    )
      .bind(JSON.stringify(created))
      .all<{ id: string; match_key: number | null; seq: number }>();
    expect(rows.results).toHaveLength(3);
    for (const row of rows.results) expect(row.match_key).toBe(row.seq);
    const unkeyed = await env.DB.prepare(
      "SELECT count(*) AS n FROM submissions WHERE match_key IS NULL",
    ).first<{
      n: number;
    }>();
    expect(unkeyed?.n).toBe(0);
    // A second row cannot take a key that is in use: the index would answer for the wrong entry.
    const [a, b] = rows.results;
    await expect(
      env.DB.prepare("UPDATE submissions SET match_key = ? WHERE id = ?").bind(a!.match_key, b!.id).run(),
    ).rejects.toThrow(/UNIQUE/);
    const res = await p1.client.match({
      scope: "all",
      items: values.map((value) => ({ type: "pdq", value })),
    });
    expect(res.status).toBe(200);
    if (!res.ok) throw new Error("unreachable");
    expect(res.data.results.map((x) => x.matches.map((h) => h.submissionId))).toEqual(
      created.map((id) => [id]),
    );
    expect(res.headers.get("server-timing")).toMatch(
      /^version;dur=\d+, index;dur=\d+, meta;dur=\d+, account;dur=\d+$/,
    );
  });

  it("an answer that waited for the index to compact says so in its Server-Timing; the stats count it", async () => {
    type Stats = { shards: { compactions: number; delta: number; deltaCapacity: number; entries: number }[] };
    const stats = async () => {
      const res = await coordinator().get<Stats>("/v1/match/stats");
      if (!res.ok) throw new Error(JSON.stringify(res.problem));
      return res.data.shards[0]!;
    };
    const timing = async (value: string) => {
      const res = await p1.client.match({ scope: "all", items: [{ type: "pdq", value }] });
      if (!res.ok) throw new Error(JSON.stringify(res.problem));
      return res.headers.get("server-timing") ?? "";
    };
    await timing(randomPdq(r)); // the shard is up to date
    const before = await stats();
    // One more than the delta holds: catching up with them folds the delta into the base.
    const values = Array.from({ length: before.deltaCapacity - before.delta + 1 }, () => randomPdq(r));
    for (let i = 0; i < values.length; i += 1000)
      await submit(
        nl,
        values.slice(i, i + 1000).map((v) => pdqItem(v)),
      );
    expect(await timing(values[0]!)).toMatch(/, compactions;desc="1"$/);
    const after = await stats();
    expect(after.compactions).toBe(before.compactions + 1);
    expect(after.entries).toBe(before.entries + values.length);
    expect(after.delta).toBeLessThan(after.deltaCapacity);
    // The next answer waited for none.
    expect(await timing(values[1]!)).not.toMatch(/compactions/);
    expect((await stats()).compactions).toBe(after.compactions);
  });

  it("never matches reversed, excluded, expired or TLP:RED entries; retired only in scope all", async () => {
    const [rev, exc, red, ret] = [randomPdq(r), randomPdq(r), randomPdq(r), randomPdq(r)];
    const [revId, excId, , retId] = await submit(de, [
      pdqItem(rev),
      pdqItem(exc),
      pdqItem(red, { tlp: "red" }),
      pdqItem(ret),
    ]);
    await coordinator().write(`/v1/submissions/${revId}/reverse`, "submission.reverse", {
      submissionId: revId,
      ground: "complaint_upheld",
      reason: "complaint upheld",
    });
    await coordinator().write(`/v1/submissions/${excId}/decisions`, "baseline.decide", {
      submissionId: excId,
      decision: "exclude",
      reason: "not terrorist content",
    });
    const cites: string[] = [];
    for (const a of [nl, fr]) {
      const res = await a.client.write<WriteReceipt>(
        `/v1/submissions/${retId}/assessments`,
        "assessment.create",
        { submissionId: retId, verdict: "concur", limb: "a" },
      );
      cites.push(res.ok ? res.data.subjectId : "");
    }
    await coordinator().write(`/v1/submissions/${retId}/decisions`, "baseline.decide", {
      submissionId: retId,
      decision: "include",
      reason: "q",
      assessmentIds: cites,
    });
    await coordinator().write(`/v1/submissions/${retId}/decisions`, "baseline.decide", {
      submissionId: retId,
      decision: "retire",
      reason: "outdated",
    });
    const all = await match(p1, {
      scope: "all",
      items: [rev, exc, red, ret].map((value) => ({ type: "pdq", value })),
    });
    expect(all.results.map((x) => x.matches.length)).toEqual([0, 0, 0, 1]);
    const base = await match(p1, { items: [{ type: "pdq", value: ret }] });
    expect(ids(base)).toEqual([]);

    const soon = randomPdq(r);
    await submit(nl, [pdqItem(soon, { expiresAt: new Date(Date.now() + 1500).toISOString() })]);
    expect(ids(await match(p1, { scope: "all", items: [{ type: "pdq", value: soon }] }))).toHaveLength(1);
    await new Promise((res) => setTimeout(res, 1700));
    expect(ids(await match(p1, { scope: "all", items: [{ type: "pdq", value: soon }] }))).toHaveLength(0);
  });
});

describe("recall", () => {
  it("returns exactly the brute-force answer on uniform and clustered data (T = 31 and 52)", async () => {
    const stored: string[] = [];
    for (let i = 0; i < 300; i++) stored.push(randomPdq(r));
    const centres = Array.from({ length: 10 }, () => randomPdq(r));
    for (const c of centres) for (let k = 0; k < 20; k++) stored.push(flipBits(c, Math.floor(r() * 40), r));
    const unique = [...new Set(stored)];
    const created: string[] = [];
    for (let i = 0; i < unique.length; i += 250)
      created.push(
        ...(await submit(
          nl,
          unique.slice(i, i + 250).map((v) => pdqItem(v)),
        )),
      );
    const idOf = new Map(unique.map((v, i) => [created[i]!, v]));
    const queries = [
      ...centres,
      ...Array.from({ length: 20 }, () => randomPdq(r)),
      ...centres.map((c) => flipBits(c, 10, r)),
    ];
    // Entries that other tests in this file left live also count: compare against D1's live set.
    const live = await env.DB.prepare(
      "SELECT id, value FROM submissions WHERE signal_type = 'pdq' AND status = 'live' AND baseline_state <> 'excluded' AND (tlp IS NULL OR tlp <> 'red') AND (expires_at IS NULL OR expires_at > ?)",
    )
      .bind(new Date().toISOString())
      .all<{ id: string; value: string }>();
    for (const t of [31, 52]) {
      const m = await match(p2, {
        scope: "all",
        threshold: t,
        items: queries.map((value) => ({ type: "pdq", value })),
      });
      let total = 0;
      queries.forEach((q, i) => {
        const expected = live.results
          .filter((e) => hamming(e.value, q) <= t)
          .map((e) => e.id)
          .sort();
        const got = ids(m, i).sort();
        expect(got).toEqual(expected);
        total += got.length;
        for (const h of m.results[i]!.matches)
          expect(h.distance).toBe(
            hamming(idOf.get(h.submissionId) ?? live.results.find((e) => e.id === h.submissionId)!.value, q),
          );
      });
      expect(total).toBeGreaterThan(queries.length); // the clustered data really produced neighbours
    }
  });
});

describe("accounting, feedback and reversals", () => {
  it("records counts (not hashes) per request and remembers which platforms matched what", async () => {
    // Earlier requests may be pending; folded now, this one stays pending (FOLD_AFTER).
    await foldMatches(env.DB);
    const value = randomPdq(r);
    const [id] = await submit(nl, [pdqItem(value)]);
    await match(p1, {
      scope: "all",
      items: [
        { type: "pdq", value },
        { type: "pdq", value: randomPdq(r) },
      ],
    });
    const row = await env.DB.prepare(
      "SELECT * FROM match_requests WHERE platform_id = ? ORDER BY at DESC LIMIT 1",
    )
      .bind(p1.id)
      .first<Record<string, unknown>>();
    expect(row).toMatchObject({ queried: 2, matched_items: 1, matched_entries: 1, scope: "all" });
    expect(JSON.stringify(row)).not.toContain(value);
    // The matched entry is stored with the request until it is folded into the per-entry memory.
    expect(row?.unfolded_ids).toBe(JSON.stringify([id]));
    await foldMatches(env.DB);
    const m = await env.DB.prepare(
      "SELECT count FROM submission_matches WHERE submission_id = ? AND platform_id = ?",
    )
      .bind(id, p1.id)
      .first<{ count: number }>();
    expect(m?.count).toBe(1);
  });

  it("false-positive feedback from platforms that matched flags the entry for review", async () => {
    const value = randomPdq(r);
    const [id] = await submit(nl, [pdqItem(value)]);
    const p3 = await admit("platform");
    for (const p of [p1, p2, p3]) await match(p, { scope: "all", items: [{ type: "pdq", value }] });
    for (const p of [p1, p2, p3]) {
      const res = await p.client.write(`/v1/submissions/${id}/feedback`, "feedback.create", {
        submissionId: id,
        outcome: "false_positive",
        note: "a news photo",
      });
      expect(res.status).toBe(201);
    }
    // p1 changes its report: the later one replaces the earlier.
    await p1.client.write(`/v1/submissions/${id}/feedback`, "feedback.create", {
      submissionId: id,
      outcome: "true_positive",
    });
    const flagged = await coordinator().get<{ submissions: SubmissionView[] }>("/v1/curation?queue=flagged");
    const entry = flagged.ok ? flagged.data.submissions.find((s) => s.id === id) : undefined;
    expect(entry?.feedback).toMatchObject({ truePositive: 1, falsePositive: 2, flagged: true });
  });

  // The request stores which entries it was answered; the per-entry memory is folded in later. A
  // reader that looked only at the folded memory would miss a match still pending: each of these
  // reads one while it is pending (and fails if its reader does not fold first).
  describe("a match still pending in the accounting", () => {
    const pendingMatch = async (p: Admitted) => {
      await foldMatches(env.DB);
      const value = randomPdq(r);
      const [id] = await submit(de, [pdqItem(value)]);
      expect(ids(await match(p, { scope: "all", items: [{ type: "pdq", value }] }))).toEqual([id]);
      const folded = await env.DB.prepare(
        "SELECT count(*) AS n FROM submission_matches WHERE submission_id = ?",
      )
        .bind(id)
        .first<number>("n");
      const pending = await env.DB.prepare(
        "SELECT count(*) AS n FROM match_requests WHERE unfolded_ids IS NOT NULL",
      ).first<number>("n");
      expect({ folded, pending }).toEqual({ folded: 0, pending: 1 });
      return id!;
    };

    it("is told of the entry's reversal", async () => {
      const p = await admit("platform");
      const id = await pendingMatch(p);
      must(
        await coordinator().write(`/v1/submissions/${id}/reverse`, "submission.reverse", {
          submissionId: id,
          ground: "error",
          reason: "wrongly assessed",
        }),
      );
      const got = must(await p.client.get<{ reversals: { submissionId: string }[] }>("/v1/reversals"));
      expect(got.reversals.map((x) => x.submissionId)).toEqual([id]);
    });

    it("may give feedback on the entry", async () => {
      const p = await admit("platform");
      const id = await pendingMatch(p);
      const res = await p.client.write(`/v1/submissions/${id}/feedback`, "feedback.create", {
        submissionId: id,
        outcome: "true_positive",
      });
      expect(res.status).toBe(201);
    });

    it("may state its reasons for acting on the entry (DSA Art. 17)", async () => {
      const p = await admit("platform");
      const id = await pendingMatch(p);
      const res = await p.client.write("/v1/statements", "statement.create", statementRecord(id));
      expect(res.status).toBe(201);
    });

    it("counts in the entry's matches for the coordinator", async () => {
      const p = await admit("platform");
      const id = await pendingMatch(p);
      const got = must(
        await coordinator().get<{ platforms: number; total: number }>(`/v1/stats/submissions/${id}`),
      );
      expect(got).toMatchObject({ platforms: 1, total: 1 });
    });
  });

  it("folding counts each request once: repeats, concurrent folds, first and last times", async () => {
    await foldMatches(env.DB);
    const p = await admit("platform");
    const [a, b] = [randomPdq(r), randomPdq(r)];
    const [ida, idb] = await submit(de, [pdqItem(a), pdqItem(b)]);
    // a in three requests, b in two; a's first fold-in, then two more pending.
    await match(p, { scope: "all", items: [{ type: "pdq", value: a }] });
    expect(await foldMatches(env.DB)).toBe(1);
    await match(p, {
      scope: "all",
      items: [
        { type: "pdq", value: a },
        { type: "pdq", value: b },
      ],
    });
    await match(p, {
      scope: "all",
      items: [
        { type: "pdq", value: b },
        { type: "pdq", value: a },
      ],
    });
    // Two folds at once: between them the two pending requests are folded exactly once.
    const folded = await Promise.all([foldMatches(env.DB), foldMatches(env.DB)]);
    expect(folded[0]! + folded[1]!).toBe(2);
    expect(await foldMatches(env.DB)).toBe(0);
    const times = (
      await env.DB.prepare("SELECT at FROM match_requests WHERE platform_id = ? ORDER BY at")
        .bind(p.id)
        .all<{ at: string }>()
    ).results.map((x) => x.at);
    const rows = (
      await env.DB.prepare(
        "SELECT submission_id AS id, count, first_matched_at AS firstAt, last_matched_at AS lastAt FROM submission_matches WHERE platform_id = ? ORDER BY count DESC",
      )
        .bind(p.id)
        .all()
    ).results;
    expect(rows).toEqual([
      { id: ida, count: 3, firstAt: times[0], lastAt: times[2] },
      { id: idb, count: 2, firstAt: times[1], lastAt: times[2] },
    ]);
  });

  it("a request that finds enough pending folds them once its answer is out", async () => {
    await foldMatches(env.DB);
    const p = await admit("platform");
    const value = randomPdq(r);
    const [id] = await submit(de, [pdqItem(value)]);
    for (let i = 0; i < FOLD_AFTER - 1; i++)
      await match(p, { scope: "all", items: [{ type: "pdq", value }] });
    const pending = () =>
      env.DB.prepare("SELECT count(*) AS n FROM match_requests WHERE unfolded_ids IS NOT NULL").first<number>(
        "n",
      );
    expect(await pending()).toBe(FOLD_AFTER - 1);
    await match(p, { scope: "all", items: [{ type: "pdq", value }] });
    await vi.waitFor(async () => expect(await pending()).toBe(0), { timeout: 5000, interval: 20 });
    const m = await env.DB.prepare(
      "SELECT count FROM submission_matches WHERE submission_id = ? AND platform_id = ?",
    )
      .bind(id, p.id)
      .first<number>("count");
    expect(m).toBe(FOLD_AFTER);
  });

  it("a reversal reaches exactly the platforms that matched the entry", async () => {
    const value = randomPdq(r);
    const [id] = await submit(de, [pdqItem(value)]);
    await match(p1, { scope: "all", items: [{ type: "pdq", value }] });
    const cursor1 = await p1.client.get<{ reversals: unknown[]; next: number | null }>("/v1/reversals");
    const seen = cursor1.ok ? cursor1.data.reversals.length : -1;
    await coordinator().write(`/v1/submissions/${id}/reverse`, "submission.reverse", {
      submissionId: id,
      ground: "complaint_upheld",
      reason: "TCO Art 10 complaint upheld",
    });
    const r1 = await p1.client.get<{
      reversals: { submissionId: string; change: string; reason: string; seq: number }[];
    }>("/v1/reversals");
    expect(r1.ok && r1.data.reversals.length).toBe(seen + 1);
    expect(r1.ok && r1.data.reversals.at(-1)).toMatchObject({
      submissionId: id,
      change: "reversed",
      reason: "TCO Art 10 complaint upheld",
    });
    const after = r1.ok ? r1.data.reversals.at(-1)!.seq : 0;
    const again = await p1.client.get<{ reversals: unknown[] }>(`/v1/reversals?after=${after}`);
    expect(again.ok && again.data.reversals).toEqual([]);
    const r2 = await p2.client.get<{ reversals: { submissionId: string }[] }>("/v1/reversals");
    expect(r2.ok && r2.data.reversals.map((x) => x.submissionId)).not.toContain(id);
  });
});

describe("bad match requests", () => {
  const post = async (body: string, contentType = "application/json", by: Admitted = p1) =>
    nodeFetch(`${BASE}/v1/match`, {
      method: "POST",
      headers: { authorization: `Bearer ${await by.client.token()}`, "content-type": contentType },
      body,
    });

  it("refuse thresholds out of range, oversize batches, bad hex and unknown fields", async () => {
    const v = randomPdq(r);
    await expectProblem(
      await post(JSON.stringify({ threshold: 64, items: [{ type: "pdq", value: v }] })),
      400,
      "validation_failed",
    );
    await expectProblem(
      await post(JSON.stringify({ items: Array.from({ length: 1001 }, () => ({ type: "pdq", value: v })) })),
      400,
      "validation_failed",
    );
    const p = await expectProblem(
      await post(JSON.stringify({ items: [{ type: "pdq", value: v.toUpperCase() }] })),
      400,
      "validation_failed",
    );
    expect(p.errors?.[0]?.path).toBe("/items/0/value");
    await expectProblem(
      await post(JSON.stringify({ items: [{ type: "md5", value: v }] })),
      400,
      "validation_failed",
    );
    await expectProblem(await post(JSON.stringify({ items: [] })), 400, "validation_failed");
    await expectProblem(
      await post(JSON.stringify({ items: [{ type: "pdq", value: v }], extra: 1 })),
      400,
      "validation_failed",
    );
  });

  it("refuse malformed JSON, a wrong content type, and callers that are not platforms", async () => {
    await expectProblem(await post("{not json"), 400, "malformed_json");
    await expectProblem(
      await post("items=1", "application/x-www-form-urlencoded"),
      415,
      "unsupported_media_type",
    );
    await expectProblem(
      await post(JSON.stringify({ items: [{ type: "pdq", value: randomPdq(r) }] }), "application/json", nl),
      403,
      "forbidden",
    );
    await expectProblem(
      await nodeFetch(`${BASE}/v1/match`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      }),
      401,
      "unauthenticated",
    );
  });
});

// The metadata read takes each row as an array and names its fields by position
// (store/match.ts): every row, read so, must equal the statement's own named columns.
describe("the metadata read", () => {
  it("names every column as the statement does, for every kind of entry this file stored", async () => {
    // One more pair: a shareable entry whose value a live TLP:RED submission also holds.
    const shared = randomPdq(r);
    await submit(nl, [pdqItem(shared)]);
    await submit(de, [pdqItem(shared, { tlp: "red" })]);
    const keys = (
      await env.DB.prepare("SELECT match_key AS k FROM submissions WHERE match_key IS NOT NULL").all<{
        k: number;
      }>()
    ).results.map((x) => x.k);
    expect(keys.length).toBeGreaterThan(10);
    const named = await env.DB.prepare(MATCH_ROWS_SQL)
      .bind(JSON.stringify(keys))
      .all<Record<string, unknown> & { matchKey: number; lowQuality: number; linkedRed: number }>();
    const rows = await matchRows(env.DB, keys);
    expect(rows.size).toBe(keys.length);
    const linked = [...rows.values()].filter((x) => x.linkedRed);
    expect(linked.length).toBeGreaterThanOrEqual(2);
    for (const { matchKey, ...row } of named.results)
      expect(rows.get(matchKey)).toEqual({
        ...row,
        lowQuality: row.lowQuality === 1,
        linkedRed: row.linkedRed === 1,
      });
  });
});
