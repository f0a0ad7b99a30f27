// Videos as `eusn submit --type vpdq` and `eusn match --type vpdq` read them: a vPDQ text file
// (what `eusn hash --format vpdq` prints or writes, or the reference's own output) or a video file,
// hashed here first with FFmpeg. Either way the node receives frame hashes only.

import type { VideoFrames } from "@eusn/client";
import { toFixedLikeC, type VpdqFeature } from "@eusn/vpdq";
import { loadFeatures } from "./commands/video.ts";

export type LoadedVideo =
  | { readonly ok: true; readonly video: VideoFrames; readonly hashed: boolean }
  | { readonly ok: false; readonly file: string; readonly reason: string };

/**
 * The frames of `file` as the node takes them: timestamps with the 3 decimals the reference's
 * text format prints (so the node's digest of them is the SHA-256 of that text). The duration is
 * the container's for a video file; a text file does not say it, so the last frame's timestamp
 * stands for it.
 */
export async function loadVideo(file: string, secondsPerHash: number): Promise<LoadedVideo> {
  const got = await loadFeatures(file, secondsPerHash);
  if (!got.ok) return got;
  const frames = got.features.map(
    (f: VpdqFeature) => [f.frameNumber, f.quality, f.hash, Number(toFixedLikeC(f.timestamp, 3))] as const,
  );
  const last = frames[frames.length - 1]?.[3] ?? 0;
  const duration = got.duration ?? last;
  return {
    ok: true,
    hashed: got.duration !== undefined,
    video: {
      frames: frames.map((f) => [f[0], f[1], f[2], f[3]]),
      durationSeconds: Math.max(duration, last),
    },
  };
}
