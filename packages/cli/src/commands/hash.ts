// `eusn hash`: PDQ-hashes image files locally (only hashes ever leave the machine), printing
// `hash,quality,file` lines like the reference pdq-photo-hasher, or JSON; with `--format vpdq`
// hashes video files (vPDQ, decoded by FFmpeg) in the reference vpdq-hash-video's text format.
// Walks directories and reports unreadable or undecodable files on stderr without stopping the run.
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, realpath, rename, rm, stat, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import path from "node:path";
import { DIHEDRAL_NAMES, type DihedralName, type PdqHex, pdqHash, pdqHashDihedral } from "@eusn/pdq";
import { formatVpdq } from "@eusn/vpdq";
import type { VideoProbe } from "@eusn/vpdq/ffmpeg";
import cliProgress from "cli-progress";
import { Command, InvalidArgumentError, Option } from "commander";
import { decodeImage } from "../decode.ts";

/** "More than a handful": below this many files a progress bar is just flicker. */
const PROGRESS_MIN_FILES = 6;

interface HashOptions {
  readonly dihedral: boolean;
  readonly format: "csv" | "json" | "jsonl" | "vpdq";
  readonly exact: boolean;
  readonly header: boolean;
  readonly progress: boolean;
  readonly secondsPerHash?: number;
  readonly outDir?: string;
}

interface HashRow {
  readonly file: string;
  readonly hash: PdqHex;
  readonly quality: number;
  readonly width: number;
  readonly height: number;
  readonly dihedral?: Readonly<Record<DihedralName, PdqHex>>;
  readonly md5?: string;
  readonly sha256?: string;
}

type Outcome =
  | { readonly ok: true; readonly row: HashRow }
  | { readonly ok: false; readonly file: string; readonly reason: string };

export default function hashCommand(): Command {
  return new Command("hash")
    .description(
      "compute PDQ hashes of image files, or vPDQ hashes of video files (directories are walked); only hashes are printed",
    )
    .argument("<paths...>", "image or video files, or directories")
    .option("--dihedral", "print the 8 rotation/mirror variants (original, rotate90, …, flipMinus1)", false)
    .addOption(
      new Option(
        "--format <format>",
        "output format (jsonl: one JSON object per line; vpdq: video files, the reference's text format)",
      )
        .choices(["csv", "json", "jsonl", "vpdq"])
        .default("csv"),
    )
    .option("--exact", "also print MD5 and SHA-256 of the file bytes", false)
    .option("--header", "print a CSV header line", false)
    .option(
      "--seconds-per-hash <seconds>",
      "vpdq: hash one frame per this many seconds (default 1; 0 = every frame)",
      parseSeconds,
    )
    .option("--out-dir <dir>", "vpdq: write one <name>.txt per video here instead of printing")
    .option(
      "--no-progress",
      "never show a progress bar (it shows only on a terminal: for more than 5 images; for any video)",
    )
    .action(async function (this: Command, paths: string[], options: HashOptions) {
      if (options.format === "vpdq") {
        const clash = (["dihedral", "exact", "header"] as const).find((o) => options[o]);
        if (clash) this.error(`error: --${clash} does not apply to --format vpdq`, { exitCode: 2 });
        process.exitCode = await runVideoHash(paths, options);
        return;
      }
      if (options.secondsPerHash !== undefined || options.outDir !== undefined) {
        this.error("error: --seconds-per-hash and --out-dir need --format vpdq", { exitCode: 2 });
      }
      process.exitCode = await runHash(paths, options);
    });
}

/** `--seconds-per-hash`: a finite number ≥ 0 (decimals allowed, as the reference's -r). */
function parseSeconds(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0) {
    throw new InvalidArgumentError("a number of seconds, 0 or more (0 hashes every frame)");
  }
  return n;
}

/** Returns the exit status: 0 when every file was hashed, 1 when any path failed. */
async function runHash(paths: readonly string[], options: HashOptions): Promise<number> {
  let failures = 0;
  let log = (line: string): void => {
    process.stderr.write(line + "\n");
  };
  const report = (file: string, reason: string): void => {
    failures++;
    log(`eusn hash: ${file}: ${reason}`);
  };

  const files = await collectFiles(paths, report);
  const out =
    options.format === "json"
      ? jsonWriter()
      : options.format === "jsonl"
        ? jsonLinesWriter()
        : csvWriter(options);

  const showBar = options.progress && process.stderr.isTTY === true && files.length >= PROGRESS_MIN_FILES;
  const bars = showBar
    ? new cliProgress.MultiBar(
        {
          stream: process.stderr,
          clearOnComplete: true,
          hideCursor: true,
          format: "hashing [{bar}] {value}/{total} files | {eta_formatted} left",
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  const bar = bars?.create(files.length, 0);
  // While the bar is drawn, error lines go through it so they land above the bar, not inside it.
  if (bars) log = (line) => bars.log(line + "\n");

  const concurrency = Math.max(2, Math.min(8, availableParallelism()));
  for await (const outcome of inOrder(files, concurrency, (file) => hashFile(file, options))) {
    if (outcome.ok) out.row(outcome.row);
    else report(outcome.file, outcome.reason);
    bar?.increment();
  }
  bars?.stop();
  out.end();
  if (failures > 0) process.stderr.write(`eusn hash: ${failures} path(s) failed\n`);
  return failures > 0 ? 1 : 0;
}

async function hashFile(file: string, options: HashOptions): Promise<Outcome> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    return { ok: false, file, reason: fsReason(err) };
  }
  if (bytes.length === 0) return { ok: false, file, reason: "empty file" };
  const decoded = await decodeImage(bytes);
  if (!decoded.ok) return { ok: false, file, reason: decoded.error.message };
  const { pixels } = decoded.value;
  const exact = options.exact
    ? {
        md5: createHash("md5").update(bytes).digest("hex"),
        sha256: createHash("sha256").update(bytes).digest("hex"),
      }
    : {};
  const size = { width: pixels.width, height: pixels.height };
  if (options.dihedral) {
    const result = pdqHashDihedral(pixels);
    if (!result.ok) return { ok: false, file, reason: result.error.message };
    const { variants, quality } = result.value;
    const dihedral = Object.fromEntries(DIHEDRAL_NAMES.map((n) => [n, variants[n].hex])) as Record<
      DihedralName,
      PdqHex
    >;
    return { ok: true, row: { file, hash: variants.original.hex, quality, ...size, dihedral, ...exact } };
  }
  const result = pdqHash(pixels);
  if (!result.ok) return { ok: false, file, reason: result.error.message };
  return {
    ok: true,
    row: { file, hash: result.value.hex, quality: result.value.quality, ...size, ...exact },
  };
}

/**
 * Expands the arguments into files, in argument order, directories walked depth-first in sorted
 * name order so output is reproducible. Dot-files and dot-directories inside a walked directory
 * are skipped (.DS_Store, .git); a path named explicitly is always tried.
 */
async function collectFiles(
  paths: readonly string[],
  report: (file: string, reason: string) => void,
): Promise<string[]> {
  const files: string[] = [];
  const seenDirs = new Set<string>();
  const visit = async (p: string, explicit: boolean): Promise<void> => {
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(p);
    } catch (err) {
      report(p, fsReason(err));
      return;
    }
    if (info.isFile()) {
      files.push(p);
    } else if (info.isDirectory()) {
      // Symlinked directories are followed once; the real path guards against cycles.
      const real = await realpath(p);
      if (seenDirs.has(real)) return;
      seenDirs.add(real);
      let names: string[];
      try {
        names = await readdir(p);
      } catch (err) {
        report(p, fsReason(err));
        return;
      }
      names.sort();
      for (const name of names) if (!name.startsWith(".")) await visit(path.join(p, name), false);
    } else if (explicit) {
      report(p, "not a regular file or directory");
    }
  };
  for (const p of paths) await visit(p, true);
  return files;
}

/** Runs `fn` on up to `limit` items at once (decoding is off-thread in sharp) and yields in input order. */
async function* inOrder<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): AsyncGenerator<R> {
  const pending: Promise<R>[] = [];
  let next = 0;
  const fill = (): void => {
    while (next < items.length && pending.length < limit) pending.push(fn(items[next++]!));
  };
  fill();
  while (pending.length > 0) {
    const result = await pending.shift()!;
    fill();
    yield result;
  }
}

function fsReason(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case "ENOENT":
      return "no such file or directory";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EISDIR":
      return "is a directory";
    case "ELOOP":
      return "too many levels of symbolic links";
    default:
      return err instanceof Error ? err.message : String(err);
  }
}

interface Writer {
  row(row: HashRow): void;
  end(): void;
}

/** RFC 4180 quoting, only when needed, so ordinary names print exactly as the reference prints them. */
function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/**
 * `hash,quality,file` per line, as the reference tool. With --dihedral the eight hashes replace
 * the one (original first, as the reference); with --exact `md5,sha256` come before the file so
 * the file name stays the last field.
 */
function csvWriter(options: HashOptions): Writer {
  const exact = (r: HashRow): string[] => (options.exact ? [r.md5 ?? "", r.sha256 ?? ""] : []);
  if (options.header) {
    const hashes = options.dihedral ? [...DIHEDRAL_NAMES] : ["hash"];
    const cols = [...hashes, "quality", ...(options.exact ? ["md5", "sha256"] : []), "file"];
    process.stdout.write(cols.join(",") + "\n");
  }
  return {
    row(r) {
      const hashes = options.dihedral && r.dihedral ? DIHEDRAL_NAMES.map((n) => r.dihedral![n]) : [r.hash];
      process.stdout.write([...hashes, String(r.quality), ...exact(r), csvField(r.file)].join(",") + "\n");
    },
    end() {},
  };
}

/** A JSON array streamed one object per line, so a large run never holds all rows in memory. */
function jsonWriter(): Writer {
  let first = true;
  return {
    row(r) {
      process.stdout.write((first ? "[\n  " : ",\n  ") + JSON.stringify(r));
      first = false;
    },
    end() {
      process.stdout.write(first ? "[]\n" : "\n]\n");
    },
  };
}

/** JSON Lines: one object per line, the same objects as --format json. */
function jsonLinesWriter(): Writer {
  return {
    row(r) {
      process.stdout.write(`${JSON.stringify(r)}\n`);
    },
    end() {},
  };
}

/** A file name on a header line: quoted when it holds a control character, so it stays one line. */
function headerName(file: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  return /[\u0000-\u001f\u007f]/.test(file) ? JSON.stringify(file) : file;
}

/**
 * `--format vpdq`: every file is probed first (the progress bar's total is the frames to hash),
 * then hashed one video at a time. A video's block is printed, or its file written, only once
 * the whole video has hashed, so a video that fails part-way leaves nothing behind. Returns the
 * exit status: 0 when every video was hashed, 1 when any path failed.
 */
async function runVideoHash(paths: readonly string[], options: HashOptions): Promise<number> {
  // Loaded here so image hashing and `eusn --help` never load the video code.
  const { expectedFeatures, hashProbedVideo, probeVideo } = await import("@eusn/vpdq/ffmpeg");
  const secondsPerHash = options.secondsPerHash ?? 1;
  let failures = 0;
  let log = (line: string): void => {
    process.stderr.write(line + "\n");
  };
  const report = (file: string, reason: string): void => {
    failures++;
    log(`eusn hash: ${file}: ${reason}`);
  };

  const files = await collectFiles(paths, report);
  const outDir = options.outDir;
  if (outDir !== undefined) {
    try {
      await mkdir(outDir, { recursive: true });
    } catch (err) {
      report(outDir, `cannot create the output directory: ${fsReason(err)}`);
      return 1;
    }
  }

  const videos: Array<{ file: string; probe: VideoProbe } | { file: string; error: string }> = [];
  for (const file of files) {
    let size: number;
    try {
      size = (await stat(file)).size;
    } catch (err) {
      videos.push({ file, error: fsReason(err) });
      continue;
    }
    if (size === 0) {
      videos.push({ file, error: "empty file" });
      continue;
    }
    const probe = await probeVideo(file);
    videos.push(probe.ok ? { file, probe: probe.value } : { file, error: probe.error.message });
  }

  const total = videos.reduce(
    (n, v) => n + ("probe" in v ? (expectedFeatures(v.probe, secondsPerHash) ?? 0) : 0),
    0,
  );
  const showBar = options.progress && process.stderr.isTTY === true && files.length > 0;
  const bars = showBar
    ? new cliProgress.MultiBar(
        {
          stream: process.stderr,
          clearOnComplete: true,
          hideCursor: true,
          format:
            "hashing [{bar}] {value}/{total} frames | {videos}/{videoTotal} videos | {eta_formatted} left",
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  const bar = bars?.create(Math.max(total, 1), 0, { videos: 0, videoTotal: videos.length });
  if (bars) log = (line) => bars.log(line + "\n");

  const written = new Map<string, string>();
  let done = 0;
  for (const video of videos) {
    if ("error" in video) {
      report(video.file, video.error);
    } else {
      const hashed = await hashProbedVideo(video.file, video.probe, {
        secondsPerHash,
        onFeature: () => {
          if (bar && bar.getProgress() >= 1) bar.setTotal(bar.getTotal() + 1);
          bar?.increment();
        },
      });
      if (!hashed.ok) {
        report(video.file, hashed.error.message);
      } else if (outDir === undefined) {
        process.stdout.write(`# ${headerName(video.file)}\n${formatVpdq(hashed.value.features)}`);
      } else {
        const name = `${path.parse(video.file).name}.txt`;
        const earlier = written.get(name);
        if (earlier !== undefined) {
          report(
            video.file,
            `not written: ${path.join(outDir, name)} already holds ${earlier} from this run`,
          );
        } else {
          const failed = await writeAtomically(path.join(outDir, name), formatVpdq(hashed.value.features));
          if (failed) report(video.file, failed);
          else written.set(name, video.file);
        }
      }
    }
    bar?.update({ videos: ++done });
  }
  bars?.stop();
  if (failures > 0) process.stderr.write(`eusn hash: ${failures} path(s) failed\n`);
  return failures > 0 ? 1 : 0;
}

/** Writes through a temporary file and a rename, so no reader ever sees half a file. */
async function writeAtomically(file: string, text: string): Promise<string | null> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    await writeFile(temp, text);
    await rename(temp, file);
    return null;
  } catch (err) {
    await rm(temp, { force: true });
    return `cannot write ${file}: ${fsReason(err)}`;
  }
}
