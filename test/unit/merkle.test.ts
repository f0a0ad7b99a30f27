// Unit tests for @eusn/merkle: published RFC 6962 known answers, exhaustive proofs for small trees
// against an independent naive implementation, tamper tests, perfect-subtree storage up to ~1000
// leaves, checkpoints (signing, verification, forks) and receipts.
import { createHash } from "node:crypto";
import { CompactSign, exportJWK, generateKeyPair, type JWK } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import {
  appendReads,
  CHECKPOINT_TYP,
  type Checkpoint,
  consistencyProofAt,
  detectFork,
  EMPTY_ROOT_HEX,
  emptyRoot,
  encodeCheckpointPayload,
  fromHex,
  hashChildren,
  hashLeaf,
  inclusionProofAt,
  MemoryNodeStore,
  type NodeAddress,
  type NodeReader,
  nodesClosedByAppend,
  parseCheckpoint,
  type Receipt,
  rootAt,
  rootFromInclusionProof,
  signCheckpoint,
  splitPoint,
  toHex,
  verifyCheckpointJws,
  verifyConsistency,
  verifyInclusion,
  verifyReceipt,
} from "../../packages/merkle/src/index.ts";

// ---------------------------------------------------------------------------------------------
// Test data: the RFC 6962 reference set published with Certificate Transparency (the same values
// are in transparency-dev/merkle testonly/constants.go and proof/verify_test.go). Facts only.

const hex = (h: string): Uint8Array => {
  const b = fromHex(h);
  if (!b) throw new Error(`bad hex in test data: ${h}`);
  return b;
};

const CT_LEAVES = [
  "",
  "00",
  "10",
  "2021",
  "3031",
  "40414243",
  "5051525354555657",
  "606162636465666768696a6b6c6d6e6f",
].map(hex);

/** Root for tree sizes 0..8. */
const CT_ROOTS = [
  EMPTY_ROOT_HEX,
  "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
  "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
  "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
  "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
  "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
  "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/** Every perfect subtree of the 8-leaf tree, [level][index]: exactly the server's storage layout. */
const CT_NODES = [
  [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
    "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
    "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
  ],
  [
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
  ],
  [
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
  ],
  ["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
];

/** Published inclusion proofs (0-based leaf index). */
const CT_INCLUSION = [
  { index: 0, size: 1, proof: [] },
  {
    index: 0,
    size: 8,
    proof: [
      "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
  },
  {
    index: 5,
    size: 8,
    proof: [
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
  },
  { index: 2, size: 3, proof: ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"] },
  {
    index: 1,
    size: 5,
    proof: [
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
  },
];

/** Published consistency proofs. */
const CT_CONSISTENCY = [
  { first: 1, second: 1, proof: [] },
  {
    first: 1,
    second: 8,
    proof: [
      "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
  },
  {
    first: 6,
    second: 8,
    proof: [
      "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
  },
  {
    first: 2,
    second: 5,
    proof: [
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
  },
  {
    first: 6,
    second: 7,
    proof: [
      "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
  },
];

// ---------------------------------------------------------------------------------------------
// An independent naive reference: RFC 6962 §2.1 MTH, PATH and PROOF written literally over arrays
// of leaf hashes, with node:crypto's SHA-256 (a different implementation from WebCrypto, sync so
// that thousands of trees stay fast). MTH is memoised by range: still the literal recursion.

function sha(...parts: Uint8Array[]): Uint8Array {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}
const naiveLeaf = (d: Uint8Array) => sha(Uint8Array.of(0), d);
const naiveNode = (l: Uint8Array, r: Uint8Array) => sha(Uint8Array.of(1), l, r);
function naiveK(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

class Naive {
  readonly #memo = new Map<string, Uint8Array>();
  constructor(readonly leaves: readonly Uint8Array[]) {}

  /** MTH(D[start:end]). */
  mth(start = 0, end = this.leaves.length): Uint8Array {
    const n = end - start;
    if (n === 0) return sha();
    if (n === 1) return this.leaves[start] as Uint8Array;
    const key = `${start}:${end}`;
    const hit = this.#memo.get(key);
    if (hit) return hit;
    const k = naiveK(n);
    const h = naiveNode(this.mth(start, start + k), this.mth(start + k, end));
    this.#memo.set(key, h);
    return h;
  }

  /** PATH(m, D[start:end]). */
  path(m: number, start = 0, end = this.leaves.length): Uint8Array[] {
    const n = end - start;
    if (n === 1) return [];
    const k = naiveK(n);
    if (m < k) return [...this.path(m, start, start + k), this.mth(start + k, end)];
    return [...this.path(m - k, start + k, end), this.mth(start, start + k)];
  }

  /** PROOF(m, D[0:n]) = SUBPROOF(m, D[0:n], true). */
  proof(m: number, n: number): Uint8Array[] {
    const sub = (m: number, start: number, end: number, b: boolean): Uint8Array[] => {
      const size = end - start;
      if (m === size) return b ? [] : [this.mth(start, end)];
      const k = naiveK(size);
      if (m <= k) return [...sub(m, start, start + k, b), this.mth(start + k, end)];
      return [...sub(m - k, start + k, end, false), this.mth(start, start + k)];
    };
    return sub(m, 0, n, true);
  }
}

/** Distinct synthetic leaf data: the index as 4 bytes plus a length that varies. */
function leafData(i: number): Uint8Array {
  const d = new Uint8Array(4 + (i % 7));
  new DataView(d.buffer).setUint32(0, i);
  return d;
}
const naiveLeaves = (n: number, data = leafData) => Array.from({ length: n }, (_, i) => naiveLeaf(data(i)));

function flip(bytes: Uint8Array, at = 0): Uint8Array {
  const out = Uint8Array.from(bytes);
  out[at] = (out[at] as number) ^ 0x01;
  return out;
}

function unwrap<T>(r: { ok: true; value: T } | { ok: false; reason: string }): T {
  if (!r.ok) throw new Error(r.reason);
  return r.value;
}

const hexes = (hs: readonly Uint8Array[]) => hs.map(toHex);

// ---------------------------------------------------------------------------------------------

describe("RFC 6962 hashing: published known answers", () => {
  it("the empty tree hash is SHA-256 of the empty string", async () => {
    expect(toHex(await emptyRoot())).toBe(EMPTY_ROOT_HEX);
    expect(toHex(unwrap(await rootAt(0, new MemoryNodeStore())))).toBe(EMPTY_ROOT_HEX);
  });

  it("leaf and node hashes use the 0x00 / 0x01 prefixes", async () => {
    const leafHashes = await Promise.all(CT_LEAVES.map(hashLeaf));
    expect(hexes(leafHashes)).toEqual(CT_NODES[0]);
    expect(toHex(await hashChildren(leafHashes[0] as Uint8Array, leafHashes[1] as Uint8Array))).toBe(
      CT_ROOTS[2],
    );
  });

  it("the split is the largest power of two below n, not the midpoint", () => {
    const want: Record<number, number> = { 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 4, 8: 4, 9: 8, 1000: 512 };
    for (const [n, k] of Object.entries(want)) expect(splitPoint(Number(n))).toBe(k);
    expect(splitPoint(2 ** 40 + 1)).toBe(2 ** 40);
  });

  it("matches the published root for every size 0..8", async () => {
    const store = new MemoryNodeStore();
    expect(toHex(unwrap(await store.root()))).toBe(CT_ROOTS[0]);
    for (const leaf of CT_LEAVES) {
      await store.appendLeaf(leaf);
      expect(toHex(unwrap(await store.root())), `size ${store.size}`).toBe(CT_ROOTS[store.size]);
    }
  });

  it("stores exactly the published perfect-subtree hashes, by (level, index)", async () => {
    const store = new MemoryNodeStore();
    for (const leaf of CT_LEAVES) await store.appendLeaf(leaf);
    for (const [level, row] of CT_NODES.entries()) {
      for (const [index, want] of row.entries()) expect(toHex(await store.getNode(level, index))).toBe(want);
    }
  });

  it("produces and verifies the published inclusion proofs", async () => {
    const store = new MemoryNodeStore();
    for (const leaf of CT_LEAVES) await store.appendLeaf(leaf);
    for (const { index, size, proof } of CT_INCLUSION) {
      expect(hexes(unwrap(await store.inclusionProof(index, size))), `${index}@${size}`).toEqual(proof);
      const ok = await verifyInclusion({
        leafIndex: index,
        treeSize: size,
        leafHash: await hashLeaf(CT_LEAVES[index] as Uint8Array),
        proof: proof.map(hex),
        rootHash: hex(CT_ROOTS[size] as string),
      });
      expect(ok).toEqual({ ok: true });
    }
  });

  it("produces and verifies the published consistency proofs", async () => {
    const store = new MemoryNodeStore();
    for (const leaf of CT_LEAVES) await store.appendLeaf(leaf);
    for (const { first, second, proof } of CT_CONSISTENCY) {
      expect(hexes(unwrap(await store.consistencyProof(first, second))), `${first}->${second}`).toEqual(
        proof,
      );
      const ok = await verifyConsistency({
        firstSize: first,
        secondSize: second,
        firstRoot: hex(CT_ROOTS[first] as string),
        secondRoot: hex(CT_ROOTS[second] as string),
        proof: proof.map(hex),
      });
      expect(ok).toEqual({ ok: true });
    }
  });
});

describe("proofs for every tree up to 64 leaves, against the naive reference", () => {
  const N = 64;
  const leaves = naiveLeaves(N);
  const naive = new Naive(leaves);
  let store: MemoryNodeStore;
  beforeAll(async () => {
    store = await MemoryNodeStore.fromLeafHashes(leaves);
  });

  it("the leaf hashes agree with node:crypto", async () => {
    for (let i = 0; i < 10; i++)
      expect(toHex(await hashLeaf(leafData(i)))).toBe(toHex(leaves[i] as Uint8Array));
  });

  it("every root of size 1..64 equals the naive MTH", async () => {
    for (let n = 1; n <= N; n++) expect(toHex(unwrap(await store.root(n)))).toBe(toHex(naive.mth(0, n)));
  });

  it("every inclusion proof, every index, every size: equals PATH and verifies against the naive root", async () => {
    for (let n = 1; n <= N; n++) {
      const tree = new Naive(leaves.slice(0, n));
      const root = tree.mth();
      for (let i = 0; i < n; i++) {
        const proof = unwrap(await store.inclusionProof(i, n));
        expect(hexes(proof), `${i}@${n}`).toEqual(hexes(tree.path(i)));
        // A proof is at most ceil(log2 n) hashes.
        expect(proof.length).toBeLessThanOrEqual(Math.ceil(Math.log2(n)));
        const leafHash = leaves[i] as Uint8Array;
        const ok = await verifyInclusion({ leafIndex: i, treeSize: n, leafHash, proof, rootHash: root });
        expect(ok, `${i}@${n}`).toEqual({ ok: true });
      }
    }
  });

  it("every consistency proof, every pair m <= n <= 64: equals PROOF and verifies", async () => {
    for (let n = 1; n <= N; n++) {
      for (let m = 0; m <= n; m++) {
        const proof = unwrap(await store.consistencyProof(m, n));
        if (m > 0 && m < n) {
          expect(hexes(proof), `${m}->${n}`).toEqual(hexes(naive.proof(m, n)));
          expect(proof.length).toBeLessThanOrEqual(Math.ceil(Math.log2(n)) + 1);
        } else {
          expect(proof).toEqual([]);
        }
        const ok = await verifyConsistency({
          firstSize: m,
          secondSize: n,
          firstRoot: naive.mth(0, m),
          secondRoot: naive.mth(0, n),
          proof,
        });
        expect(ok, `${m}->${n}`).toEqual({ ok: true });
      }
    }
  });
});

describe("tampering is detected", () => {
  const leaves = naiveLeaves(37);
  const naive = new Naive(leaves);
  let store: MemoryNodeStore;
  beforeAll(async () => {
    store = await MemoryNodeStore.fromLeafHashes(leaves);
  });
  const sizes = [1, 2, 3, 5, 8, 13, 16, 21, 32, 37];

  it("inclusion: a flipped byte in the leaf, any proof node or the root fails", async () => {
    for (const n of sizes) {
      const rootHash = naive.mth(0, n);
      for (let i = 0; i < n; i++) {
        const proof = unwrap(await store.inclusionProof(i, n));
        const leafHash = leaves[i] as Uint8Array;
        const base = { leafIndex: i, treeSize: n, leafHash, proof, rootHash };
        expect((await verifyInclusion(base)).ok).toBe(true);
        expect((await verifyInclusion({ ...base, leafHash: flip(leafHash) })).ok).toBe(false);
        expect((await verifyInclusion({ ...base, leafHash: flip(leafHash, 31) })).ok).toBe(false);
        expect((await verifyInclusion({ ...base, rootHash: flip(rootHash, 17) })).ok).toBe(false);
        for (let p = 0; p < proof.length; p++) {
          const bad = proof.map((h, j) => (j === p ? flip(h, p) : h));
          expect((await verifyInclusion({ ...base, proof: bad })).ok, `proof[${p}] ${i}@${n}`).toBe(false);
        }
      }
    }
  });

  it("inclusion: wrong index, wrong size, extra or missing proof nodes fail", async () => {
    for (const n of sizes.filter((s) => s > 1)) {
      const rootHash = naive.mth(0, n);
      for (let i = 0; i < n; i++) {
        const proof = unwrap(await store.inclusionProof(i, n));
        const base = { leafIndex: i, treeSize: n, leafHash: leaves[i] as Uint8Array, proof, rootHash };
        const probes = [
          { ...base, leafIndex: i + 1 },
          { ...base, leafIndex: i ^ 2 },
          { ...base, treeSize: n * 2 },
          { ...base, treeSize: Math.floor(n / 2) },
          { ...base, proof: [...proof, rootHash] },
          { ...base, proof: [rootHash, ...proof] },
          { ...base, proof: [...proof, new Uint8Array(0)] },
          { ...base, proof: proof.slice(0, -1) },
          { ...base, rootHash: hex(EMPTY_ROOT_HEX) },
        ];
        if (i > 0) probes.push({ ...base, leafIndex: i - 1 });
        for (const [k, probe] of probes.entries()) {
          expect((await verifyInclusion(probe)).ok, `${i}@${n} probe ${k}`).toBe(false);
        }
      }
    }
  });

  it("inclusion: out-of-range and malformed inputs return results, never throw", async () => {
    const h = leaves[0] as Uint8Array;
    expect(
      (await verifyInclusion({ leafIndex: 0, treeSize: 0, leafHash: h, proof: [], rootHash: h })).ok,
    ).toBe(false);
    expect(
      (await verifyInclusion({ leafIndex: 1, treeSize: 1, leafHash: h, proof: [], rootHash: h })).ok,
    ).toBe(false);
    expect(
      (await verifyInclusion({ leafIndex: -1, treeSize: 1, leafHash: h, proof: [], rootHash: h })).ok,
    ).toBe(false);
    expect(
      (await verifyInclusion({ leafIndex: 0.5, treeSize: 2, leafHash: h, proof: [h], rootHash: h })).ok,
    ).toBe(false);
    expect(
      (await verifyInclusion({ leafIndex: 0, treeSize: 1, leafHash: h, proof: [], rootHash: h })).ok,
    ).toBe(true);
    const short = h.slice(0, 31);
    expect(
      (await verifyInclusion({ leafIndex: 0, treeSize: 1, leafHash: short, proof: [], rootHash: short })).ok,
    ).toBe(false);
    expect((await rootFromInclusionProof({ leafIndex: 3, treeSize: 2, leafHash: h, proof: [] })).ok).toBe(
      false,
    );
    expect((await inclusionProofAt(5, 5, store)).ok).toBe(false);
    expect((await store.inclusionProof(0, 38)).ok).toBe(false);
  });

  it("consistency: a flipped byte in any proof node or either root fails; so do wrong sizes", async () => {
    for (const n of sizes) {
      for (let m = 1; m < n; m++) {
        const proof = unwrap(await store.consistencyProof(m, n));
        const base = {
          firstSize: m,
          secondSize: n,
          firstRoot: naive.mth(0, m),
          secondRoot: naive.mth(0, n),
          proof,
        };
        expect((await verifyConsistency(base)).ok).toBe(true);
        const probes = [
          { ...base, firstRoot: flip(base.firstRoot, 5) },
          { ...base, secondRoot: flip(base.secondRoot, 9) },
          { ...base, firstRoot: base.secondRoot, secondRoot: base.firstRoot },
          { ...base, firstSize: m + 1 },
          { ...base, firstSize: m - 1 },
          { ...base, secondSize: n * 2 },
          { ...base, proof: [] },
          { ...base, proof: proof.slice(0, -1) },
          { ...base, proof: [...proof, base.firstRoot] },
          { ...base, proof: [base.secondRoot, ...proof] },
          { ...base, proof: [proof[0] as Uint8Array, ...proof] },
          ...proof.map((_, p) => ({ ...base, proof: proof.map((h, j) => (j === p ? flip(h, 31 - p) : h)) })),
        ];
        for (const [k, probe] of probes.entries()) {
          // firstSize m-1 = 0 with a non-empty proof, or m+1 = n, are still wrong: all must fail. (No
          // secondSize n+1 probe: with the same root that can be a genuinely valid statement, e.g.
          // 1->3 and 1->4 proofs have the same shape, the last element standing for [2,3) or [2,4).)
          expect((await verifyConsistency(probe)).ok, `${m}->${n} probe ${k}`).toBe(false);
        }
      }
    }
  });

  it("consistency: edge cases decided without a proof", async () => {
    const empty = hex(EMPTY_ROOT_HEX);
    const r5 = naive.mth(0, 5);
    const v = (
      firstSize: number,
      secondSize: number,
      firstRoot: Uint8Array,
      secondRoot: Uint8Array,
      proof: Uint8Array[] = [],
    ) => verifyConsistency({ firstSize, secondSize, firstRoot, secondRoot, proof }).then((r) => r.ok);
    expect(await v(0, 0, empty, empty)).toBe(true);
    expect(await v(0, 5, empty, r5)).toBe(true);
    expect(await v(0, 5, r5, r5)).toBe(false); // a size-0 head whose root is not the empty hash
    expect(await v(0, 5, empty, r5, [r5])).toBe(false); // proof where none belongs
    expect(await v(5, 5, r5, r5)).toBe(true);
    expect(await v(5, 5, r5, flip(r5))).toBe(false);
    expect(await v(5, 5, r5, r5, [r5])).toBe(false);
    expect(await v(6, 5, r5, r5)).toBe(false);
    expect((await consistencyProofAt(6, 5, store)).ok).toBe(false);
  });
});

/** A reader over a store that counts reads, for the O(log n) claims. */
function counting(inner: NodeReader): NodeReader & { reads: number; batches: number } {
  const r = {
    reads: 0,
    batches: 0,
    getNode(level: number, index: number) {
      r.reads++;
      return inner.getNode(level, index);
    },
  };
  return r;
}

describe("perfect-subtree storage (what the server keeps in D1)", () => {
  const N = 1000;
  const leaves = naiveLeaves(N);
  const naive = new Naive(leaves);
  let store: MemoryNodeStore;
  beforeAll(async () => {
    store = new MemoryNodeStore();
    for (const h of leaves) await store.append(h);
  });

  it("an append closes exactly the subtrees its trailing one bits say, each with its naive MTH", async () => {
    const replay = new MemoryNodeStore();
    for (let i = 0; i < 300; i++) {
      const reader = counting(replay);
      const closed = await nodesClosedByAppend(i, leaves[i] as Uint8Array, reader);
      let trailingOnes = 0;
      for (let x = i; x % 2 === 1; x = Math.floor(x / 2)) trailingOnes++;
      expect(closed.map((c) => c.level)).toEqual(Array.from({ length: trailingOnes }, (_, l) => l + 1));
      expect(reader.reads).toBe(trailingOnes);
      expect(appendReads(i)).toHaveLength(trailingOnes);
      for (const c of closed) {
        const width = 2 ** c.level;
        expect(c.index * width + width - 1).toBe(i); // the node ends at the new leaf
        expect(toHex(c.hash)).toBe(toHex(naive.mth(c.index * width, (c.index + 1) * width)));
      }
      expect(await replay.append(leaves[i] as Uint8Array)).toEqual(closed);
    }
  });

  it("appendReads lists exactly the nodes nodesClosedByAppend reads, so they can be fetched in one query", async () => {
    for (const i of [0, 1, 3, 6, 7, 15, 255, 511, 998, 999]) {
      const asked: NodeAddress[] = [];
      const reader: NodeReader = {
        getNode: () => Promise.reject(new Error("should batch")),
        getNodes: (nodes) => {
          asked.push(...nodes);
          return Promise.all(nodes.map((n) => store.getNode(n.level, n.index)));
        },
      };
      await nodesClosedByAppend(i, leaves[i] as Uint8Array, reader);
      expect(asked).toEqual(appendReads(i));
    }
  });

  it("the root of every size 1..1000 equals the naive MTH", async () => {
    for (let n = 1; n <= N; n++)
      expect(toHex(unwrap(await store.root(n))), `size ${n}`).toBe(toHex(naive.mth(0, n)));
  });

  it("inclusion proofs at large sizes equal the naive PATH, for every index", async () => {
    for (const n of [1000, 999, 513, 512, 511, 257]) {
      const tree = new Naive(leaves.slice(0, n));
      for (let i = 0; i < n; i++) {
        expect(hexes(unwrap(await store.inclusionProof(i, n))), `${i}@${n}`).toEqual(hexes(tree.path(i)));
      }
    }
  });

  it("consistency proofs up to 1000 equal the naive PROOF and verify", async () => {
    const pairs: [number, number][] = [];
    for (let m = 1; m < N; m += 1) pairs.push([m, N]);
    for (let m = 1; m < 700; m += 37) for (let n = m + 1; n <= N; n += 53) pairs.push([m, n]);
    for (const [m, n] of pairs) {
      const proof = unwrap(await store.consistencyProof(m, n));
      expect(hexes(proof), `${m}->${n}`).toEqual(hexes(naive.proof(m, n)));
      const ok = await verifyConsistency({
        firstSize: m,
        secondSize: n,
        firstRoot: naive.mth(0, m),
        secondRoot: naive.mth(0, n),
        proof,
      });
      expect(ok.ok, `${m}->${n}`).toBe(true);
    }
  });

  it("roots and proofs read O(log n) stored nodes, not O(n)", async () => {
    const bound = 2 * Math.ceil(Math.log2(N)) + 2; // 22 for n = 1000
    for (const n of [1000, 999, 777, 513]) {
      const r = counting(store);
      await rootAt(n, r);
      expect(r.reads).toBeLessThanOrEqual(Math.ceil(Math.log2(n)) + 1);
      for (const i of [0, 1, n >> 1, n - 2, n - 1]) {
        const c = counting(store);
        await inclusionProofAt(i, n, c);
        expect(c.reads, `inclusion ${i}@${n}`).toBeLessThanOrEqual(bound);
      }
      for (const m of [1, 3, n >> 1, n - 1]) {
        const c = counting(store);
        await consistencyProofAt(m, n, c);
        expect(c.reads, `consistency ${m}->${n}`).toBeLessThanOrEqual(bound);
      }
    }
  });

  it("a reader returning a malformed hash is a storage fault and throws", async () => {
    const broken: NodeReader = { getNode: () => Promise.resolve(new Uint8Array(3)) };
    await expect(rootAt(5, broken)).rejects.toThrow(/malformed/);
  });
});

// ---------------------------------------------------------------------------------------------

describe("checkpoints", () => {
  let edPrivate: CryptoKey;
  let edPublic: JWK;
  let otherPublic: JWK;
  let esPrivate: CryptoKey;
  let esPublic: JWK;
  beforeAll(async () => {
    const ed = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
    edPrivate = ed.privateKey;
    edPublic = { ...(await exportJWK(ed.publicKey)), alg: "EdDSA" };
    const other = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
    otherPublic = await exportJWK(other.publicKey);
    const es = await generateKeyPair("ES256", { extractable: true });
    esPrivate = es.privateKey;
    esPublic = await exportJWK(es.publicKey);
  });

  const cp: Checkpoint = {
    origin: "eusn-test",
    treeSize: 8,
    rootHash: CT_ROOTS[8] as string,
    timestamp: 1_767_225_600_000,
  };

  it("the canonical payload is compact JSON in a fixed key order", () => {
    const shuffled = {
      timestamp: cp.timestamp,
      rootHash: cp.rootHash,
      treeSize: cp.treeSize,
      origin: cp.origin,
    };
    const text = new TextDecoder().decode(encodeCheckpointPayload(shuffled));
    expect(text).toBe(
      `{"origin":"eusn-test","treeSize":8,"rootHash":"${CT_ROOTS[8]}","timestamp":1767225600000}`,
    );
  });

  it("validation refuses bad shapes", () => {
    expect(parseCheckpoint(cp).ok).toBe(true);
    const bad: unknown[] = [
      null,
      [],
      "x",
      { ...cp, extra: 1 },
      { ...cp, origin: "" },
      { ...cp, origin: "has space" },
      { ...cp, treeSize: -1 },
      { ...cp, treeSize: 1.5 },
      { ...cp, treeSize: "8" },
      { ...cp, rootHash: (CT_ROOTS[8] as string).toUpperCase() },
      { ...cp, rootHash: (CT_ROOTS[8] as string).slice(2) },
      { ...cp, timestamp: -5 },
      { ...cp, treeSize: 0 }, // size 0 with a root that is not the empty hash
      { origin: "eusn-test", treeSize: 8, rootHash: CT_ROOTS[8] },
    ];
    for (const b of bad) expect(parseCheckpoint(b).ok, JSON.stringify(b)).toBe(false);
    expect(parseCheckpoint({ ...cp, treeSize: 0, rootHash: EMPTY_ROOT_HEX }).ok).toBe(true);
  });

  it("an Ed25519-signed checkpoint verifies, and returns the checkpoint", async () => {
    const jws = await signCheckpoint(cp, edPrivate, { alg: "EdDSA", kid: "node-1" });
    expect(await verifyCheckpointJws(jws, edPublic)).toEqual({ ok: true, checkpoint: cp, kid: "node-1" });
    expect((await verifyCheckpointJws(jws, edPublic, { origin: "eusn-test" })).ok).toBe(true);
    expect((await verifyCheckpointJws(jws, edPublic, { origin: "eusn-fr" })).ok).toBe(false);
  });

  it("an ES256-signed checkpoint verifies with its P-256 key", async () => {
    const jws = await signCheckpoint(cp, esPrivate, { alg: "ES256" });
    expect(await verifyCheckpointJws(jws, esPublic)).toEqual({ ok: true, checkpoint: cp });
    // The algorithm is pinned by the key: an Ed25519 key never verifies it, and vice versa.
    expect((await verifyCheckpointJws(jws, edPublic)).ok).toBe(false);
  });

  it("refuses another key, a tampered payload or signature, and alg none", async () => {
    const jws = await signCheckpoint(cp, edPrivate, { alg: "EdDSA" });
    expect((await verifyCheckpointJws(jws, otherPublic)).ok).toBe(false);
    const [h, p, s] = jws.split(".") as [string, string, string];
    const forged = { ...cp, treeSize: 9 };
    const forgedPayload = Buffer.from(encodeCheckpointPayload(forged)).toString("base64url");
    expect((await verifyCheckpointJws(`${h}.${forgedPayload}.${s}`, edPublic)).ok).toBe(false);
    const sig = Buffer.from(s, "base64url");
    sig[0] = (sig[0] as number) ^ 1;
    expect((await verifyCheckpointJws(`${h}.${p}.${sig.toString("base64url")}`, edPublic)).ok).toBe(false);
    const none = Buffer.from(JSON.stringify({ alg: "none", typ: CHECKPOINT_TYP })).toString("base64url");
    expect((await verifyCheckpointJws(`${none}.${p}.`, edPublic)).ok).toBe(false);
    expect((await verifyCheckpointJws("not a jws", edPublic)).ok).toBe(false);
  });

  it("refuses a correctly signed JWS of another type, a non-canonical or invalid payload", async () => {
    const sign = (payload: Uint8Array, typ: string) =>
      new CompactSign(payload).setProtectedHeader({ alg: "EdDSA", typ }).sign(edPrivate);
    const canonical = encodeCheckpointPayload(cp);
    expect((await verifyCheckpointJws(await sign(canonical, CHECKPOINT_TYP), edPublic)).ok).toBe(true);
    const wrongTyp = await verifyCheckpointJws(await sign(canonical, "eusn-record+jwt"), edPublic);
    expect(wrongTyp).toMatchObject({ ok: false, reason: expect.stringMatching(/typ/) });
    const spaced = new TextEncoder().encode(JSON.stringify(cp, null, 1));
    const nonCanonical = await verifyCheckpointJws(await sign(spaced, CHECKPOINT_TYP), edPublic);
    expect(nonCanonical).toMatchObject({ ok: false, reason: expect.stringMatching(/canonical/) });
    const invalid = new TextEncoder().encode(JSON.stringify({ ...cp, treeSize: -1 }));
    expect((await verifyCheckpointJws(await sign(invalid, CHECKPOINT_TYP), edPublic)).ok).toBe(false);
    const notJson = new TextEncoder().encode("{oops");
    expect((await verifyCheckpointJws(await sign(notJson, CHECKPOINT_TYP), edPublic)).ok).toBe(false);
  });

  it("refuses unsuitable verification keys", async () => {
    const jws = await signCheckpoint(cp, edPrivate, { alg: "EdDSA" });
    const privateJwk = await exportJWK(edPrivate);
    expect((await verifyCheckpointJws(jws, privateJwk)).ok).toBe(false);
    expect((await verifyCheckpointJws(jws, { ...edPublic, alg: "ES256" })).ok).toBe(false);
    expect((await verifyCheckpointJws(jws, { kty: "oct", k: "c2VjcmV0" })).ok).toBe(false);
    await expect(signCheckpoint({ ...cp, rootHash: "zz" }, edPrivate, { alg: "EdDSA" })).rejects.toThrow(
      TypeError,
    );
  });

  describe("fork detection", () => {
    const origin = "eusn-test";
    const honestLeaves = naiveLeaves(40);
    // A different history: the same log rewrites leaf 3 after having signed size 10.
    const forkedLeaves = honestLeaves.map((h, i) =>
      i === 3 ? naiveLeaf(new TextEncoder().encode("rewritten")) : h,
    );
    let honest: MemoryNodeStore;
    let forked: MemoryNodeStore;
    const checkpointOf = async (store: MemoryNodeStore, size: number, o = origin): Promise<Checkpoint> => ({
      origin: o,
      treeSize: size,
      rootHash: toHex(unwrap(await store.root(size))),
      timestamp: 1_767_225_600_000 + size,
    });
    beforeAll(async () => {
      honest = await MemoryNodeStore.fromLeafHashes(honestLeaves);
      forked = await MemoryNodeStore.fromLeafHashes(forkedLeaves);
    });

    it("an honest later checkpoint is consistent, in either argument order", async () => {
      const a = await checkpointOf(honest, 10);
      const b = await checkpointOf(honest, 40);
      const proof = unwrap(await honest.consistencyProof(10, 40));
      expect(await detectFork(a, b, proof)).toEqual({ status: "consistent" });
      expect(await detectFork(b, a, proof)).toEqual({ status: "consistent" });
      expect(await detectFork(a, { ...a, timestamp: a.timestamp + 1 }, [])).toEqual({ status: "consistent" });
    });

    it("a later checkpoint of a different history is a fork, whatever proof is offered", async () => {
      const a = await checkpointOf(honest, 10);
      const b = await checkpointOf(forked, 40);
      for (const proof of [
        unwrap(await forked.consistencyProof(10, 40)),
        unwrap(await honest.consistencyProof(10, 40)),
        [],
      ]) {
        const result = await detectFork(a, b, proof);
        expect(result).toMatchObject({ status: "fork", older: a, newer: b });
      }
    });

    it("the same size with two roots is a fork without any proof", async () => {
      const a = await checkpointOf(honest, 10);
      const b = await checkpointOf(forked, 10);
      expect(await detectFork(a, b, [])).toMatchObject({
        status: "fork",
        reason: expect.stringMatching(/size 10/),
      });
    });

    it("different origins or malformed checkpoints are not comparable", async () => {
      const a = await checkpointOf(honest, 10);
      const b = await checkpointOf(honest, 40, "eusn-fr");
      expect((await detectFork(a, b, [])).status).toBe("not_comparable");
      expect((await detectFork(a, { ...a, rootHash: "nope" }, [])).status).toBe("not_comparable");
    });
  });
});

describe("receipts", () => {
  let nodePrivate: CryptoKey;
  let nodePublic: JWK;
  let otherPrivate: CryptoKey;
  let store: MemoryNodeStore;
  const records = Array.from({ length: 23 }, (_, i) => `eyJhbGciOiJFZERTQSJ9.record-${i}.sig`);

  const issue = async (logIndex: number, treeSize = store.size, key = nodePrivate): Promise<Receipt> => {
    const rootHash = toHex(unwrap(await store.root(treeSize)));
    const checkpoint = await signCheckpoint(
      { origin: "eusn-test", treeSize, rootHash, timestamp: 1_767_225_600_000 },
      key,
      {
        alg: "EdDSA",
      },
    );
    return {
      logIndex,
      leafHash: toHex(await hashLeaf(new TextEncoder().encode(records[logIndex]))),
      treeSize,
      inclusionProof: hexes(unwrap(await store.inclusionProof(logIndex, treeSize))),
      checkpoint,
    };
  };

  beforeAll(async () => {
    const kp = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
    nodePrivate = kp.privateKey;
    nodePublic = await exportJWK(kp.publicKey);
    otherPrivate = (await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true })).privateKey;
    store = new MemoryNodeStore();
    for (const r of records) await store.appendLeaf(new TextEncoder().encode(r));
  });

  it("a genuine receipt verifies offline, for every record and several tree sizes", async () => {
    for (let i = 0; i < records.length; i++) {
      for (const size of [i + 1, 16, records.length].filter((s) => s > i)) {
        const receipt = await issue(i, size);
        const result = await verifyReceipt(receipt, nodePublic, records[i] as string, {
          origin: "eusn-test",
        });
        expect(result, `${i}@${size}`).toMatchObject({ ok: true, checkpoint: { treeSize: size } });
        // The same record as bytes verifies the same way.
        expect((await verifyReceipt(receipt, nodePublic, new TextEncoder().encode(records[i]))).ok).toBe(
          true,
        );
      }
    }
  });

  it("refuses a different record, a tampered receipt or a checkpoint signed by someone else", async () => {
    const receipt = await issue(5);
    const record = records[5] as string;
    const check = (r: Receipt, rec: string | Uint8Array = record) =>
      verifyReceipt(r, nodePublic, rec).then((x) => x.ok);
    expect(await check(receipt)).toBe(true);
    expect(await check(receipt, records[6])).toBe(false);
    expect(await check(receipt, `${record} `)).toBe(false);
    const flippedLeaf = toHex(flip(hex(receipt.leafHash), 4));
    expect(await check({ ...receipt, leafHash: flippedLeaf })).toBe(false);
    for (let p = 0; p < receipt.inclusionProof.length; p++) {
      const proof = receipt.inclusionProof.map((h, j) => (j === p ? toHex(flip(hex(h))) : h));
      expect(await check({ ...receipt, inclusionProof: proof }), `proof[${p}]`).toBe(false);
    }
    expect(await check({ ...receipt, inclusionProof: receipt.inclusionProof.slice(1) })).toBe(false);
    expect(await check({ ...receipt, logIndex: 4 })).toBe(false);
    expect(await check({ ...receipt, treeSize: receipt.treeSize - 1 })).toBe(false);
    // A checkpoint for another size than the proof was made for.
    expect(await check({ ...receipt, checkpoint: (await issue(5, 16)).checkpoint })).toBe(false);
    expect(
      await check({ ...receipt, checkpoint: (await issue(5, store.size, otherPrivate)).checkpoint }),
    ).toBe(false);
    expect((await verifyReceipt(receipt, nodePublic, record, { origin: "eusn-fr" })).ok).toBe(false);
  });

  it("a malformed receipt is a result, not an exception", async () => {
    const receipt = await issue(0);
    const malformed: unknown[] = [
      null,
      { ...receipt, leafHash: receipt.leafHash.toUpperCase() },
      { ...receipt, inclusionProof: "abc" },
      { ...receipt, inclusionProof: [123] },
      { ...receipt, logIndex: -1 },
      { ...receipt, checkpoint: 42 },
    ];
    for (const m of malformed) {
      const result = await verifyReceipt(m as Receipt, nodePublic, records[0] as string);
      expect(result.ok, JSON.stringify(m)).toBe(false);
    }
  });
});
