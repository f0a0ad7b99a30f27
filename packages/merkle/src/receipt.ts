// Offline verification of a log receipt: the record the holder has is the leaf the node logged,
// that leaf is in the tree the node signed a checkpoint for, and the checkpoint is the node's.
import type { JWK } from "jose";
import { bytesEqual, fromHex } from "./bytes.ts";
import { type Checkpoint, checkpointRoot, verifyCheckpointJws } from "./checkpoint.ts";
import { hashLeaf, isCount, withheldLeafHash } from "./hash.ts";
import { fail, type Result } from "./result.ts";
import { verifyInclusion } from "./verify.ts";

/** What the node hands back for an appended record (hashes as 64 lowercase hex digits). */
export interface Receipt {
  /** Position of the record's leaf in the log (0-based). */
  logIndex: number;
  /** RFC 6962 leaf hash of the record bytes: SHA-256(0x00 || record). */
  leafHash: string;
  /** Size of the tree the proof and checkpoint are for (> logIndex). */
  treeSize: number;
  /** Audit path of `logIndex` in the tree of `treeSize` leaves, leaf side first. */
  inclusionProof: string[];
  /** Compact JWS of the checkpoint for `treeSize`, signed by the node key. */
  checkpoint: string;
}

const HEX32 = /^[0-9a-f]{64}$/;
/** Longer than any inclusion proof in a tree of at most 2^53 leaves: rejects junk before hashing. */
const MAX_PROOF = 64;

/** Validates an untrusted value as a Receipt (shapes only; verifyReceipt does the cryptography). */
export function parseReceipt(value: unknown): Result<Receipt> {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return fail("receipt is not an object");
  const { logIndex, leafHash, treeSize, inclusionProof, checkpoint } = value as Record<string, unknown>;
  if (typeof logIndex !== "number" || !isCount(logIndex)) return fail("logIndex must be an integer >= 0");
  if (typeof treeSize !== "number" || !isCount(treeSize)) return fail("treeSize must be an integer >= 0");
  if (typeof leafHash !== "string" || !HEX32.test(leafHash))
    return fail("leafHash must be 64 lowercase hex digits");
  if (
    !Array.isArray(inclusionProof) ||
    inclusionProof.length > MAX_PROOF ||
    !inclusionProof.every((h): h is string => typeof h === "string" && HEX32.test(h))
  ) {
    return fail("inclusionProof must be an array of 64-lowercase-hex-digit hashes");
  }
  if (typeof checkpoint !== "string") return fail("checkpoint must be a compact JWS string");
  return { ok: true, value: { logIndex, leafHash, treeSize, inclusionProof, checkpoint } };
}

/**
 * Verifies a receipt offline against the node's public key and the original record bytes (a
 * string is taken as its UTF-8 bytes, e.g. the compact JWS of the record):
 * 1. the checkpoint JWS is signed by `nodePublicJwk` (and is from `options.origin`, if given);
 * 2. it is for the receipt's `treeSize`;
 * 3. `leafHash` is the RFC 6962 leaf hash of `record` — or, with `options.withheldKind`, of the
 *    withheld leaf committing to that kind and the record's SHA-256 (`withheldLeaf`);
 * 4. the inclusion proof puts that leaf at `logIndex` under the checkpoint's root.
 */
export async function verifyReceipt(
  receipt: Receipt,
  nodePublicJwk: JWK,
  record: Uint8Array | string,
  options: { origin?: string; withheldKind?: string } = {},
): Promise<{ ok: true; checkpoint: Checkpoint } | { ok: false; reason: string }> {
  // Receipts arrive over the network: re-check the shape even when the static type says Receipt.
  const parsed = parseReceipt(receipt);
  if (!parsed.ok) return parsed;
  const r = parsed.value;
  const signed = await verifyCheckpointJws(r.checkpoint, nodePublicJwk, options);
  if (!signed.ok) return signed;
  const checkpoint = signed.checkpoint;
  if (checkpoint.treeSize !== r.treeSize) {
    return fail(`receipt is for tree size ${r.treeSize}, its checkpoint for ${checkpoint.treeSize}`);
  }
  const bytes = typeof record === "string" ? new TextEncoder().encode(record) : record;
  const leafHash =
    options.withheldKind === undefined
      ? await hashLeaf(bytes)
      : await withheldLeafHash(
          options.withheldKind,
          new Uint8Array(await crypto.subtle.digest("SHA-256", bytes.slice())),
        );
  if (!bytesEqual(leafHash, fromHex(r.leafHash) as Uint8Array))
    return fail("leafHash is not the leaf hash of the record");
  const included = await verifyInclusion({
    leafIndex: r.logIndex,
    treeSize: r.treeSize,
    leafHash,
    proof: r.inclusionProof.map((h) => fromHex(h) as Uint8Array),
    rootHash: checkpointRoot(checkpoint),
  });
  if (!included.ok) return included;
  return { ok: true, checkpoint };
}
