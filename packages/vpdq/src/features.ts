// vPDQ features (one PDQ hash per selected video frame) and the reference's text format, one
// line a frame: `frameNumber,quality,pdqHex,timestampSeconds`. Also the reference's rules for
// which frames are hashed and how their timestamps are computed. Pure: runs in Node, Workers and
// browsers alike.
import { isPdqHex, type PdqHex, type Result } from "@eusn/pdq";

export interface VpdqFeature {
  /** Decoded frames counted from 0 in decode-output order (not presentation time). */
  readonly frameNumber: number;
  /** PDQ quality 0–100; below 50 the reference's matcher ignores the frame. */
  readonly quality: number;
  readonly hash: PdqHex;
  /** frameNumber / frameRate in float32, as the reference computes it (seconds). */
  readonly timestamp: number;
}

/**
 * Which frames are hashed: frame n is when n % modulus === 0, modulus = trunc(S × frameRate) in
 * double, and 1 when that is 0 (S = 0 hashes every frame; so does a frame rate under 1/S). At
 * 29.97 fps and S = 1 that is every 29th frame, as in the reference.
 */
export function frameModulus(secondsPerHash: number, frameRate: number): number {
  const m = Math.trunc(secondsPerHash * frameRate);
  return Math.max(m, 1);
}

/**
 * A frame's timestamp: the reference divides the frame number by the frame rate, both as C
 * `float`, so the value carries float32 rounding (it prints with 3 decimals).
 */
export function frameTimestamp(frameNumber: number, frameRate: number): number {
  return Math.fround(Math.fround(frameNumber) / Math.fround(frameRate));
}

/**
 * `x` with `digits` decimals as C's printf prints it: correctly rounded from the exact binary
 * value, an exact tie going to the even digit. (`Number.prototype.toFixed` takes ties up: 0.125
 * prints 0.13 there but 0.12 in C.) A tie at d decimals means x = odd / (2·10^d) exactly, which a
 * double can only be when x·2^(d+1) is an odd integer.
 */
export function toFixedLikeC(x: number, digits: number): string {
  const twice = x * 2 ** (digits + 1);
  if (Number.isInteger(twice) && Math.abs(twice % 2) === 1) {
    const scaled = x * 10 ** digits; // k + 0.5 exactly
    const low = Math.floor(scaled);
    const even = low % 2 === 0 ? low : low + 1;
    return (even / 10 ** digits).toFixed(digits);
  }
  return x.toFixed(digits);
}

/** One line of the reference's text format (no line break). */
export function formatFeature(f: VpdqFeature): string {
  return `${f.frameNumber},${f.quality},${f.hash},${toFixedLikeC(f.timestamp, 3)}`;
}

/** A whole vPDQ text file: one line a frame, each ending in a line break. */
export function formatVpdq(features: readonly VpdqFeature[]): string {
  let out = "";
  for (const f of features) out += formatFeature(f) + "\n";
  return out;
}

export interface VpdqParseError {
  readonly code: "empty" | "bad_line";
  /** 1-based line number of the first bad line (bad_line only). */
  readonly line?: number;
  readonly message: string;
}

const DECIMAL = /^(0|[1-9][0-9]*)$/;
const TIMESTAMP = /^[0-9]+(\.[0-9]+)?$/;

/**
 * Parses the reference's text format. Blank lines and lines starting with `#` (the header lines
 * `eusn hash --format vpdq` prints before each video's block) are skipped; every other line must
 * be `frameNumber,quality,pdqHex,timestamp` with a 64-digit hex hash (either case; stored
 * lowercase), quality 0–100 and a non-negative decimal timestamp. The first bad line is reported
 * by number; a file without any frame is an error, as in the reference.
 */
export function parseVpdq(text: string): Result<VpdqFeature[], VpdqParseError> {
  const features: VpdqFeature[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.endsWith("\r") ? lines[i]!.slice(0, -1) : lines[i]!;
    if (line.trim() === "" || line.startsWith("#")) continue;
    const bad = (why: string): Result<VpdqFeature[], VpdqParseError> => ({
      ok: false,
      error: { code: "bad_line", line: i + 1, message: `line ${i + 1}: ${why}` },
    });
    const fields = line.split(",");
    if (fields.length !== 4)
      return bad(`expected frameNumber,quality,pdqHex,timestamp, got ${fields.length} field(s)`);
    const [frame, quality, hex, time] = fields as [string, string, string, string];
    if (!DECIMAL.test(frame) || !Number.isSafeInteger(Number(frame)))
      return bad("frame number is not a whole number");
    if (!DECIMAL.test(quality) || Number(quality) > 100) return bad("quality is not a whole number 0-100");
    const hash = hex.toLowerCase();
    if (!isPdqHex(hash)) return bad("the hash is not 64 hex digits");
    if (!TIMESTAMP.test(time) || !Number.isFinite(Number(time)))
      return bad("timestamp is not a non-negative decimal");
    features.push({ frameNumber: Number(frame), quality: Number(quality), hash, timestamp: Number(time) });
  }
  if (features.length === 0) return { ok: false, error: { code: "empty", message: "no frame lines" } };
  return { ok: true, value: features };
}
