// Popcount of packed 32-bit words: the inner loop of every scan and candidate check.
//
// JS has no popcount instruction; this is the classic SWAR reduction (Hacker's Delight 5-1), which V8
// compiles to a handful of integer ops and measured faster than a 64 KiB lookup table on our machines.

/** Number of set bits in the low 32 bits of `x`. */
export function popcount32(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}
