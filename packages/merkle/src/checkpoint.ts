// Signed checkpoints (the signed tree heads of RFC 6962 §3.5, in JOSE form): the payload type,
// its canonical encoding, validation without zod, JWS verification with `jose`, and fork
// detection between two checkpoints of the same log.
import { CompactSign, type CryptoKey, compactVerify, type JWK } from "jose";
import { bytesEqual, fromHex } from "./bytes.ts";
import { EMPTY_ROOT_HEX, isCount } from "./hash.ts";
import { fail, type Result, type VerifyResult } from "./result.ts";
import { verifyConsistency } from "./verify.ts";

/**
 * A checkpoint: "node `origin` says its log had `treeSize` leaves with Merkle Tree Hash
 * `rootHash` at `timestamp`". Signed by the node key as a compact JWS whose payload is
 * encodeCheckpointPayload(checkpoint) and whose protected header has `typ: CHECKPOINT_TYP`.
 */
export interface Checkpoint {
  /** The node id of the log (e.g. "eusn-eu"); printable ASCII, no spaces, 1–256 characters. */
  origin: string;
  /** Number of leaves in the tree. */
  treeSize: number;
  /**
   * RFC 6962 Merkle Tree Hash of the first `treeSize` leaves as 64 lowercase hex digits — hex
   * like every other hash on EUSN's wire (`jwsSha256`), and one spelling only, so the signed
   * bytes are canonical.
   */
  rootHash: string;
  /** When the node produced it, in milliseconds since the Unix epoch (as RFC 6962 §3.5 does). */
  timestamp: number;
}

/**
 * JOSE `typ` of a checkpoint JWS. Explicit typing (RFC 8725 §3.11) keeps anything else the node
 * key signs (receipts, snapshots) from being accepted as a checkpoint, and the other way round.
 */
export const CHECKPOINT_TYP = "eusn-checkpoint+json";

/** Signature algorithms accepted for checkpoints; never `none`, never HMAC. */
export const CHECKPOINT_ALGS = ["EdDSA", "ES256"] as const;
export type CheckpointAlg = (typeof CHECKPOINT_ALGS)[number];

const KEYS = ["origin", "treeSize", "rootHash", "timestamp"] as const;
const ORIGIN = /^[\x21-\x7e]{1,256}$/;
const ROOT_HEX = /^[0-9a-f]{64}$/;

/** Validates an untrusted value as a Checkpoint (exact keys, exact types, canonical hex). */
export function parseCheckpoint(value: unknown): Result<Checkpoint> {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return fail("checkpoint is not an object");
  const o = value as Record<string, unknown>;
  // Exact key set: a signed payload carrying fields no verifier checks is an ambiguity we refuse.
  const extra = Object.keys(o).filter((k) => !(KEYS as readonly string[]).includes(k));
  if (extra.length > 0) return fail(`checkpoint has unknown fields: ${extra.join(", ")}`);
  const { origin, treeSize, rootHash, timestamp } = o;
  if (typeof origin !== "string" || !ORIGIN.test(origin))
    return fail("origin must be 1-256 printable ASCII characters");
  if (typeof treeSize !== "number" || !isCount(treeSize)) return fail("treeSize must be an integer >= 0");
  if (typeof rootHash !== "string" || !ROOT_HEX.test(rootHash))
    return fail("rootHash must be 64 lowercase hex digits");
  if (typeof timestamp !== "number" || !isCount(timestamp))
    return fail("timestamp must be integer milliseconds >= 0");
  if (treeSize === 0 && rootHash !== EMPTY_ROOT_HEX)
    return fail("an empty tree's root must be SHA-256 of the empty string");
  return { ok: true, value: { origin, treeSize, rootHash, timestamp } };
}

/**
 * The canonical payload bytes: UTF-8 JSON with the keys in the order origin, treeSize, rootHash,
 * timestamp and no whitespace. One checkpoint has exactly one encoding, so two signed
 * checkpoints can be compared (and fork evidence exchanged) byte for byte.
 */
export function encodeCheckpointPayload(checkpoint: Checkpoint): Uint8Array {
  const { origin, treeSize, rootHash, timestamp } = checkpoint;
  return new TextEncoder().encode(JSON.stringify({ origin, treeSize, rootHash, timestamp }));
}

/** The root of a (validated) checkpoint as bytes. */
export function checkpointRoot(checkpoint: Checkpoint): Uint8Array {
  return fromHex(checkpoint.rootHash) ?? new Uint8Array(0);
}

/**
 * Signs a checkpoint as a compact JWS with the canonical payload and `typ`. A convenience for
 * the node (which holds the key) and for tests; throws TypeError on an invalid checkpoint,
 * which can only come from a bug in the caller.
 */
export async function signCheckpoint(
  checkpoint: Checkpoint,
  privateKey: CryptoKey | JWK,
  options: { alg: CheckpointAlg; kid?: string },
): Promise<string> {
  const parsed = parseCheckpoint(checkpoint);
  if (!parsed.ok) throw new TypeError(`refusing to sign an invalid checkpoint: ${parsed.reason}`);
  const header = {
    alg: options.alg,
    typ: CHECKPOINT_TYP,
    ...(options.kid === undefined ? {} : { kid: options.kid }),
  };
  return new CompactSign(encodeCheckpointPayload(parsed.value)).setProtectedHeader(header).sign(privateKey);
}

/** The algorithm a public JWK is for, or why it cannot verify checkpoints. */
function algOf(jwk: JWK): Result<CheckpointAlg> {
  if ("d" in jwk) return fail("a private JWK was given where the node's public key is expected");
  let alg: CheckpointAlg;
  if (jwk.kty === "OKP" && jwk.crv === "Ed25519") alg = "EdDSA";
  else if (jwk.kty === "EC" && jwk.crv === "P-256") alg = "ES256";
  else return fail("node key must be an Ed25519 (OKP) or P-256 (EC) public JWK");
  // RFC 9864's fully specified "Ed25519" names the same algorithm as "EdDSA" with this key.
  if (jwk.alg !== undefined && jwk.alg !== alg && !(alg === "EdDSA" && jwk.alg === "Ed25519")) {
    return fail(`node key is marked alg ${jwk.alg}, not ${alg}`);
  }
  return { ok: true, value: alg };
}

export type CheckpointVerification =
  | { ok: true; checkpoint: Checkpoint; kid?: string }
  | { ok: false; reason: string };

/**
 * Verifies a checkpoint JWS against the node's public JWK, offline: signature (EdDSA or ES256,
 * pinned to the key's own algorithm so a header cannot pick another), `typ`, and a payload that
 * is a valid checkpoint in canonical encoding. `options.origin`, when given, must match.
 */
export async function verifyCheckpointJws(
  jws: string,
  nodePublicJwk: JWK,
  options: { origin?: string } = {},
): Promise<CheckpointVerification> {
  const alg = algOf(nodePublicJwk);
  if (!alg.ok) return alg;
  let payload: Uint8Array;
  let typ: string | undefined;
  let kid: string | undefined;
  try {
    const verified = await compactVerify(jws, nodePublicJwk, { algorithms: [alg.value] });
    payload = verified.payload;
    typ = verified.protectedHeader.typ;
    kid = verified.protectedHeader.kid;
  } catch (e) {
    const code = typeof e === "object" && e !== null && "code" in e ? String(e.code) : "error";
    return fail(`checkpoint signature did not verify (${code})`);
  }
  if (typ !== CHECKPOINT_TYP) return fail(`JWS typ is ${String(typ)}, not ${CHECKPOINT_TYP}`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(payload));
  } catch {
    return fail("checkpoint payload is not UTF-8 JSON");
  }
  const parsed = parseCheckpoint(json);
  if (!parsed.ok) return parsed;
  if (!bytesEqual(payload, encodeCheckpointPayload(parsed.value)))
    return fail("checkpoint payload is not canonical");
  if (options.origin !== undefined && parsed.value.origin !== options.origin) {
    return fail(`checkpoint is from ${parsed.value.origin}, not ${options.origin}`);
  }
  return { ok: true, checkpoint: parsed.value, ...(kid === undefined ? {} : { kid }) };
}

export type ForkCheck =
  /** The smaller tree is a prefix of the larger (or the same tree re-signed). */
  | { status: "consistent" }
  /** Two histories for one log: keep both signed checkpoints as evidence and report the node. */
  | { status: "fork"; reason: string; older: Checkpoint; newer: Checkpoint }
  /** Different logs (origins), or a malformed checkpoint: nothing to compare. */
  | { status: "not_comparable"; reason: string };

/**
 * Decides whether two checkpoints of one log (already signature-verified) describe one
 * append-only history. Same size: the roots must be equal. Different sizes: `consistencyProof`
 * between the two sizes (order of the arguments does not matter) must verify.
 *
 * The proof must come from the log itself (or any source: it is self-authenticating). A log is
 * obliged to prove consistency between any two checkpoints it signed; when the proof it serves
 * does not verify, nobody can tell its history from a fork, so this reports a fork. Keep the two
 * JWSs as the evidence: each is signed by the node.
 */
export async function detectFork(
  a: Checkpoint,
  b: Checkpoint,
  consistencyProof: readonly Uint8Array[],
): Promise<ForkCheck> {
  for (const c of [a, b]) {
    const parsed = parseCheckpoint(c);
    if (!parsed.ok) return { status: "not_comparable", reason: parsed.reason };
  }
  if (a.origin !== b.origin)
    return { status: "not_comparable", reason: `origins differ (${a.origin}, ${b.origin})` };
  const [older, newer] = a.treeSize <= b.treeSize ? [a, b] : [b, a];
  if (older.treeSize === newer.treeSize) {
    if (older.rootHash === newer.rootHash) return { status: "consistent" };
    return { status: "fork", reason: `two different roots for tree size ${older.treeSize}`, older, newer };
  }
  const check: VerifyResult = await verifyConsistency({
    firstSize: older.treeSize,
    secondSize: newer.treeSize,
    firstRoot: checkpointRoot(older),
    secondRoot: checkpointRoot(newer),
    proof: consistencyProof,
  });
  if (check.ok) return { status: "consistent" };
  return {
    status: "fork",
    reason: `no consistency between sizes ${older.treeSize} and ${newer.treeSize}: ${check.reason}`,
    older,
    newer,
  };
}
