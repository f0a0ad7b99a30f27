// Tests of `eusn hash --format vpdq` and `eusn video compare` as users run them: the real CLI in a
// child process (the launcher bin/eusn.mjs once, the same program pre-bundled for the rest:
// test/helpers/cli.ts) on the sample videos in ../shared/vpdq-vectors, checking the reference's
// text format exactly, --out-dir, the match percentages of every pair, each kind of bad input
// (one line naming the file, the other files still hashed, exit 1), a missing FFmpeg, usage
// errors (exit 2) and the progress bar on a terminal.
import { execFile, execFileSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { matchVpdq, parseVpdq, toFixedLikeC } from "@eusn/vpdq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EUSN, EUSN_LAUNCHER, REPO_ROOT as repoRoot } from "../helpers/cli.ts";
import {
  expectedFile,
  expectedLines,
  expectedMatches,
  ffmpeg,
  haveFfmpeg,
  haveVectors,
  sampleNames,
  VIDEOS,
} from "../helpers/vpdq.ts";

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const execFileAsync = promisify(execFile);

async function eusnWith(entry: string, args: string[], env?: NodeJS.ProcessEnv): Promise<Run> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [entry, ...args], {
      cwd: repoRoot,
      maxBuffer: 64 * 1024 * 1024,
      ...(env ? { env } : {}),
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== "number") throw err;
    return { code: e.code, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

/** Runs `eusn ARGS` from the repo root with stdout/stderr as pipes (so never a terminal). */
function eusn(...args: string[]): Promise<Run> {
  return eusnWith(EUSN, args);
}

function lines(text: string): string[] {
  return text.split("\n").filter((l) => l.length > 0);
}

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "eusn-cli-vpdq-"));
  tempDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

const videosArg = path.relative(repoRoot, VIDEOS);
/** For the tests that start the CLI many times or hash all seven videos: minutes on a busy machine. */
const LONG = 300_000;
const doorknob = path.join(videosArg, "doorknob-hd-no-bar.mp4");
let doorknobRun: Promise<Run> | undefined;
/**
 * `eusn hash --format vpdq doorknob` with stdout and stderr as pipes, run once for the tests that
 * check what it prints (no progress bar off a terminal; its output read back by `video compare`):
 * each run decodes the video with FFmpeg again, about a second of CPU.
 */
function hashDoorknob(): Promise<Run> {
  doorknobRun ??= eusn("hash", "--format", "vpdq", doorknob);
  return doorknobRun;
}
const padded = path.join(videosArg, "test-padded-dimensions.mp4");

if (!haveVectors || !haveFfmpeg) {
  describe("eusn hash --format vpdq, eusn video compare", () => {
    it.skip(`SKIPPED: ${haveVectors ? "ffmpeg/ffprobe are not installed" : "../shared/vpdq-vectors not found"}`, () => {});
  });
} else {
  describe("eusn hash --format vpdq: output", { timeout: LONG }, () => {
    it("a folder prints one block per video (sorted): a # header naming the file, then the reference's lines", async () => {
      // Through the launcher users run (bin/eusn.mjs: tsx, then the TypeScript sources).
      const run = await eusnWith(EUSN_LAUNCHER, ["hash", "--format", "vpdq", videosArg]);
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      const expected = sampleNames().flatMap((name) => [
        `# ${path.join(videosArg, `${name}.mp4`)}`,
        ...expectedLines(name, "every-second"),
      ]);
      expect(sampleNames()).toHaveLength(7);
      expect(run.stdout).toBe(expected.join("\n") + "\n");
    });

    it("--seconds-per-hash 0 --out-dir writes <name>.txt per video, byte for byte the reference's every-frame file", async () => {
      const out = path.join(tempDir(), "made/on/demand");
      const run = await eusn(
        "hash",
        "--format",
        "vpdq",
        "--seconds-per-hash",
        "0",
        "--out-dir",
        out,
        doorknob,
      );
      expect([run.code, run.stdout, run.stderr]).toEqual([0, "", ""]);
      expect(readdirSync(out)).toEqual(["doorknob-hd-no-bar.txt"]);
      expect(readFileSync(path.join(out, "doorknob-hd-no-bar.txt"), "utf8")).toBe(
        readFileSync(expectedFile("doorknob-hd-no-bar", "every-frame"), "utf8"),
      );
    });

    it("--seconds-per-hash takes fractions: 0.5 s at 30 fps is every 15th frame", async () => {
      const run = await eusn("hash", "--format", "vpdq", "--seconds-per-hash", "0.5", doorknob);
      expect(run.code).toBe(0);
      const every = expectedLines("doorknob-hd-no-bar", "every-frame");
      expect(lines(run.stdout).slice(1)).toEqual(every.filter((l) => Number(l.split(",")[0]) % 15 === 0));
    });

    it("a file name with a line break is printed quoted, so it cannot add lines to the output", async () => {
      const dir = tempDir();
      const sneaky = `clip\n0,100,${"f".repeat(64)},0.000.mp4`;
      copyFileSync(path.join(repoRoot, doorknob), path.join(dir, sneaky));
      const run = await eusn("hash", "--format", "vpdq", dir);
      expect(run.code).toBe(0);
      const out = lines(run.stdout);
      expect(out[0]).toBe(`# ${JSON.stringify(path.join(dir, sneaky))}`);
      expect(out.slice(1)).toEqual(expectedLines("doorknob-hd-no-bar", "every-second"));
    });
  });

  describe("eusn hash --format vpdq: bad input", { timeout: LONG }, () => {
    let dir = "";
    beforeAll(() => {
      dir = tempDir();
      const chair = path.join(VIDEOS, "chair-orig-22-sd-bar.mp4");
      writeFileSync(path.join(dir, "notes.txt"), "not a video\n");
      writeFileSync(path.join(dir, "empty.mp4"), "");
      ffmpeg(["-i", chair, "-vn", "-c:a", "copy", path.join(dir, "audio-only.m4a")]);
      ffmpeg(["-i", chair, "-frames:v", "1", path.join(dir, "still.png")]);
      // The index (moov) is at the front of this MP4, so its first 1 MB opens and then ends mid-frame.
      writeFileSync(path.join(dir, "truncated.mp4"), readFileSync(chair).subarray(0, 1_000_000));
      ffmpeg(["-i", chair, "-map", "0:v:0", "-t", "3", "-c", "copy", path.join(dir, "clip.mkv")]);
      const mkv = readFileSync(path.join(dir, "clip.mkv"));
      writeFileSync(path.join(dir, "truncated.mkv"), mkv.subarray(0, Math.floor(mkv.length / 2)));
      rmSync(path.join(dir, "clip.mkv"));
      copyFileSync(path.join(VIDEOS, "doorknob-hd-no-bar.mp4"), path.join(dir, "good.mp4"));
    }, LONG);

    it("each bad file is one line naming it; the good one is still hashed; exit status 1", async () => {
      const missing = path.join(dir, "no-such-video.mp4");
      const run = await eusn("hash", "--format", "vpdq", dir, missing);
      expect(run.code).toBe(1);
      const file = (name: string) => path.join(dir, name);
      expect(run.stdout).toBe(
        [`# ${file("good.mp4")}`, ...expectedLines("doorknob-hd-no-bar", "every-second")].join("\n") + "\n",
      );
      const err = lines(run.stderr);
      expect(err).toContain(`eusn hash: ${missing}: no such file or directory`);
      expect(err).toContain(
        `eusn hash: ${file("notes.txt")}: not a video: Invalid data found when processing input`,
      );
      expect(err).toContain(`eusn hash: ${file("empty.mp4")}: empty file`);
      expect(err).toContain(
        `eusn hash: ${file("audio-only.m4a")}: no video stream (a mov,mp4,m4a,3gp,3g2,mj2 file)`,
      );
      expect(err).toContain(
        `eusn hash: ${file("still.png")}: not a video: a still image (png); hash it with --format csv`,
      );
      for (const name of ["truncated.mp4", "truncated.mkv"]) {
        expect(
          err.filter((l) => l.startsWith(`eusn hash: ${file(name)}: truncated or damaged: `)),
        ).toHaveLength(1);
      }
      expect(err.at(-1)).toBe("eusn hash: 7 path(s) failed");
      expect(err).toHaveLength(8);
    });

    it("with --out-dir a failed video leaves no file behind", async () => {
      const out = tempDir();
      const run = await eusn(
        "hash",
        "--format",
        "vpdq",
        "--out-dir",
        out,
        path.join(dir, "truncated.mp4"),
        path.join(dir, "good.mp4"),
      );
      expect(run.code).toBe(1);
      expect(readdirSync(out)).toEqual(["good.txt"]);
    });

    it("two videos with the same name: the second is not written over the first, and is reported", async () => {
      const src = tempDir();
      mkdirSync(path.join(src, "a"));
      mkdirSync(path.join(src, "b"));
      copyFileSync(path.join(VIDEOS, "doorknob-hd-no-bar.mp4"), path.join(src, "a/clip.mp4"));
      ffmpeg([
        "-i",
        path.join(VIDEOS, "pattern-sd-grey-bar.mp4"),
        "-c",
        "copy",
        path.join(src, "b/clip.mkv"),
      ]);
      const out = tempDir();
      const run = await eusn("hash", "--format", "vpdq", "--out-dir", out, src);
      expect(run.code).toBe(1);
      expect(lines(run.stderr)).toEqual([
        `eusn hash: ${path.join(src, "b/clip.mkv")}: not written: ${path.join(out, "clip.txt")} already holds ${path.join(src, "a/clip.mp4")} from this run`,
        "eusn hash: 1 path(s) failed",
      ]);
      expect(readFileSync(path.join(out, "clip.txt"), "utf8")).toBe(
        readFileSync(expectedFile("doorknob-hd-no-bar", "every-second"), "utf8"),
      );
    });

    it("without FFmpeg each video gets one line saying how to install it; exit status 1", async () => {
      const run = await eusnWith(EUSN, ["hash", "--format", "vpdq", path.join(dir, "good.mp4"), doorknob], {
        ...process.env,
        PATH: path.join(dir, "no-tools-here"),
      });
      expect(run.code).toBe(1);
      expect(run.stdout).toBe("");
      const err = lines(run.stderr);
      const hint =
        "FFmpeg's command-line tools are needed to decode video: install them (Debian/Ubuntu: sudo apt-get install ffmpeg; macOS: brew install ffmpeg)";
      expect(err).toEqual([
        `eusn hash: ${path.join(dir, "good.mp4")}: ${hint}`,
        `eusn hash: ${doorknob}: ${hint}`,
        "eusn hash: 2 path(s) failed",
      ]);
    });

    it.each([
      [["--format", "vpdq", "--seconds-per-hash", "soon"], "argument 'soon' is invalid"],
      [["--format", "vpdq", "--seconds-per-hash=-1"], "argument '-1' is invalid"],
      [["--format", "vpdq", "--exact"], "--exact does not apply to --format vpdq"],
      [["--format", "vpdq", "--dihedral"], "--dihedral does not apply to --format vpdq"],
      [["--out-dir", "/tmp/x"], "--seconds-per-hash and --out-dir need --format vpdq"],
      [["--seconds-per-hash", "1"], "--seconds-per-hash and --out-dir need --format vpdq"],
    ])("usage error %j: exit status 2, nothing hashed", async (args, message) => {
      const run = await eusn("hash", ...args, doorknob);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe("");
      expect(run.stderr).toContain(message);
    });
  });

  describe("eusn hash --format vpdq: progress bar", { timeout: LONG }, () => {
    const haveScript = (() => {
      try {
        execFileSync("script", ["--version"], { stdio: "ignore" });
        return true;
      } catch {
        return false;
      }
    })();
    async function onTerminal(args: string): Promise<string> {
      const { stdout } = await execFileAsync(
        "script",
        [
          "-qec",
          `${JSON.stringify(process.execPath)} ${JSON.stringify(EUSN)} hash ${args} >/dev/null`,
          "/dev/null",
        ],
        { cwd: repoRoot },
      );
      return stdout;
    }

    it("is not drawn when stderr is not a terminal", async () => {
      const run = await hashDoorknob();
      expect(run.stderr).toBe("");
    });

    it.skipIf(!haveScript)(
      "is drawn on a terminal with frames and videos done, not with --no-progress",
      async () => {
        // 4 + 5 frames, one a second.
        const drawn = await onTerminal(`--format vpdq ${doorknob} ${padded}`);
        expect(drawn).toMatch(/\d\/9 frames \| [0-2]\/2 videos/);
        expect(await onTerminal(`--format vpdq --no-progress ${doorknob}`)).not.toContain("frames");
      },
    );
  });

  describe("eusn video compare", { timeout: LONG }, () => {
    const every = (name: string) => path.relative(repoRoot, expectedFile(name, "every-second"));

    it("every ordered pair of the reference's every-second files prints the reference's percentages", async () => {
      const rows = expectedMatches();
      expect(rows).toHaveLength(49);
      const got: string[] = [];
      // Four at a time: each run is a short process.
      for (let i = 0; i < rows.length; i += 4) {
        const runs = await Promise.all(
          rows.slice(i, i + 4).map((r) => eusn("video", "compare", every(r.query), every(r.target))),
        );
        runs.forEach((run, k) => {
          const r = rows[i + k]!;
          got.push(`${r.query},${r.target},${run.code},${run.stdout.trim()}`);
        });
      }
      expect(got).toEqual(rows.map((r) => `${r.query},${r.target},0,${r.queryPercent},${r.targetPercent}`));
    });

    it("a video on either side is hashed first (one frame a second), through the launcher", async () => {
      const run = await eusnWith(EUSN_LAUNCHER, [
        "video",
        "compare",
        path.join(videosArg, "chair-22-with-small-logo-bar.mp4"),
        every("chair-orig-22-sd-bar"),
      ]);
      expect([run.code, run.stdout, run.stderr]).toEqual([0, "100.00,100.00\n", ""]);
    });

    it("what `eusn hash --format vpdq` printed (with its # header) is a valid input", async () => {
      const dir = tempDir();
      const printed = await hashDoorknob();
      writeFileSync(path.join(dir, "printed.txt"), printed.stdout);
      const run = await eusn("video", "compare", path.join(dir, "printed.txt"), every("doorknob-hd-no-bar"));
      expect([run.code, run.stdout]).toEqual([0, "100.00,100.00\n"]);
    });

    it("--distance and --quality are the reference's tolerances", async () => {
      const load = (name: string) => {
        const r = parseVpdq(readFileSync(expectedFile(name, "every-second"), "utf8"));
        if (!r.ok) throw new Error(r.error.message);
        return r.value;
      };
      const q = load("chair-orig-22-sd-bar");
      const t = load("chair-22-with-small-logo-bar");
      const m = matchVpdq(q, t, { distance: 8, quality: 50 });
      // The tolerance matters here (not 100 either way), so the option is really applied.
      expect(m.queryMatchPercent).toBeLessThan(100);
      const run = await eusn(
        "video",
        "compare",
        "--distance",
        "8",
        every("chair-orig-22-sd-bar"),
        every("chair-22-with-small-logo-bar"),
      );
      expect(run.stdout).toBe(
        `${toFixedLikeC(m.queryMatchPercent, 2)},${toFixedLikeC(m.targetMatchPercent, 2)}\n`,
      );
      // doorknob's every-second frames have qualities 100, 68, 0, 24: above 70 only the first is left.
      const strict = await eusn(
        "video",
        "compare",
        "--quality",
        "70",
        every("doorknob-hd-no-bar"),
        every("doorknob-hd-no-bar"),
      );
      expect([strict.code, strict.stdout]).toEqual([0, "100.00,100.00\n"]);
      const none = await eusn(
        "video",
        "compare",
        "--quality",
        "100",
        every("doorknob-hd-no-bar"),
        every("pattern-sd-grey-bar"),
      );
      expect([none.code, none.stdout]).toEqual([0, "0.00,0.00\n"]);
    });

    it("no frame passing the quality filter prints 0.00,0.00 and says so", async () => {
      const dir = tempDir();
      const low = path.join(dir, "dark.txt");
      writeFileSync(low, `0,10,${"a".repeat(64)},0.000\n30,49,${"b".repeat(64)},1.000\n`);
      const run = await eusn("video", "compare", low, every("doorknob-hd-no-bar"));
      expect(run.code).toBe(0);
      expect(run.stdout).toBe("0.00,0.00\n");
      expect(run.stderr).toBe(`eusn video compare: ${low}: no query frame has quality ≥ 50\n`);
    });

    it("bad input is one line naming the file, exit status 1", async () => {
      const dir = tempDir();
      const bad = path.join(dir, "bad.txt");
      writeFileSync(bad, `0,100,${"a".repeat(64)},0.000\n30,100,${"b".repeat(63)},1.000\n`);
      const notVideo = path.join(dir, "notes.md");
      writeFileSync(notVideo, "# notes\nnot a video\n");
      const missing = path.join(dir, "missing.txt");
      const cases: Array<[string, string]> = [
        [missing, `eusn video compare: ${missing}: no such file or directory`],
        [bad, `eusn video compare: ${bad}: not a valid vPDQ file: line 2: the hash is not 64 hex digits`],
        [notVideo, `eusn video compare: ${notVideo}: not a video: Invalid data found when processing input`],
        [dir, `eusn video compare: ${dir}: not a regular file`],
      ];
      for (const [file, message] of cases) {
        const run = await eusn("video", "compare", every("doorknob-hd-no-bar"), file);
        expect([run.code, run.stdout, run.stderr]).toEqual([1, "", `${message}\n`]);
      }
    });

    it.each([
      [["--distance", "257"]],
      [["--distance", "3.5"]],
      [["--quality", "101"]],
      [["--quality", "high"]],
      [["--seconds-per-hash", "-2"]],
    ])("usage error %j: exit status 2", async (args) => {
      const run = await eusn(
        "video",
        "compare",
        ...args,
        every("doorknob-hd-no-bar"),
        every("doorknob-hd-no-bar"),
      );
      expect(run.code).toBe(2);
      expect(run.stdout).toBe("");
    });
  });
}

// Keep the helper's view of the vectors honest: the CSV and both expected sets are all there.
describe("vpdq-vectors layout", () => {
  it.skipIf(!haveVectors)("has every expected file for every sample video", () => {
    for (const name of sampleNames()) {
      for (const mode of ["every-second", "every-frame"] as const)
        expect(existsSync(expectedFile(name, mode))).toBe(true);
    }
  });
});
