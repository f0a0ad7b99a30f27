// The entries by fingerprint (schema/submissions.ts `fingerprint_keys`): every lookup of a
// submission by its hash goes through here, and the merge of the table's recent level lives here.
//
// Why two levels: hash values arrive in random order, so a B-tree keyed by them takes a page
// write per row a batch adds wherever the row lands, and once the tree has far more pages than a
// batch has rows that is ~1,000 pages for a batch of 1,000 (most of an ingest batch's database
// time at a million entries). A new key goes into level 1, which stays small, so a batch dirties
// only its few dozen pages; level 1 is merged into level 0 once it holds many thousand keys, in
// sorted batches of a few thousand (each the least keys left), which write each page of level 0
// they touch about once. Lookups ask both levels.
import { type SQL, sql } from "drizzle-orm";

/** Characters of a fingerprint (`${signalType}:${value}`) that make its key. */
export const KEY_CHARS = 16;

/**
 * Level 1 is merged once it holds this many keys. A batch of 1,000 dirties at most as many pages
 * of level 1 as level 1 has (about 160 keys a page), and a merge touches at most every page of
 * level 0 once, so the page writes per key are about L1/160/1,000 + pages(L0)/L1: at a million
 * entries (~6,300 pages) least near 32,000 keys.
 */
export const MERGE_AT = 32_768;

/**
 * The submissions (alias `s`) whose fingerprint is one of the JSON array `fingerprints`: through
 * both levels of the key table, then the whole fingerprint compared on the row.
 */
export function ofFingerprintsSql(s: string, fingerprints: string): SQL {
  return sql`${sql.raw(s)}.match_key IN (SELECT match_key FROM fingerprint_keys WHERE level IN (0, 1)
      AND key IN (SELECT substr(value, 1, ${KEY_CHARS}) FROM json_each(${fingerprints})))
    AND ${sql.raw(s)}.fingerprint IN (SELECT value FROM json_each(${fingerprints}))`;
}

/** The same for one fingerprint given as SQL (a column of an outer query, or a parameter). */
export function ofFingerprintSql(s: string, fingerprint: SQL | string): SQL {
  return sql`${sql.raw(s)}.match_key IN (SELECT match_key FROM fingerprint_keys WHERE level IN (0, 1)
      AND key = substr(${fingerprint}, 1, ${KEY_CHARS}))
    AND ${sql.raw(s)}.fingerprint = ${fingerprint}`;
}

/** The same in raw SQL text, for statements written by hand: `fingerprint` is an SQL expression. */
export function ofFingerprintText(s: string, fingerprint: string): string {
  return `${s}.match_key IN (SELECT match_key FROM fingerprint_keys WHERE level IN (0, 1)
      AND key = substr(${fingerprint}, 1, ${KEY_CHARS})) AND ${s}.fingerprint = ${fingerprint}`;
}

/**
 * The submissions whose fingerprint starts with `prefix` (`${signalType}:${hex}`): a range of keys
 * in both levels (the prefix cut to a key's length), then the whole prefix on the row.
 */
export function withFingerprintPrefixSql(s: string, prefix: string): SQL {
  const head = prefix.slice(0, KEY_CHARS);
  return sql`${sql.raw(s)}.match_key IN (SELECT match_key FROM fingerprint_keys WHERE level IN (0, 1)
      AND key >= ${head} AND key < ${prefixEnd(head)})
    AND ${sql.raw(s)}.fingerprint >= ${prefix} AND ${sql.raw(s)}.fingerprint < ${prefixEnd(prefix)}`;
}

/** An upper bound of every string that starts with `prefix` (above every character used here). */
export const prefixEnd = (prefix: string) => `${prefix}\uffff`;

/**
 * Keys moved per batch of a merge. Each batch takes the least keys of level 1, so the batches of
 * one merge touch disjoint ranges of level 0 and the merge writes about the pages one batch of
 * everything would (in SQLite alone at a million entries, 8 batches of 4,096 cost 10–15 % more
 * than one of 32,768), while every other read and write of the database waits for one batch at
 * a time instead of the whole merge (D1 runs one statement batch at a time).
 */
export const MERGE_BATCH = 4096;

const FIRST_KEYS =
  "SELECT key, match_key FROM fingerprint_keys WHERE level = 1 ORDER BY key, match_key LIMIT ?1";

/**
 * Merges level 1 into level 0 in batches of `batch` keys, each one transaction: its keys copied
 * in key order and removed from level 1 together, so a batch that fails leaves its keys in level
 * 1, whole, and two merges at once cannot copy a key twice (the second finds them gone). Answers
 * how many keys it merged.
 */
export async function mergeFingerprintKeys(d1: D1Database, batch = MERGE_BATCH): Promise<number> {
  let merged = 0;
  for (;;) {
    const [, removed] = await d1.batch([
      d1
        .prepare(
          `INSERT INTO fingerprint_keys (level, key, match_key) SELECT 0, key, match_key FROM (${FIRST_KEYS})`,
        )
        .bind(batch),
      d1
        .prepare(`DELETE FROM fingerprint_keys WHERE level = 1 AND (key, match_key) IN (${FIRST_KEYS})`)
        .bind(batch),
    ]);
    const n = removed?.meta.changes ?? 0;
    merged += n;
    if (n < batch) return merged;
  }
}

/** Merges level 1 when it holds MERGE_AT keys or more (after writes that add entries). */
export async function mergeFingerprintKeysIfDue(d1: D1Database, at = MERGE_AT): Promise<number> {
  const due = await d1
    .prepare("SELECT count(*) AS n FROM (SELECT 1 FROM fingerprint_keys WHERE level = 1 LIMIT ?1)")
    .bind(at)
    .first<number>("n");
  return (due ?? 0) >= at ? mergeFingerprintKeys(d1) : 0;
}
