// The client's offline log verifiers (@eusn/client log.ts) and the compact range they and the
// federation puller keep (@eusn/merkle CompactRange): receipts, checkpoint consistency and runs
// of entries, each with a tampered entry and a forked checkpoint that must be detected.
import {
  CompactRange,
  generateParticipantKey,
  type KeyPair,
  recordLeafHash,
  verifyCheckpointConsistency,
  verifyLogEntries,
  verifyWriteReceipt,
} from "@eusn/client";
import {
  hashLeaf,
  MemoryNodeStore,
  signCheckpoint,
  toHex,
  WITHHELD_LEAF_PREFIX,
  withheldLeafHash,
} from "@eusn/merkle";
import { isNodeLocalKind } from "@eusn/protocol";
import type { JWK } from "jose";
import { beforeAll, describe, expect, it } from "vitest";

const utf8 = new TextEncoder();
const ORIGIN = "eusn-unit";
let node: KeyPair;
let other: KeyPair;

/** Stand-ins for compact JWS records: what matters here is that they are distinct byte strings. */
const jwsOf = (i: number) =>
  `eyJhbGciOiJFZERTQSJ9.${btoa(JSON.stringify({ n: i })).replace(/=+$/, "")}.sig${i}`;

async function logOf(size: number) {
  const jws = Array.from({ length: size }, (_, i) => jwsOf(i));
  const store = new MemoryNodeStore();
  for (const j of jws) await store.appendLeaf(utf8.encode(j));
  return { jws, store };
}

async function checkpointOf(
  store: MemoryNodeStore,
  size = store.size,
  key: KeyPair = node,
  rootHex?: string,
) {
  const root = await store.root(size);
  if (!root.ok) throw new Error(root.reason);
  return signCheckpoint(
    {
      origin: ORIGIN,
      treeSize: size,
      rootHash: rootHex ?? toHex(root.value),
      timestamp: 1_767_225_600_000 + size,
    },
    key.privateJwk as JWK,
    { alg: "EdDSA", kid: key.kid },
  );
}

function alter(jws: string): string {
  const i = Math.floor(jws.length / 3);
  return `${jws.slice(0, i)}${jws[i] === "A" ? "B" : "A"}${jws.slice(i + 1)}`;
}

beforeAll(async () => {
  node = await generateParticipantKey("EdDSA");
  other = await generateParticipantKey("EdDSA");
});

describe("CompactRange", () => {
  it("gives the RFC 6962 root of every prefix, as the perfect-subtree store does (sizes 0–70)", async () => {
    const { store } = await logOf(70);
    let range = CompactRange.empty();
    for (let size = 0; size <= 70; size++) {
      const root = await store.root(size);
      expect(root.ok && toHex(root.value)).toBe(toHex(await range.root()));
      expect(range.hashes.length).toBe(size.toString(2).replaceAll("0", "").length);
      if (size < 70) range = await range.append(await store.getNode(0, size));
    }
  });

  it("round-trips through hex and refuses a wrong number or size of hashes", async () => {
    const { store } = await logOf(11);
    let range = CompactRange.empty();
    for (let i = 0; i < 11; i++) range = await range.append(await store.getNode(0, i));
    const back = CompactRange.from(11, range.toHex());
    expect(back.ok && toHex(await back.value.root())).toBe(toHex(await range.root()));
    expect(CompactRange.from(11, range.toHex().slice(1)).ok).toBe(false);
    expect(CompactRange.from(12, range.toHex()).ok).toBe(false);
    expect(CompactRange.from(1, ["ab"]).ok).toBe(false);
    expect(CompactRange.from(-1, []).ok).toBe(false);
  });
});

describe("verifyWriteReceipt", () => {
  it("accepts the node's receipt for the exact JWS, and detects a tampered entry", async () => {
    const { jws, store } = await logOf(13);
    const checkpoint = await checkpointOf(store);
    for (const i of [0, 6, 12]) {
      const proof = await store.inclusionProof(i);
      if (!proof.ok) throw new Error(proof.reason);
      const receipt = {
        logIndex: i,
        leafHash: toHex(await hashLeaf(utf8.encode(jws[i]!))),
        treeSize: 13,
        inclusionProof: proof.value.map(toHex),
        checkpoint,
      };
      expect((await verifyWriteReceipt(receipt, node.publicJwk as JWK, jws[i]!, { origin: ORIGIN })).ok).toBe(
        true,
      );
      // The tampered entry: one character of the record changed.
      const tampered = await verifyWriteReceipt(receipt, node.publicJwk as JWK, alter(jws[i]!));
      expect(tampered).toMatchObject({ ok: false });
      // Another record's receipt does not fit this record, nor another index.
      expect((await verifyWriteReceipt(receipt, node.publicJwk as JWK, jws[(i + 1) % 13]!)).ok).toBe(false);
      expect(
        (await verifyWriteReceipt({ ...receipt, logIndex: (i + 1) % 13 }, node.publicJwk as JWK, jws[i]!)).ok,
      ).toBe(false);
      // Signed by another key, or checked against another origin.
      expect((await verifyWriteReceipt(receipt, other.publicJwk as JWK, jws[i]!)).ok).toBe(false);
      expect(
        (await verifyWriteReceipt(receipt, node.publicJwk as JWK, jws[i]!, { origin: "eusn-x" })).ok,
      ).toBe(false);
    }
  });
});

describe("verifyCheckpointConsistency", () => {
  it("accepts two checkpoints of one growing log, in either order", async () => {
    const { store } = await logOf(21);
    const a = await checkpointOf(store, 8);
    const b = await checkpointOf(store, 21);
    const proof = await store.consistencyProof(8, 21);
    if (!proof.ok) throw new Error(proof.reason);
    const hex = proof.value.map(toHex);
    const ok = await verifyCheckpointConsistency(a, b, hex, node.publicJwk as JWK, { origin: ORIGIN });
    expect(ok).toMatchObject({ ok: true, older: { treeSize: 8 }, newer: { treeSize: 21 } });
    expect((await verifyCheckpointConsistency(b, a, hex, node.publicJwk as JWK)).ok).toBe(true);
    expect((await verifyCheckpointConsistency(b, b, [], node.publicJwk as JWK)).ok).toBe(true);
  });

  it("detects a forked checkpoint: same size with another root, or a later tree that rewrote history", async () => {
    const { store } = await logOf(21);
    const honest = await checkpointOf(store, 13);
    const sameSize = await checkpointOf(store, 13, node, toHex(await hashLeaf(utf8.encode("rewritten"))));
    expect(await verifyCheckpointConsistency(honest, sameSize, [], node.publicJwk as JWK)).toMatchObject({
      ok: false,
      fork: true,
    });
    // A second log that shares the first 12 records, then differs at 12: its 21-leaf checkpoint
    // is signed by the same node key, and no proof can tie it to the honest 13-leaf one.
    const rewritten = new MemoryNodeStore();
    for (let i = 0; i < 21; i++) await rewritten.appendLeaf(utf8.encode(i === 12 ? "evil" : jwsOf(i)));
    const later = await checkpointOf(rewritten, 21);
    const proof = await rewritten.consistencyProof(13, 21);
    if (!proof.ok) throw new Error(proof.reason);
    const check = await verifyCheckpointConsistency(
      honest,
      later,
      proof.value.map(toHex),
      node.publicJwk as JWK,
    );
    expect(check).toMatchObject({ ok: false, fork: true });
    // The honest log's own proof does not help either.
    const real = await store.consistencyProof(13, 21);
    if (!real.ok) throw new Error(real.reason);
    expect(
      (await verifyCheckpointConsistency(honest, later, real.value.map(toHex), node.publicJwk as JWK)).ok,
    ).toBe(false);
  });

  it("is not a fork when a checkpoint is not the node's: that is a bad signature", async () => {
    const { store } = await logOf(5);
    const mine = await checkpointOf(store, 5);
    const theirs = await checkpointOf(store, 5, other, toHex(await hashLeaf(utf8.encode("x"))));
    expect(await verifyCheckpointConsistency(mine, theirs, [], node.publicJwk as JWK)).toMatchObject({
      ok: false,
      fork: false,
    });
  });
});

describe("verifyLogEntries", () => {
  it("accepts the log's entries against its checkpoint, whole or in pieces with consistency proofs", async () => {
    const { jws, store } = await logOf(37);
    const cp = await checkpointOf(store);
    const entries = await Promise.all(
      jws.map(async (j, index) => ({ index, jws: j, leafHash: toHex(await hashLeaf(utf8.encode(j))) })),
    );
    expect((await verifyLogEntries(entries, cp, node.publicJwk as JWK, { origin: ORIGIN })).ok).toBe(true);
    // In two pieces: the first with a proof to 37, the second continuing from its range.
    const proof = await store.consistencyProof(20, 37);
    if (!proof.ok) throw new Error(proof.reason);
    const first = await verifyLogEntries(entries.slice(0, 20), cp, node.publicJwk as JWK, {
      proof: proof.value.map(toHex),
    });
    expect(first.ok).toBe(true);
    if (!first.ok) return;
    const second = await verifyLogEntries(entries.slice(20), cp, node.publicJwk as JWK, {
      from: first.range,
    });
    expect(second.ok).toBe(true);
    // A withheld body (leaf hash only) still lets the run be checked.
    const withheld = entries.map((e, i) => (i === 5 ? { index: e.index, leafHash: e.leafHash } : e));
    expect((await verifyLogEntries(withheld, cp, node.publicJwk as JWK)).ok).toBe(true);
  });

  it("detects a tampered entry, whether its served leaf hash was left alone or recomputed", async () => {
    const { jws, store } = await logOf(16);
    const cp = await checkpointOf(store);
    const entries = await Promise.all(
      jws.map(async (j, index) => ({ index, jws: j, leafHash: toHex(await hashLeaf(utf8.encode(j))) })),
    );
    const tampered = entries.map((e, i) => (i === 9 ? { ...e, jws: alter(e.jws) } : e));
    expect(await verifyLogEntries(tampered, cp, node.publicJwk as JWK)).toMatchObject({
      ok: false,
      index: 9,
    });
    const smart = await Promise.all(
      tampered.map(async (e) => ({ ...e, leafHash: toHex(await hashLeaf(utf8.encode(e.jws))) })),
    );
    expect(await verifyLogEntries(smart, cp, node.publicJwk as JWK)).toMatchObject({ ok: false });
    // Reordered, dropped, or one too many.
    const swapped = [...entries];
    [swapped[3], swapped[4]] = [
      { ...entries[4]!, index: 3 },
      { ...entries[3]!, index: 4 },
    ];
    expect((await verifyLogEntries(swapped, cp, node.publicJwk as JWK)).ok).toBe(false);
    expect(
      (
        await verifyLogEntries(
          entries.filter((_, i) => i !== 2),
          cp,
          node.publicJwk as JWK,
        )
      ).ok,
    ).toBe(false);
    const extra = [
      ...entries,
      { index: 16, jws: "x.y.z", leafHash: toHex(await hashLeaf(utf8.encode("x.y.z"))) },
    ];
    expect((await verifyLogEntries(extra, cp, node.publicJwk as JWK)).ok).toBe(false);
    // A prefix with a proof that belongs to another size.
    const wrong = await store.consistencyProof(9, 16);
    if (!wrong.ok) throw new Error(wrong.reason);
    expect(
      (
        await verifyLogEntries(entries.slice(0, 10), cp, node.publicJwk as JWK, {
          proof: wrong.value.map(toHex),
        })
      ).ok,
    ).toBe(false);
  });
});

describe("withheld leaves (node-local records)", () => {
  /** A record JWS of `kind` (only its payload's kind matters to the leaf format). */
  const recordOf = (kind: string, i: number) =>
    `eyJhbGciOiJFZERTQSJ9.${btoa(JSON.stringify({ kind, n: i })).replace(/=+$/, "")}.sig${i}`;
  const sha256 = async (s: string) => new Uint8Array(await crypto.subtle.digest("SHA-256", utf8.encode(s)));

  async function mixedLog() {
    const kinds = ["submission.create", "signal.create", "participant.revoke", "participant.apicred.set"];
    const records = kinds.map(recordOf);
    const store = new MemoryNodeStore();
    const leaves: Uint8Array[] = [];
    for (const [i, r] of records.entries()) {
      const kind = kinds[i]!;
      const leaf = isNodeLocalKind(kind)
        ? await withheldLeafHash(kind, await sha256(r))
        : await hashLeaf(utf8.encode(r));
      leaves.push(leaf);
    }
    for (const leaf of leaves) await store.append(leaf);
    return { kinds, records, leaves, store };
  }

  it("a withheld node-local entry verifies by its commitment; another kind or digest does not", async () => {
    const { kinds, records, leaves, store } = await mixedLog();
    const cp = await checkpointOf(store);
    const served = await Promise.all(
      records.map(async (r, index) =>
        isNodeLocalKind(kinds[index]!)
          ? { index, kind: kinds[index]!, leafHash: toHex(leaves[index]!), jwsSha256: toHex(await sha256(r)) }
          : { index, kind: kinds[index]!, jws: r, leafHash: toHex(leaves[index]!) },
      ),
    );
    expect((await verifyLogEntries(served, cp, node.publicJwk as JWK)).ok).toBe(true);
    const asOtherKind = served.map((e) => (e.index === 1 ? { ...e, kind: "signal.retract" } : e));
    expect(await verifyLogEntries(asOtherKind, cp, node.publicJwk as JWK)).toMatchObject({
      ok: false,
      index: 1,
    });
    const otherDigest = served.map((e) => (e.index === 3 ? { ...e, jwsSha256: "00".repeat(32) } : e));
    expect(await verifyLogEntries(otherDigest, cp, node.publicJwk as JWK)).toMatchObject({
      ok: false,
      index: 3,
    });
    // A replicated record claimed node-local: no digest makes its leaf a withheld one.
    const claimed = served.map((e) =>
      e.index === 2
        ? { index: 2, kind: "signal.create", leafHash: e.leafHash, jwsSha256: "11".repeat(32) }
        : e,
    );
    expect(await verifyLogEntries(claimed, cp, node.publicJwk as JWK)).toMatchObject({ ok: false, index: 2 });
  });

  it("the leaf of a record is its JWS, or the withheld form for a node-local kind; receipts verify either way", async () => {
    const { records, leaves, store } = await mixedLog();
    const cp = await checkpointOf(store);
    for (const [i, r] of records.entries()) {
      expect(toHex(await recordLeafHash(r))).toBe(toHex(leaves[i]!));
      const proof = await store.inclusionProof(i, store.size);
      if (!proof.ok) throw new Error(proof.reason);
      const receipt = {
        logIndex: i,
        leafHash: toHex(leaves[i]!),
        treeSize: store.size,
        inclusionProof: proof.value.map(toHex),
        checkpoint: cp,
      };
      expect((await verifyWriteReceipt(receipt, node.publicJwk as JWK, r)).ok).toBe(true);
      expect((await verifyWriteReceipt(receipt, node.publicJwk as JWK, alter(r))).ok).toBe(false);
    }
    // No JWS can be a withheld leaf's bytes: it never contains "/" or "|".
    expect(WITHHELD_LEAF_PREFIX).toMatch(/[/|]/);
  });
});
