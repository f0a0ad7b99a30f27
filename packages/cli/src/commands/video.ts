// `eusn video compare`: compares two videos as the vPDQ reference does (quality filter, unique
// frames, an unordered bag of hashes) and prints `queryMatchPercent,targetMatchPercent` with two
// decimals. Each side is a vPDQ text file (what `eusn hash --format vpdq` prints or writes) or a
// video file, hashed first; the content never leaves the machine.
import { open } from "node:fs/promises";
import {
  DEFAULT_DISTANCE,
  DEFAULT_QUALITY,
  matchVpdq,
  parseVpdq,
  toFixedLikeC,
  type VpdqFeature,
} from "@eusn/vpdq";
import { Command, InvalidArgumentError } from "commander";

interface CompareOptions {
  readonly distance: number;
  readonly quality: number;
  readonly secondsPerHash: number;
}

function wholeNumber(max: number, what: string): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value) || Number(value) > max)
      throw new InvalidArgumentError(`${what}: a whole number 0-${max}`);
    return Number(value);
  };
}

function seconds(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0) {
    throw new InvalidArgumentError("a number of seconds, 0 or more (0 hashes every frame)");
  }
  return n;
}

export default function videoCommand(): Command {
  const video = new Command("video").description(
    "vPDQ video fingerprints (hash them with `eusn hash --format vpdq`)",
  );
  video
    .command("compare")
    .description(
      "compare two videos as the vPDQ reference does; prints queryMatchPercent,targetMatchPercent (each 0.00-100.00)",
    )
    .argument("<query>", "a vPDQ text file, or a video file (hashed first)")
    .argument("<target>", "a vPDQ text file, or a video file (hashed first)")
    .option(
      "--distance <d>",
      "frames match within this Hamming distance (0-256)",
      wholeNumber(256, "--distance"),
      DEFAULT_DISTANCE,
    )
    .option(
      "--quality <q>",
      "frames below this PDQ quality are left out on both sides (0-100)",
      wholeNumber(100, "--quality"),
      DEFAULT_QUALITY,
    )
    .option(
      "--seconds-per-hash <seconds>",
      "for a video file: one frame hashed per this many seconds",
      seconds,
      1,
    )
    .action(async (query: string, target: string, options: CompareOptions) => {
      const q = await loadFeatures(query, options.secondsPerHash);
      const t = q.ok ? await loadFeatures(target, options.secondsPerHash) : q;
      if (!q.ok || !t.ok) {
        const failed = !q.ok ? q : (t as { ok: false; file: string; reason: string });
        process.stderr.write(`eusn video compare: ${failed.file}: ${failed.reason}\n`);
        process.exitCode = 1;
        return;
      }
      const m = matchVpdq(q.features, t.features, { distance: options.distance, quality: options.quality });
      for (const [side, file, n] of [
        ["query", query, m.queryFrames],
        ["target", target, m.targetFrames],
      ] as const) {
        if (n === 0) {
          process.stderr.write(
            `eusn video compare: ${file}: no ${side} frame has quality ≥ ${options.quality}\n`,
          );
        }
      }
      process.stdout.write(
        `${toFixedLikeC(m.queryMatchPercent, 2)},${toFixedLikeC(m.targetMatchPercent, 2)}\n`,
      );
    });
  return video;
}

type Loaded =
  | { readonly ok: true; readonly features: readonly VpdqFeature[]; readonly duration?: number }
  | { readonly ok: false; readonly file: string; readonly reason: string };

/** A vPDQ line starts with frame number, quality and 64 hex digits; anything else is taken for a video. */
const VPDQ_START = /^(#[^\n]*\n|\s*\n)*\d+,\d+,[0-9a-fA-F]{64},/;

/** A vPDQ text file's features, or a video file's (hashed here, with the container's duration). */
export async function loadFeatures(file: string, secondsPerHash: number): Promise<Loaded> {
  let head: string;
  try {
    const handle = await open(file, "r");
    try {
      const stats = await handle.stat();
      if (!stats.isFile()) return { ok: false, file, reason: "not a regular file" };
      if (stats.size === 0) return { ok: false, file, reason: "empty file" };
      const buffer = Buffer.alloc(4096);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      head = buffer.subarray(0, bytesRead).toString("latin1");
      if (VPDQ_START.test(head)) {
        const parsed = parseVpdq((await handle.readFile()).toString("utf8"));
        if (!parsed.ok) return { ok: false, file, reason: `not a valid vPDQ file: ${parsed.error.message}` };
        return { ok: true, features: parsed.value };
      }
    } finally {
      await handle.close();
    }
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const reason =
      code === "ENOENT"
        ? "no such file or directory"
        : code === "EACCES" || code === "EPERM"
          ? "permission denied"
          : code === "EISDIR"
            ? "is a directory"
            : err instanceof Error
              ? err.message
              : String(err);
    return { ok: false, file, reason };
  }
  const { hashVideoFile } = await import("@eusn/vpdq/ffmpeg");
  const hashed = await hashVideoFile(file, { secondsPerHash });
  if (!hashed.ok) return { ok: false, file, reason: hashed.error.message };
  const duration = hashed.value.probe.duration;
  return { ok: true, features: hashed.value.features, ...(duration !== null ? { duration } : {}) };
}
