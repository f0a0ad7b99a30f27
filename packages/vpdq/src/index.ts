// @eusn/vpdq: vPDQ, the video form of PDQ (ThreatExchange's vpdq): which frames are hashed, each
// frame's PDQ at full resolution, the reference's text format and its video comparison. Pure
// TypeScript with no Node APIs; decoding a video file with FFmpeg is in "@eusn/vpdq/ffmpeg".
export {
  formatFeature,
  formatVpdq,
  frameModulus,
  frameTimestamp,
  parseVpdq,
  toFixedLikeC,
  type VpdqFeature,
  type VpdqParseError,
} from "./features.ts";
export { hashFrame, type VpdqFrameError } from "./hash.ts";
export {
  compareVpdq,
  DEFAULT_DISTANCE,
  DEFAULT_QUALITY,
  matchedRanges,
  matchVpdq,
  type VpdqComparison,
  type VpdqMatch,
  type VpdqMatchOptions,
} from "./match.ts";
