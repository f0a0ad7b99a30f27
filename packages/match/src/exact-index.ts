// Exact-hash (MD5 / SHA-256) lookup: equality, not distance, so a Map keyed by "type:value" is the
// whole index. Values are normalised to lower case so a hash copied in upper case still matches.

import { IdTable } from "./ids.ts";
import { fail, ok, type Result } from "./result.ts";

export type ExactHashType = "md5" | "sha256";

const HEX_LENGTH: Readonly<Record<ExactHashType, number>> = { md5: 32, sha256: 64 };
const HEX = /^[0-9a-f]+$/;

// V8 cost of one entry for memoryBytes(): ~165 B measured for MD5 entries (key string, two Map
// entries, the id array); rounded up for SHA-256 keys and id strings the index alone holds.
const BYTES_PER_ENTRY_ESTIMATE = 200;

export interface ExactEntry {
  id: string;
  type: ExactHashType;
  value: string;
}

export interface ExactQuery {
  type: ExactHashType;
  value: string;
}

export function isExactHashType(t: string): t is ExactHashType {
  return t === "md5" || t === "sha256";
}

/** "type:value" with the value lower-cased; a failure when the value is not that type's hex. */
export function exactKey(type: string, value: string): Result<string> {
  if (!isExactHashType(type)) return fail("invalid_hash_type", `unknown exact hash type "${type}"`);
  const v = value.toLowerCase();
  if (v.length !== HEX_LENGTH[type] || !HEX.test(v)) {
    return fail("invalid_hash", `${type} must be ${HEX_LENGTH[type]} hex characters`);
  }
  return ok(`${type}:${v}`);
}

export class ExactIndex {
  /** "type:value" -> ids with that hash (several records may carry the same file). */
  private readonly byKey = new Map<string, string[]>();
  private readonly keyOf = new Map<string, string>();

  get size(): number {
    return this.keyOf.size;
  }

  has(id: string): boolean {
    return this.keyOf.has(id);
  }

  /** Adds `id`, or moves it to a new hash; "unchanged" when it already had this one. */
  add(id: string, type: string, value: string): Result<"added" | "replaced" | "unchanged"> {
    if (!IdTable.isValid(id)) return fail("invalid_id", "entry id must be 1..256 bytes of UTF-8");
    const key = exactKey(type, value);
    if (!key.ok) return key;
    const previous = this.keyOf.get(id);
    if (previous === key.value) return ok("unchanged");
    if (previous !== undefined) this.unlink(id, previous);
    this.keyOf.set(id, key.value);
    const ids = this.byKey.get(key.value);
    if (ids === undefined) this.byKey.set(key.value, [id]);
    else ids.push(id);
    return ok(previous === undefined ? "added" : "replaced");
  }

  /** Removes `id`; false when it was not present. */
  remove(id: string): boolean {
    const key = this.keyOf.get(id);
    if (key === undefined) return false;
    this.keyOf.delete(id);
    this.unlink(id, key);
    return true;
  }

  /** Ids whose hash equals each query, per query in input order, each list sorted. */
  lookup(queries: readonly ExactQuery[]): Result<string[][]> {
    const out: string[][] = [];
    for (let i = 0; i < queries.length; i++) {
      const q = queries[i]!;
      const key = exactKey(q.type, q.value);
      if (!key.ok) return fail(key.error.code, key.error.message, i);
      out.push([...(this.byKey.get(key.value) ?? [])].sort());
    }
    return ok(out);
  }

  /** Every entry as (id, type, value), for serializing the index. */
  *entries(): Generator<ExactEntry> {
    for (const [id, key] of this.keyOf) {
      const at = key.indexOf(":");
      yield { id, type: key.slice(0, at) as ExactHashType, value: key.slice(at + 1) };
    }
  }

  /** An estimate: V8 does not expose the size of a Map, so this is entries x a measured average. */
  memoryBytes(): number {
    return this.keyOf.size * BYTES_PER_ENTRY_ESTIMATE;
  }

  private unlink(id: string, key: string): void {
    const ids = this.byKey.get(key);
    if (ids === undefined) return;
    const at = ids.indexOf(id);
    if (at >= 0) ids.splice(at, 1);
    if (ids.length === 0) this.byKey.delete(key);
  }
}
