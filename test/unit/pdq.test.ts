// Unit tests for @eusn/pdq: bit-for-bit conformance with the reference hasher's outputs (synthetic
// vectors from our fixtures; Meta's images from ../shared when present), the defined behaviours
// for odd pixel buffers, and the hex / word / Hamming helpers the server and matcher share.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { decodeImage } from "@eusn/cli";
import {
  bitsToHex,
  DIHEDRAL_NAMES,
  type DihedralName,
  hammingDistance,
  hammingDistanceBits,
  hexToBits,
  isPdqHex,
  type PdqHex,
  type PixelBuffer,
  parsePdqHex,
  pdqHash,
  pdqHashDihedral,
  thresholdDct,
} from "@eusn/pdq";
import { describe, expect, it } from "vitest";

const repoRoot = path.resolve(import.meta.dirname, "../..");
const fixtures = path.join(repoRoot, "test/fixtures/pdq");
const shared = path.resolve(repoRoot, "../shared/pdq-vectors");
const haveShared = existsSync(path.join(shared, "expected.csv"));

interface VectorRow {
  readonly hash: string;
  readonly quality: number;
  readonly file: string;
}

function readExpected(csvPath: string): VectorRow[] {
  const lines = readFileSync(csvPath, "utf8").trim().split("\n").slice(1);
  return lines.map((line) => {
    const [hash, quality, file] = line.split(",");
    return { hash: hash!, quality: Number(quality), file: file! };
  });
}

async function decodeFile(file: string): Promise<PixelBuffer> {
  const decoded = await decodeImage(readFileSync(file));
  if (!decoded.ok) throw new Error(`${file}: ${decoded.error.message}`);
  return decoded.value.pixels;
}

async function hashFile(file: string): Promise<{ hex: string; quality: number }> {
  const result = pdqHash(await decodeFile(file));
  if (!result.ok) throw new Error(result.error.message);
  return { hex: result.value.hex, quality: result.value.quality };
}

/** Deterministic pseudo-random bytes (xorshift32) so buffer tests need no fixtures. */
function randomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = s & 0xff;
  }
  return out;
}

/** A smooth random picture (random blocks) so hashes have structure and quality, like a photo. */
function blockyImage(width: number, height: number, channels: 1 | 3, seed: number): Uint8Array {
  const block = 8;
  const bw = Math.ceil(width / block);
  const cells = randomBytes(bw * Math.ceil(height / block) * channels, seed);
  const out = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const cell = (Math.floor(y / block) * bw + Math.floor(x / block)) * channels;
      for (let c = 0; c < channels; c++) out[(y * width + x) * channels + c] = cells[cell + c]!;
    }
  }
  return out;
}

function mustHash(pixels: PixelBuffer): { hex: PdqHex; quality: number } {
  const result = pdqHash(pixels);
  if (!result.ok) throw new Error(result.error.message);
  return { hex: result.value.hex, quality: result.value.quality };
}

const ZERO_HASH = "0".repeat(64);

describe("reference vectors: synthetic set (test/fixtures/pdq, decoded with sharp)", () => {
  const rows = readExpected(path.join(fixtures, "expected-synthetic.csv"));

  it("has all 14 vectors", () => {
    expect(rows).toHaveLength(14);
  });

  it.each(rows)("$file equals the reference hash and quality bit for bit", async (row) => {
    const got = await hashFile(path.join(fixtures, "synthetic", row.file));
    expect(got.hex).toBe(row.hash);
    expect(got.quality).toBe(row.quality);
  });
});

describe("reference vectors: images/ set (read from ../shared/pdq-vectors)", () => {
  if (!haveShared) {
    it.skip(`SKIPPED: ${shared} not found, so the reference images/ set and dihedral vectors were not checked`, () => {});
    return;
  }
  const rows = readExpected(path.join(shared, "expected.csv"));

  it.each(rows)("$file equals the reference hash and quality bit for bit", async (row) => {
    const got = await hashFile(path.join(shared, "images", row.file));
    expect(got.hex).toBe(row.hash);
    expect(got.quality).toBe(row.quality);
  });

  it("the eight dihedral variants of bridge-1 equal expected-dihedral.csv", async () => {
    const [header, values] = readFileSync(path.join(shared, "expected-dihedral.csv"), "utf8")
      .trim()
      .split("\n");
    const names = header!.split(",").slice(1) as DihedralName[];
    const cells = values!.split(",");
    expect(names).toEqual([...DIHEDRAL_NAMES]);
    const result = pdqHashDihedral(await decodeFile(path.join(shared, "images", cells[0]!)));
    if (!result.ok) throw new Error(result.error.message);
    const got = names.map((n) => result.value.variants[n].hex);
    expect(got).toEqual(cells.slice(1));
  });

  it("each transformed bridge photo is nearest to the variant of the same name (the naming is right)", async () => {
    const result = pdqHashDihedral(await decodeFile(path.join(shared, "images", "bridge-1-original.jpg")));
    if (!result.ok) throw new Error(result.error.message);
    const files: Record<DihedralName, string> = {
      original: "bridge-1-original.jpg",
      rotate90: "bridge-2-rotate-90.jpg",
      rotate180: "bridge-3-rotate-180.jpg",
      rotate270: "bridge-4-rotate-270.jpg",
      flipX: "bridge-5-flipx.jpg",
      flipY: "bridge-6-flipy.jpg",
      flipPlus1: "bridge-7-flip-plus-1.jpg",
      flipMinus1: "bridge-8-flip-minus-1.jpg",
    };
    for (const name of DIHEDRAL_NAMES) {
      const photo = (await hashFile(path.join(shared, "images", files[name]))).hex as PdqHex;
      const distances = DIHEDRAL_NAMES.map((n) => hammingDistance(result.value.variants[n].hex, photo));
      const own = distances[DIHEDRAL_NAMES.indexOf(name)]!;
      expect(own, name).toBeLessThanOrEqual(31);
      expect(Math.min(...distances), name).toBe(own);
    }
  });
});

describe("pixel buffer behaviours", () => {
  it("images under 5 px on a side hash to all zeros with quality 0", () => {
    for (const [width, height] of [
      [1, 1],
      [4, 4],
      [4, 100],
      [100, 4],
      [4, 512],
    ] as const) {
      const got = mustHash({
        width,
        height,
        channels: 3,
        data: randomBytes(width * height * 3, width * 31 + height),
      });
      expect(got, `${width}×${height}`).toEqual({ hex: ZERO_HASH, quality: 0 });
    }
  });

  it("a side of 4 px above 512 px on the other is resampled to 512×512 first and is hashed (reference order)", () => {
    const got = mustHash({ width: 4, height: 1000, channels: 1, data: blockyImage(4, 1000, 1, 7) });
    expect(got.hex).not.toBe(ZERO_HASH);
  });

  it("5×5 is large enough to hash", () => {
    const got = mustHash({ width: 5, height: 5, channels: 1, data: randomBytes(25, 3) });
    expect(got.hex).not.toBe(ZERO_HASH);
  });

  it("greyscale is hashed as R = G = B (a grey file and its RGB copy agree)", () => {
    const grey = blockyImage(150, 90, 1, 11);
    const rgb = new Uint8Array(grey.length * 3);
    for (let i = 0; i < grey.length; i++) rgb.fill(grey[i]!, i * 3, i * 3 + 3);
    const a = mustHash({ width: 150, height: 90, channels: 1, data: grey });
    const b = mustHash({ width: 150, height: 90, channels: 3, data: rgb });
    expect(a).toEqual(b);
    expect(a.quality).toBeGreaterThan(0);
  });

  it("alpha is flattened onto white: round((c·a + 255·(255 − a)) / 255)", () => {
    const width = 120;
    const height = 80;
    const rgb = blockyImage(width, height, 3, 21);
    const alpha = blockyImage(width, height, 1, 22);
    const rgba = new Uint8Array(width * height * 4);
    const flat = new Uint8Array(width * height * 3);
    for (let p = 0; p < width * height; p++) {
      const a = alpha[p]!;
      for (let c = 0; c < 3; c++) {
        rgba[p * 4 + c] = rgb[p * 3 + c]!;
        flat[p * 3 + c] = Math.round((rgb[p * 3 + c]! * a + 255 * (255 - a)) / 255);
      }
      rgba[p * 4 + 3] = a;
    }
    expect(mustHash({ width, height, channels: 4, data: rgba })).toEqual(
      mustHash({ width, height, channels: 3, data: flat }),
    );
  });

  it("opaque RGBA (a canvas ImageData) hashes like RGB, and Uint8ClampedArray is accepted", () => {
    const width = 100;
    const height = 70;
    const rgb = blockyImage(width, height, 3, 31);
    const rgba = new Uint8ClampedArray(width * height * 4);
    for (let p = 0; p < width * height; p++) {
      rgba.set(rgb.subarray(p * 3, p * 3 + 3), p * 4);
      rgba[p * 4 + 3] = 255;
    }
    expect(mustHash({ width, height, channels: 4, data: rgba })).toEqual(
      mustHash({ width, height, channels: 3, data: rgb }),
    );
  });

  it("colours under fully transparent pixels do not matter; a fully transparent image is plain white", () => {
    const width = 64;
    const height = 48;
    const a = randomBytes(width * height * 4, 41);
    const b = randomBytes(width * height * 4, 42);
    for (let p = 0; p < width * height; p++) {
      a[p * 4 + 3] = 0;
      b[p * 4 + 3] = 0;
    }
    const white = new Uint8Array(width * height * 3).fill(255);
    const hashA = mustHash({ width, height, channels: 4, data: a });
    expect(hashA).toEqual(mustHash({ width, height, channels: 4, data: b }));
    expect(hashA).toEqual(mustHash({ width, height, channels: 3, data: white }));
    expect(hashA.quality).toBe(0);
  });

  it("grey + alpha flattens like RGBA with R = G = B", () => {
    const width = 90;
    const height = 60;
    const ga = blockyImage(width, height, 3, 51).subarray(0, width * height * 2);
    const rgba = new Uint8Array(width * height * 4);
    for (let p = 0; p < width * height; p++) {
      rgba.fill(ga[p * 2]!, p * 4, p * 4 + 3);
      rgba[p * 4 + 3] = ga[p * 2 + 1]!;
    }
    expect(mustHash({ width, height, channels: 2, data: ga })).toEqual(
      mustHash({ width, height, channels: 4, data: rgba }),
    );
  });

  it("16-bit samples are scaled to 8 bits by round(v / 257) before hashing", () => {
    const width = 110;
    const height = 75;
    const wide = new Uint16Array(width * height * 3);
    const noise = randomBytes(wide.length * 2, 61);
    for (let i = 0; i < wide.length; i++) wide[i] = (noise[i * 2]! << 8) | noise[i * 2 + 1]!;
    const narrow = Uint8Array.from(wide, (v) => Math.round(v / 257));
    expect(mustHash({ width, height, channels: 3, data: wide })).toEqual(
      mustHash({ width, height, channels: 3, data: narrow }),
    );
    // Truncation (v >> 8) would differ from rounding on this input: the rule is observable.
    const truncated = Uint8Array.from(wide, (v) => v >> 8);
    expect(Array.from(narrow).some((v, i) => v !== truncated[i])).toBe(true);
  });

  it("above 512 px a side, the image is resampled to 512×512 by nearest neighbour, floor(x·W/512)", () => {
    const width = 1000;
    const height = 700;
    const big = randomBytes(width * height, 71);
    const small = new Uint8Array(512 * 512);
    for (let y = 0; y < 512; y++) {
      const sy = Math.floor((y * height) / 512);
      for (let x = 0; x < 512; x++) small[y * 512 + x] = big[sy * width + Math.floor((x * width) / 512)]!;
    }
    expect(mustHash({ width, height, channels: 1, data: big })).toEqual(
      mustHash({ width: 512, height: 512, channels: 1, data: small }),
    );
  });

  it("malformed buffers are reported as results, not thrown", () => {
    const cases: Array<[PixelBuffer, string]> = [
      [{ width: 0, height: 10, channels: 3, data: new Uint8Array(0) }, "invalid_dimensions"],
      [{ width: 2.5, height: 10, channels: 3, data: new Uint8Array(75) }, "invalid_dimensions"],
      [{ width: 10, height: 10, channels: 5 as 4, data: new Uint8Array(500) }, "invalid_channels"],
      [{ width: 10, height: 10, channels: 3, data: new Uint8Array(299) }, "data_length_mismatch"],
    ];
    for (const [pixels, code] of cases) {
      const result = pdqHash(pixels);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.error.code).toBe(code);
      const dihedral = pdqHashDihedral(pixels);
      expect(dihedral.ok).toBe(false);
    }
  });
});

describe("dihedral variants", () => {
  type Transform = (x: number, y: number, w: number, h: number) => [number, number];
  // For each variant: output size swaps for transposing ones; the map gives the source pixel.
  const transforms: Record<DihedralName, { swap: boolean; source: Transform }> = {
    original: { swap: false, source: (x, y) => [x, y] },
    rotate90: { swap: true, source: (x, y, w) => [w - 1 - y, x] }, // counter-clockwise
    rotate180: { swap: false, source: (x, y, w, h) => [w - 1 - x, h - 1 - y] },
    rotate270: { swap: true, source: (x, y, _w, h) => [y, h - 1 - x] }, // clockwise
    flipX: { swap: false, source: (x, y, _w, h) => [x, h - 1 - y] }, // top↔bottom
    flipY: { swap: false, source: (x, y, w) => [w - 1 - x, y] }, // left↔right
    flipPlus1: { swap: true, source: (x, y) => [y, x] }, // transpose
    flipMinus1: { swap: true, source: (x, y, w, h) => [w - 1 - y, h - 1 - x] }, // anti-transpose
  };

  it("each variant is the hash of the correspondingly transformed pixels", () => {
    const width = 96;
    const height = 96;
    const data = blockyImage(width, height, 1, 81);
    const result = pdqHashDihedral({ width, height, channels: 1, data });
    if (!result.ok) throw new Error(result.error.message);
    expect(result.value.variants.original.hex).toBe(mustHash({ width, height, channels: 1, data }).hex);
    for (const name of DIHEDRAL_NAMES) {
      const { swap, source } = transforms[name];
      const w = swap ? height : width;
      const h = swap ? width : height;
      const out = new Uint8Array(w * h);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const [sx, sy] = source(x, y, width, height);
          out[y * w + x] = data[sy * width + sx]!;
        }
      }
      const direct = mustHash({ width: w, height: h, channels: 1, data: out }).hex;
      const distances = DIHEDRAL_NAMES.map((n) => hammingDistance(result.value.variants[n].hex, direct));
      // Float rounding in a different summation order may move a bit near the median; a wrong
      // variant would be ~128 bits away.
      expect(distances[DIHEDRAL_NAMES.indexOf(name)], name).toBeLessThanOrEqual(4);
      expect(
        distances.filter((d) => d <= 31),
        name,
      ).toHaveLength(1);
    }
  });

  it("variants of a tiny image are all zeros with quality 0", () => {
    const result = pdqHashDihedral({ width: 3, height: 3, channels: 1, data: new Uint8Array(9).fill(9) });
    if (!result.ok) throw new Error(result.error.message);
    expect(result.value.quality).toBe(0);
    for (const name of DIHEDRAL_NAMES) expect(result.value.variants[name].hex).toBe(ZERO_HASH);
  });
});

describe("hex form, word form and Hamming distance", () => {
  const a = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22";
  const b = "30a10efdf1c83f429013d48d0ffffc52e34e0e35ada952a9d29605215aa9e5af";

  it("isPdqHex accepts exactly 64 lowercase hex characters", () => {
    expect(isPdqHex(a)).toBe(true);
    expect(isPdqHex(ZERO_HASH)).toBe(true);
    expect(isPdqHex(a.toUpperCase())).toBe(false);
    expect(isPdqHex(a.slice(1))).toBe(false);
    expect(isPdqHex(a + "0")).toBe(false);
    expect(isPdqHex(` ${a.slice(1)}`)).toBe(false);
    expect(isPdqHex(`${a.slice(0, 63)}g`)).toBe(false);
    expect(isPdqHex(`0x${a.slice(2)}`)).toBe(false);
    expect(isPdqHex(undefined)).toBe(false);
    expect(isPdqHex(123)).toBe(false);
  });

  it("parsePdqHex says why a value is refused, without throwing", () => {
    const code = (v: unknown): string | undefined => {
      const r = parsePdqHex(v);
      return r.ok ? undefined : r.error.code;
    };
    expect(code(a)).toBeUndefined();
    expect(code(null)).toBe("not_a_string");
    expect(code(a.slice(2))).toBe("wrong_length");
    expect(code(a.toUpperCase())).toBe("uppercase");
    expect(code(`${a.slice(0, 63)}z`)).toBe("not_hex");
  });

  it("hex ↔ words round-trips; words[0] holds the first 8 hex characters", () => {
    const parsed = parsePdqHex(a);
    if (!parsed.ok) throw new Error(parsed.error.message);
    expect(parsed.value).toHaveLength(8);
    expect(parsed.value[0]).toBe(0xd8f8f0ce);
    expect(parsed.value[7]).toBe(0x4e9c9b22);
    expect(bitsToHex(parsed.value)).toBe(a);
    expect(bitsToHex(hexToBits(b as PdqHex))).toBe(b);
  });

  it("bit 16i + j is DCT coefficient B[i][j]; bit 0 is the lowest bit of the last hex digit", () => {
    const dct = new Float32Array(256);
    dct[0] = 1; // B[0][0]
    dct[255] = 1; // B[15][15]
    dct[17] = 1; // B[1][1]
    const { hex, bits } = thresholdDct(dct);
    expect(hex).toBe("8" + "0".repeat(58) + "20001");
    expect(bits[7]).toBe(0x00020001);
    expect(bits[0]).toBe(0x80000000);
  });

  it("Hamming distance agrees on hex, words and mixed forms", () => {
    const bitsA = hexToBits(a as PdqHex);
    const bitsB = hexToBits(b as PdqHex);
    let naive = 0;
    for (let i = 0; i < 64; i++) {
      let x = Number.parseInt(a[i]!, 16) ^ Number.parseInt(b[i]!, 16);
      for (; x; x >>= 1) naive += x & 1;
    }
    expect(hammingDistance(a as PdqHex, b as PdqHex)).toBe(naive);
    expect(hammingDistanceBits(bitsA, bitsB)).toBe(naive);
    expect(hammingDistance(bitsA, b as PdqHex)).toBe(naive);
    expect(hammingDistance(a as PdqHex, a as PdqHex)).toBe(0);
    expect(hammingDistance(ZERO_HASH as PdqHex, "f".repeat(64) as PdqHex)).toBe(256);
    expect(hammingDistance(ZERO_HASH as PdqHex, `${"0".repeat(63)}8` as PdqHex)).toBe(1);
  });

  it("popcount is right on random words (checked against a bit loop)", () => {
    const bytes = randomBytes(64 * 1000, 99);
    const words = new Uint32Array(bytes.buffer);
    for (let i = 0; i + 16 <= words.length; i += 16) {
      const x = words.subarray(i, i + 8);
      const y = words.subarray(i + 8, i + 16);
      let naive = 0;
      for (let w = 0; w < 8; w++) {
        for (let v = (x[w]! ^ y[w]!) >>> 0; v; v >>>= 1) naive += v & 1;
      }
      expect(hammingDistanceBits(x, y)).toBe(naive);
    }
  });

  it("an unvalidated string is a programming error and throws (the PdqHex type prevents it)", () => {
    expect(() => hammingDistance("nope" as PdqHex, a as PdqHex)).toThrow(TypeError);
  });
});
