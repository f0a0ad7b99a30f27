// The platforms' review queue: match results kept on the node on request (POST /v1/match `keep`)
// with the platform's own content reference, never the hashes it sent; worked through later
// (GET /v1/review, outcomes by signed feedback) and exported as CSV; deleted after retention.
import { env } from "cloudflare:workers";
import type { MatchResponse, ReviewPage, SubmitResult } from "@eusn/protocol";
import { beforeAll, describe, expect, it } from "vitest";
import { db } from "../../workers/api/lib/db.ts";
import { purgeReviewItems } from "../../workers/api/store/review.ts";
import { allTables } from "../helpers/db-state.ts";
import { flipBits, pdqItem, randomPdq, rng } from "../helpers/hashes.ts";
import { type Admitted, admit, BASE, coordinator, expectProblem, nodeFetch } from "../helpers/node.ts";

const r = rng(9090);
let nl: Admitted;
let platform: Admitted;
let other: Admitted;
const values = [randomPdq(r), randomPdq(r), randomPdq(r)];
let ids: string[] = [];
/** What the platform sends: near copies (3 bits away), never stored anywhere. */
const queries = values.map((v) => flipBits(v, 3, r));

function ok<T>(res: { ok: true; data: T } | { ok: false; status: number; problem: unknown }): T {
  if (!res.ok) throw new Error(`${res.status} ${JSON.stringify(res.problem)}`);
  return res.data;
}

async function page(by: Admitted, q = ""): Promise<ReviewPage> {
  return ok(await by.client.get<ReviewPage>(`/v1/review${q}`));
}

beforeAll(async () => {
  nl = await admit("authority", "NL");
  platform = await admit("platform", undefined, { name: "Review Platform" });
  other = await admit("platform", undefined, { name: "Other Platform" });
  const sub = ok(
    await nl.client.write<SubmitResult>("/v1/submissions", "submission.create", {
      // A provision a spreadsheet would run as a formula: the CSV export must defuse it.
      items: values.map((v, i) => pdqItem(v, i === 1 ? { nationalProvision: '=HYPERLINK("http://x")' } : {})),
    }),
  );
  ids = sub.submissions.map((s) => s.id);
});

describe("keeping match results for review", () => {
  it("keeps nothing unless asked", async () => {
    const m = ok(
      await platform.client.match({
        scope: "all",
        items: [{ type: "pdq", value: queries[0]!, ref: "post-0" }],
      }),
    );
    expect(m.results[0]!.matches.map((h) => h.submissionId)).toEqual([ids[0]]);
    expect(m.kept).toBe(0);
    expect((await page(platform, "?status=all")).total).toBe(0);
  });

  it("keeps each result's entry and the platform's reference, never the queried hash", async () => {
    const m: MatchResponse = ok(
      await platform.client.match({
        scope: "all",
        keep: true,
        items: [
          { type: "pdq", value: queries[0]!, ref: "post-0" },
          { type: "pdq", value: queries[1]!, ref: "post-1" },
          { type: "pdq", value: queries[2]! },
          { type: "md5", value: "0".repeat(31) + "1", ref: "no-hit" },
        ],
      }),
    );
    expect(m.kept).toBe(3);
    const p = await page(platform);
    expect(p).toMatchObject({ total: 3, open: 3, retentionDays: 90 });
    const byEntry = new Map(p.items.map((i) => [i.submissionId, i]));
    expect(byEntry.get(ids[0]!)).toMatchObject({ ref: "post-0", count: 1, outcome: null });
    expect(byEntry.get(ids[2]!)).toMatchObject({ ref: null });
    expect(byEntry.get(ids[0]!)!.entry).toMatchObject({
      value: values[0],
      memberState: "NL",
      // NL is the only member state with an authority here: its own submission reaches the quorum.
      state: { name: "eligible" },
    });
    // Nothing the platform sent as a hash is anywhere in the database.
    for (const t of await allTables()) {
      const rows = await env.DB.prepare(`SELECT * FROM "${t}"`).all();
      const text = JSON.stringify(rows.results);
      for (const q of queries) expect(text, t).not.toContain(q);
    }
  });

  it("one item per entry and reference, counted when matched again; each platform sees its own", async () => {
    ok(
      await platform.client.match({
        scope: "all",
        keep: true,
        items: [{ type: "pdq", value: queries[0]!, ref: "post-0" }],
      }),
    );
    const p = await page(platform);
    expect(p.total).toBe(3);
    expect(p.items[0]).toMatchObject({ submissionId: ids[0], ref: "post-0", count: 2 });
    expect((await page(other, "?status=all")).total).toBe(0);
    const forbidden = await nodeFetch(`${BASE}/v1/review`, {
      headers: { authorization: `Bearer ${await nl.client.token()}` },
    });
    await expectProblem(forbidden, 403, "forbidden");
  });

  it("an outcome reported with signed feedback marks the item done; the entry's state is shown now", async () => {
    const fb = ok(
      await platform.client.write<{ recordId: string }>(
        `/v1/submissions/${ids[0]}/feedback`,
        "feedback.create",
        {
          submissionId: ids[0],
          outcome: "false_positive",
          note: "satire",
        },
      ),
    );
    ok(
      await coordinator().write(`/v1/submissions/${ids[1]}/reverse`, "submission.reverse", {
        submissionId: ids[1],
        ground: "error",
        reason: "submitted in error",
      }),
    );
    const open = await page(platform);
    expect(open).toMatchObject({ total: 2, open: 2 });
    const done = await page(platform, "?status=done");
    expect(done.total).toBe(1);
    expect(done.items[0]!.outcome).toMatchObject({
      outcome: "false_positive",
      recordId: fb.recordId,
      note: "satire",
    });
    const reversed = open.items.find((i) => i.submissionId === ids[1])!;
    expect(reversed.entry.state).toMatchObject({ name: "reversed" });
    expect((await page(platform, "?status=all&ref=post-1")).items.map((i) => i.ref)).toEqual(["post-1"]);
    expect((await page(platform, "?status=all&ref=post")).items.map((i) => i.ref).sort()).toEqual([
      "post-0",
      "post-1",
    ]);
  });

  it("exports the queue as CSV, with text a spreadsheet would run defused", async () => {
    const res = await nodeFetch(`${BASE}/v1/review/export?status=all`, {
      headers: { authorization: `Bearer ${await platform.client.token()}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(res.headers.get("content-disposition")).toMatch(
      /^attachment; filename="eusn-review-\d{4}-\d{2}-\d{2}\.csv"$/,
    );
    const text = await res.text();
    const lines = text.split("\r\n");
    expect(lines[0]).toBe(
      "item,ref,entry,state,signal_type,value,member_state,limbs,national_provision,first_matched_at,last_matched_at,times_matched,outcome,outcome_at,outcome_record",
    );
    expect(lines.length).toBe(5); // header, three items, the final CRLF
    expect(text).toContain(`,post-0,${ids[0]},eligible,pdq,${values[0]},NL,a,`);
    expect(text).toContain(",false_positive,");
    expect(text).toContain(`,post-1,${ids[1]},reversed,`);
    expect(text).toContain(`,"'=HYPERLINK(""http://x"")",`);
    for (const q of queries) expect(text).not.toContain(q);
  });

  it("refuses a reference that could carry a hash, an address or a formula, or is too long", async () => {
    for (const ref of [
      "bad\u0000ref",
      "x".repeat(129),
      "",
      "\u202eabc",
      // The queried hash itself, or any run of 32 hex digits, is never kept as a reference.
      queries[0]!,
      `img-${"ab".repeat(16)}`,
      "https://social.example/p/1",
      "user@social.example",
      '=HYPERLINK("http://x")',
    ]) {
      const res = await nodeFetch(`${BASE}/v1/match`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${await platform.client.token()}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({ keep: true, items: [{ type: "pdq", value: queries[0], ref }] }),
      });
      await expectProblem(res, 400, "validation_failed");
    }
  });

  it("deletes kept results once their retention is over", async () => {
    const d = db(env.DB);
    expect(await purgeReviewItems(d, 90)).toBe(0);
    // 91 days from now, everything kept today is past a 90-day retention.
    expect(await purgeReviewItems(d, 90, Date.now() + 91 * 86_400_000)).toBe(3);
    expect((await page(platform, "?status=all")).total).toBe(0);
  });
});
