// One video frame → one vPDQ feature: PDQ of the frame at its own size (the reference video
// hasher never applies the still-image hasher's 512×512 resample), with its frame number,
// quality and float32 timestamp.
import { MIN_SIDE, type PixelBuffer, pdqHash, type Result } from "@eusn/pdq";
import { frameTimestamp, type VpdqFeature } from "./features.ts";

export interface VpdqFrameError {
  readonly code: "too_small" | "invalid_pixels";
  readonly message: string;
}

/**
 * Hashes one decoded frame (RGB, or any PixelBuffer layout @eusn/pdq accepts). A frame under 5 px
 * on a side is an error, as in the reference, which refuses the whole video then; the still-image
 * hasher would give it the all-zero hash instead.
 */
export function hashFrame(
  frameNumber: number,
  frameRate: number,
  pixels: PixelBuffer,
): Result<VpdqFeature, VpdqFrameError> {
  if (pixels.width < MIN_SIDE || pixels.height < MIN_SIDE) {
    return {
      ok: false,
      error: {
        code: "too_small",
        message: `frame ${frameNumber} is ${pixels.width}×${pixels.height}; PDQ needs at least ${MIN_SIDE}×${MIN_SIDE}`,
      },
    };
  }
  const r = pdqHash(pixels, { resample: false });
  if (!r.ok) return { ok: false, error: { code: "invalid_pixels", message: r.error.message } };
  return {
    ok: true,
    value: {
      frameNumber,
      quality: r.value.quality,
      hash: r.value.hex,
      timestamp: frameTimestamp(frameNumber, frameRate),
    },
  };
}
