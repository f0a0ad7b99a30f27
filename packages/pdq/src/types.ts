// Public types of @eusn/pdq: the decoded pixel buffer the hasher accepts, the result shape
// (expected failures are returned, never thrown) and the 256-bit hash forms.

/**
 * A decoded image, row-major, top row first, channels interleaved.
 *
 * - `channels` 1 = grey, 2 = grey + alpha, 3 = RGB, 4 = RGBA (what a canvas `ImageData` holds).
 * - `data` holds 8-bit samples (`Uint8Array` / `Uint8ClampedArray`) or 16-bit samples
 *   (`Uint16Array`, scaled to 8 bits by round(v / 257) before anything else).
 * - Alpha is straight (not premultiplied) and is flattened onto white; see the README.
 */
export interface PixelBuffer {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 2 | 3 | 4;
  readonly data: Uint8Array | Uint8ClampedArray | Uint16Array;
}

export interface PdqHashOptions {
  /**
   * Resample an image larger than 512 px on a side to 512×512 first (default true), as the
   * reference still-image hasher does. The reference video hasher (vPDQ) hashes each frame at its
   * own size instead: `false`. The two differ by a few bits on frames over 512 px.
   */
  readonly resample?: boolean;
}

/** Expected failures come back as values so callers in a Worker or a browser never need try/catch. */
export type Result<T, E> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: E };

/** A validated PDQ hash as 64 lowercase hex characters (the wire and CSV form). */
export type PdqHex = string & { readonly __brand: "PdqHex" };

/**
 * The same 256 bits as eight 32-bit words in hex order: `words[0]` is hex characters 0–7 (the most
 * significant bits), `words[7]` is characters 56–63. Hash bit k (bit 0 = least significant, i.e.
 * DCT coefficient B[k >> 4][k & 15]) is bit `k & 31` of `words[7 - (k >> 5)]`.
 */
export type PdqBits = Uint32Array;

export interface PdqHash {
  readonly hex: PdqHex;
  readonly bits: PdqBits;
}

export interface PdqHashResult extends PdqHash {
  /** 0–100; below 50 the hash is not reliable (too little gradient in the image). */
  readonly quality: number;
}

/** The eight dihedral variants, named and ordered as the reference tool prints them. */
export const DIHEDRAL_NAMES = [
  "original",
  "rotate90",
  "rotate180",
  "rotate270",
  "flipX",
  "flipY",
  "flipPlus1",
  "flipMinus1",
] as const;
export type DihedralName = (typeof DIHEDRAL_NAMES)[number];

export interface PdqDihedralResult {
  readonly quality: number;
  readonly variants: Readonly<Record<DihedralName, PdqHash>>;
}

export type PdqImageErrorCode = "invalid_dimensions" | "invalid_channels" | "data_length_mismatch";

export interface PdqImageError {
  readonly code: PdqImageErrorCode;
  readonly message: string;
}

export type PdqHexErrorCode = "not_a_string" | "wrong_length" | "uppercase" | "not_hex";

export interface PdqHexError {
  readonly code: PdqHexErrorCode;
  readonly message: string;
}
