// Image file decoding for the CLI: bytes → the PixelBuffer that @eusn/pdq hashes, with sharp
// (libvips; JPEG through libjpeg-turbo's default IDCT, the decoder the reference uses). Kept here,
// not in @eusn/pdq, so the hasher stays free of native code and runs in Workers and browsers.
import type { PixelBuffer, Result } from "@eusn/pdq";
import type { Sharp, SharpOptions } from "sharp";

export interface DecodedImage {
  readonly pixels: PixelBuffer;
  /** Container format as sharp names it (jpeg, png, webp, gif, tiff, …). */
  readonly format: string;
}

export type DecodeErrorCode = "unsupported_format" | "too_large" | "corrupt";

export interface DecodeError {
  readonly code: DecodeErrorCode;
  readonly message: string;
}

const OPTIONS: SharpOptions = {
  // The reference hashes the stored samples; colour-managing with an embedded profile would move
  // bits against hash lists made with it.
  ignoreIcc: true,
  // Truncated or corrupt pixel data is reported rather than hashed as a half-grey picture;
  // warnings (e.g. extraneous bytes before a marker) are common in the wild and tolerated.
  failOn: "error",
  // Only the first frame of an animation or multi-page file; EXIF orientation is not applied
  // (the reference ignores it; dihedral hashes cover rotated copies).
  pages: 1,
  autoOrient: false,
};

let sharpModule: Promise<(input: Uint8Array, options: SharpOptions) => Sharp> | undefined;

/** sharp is loaded on first use so CLI commands that never decode do not pay for the native module. */
function loadSharp(): Promise<(input: Uint8Array, options: SharpOptions) => Sharp> {
  sharpModule ??= import("sharp").then((m) => m.default);
  return sharpModule;
}

function classify(err: unknown): DecodeError {
  const message = err instanceof Error ? err.message : String(err);
  if (/unsupported image format/i.test(message)) {
    return { code: "unsupported_format", message: "unsupported or unrecognised image format" };
  }
  if (/pixel limit/i.test(message)) return { code: "too_large", message };
  return { code: "corrupt", message: `cannot decode: ${message}` };
}

/**
 * Decodes an image file's bytes. 8-bit images come out as sRGB (grey and palette expanded to RGB,
 * alpha kept as a fourth channel for @eusn/pdq to flatten); 16-bit images come out as 16-bit RGB(A)
 * so the 16→8 bit scaling is the one defined in @eusn/pdq. CMYK is converted to sRGB by libvips.
 */
export async function decodeImage(bytes: Uint8Array): Promise<Result<DecodedImage, DecodeError>> {
  try {
    const sharp = await loadSharp();
    const image = sharp(bytes, OPTIONS);
    const meta = await image.metadata();
    const format = meta.format ?? "unknown";
    if (meta.depth === "ushort") {
      const { data, info } = await image
        .toColourspace("rgb16")
        .raw({ depth: "ushort" })
        .toBuffer({ resolveWithObject: true });
      // A Uint16Array view needs 2-byte alignment; copy in the rare case the Buffer is unaligned.
      const aligned = data.byteOffset % 2 === 0 ? data : Uint8Array.prototype.slice.call(data);
      const samples = new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.length / 2);
      return {
        ok: true,
        value: { format, pixels: pixelBuffer(info.width, info.height, info.channels, samples) },
      };
    }
    const { data, info } = await image.toColourspace("srgb").raw().toBuffer({ resolveWithObject: true });
    const samples = new Uint8Array(data.buffer, data.byteOffset, data.length);
    return {
      ok: true,
      value: { format, pixels: pixelBuffer(info.width, info.height, info.channels, samples) },
    };
  } catch (err) {
    return { ok: false, error: classify(err) };
  }
}

function pixelBuffer(
  width: number,
  height: number,
  channels: number,
  data: Uint8Array | Uint16Array,
): PixelBuffer {
  // sharp's raw output has 1–4 channels; @eusn/pdq validates the rest and reports anything odd.
  return { width, height, channels: channels as PixelBuffer["channels"], data };
}
