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
 * low and a high quality counts once, because one of its frames passed. Also gives, for every
 * input frame, the position of its hash among the unique ones (-1: below the quality).
 */
function usableFrames(frames: readonly Frame[], quality: number): { bits: PdqBits[]; slot: Int32Array } {
  const seen = new Map<string, number>();
  const bits: PdqBits[] = [];
  const slot = new Int32Array(frames.length).fill(-1);
  frames.forEach((f, i) => {
    if (f.quality < quality) return;
    let k = seen.get(f.hash);
    if (k === undefined) {
      k = bits.length;
      seen.set(f.hash, k);
      bits.push(hexToBits(f.hash));
    }
    slot[i] = k;
  });
  return { bits, slot };
}

/** For each of `from`, whether some of `to` lies within `distance`. */
function matchedFlags(from: readonly PdqBits[], to: readonly PdqBits[], distance: number): Uint8Array {
  const out = new Uint8Array(from.length);
  from.forEach((a, i) => {
    for (const b of to) {
      if (hammingDistanceBits(a, b) <= distance) {
        out[i] = 1;
        break;
      }
    }
  });
  return out;
}

/** `matchVpdq`'s answer plus which input frames matched, on each side. */
export interface VpdqComparison extends VpdqMatch {
  /** Per query frame as given: true when it counted as matched (a duplicate of a matched hash too). */
  readonly queryMatched: readonly boolean[];
  readonly targetMatched: readonly boolean[];
}

const count = (flags: Uint8Array) => flags.reduce((n, f) => n + f, 0);

/**
 * Brute-force comparison, O(|Q|·|T|), with the matched frames of each side. When either side has
 * no frame left after the quality filter, both percentages are 0 (as in the reference).
 */
export function compareVpdq(
  query: readonly Frame[],
  target: readonly Frame[],
  options: VpdqMatchOptions = {},
): VpdqComparison {
  const distance = options.distance ?? DEFAULT_DISTANCE;
  const quality = options.quality ?? DEFAULT_QUALITY;
  const q = usableFrames(query, quality);
  const t = usableFrames(target, quality);
  const none = { queryFrames: q.bits.length, targetFrames: t.bits.length };
  if (q.bits.length === 0 || t.bits.length === 0) {
    return {
      queryMatchPercent: 0,
      targetMatchPercent: 0,
      ...none,
      queryMatched: query.map(() => false),
      targetMatched: target.map(() => false),
    };
  }
  const qf = matchedFlags(q.bits, t.bits, distance);
  const tf = matchedFlags(t.bits, q.bits, distance);
  return {
    queryMatchPercent: (count(qf) * 100) / q.bits.length,
    targetMatchPercent: (count(tf) * 100) / t.bits.length,
    ...none,
    queryMatched: Array.from(q.slot, (k) => k >= 0 && qf[k] === 1),
    targetMatched: Array.from(t.slot, (k) => k >= 0 && tf[k] === 1),
  };
}

/** The reference's comparison of two videos (see `compareVpdq` for the matched frames too). */
export function matchVpdq(
  query: readonly Frame[],
  target: readonly Frame[],
  options: VpdqMatchOptions = {},
): VpdqMatch {
  const { queryMatchPercent, targetMatchPercent, queryFrames, targetFrames } = compareVpdq(
    query,
    target,
    options,
  );
  return { queryMatchPercent, targetMatchPercent, queryFrames, targetFrames };
}

/**
 * Runs of consecutive matched frames as time ranges: from the first matched frame's timestamp to
 * the last one's. A frame that did not match (or was left out for its quality) ends a run.
 */
export function matchedRanges(
  timestamps: readonly number[],
  matched: readonly boolean[],
): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  let open: { start: number; end: number } | null = null;
  matched.forEach((m, i) => {
    const t = timestamps[i]!;
    if (m) {
      if (open) open.end = t;
      else {
        open = { start: t, end: t };
        out.push(open);
      }
    } else open = null;
  });
  return out;
}
