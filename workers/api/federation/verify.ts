// Verification of a record replicated from a peer's log, against the ORIGINATING participant's
// key history as this node knows it (docs/federation.md, "Verifying a replicated record"). The
// bytes were already tied to the peer's signed checkpoint by the puller; this decides whether the
// record is authentic and what becomes of it here. The checks are the ones every record passes
// (auth/verify.ts `verifyRecord`), with what follows from replication: `aud` must be the origin
// peer (never this node, never any other), there is no freshness window, and the signer is judged
// by its key history at the record's signed time — a record signed after its key was retired or
// its signer revoked is stored but void, on every node alike, whatever order they learn things in.
import type { PeerConfig, RecordKind } from "@eusn/protocol";
import { APPLIERS } from "../apply/index.ts";
import { b64urlJson, COMPACT_JWS, requireRole, type VerifiedWrite, verifyRecord } from "../auth/verify.ts";
import type { Db } from "../lib/db.ts";
import { ApiError } from "../lib/problem.ts";
import { getKey, getParticipant } from "../store/participants.ts";

/**
 * `refuse`: the peer's log holds something no honest node logs (a malformed JWS, a signature that
 * does not verify with the key its issuer has) — the pull stops there and it is reported.
 * `skip`: an authentic entry of the peer's log that this node does not apply (addressed to another
 * node, a node-local kind, a role or record that no node accepts) — recorded with its reason, the
 * same on every node, and the pull goes on.
 * `wait`: signed by a participant or key this node does not know yet — held until the record that
 * admits it arrives (federation_pending).
 */
export type ReplicaCheck =
  | { ok: true; w: VerifiedWrite<RecordKind> }
  | { ok: false; disposition: "refuse" | "skip"; code: string; reason: string }
  | { ok: false; disposition: "wait"; code: "pending"; reason: string; waitingFor: string };

type Refusal = Extract<ReplicaCheck, { disposition: "refuse" | "skip" }>;

const refuse = (code: string, reason: string): Refusal => ({
  ok: false,
  disposition: "refuse",
  code,
  reason,
});
const skip = (code: string, reason: string): Refusal => ({
  ok: false,
  disposition: "skip",
  code,
  reason,
});

class Wait extends Error {
  constructor(readonly waitingFor: string) {
    super(waitingFor);
  }
}

/**
 * What can be said of a replicated entry before reading anything: refused when it is no JWS,
 * skipped when it is not this link's to apply (addressed to another node, a node-local kind), or
 * else its unverified payload for the checks that follow. The puller uses it to skip routine
 * entries in one batch (docs/federation.md); verifyReplicated starts with it.
 */
export function screenReplicated(
  jws: string,
  peer: PeerConfig,
): Refusal | { ok: true; unverified: Record<string, unknown> } {
  if (!COMPACT_JWS.test(jws)) return refuse("malformed_jws", "not a compact JWS");
  const [, p] = jws.split(".") as [string, string, string];
  let unverified: Record<string, unknown>;
  try {
    unverified = b64urlJson(p, "payload");
  } catch (e) {
    return refuse("malformed_jws", e instanceof ApiError ? (e.detail ?? e.code) : "unreadable JWS");
  }
  // Only records the peer itself accepted (aud = the peer): what it replicated from a third node
  // is pulled from that node directly, and nothing addressed to this node comes back this way.
  if (unverified.aud !== peer.nodeId) {
    return skip("not_origin", `addressed to ${JSON.stringify(unverified.aud)}, not to ${peer.nodeId}`);
  }
  const kind = unverified.kind;
  if (typeof kind !== "string" || !APPLIERS[kind as RecordKind]?.replicated) {
    return skip("node_local", `kind ${JSON.stringify(kind)} is not replicated`);
  }
  return { ok: true, unverified };
}

export async function verifyReplicated(db: Db, jws: string, peer: PeerConfig): Promise<ReplicaCheck> {
  const screened = screenReplicated(jws, peer);
  if (!screened.ok) return screened;
  try {
    const w = await verifyRecord(db, jws, {
      async signer(iss, kid) {
        if (typeof iss !== "string") throw new ApiError("invalid_jws", "no iss");
        const participant = await getParticipant(db, iss);
        if (!participant) throw new Wait(`participant:${iss}`);
        const key = await getKey(db, iss, kid);
        if (!key) throw new Wait(`key:${kid}`);
        return { participant, key };
      },
      claims(claims, caller) {
        requireRole(caller.participant, APPLIERS[claims.kind as RecordKind]!.roles);
      },
      acceptedEncoding: true,
    });
    // Whether it was signed while its key was valid is judged as it is applied (apply/pipeline.ts).
    return { ok: true, w };
  } catch (e) {
    if (e instanceof Wait)
      return {
        ok: false,
        disposition: "wait",
        code: "pending",
        reason: `waiting for ${e.waitingFor}`,
        waitingFor: e.waitingFor,
      };
    if (!(e instanceof ApiError)) throw e;
    switch (e.code) {
      case "invalid_jws":
        return refuse("malformed_jws", e.detail ?? e.code);
      case "invalid_signature":
        return refuse("bad_signature", e.detail ?? e.code);
      case "replayed_jti":
        return skip("duplicate", e.detail ?? e.code);
      case "forbidden":
        return skip("forbidden", e.detail ?? "role");
      default:
        return skip("invalid_record", e.detail ?? "the record does not validate here");
    }
  }
}
