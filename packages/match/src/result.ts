// Result type for expected failures (bad input, out-of-range threshold): callers branch on `ok` instead
// of catching, per the project style; only the HTTP layer turns these into problem responses.

/** Stable codes for every expected failure in @eusn/match. */
export type MatchErrorCode =
  | "invalid_threshold"
  | "invalid_hash"
  | "invalid_hash_type"
  | "invalid_id"
  | "invalid_seq"
  | "capacity_exceeded";

export interface MatchError {
  code: MatchErrorCode;
  message: string;
  /** Position in the input batch of the offending item, when the input was a batch. */
  index?: number;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: MatchError };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail<T = never>(code: MatchErrorCode, message: string, index?: number): Result<T> {
  return { ok: false, error: index === undefined ? { code, message } : { code, message, index } };
}
