// A crisis drill in the console, in Chromium against the shared e2e node (docs/incidents.md): the
// coordinator declares an incident on the incident page and extends it (signed in the page through
// the confirmation dialog); every participant sees the banner; the French authority submits a
// hash tagged with it from the submit form (a provisional entry); the coordinator's page shows it
// arrive through the fast lane's long-poll; a platform matches it, labelled provisional, and the
// coordinator's page counts the match; the coordinator closes the incident, the entry lapses: the
// platform is no longer answered it and sees the lapse among its reversals. axe-core on each page.
//
// It shares the node with the other e2e files and runs beside them: it counts only its own
// incident and entry (a fresh random hash), signs in as Demo Video (never as Demo Social, whose key
// console.test.ts rotates) and leaves no incident active behind it.
import { randomBytes } from "node:crypto";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import {
  confirmDialog,
  expectAccessible,
  open,
  type Slug,
  shot,
  skip,
  type Tab,
  useBrowser,
} from "./browser.ts";

const d = skip ? describe.skip : describe;
if (skip) it.skip(`incident e2e skipped: ${skip}`, () => {});

d("a crisis drill in the console", () => {
  const b = useBrowser();
  const pages: Partial<Record<Slug, Tab>> = {};
  const title = `Livestream drill ${Date.now().toString(36)}`;
  // A hash no other file submits: the drill's one entry.
  const hash = randomBytes(32).toString("hex");
  let incidentId = "";
  let entryId = "";
  let declaredEnd = "";

  async function as(slug: Slug) {
    const t = await b.as(slug);
    pages[slug] = t;
    return t;
  }
  /** The banner's line for this drill's incident on the page now. */
  const bannerLine = (page: Page) => page.locator(`#incident-banner p[data-incident-id="${incidentId}"]`);

  it("coordinator: declares the incident and extends it through the signing dialog", async () => {
    const { page } = await as("coordinator");
    await open(page, "/console/incidents");
    await expectAccessible(page);
    await page.getByLabel("Title", { exact: true }).fill(title);
    await page
      .getByLabel("Description", { exact: true })
      .fill("An attack streamed live; copies are being re-uploaded.");
    await page.locator('#declare-states input[value="NL"]').check();
    await page.locator('#declare-states input[value="FR"]').check();
    await page.getByLabel(/^Lasts/).fill("2");
    await page.getByRole("button", { name: "Review and declare…" }).click();
    await confirmDialog(page, { kind: "incident.declare" });
    // The page watches the incident it declared.
    const watching = page.locator("#incident-watch");
    await expect.poll(() => watching.getAttribute("data-incident")).toMatch(/^inc_/);
    incidentId = (await watching.getAttribute("data-incident")) ?? "";
    expect(await page.locator("#incident-watch-h").textContent()).toContain(title);
    const row = page.locator("#incidents-table tbody tr").filter({ hasText: incidentId });
    expect(await row.textContent()).toContain("active");
    // The banner on the coordinator's own page, at once.
    await expect.poll(() => bannerLine(page).textContent()).toContain(title);

    // Extend by six hours: the new end is one the dialog offered, and the list says so.
    const endCell = async () => (await row.locator("td").nth(3).textContent()) ?? "";
    declaredEnd = await endCell();
    await page.getByRole("button", { name: `Extend ${title}` }).click();
    await confirmDialog(page, { kind: "incident.extend", fill: { reason: "copies still spreading" } });
    await expect.poll(endCell).toContain("1 extension");
    const newEnd = (await endCell()).split(" (")[0]!;
    expect(newEnd).not.toBe(declaredEnd);
    // The banner and the watched incident's status line say the new end.
    await expect.poll(() => bannerLine(page).textContent()).toContain(newEnd);
    await expect.poll(() => page.textContent("#watch-status")).toContain(newEnd);
    await shot(page, "incident-02-coordinator-page");
    await expectAccessible(page);
  });

  it("authority: sees the banner and submits a provisional hash tagged with the incident", async () => {
    const { page } = await as("fr");
    await expect.poll(() => bannerLine(page).textContent()).toContain(title);
    expect(await bannerLine(page).textContent()).toContain("until");
    await open(page, "/console/submit");
    await expect.poll(() => bannerLine(page).count()).toBe(1);
    const select = page.getByLabel("Tag this batch with an active incident");
    // No incident is chosen for the authority.
    expect(await select.inputValue()).toBe("");
    await select.selectOption(incidentId);
    await page.fill("#submit-paste-text", `${hash},100`);
    await page.click("#submit-paste-add");
    await expect.poll(() => page.locator("#submit-items tbody tr").count()).toBe(1);
    await page.getByLabel("National provision").fill("FR Code pénal art. 421-2-5");
    await page.locator("input[name=limbs][value=a]").check();
    await expectAccessible(page);
    await page.getByRole("button", { name: "Review and submit…" }).click();
    expect(await page.textContent("#confirm-preview")).toContain(`"incidentId": "${incidentId}"`);
    await confirmDialog(page, { kind: "submission.create" });
    const result = page.locator("#submit-results-table tbody tr").filter({ hasText: hash });
    await expect.poll(() => result.count()).toBe(1);
    entryId = (await result.locator("a").first().textContent()) ?? "";
    expect(entryId).toMatch(/^hsh_/);
    expect(await page.textContent("#submit-provisional")).toContain(title);
  });

  it("coordinator: the fast lane shows the arrival on the incident page without a reload", async () => {
    const { page } = pages.coordinator!;
    const line = page.locator("#watch-feed tbody tr").filter({ hasText: entryId });
    await expect.poll(() => line.count()).toBe(1);
    expect(await line.textContent()).toContain("add");
    expect(await line.textContent()).toContain("created");
  });

  it("platform: sees the banner and matches the hash at once, labelled provisional", async () => {
    const { page } = await as("video");
    await expect.poll(() => bannerLine(page).textContent()).toContain(title);
    await page.fill("#match-paste-text", hash);
    await page.click("#match-paste-add");
    await page.getByRole("button", { name: "Match", exact: true }).click();
    const row = page.locator("section.result tbody tr").filter({ hasText: entryId });
    await expect.poll(() => row.count()).toBe(1);
    // Scope baseline (the default): answered before any assessment, labelled with the incident.
    expect(await page.inputValue("#match-scope")).toBe("baseline");
    const label = row.locator(`[data-provisional="${incidentId}"]`);
    expect(await label.textContent()).toContain("provisional until");
    await shot(page, "incident-04-platform-match");
    await expectAccessible(page);
  });

  it("coordinator: the incident page counts the provisional match", async () => {
    const { page } = pages.coordinator!;
    await expect.poll(() => page.locator(`[data-matches="${entryId}"]`).textContent()).toBe("1");
    expect(await page.locator(`[data-fate="${entryId}"]`).textContent()).toBe("provisional");
  });

  it("coordinator: closes the incident; the entry lapses in the same write", async () => {
    const { page } = pages.coordinator!;
    await page.getByRole("button", { name: `Close ${title}` }).click();
    expect(await page.textContent("#confirm-intro")).toContain("lapse");
    await confirmDialog(page, {
      kind: "incident.close",
      fill: { reason: "drill over: the spread is contained" },
    });
    const removal = page.locator("#watch-feed tbody tr").filter({ hasText: "provisional_lapsed" });
    await expect.poll(() => removal.count()).toBe(1);
    expect(await removal.textContent()).toContain(entryId);
    expect(await removal.textContent()).toContain("remove");
    await expect.poll(() => page.locator(`[data-fate="${entryId}"]`).textContent()).toBe("lapsed");
    // The banner is gone with the incident.
    await expect.poll(() => bannerLine(page).count()).toBe(0);
    await shot(page, "incident-05-closed");
    await expectAccessible(page);
  });

  it("platform: the lapsed entry is no longer answered and is among its reversals", async () => {
    const { page } = pages.video!;
    await open(page, "/console/match");
    expect(await bannerLine(page).count()).toBe(0);
    await page.fill("#match-paste-text", hash);
    await page.click("#match-paste-add");
    await page.getByRole("button", { name: "Match", exact: true }).click();
    const result = page.locator("section.result").first();
    await expect.poll(() => result.textContent()).toContain("No match.");
    const reversal = page.locator("#reversals-table tbody tr").filter({ hasText: entryId });
    await expect.poll(() => reversal.count()).toBe(1);
    expect(await reversal.textContent()).toContain("provisional_lapsed");
  });

  it("authority: the submit form no longer offers the closed incident", async () => {
    const { page } = pages.fr!;
    await open(page, "/console/submit");
    expect(await page.locator(`#submit-incident option[value="${incidentId}"]`).count()).toBe(0);
    expect(await bannerLine(page).count()).toBe(0);
  });

  it("no page reported a CSP violation or a script error along the way", () => {
    expect(b.problems()).toEqual([]);
  });
});
