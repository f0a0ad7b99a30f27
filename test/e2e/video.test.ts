// Video in the console, in Chromium: an authority drops an MP4 on the submit page (decoded and
// vPDQ-hashed in the browser; nothing is sent until it signs), submits it, and its entry page
// names the video's size; a platform drops the seven sample videos of ../shared/vpdq-vectors on
// the match page and finds the entry by the copies the reference calls matches. The frames the
// browser sent are compared with FFmpeg's (the reference's every-second output): the same frames
// picked, and how many bits each hash differs (written to test-artifacts/e2e/browser-vpdq.json;
// docs/video.md gives the figures).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { hammingDistance, type PdqHex } from "@eusn/pdq";
import type { VpdqFrame } from "@eusn/protocol";
import { describe, expect, it } from "vitest";
import { VECTORS } from "../helpers/vpdq.ts";
import {
  ARTIFACTS,
  confirmDialog,
  dropFiles,
  open,
  openUnlessThere,
  shot,
  skip,
  useBrowser,
} from "./browser.ts";

const NAMES = [
  "chair-22-sd-grey-bar",
  "chair-22-with-small-logo-bar",
  "chair-orig-22-sd-bar",
  "doorknob-hd-no-bar",
  "pattern-sd-grey-bar",
  "pattern-sd-with-large-logo-bar",
  "test-padded-dimensions",
];
const videoFile = (name: string) => path.join(VECTORS, "videos", `${name}.mp4`);
const expected = (name: string): VpdqFrame[] =>
  readFileSync(path.join(VECTORS, "expected/every-second", `${name}.txt`), "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => {
      const [n, q, hash, t] = l.split(",");
      return [Number(n), Number(q), hash!, Number(t)] as VpdqFrame;
    });
/** Which sample videos the reference calls a match of chair-orig-22-sd-bar (its CSV: 100 %). */
const CHAIRS = ["chair-22-sd-grey-bar", "chair-22-with-small-logo-bar", "chair-orig-22-sd-bar"];

// It shares the node with the other e2e files and runs beside them: it counts only its own entry
// and signs in as "video" (Demo Video), never as Demo Social, whose key console.test.ts rotates.
const why =
  skip || (existsSync(videoFile(NAMES[0]!)) ? "" : "the sample videos are not in ../shared/vpdq-vectors");
const d = why ? describe.skip : describe;
if (why) it.skip(`video e2e skipped: ${why}`, () => {});

d("video in the console", () => {
  const b = useBrowser();

  it("an authority submits a video hashed in the browser; a platform matches its copies; the frames against FFmpeg's", {
    timeout: 300_000,
  }, async () => {
    // The authority: drop, see the frames, sign.
    const nl = await b.as("nl");
    await open(nl.page, "/console/submit");
    const before = nl.watch.requests.length;
    await dropFiles(nl.page, "#submit-zone", [videoFile("chair-orig-22-sd-bar")]);
    const rows = nl.page.locator("#submit-items tbody tr");
    await expect.poll(() => rows.count(), { timeout: 60_000 }).toBe(1);
    // Hashed here: dropping the video sent nothing.
    expect(nl.watch.requests.length).toBe(before);
    expect(await rows.first().textContent()).toContain("23 frames, 23 of quality ≥ 50, 22.433 s");
    await nl.page.getByLabel("National provision").fill("NL Sr. art. 131");
    await nl.page.locator("select[name=contentType]").selectOption("video");
    await nl.page.locator("input[name=limbs][value=a]").check();
    await nl.page.getByRole("button", { name: "Review and submit…" }).click();
    await confirmDialog(nl.page, { kind: "submission.create", screenshot: "video-01-submit-confirm" });
    const results = nl.page.locator("#submit-results-table tbody tr");
    await expect.poll(() => results.count()).toBe(1);
    const entry = (await results.first().locator("a").first().textContent()) ?? "";
    expect(entry).toMatch(/^hsh_/);
    expect(await results.first().textContent()).toContain("vpdq");
    // The entry's page names the video's size.
    await open(nl.page, `/console/entries/${entry}`);
    await expect.poll(() => nl.page.textContent("main")).toContain("23 frame hashes, 22.433 s");
    await shot(nl.page, "video-02-entry");

    // The platform: drop all seven, match against every live submission.
    const pf = await b.as("video");
    await openUnlessThere(pf.page, "/console/match");
    const sent = pf.watch.requests.length;
    await dropFiles(
      pf.page,
      "#match-zone",
      NAMES.map((n) => videoFile(n)),
    );
    await expect.poll(() => pf.page.locator("#match-items tbody tr").count(), { timeout: 120_000 }).toBe(7);
    expect(pf.watch.requests.length).toBe(sent);
    await pf.page.locator("#match-scope").selectOption("all");
    await pf.page.getByRole("button", { name: "Match", exact: true }).click();
    await expect.poll(() => pf.page.locator("section.result").count()).toBe(7);
    for (const name of NAMES) {
      const text = (await pf.page.locator("section.result", { hasText: `${name}.mp4` }).textContent()) ?? "";
      if (name === "chair-orig-22-sd-bar")
        expect(text, name).toContain("video: 100.00 % of this video, 100.00 % of the entry's 23 frames");
      // The copies match (query ≥ 80 %); the browser's hashes of two encodes may differ by a few
      // more bits than FFmpeg's, so a frame may fall outside the distance (measured below).
      if (CHAIRS.includes(name))
        expect(text, name).toMatch(new RegExp(`${entry}video: [0-9.]+ % of this video`));
      else expect(text, name).not.toContain(entry);
    }
    await shot(pf.page, "video-03-match");

    // What the browser sent, against FFmpeg's frames.
    const body = pf.watch.requests.filter((r) => r.url.endsWith("/v1/match")).at(-1)!.body;
    const items = (JSON.parse(body) as { items: { type: string; frames: VpdqFrame[] }[] }).items;
    expect(items.map((i) => i.type)).toEqual(NAMES.map(() => "vpdq"));
    const report: Record<string, { frames: number; bits: number[]; quality: [number, number][] }> = {};
    const all: number[] = [];
    items.forEach((it, k) => {
      const name = NAMES[k]!;
      const want = expected(name);
      // The same frames picked, numbered and timed as the reference does.
      expect(
        it.frames.map((f) => [f[0], f[3]]),
        name,
      ).toEqual(want.map((f) => [f[0], f[3]]));
      const bits = it.frames.map((f, i) => hammingDistance(f[2] as PdqHex, want[i]![2] as PdqHex));
      all.push(...bits);
      report[name] = {
        frames: bits.length,
        bits,
        quality: it.frames.map((f, i) => [f[1], want[i]![1]]),
      };
    });
    const sorted = [...all].sort((a, b) => a - b);
    const summary = {
      frames: all.length,
      identical: all.filter((b) => b === 0).length,
      meanBits: all.reduce((a, b) => a + b, 0) / all.length,
      medianBits: sorted[Math.floor(sorted.length / 2)],
      maxBits: sorted.at(-1),
      chromium: b.browser.version(),
    };
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(path.join(ARTIFACTS, "browser-vpdq.json"), JSON.stringify({ summary, report }, null, 2));
    process.stderr.write(`[e2e] browser vPDQ against FFmpeg: ${JSON.stringify(summary)}\n`);
    expect(all).toHaveLength(92);
    for (const w of b.problems()) expect.fail(w);
  });
});
