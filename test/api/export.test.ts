// GET /v1/baseline/export through the real Worker and D1: csv and jsonl forms a matcher can
// bulk-load, membership identical to /v1/baseline, and a cursor that resumes without skipping or
// repeating while entries are included, disputed, retired and re-included.

import { EXPORT_CONTENT_TYPES, type ExportLine, type SubmitResult, type WriteReceipt } from "@eusn/protocol";
import { beforeAll, describe, expect, it } from "vitest";
import { pdqItem, randomHex, randomPdq, rng } from "../helpers/hashes.ts";
import {
  type Admitted,
  admit,
  BASE,
  coordinator,
  expectProblem,
  nodeFetch,
  revoke,
} from "../helpers/node.ts";

let nl: Admitted;
let de: Admitted;
let platform: Admitted;
const r = rng(11);

beforeAll(async () => {
  nl = await admit("authority", "NL");
  de = await admit("authority", "DE");
  platform = await admit("platform");
});

async function submit(by: Admitted, items: unknown[]): Promise<string[]> {
  const res = await by.client.write<SubmitResult>("/v1/submissions", "submission.create", {
    items,
  });
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
  return res.data.submissions.map((s) => s.id);
}

async function decide(id: string, decision: "include" | "exclude" | "retire", cites: string[] = []) {
  const res = await coordinator().write(`/v1/submissions/${id}/decisions`, "baseline.decide", {
    submissionId: id,
    decision,
    reason: `${decision} for the test`,
    assessmentIds: cites,
  });
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
}

/** NL submits, DE concurs (quorum: the two member states with an authority), the coordinator includes. */
async function included(item: unknown = pdqItem(randomPdq(r))): Promise<[string, string[]]> {
  const [id] = await submit(nl, [item]);
  const a = await de.client.write<WriteReceipt>(`/v1/submissions/${id}/assessments`, "assessment.create", {
    submissionId: id,
    verdict: "concur",
    limb: "a",
  });
  if (!a.ok) throw new Error(JSON.stringify(a.problem));
  await decide(id!, "include", [a.data.subjectId]);
  return [id!, [a.data.subjectId]];
}

type Page = { body: string; next: number; more: boolean; res: Response };

async function exportPage(by: Admitted, query: string): Promise<Page> {
  const res = await nodeFetch(`${BASE}/v1/baseline/export?${query}`, {
    headers: { authorization: `Bearer ${await by.client.token()}` },
  });
  expect(res.status).toBe(200);
  return {
    body: await res.clone().text(),
    next: Number(res.headers.get("x-eusn-next")),
    more: res.headers.get("x-eusn-more") === "true",
    res,
  };
}

const csvRows = (body: string) =>
  body
    .trimEnd()
    .split("\n")
    .slice(1)
    .filter((l) => l.length > 0)
    .map((l) => l.split(","));

/** Every page from `after` on, following X-EUSN-Next while X-EUSN-More. */
async function exportAll(by: Admitted, limit: number, after = 0, between?: () => Promise<void>) {
  const ids: string[] = [];
  let cursor = after;
  for (let pages = 0; ; pages++) {
    const p = await exportPage(by, `format=csv&limit=${limit}&after=${cursor}`);
    ids.push(...csvRows(p.body).map((row) => row[2]!));
    cursor = p.next;
    if (between) await between();
    if (!p.more) break;
    if (pages > 200) throw new Error("paging does not end");
  }
  return { ids, cursor };
}

async function baselineIds(): Promise<string[]> {
  const res = await platform.client.get<{ entries: { id: string }[] }>("/v1/baseline?limit=5000");
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
  return res.data.entries.map((e) => e.id);
}

describe("hash-list export", () => {
  it("csv: a header, then type,value,id per hash; exactly the baseline (no RED, none-state, retired or withdrawn)", async () => {
    const pdq = randomPdq(r);
    const md5 = randomHex(r, 32);
    const [a] = await included(pdqItem(pdq));
    const [b] = await included({
      signalType: "md5",
      value: md5,
      limbs: ["d"],
      contentType: "document",
      nationalProvision: "NL Sr. art. 134a",
    });
    const [notIncluded] = await submit(nl, [pdqItem(randomPdq(r))]);
    const [red] = await submit(nl, [pdqItem(randomPdq(r), { tlp: "red" })]);
    const [retired] = await included();
    await decide(retired, "retire");
    const [withdrawn] = await included();
    await nl.client.write(`/v1/submissions/${withdrawn}/withdraw`, "submission.withdraw", {
      submissionId: withdrawn,
      reason: "error",
    });

    const p = await exportPage(platform, "format=csv");
    expect(p.res.headers.get("content-type")).toBe(EXPORT_CONTENT_TYPES.csv);
    expect(p.body.split("\n")[0]).toBe("type,value,id");
    const rows = csvRows(p.body);
    expect(rows).toContainEqual(["pdq", pdq, a]);
    expect(rows).toContainEqual(["md5", md5, b]);
    for (const row of rows) expect(row).toHaveLength(3);
    const ids = rows.map((row) => row[2]);
    for (const gone of [notIncluded, red, retired, withdrawn]) expect(ids).not.toContain(gone);
    expect([...ids].sort()).toEqual([...(await baselineIds())].sort());
    expect(p.more).toBe(false);
    expect(p.res.headers.get("x-eusn-baseline-version")).toMatch(/^\d+$/);
  });

  it("jsonl: one JSON object per line with type, value, id, quality, state, tlp, expiresAt", async () => {
    const value = randomPdq(r);
    const [id] = await included(pdqItem(value, { quality: 88, tlp: "amber" }));
    const p = await exportPage(platform, "format=jsonl&limit=50000");
    expect(p.res.headers.get("content-type")).toBe(EXPORT_CONTENT_TYPES.jsonl);
    expect(p.body.endsWith("\n")).toBe(true);
    const lines = p.body
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as ExportLine);
    expect(lines.find((l) => l.id === id)).toEqual({
      type: "pdq",
      value,
      id,
      quality: 88,
      state: "included",
      tlp: "amber",
      expiresAt: null,
    });
  });

  it("pages resume from X-EUSN-Next and never skip or repeat while entries arrive, are disputed or re-included", async () => {
    for (let i = 0; i < 5; i++) await included();
    const arrivals: string[] = [];
    let round = 0;
    const { ids, cursor } = await exportAll(platform, 2, 0, async () => {
      round++;
      if (round <= 3) {
        const [id] = await included();
        arrivals.push(id);
      }
      if (round === 2) {
        // A dissent on an entry already exported marks it disputed: it must not come round again.
        const first = (await exportPage(platform, "format=csv&limit=1")).body;
        const firstId = csvRows(first)[0]![2]!;
        const third = await admit("authority", "FR");
        await third.client.write(`/v1/submissions/${firstId}/assessments`, "assessment.create", {
          submissionId: firstId,
          verdict: "dissent",
          limb: "a",
          reason: "not terrorist content",
        });
        await revoke(third.id, "test authority no longer needed");
      }
    });
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of arrivals) expect(ids).toContain(id);
    expect([...ids].sort()).toEqual([...(await baselineIds())].sort());

    // Resuming later from the stored cursor yields only what entered the baseline since.
    const quiet = await exportPage(platform, `format=csv&after=${cursor}`);
    expect(csvRows(quiet.body)).toEqual([]);
    expect(quiet.next).toBe(cursor);
    const [late] = await included();
    const [back, backCites] = await included();
    await decide(back, "retire");
    await decide(back, "include", backCites); // left and came back: exported again, at its new place
    const resumed = await exportPage(platform, `format=csv&after=${cursor}`);
    expect(csvRows(resumed.body).map((row) => row[2])).toEqual([late, back]);
    expect(resumed.next).toBeGreaterThan(cursor);
  });

  it("a Link rel=next and X-EUSN-More: true while more pages remain", async () => {
    await included();
    await included();
    const p = await exportPage(platform, "format=jsonl&limit=1");
    expect(p.more).toBe(true);
    expect(p.res.headers.get("link")).toBe(
      `</v1/baseline/export?format=jsonl&limit=1&after=${p.next}>; rel="next"`,
    );
  });

  it("participants only, with a bearer token; bad parameters are validation problems", async () => {
    await expectProblem(await nodeFetch(`${BASE}/v1/baseline/export`), 401, "unauthenticated");
    await expectProblem(
      await nodeFetch(`${BASE}/v1/baseline/export`, { headers: { authorization: "Basic Zm9vOmJhcg==" } }),
      401,
      "invalid_token",
    );
    for (const who of [nl, platform]) expect((await exportPage(who, "format=csv")).res.status).toBe(200);
    const bad = await nodeFetch(`${BASE}/v1/baseline/export?format=xml`, {
      headers: { authorization: `Bearer ${await platform.client.token()}` },
    });
    await expectProblem(bad, 400, "validation_failed");
    const neg = await nodeFetch(`${BASE}/v1/baseline/export?after=-1`, {
      headers: { authorization: `Bearer ${await platform.client.token()}` },
    });
    await expectProblem(neg, 400, "validation_failed");
  });
});
