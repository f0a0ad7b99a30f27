// A video's identity as vpdq submissions and matches carry it: the reference's text format of its
// frame hashes and that text's SHA-256. Plain functions (no zod), so clients hash videos without
// building the wire schemas (@eusn/protocol/plain).
import type { VpdqFrame } from "./submissions.ts";

/**
 * The frames as the reference's text format writes them, one line a frame ending in a line break
 * (timestamps have at most 3 decimals on the wire, so `toFixed(3)` prints them exactly as they
 * were read from such a file).
 */
export function vpdqText(frames: readonly VpdqFrame[]): string {
  let out = "";
  for (const [n, q, h, t] of frames) out += `${n},${q},${h},${t.toFixed(3)}\n`;
  return out;
}

/**
 * A vpdq submission's `value`: the SHA-256 (lower-case hex) of `vpdqText(frames)`, so for a file
 * the reference (or `eusn hash --format vpdq --out-dir`) wrote, `sha256sum FILE.txt`. It names the
 * video for idempotency and linking as a hash names an image.
 */
export async function vpdqDigest(frames: readonly VpdqFrame[]): Promise<string> {
  const bytes = new TextEncoder().encode(vpdqText(frames));
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}
