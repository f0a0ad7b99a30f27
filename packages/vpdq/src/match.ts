// The reference's comparison of two videos (ThreatExchange vpdq README, "Comparison (Matching)
// Algorithm", as python-threatexchange implements it): frames below the quality tolerance are
// dropped on both sides, duplicates removed (an unordered bag of unique hashes), then the share
// of each side's frames that lie within Hamming distance D of some frame of the other side.
import { hammingDistanceBits, hexToBits, type PdqBits, type PdqHex } from "@eusn/pdq";

/** python-threatexchange's defaults, which Hasher-Matcher-Actioner uses. */
export const DEFAULT_DISTANCE = 31;
export const DEFAULT_QUALITY = 50;

export interface VpdqMatchOptions {
  /** A frame matches when its Hamming distance to some frame of the other video is ≤ this. */
  readonly distance?: number;
  /** Frames with quality below this are left out on both sides. */
  readonly quality?: number;
}

export interface VpdqMatch {
  /** Percentage (0–100) of the query's unique good frames within `distance` of a target frame. */
  readonly queryMatchPercent: number;
  /** Percentage of the target's unique good frames within `distance` of a query frame. */
  readonly targetMatchPercent: number;
  /** How many unique frames of quality ≥ `quality` each side had (the denominators). */
  readonly queryFrames: number;
  readonly targetFrames: number;
}

interface Frame {
  readonly quality: number;
  readonly hash: PdqHex;
}

/**
 * Quality filter first, then unique hashes (first occurrence kept): a hash that occurs with a
 * low and a high quality counts once, because one of its frames passed.
 */
function usableFrames(frames: readonly Frame[], quality: number): PdqBits[] {
  const seen = new Set<string>();
  const out: PdqBits[] = [];
  for (const f of frames) {
    if (f.quality < quality || seen.has(f.hash)) continue;
    seen.add(f.hash);
    out.push(hexToBits(f.hash));
  }
  return out;
}

function matchedCount(from: readonly PdqBits[], to: readonly PdqBits[], distance: number): number {
  let n = 0;
  for (const a of from) {
    for (const b of to) {
      if (hammingDistanceBits(a, b) <= distance) {
        n++;
        break;
      }
    }
  }
  return n;
}

/**
 * Brute-force comparison, O(|Q|·|T|). When either side has no frame left after the quality
 * filter, both percentages are 0 (as in the reference).
 */
export function matchVpdq(
  query: readonly Frame[],
  target: readonly Frame[],
  options: VpdqMatchOptions = {},
): VpdqMatch {
  const distance = options.distance ?? DEFAULT_DISTANCE;
  const quality = options.quality ?? DEFAULT_QUALITY;
  const q = usableFrames(query, quality);
  const t = usableFrames(target, quality);
  if (q.length === 0 || t.length === 0) {
    return { queryMatchPercent: 0, targetMatchPercent: 0, queryFrames: q.length, targetFrames: t.length };
  }
  return {
    queryMatchPercent: (matchedCount(q, t, distance) * 100) / q.length,
    targetMatchPercent: (matchedCount(t, q, distance) * 100) / t.length,
    queryFrames: q.length,
    targetFrames: t.length,
  };
}
