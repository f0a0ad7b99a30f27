// A compact range: the perfect subtrees that cover the first `size` leaves of an RFC 6962 log
// (at most log2(size)+1 hashes). It is all a verifier needs to keep to follow a log it
// downloads in order: appending the next leaf hashes gives the root of every longer prefix,
// which a consistency proof then ties to a signed checkpoint. EUSN's federation puller keeps
// one per peer, next to its cursor (docs/federation.md).
import { fromHex, toHex } from "./bytes.ts";
import { emptyRoot, HASH_SIZE, hashChildren, isCount } from "./hash.ts";
import { fail, type Result } from "./result.ts";

/** Levels of the perfect subtrees covering [0, size): the set bits of size, highest first. */
function levelsOf(size: number): number[] {
  const out: number[] = [];
  let rest = size;
  for (let level = 52; level >= 0; level--) {
    const width = 2 ** level;
    if (rest >= width) {
      out.push(level);
      rest -= width;
    }
  }
  return out;
}

/**
 * An immutable compact range over leaves [0, size). `hashes[i]` is the hash of the i-th perfect
 * subtree from the left (largest first), exactly the nodes `perfectNodesOf({start: 0, end: size})`
 * names, so it can also be read from (or checked against) a server's perfect-subtree store.
 */
export class CompactRange {
  private constructor(
    readonly size: number,
    readonly hashes: readonly Uint8Array[],
  ) {}

  /** The range of an empty log. */
  static empty(): CompactRange {
    return new CompactRange(0, []);
  }

  /**
   * A range from stored hashes (bytes or lowercase hex): one per set bit of `size`, each 32
   * bytes. Anything else is refused (a corrupt or foreign value, not a programming error).
   */
  static from(size: number, hashes: readonly (Uint8Array | string)[]): Result<CompactRange> {
    if (!isCount(size)) return fail("size must be an integer >= 0");
    const want = levelsOf(size).length;
    if (hashes.length !== want)
      return fail(`a range of ${size} leaves has ${want} subtree hashes, not ${hashes.length}`);
    const bytes: Uint8Array[] = [];
    for (const h of hashes) {
      const b = typeof h === "string" ? fromHex(h) : h;
      if (!b || b.length !== HASH_SIZE) return fail("every subtree hash must be 32 bytes");
      bytes.push(Uint8Array.from(b));
    }
    return { ok: true, value: new CompactRange(size, bytes) };
  }

  /** The range with one more leaf (by its RFC 6962 leaf hash). */
  async append(leafHash: Uint8Array): Promise<CompactRange> {
    if (leafHash.length !== HASH_SIZE) throw new RangeError("leaf hash must be 32 bytes");
    const levels = levelsOf(this.size);
    const hashes = [...this.hashes];
    levels.push(0);
    hashes.push(Uint8Array.from(leafHash));
    // Two trailing subtrees of the same level are siblings: merge them (this is the carry of
    // adding 1 to the size in binary).
    while (levels.length >= 2 && levels[levels.length - 1] === levels[levels.length - 2]) {
      const right = hashes.pop() as Uint8Array;
      const left = hashes.pop() as Uint8Array;
      const level = (levels.pop() as number) + 1;
      levels.pop();
      hashes.push(await hashChildren(left, right));
      levels.push(level);
    }
    return new CompactRange(this.size + 1, hashes);
  }

  /** The range after appending every leaf hash in order. */
  async appendAll(leafHashes: Iterable<Uint8Array>): Promise<CompactRange> {
    let range: CompactRange = this;
    for (const h of leafHashes) range = await range.append(h);
    return range;
  }

  /** The Merkle Tree Hash of the first `size` leaves: the subtrees folded from the right. */
  async root(): Promise<Uint8Array> {
    if (this.hashes.length === 0) return emptyRoot();
    let h = this.hashes[this.hashes.length - 1] as Uint8Array;
    for (let i = this.hashes.length - 2; i >= 0; i--) h = await hashChildren(this.hashes[i] as Uint8Array, h);
    return h;
  }

  /** The hashes as lowercase hex, for storage (CompactRange.from reads them back). */
  toHex(): string[] {
    return this.hashes.map(toHex);
  }
}
