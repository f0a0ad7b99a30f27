// Tests of `eusn hash` as users run it: the real CLI in a child process on fixture files (the
// launcher bin/eusn.mjs for the first test, the same program pre-bundled for the rest:
// test/helpers/cli.ts), checking the exact CSV the reference tool would print, JSON, --exact, --dihedral, directory
// walking, error reporting (stderr, run continues, exit 1), the defined image behaviours and the
// progress bar on a terminal.
import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { COMMANDS, commandsOf, modulesFor } from "../../packages/cli/src/registry.ts";
import { EUSN, EUSN_LAUNCHER, REPO_ROOT as repoRoot } from "../helpers/cli.ts";

const fixtures = "test/fixtures/pdq";
const synthetic = `${fixtures}/synthetic`;
const behaviour = `${fixtures}/behaviour`;
const shared = path.resolve(repoRoot, "../shared/pdq-vectors");
const haveShared = existsSync(path.join(shared, "expected-dihedral.csv"));

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const execFileAsync = promisify(execFile);

/** Runs `eusn ARGS` from the repo root with stdout/stderr as pipes (so never a terminal). */
async function eusn(...args: string[]): Promise<Run> {
  return eusnWith(EUSN, args);
}

/** The same, with `node ENTRY`: the bundled CLI (EUSN) or the launcher (EUSN_LAUNCHER). */
async function eusnWith(entry: string, args: string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [entry, ...args], {
      cwd: repoRoot,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== "number") throw err;
    return { code: e.code, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

function lines(text: string): string[] {
  return text.split("\n").filter((l) => l.length > 0);
}

/** The reference CSV for the synthetic set, as `hash,quality,<path as given>` lines. */
function expectedSynthetic(): Map<string, string> {
  const rows = lines(readFileSync(path.join(repoRoot, fixtures, "expected-synthetic.csv"), "utf8")).slice(1);
  return new Map(
    rows.map((row) => {
      const [hash, quality, file] = row.split(",");
      return [file!, `${hash},${quality}`];
    }),
  );
}

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "eusn-hash-"));
  tempDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

describe("eusn hash: output", () => {
  it("a directory prints exactly the reference's hash,quality,file lines, in sorted order, no header", async () => {
    // Through the launcher users run (bin/eusn.mjs: tsx, then the TypeScript sources).
    const run = await eusnWith(EUSN_LAUNCHER, ["hash", synthetic]);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe("");
    const expected = [...expectedSynthetic()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([file, hq]) => `${hq},${synthetic}/${file}`);
    expect(lines(run.stdout)).toEqual(expected);
    expect(run.stdout.endsWith("\n")).toBe(true);
  });

  it("files named explicitly keep argument order; --header adds the header", async () => {
    const run = await eusn("hash", "--header", `${synthetic}/tiny-4x4.png`, `${synthetic}/exact-64x64.png`);
    const ref = expectedSynthetic();
    expect(run.code).toBe(0);
    expect(lines(run.stdout)).toEqual([
      "hash,quality,file",
      `${ref.get("tiny-4x4.png")},${synthetic}/tiny-4x4.png`,
      `${ref.get("exact-64x64.png")},${synthetic}/exact-64x64.png`,
    ]);
  });

  it("--format json prints an array of {file, hash, quality, width, height}", async () => {
    const run = await eusn(
      "hash",
      "--format",
      "json",
      `${synthetic}/small-63x47.png`,
      `${synthetic}/tiny-4x4.png`,
    );
    expect(run.code).toBe(0);
    const rows = JSON.parse(run.stdout) as Array<Record<string, unknown>>;
    const ref = expectedSynthetic();
    expect(rows).toEqual([
      {
        file: `${synthetic}/small-63x47.png`,
        hash: ref.get("small-63x47.png")!.split(",")[0],
        quality: 64,
        width: 63,
        height: 47,
      },
      { file: `${synthetic}/tiny-4x4.png`, hash: "0".repeat(64), quality: 0, width: 4, height: 4 },
    ]);
  });

  it("--format json with nothing hashed is an empty array", async () => {
    const run = await eusn("hash", "--format", "json", `${behaviour}/not-an-image.txt`);
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toEqual([]);
  });

  it("--exact adds MD5 and SHA-256 of the file bytes before the file name", async () => {
    const file = `${synthetic}/noise-800x600.jpg`;
    const bytes = readFileSync(path.join(repoRoot, file));
    const md5 = createHash("md5").update(bytes).digest("hex");
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    const run = await eusn("hash", "--exact", "--header", file);
    expect(lines(run.stdout)).toEqual([
      "hash,quality,md5,sha256,file",
      `${expectedSynthetic().get("noise-800x600.jpg")},${md5},${sha256},${file}`,
    ]);
    const json = await eusn("hash", "--exact", "--format", "json", file);
    expect(JSON.parse(json.stdout)[0]).toMatchObject({ md5, sha256 });
  });

  it("--dihedral prints eight hashes (original first), then quality and file", async () => {
    const run = await eusn("hash", "--dihedral", "--header", `${synthetic}/shapes-300x225.png`);
    expect(run.code).toBe(0);
    const [header, row] = lines(run.stdout);
    expect(header).toBe(
      "original,rotate90,rotate180,rotate270,flipX,flipY,flipPlus1,flipMinus1,quality,file",
    );
    const cells = row!.split(",");
    expect(cells).toHaveLength(10);
    expect(`${cells[0]},${cells[8]}`).toBe(expectedSynthetic().get("shapes-300x225.png"));
    expect(cells[9]).toBe(`${synthetic}/shapes-300x225.png`);
  });

  it.skipIf(!haveShared)(
    "--dihedral on bridge-1 equals expected-dihedral.csv (skipped when ../shared/pdq-vectors is absent)",
    async () => {
      const [, expected] = lines(readFileSync(path.join(shared, "expected-dihedral.csv"), "utf8"));
      const file = path.join(shared, "images", "bridge-1-original.jpg");
      const run = await eusn("hash", "--dihedral", file);
      const cells = lines(run.stdout)[0]!.split(",");
      expect(cells.slice(0, 8)).toEqual(expected!.split(",").slice(1));
      expect(cells.slice(8)).toEqual(["100", file]);
    },
  );

  it("file names with commas or quotes are CSV-quoted; ordinary names are not", async () => {
    const dir = tempDir();
    copyFileSync(path.join(repoRoot, synthetic, "tiny-4x4.png"), path.join(dir, 'a,"b".png'));
    const run = await eusn("hash", dir);
    expect(lines(run.stdout)).toEqual([`${"0".repeat(64)},0,"${dir}/a,""b"".png"`]);
  });
});

describe("eusn hash: failures are reported and the run goes on", () => {
  it("unreadable, unsupported, empty and truncated files go to stderr with a reason; exit status 1", async () => {
    const run = await eusn(
      "hash",
      `${synthetic}/tiny-4x4.png`,
      `${behaviour}/no-such-file.png`,
      `${behaviour}/not-an-image.txt`,
      `${behaviour}/empty.png`,
      `${behaviour}/truncated-800x600.jpg`,
      `${synthetic}/exact-64x64.png`,
    );
    expect(run.code).toBe(1);
    expect(lines(run.stdout).map((l) => l.split(",")[2])).toEqual([
      `${synthetic}/tiny-4x4.png`,
      `${synthetic}/exact-64x64.png`,
    ]);
    const err = lines(run.stderr);
    expect(err).toContain(`eusn hash: ${behaviour}/no-such-file.png: no such file or directory`);
    expect(err).toContain(
      `eusn hash: ${behaviour}/not-an-image.txt: unsupported or unrecognised image format`,
    );
    expect(err).toContain(`eusn hash: ${behaviour}/empty.png: empty file`);
    expect(
      err.find((l) => l.startsWith(`eusn hash: ${behaviour}/truncated-800x600.jpg: cannot decode:`)),
    ).toBeDefined();
    expect(err.at(-1)).toBe("eusn hash: 4 path(s) failed");
  });

  it.skipIf(process.getuid?.() === 0)("a file without read permission is reported", async () => {
    const dir = tempDir();
    const file = path.join(dir, "locked.png");
    copyFileSync(path.join(repoRoot, synthetic, "tiny-4x4.png"), file);
    execFileSync("chmod", ["000", file]);
    const run = await eusn("hash", file);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${file}: permission denied`);
  });

  it("directories are walked recursively; dot-files inside them are skipped", async () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, "sub"));
    mkdirSync(path.join(dir, ".hidden"));
    copyFileSync(path.join(repoRoot, synthetic, "tiny-4x4.png"), path.join(dir, "b.png"));
    copyFileSync(path.join(repoRoot, synthetic, "exact-64x64.png"), path.join(dir, "sub", "a.png"));
    copyFileSync(path.join(repoRoot, synthetic, "exact-64x64.png"), path.join(dir, ".DS_Store"));
    copyFileSync(path.join(repoRoot, synthetic, "exact-64x64.png"), path.join(dir, ".hidden", "c.png"));
    const run = await eusn("hash", dir);
    expect(run.code).toBe(0);
    expect(lines(run.stdout).map((l) => l.split(",")[2])).toEqual([`${dir}/b.png`, `${dir}/sub/a.png`]);
  });

  it("usage errors exit with status 2", async () => {
    expect((await eusn("hash")).code).toBe(2);
    expect((await eusn("hash", "--format", "xml", synthetic)).code).toBe(2);
    expect((await eusn("no-such-command")).code).toBe(2);
    expect((await eusn("--help")).code).toBe(0);
  });
});

describe("eusn: a start loads the module of the command it runs", () => {
  it("the registry names exactly the commands each module builds", async () => {
    for (const [load, exports, names] of COMMANDS) {
      const built = commandsOf(await load(), exports).map((c) => c.name());
      expect(built).toEqual(names);
    }
    const all = COMMANDS.flatMap(([, , names]) => names);
    expect(new Set(all).size).toBe(all.length);
  });

  it("a command's name (also after `help`) picks its module; anything else picks them all", () => {
    const picked = (...args: string[]) =>
      modulesFor(["node", "eusn", ...args]).flatMap(([, , names]) => names);
    expect(picked("video", "compare", "a.txt", "b.txt")).toEqual(["video"]);
    expect(picked("withdraw-request", "--help")).toEqual([
      "admit",
      "revoke",
      "requests",
      "countersign",
      "withdraw-request",
      "decide",
      "reverse",
      "curation",
      "audit",
    ]);
    expect(picked("help", "hash")).toEqual(["hash"]);
    const everything = COMMANDS.flatMap(([, , names]) => names);
    for (const args of [[], ["--help"], ["-V"], ["help"], ["help", "nothing"], ["hsah"], ["--", "hash"]])
      expect(picked(...args), JSON.stringify(args)).toEqual(everything);
  });

  it("an unknown command is still answered with the whole program's suggestion and overview", async () => {
    const run = await eusn("hsah", "x.png");
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("(Did you mean hash?)");
    // The help shown after the error is the whole program's: every command is listed.
    for (const name of COMMANDS.flatMap(([, , names]) => names))
      expect(run.stderr).toMatch(new RegExp(`^  ${name}\\b`, "m"));
  });
});

describe("eusn hash: defined behaviours for image kinds (fixtures in test/fixtures/pdq/behaviour)", () => {
  const ref = expectedSynthetic();
  const greyHash = ref.get("grey-300x500.png");
  const shapesHash = ref.get("shapes-300x225.png");

  async function hashes(...files: string[]): Promise<string[]> {
    const run = await eusn("hash", ...files.map((f) => `${behaviour}/${f}`));
    expect(run.stderr).toBe("");
    return lines(run.stdout).map((l) => l.split(",").slice(0, 2).join(","));
  }

  it("greyscale (8-bit and 16-bit) hashes like the same picture stored as RGB", async () => {
    expect(await hashes("grey8-300x500.png", "grey16-300x500.png")).toEqual([greyHash, greyHash]);
  });

  it("16-bit RGB is scaled to 8 bits by rounding (v·257 + 128 gives the 8-bit picture's hash)", async () => {
    expect(await hashes("rgb16-300x225.png")).toEqual([shapesHash]);
  });

  it("alpha is flattened onto white (RGBA and grey + alpha); an opaque alpha channel changes nothing", async () => {
    const [opaque, cutout, cutoutOnWhite, greyAlpha, greyOnWhite] = await hashes(
      "rgba-opaque-300x225.png",
      "rgba-cutout-300x225.png",
      "rgba-cutout-on-white-300x225.png",
      "greyalpha-cutout-300x500.png",
      "greyalpha-cutout-on-white-300x500.png",
    );
    expect(opaque).toBe(shapesHash);
    expect(cutout).toBe(cutoutOnWhite);
    expect(greyAlpha).toBe(greyOnWhite);
    expect(cutout).not.toBe(shapesHash);
  });

  it("palette PNGs are expanded to RGB (the palette vector matches the reference)", async () => {
    const run = await eusn("hash", `${synthetic}/palette-400x300.png`);
    expect(run.stdout.split(",").slice(0, 2).join(",")).toBe(ref.get("palette-400x300.png"));
  });

  it("EXIF orientation and embedded ICC profiles are ignored, like the reference", async () => {
    const [plain, rotatedTag, withIcc] = await hashes(
      "orient-1-300x225.jpg",
      "orient-6-300x225.jpg",
      "icc-p3-300x225.jpg",
    );
    expect(rotatedTag).toBe(plain);
    expect(withIcc).toBe(plain);
  });
});

/** `script` gives the child a pseudo-terminal, which is the only way to see the bar. */
const haveScript = (() => {
  try {
    execFileSync("script", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

describe("eusn hash: progress bar", () => {
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
    const run = await eusn("hash", synthetic);
    expect(run.stderr).toBe("");
  });

  it.skipIf(!haveScript)("is drawn on a terminal for more than five files", async () => {
    expect(await onTerminal(synthetic)).toContain("/14 files");
  });

  it.skipIf(!haveScript)(
    "is not drawn on a terminal for five files or fewer, nor with --no-progress",
    async () => {
      expect(await onTerminal(`${synthetic}/tiny-4x4.png ${synthetic}/exact-64x64.png`)).not.toContain(
        "files",
      );
      expect(await onTerminal(`--no-progress ${synthetic}`)).not.toContain("files");
    },
  );
});
