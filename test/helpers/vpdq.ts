// Shared by the vPDQ tests: where the reference vectors are (../shared/vpdq-vectors, never copied
// into the repository), whether FFmpeg is installed, the reference's files, and test videos made
// with ffmpeg from frames the test knows exactly.
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";

export const REPO_ROOT = path.resolve(import.meta.dirname, "../..");
export const VECTORS = path.resolve(REPO_ROOT, "../shared/vpdq-vectors");
export const VIDEOS = path.join(VECTORS, "videos");
export const MATCHES_CSV = path.join(VECTORS, "expected/matches-every-second-d31-q50.csv");

export const haveVectors = existsSync(MATCHES_CSV);
export const haveFfmpeg =
  spawnSync("ffmpeg", ["-version"]).status === 0 && spawnSync("ffprobe", ["-version"]).status === 0;

/** The sample videos' names (without .mp4), sorted. */
export function sampleNames(): string[] {
  if (!haveVectors) return [];
  return readdirSync(VIDEOS)
    .filter((f) => f.endsWith(".mp4"))
    .map((f) => f.slice(0, -4))
    .sort();
}

export type Mode = "every-second" | "every-frame";

/** The reference's output for a sample video, as lines. */
export function expectedLines(name: string, mode: Mode): string[] {
  return readFileSync(path.join(VECTORS, "expected", mode, `${name}.txt`), "utf8")
    .split("\n")
    .filter((l) => l !== "");
}

export function expectedFile(name: string, mode: Mode): string {
  return path.join(VECTORS, "expected", mode, `${name}.txt`);
}

export interface MatchRow {
  readonly query: string;
  readonly target: string;
  readonly queryPercent: string;
  readonly targetPercent: string;
}

/** expected/matches-every-second-d31-q50.csv, one row per ordered pair. */
export function expectedMatches(): MatchRow[] {
  const [header, ...rows] = readFileSync(MATCHES_CSV, "utf8").trim().split("\n");
  if (header !== "query,target,query_match_percent,target_match_percent") {
    throw new Error(`unexpected header in ${MATCHES_CSV}: ${header}`);
  }
  return rows.map((row) => {
    const [query, target, queryPercent, targetPercent] = row.split(",") as [string, string, string, string];
    return { query, target, queryPercent, targetPercent };
  });
}

/** Runs ffmpeg quietly; throws with its stderr when it fails. */
export function ffmpeg(args: readonly string[], input?: Uint8Array): void {
  execFileSync("ffmpeg", ["-nostdin", "-hide_banner", "-loglevel", "error", "-y", ...args], {
    input,
    stdio: [input ? "pipe" : "ignore", "ignore", "pipe"],
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** ffmpeg() without blocking the event loop (for tests that run concurrently). */
export function ffmpegAsync(args: readonly string[], input?: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      "ffmpeg",
      ["-nostdin", "-hide_banner", "-loglevel", "error", "-y", ...args],
      { maxBuffer: 64 * 1024 * 1024 },
      (err, _stdout, stderr) => (err ? reject(new Error(`ffmpeg ${args.join(" ")}: ${stderr}`)) : resolve()),
    );
    if (input) child.stdin?.end(input);
    else child.stdin?.end();
  });
}

/** ffprobe's value of one stream entry of the first video stream (e.g. avg_frame_rate). */
export function probeEntry(file: string, entry: string): string {
  return execFileSync(
    "ffprobe",
    ["-v", "error", "-select_streams", "v:0", "-show_entries", `stream=${entry}`, "-of", "csv=p=0", file],
    { encoding: "utf8" },
  ).trim();
}

/**
 * Deterministic RGB frames with structure at every scale (gradients, moving blocks, XOR texture),
 * so each frame has a real PDQ hash and the frames differ from each other.
 */
export function syntheticFrames(width: number, height: number, count: number): Uint8Array[] {
  const frames: Uint8Array[] = [];
  for (let n = 0; n < count; n++) {
    const f = new Uint8Array(width * height * 3);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        let r = (x * 5 + n * 7) % 256;
        let g = (y * 3 + Math.floor((x * x) / 7) + n * 11) % 256;
        let b = ((x ^ y) * 9 + n * 13) % 256;
        if ((Math.floor(x / 13) + Math.floor(y / 11) + n) % 3 === 0) [r, g, b] = [255 - r, b, g];
        const i = (y * width + x) * 3;
        f[i] = r;
        f[i + 1] = g;
        f[i + 2] = b;
      }
    }
    frames.push(f);
  }
  return frames;
}

/** Concatenated frames, as ffmpeg's rawvideo input reads them. */
export function concat(frames: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let off = 0;
  for (const f of frames) {
    out.set(f, off);
    off += f.length;
  }
  return out;
}
