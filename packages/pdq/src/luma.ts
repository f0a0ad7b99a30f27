// Turns a decoded PixelBuffer into the float32 luma plane the PDQ hasher works on: validation,
// 16-bit scaling, alpha flattening, grey expansion and the reference's 512×512 nearest-neighbour
// downsample (still images only; video frames are hashed at their own size), in that order.
import type { PdqImageError, PixelBuffer, Result } from "./types.ts";

/** Images larger than this on either side are resampled to exactly MAX_SIDE × MAX_SIDE. */
export const MAX_SIDE = 512;

export interface LumaPlane {
  readonly width: number;
  readonly height: number;
  /** Row-major float32 luma, one value per pixel. */
  readonly luma: Float32Array;
}

const f32 = Math.fround;
// The reference multiplies uint8 samples by float constants and adds in float32; a table per
// channel gives the same rounded products for every possible sample value.
const LUMA_R = f32(0.299);
const LUMA_G = f32(0.587);
const LUMA_B = f32(0.114);
const TABLE_R = new Float32Array(256);
const TABLE_G = new Float32Array(256);
const TABLE_B = new Float32Array(256);
/** Grey is treated as R = G = B so a grey file and its RGB copy hash identically. */
const TABLE_GREY = new Float32Array(256);
for (let v = 0; v < 256; v++) {
  TABLE_R[v] = LUMA_R * v;
  TABLE_G[v] = LUMA_G * v;
  TABLE_B[v] = LUMA_B * v;
  TABLE_GREY[v] = f32(f32(TABLE_R[v]! + TABLE_G[v]!) + TABLE_B[v]!);
}

/**
 * Flattens a straight-alpha 8-bit sample onto white: round((c·a + 255·(255 − a)) / 255).
 * No ties can occur (the numerator is an integer and 255 is odd), so Math.round is exact.
 */
function onWhite(c: number, a: number): number {
  return Math.round((c * a + 255 * (255 - a)) / 255);
}

export function validatePixels(pixels: PixelBuffer): Result<true, PdqImageError> {
  const { width, height, channels, data } = pixels;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    return {
      ok: false,
      error: {
        code: "invalid_dimensions",
        message: `width and height must be positive integers, got ${width}×${height}`,
      },
    };
  }
  if (channels !== 1 && channels !== 2 && channels !== 3 && channels !== 4) {
    return {
      ok: false,
      error: { code: "invalid_channels", message: `channels must be 1–4, got ${String(channels)}` },
    };
  }
  const expected = width * height * channels;
  if (data.length !== expected) {
    return {
      ok: false,
      error: {
        code: "data_length_mismatch",
        message: `expected ${expected} samples (${width}×${height}×${channels}), got ${data.length}`,
      },
    };
  }
  return { ok: true, value: true };
}

/**
 * Computes the luma plane. Callers must have validated `pixels` first. Sampling (when a side
 * exceeds 512 and `resample` is on) happens before the per-pixel work, which is the same as the
 * reference's resize-then-convert because nearest neighbour only selects pixels.
 */
export function lumaPlane(pixels: PixelBuffer, resample = true): LumaPlane {
  const { width: srcW, height: srcH, channels, data } = pixels;
  const resize = resample && (srcW > MAX_SIDE || srcH > MAX_SIDE);
  const width = resize ? MAX_SIDE : srcW;
  const height = resize ? MAX_SIDE : srcH;
  // Source column/row for each output column/row: floor(x·W/512), exact in integer arithmetic.
  const cols = new Int32Array(width);
  for (let x = 0; x < width; x++) cols[x] = resize ? Math.floor((x * srcW) / MAX_SIDE) : x;
  const src = eightBit(data);
  const luma = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const sy = resize ? Math.floor((y * srcH) / MAX_SIDE) : y;
    lumaRow(src, channels, sy * srcW, cols, width, luma, y * width);
  }
  return { width, height, luma };
}

/** 16-bit samples are scaled once up front: round(v / 257) maps 0..65535 onto 0..255 evenly. */
export function eightBit(data: PixelBuffer["data"]): Uint8Array | Uint8ClampedArray {
  return data instanceof Uint16Array ? Uint8Array.from(data, (v) => Math.round(v / 257)) : data;
}

let identity = new Int32Array(0);
/** 0, 1, 2, … (at least `width` of them), grown on demand and shared. */
function identityColumns(width: number): Int32Array {
  if (identity.length < width) identity = Int32Array.from({ length: width }, (_, x) => x);
  return identity;
}

/**
 * Converts one row to float32 luma: `out[outBase + x]` for x < `width` is the pixel at column
 * `cols[x]` (`x` when `cols` is null) of the source row whose first pixel is `rowBase`. One loop per channel layout keeps the
 * per-pixel work branch-free; the last float32 rounding of each luma sum happens on the store into
 * the Float32Array.
 */
export function lumaRow(
  src: Uint8Array | Uint8ClampedArray,
  channels: PixelBuffer["channels"],
  rowBase: number,
  cols: Int32Array | null,
  width: number,
  out: Float32Array,
  outBase: number,
): void {
  if (cols === null && channels !== 3) cols = identityColumns(width);
  switch (channels) {
    case 1:
      for (let x = 0; x < width; x++) out[outBase + x] = TABLE_GREY[src[rowBase + cols![x]!]!]!;
      break;
    case 2:
      for (let x = 0; x < width; x++) {
        const i = (rowBase + cols![x]!) * 2;
        out[outBase + x] = TABLE_GREY[onWhite(src[i]!, src[i + 1]!)]!;
      }
      break;
    case 3:
      if (cols === null) {
        // Every column in order (video frames at full size): no index table to read.
        for (let x = 0, i = rowBase * 3; x < width; x++, i += 3) {
          out[outBase + x] = f32(TABLE_R[src[i]!]! + TABLE_G[src[i + 1]!]!) + TABLE_B[src[i + 2]!]!;
        }
        break;
      }
      for (let x = 0; x < width; x++) {
        const i = (rowBase + cols[x]!) * 3;
        out[outBase + x] = f32(TABLE_R[src[i]!]! + TABLE_G[src[i + 1]!]!) + TABLE_B[src[i + 2]!]!;
      }
      break;
    case 4:
      for (let x = 0; x < width; x++) {
        const i = (rowBase + cols![x]!) * 4;
        const a = src[i + 3]!;
        out[outBase + x] =
          f32(TABLE_R[onWhite(src[i]!, a)]! + TABLE_G[onWhite(src[i + 1]!, a)]!) +
          TABLE_B[onWhite(src[i + 2]!, a)]!;
      }
      break;
  }
}
