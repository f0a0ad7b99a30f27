// Roots and proofs for a large log kept in external storage (D1 on the server), read as
// *perfect subtrees*: node (level, index) is the Merkle Tree Hash of leaves
// [index·2^level, (index+1)·2^level); level 0 is the leaf hashes. Such a node never changes once
// its last leaf is appended, so the server stores each one when it closes (nodesClosedByAppend)
// and every root or proof is assembled from O(log n) of them, never by rehashing the log.
//
// Why this works: in RFC 6962's tree every left child is a perfect, aligned subtree, and any
// other subtree [s, e) hashes as its perfect pieces by descending power of two, folded right to
// left (MTH splits at the largest power of two below the size, i.e. the top bit). So each range
// a proof needs is a handful of stored nodes. Proofs are planned as ranges first (pure), so a
// server can fetch every node a proof needs in one query (NodeReader.getNodes).
import { emptyRoot, HASH_SIZE, hashChildren, isCount, splitPoint } from "./hash.ts";
import { fail, type Result } from "./result.ts";

/** A perfect subtree: leaves [index·2^level, (index+1)·2^level). */
export interface NodeAddress {
  level: number;
  index: number;
}

/** A perfect subtree and its hash, as the server stores it. */
export interface PerfectNode extends NodeAddress {
  hash: Uint8Array;
}

/** A half-open leaf range [start, end): one node of the (possibly unbalanced) RFC 6962 tree. */
export interface LeafRange {
  start: number;
  end: number;
}

/**
 * Read access to perfect-subtree hashes. Must return the 32-byte hash of a node that exists
 * (every node of a tree of the size asked about); a missing node is a storage fault, so the
 * reader should throw (it is not an expected outcome of a well-formed request).
 */
export interface NodeReader {
  getNode(level: number, index: number): Promise<Uint8Array>;
  /**
   * Optional batch read, same order as `nodes`. When present it is used instead of one getNode
   * per node: on D1 that is one query per proof instead of ~2·log2(n) round trips.
   */
  getNodes?(nodes: readonly NodeAddress[]): Promise<readonly Uint8Array[]>;
}

function floorLog2(n: number): number {
  let level = 0;
  while (2 ** (level + 1) <= n) level++;
  return level;
}

/**
 * The perfect subtrees whose fold is the Merkle Tree Hash of `range`, largest (leftmost) first.
 * Valid for every range that occurs in RFC 6962's tree (they are aligned); throws RangeError for
 * a range that does not (that is a bug in the caller, not an expected failure).
 */
export function perfectNodesOf(range: LeafRange): NodeAddress[] {
  const { start, end } = range;
  if (!isCount(start) || !isCount(end) || end <= start) {
    throw new RangeError(`not a non-empty leaf range: [${start}, ${end})`);
  }
  const out: NodeAddress[] = [];
  let at = start;
  for (let level = floorLog2(end - start); at < end; level--) {
    const width = 2 ** level;
    if (end - at < width) continue;
    if (at % width !== 0) throw new RangeError(`[${start}, ${end}) is not a subtree of an RFC 6962 tree`);
    out.push({ level, index: at / width });
    at += width;
  }
  return out;
}

/**
 * RFC 6962 §2.1.1 PATH(m, D[n]) as leaf ranges: the subtrees whose hashes form the audit path of
 * leaf `index` in a tree of `size` leaves, leaf side first (the order the verifier consumes).
 * Caller guarantees 0 <= index < size.
 */
export function inclusionRanges(index: number, size: number): LeafRange[] {
  const topDown: LeafRange[] = [];
  let start = 0;
  let end = size;
  while (end - start > 1) {
    const k = splitPoint(end - start);
    if (index < start + k) {
      // PATH(m, D[0:k]) : MTH(D[k:n])
      topDown.push({ start: start + k, end });
      end = start + k;
    } else {
      // PATH(m - k, D[k:n]) : MTH(D[0:k])
      topDown.push({ start, end: start + k });
      start += k;
    }
  }
  return topDown.reverse();
}

/**
 * RFC 6962 §2.1.2 PROOF(m, D[n]) = SUBPROOF(m, D[n], true) as leaf ranges, for 0 < m < n, in
 * the order the verifier consumes them. Caller guarantees 0 < first < second.
 */
export function consistencyRanges(first: number, second: number): LeafRange[] {
  const topDown: LeafRange[] = [];
  let start = 0;
  let end = second;
  // b: still on the path from the root along which the old tree is a whole left subtree, so its
  // root is known to the verifier and left out (SUBPROOF(m, D[m], true) = {}).
  let b = true;
  for (;;) {
    if (first === end) {
      // SUBPROOF(m, D[m], b): {} if b, else {MTH(D[m])}.
      if (!b) topDown.push({ start, end });
      break;
    }
    const k = splitPoint(end - start);
    if (first <= start + k) {
      // SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
      topDown.push({ start: start + k, end });
      end = start + k;
    } else {
      // SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
      topDown.push({ start, end: start + k });
      start += k;
      b = false;
    }
  }
  return topDown.reverse();
}

/** Every perfect node the given ranges need, without duplicates: what a batch read should fetch. */
export function nodesForRanges(ranges: readonly LeafRange[]): NodeAddress[] {
  const seen = new Set<string>();
  const out: NodeAddress[] = [];
  for (const r of ranges) {
    for (const n of perfectNodesOf(r)) {
      const key = `${n.level}/${n.index}`;
      if (!seen.has(key)) {
        seen.add(key);
        out.push(n);
      }
    }
  }
  return out;
}

async function readAll(reader: NodeReader, nodes: readonly NodeAddress[]): Promise<Map<string, Uint8Array>> {
  const hashes = reader.getNodes
    ? await reader.getNodes(nodes)
    : await Promise.all(nodes.map((n) => reader.getNode(n.level, n.index)));
  if (hashes.length !== nodes.length)
    throw new Error(`reader returned ${hashes.length} of ${nodes.length} nodes`);
  const map = new Map<string, Uint8Array>();
  nodes.forEach((n, i) => {
    const h = hashes[i];
    // A wrong-length hash here is corrupt storage; failing loudly beats signing a bogus root.
    if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) {
      throw new Error(`reader returned a malformed hash for node (${n.level}, ${n.index})`);
    }
    map.set(`${n.level}/${n.index}`, h);
  });
  return map;
}

async function foldRange(range: LeafRange, nodes: Map<string, Uint8Array>): Promise<Uint8Array> {
  const parts = perfectNodesOf(range).map((n) => nodes.get(`${n.level}/${n.index}`) as Uint8Array);
  // MTH of a ragged range = H(P1, H(P2, … H(Pk-1, Pk))): fold from the right.
  let h = parts[parts.length - 1] as Uint8Array;
  for (let i = parts.length - 2; i >= 0; i--) h = await hashChildren(parts[i] as Uint8Array, h);
  return h;
}

/**
 * The hashes of `ranges`, read as perfect nodes from `reader` (one batch). The building block of
 * the three functions below; exposed for servers that plan and fetch themselves.
 */
export async function hashRanges(ranges: readonly LeafRange[], reader: NodeReader): Promise<Uint8Array[]> {
  const nodes = await readAll(reader, nodesForRanges(ranges));
  const out: Uint8Array[] = [];
  for (const r of ranges) out.push(await foldRange(r, nodes));
  return out;
}

/** The Merkle Tree Hash of the first `size` leaves (RFC 6962 §2.1), from <= log2(size)+1 reads. */
export async function rootAt(size: number, reader: NodeReader): Promise<Result<Uint8Array>> {
  if (!isCount(size)) return fail("tree size must be an integer >= 0");
  if (size === 0) return { ok: true, value: await emptyRoot() };
  const [root] = await hashRanges([{ start: 0, end: size }], reader);
  return { ok: true, value: root as Uint8Array };
}

/** The inclusion proof (audit path) of leaf `index` in the tree of `size` leaves (RFC 6962 §2.1.1). */
export async function inclusionProofAt(
  index: number,
  size: number,
  reader: NodeReader,
): Promise<Result<Uint8Array[]>> {
  if (!isCount(index) || !isCount(size)) return fail("index and tree size must be integers >= 0");
  if (index >= size) return fail(`leaf index ${index} is not in a tree of size ${size}`);
  return { ok: true, value: await hashRanges(inclusionRanges(index, size), reader) };
}

/**
 * The consistency proof between the trees of `first` and `second` leaves (RFC 6962 §2.1.2).
 * Empty for first == 0 or first == second (RFC 6962 defines PROOF for 0 < m < n only; the
 * verifier decides those cases from the roots alone).
 */
export async function consistencyProofAt(
  first: number,
  second: number,
  reader: NodeReader,
): Promise<Result<Uint8Array[]>> {
  if (!isCount(first) || !isCount(second)) return fail("tree sizes must be integers >= 0");
  if (first > second) return fail(`first size ${first} is larger than second size ${second}`);
  if (first === 0 || first === second) return { ok: true, value: [] };
  return { ok: true, value: await hashRanges(consistencyRanges(first, second), reader) };
}

/**
 * The left siblings that appending leaf `leafIndex` needs to read: one per perfect subtree the
 * append closes (as many as `leafIndex` has trailing one bits). Lets a server fetch them in one
 * query before calling nodesClosedByAppend with a reader over the result.
 */
export function appendReads(leafIndex: number): NodeAddress[] {
  if (!isCount(leafIndex)) throw new RangeError(`leaf index must be an integer >= 0, got ${leafIndex}`);
  const out: NodeAddress[] = [];
  // Leaf i closes the level-l node ending at i whenever 2^l divides i + 1.
  for (let level = 1; (leafIndex + 1) % 2 ** level === 0; level++) {
    const index = (leafIndex + 1) / 2 ** level - 1;
    out.push({ level: level - 1, index: 2 * index });
  }
  return out;
}

/**
 * The perfect subtrees (level >= 1) that close when the leaf with hash `leafHash` is appended at
 * `leafIndex`, lowest first, each with its hash — for the server to insert in the same D1 batch
 * as the leaf. At most log2(leafIndex + 1) nodes; empty for every even index. The leaf itself
 * (level 0) is not in the list: it goes in the leaves table. `reader` needs to serve only the
 * nodes of appendReads(leafIndex), all of which closed before this append.
 *
 * Throws RangeError on a negative/non-integer index or a hash that is not 32 bytes (caller bugs).
 */
export async function nodesClosedByAppend(
  leafIndex: number,
  leafHash: Uint8Array,
  reader: NodeReader,
): Promise<PerfectNode[]> {
  if (leafHash.length !== HASH_SIZE) throw new RangeError("leaf hash must be 32 bytes");
  const siblings = appendReads(leafIndex);
  if (siblings.length === 0) return [];
  const read = await readAll(reader, siblings);
  const closed: PerfectNode[] = [];
  let right = leafHash;
  for (const left of siblings) {
    const hash = await hashChildren(read.get(`${left.level}/${left.index}`) as Uint8Array, right);
    closed.push({ level: left.level + 1, index: left.index / 2, hash });
    right = hash;
  }
  return closed;
}
