// RFC 6962 §2.1 hashing: the leaf and interior-node hashes with their domain-separation prefixes,
// the empty-tree hash and the split rule. SHA-256 through WebCrypto only (Worker, Node, browser).

/** SHA-256 output size; every leaf hash, node hash and root in the log has this length. */
export const HASH_SIZE = 32;

/** SHA-256("") — RFC 6962 §2.1: "The hash of an empty list is the hash of an empty string". */
export const EMPTY_ROOT_HEX = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

async function sha256(data: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", data));
}

/** SHA-256 of `prefix || parts…`, built in one fresh buffer (also what WebCrypto's types want). */
function prefixed(prefix: number, ...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  let length = 1;
  for (const p of parts) length += p.length;
  const buf = new Uint8Array(length);
  buf[0] = prefix;
  let at = 1;
  for (const p of parts) {
    buf.set(p, at);
    at += p.length;
  }
  return buf;
}

/** The Merkle Tree Hash of an empty tree: SHA-256 of the empty string (RFC 6962 §2.1). */
export function emptyRoot(): Promise<Uint8Array> {
  return sha256(new Uint8Array(0));
}

/**
 * Leaf hash, SHA-256(0x00 || leaf) (RFC 6962 §2.1). The 0x00 prefix (vs 0x01 for interior
 * nodes) is the second-preimage defence: no leaf can be passed off as an interior node.
 */
export function hashLeaf(leaf: Uint8Array): Promise<Uint8Array> {
  return sha256(prefixed(0x00, leaf));
}

/**
 * The prefix of a withheld leaf: EUSN logs records it never serves to peers (node-local kinds)
 * not by their bytes but by a commitment to their kind and digest, so the log itself says a
 * record is node-local. A compact JWS never contains `/` or `|`, so no record leaf can equal a
 * withheld leaf, and no withheld leaf can pass for a record's.
 */
export const WITHHELD_LEAF_PREFIX = "eusn-withheld/v1|";

/**
 * The leaf bytes of a withheld record: `"eusn-withheld/v1|" ‖ kind ‖ SHA-256(record)`, the
 * digest being the last 32 bytes (so the kind, which comes before, is unambiguous).
 */
export function withheldLeaf(kind: string, recordSha256: Uint8Array): Uint8Array {
  if (recordSha256.length !== HASH_SIZE) throw new RangeError("a record digest is 32 bytes");
  const head = new TextEncoder().encode(`${WITHHELD_LEAF_PREFIX}${kind}`);
  const out = new Uint8Array(head.length + HASH_SIZE);
  out.set(head);
  out.set(recordSha256, head.length);
  return out;
}

/** The leaf hash of a withheld record: SHA-256(0x00 ‖ withheldLeaf(kind, digest)). */
export function withheldLeafHash(kind: string, recordSha256: Uint8Array): Promise<Uint8Array> {
  return hashLeaf(withheldLeaf(kind, recordSha256));
}

/** Interior node hash, SHA-256(0x01 || left || right) (RFC 6962 §2.1). */
export function hashChildren(left: Uint8Array, right: Uint8Array): Promise<Uint8Array> {
  return sha256(prefixed(0x01, left, right));
}

/**
 * The split point k of RFC 6962 §2.1: "the largest power of two smaller than n" (n > 1). Not the
 * midpoint — a midpoint split builds a different, non-interoperable tree for most sizes.
 * Arithmetic, not bit shifts: JS shifts are 32-bit, log sizes may exceed 2^31.
 */
export function splitPoint(n: number): number {
  if (!Number.isSafeInteger(n) || n < 2) throw new RangeError(`splitPoint needs an integer n >= 2, got ${n}`);
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** True for a safe integer >= 0: the only tree sizes and leaf indices this package accepts. */
export function isCount(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}
