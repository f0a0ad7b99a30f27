// @eusn/match: exact in-memory matching of PDQ hashes (Hamming distance) and MD5/SHA-256 (equality),
// updated incrementally. Binding-free: the Worker holds an instance; nothing here touches D1.

export { bruteForceMatch, type PackedEntries, packEntries } from "./brute-force.ts";
export { type ExactEntry, type ExactHashType, ExactIndex, type ExactQuery } from "./exact-index.ts";
export { PDQ_HEX_LENGTH, PDQ_WORDS, pdqHexToWords, wordsToPdqHex } from "./hex.ts";
export { MAX_ID_BYTES } from "./ids.ts";
export { type HashType, type IndexEntry, MatchIndex, type MatchIndexOptions } from "./match-index.ts";
export {
  BANDS,
  compareMatches,
  DEFAULT_THRESHOLD,
  MAX_SLOTS,
  MAX_THRESHOLD,
  type MatchStrategy,
  type PdqEntry,
  PdqIndex,
  type PdqIndexOptions,
  type PdqIndexStats,
  type PdqMatch,
  type PdqQueryOptions,
  type PdqQueryStats,
} from "./pdq-index.ts";
export { popcount32 } from "./popcount.ts";
export { fail, type MatchError, type MatchErrorCode, ok, type Result } from "./result.ts";
export { scanKernelBytes } from "./wasm-scan.ts";
