// @eusn/pdq: pure TypeScript PDQ perceptual hashing on decoded pixel buffers (Node, Workers and
// browsers alike; no decoding and no Node APIs here), plus hash validation and Hamming distance.
export { MIN_SIDE } from "./core.ts";
export { pdqHash, pdqHashDihedral, thresholdDct } from "./hash.ts";
export { bitsToHex, hammingDistance, hammingDistanceBits, hexToBits, isPdqHex, parsePdqHex } from "./hex.ts";
export { MAX_SIDE } from "./luma.ts";
export {
  DIHEDRAL_NAMES,
  type DihedralName,
  type PdqBits,
  type PdqDihedralResult,
  type PdqHash,
  type PdqHashOptions,
  type PdqHashResult,
  type PdqHex,
  type PdqHexError,
  type PdqHexErrorCode,
  type PdqImageError,
  type PdqImageErrorCode,
  type PixelBuffer,
  type Result,
} from "./types.ts";
