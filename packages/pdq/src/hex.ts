// The two forms of a 256-bit PDQ hash (64 lowercase hex characters, and eight 32-bit words) with
// validation, conversion and Hamming distance, shared by the hasher, the server and the matcher.
import type { PdqBits, PdqHex, PdqHexError, Result } from "./types.ts";

const HEX_LENGTH = 64;
const LOWER_HEX = /^[0-9a-f]{64}$/;
const ANY_CASE_HEX = /^[0-9a-fA-F]{64}$/;

/** True when `value` is exactly 64 lowercase hex characters (no prefix, no whitespace). */
export function isPdqHex(value: unknown): value is PdqHex {
  return typeof value === "string" && LOWER_HEX.test(value);
}

/** Validates a hex hash and returns its word form; uppercase is refused (one spelling per hash). */
export function parsePdqHex(value: unknown): Result<PdqBits, PdqHexError> {
  if (typeof value !== "string") {
    return { ok: false, error: { code: "not_a_string", message: "a PDQ hash must be a string" } };
  }
  if (value.length !== HEX_LENGTH) {
    return {
      ok: false,
      error: { code: "wrong_length", message: `a PDQ hash has 64 hex characters, got ${value.length}` },
    };
  }
  if (!LOWER_HEX.test(value)) {
    if (ANY_CASE_HEX.test(value)) {
      return { ok: false, error: { code: "uppercase", message: "a PDQ hash must be lowercase hex" } };
    }
    return { ok: false, error: { code: "not_hex", message: "a PDQ hash may contain only 0-9 and a-f" } };
  }
  return { ok: true, value: hexToBits(value as PdqHex) };
}

/** Word form of an already validated hex hash. */
export function hexToBits(hex: PdqHex): PdqBits {
  const bits = new Uint32Array(8);
  for (let w = 0; w < 8; w++) bits[w] = Number.parseInt(hex.slice(w * 8, w * 8 + 8), 16);
  return bits;
}

/** Hex form of eight words (see PdqBits for the order). */
export function bitsToHex(bits: PdqBits): PdqHex {
  let hex = "";
  for (let w = 0; w < 8; w++) hex += (bits[w]! >>> 0).toString(16).padStart(8, "0");
  return hex as PdqHex;
}

/** Set bits in a 32-bit word (SWAR popcount; no Math.clz-style builtin counts bits in JS). */
function popcount32(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** Hamming distance of two word-form hashes; no allocation, for the match index's inner loop. */
export function hammingDistanceBits(a: PdqBits, b: PdqBits): number {
  let d = 0;
  for (let w = 0; w < 8; w++) d += popcount32((a[w]! ^ b[w]!) >>> 0);
  return d;
}

/**
 * Hamming distance (0–256) between two hashes in either form. A hex string must already be
 * validated (the PdqHex type says so); an invalid one is a programming error and throws.
 */
export function hammingDistance(a: PdqHex | PdqBits, b: PdqHex | PdqBits): number {
  return hammingDistanceBits(toBits(a), toBits(b));
}

function toBits(h: PdqHex | PdqBits): PdqBits {
  if (typeof h !== "string") {
    if (h.length !== 8) throw new RangeError(`PDQ word form has 8 words, got ${h.length}`);
    return h;
  }
  if (!isPdqHex(h)) throw new TypeError("not a validated PDQ hex hash; use parsePdqHex first");
  return hexToBits(h);
}
