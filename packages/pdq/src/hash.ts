// The public hashing entry points: pixels → PDQ hash and quality, optionally with the eight
// dihedral variants computed on the DCT (no re-hashing of rotated pixels).
import { type Spectrum, spectrum } from "./core.ts";
import { frameSpectrum } from "./frame.ts";
import { bitsToHex } from "./hex.ts";
import { lumaPlane, validatePixels } from "./luma.ts";
import {
  DIHEDRAL_NAMES,
  type DihedralName,
  type PdqDihedralResult,
  type PdqHash,
  type PdqHashOptions,
  type PdqHashResult,
  type PdqImageError,
  type PixelBuffer,
  type Result,
} from "./types.ts";

function computeSpectrum(pixels: PixelBuffer, resample = true): Result<Spectrum, PdqImageError> {
  const valid = validatePixels(pixels);
  if (!valid.ok) return valid;
  return { ok: true, value: resample ? spectrum(lumaPlane(pixels)) : frameSpectrum(pixels) };
}

/**
 * Thresholds a 16×16 DCT at its median (the 128th smallest of 256, as the reference's Torben
 * median returns): coefficient B[i][j] sets hash bit 16i + j iff it is strictly greater.
 */
export function thresholdDct(dct: Float32Array): PdqHash {
  const median = Float32Array.from(dct).sort()[127]!;
  const bits = new Uint32Array(8);
  for (let k = 0; k < 256; k++) {
    if (dct[k]! > median) bits[7 - (k >>> 5)]! |= 1 << (k & 31);
  }
  return { hex: bitsToHex(bits), bits };
}

const ZERO_DCT = new Float32Array(256);

/**
 * PDQ hash of a decoded image. Images under 5 px on a side (after the 512 px resample) give the
 * all-zero hash with quality 0, like the reference; malformed buffers give an error result.
 * `{ resample: false }` hashes at full resolution, as the reference's video hasher does per frame.
 */
export function pdqHash(
  pixels: PixelBuffer,
  options: PdqHashOptions = {},
): Result<PdqHashResult, PdqImageError> {
  const s = computeSpectrum(pixels, options.resample ?? true);
  if (!s.ok) return s;
  const { dct, quality } = s.value;
  // A flat (all-zero) DCT thresholds to all zeros: nothing is strictly above its median.
  return { ok: true, value: { ...thresholdDct(dct ?? ZERO_DCT), quality } };
}

/**
 * The DCT of a picture transformed by a symmetry of the square, from the original's DCT. With
 * u = i + 1 the basis satisfies cos(πu(2(63−x)+1)/128) = (−1)^u·cos(πu(2x+1)/128), so mirroring
 * an axis negates the odd-frequency (even-index) coefficients along it, and a transpose of the
 * picture transposes B. Row index i is vertical frequency, j horizontal.
 */
function transformDct(b: Float32Array, name: DihedralName): Float32Array {
  const out = new Float32Array(256);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 16; j++) {
      const flipI = i % 2 === 0 ? -1 : 1; // sign for mirroring along the axis of index i
      const flipJ = j % 2 === 0 ? -1 : 1;
      const v = b[i * 16 + j]!;
      const t = b[j * 16 + i]!; // transposed coefficient: out[i][j] takes B[j][i]
      let r: number;
      switch (name) {
        case "original":
          r = v;
          break;
        case "flipX": // mirror about the horizontal axis (top↔bottom): vertical frequency i
          r = flipI * v;
          break;
        case "flipY": // mirror about the vertical axis (left↔right): horizontal frequency j
          r = flipJ * v;
          break;
        case "rotate180":
          r = flipI * flipJ * v;
          break;
        case "flipPlus1": // transpose, pixel (x, y) ↔ (y, x)
          r = t;
          break;
        case "flipMinus1": // transpose about the anti-diagonal = transpose + rotate 180°
          r = flipI * flipJ * t;
          break;
        case "rotate90": // 90° counter-clockwise: transpose, then top↔bottom
          r = flipI * t;
          break;
        case "rotate270": // 90° clockwise: transpose, then left↔right
          r = flipJ * t;
          break;
      }
      out[i * 16 + j] = r;
    }
  }
  return out;
}

/** PDQ hash of the image and of its seven rotations/mirrors, each thresholded at its own median. */
export function pdqHashDihedral(pixels: PixelBuffer): Result<PdqDihedralResult, PdqImageError> {
  const s = computeSpectrum(pixels);
  if (!s.ok) return s;
  const dct = s.value.dct ?? ZERO_DCT;
  const variants = {} as Record<DihedralName, PdqHash>;
  for (const name of DIHEDRAL_NAMES) variants[name] = thresholdDct(transformDct(dct, name));
  return { ok: true, value: { quality: s.value.quality, variants } };
}
