// The PDQ pipeline from a float32 luma plane to the 16×16 DCT and the quality metric, written to
// reproduce the reference's float32 arithmetic bit for bit: every intermediate that the reference
// keeps in a C `float` is rounded with Math.fround (or stored in a Float32Array) here, and sums run
// in the reference's order, because a different order moves low bits and, near the median, hash bits.
import type { LumaPlane } from "./luma.ts";

const f32 = Math.fround;

/** Below this many pixels on either side there is nothing to hash: all-zero hash, quality 0. */
export const MIN_SIDE = 5;

/** Jarosz window for a side of n pixels, aiming at 64 output samples: floor((n + 127) / 128). */
export function windowSize(n: number): number {
  return Math.floor((n + 2 * 64 - 1) / (2 * 64));
}

/**
 * 1-D box filter over `length` values at `start`, `start + stride`, …; `out[i]` is the mean of
 * `in[i-(w-h) .. i+h-1]` clipped to the vector, h = floor((w+2)/2). It is a running float32 sum
 * (add the entering value, then subtract the leaving one) divided by the count inside, exactly as
 * the reference does; a fresh sum per window would be more accurate but would not match.
 */
function box1D(
  input: Float32Array,
  output: Float32Array,
  start: number,
  length: number,
  stride: number,
  window: number,
): void {
  const half = Math.floor((window + 2) / 2);
  const phase1 = half - 1;
  const phase2 = window - half + 1;
  const phase3 = length - window;
  const phase4 = half - 1;
  let li = start;
  let ri = start;
  let oi = start;
  let sum = 0;
  let count = 0;
  for (let k = 0; k < phase1; k++) {
    sum = f32(sum + input[ri]!);
    count++;
    ri += stride;
  }
  for (let k = 0; k < phase2; k++) {
    sum = f32(sum + input[ri]!);
    count++;
    output[oi] = sum / count;
    ri += stride;
    oi += stride;
  }
  for (let k = 0; k < phase3; k++) {
    sum = f32(sum + input[ri]!);
    sum = f32(sum - input[li]!);
    output[oi] = sum / count;
    li += stride;
    ri += stride;
    oi += stride;
  }
  for (let k = 0; k < phase4; k++) {
    sum = f32(sum - input[li]!);
    count--;
    output[oi] = sum / count;
    li += stride;
    oi += stride;
  }
}

/**
 * The same box filter down every column at once, walking rows so memory is read in order (a
 * column-at-a-time walk with stride `width` thrashes the cache). Each column gets exactly the
 * sequence of float32 operations box1D would give it: `sums` holds one running sum per column.
 */
function boxColumns(
  input: Float32Array,
  output: Float32Array,
  width: number,
  height: number,
  window: number,
): void {
  const half = Math.floor((window + 2) / 2);
  const phase1 = half - 1;
  const phase2 = window - half + 1;
  const phase3 = height - window;
  const phase4 = half - 1;
  const sums = new Float32Array(width);
  let ri = 0;
  let li = 0;
  let oi = 0;
  let count = 0;
  for (let k = 0; k < phase1; k++, ri += width) {
    for (let x = 0; x < width; x++) sums[x] = f32(sums[x]! + input[ri + x]!);
    count++;
  }
  for (let k = 0; k < phase2; k++, ri += width, oi += width) {
    count++;
    for (let x = 0; x < width; x++) {
      const sum = f32(sums[x]! + input[ri + x]!);
      sums[x] = sum;
      output[oi + x] = sum / count;
    }
  }
  for (let k = 0; k < phase3; k++, ri += width, li += width, oi += width) {
    for (let x = 0; x < width; x++) {
      const sum = f32(f32(sums[x]! + input[ri + x]!) - input[li + x]!);
      sums[x] = sum;
      output[oi + x] = sum / count;
    }
  }
  for (let k = 0; k < phase4; k++, li += width, oi += width) {
    count--;
    for (let x = 0; x < width; x++) {
      const sum = f32(sums[x]! - input[li + x]!);
      sums[x] = sum;
      output[oi + x] = sum / count;
    }
  }
}

/** Two passes of (box along every row, then along every column); the result ends in `a`. */
function jaroszFilter(a: Float32Array, b: Float32Array, width: number, height: number): void {
  const rowWindow = windowSize(width);
  const colWindow = windowSize(height);
  for (let pass = 0; pass < 2; pass++) {
    for (let y = 0; y < height; y++) box1D(a, b, y * width, width, 1, rowWindow);
    boxColumns(b, a, width, height, colWindow);
  }
}

/** The row or column of an N-sample side that grid index i (0..63) samples: floor((i + 0.5)·N / 64). */
export function sampleIndex(i: number, n: number): number {
  return Math.floor(((i + 0.5) * n) / 64);
}

/** Samples the filtered plane at 64×64 centres: index floor((i + 0.5)·N / 64). */
function decimate(plane: Float32Array, width: number, height: number): Float32Array {
  const out = new Float32Array(64 * 64);
  for (let i = 0; i < 64; i++) {
    const y = sampleIndex(i, height);
    for (let j = 0; j < 64; j++) {
      const x = sampleIndex(j, width);
      out[i * 64 + j] = plane[y * width + x]!;
    }
  }
  return out;
}

/** Gradient-sum quality on the 64×64 grid: min(100, floor(Σ|trunc((u−v)·100/255)| / 90)). */
function quality(grid: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < 63; i++) {
    for (let j = 0; j < 64; j++) {
      sum += Math.abs(Math.trunc(f32(f32(f32(grid[i * 64 + j]! - grid[(i + 1) * 64 + j]!) * 100) / 255)));
    }
  }
  for (let i = 0; i < 64; i++) {
    for (let j = 0; j < 63; j++) {
      sum += Math.abs(Math.trunc(f32(f32(f32(grid[i * 64 + j]! - grid[i * 64 + j + 1]!) * 100) / 255)));
    }
  }
  return Math.min(100, Math.floor(sum / 90));
}

/**
 * D[i][j] = sqrt(2/64)·cos(π/128·(i+1)·(2j+1)) for i < 16, j < 64: the DCT-II rows 1..16 (the DC
 * row is skipped). The reference computes the product in double from a float scale and stores it
 * as float.
 */
const DCT = (() => {
  const scale = f32(Math.sqrt(2.0 / 64.0));
  const d = new Float32Array(16 * 64);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 64; j++)
      d[i * 64 + j] = scale * Math.cos((Math.PI / 2 / 64.0) * (i + 1) * (2 * j + 1));
  }
  return d;
})();

/** B = D·A·Dᵀ (16×16) in float32, accumulating over k in increasing order like the reference. */
function dct16(grid: Float32Array): Float32Array {
  const t = new Float32Array(16 * 64);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 64; j++) {
      let sum = 0;
      for (let k = 0; k < 64; k++) sum = f32(sum + f32(DCT[i * 64 + k]! * grid[k * 64 + j]!));
      t[i * 64 + j] = sum;
    }
  }
  const b = new Float32Array(16 * 16);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 16; j++) {
      let sum = 0;
      for (let k = 0; k < 64; k++) sum = f32(sum + f32(t[i * 64 + k]! * DCT[j * 64 + k]!));
      b[i * 16 + j] = sum;
    }
  }
  return b;
}

export interface Spectrum {
  /** The 16×16 DCT, row-major (row = vertical frequency), or null for an image too small to hash. */
  readonly dct: Float32Array | null;
  readonly quality: number;
}

/** Runs filter, decimation, quality and DCT on a luma plane. The plane's buffer is overwritten. */
export function spectrum(plane: LumaPlane): Spectrum {
  const { width, height, luma } = plane;
  if (width < MIN_SIDE || height < MIN_SIDE) return { dct: null, quality: 0 };
  let grid: Float32Array;
  if (width === 64 && height === 64) {
    // The reference skips the filter here; a window-1 running sum is not an exact identity in float32.
    grid = luma;
  } else {
    jaroszFilter(luma, new Float32Array(luma.length), width, height);
    grid = decimate(luma, width, height);
  }
  return gridSpectrum(grid);
}

/** DCT and quality of the filtered 64×64 grid. */
export function gridSpectrum(grid: Float32Array): Spectrum {
  return { dct: dct16(grid), quality: quality(grid) };
}
