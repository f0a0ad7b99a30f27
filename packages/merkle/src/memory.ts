// An in-memory perfect-subtree store: the NodeReader for tests, for clients that rebuild a log
// they have downloaded, and a worked example of what the server does with D1 (same functions,
// same layout: leaf hashes at level 0, closed perfect subtrees above).
import { HASH_SIZE, hashLeaf } from "./hash.ts";
import { fail, type Result } from "./result.ts";
import {
  consistencyProofAt,
  inclusionProofAt,
  type NodeReader,
  nodesClosedByAppend,
  type PerfectNode,
  rootAt,
} from "./tree.ts";

export class MemoryNodeStore implements NodeReader {
  /** levels[l][i] = hash of perfect node (l, i); levels[0] are the leaf hashes. */
  readonly #levels: Uint8Array[][] = [[]];

  /** Builds a store holding `leafHashes` in order. */
  static async fromLeafHashes(leafHashes: Iterable<Uint8Array>): Promise<MemoryNodeStore> {
    const store = new MemoryNodeStore();
    for (const h of leafHashes) await store.append(h);
    return store;
  }

  /** Number of leaves appended so far. */
  get size(): number {
    return (this.#levels[0] as Uint8Array[]).length;
  }

  /** Appends a leaf hash; returns the perfect subtrees that closed (exactly what D1 would store). */
  async append(leafHash: Uint8Array): Promise<PerfectNode[]> {
    const index = this.size;
    const closed = await nodesClosedByAppend(index, leafHash, this);
    this.#put(0, index, Uint8Array.from(leafHash));
    for (const n of closed) this.#put(n.level, n.index, n.hash);
    return closed;
  }

  /** Hashes `leaf` (RFC 6962 leaf hash) and appends it; returns its index and leaf hash. */
  async appendLeaf(leaf: Uint8Array): Promise<{ index: number; leafHash: Uint8Array }> {
    const leafHash = await hashLeaf(leaf);
    const index = this.size;
    await this.append(leafHash);
    return { index, leafHash };
  }

  #put(level: number, index: number, hash: Uint8Array): void {
    if (hash.length !== HASH_SIZE) throw new RangeError("hash must be 32 bytes");
    let row = this.#levels[level];
    if (!row) {
      row = [];
      this.#levels[level] = row;
    }
    // Appends close nodes left to right, so each level only ever grows at its end.
    if (row.length !== index) throw new Error(`node (${level}, ${index}) out of order`);
    row.push(hash);
  }

  getNode(level: number, index: number): Promise<Uint8Array> {
    const hash = this.#levels[level]?.[index];
    // Asked for a node that has not closed: the caller asked about a tree larger than this one.
    if (!hash)
      return Promise.reject(
        new RangeError(`no perfect subtree (${level}, ${index}) in a log of ${this.size}`),
      );
    return Promise.resolve(hash);
  }

  /** Root of the first `size` leaves (default: all). */
  root(size: number = this.size): Promise<Result<Uint8Array>> {
    if (size > this.size) return Promise.resolve(fail(`tree size ${size} exceeds the log size ${this.size}`));
    return rootAt(size, this);
  }

  /** Inclusion proof of leaf `index` in the tree of `size` leaves (default: all). */
  inclusionProof(index: number, size: number = this.size): Promise<Result<Uint8Array[]>> {
    if (size > this.size) return Promise.resolve(fail(`tree size ${size} exceeds the log size ${this.size}`));
    return inclusionProofAt(index, size, this);
  }

  /** Consistency proof from the tree of `first` leaves to that of `second` (default: all). */
  consistencyProof(first: number, second: number = this.size): Promise<Result<Uint8Array[]>> {
    if (second > this.size)
      return Promise.resolve(fail(`tree size ${second} exceeds the log size ${this.size}`));
    return consistencyProofAt(first, second, this);
  }
}
