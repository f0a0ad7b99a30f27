// A video entry's frames packed into one BLOB (schema/videos.ts), column by column: the 32-byte
// hashes (big-endian, the hex order), then one quality byte a frame, then the frame numbers
// (uint32, little-endian), then the timestamps (float64, little-endian, exactly as sent). 45 bytes
// a frame. Hashes first, so a reader that needs only them reads a prefix.
import type { VpdqFrame } from "@eusn/protocol";

export const FRAME_BYTES = 45;
export const HASH_BYTES = 32;

export function packFrames(frames: readonly VpdqFrame[]): Uint8Array {
  const n = frames.length;
  const out = new Uint8Array(n * FRAME_BYTES);
  const view = new DataView(out.buffer);
  frames.forEach(([frameNumber, quality, hex, timestamp], i) => {
    for (let b = 0; b < HASH_BYTES; b++)
      out[i * HASH_BYTES + b] = Number.parseInt(hex.slice(b * 2, b * 2 + 2), 16);
    out[n * HASH_BYTES + i] = quality;
    view.setUint32(n * 33 + i * 4, frameNumber, true);
    view.setFloat64(n * 37 + i * 8, timestamp, true);
  });
  return out;
}

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));

/** The hash of frame `i` as 64 lower-case hex characters, from the packed hashes. */
export function hashHex(hashes: Uint8Array, i: number): string {
  let s = "";
  for (let b = i * HASH_BYTES; b < (i + 1) * HASH_BYTES; b++) s += HEX[hashes[b]!];
  return s;
}

/** The frames of a packed BLOB of `n` frames; throws on a BLOB of the wrong size. */
export function unpackFrames(blob: Uint8Array, n: number): VpdqFrame[] {
  if (blob.length !== n * FRAME_BYTES)
    throw new Error(`a packed video of ${n} frames is ${n * FRAME_BYTES} bytes, got ${blob.length}`);
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const out: VpdqFrame[] = new Array(n);
  for (let i = 0; i < n; i++)
    out[i] = [
      view.getUint32(n * 33 + i * 4, true),
      blob[n * HASH_BYTES + i]!,
      hashHex(blob, i),
      view.getFloat64(n * 37 + i * 8, true),
    ];
  return out;
}

/**
 * The packed hashes as the match index's words (8 per hash, word 0 the first 8 hex digits), one
 * entry per distinct hash with the position of its first frame: repeated frames (a still scene)
 * would only repeat hits.
 */
export function uniqueHashWords(hashes: Uint8Array, n: number): { frames: number[]; words: Uint32Array } {
  const seen = new Set<string>();
  const frames: number[] = [];
  const words = new Uint32Array(n * 8);
  const view = new DataView(hashes.buffer, hashes.byteOffset, hashes.byteLength);
  for (let i = 0; i < n; i++) {
    let key = "";
    const base = frames.length * 8;
    for (let w = 0; w < 8; w++) {
      const word = view.getUint32(i * HASH_BYTES + w * 4, false);
      words[base + w] = word;
      key += `${word},`;
    }
    if (seen.has(key)) continue;
    seen.add(key);
    frames.push(i);
  }
  return { frames, words: words.subarray(0, frames.length * 8) };
}
