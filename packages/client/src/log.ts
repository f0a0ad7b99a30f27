// Offline checks of a node's transparency log for participants, auditors and monitors
// (docs/federation.md): a write receipt against the exact JWS the writer sent, the consistency
// of two checkpoints (fork detection), and a run of downloaded log entries against a signed
// checkpoint. Everything here verifies with the node's public key only (its
// /.well-known/jwks.json) and trusts nothing else the node or a relay says. Built on
// @eusn/merkle (RFC 6962 hashing, RFC 9162 verification).
import {
  bytesEqual,
  type Checkpoint,
  CompactRange,
  detectFork,
  fromHex,
  hashLeaf,
  toHex,
  verifyCheckpointJws,
  verifyConsistency,
  verifyReceipt,
  withheldLeafHash,
} from "@eusn/merkle";
import type { LogCheckpoint, LogConsistency, LogInclusion } from "@eusn/protocol";
import { isNodeLocalKind } from "@eusn/protocol/plain";
import type { JWK } from "jose";
import type { FetchLike } from "./client.ts";

export { type Checkpoint, CompactRange, verifyCheckpointJws, verifyReceipt };

/** What the node logged for a write: a WriteReceipt fetched with ?proof=1, or a LogInclusion. */
export type ProvenReceipt = Pick<
  LogInclusion,
  "logIndex" | "leafHash" | "treeSize" | "inclusionProof" | "checkpoint"
>;

/**
 * Checks a write receipt offline: the checkpoint is signed by the node key (and is from
 * `origin`), the leaf hash is that of exactly `jws`, and the inclusion proof puts it at
 * `logIndex` under the signed root. Ask for the proof with `?proof=1` on the write, or fetch it
 * later with fetchInclusion().
 */
export function verifyWriteReceipt(
  receipt: ProvenReceipt,
  nodeJwk: JWK,
  jws: string,
  options: { origin?: string } = {},
) {
  const kind = kindOf(jws);
  return verifyReceipt(receipt, nodeJwk, jws, {
    ...options,
    ...(kind !== undefined && isNodeLocalKind(kind) ? { withheldKind: kind } : {}),
  });
}

/** The signed `kind` of a record JWS (unverified: the leaf format follows from the bytes alone). */
function kindOf(jws: string): string | undefined {
  try {
    const p = jws.split(".")[1] ?? "";
    const text = new TextDecoder().decode(
      Uint8Array.from(atob(p.replaceAll("-", "+").replaceAll("_", "/")), (c) => c.charCodeAt(0)),
    );
    const kind = (JSON.parse(text) as { kind?: unknown }).kind;
    return typeof kind === "string" ? kind : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The log leaf hash of a record: SHA-256(0x00 ‖ JWS), or for a node-local kind the withheld leaf
 * that commits to its kind and SHA-256 (docs/federation.md "Withheld leaves").
 */
export async function recordLeafHash(jws: string): Promise<Uint8Array> {
  const bytes = new TextEncoder().encode(jws);
  const kind = kindOf(jws);
  if (kind === undefined || !isNodeLocalKind(kind)) return hashLeaf(bytes);
  return withheldLeafHash(kind, new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)));
}

export type ConsistencyCheck =
  | { ok: true; older: Checkpoint; newer: Checkpoint }
  | { ok: false; fork: boolean; reason: string };

/**
 * Checks that two checkpoints of one node describe one append-only history: both signed by the
 * node key, and `proof` (GET /v1/log/consistency?first=older&second=newer, hex) proves the
 * smaller tree a prefix of the larger. `fork: true` means the node signed two histories: keep
 * both JWSs, they are the evidence.
 */
export async function verifyCheckpointConsistency(
  a: string,
  b: string,
  proof: readonly string[],
  nodeJwk: JWK,
  options: { origin?: string } = {},
): Promise<ConsistencyCheck> {
  const first = await verifyCheckpointJws(a, nodeJwk, options);
  if (!first.ok) return { ok: false, fork: false, reason: first.reason };
  const second = await verifyCheckpointJws(b, nodeJwk, options);
  if (!second.ok) return { ok: false, fork: false, reason: second.reason };
  const bytes = proof.map(fromHex);
  if (bytes.some((h) => h === undefined))
    return { ok: false, fork: false, reason: "proof is not lowercase hex" };
  const check = await detectFork(first.checkpoint, second.checkpoint, bytes as Uint8Array[]);
  if (check.status === "consistent") {
    const [older, newer] =
      first.checkpoint.treeSize <= second.checkpoint.treeSize
        ? [first.checkpoint, second.checkpoint]
        : [second.checkpoint, first.checkpoint];
    return { ok: true, older, newer };
  }
  return { ok: false, fork: check.status === "fork", reason: check.reason };
}

/**
 * A downloaded log entry: its index and either the JWS (the leaf) or, when withheld, its leaf
 * hash — with, for a node-local record, its kind and the digest its leaf commits to.
 */
export type EntryLike = {
  index: number;
  jws?: string | undefined;
  leafHash: string;
  kind?: string | undefined;
  jwsSha256?: string | undefined;
};

export type EntriesCheck =
  | { ok: true; range: CompactRange; checkpoint: Checkpoint }
  | { ok: false; reason: string; index?: number };

/**
 * Checks a contiguous run of log entries against a signed checkpoint, offline. `from` is the
 * compact range of everything before the first entry (CompactRange.empty() when starting at 0;
 * the returned `range` continues a later call). When the entries stop short of the checkpoint's
 * size, `proof` must be the consistency proof from their end to it (GET /v1/log/consistency).
 * A JWS altered by one byte, an entry dropped, added or reordered: all fail.
 */
export async function verifyLogEntries(
  entries: readonly EntryLike[],
  checkpointJws: string,
  nodeJwk: JWK,
  options: { from?: CompactRange; proof?: readonly string[]; origin?: string } = {},
): Promise<EntriesCheck> {
  const signed = await verifyCheckpointJws(checkpointJws, nodeJwk, options);
  if (!signed.ok) return signed;
  const cp = signed.checkpoint;
  let range = options.from ?? CompactRange.empty();
  for (const e of entries) {
    if (e.index !== range.size)
      return { ok: false, reason: `expected entry ${range.size}, got ${e.index}`, index: e.index };
    const leaf = e.jws === undefined ? fromHex(e.leafHash) : await recordLeafHash(e.jws);
    if (leaf?.length !== 32) return { ok: false, reason: "bad leaf hash", index: e.index };
    if (e.jws !== undefined && toHex(leaf) !== e.leafHash) {
      return {
        ok: false,
        reason: `entry ${e.index}: the JWS does not hash to the leaf hash served with it`,
        index: e.index,
      };
    }
    // A withheld node-local entry carries the digest its leaf commits to: check the commitment.
    if (e.jws === undefined && e.jwsSha256 !== undefined) {
      const digest = fromHex(e.jwsSha256);
      const committed =
        digest && e.kind !== undefined && isNodeLocalKind(e.kind)
          ? toHex(await withheldLeafHash(e.kind, digest))
          : undefined;
      if (committed !== e.leafHash) {
        return {
          ok: false,
          reason: `entry ${e.index}: its leaf does not commit to a node-local ${e.kind ?? "record"} with that digest`,
          index: e.index,
        };
      }
    }
    range = await range.append(leaf);
  }
  if (range.size > cp.treeSize)
    return { ok: false, reason: `entries run past the checkpoint's size ${cp.treeSize}` };
  const root = await range.root();
  const signedRoot = fromHex(cp.rootHash)!;
  if (range.size === cp.treeSize) {
    if (!bytesEqual(root, signedRoot))
      return { ok: false, reason: "the entries do not hash to the checkpoint's root" };
    return { ok: true, range, checkpoint: cp };
  }
  const proof = (options.proof ?? []).map(fromHex);
  if (proof.some((h) => h === undefined)) return { ok: false, reason: "proof is not lowercase hex" };
  const consistent = await verifyConsistency({
    firstSize: range.size,
    secondSize: cp.treeSize,
    firstRoot: root,
    secondRoot: signedRoot,
    proof: proof as Uint8Array[],
  });
  if (!consistent.ok)
    return { ok: false, reason: `the entries are not a prefix of the checkpoint: ${consistent.reason}` };
  return { ok: true, range, checkpoint: cp };
}

async function getJson<T>(f: FetchLike, url: string): Promise<T> {
  const res = await f(url, { headers: { accept: "application/json" } });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

/** GET {baseUrl}/v1/log/checkpoint (public). */
export function fetchCheckpoint(baseUrl: string, f: FetchLike = (i, init) => fetch(i, init)) {
  return getJson<LogCheckpoint>(f, `${baseUrl.replace(/\/$/, "")}/v1/log/checkpoint`);
}

/** GET {baseUrl}/v1/log/consistency (public); `second` defaults to the latest checkpoint's size. */
export function fetchConsistency(
  baseUrl: string,
  first: number,
  second?: number,
  f: FetchLike = (i, init) => fetch(i, init),
) {
  const q = second === undefined ? `first=${first}` : `first=${first}&second=${second}`;
  return getJson<LogConsistency>(f, `${baseUrl.replace(/\/$/, "")}/v1/log/consistency?${q}`);
}

/** GET {baseUrl}/v1/log/inclusion (public), by log index or leaf hash: a receipt for verifyWriteReceipt. */
export function fetchInclusion(
  baseUrl: string,
  by: { index: number } | { leafHash: string },
  f: FetchLike = (i, init) => fetch(i, init),
) {
  const q = "index" in by ? `index=${by.index}` : `leafHash=${by.leafHash}`;
  return getJson<LogInclusion>(f, `${baseUrl.replace(/\/$/, "")}/v1/log/inclusion?${q}`);
}
