// Proof verification, following the algorithms of RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2
// (consistency) step by step: they verify RFC 6962 proofs (same tree, same PATH/PROOF) and are
// the precise, widely tested formulation. Everything here is offline and side-effect free.
import { bytesEqual, toHex } from "./bytes.ts";
import { EMPTY_ROOT_HEX, HASH_SIZE, hashChildren, isCount } from "./hash.ts";
import { fail, type Result, type VerifyResult } from "./result.ts";

// fn/sn may exceed 2^31, where JS bit operators wrap: use arithmetic for LSB and right shift.
const lsb = (x: number): boolean => x % 2 === 1;
const shr = (x: number): number => Math.floor(x / 2);

function badHash(h: Uint8Array): boolean {
  return h.length !== HASH_SIZE;
}

export interface InclusionInput {
  leafIndex: number;
  treeSize: number;
  /** The RFC 6962 leaf hash (SHA-256(0x00 || leaf)), not the leaf itself. */
  leafHash: Uint8Array;
  /** The audit path, leaf side first (RFC 6962 §2.1.1 PATH order). */
  proof: readonly Uint8Array[];
}

/**
 * Recomputes the root an inclusion proof implies (RFC 9162 §2.1.3.2 steps 1–5, without the final
 * comparison). Useful when the root is to be looked up rather than compared.
 */
export async function rootFromInclusionProof(input: InclusionInput): Promise<Result<Uint8Array>> {
  const { leafIndex, treeSize, leafHash, proof } = input;
  if (!isCount(leafIndex) || !isCount(treeSize)) return fail("leafIndex and treeSize must be integers >= 0");
  // Step 1: "If leaf_index is greater than or equal to tree_size, then stop and fail".
  if (leafIndex >= treeSize) return fail(`leafIndex ${leafIndex} is not below treeSize ${treeSize}`);
  if (badHash(leafHash)) return fail("leafHash is not 32 bytes");
  if (proof.some(badHash)) return fail("a proof element is not 32 bytes");
  // Step 2–3.
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r = leafHash;
  // Step 4.
  for (const p of proof) {
    // 4a: a path longer than the tree is high cannot be the PATH of this leaf.
    if (sn === 0) return fail("inclusion proof is longer than the tree is high");
    if (lsb(fn) || fn === sn) {
      // 4b: we are a right child, or the last node of a ragged level (promoted without a sibling).
      r = await hashChildren(p, r);
      // Skip the levels where this node had no right sibling (RFC 6962's unbalanced right edge).
      while (!lsb(fn) && fn !== 0) {
        fn = shr(fn);
        sn = shr(sn);
      }
    } else {
      r = await hashChildren(r, p);
    }
    // 4c.
    fn = shr(fn);
    sn = shr(sn);
  }
  // Step 5: sn must have reached 0, or the proof stopped short of the root.
  if (sn !== 0) return fail("inclusion proof is shorter than the tree is high");
  return { ok: true, value: r };
}

/**
 * Verifies that `leafHash` sits at `leafIndex` in the tree of `treeSize` leaves whose Merkle Tree
 * Hash is `rootHash` (RFC 9162 §2.1.3.2).
 */
export async function verifyInclusion(
  input: InclusionInput & { rootHash: Uint8Array },
): Promise<VerifyResult> {
  if (badHash(input.rootHash)) return fail("rootHash is not 32 bytes");
  const computed = await rootFromInclusionProof(input);
  if (!computed.ok) return computed;
  if (!bytesEqual(computed.value, input.rootHash)) {
    return fail(
      `inclusion proof leads to root ${toHex(computed.value)}, not the expected ${toHex(input.rootHash)}`,
    );
  }
  return { ok: true };
}

export interface ConsistencyInput {
  firstSize: number;
  secondSize: number;
  firstRoot: Uint8Array;
  secondRoot: Uint8Array;
  /** RFC 6962 §2.1.2 PROOF(first, D[second]). Empty when first is 0 or first equals second. */
  proof: readonly Uint8Array[];
}

/**
 * Verifies that the tree of `firstSize` leaves with root `firstRoot` is a prefix of the tree of
 * `secondSize` leaves with root `secondRoot` (RFC 9162 §2.1.4.2 for 0 < first < second).
 *
 * The RFC's algorithm is defined for 0 < first < second only; the two edge cases are decided
 * here without a proof, and a non-empty proof for them is refused (nothing legitimate sends one):
 * - first == second: consistent iff the roots are equal (a log has one tree per size);
 * - first == 0: the empty tree is a prefix of every tree, but only if `firstRoot` really is the
 *   empty-tree hash — a "size 0" head with any other root is not a tree head at all.
 */
export async function verifyConsistency(input: ConsistencyInput): Promise<VerifyResult> {
  const { firstSize: first, secondSize: second, firstRoot, secondRoot, proof } = input;
  if (!isCount(first) || !isCount(second)) return fail("tree sizes must be integers >= 0");
  if (first > second) return fail(`first size ${first} is larger than second size ${second}`);
  if (badHash(firstRoot) || badHash(secondRoot)) return fail("a root is not 32 bytes");
  if (proof.some(badHash)) return fail("a proof element is not 32 bytes");
  if (first === second) {
    if (proof.length !== 0) return fail("a consistency proof between equal sizes must be empty");
    return bytesEqual(firstRoot, secondRoot)
      ? { ok: true }
      : fail(`two different roots for tree size ${first}`);
  }
  if (first === 0) {
    if (proof.length !== 0) return fail("a consistency proof from the empty tree must be empty");
    return toHex(firstRoot) === EMPTY_ROOT_HEX
      ? { ok: true }
      : fail("size-0 root is not the empty-tree hash");
  }
  // Step 1.
  if (proof.length === 0) return fail("consistency proof is empty");
  // Step 2: when first is a power of two, the old root is a node of the new tree and PROOF omits
  // it (SUBPROOF's b flag); put it back so steps 5–6 start from it.
  const path = isPowerOfTwo(first) ? [firstRoot, ...proof] : [...proof];
  // Step 3.
  let fn = first - 1;
  let sn = second - 1;
  // Step 4: climb past the levels where the old tree's last node is a right child.
  while (lsb(fn)) {
    fn = shr(fn);
    sn = shr(sn);
  }
  // Step 5.
  let fr = path[0] as Uint8Array;
  let sr = fr;
  // Step 6.
  for (let i = 1; i < path.length; i++) {
    const c = path[i] as Uint8Array;
    // 6a.
    if (sn === 0) return fail("consistency proof is longer than the tree is high");
    if (lsb(fn) || fn === sn) {
      // 6b: c is a left sibling shared by both trees: it extends both roots.
      fr = await hashChildren(c, fr);
      sr = await hashChildren(c, sr);
      while (!lsb(fn) && fn !== 0) {
        fn = shr(fn);
        sn = shr(sn);
      }
    } else {
      // Otherwise c is only in the second tree: it extends the second root alone.
      sr = await hashChildren(sr, c);
    }
    // 6c.
    fn = shr(fn);
    sn = shr(sn);
  }
  // Step 7.
  if (sn !== 0) return fail("consistency proof is shorter than the tree is high");
  if (!bytesEqual(fr, firstRoot)) return fail(`consistency proof does not lead to the first root`);
  if (!bytesEqual(sr, secondRoot)) return fail(`consistency proof does not lead to the second root`);
  return { ok: true };
}

function isPowerOfTwo(n: number): boolean {
  let k = 1;
  while (k < n) k *= 2;
  return k === n;
}
