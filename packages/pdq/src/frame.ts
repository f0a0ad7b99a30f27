// PDQ of a picture at its own resolution (no 512×512 resample), as the reference video hasher
// (vPDQ) hashes each frame. It computes exactly the float32 operations of core.ts's spectrum() on
// the full-size luma plane, in the same order within each running sum, but streams the picture
// row by row and computes only what the 64×64 decimation reads:
//
//   - luma, then the first pass's box along the row, per source row (nothing else needs luma);
//   - the first pass's column box over a ring of window + 1 such rows;
//   - the second pass's row box on each output row of that, keeping only the 64 sampled columns
//     (the running sum still walks the whole row: its rounding depends on every step);
//   - the second pass's column box on those 64 columns only, keeping the 64 sampled rows.
//
// Each running sum is the same sequence of float32 additions and subtractions as in the full
// filter, so the grid is bit-identical; what changes is memory (a few rows instead of two
// full-size planes) and the divisions and stores whose results the decimation never reads. A
// 1280×720 frame is 0.9 Mpx, against the still-image path's 0.26 Mpx after its resample.
//
// Speed: a running sum is a chain of dependent float32 steps (in JS each also pays two
// conversions for Math.fround), so one row at a time is bound by that chain's latency. The row
// boxes therefore walk four independent rows (the column box four columns) in one loop, and the
// processor overlaps the four chains. Division by the window count is a multiplication by its
// double-precision reciprocal, rounded to float32: for a float32 s and an integer 1 ≤ c < 2^26,
// s·(1/c) in double is within 2^-52 (relative) of s/c, while s/c is either a float32 itself or
// at least 2^-25/c (relative) away from every rounding boundary of float32, so both round to the
// same float32 (the argument is in docs/video.md; the vPDQ vectors and the unit tests against
// core.ts confirm it bit for bit).
import { gridSpectrum, MIN_SIDE, type Spectrum, sampleIndex, windowSize } from "./core.ts";
import { frameSpectrumWasm } from "./frame-wasm.ts";
import { eightBit, lumaRow } from "./luma.ts";
import type { PixelBuffer } from "./types.ts";

const f32 = Math.fround;

/** Phase lengths of the reference's running box filter over `length` samples (see core.ts box1D). */
function phases(length: number, window: number): [number, number, number, number] {
  const half = Math.floor((window + 2) / 2);
  return [half - 1, window - half + 1, length - window, half - 1];
}

/** Reciprocals 1/c in double for every count a window of `window` reaches (index 0 unused). */
function reciprocals(window: number): Float64Array {
  const inv = new Float64Array(window + 1);
  for (let c = 1; c <= window; c++) inv[c] = 1 / c;
  return inv;
}

/**
 * Four lanes of the box filter at once: lane k reads `length` samples at `ik`, `ik + inStride`, …
 * and writes every output to `ok`, `ok + outStride`, …. Lanes may repeat (a partial block): a
 * repeated lane computes and writes the same values twice.
 */
function boxLanes(
  input: Float32Array,
  i0: number,
  i1: number,
  i2: number,
  i3: number,
  inStride: number,
  output: Float32Array,
  o0: number,
  o1: number,
  o2: number,
  o3: number,
  outStride: number,
  length: number,
  window: number,
  inv: Float64Array,
): void {
  const [p1, p2, p3, p4] = phases(length, window);
  let r = 0; // offset of the entering sample
  let l = 0; // offset of the leaving sample
  let o = 0; // offset of the output
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let count = 0;
  for (let k = 0; k < p1; k++, r += inStride) {
    s0 = f32(s0 + input[i0 + r]!);
    s1 = f32(s1 + input[i1 + r]!);
    s2 = f32(s2 + input[i2 + r]!);
    s3 = f32(s3 + input[i3 + r]!);
    count++;
  }
  for (let k = 0; k < p2; k++, r += inStride, o += outStride) {
    s0 = f32(s0 + input[i0 + r]!);
    s1 = f32(s1 + input[i1 + r]!);
    s2 = f32(s2 + input[i2 + r]!);
    s3 = f32(s3 + input[i3 + r]!);
    const q = inv[++count]!;
    output[o0 + o] = s0 * q;
    output[o1 + o] = s1 * q;
    output[o2 + o] = s2 * q;
    output[o3 + o] = s3 * q;
  }
  const q = inv[count]!;
  for (let k = 0; k < p3; k++, r += inStride, l += inStride, o += outStride) {
    s0 = f32(f32(s0 + input[i0 + r]!) - input[i0 + l]!);
    s1 = f32(f32(s1 + input[i1 + r]!) - input[i1 + l]!);
    s2 = f32(f32(s2 + input[i2 + r]!) - input[i2 + l]!);
    s3 = f32(f32(s3 + input[i3 + r]!) - input[i3 + l]!);
    output[o0 + o] = s0 * q;
    output[o1 + o] = s1 * q;
    output[o2 + o] = s2 * q;
    output[o3 + o] = s3 * q;
  }
  for (let k = 0; k < p4; k++, l += inStride, o += outStride) {
    s0 = f32(s0 - input[i0 + l]!);
    s1 = f32(s1 - input[i1 + l]!);
    s2 = f32(s2 - input[i2 + l]!);
    s3 = f32(s3 - input[i3 + l]!);
    const q = inv[--count]!;
    output[o0 + o] = s0 * q;
    output[o1 + o] = s1 * q;
    output[o2 + o] = s2 * q;
    output[o3 + o] = s3 * q;
  }
}

/**
 * The same, keeping only the outputs at the 64 positions `at` (non-decreasing; repeats when the
 * side is under 64): lane k's output at position at[j] goes to `ok + j·outStride`.
 */
function boxLanesSampled(
  input: Float32Array,
  i0: number,
  i1: number,
  i2: number,
  i3: number,
  inStride: number,
  output: Float32Array,
  o0: number,
  o1: number,
  o2: number,
  o3: number,
  outStride: number,
  length: number,
  window: number,
  inv: Float64Array,
  at: Int32Array,
): void {
  const [p1, p2, p3, p4] = phases(length, window);
  let r = 0;
  let l = 0;
  let pos = 0; // output position
  let j = 0; // next sample index into `at`
  let next = at[0]!;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let count = 0;
  for (let k = 0; k < p1; k++, r += inStride) {
    s0 = f32(s0 + input[i0 + r]!);
    s1 = f32(s1 + input[i1 + r]!);
    s2 = f32(s2 + input[i2 + r]!);
    s3 = f32(s3 + input[i3 + r]!);
    count++;
  }
  for (let k = 0; k < p2 + p3 + p4; k++, pos++) {
    if (k < p2) {
      s0 = f32(s0 + input[i0 + r]!);
      s1 = f32(s1 + input[i1 + r]!);
      s2 = f32(s2 + input[i2 + r]!);
      s3 = f32(s3 + input[i3 + r]!);
      r += inStride;
      count++;
    } else if (k < p2 + p3) {
      s0 = f32(f32(s0 + input[i0 + r]!) - input[i0 + l]!);
      s1 = f32(f32(s1 + input[i1 + r]!) - input[i1 + l]!);
      s2 = f32(f32(s2 + input[i2 + r]!) - input[i2 + l]!);
      s3 = f32(f32(s3 + input[i3 + r]!) - input[i3 + l]!);
      r += inStride;
      l += inStride;
    } else {
      s0 = f32(s0 - input[i0 + l]!);
      s1 = f32(s1 - input[i1 + l]!);
      s2 = f32(s2 - input[i2 + l]!);
      s3 = f32(s3 - input[i3 + l]!);
      l += inStride;
      count--;
    }
    if (pos === next) {
      const q = inv[count]!;
      do {
        const o = j * outStride;
        output[o0 + o] = s0 * q;
        output[o1 + o] = s1 * q;
        output[o2 + o] = s2 * q;
        output[o3 + o] = s3 * q;
        j++;
      } while (j < 64 && at[j] === pos);
      next = j < 64 ? at[j]! : -1;
    }
  }
}

// The first pass's column box on all columns at once, one row step at a time.
function addRow(sums: Float32Array, ring: Float32Array, r: number): void {
  for (let x = 0; x < sums.length; x++) sums[x] = f32(sums[x]! + ring[r + x]!);
}
function subtractRow(sums: Float32Array, ring: Float32Array, l: number): void {
  for (let x = 0; x < sums.length; x++) sums[x] = f32(sums[x]! - ring[l + x]!);
}
function scaleRow(sums: Float32Array, q: number, out: Float32Array, o: number): void {
  for (let x = 0; x < sums.length; x++) out[o + x] = sums[x]! * q;
}
/** One sliding step (add the entering row, subtract the leaving one) and its scaled output row. */
function slideScaleRow(
  sums: Float32Array,
  ring: Float32Array,
  r: number,
  l: number,
  q: number,
  out: Float32Array,
  o: number,
): void {
  for (let x = 0; x < sums.length; x++) {
    const s = f32(f32(sums[x]! + ring[r + x]!) - ring[l + x]!);
    sums[x] = s;
    out[o + x] = s * q;
  }
}

/**
 * PDQ spectrum of `pixels` (already validated) at full resolution: the WebAssembly kernels for
 * 8-bit RGB where they can be compiled (frame-wasm.ts), the JS filter otherwise. Both give the
 * same float32 grid.
 */
export function frameSpectrum(pixels: PixelBuffer): Spectrum {
  const { width, height } = pixels;
  if (width >= MIN_SIDE && height >= MIN_SIDE && !(width === 64 && height === 64)) {
    const fast = frameSpectrumWasm(pixels);
    if (fast !== null) return fast;
  }
  return frameSpectrumJs(pixels);
}

/** The same in plain JavaScript, for any PixelBuffer layout. */
export function frameSpectrumJs(pixels: PixelBuffer): Spectrum {
  const { width, height, channels } = pixels;
  if (width < MIN_SIDE || height < MIN_SIDE) return { dct: null, quality: 0 };
  const src = eightBit(pixels.data);

  if (width === 64 && height === 64) {
    // The reference skips the filter at exactly 64×64 (core.ts spectrum); the luma is the grid.
    const grid = new Float32Array(64 * 64);
    for (let y = 0; y < 64; y++) lumaRow(src, channels, y * 64, null, 64, grid, y * 64);
    return gridSpectrum(grid);
  }

  const rowWindow = windowSize(width);
  const colWindow = windowSize(height);
  const rowInv = reciprocals(rowWindow);
  const colInv = reciprocals(colWindow);
  const xs = Int32Array.from({ length: 64 }, (_, j) => sampleIndex(j, width));
  const ys = Int32Array.from({ length: 64 }, (_, i) => sampleIndex(i, height));
  const w = width;

  // First pass, rows: luma, then the row box, four source rows at a time, into a ring holding the
  // rows the column box still needs: from the one leaving to the newest block (window + 4 rows).
  const ringRows = colWindow + 4;
  const ring = new Float32Array(ringRows * w);
  const luma = new Float32Array(4 * w);
  let produced = 0;
  const rowAt = (y: number): number => {
    while (produced <= y) {
      const n = Math.min(4, height - produced);
      for (let k = 0; k < n; k++) lumaRow(src, channels, (produced + k) * w, null, w, luma, k * w);
      const lane = (k: number): number => Math.min(k, n - 1);
      const slot = (k: number): number => ((produced + lane(k)) % ringRows) * w;
      boxLanes(
        luma,
        0,
        lane(1) * w,
        lane(2) * w,
        lane(3) * w,
        1,
        ring,
        slot(0),
        slot(1),
        slot(2),
        slot(3),
        1,
        w,
        rowWindow,
        rowInv,
      );
      produced += n;
    }
    return (y % ringRows) * w;
  };

  // First pass, columns: one running sum per column, walked row by row. Its output rows are
  // gathered four at a time for the second pass's row box, which keeps the 64 sampled columns.
  const sums = new Float32Array(w);
  const block = new Float32Array(4 * w);
  let blockRows = 0;
  const second = new Float32Array(height * 64);
  let secondRows = 0;
  const flush = (): void => {
    if (blockRows === 0) return;
    const lane = (k: number): number => Math.min(k, blockRows - 1);
    boxLanesSampled(
      block,
      0,
      lane(1) * w,
      lane(2) * w,
      lane(3) * w,
      1,
      second,
      secondRows * 64,
      (secondRows + lane(1)) * 64,
      (secondRows + lane(2)) * 64,
      (secondRows + lane(3)) * 64,
      1,
      w,
      rowWindow,
      rowInv,
      xs,
    );
    secondRows += blockRows;
    blockRows = 0;
  };
  const emit = (count: number, scaled = false): void => {
    if (!scaled) scaleRow(sums, colInv[count]!, block, blockRows * w);
    if (++blockRows === 4) flush();
  };
  const [p1, p2, p3, p4] = phases(height, colWindow);
  let entering = 0;
  let leaving = 0;
  let count = 0;
  for (let k = 0; k < p1; k++) {
    addRow(sums, ring, rowAt(entering++));
    count++;
  }
  for (let k = 0; k < p2; k++) {
    addRow(sums, ring, rowAt(entering++));
    emit(++count);
  }
  for (let k = 0; k < p3; k++) {
    const r = rowAt(entering++);
    slideScaleRow(sums, ring, r, (leaving++ % ringRows) * w, colInv[count]!, block, blockRows * w);
    emit(count, true);
  }
  for (let k = 0; k < p4; k++) {
    subtractRow(sums, ring, (leaving++ % ringRows) * w);
    emit(--count);
  }
  flush();

  // Second pass, columns: only the 64 sampled columns, four at a time, keeping the sampled rows.
  const grid = new Float32Array(64 * 64);
  for (let j = 0; j < 64; j += 4) {
    boxLanesSampled(
      second,
      j,
      j + 1,
      j + 2,
      j + 3,
      64,
      grid,
      j,
      j + 1,
      j + 2,
      j + 3,
      64,
      height,
      colWindow,
      colInv,
      ys,
    );
  }
  return gridSpectrum(grid);
}
