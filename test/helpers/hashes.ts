// Deterministic hash fixtures for tests: seeded random PDQ hex, exact bit flips, md5/sha256 hex.

/** mulberry32: a small seeded PRNG so failures reproduce. */
export function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomHex(r: () => number, chars: number): string {
  let s = "";
  for (let i = 0; i < chars; i++) s += Math.floor(r() * 16).toString(16);
  return s;
}

/** A random PDQ-like hash (never all zeros). */
export function randomPdq(r: () => number): string {
  const h = randomHex(r, 64);
  return /^0+$/.test(h) ? `1${h.slice(1)}` : h;
}

/** `hex` with exactly `n` distinct bits flipped (positions chosen by `r`). */
export function flipBits(hex: string, n: number, r: () => number): string {
  const bits = hex.split("").flatMap((c) => {
    const v = Number.parseInt(c, 16);
    return [(v >> 3) & 1, (v >> 2) & 1, (v >> 1) & 1, v & 1];
  });
  const positions = new Set<number>();
  while (positions.size < n) positions.add(Math.floor(r() * bits.length));
  for (const p of positions) bits[p] = bits[p]! ^ 1;
  let out = "";
  for (let i = 0; i < bits.length; i += 4)
    out += ((bits[i]! << 3) | (bits[i + 1]! << 2) | (bits[i + 2]! << 1) | bits[i + 3]!).toString(16);
  return out;
}

export function hamming(a: string, b: string): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) {
    let x = Number.parseInt(a[i]!, 16) ^ Number.parseInt(b[i]!, 16);
    while (x) {
      d += x & 1;
      x >>= 1;
    }
  }
  return d;
}

/** A submission item with sensible defaults. */
export function pdqItem(value: string, extra: Record<string, unknown> = {}) {
  return {
    signalType: "pdq",
    value,
    quality: 90,
    limbs: ["a"],
    contentType: "image",
    nationalProvision: "NL Sr. art. 131",
    ...extra,
  };
}
