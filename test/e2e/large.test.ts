// Each role's day on a network of thousands of entries, in Chromium: global setup grows the e2e
// node with `npm start -- --demo-size large`'s seeding (at least LARGE_ENTRIES entries by NL, DE
// and FR; DE and FR concur on 300 of NL's; 200 included, 100 left eligible). The work queues
// are answered by the node a page at a time: here page 2 must differ from page 1, and a filter
// must narrow the queue to exactly what GET /v1/submissions says for it. The files share the
// node and run side by side: totals are compared with the API read around the page, and only
// this file's own decisions are counted. Screenshots: test-artifacts/e2e/large-*.png.
import { readFileSync } from "node:fs";
import path from "node:path";
import { EusnClient } from "@eusn/client";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import {
  base,
  chooseInQueue,
  confirmDialog,
  expectAccessible,
  keyFile,
  keysDir,
  open,
  openUnlessThere,
  queueIds,
  queueLoad,
  queueTotal,
  type Slug,
  searchQueue,
  shot,
  skip,
  useBrowser,
} from "./browser.ts";
import { LARGE_ENTRIES } from "./global-setup.ts";

const d = skip ? describe.skip : describe;
if (skip) it.skip(`large-network e2e skipped: ${skip}`, () => {});

type View = { id: string; value: string; memberState: string; limbs: string[]; state: { name: string } };
type Listing = { submissions: View[]; total: number };

const client = (slug: Slug) =>
  new EusnClient({ ...JSON.parse(readFileSync(keyFile(slug), "utf8")), baseUrl: base });
async function must<T>(r: Promise<{ ok: true; data: T } | { ok: false; problem: unknown }>): Promise<T> {
  const res = await r;
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
  return res.data;
}
const list = (slug: Slug, q: Record<string, string>) =>
  must(client(slug).get<Listing>(`/v1/submissions?${new URLSearchParams(q)}`));

/**
 * The queue's total as the page shows it, against the API's for the same query read before and
 * after it (other files add entries meanwhile): between the two.
 */
async function expectTotalAsApi(page: Page, host: string, slug: Slug, q: Record<string, string>) {
  const before = (await list(slug, { ...q, limit: "1" })).total;
  const shown = await queueTotal(page, host);
  const after = (await list(slug, { ...q, limit: "1" })).total;
  expect(shown, `${host} ${new URLSearchParams(q)}`).toBeGreaterThanOrEqual(Math.min(before, after));
  expect(shown, `${host} ${new URLSearchParams(q)}`).toBeLessThanOrEqual(Math.max(before, after));
  return shown;
}

const choose = chooseInQueue;

d("a day's work on a network of thousands of entries", () => {
  // The one file that waits for global setup's large network (global-setup.ts, step 6).
  const { as, problems } = useBrowser({ largeNetwork: true });

  it("the node holds the large network", async () => {
    const { total } = await list("coordinator", { scope: "all", limit: "1" });
    expect(total).toBeGreaterThanOrEqual(LARGE_ENTRIES);
  });

  it("authority: pages, filters and searches the queue awaiting its assessment; concurs on a page's selection with one signature", async () => {
    const { page } = await as("fr");
    const host = "awaiting-table";
    await openUnlessThere(page, "/console/assess");
    const all = await expectTotalAsApi(page, host, "fr", { scope: "awaiting" });
    // NL's entries but the 300 FR concurred on, and DE's: a thousand and more.
    expect(all).toBeGreaterThan(1000);
    const first = await queueIds(page, host);
    expect(first).toHaveLength(25);
    await queueLoad(page, host, () =>
      page
        .getByRole("button", { name: /^Next page of / })
        .first()
        .click(),
    );
    const second = await queueIds(page, host);
    expect(second).toHaveLength(25);
    expect(second.filter((id) => first.includes(id))).toEqual([]);
    expect(await page.locator(`#${host}-status`).textContent()).toMatch(/^Showing 26–50 of /);
    await shot(page, "large-01-authority-queue-page-2");

    // Filters start again at page 1 and narrow the queue to what the node says.
    await choose(page, host, "memberState", "DE");
    await expectTotalAsApi(page, host, "fr", { scope: "awaiting", memberState: "DE" });
    const origins = await page
      .locator(`#${host} tbody tr`)
      .evaluateAll((trs) => trs.map((tr) => tr.children[2]?.textContent ?? ""));
    expect(new Set(origins)).toEqual(new Set(["DE"]));
    await choose(page, host, "tlp", "amber");
    const amber = await expectTotalAsApi(page, host, "fr", {
      scope: "awaiting",
      memberState: "DE",
      tlp: "amber",
    });
    expect(amber).toBeGreaterThan(0);
    expect(amber).toBeLessThan(all);
    await choose(page, host, "limb", "c");
    await expectTotalAsApi(page, host, "fr", {
      scope: "awaiting",
      memberState: "DE",
      tlp: "amber",
      limb: "c",
    });
    await shot(page, "large-02-authority-queue-filtered");
    await expectAccessible(page);

    // Search by a hash prefix finds the entry among thousands.
    const filtered = { scope: "awaiting", memberState: "DE", tlp: "amber", limb: "c" };
    const { total } = await list("fr", { ...filtered, limit: "1" });
    const target = (await list("fr", { ...filtered, limit: "1", offset: String(total - 1) })).submissions[0]!;
    await searchQueue(page, host, target.value.slice(0, 10));
    expect(await queueIds(page, host)).toContain(target.id);

    // Bulk: DE's amber entries on page 1, concurred on with one signed record.
    await queueLoad(page, host, () => page.locator(`#${host} input[name=q]`).fill(""));
    expect(await queueTotal(page, host)).toBeGreaterThan(1);
    await choose(page, host, "limb", "");
    const chosen = await queueIds(page, host);
    expect(chosen.length).toBeGreaterThan(1);
    await page.getByLabel("Select all on this page").check();
    await expect
      .poll(() => page.locator(`#${host}-selected`).textContent())
      .toBe(`${chosen.length} selected`);
    await page.getByRole("button", { name: `Concur with selected (${chosen.length})…` }).click();
    await expect.poll(() => page.textContent("#confirm-preview")).toContain('"items"');
    const record = JSON.parse((await page.textContent("#confirm-preview")) ?? "{}") as {
      items: { submissionId: string }[];
    };
    expect(record.items.map((i) => i.submissionId).sort()).toEqual([...chosen].sort());
    await confirmDialog(page, {
      kind: "assessment.batch",
      fill: { reason: "FR concurs (limb a)" },
      screenshot: "large-03-authority-bulk-concur",
    });
    // None of them awaits FR any more.
    for (const id of chosen)
      expect((await list("fr", { scope: "awaiting", q: id, limit: "1" })).total).toBe(0);
    await expect.poll(() => queueIds(page, host)).not.toContain(chosen[0]);
  });

  it("coordinator: pages and filters the curation queues; includes a page's selection with one signature; filters the audit trail", async () => {
    const { page } = await as("coordinator");
    const host = "queue-eligible-table";
    await openUnlessThere(page, "/console/curation");
    const eligible = await expectTotalAsApi(page, host, "coordinator", { scope: "all", state: "eligible" });
    // The large network leaves 100 of NL's entries eligible.
    expect(eligible).toBeGreaterThanOrEqual(100);
    const first = await queueIds(page, host);
    await queueLoad(page, host, () =>
      page.getByRole("button", { name: "Next page of Entries eligible for the baseline" }).click(),
    );
    const second = await queueIds(page, host);
    expect(second.length).toBeGreaterThan(0);
    expect(second.filter((id) => first.includes(id))).toEqual([]);
    await choose(page, host, "limb", "b");
    const withB = await expectTotalAsApi(page, host, "coordinator", {
      scope: "all",
      state: "eligible",
      limb: "b",
    });
    expect(withB).toBeGreaterThan(0);
    expect(withB).toBeLessThan(eligible);
    await shot(page, "large-04-coordinator-curation");
    await expectAccessible(page);

    // Include the page's selection with one signature, each entry citing its concurrences.
    const chosen = await queueIds(page, host);
    const box = page.locator(`#${host}`);
    await box.getByLabel("Select all on this page").check();
    await box.getByRole("button", { name: `Include selected (${chosen.length})…` }).click();
    await expect.poll(() => page.textContent("#confirm-preview")).toContain('"assessmentIds"');
    const record = JSON.parse((await page.textContent("#confirm-preview")) ?? "{}") as {
      decision: string;
      items: { submissionId: string; assessmentIds: string[] }[];
    };
    expect(record.decision).toBe("include");
    expect(record.items.map((i) => i.submissionId).sort()).toEqual([...chosen].sort());
    for (const i of record.items) expect(i.assessmentIds.length).toBeGreaterThanOrEqual(2);
    const recordId = await confirmDialog(page, {
      kind: "baseline.decide.batch",
      fill: { reason: "DE and FR concur (limb a)" },
      screenshot: "large-05-coordinator-bulk-include",
    });
    for (const id of chosen) {
      const [v] = (await list("coordinator", { scope: "all", q: id, limit: "1" })).submissions;
      expect(v?.state.name, id).toBe("included");
    }

    // The audit trail, newest first: the inclusion on top of its kind, found by the node's filters.
    await open(page, "/console/audit");
    const answered = page.waitForResponse((r) => r.url().includes("kind=baseline.decide.batch"));
    await page.selectOption("#audit-kind", "baseline.decide.batch");
    await answered;
    const rows = page.locator("#audit-table tbody tr");
    // The answer has arrived; the table is redrawn from it a moment later. The unfiltered table
    // shown before may already have the inclusion on top (it is the newest entry of all), so wait
    // for the rows to be of the filtered kind, not only for the inclusion.
    const kinds = async () =>
      new Set(await rows.evaluateAll((trs) => trs.map((tr) => tr.children[2]?.textContent ?? "")));
    await expect.poll(kinds).toEqual(new Set(["baseline.decide.batch"]));
    await expect.poll(() => rows.first().textContent()).toContain(recordId);
    await shot(page, "large-06-coordinator-audit");
  });

  it("platform: matches a hundred baseline hashes with its references, works through them in its review queue a page at a time, exports the CSV", async () => {
    // A hundred of the baseline's hashes, as a platform's own list: hash, quality, its reference.
    const { submissions } = await list("coordinator", { scope: "all", state: "included", limit: "100" });
    expect(submissions).toHaveLength(100);
    const run = Date.now().toString(36);
    const refs = submissions.map((_, i) => `large-${run}-${String(i).padStart(3, "0")}`);
    const { page } = await as("video");
    await openUnlessThere(page, "/console/match");
    await page.fill("#match-paste-text", submissions.map((v, i) => `${v.value},90,${refs[i]}`).join("\n"));
    await page.click("#match-paste-add");
    await expect.poll(() => page.locator("#match-items tbody tr").count()).toBe(100);
    await page.locator("#match-keep").check();
    await page.getByRole("button", { name: "Match", exact: true }).click();
    await expect.poll(() => page.textContent("#match-summary")).toMatch(/100 result\(s\) kept/);
    expect(await page.textContent("#match-summary")).toMatch(/^100 match\(es\) for 100 hash\(es\)/);
    await shot(page, "large-07-platform-match");

    await open(page, "/console/review");
    const review = (q: Record<string, string>) =>
      must(
        client("video").get<{ items: { ref: string | null }[]; total: number }>(
          `/v1/review?${new URLSearchParams(q)}`,
        ),
      );
    /** Types a reference prefix and waits for the node's answer to it. */
    const refFilter = async (ref: string) => {
      const answered = page.waitForResponse(
        (r) => r.url().includes("/v1/review?") && new URL(r.url()).searchParams.get("ref") === ref,
      );
      await page.fill("#review-ref", ref);
      await answered;
    };
    const shown = async () => ({
      count: (await page.textContent("#review-count")) ?? "",
      refs: await page
        .locator("#review-table tbody tr")
        .evaluateAll((trs) => trs.map((tr) => tr.children[0]?.textContent ?? "")),
    });
    await refFilter(`large-${run}-`);
    await expect.poll(async () => (await shown()).count).toMatch(/^Showing 1–25 of 100 item/);
    const first = (await shown()).refs;
    await page.click("#review-next");
    await expect.poll(async () => (await shown()).count).toMatch(/^Showing 26–50 of 100 item/);
    const second = (await shown()).refs;
    expect(second).toHaveLength(25);
    expect(second.filter((r) => first.includes(r))).toEqual([]);
    // A narrower reference: exactly what the node keeps under it.
    await refFilter(`large-${run}-04`);
    const narrowed = await review({ status: "open", ref: `large-${run}-04`, limit: "25" });
    expect(narrowed.total).toBe(10);
    await expect
      .poll(async () => (await shown()).refs.sort())
      .toEqual(narrowed.items.map((i) => i.ref!).sort());
    await shot(page, "large-08-platform-review");
    await expectAccessible(page);

    // The CSV of the queue with the run's filter: its hundred items.
    await refFilter(`large-${run}-`);
    await expect.poll(async () => (await shown()).count).toMatch(/of 100 item/);
    await page.click("#review-export-make");
    const link = page.getByRole("link", { name: /Download the CSV \(100 item\(s\)\)/ });
    const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
    const saved = path.join(keysDir, "downloaded-review.csv");
    await download.saveAs(saved);
    const csv = readFileSync(saved, "utf8").trim().split(/\r?\n/);
    expect(csv).toHaveLength(101);
    for (const ref of refs) expect(csv.some((l) => l.includes(ref))).toBe(true);
  });

  it("no page reported a CSP violation or a script error", () => {
    expect(problems()).toEqual([]);
  });
});
