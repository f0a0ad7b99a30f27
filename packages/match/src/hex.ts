// Hex <-> packed 32-bit words for 256-bit PDQ hashes. Internal to @eusn/match so this package does not
// depend on @eusn/pdq (written in parallel); the layout is the one every index structure here assumes.
//
// A PDQ hash is 64 hex characters read as one 256-bit big-endian integer, so word 0 holds the first
// 8 characters (the most significant 32 bits) and word 7 the last 8.

/** Number of 32-bit words in one packed PDQ hash. */
export const PDQ_WORDS = 8;
/** Number of hex characters in one PDQ hash. */
export const PDQ_HEX_LENGTH = 64;

// Char code -> nibble value, -1 for anything that is not a hex digit. Upper case is accepted on input
// (a hash copied from another tool should still match); output is always lower case.
const NIBBLE = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) NIBBLE[48 + i] = i;
for (let i = 0; i < 6; i++) {
  NIBBLE[97 + i] = 10 + i;
  NIBBLE[65 + i] = 10 + i;
}

/**
 * Writes the 8 words of `hex` into `out` at `offset` (in words). Returns false, leaving `out` partly
 * written, when `hex` is not exactly 64 hex characters.
 */
export function parsePdqHexInto(hex: string, out: Uint32Array, offset: number): boolean {
  if (hex.length !== PDQ_HEX_LENGTH) return false;
  for (let w = 0; w < PDQ_WORDS; w++) {
    let word = 0;
    const base = w * 8;
    for (let i = 0; i < 8; i++) {
      const c = hex.charCodeAt(base + i);
      // c >= 128 would index past the table; `?? -1` also covers noUncheckedIndexedAccess.
      const n = c < 128 ? (NIBBLE[c] ?? -1) : -1;
      if (n < 0) return false;
      word = (word << 4) | n;
    }
    out[offset + w] = word >>> 0;
  }
  return true;
}

/** Parses one PDQ hex string into a fresh Uint32Array(8), or undefined when it is malformed. */
export function pdqHexToWords(hex: string): Uint32Array | undefined {
  const out = new Uint32Array(PDQ_WORDS);
  return parsePdqHexInto(hex, out, 0) ? out : undefined;
}

/** Formats the 8 words at `offset` in `words` as 64 lower-case hex characters. */
export function wordsToPdqHex(words: Uint32Array, offset = 0): string {
  let s = "";
  for (let w = 0; w < PDQ_WORDS; w++) s += (words[offset + w] ?? 0).toString(16).padStart(8, "0");
  return s;
}
