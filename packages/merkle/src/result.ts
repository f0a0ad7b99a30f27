// Result types shared by the package: expected failures (a proof that does not verify, a bad
// checkpoint, an index past the end of the log) are values, not exceptions (STYLE.md).

/** The outcome of a check: either it holds, or it does not and `reason` says why (for logs and UIs). */
export type VerifyResult = { ok: true } | { ok: false; reason: string };

/** A computed value, or the reason it could not be computed from the given arguments. */
export type Result<T> = { ok: true; value: T } | { ok: false; reason: string };

export function fail(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}
