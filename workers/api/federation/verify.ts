// Verification of a record replicated from a peer's log, against the ORIGINATING participant's
// key history as this node knows it (docs/federation.md, "Verifying a replicated record"). The
// bytes were already tied to the peer's signed checkpoint by the puller; this decides whether the
// record is authentic and acceptable here. Same header, signature and schema checks as a direct
// write (auth/verify.ts), with two differences that follow from replication: `aud` must be the
// origin peer (never this node, never any other), and there is no freshness window — a record
// is judged by whether its key was valid when it was signed, not by when it arrives.
import {
  MAX_CLOCK_SKEW_S,
  type PeerConfig,
  RECORD_SCHEMAS,
  type RecordKind,
  WRITE_TYP,
  WriteClaims,
} from "@eusn/protocol";
import { eq } from "drizzle-orm";
import { records } from "../../../schema/index.ts";
import { APPLIERS } from "../apply/index.ts";
import {
  b64urlJson,
  COMPACT_JWS,
  checkHeader,
  requireRole,
  type VerifiedWrite,
  verifySignature,
} from "../auth/verify.ts";
import type { Db } from "../lib/db.ts";
import { sha256Hex } from "../lib/encoding.ts";
import { ApiError } from "../lib/problem.ts";
import { getKey, getParticipant, type KeyRow, type ParticipantRow } from "../store/participants.ts";

/**
 * `refuse`: the peer's log holds something no honest node logs (a malformed JWS, a signature
 * that does not verify with the key its issuer has) — the pull stops there and it is reported.
 * `skip`: an authentic entry of the peer's log that this node does not apply (addressed to
 * another node, a node-local kind, a signer this node does not know, a rule that fails here) —
 * recorded with its reason, and the pull goes on.
 */
export type ReplicaCheck =
  | { ok: true; w: VerifiedWrite<RecordKind> }
  | { ok: false; disposition: "refuse" | "skip"; code: string; reason: string };

const refuse = (code: string, reason: string): ReplicaCheck => ({
  ok: false,
  disposition: "refuse",
  code,
  reason,
});
const skip = (code: string, reason: string): ReplicaCheck => ({
  ok: false,
  disposition: "skip",
  code,
  reason,
});

/**
 * Was `key` of `participant` good for a record signed at `iat` that `origin` accepted?
 * - active key of an active participant: yes — records are applied in the origin's log order,
 *   so this is the state the origin judged the record in;
 * - retired key or revoked participant: only if the record was signed before that took effect
 *   (`iat` < valid_until: "a record signed before a revocation stays valid"), and never when the
 *   retirement or revocation came earlier in the origin's own log (the origin would have refused
 *   it; a backdated `iat` cannot undo the order the origin logged).
 */
async function keyValidFor(
  db: Db,
  participant: ParticipantRow,
  key: KeyRow,
  iat: number,
  origin: string,
): Promise<string | undefined> {
  if (key.status === "active" && participant.status === "active") {
    if (iat + MAX_CLOCK_SKEW_S < key.validFrom) return `signed at ${iat}, before key ${key.kid} was added`;
    return undefined;
  }
  if (key.validUntil === null || iat >= key.validUntil) {
    return `key ${key.kid} of ${participant.id} was retired or revoked before the record was signed`;
  }
  for (const endedBy of [key.retiredRecordId, participant.revocationRecordId]) {
    if (!endedBy) continue;
    const row = await db
      .select({ origin: records.originNode })
      .from(records)
      .where(eq(records.id, endedBy))
      .get();
    if (row?.origin === origin) {
      return `key ${key.kid} of ${participant.id} was retired or revoked earlier in ${origin}'s own log`;
    }
  }
  return undefined;
}

export async function verifyReplicated(
  db: Db,
  d1: D1Database,
  jws: string,
  peer: PeerConfig,
): Promise<ReplicaCheck> {
  if (!COMPACT_JWS.test(jws)) return refuse("malformed_jws", "not a compact JWS");
  const [h, p, s] = jws.split(".") as [string, string, string];
  let alg: ReturnType<typeof checkHeader>["alg"];
  let kid: string;
  let unverified: Record<string, unknown>;
  try {
    ({ alg, kid } = checkHeader(b64urlJson(h, "header"), WRITE_TYP));
    unverified = b64urlJson(p, "payload");
  } catch (e) {
    return refuse("malformed_jws", e instanceof ApiError ? (e.detail ?? e.code) : "unreadable JWS");
  }
  if (s.length === 0) return refuse("malformed_jws", "the JWS has no signature");
  // Only records the peer itself accepted (aud = the peer): what it replicated from a third node
  // is pulled from that node directly, and nothing addressed to this node comes back this way.
  if (unverified.aud !== peer.nodeId) {
    return skip("not_origin", `addressed to ${JSON.stringify(unverified.aud)}, not to ${peer.nodeId}`);
  }
  const kind = unverified.kind;
  if (typeof kind !== "string" || !Object.hasOwn(APPLIERS, kind)) {
    return skip("node_local", `kind ${JSON.stringify(kind)} is not replicated`);
  }
  const iss = unverified.iss;
  if (typeof iss !== "string") return refuse("malformed_jws", "no iss");
  const participant = await getParticipant(db, iss);
  const key = participant ? await getKey(db, iss, kid) : undefined;
  if (!participant || !key) return skip("unknown_signer", `${iss} with key ${kid} is not known on this node`);
  let payload: Uint8Array;
  try {
    payload = await verifySignature(jws, key, alg);
  } catch (e) {
    return refuse("bad_signature", e instanceof ApiError ? (e.detail ?? e.code) : "signature did not verify");
  }
  const parsed = WriteClaims.safeParse(JSON.parse(new TextDecoder().decode(payload)));
  if (!parsed.success) return skip("invalid_record", "the signed claims do not validate here");
  const claims = parsed.data;
  const notValid = await keyValidFor(db, participant, key, claims.iat, peer.nodeId);
  if (notValid) return skip("key_not_valid", notValid);
  const applier = APPLIERS[kind as RecordKind]!;
  try {
    requireRole(participant, applier.roles);
  } catch (e) {
    return skip("forbidden", (e as ApiError).detail ?? "role");
  }
  const record = RECORD_SCHEMAS[kind as RecordKind].safeParse(claims.record);
  if (!record.success) return skip("invalid_record", "the record does not validate here");
  const seen = await d1
    .prepare("SELECT id FROM records WHERE issuer = ? AND jti = ?")
    .bind(claims.iss, claims.jti)
    .first<{ id: string }>();
  if (seen) return skip("duplicate", `already stored as ${seen.id}`);
  return {
    ok: true,
    w: {
      kind: kind as RecordKind,
      jws,
      jwsSha256: await sha256Hex(jws),
      claims,
      record: record.data,
      caller: { participant, key },
    } as VerifiedWrite<RecordKind>,
  };
}
