// Case files in the console, in Chromium against the shared e2e node (docs/evidence.md): the NL
// authority's entry carries a case file (global setup, test/e2e/evidence-setup.ts); DE and FR open
// it in /console/evidence with their key-wrapping key files, see it blurred and greyscale until
// they reveal it, read the page's checks (the ciphertext's SHA-256 against the signed record, the
// material's PDQ at its distance to the submitted hash), and concur; NL sees both downloads.
// The attempts to break it come first in each flow: another authority's key file, a coordinator
// the submitter did not name. Uses only its own entries: assumes nothing else about the node.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { EusnClient, submitVideo } from "@eusn/client";
import type { SubmissionView, VpdqFrame } from "@eusn/protocol";
import type { Page } from "playwright-core";
import { beforeAll, describe, expect, it } from "vitest";
import {
  confirmDialog,
  credential,
  dropFiles,
  expectAccessible,
  FIXTURES,
  keyFile,
  keysDir,
  open,
  type Slug,
  shot,
  skip,
  useBrowser,
} from "./browser.ts";
import { attachWithRetry } from "./evidence-setup.ts";

/** The sample videos, read from ../shared/vpdq-vectors (never copied into the repository). */
const VECTORS = path.resolve(import.meta.dirname, "../../../shared/vpdq-vectors");
const video = (name: string) => path.join(VECTORS, "videos", `${name}.mp4`);
/** The reference's frames of a sample video (FFmpeg, one a second), as the CLI submits them. */
const referenceFrames = (name: string): VpdqFrame[] =>
  readFileSync(path.join(VECTORS, "expected/every-second", `${name}.txt`), "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => {
      const [n, q, hash, t] = l.split(",");
      return [Number(n), Number(q), hash!, Number(t)] as VpdqFrame;
    });
const haveVideos = existsSync(video("chair-orig-22-sd-bar"));

const d = skip ? describe.skip : describe;
if (skip) it.skip(`case-file e2e skipped: ${skip}`, () => {});

/** A participant's key-wrapping private key file, written by global setup. */
const encKeyFile = (slug: "nl" | "de" | "fr") => path.join(keysDir, `${slug}-enc.json`);

d("case files in the console", () => {
  // Each participant signs in once; a later flow continues in the same tab.
  const { as } = useBrowser();
  let seeded: { entry: string; caseFile: string; hash: string };

  /** The client of a participant, from its key file (for reading what the node holds). */
  function client(slug: Slug) {
    const c = JSON.parse(readFileSync(keyFile(slug), "utf8")) as ConstructorParameters<typeof EusnClient>[0];
    return new EusnClient(c);
  }

  /** Opens `caseFile` in the viewer with `slug`'s key file; waits for the checks or an error. */
  async function openCaseFile(page: Page, caseFile: string, keySlug: "nl" | "de" | "fr", timeout?: number) {
    await open(page, "/console/evidence");
    await page.setInputFiles("#evidence-key-file", encKeyFile(keySlug));
    await expect.poll(() => page.textContent("#evidence-key-state")).toContain("loaded");
    await page.getByRole("button", { name: `Open case file ${caseFile}` }).click();
    await page
      .locator("#evidence-checks dl, #evidence-checks .error")
      .first()
      .waitFor(timeout ? { timeout } : {});
  }

  const filterOf = (page: Page, selector: string) =>
    page.locator(selector).evaluate((el) => getComputedStyle(el).filter);

  beforeAll(() => {
    seeded = JSON.parse(readFileSync(path.join(keysDir, "evidence.json"), "utf8"));
  });

  it("DE: another authority's key opens nothing; its own opens the image blurred and greyscale, hash-checked; it concurs from the viewer", async () => {
    const { page, watch } = await as("de");
    // FR's key file in DE's page: the wrap is DE's, so it does not open, and nothing is downloaded.
    await openCaseFile(page, seeded.caseFile, "fr");
    expect(await page.textContent("#evidence-checks .error")).toMatch(/decrypt|not for this recipient/i);
    expect(watch.requests.some((r) => r.url.endsWith(`/v1/evidence/${seeded.caseFile}/content`))).toBe(false);

    await openCaseFile(page, seeded.caseFile, "de");
    const checks = page.locator("#evidence-checks");
    expect(await checks.locator("[data-check='Ciphertext SHA-256']").textContent()).toContain(
      "matches the submitter's signed record",
    );
    const pdq = checks.locator("[data-check='PDQ of the material'] [data-match]");
    // The PNG decodes to the same samples as the submitter's: the very hash that was submitted.
    expect(await pdq.getAttribute("data-match")).toBe("1");
    expect(Number(await pdq.getAttribute("data-distance"))).toBe(0);
    expect(await pdq.textContent()).toContain(`${seeded.hash} (quality 85): distance 0 of 256`);
    // Drawn, 400×300, and shown blurred and in greyscale until Reveal.
    const canvas = page.locator("#evidence-canvas");
    expect(await canvas.isVisible()).toBe(true);
    expect(await canvas.evaluate((c: HTMLCanvasElement) => [c.width, c.height])).toEqual([400, 300]);
    const drawn = await canvas.evaluate((c: HTMLCanvasElement) => {
      const px = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
      let opaque = 0;
      for (let i = 3; i < px.length; i += 4) if (px[i]! > 0) opaque++;
      return opaque;
    });
    expect(drawn).toBe(400 * 300);
    expect(await filterOf(page, "#evidence-canvas")).toBe("blur(18px) grayscale(1)");
    expect(await page.getAttribute("#evidence-reveal", "aria-pressed")).toBe("false");
    expect(await page.textContent("#evidence-context")).toContain("NL-E2E-2026-001");
    await shot(page, "evidence-01-de-blurred");
    await expectAccessible(page);
    await page.getByRole("button", { name: "Reveal (unblur, colour)" }).click();
    expect(await filterOf(page, "#evidence-canvas")).toBe("none");
    expect(await page.getAttribute("#evidence-reveal", "aria-pressed")).toBe("true");
    await shot(page, "evidence-02-de-revealed");
    await page.getByRole("button", { name: "Blur again" }).click();
    expect(await filterOf(page, "#evidence-canvas")).toBe("blur(18px) grayscale(1)");

    await page.getByRole("button", { name: "Concur…" }).click();
    await confirmDialog(page, {
      kind: "assessment.create",
      fill: { reason: "Checked the case file: the poster glorifies an attack; DE StGB § 91" },
      screenshot: "evidence-03-de-concur-confirm",
    });
    await expect.poll(() => page.textContent("#evidence-assessed")).toContain("concur");
    // The key-wrapping private key never left the page.
    const dKey = (JSON.parse(readFileSync(encKeyFile("de"), "utf8")) as { d: string }).d;
    for (const r of watch.requests) {
      expect(r.body).not.toContain(dKey);
      expect(r.url).not.toContain(dKey);
    }
    expect(watch.problems).toEqual([]);
  });

  it("FR: opens it the same way and concurs from the entry page; a coordinator it was not wrapped for sees nothing", async () => {
    const { page, watch } = await as("fr");
    await openCaseFile(page, seeded.caseFile, "fr");
    const pdq = page.locator("#evidence-checks [data-check='PDQ of the material'] [data-match]");
    expect(await pdq.getAttribute("data-match")).toBe("1");
    expect(await filterOf(page, "#evidence-canvas")).toBe("blur(18px) grayscale(1)");
    await page
      .locator("#evidence-checks [data-check='Entry']")
      .getByRole("link", { name: seeded.entry })
      .click();
    await page.waitForSelector("body[data-ready='1']");
    await page.getByRole("button", { name: "Concur…" }).click();
    await confirmDialog(page, { kind: "assessment.create", fill: { reason: "Case file checked (FR)" } });
    expect(watch.problems).toEqual([]);

    const coord = await as("coordinator");
    await open(coord.page, "/console/evidence");
    expect(await coord.page.textContent("#evidence-table")).not.toContain(seeded.caseFile);
    // The node agrees: DE and FR concur on the entry.
    const detail = await client("nl").get<{ submission: SubmissionView }>(`/v1/submissions/${seeded.entry}`);
    if (!detail.ok) throw new Error(JSON.stringify(detail.problem));
    expect([...detail.data.submission.assessments.concurStates].sort()).toEqual(["DE", "FR", "NL"]);
  });

  it("NL: sees who opened its case file: DE and FR, each download", async () => {
    const { page, watch } = await as("nl");
    await open(page, "/console/evidence");
    await page.getByRole("button", { name: `Who opened case file ${seeded.caseFile}` }).click();
    const opens = page.locator("#evidence-opens");
    await opens.locator("table").first().waitFor();
    const text = (await opens.textContent()) ?? "";
    expect(text).toContain(credential("de").participantId);
    expect(text).toContain(credential("fr").participantId);
    const states = await opens.locator("table").first().locator("tbody tr td:nth-child(2)").allTextContents();
    expect(states).toContain("DE");
    expect(states).toContain("FR");
    await shot(page, "evidence-04-nl-opens");
    await expectAccessible(page);
    expect(watch.problems).toEqual([]);
  });

  it.skipIf(!haveVideos)(
    "a video case file: played muted, blurred and greyscale until Reveal, re-hashed with vPDQ against the entry's signed frames; a decoy video does not match",
    { timeout: 300_000 },
    async () => {
      // NL submits the sample video's frames as the CLI hashes them (FFmpeg's), and attaches the
      // video itself; then, to try to fool the assessor, another video to the same entry.
      const nl = client("nl");
      const frames = referenceFrames("chair-orig-22-sd-bar");
      const sub = await submitVideo(
        nl,
        { frames, durationSeconds: frames.at(-1)![3] },
        { limbs: ["a"], contentType: "video", nationalProvision: "NL Sr. art. 131", tlp: "green" },
      );
      if (!sub.ok) throw new Error(JSON.stringify(sub.problem));
      const entry = sub.data.submissions[0]!.id;
      const attach = (name: string) =>
        attachWithRetry(
          nl,
          new Uint8Array(readFileSync(video(name))),
          { mediaType: "video/mp4", fileName: `${name}.mp4`, caseReference: "NL-E2E-2026-002" },
          { submissionId: entry, mediaClass: "video" },
        );
      const real = await attach("chair-orig-22-sd-bar");
      const decoy = await attach("pattern-sd-grey-bar");

      const { page, watch } = await as("de");
      await openCaseFile(page, real.caseFileId, "de", 180_000);
      const vpdq = page.locator("#evidence-checks [data-check='vPDQ of the material'] [data-match]");
      expect(await vpdq.getAttribute("data-match"), (await vpdq.textContent()) ?? "").toBe("1");
      const q = Number(await vpdq.getAttribute("data-query-percent"));
      const t = Number(await vpdq.getAttribute("data-target-percent"));
      process.stderr.write(
        `[e2e] case-file video re-hashed in the browser: ${q} % / ${t} % against FFmpeg's frames\n`,
      );
      expect(q).toBeGreaterThanOrEqual(80);
      expect(t).toBeGreaterThanOrEqual(80);
      const el = page.locator("#evidence-video");
      expect(await el.isVisible()).toBe(true);
      expect(await page.locator("#evidence-canvas").isVisible()).toBe(false);
      expect(await filterOf(page, "#evidence-video")).toBe("blur(18px) grayscale(1)");
      // It plays, muted.
      const played = await el.evaluate(async (v: HTMLVideoElement) => {
        await v.play();
        await new Promise((r) => setTimeout(r, 1500));
        v.pause();
        return { muted: v.muted, width: v.videoWidth, time: v.currentTime };
      });
      expect(played.muted).toBe(true);
      expect(played.width).toBeGreaterThan(0);
      expect(played.time).toBeGreaterThan(0);
      await shot(page, "evidence-05-de-video-blurred");
      await expectAccessible(page);
      await page.getByRole("button", { name: "Reveal (unblur, colour)" }).click();
      expect(await filterOf(page, "#evidence-video")).toBe("none");
      expect(await el.evaluate((v: HTMLVideoElement) => v.muted)).toBe(true);

      await openCaseFile(page, decoy.caseFileId, "de", 180_000);
      expect(await vpdq.getAttribute("data-match"), (await vpdq.textContent()) ?? "").toBe("0");
      expect(await vpdq.textContent()).toContain("does NOT match");
      // Opening another case file conceals again.
      expect(await filterOf(page, "#evidence-video")).toBe("blur(18px) grayscale(1)");
      await shot(page, "evidence-06-de-video-decoy");
      expect(watch.problems).toEqual([]);
    },
  );

  it("NL attaches from the console: an image it just submitted, for DE only (FR cannot see it); a decoy for every authority is called a mismatch", async () => {
    const image = (f: string) => path.join(FIXTURES, "synthetic", f);
    const { page, watch } = await as("nl");
    await open(page, "/console/submit");
    await dropFiles(page, "#submit-zone", [image("grey-300x500.png")]);
    await expect.poll(() => page.locator("#submit-items tbody tr").count()).toBe(1);
    await page.getByLabel("National provision").fill("NL Sr. art. 131");
    await page.locator("input[name=limbs][value=a]").check();
    await page.getByRole("button", { name: "Review and submit…" }).click();
    await confirmDialog(page, { kind: "submission.create" });
    const result = page.locator("#submit-results-table tbody tr").first();
    const entry = (await result.locator("a").first().textContent()) ?? "";
    expect(entry).toMatch(/^hsh_/);
    await result.getByRole("link", { name: `Attach a case file to ${entry}` }).click();
    await page.waitForSelector("body[data-ready='1']");
    const form = page.locator("#evidence-attach-form");
    await expect.poll(() => form.isVisible()).toBe(true);
    await expectAccessible(page);

    const attach = async (file: string, states: string[] | null, ref: string) => {
      await page.setInputFiles("#evidence-attach-file", image(file));
      await form.getByLabel("National case reference").fill(ref);
      if (states) {
        await form.getByLabel("Only the authorities of my member state and of:").check();
        for (const ms of states) await form.getByLabel(ms, { exact: true }).check();
      }
      const sent = watch.requests.length;
      await page.getByRole("button", { name: "Encrypt and attach…" }).click();
      await confirmDialog(page, { kind: "evidence.create", screenshot: `evidence-07-nl-attach-${ref}` });
      const done = page.locator("#evidence-attach-status [data-case-file]");
      await done.waitFor();
      // Only ciphertext left the page: every uploaded part starts with the format's magic.
      const parts = watch.requests.slice(sent).filter((r) => /\/parts\/\d+$/.test(r.url));
      expect(parts.length).toBeGreaterThan(0);
      for (const r of parts) expect(r.body.startsWith("EUSNCF01")).toBe(true);
      return (await done.getAttribute("data-case-file")) ?? "";
    };
    const forDe = await attach("grey-300x500.png", ["DE"], "NL-E2E-2026-003");
    expect(forDe).toMatch(/^evd_/);
    await expect.poll(() => page.textContent("#entry-evidence-list")).toContain(forDe);
    await shot(page, "evidence-08-nl-entry-case-files");
    // A decoy: another image attached to the same entry, for every authority.
    const decoy = await attach("wide-2000x300.jpg", null, "NL-E2E-2026-004");
    expect(watch.problems).toEqual([]);

    // FR was not named: the case file does not exist for it, in the page or at the API.
    const fr = await as("fr");
    await open(fr.page, "/console/evidence");
    const frList = (await fr.page.textContent("#evidence-table")) ?? "";
    expect(frList).not.toContain(forDe);
    expect(frList).toContain(decoy);
    expect((await client("fr").get(`/v1/evidence/${forDe}`)).status).toBe(404);
    // The decoy opens, but the page says it is not what was submitted.
    await openCaseFile(fr.page, decoy, "fr");
    const frPdq = fr.page.locator("#evidence-checks [data-check='PDQ of the material'] [data-match]");
    expect(await frPdq.getAttribute("data-match")).toBe("0");
    expect(Number(await frPdq.getAttribute("data-distance"))).toBeGreaterThan(31);
    expect(await frPdq.textContent()).toContain("does NOT match");
    await shot(fr.page, "evidence-09-fr-decoy");

    // DE opens NL's image: the submitted hash, distance 0.
    const de = await as("de");
    await openCaseFile(de.page, forDe, "de");
    const dePdq = de.page.locator("#evidence-checks [data-check='PDQ of the material'] [data-match]");
    expect(await dePdq.getAttribute("data-match")).toBe("1");
    expect(Number(await dePdq.getAttribute("data-distance"))).toBe(0);
    expect(await de.page.textContent("#evidence-context")).toContain("NL-E2E-2026-003");
    for (const p of [fr, de]) expect(p.watch.problems).toEqual([]);
  });
});
