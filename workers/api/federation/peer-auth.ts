// Node-to-node authentication for pulling log entries: a short-lived JWT (typ eusn-peer+jwt)
// signed with the pulling node's key, addressed to the peer (aud), and accepted only from a node
// the peer itself lists in PEERS, verified with the key configured there. Record bodies are for
// participants and federated nodes only (ARCHITECTURE.md); checkpoints and proofs are public.
import {
  MAX_CLOCK_SKEW_S,
  MAX_TOKEN_LIFETIME_S,
  normalisePublicJwk,
  PEER_ACCESS_TYP,
  type PeerConfig,
} from "@eusn/protocol";
import { decodeJwt, decodeProtectedHeader, importJWK, type JWK, jwtVerify, SignJWT } from "jose";
import type { Env } from "../env.ts";
import { nodeKey } from "../lib/node-key.ts";
import { ApiError } from "../lib/problem.ts";
import { peerById } from "./peers.ts";

/** A bearer token for GET {peer}/v1/log/entries, signed with this node's key (lifetime 120 s). */
export async function signPeerToken(env: Env, peer: PeerConfig): Promise<string> {
  const key = await nodeKey(env);
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: PEER_ACCESS_TYP })
    .setIssuer(env.NODE_ID)
    .setAudience(peer.nodeId)
    .setIssuedAt(now)
    .setExpirationTime(now + 120)
    .setJti(crypto.randomUUID())
    .sign(key.privateKey);
}

function bearer(authorization: string | null | undefined): string | undefined {
  return /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(authorization?.trim() ?? "")?.[1];
}

/** True when the Authorization header carries a peer token (by its JOSE typ), not a participant's. */
export function isPeerToken(authorization: string | null | undefined): boolean {
  const token = bearer(authorization);
  if (!token) return false;
  try {
    return decodeProtectedHeader(token).typ === PEER_ACCESS_TYP;
  } catch {
    return false;
  }
}

/**
 * Verifies a peer token: typ; iss = a configured peer; algorithm pinned to that peer's key type
 * and `kid` = the key's RFC 7638 thumbprint (RFC 8725 §3.1: the key decides, not the header);
 * signature; aud = this node; lifetime at most 5 minutes and current. Returns the peer.
 */
export async function verifyPeerAccess(req: Request, env: Env): Promise<PeerConfig> {
  const token = bearer(req.headers.get("authorization"));
  if (!token) throw new ApiError("invalid_token", "the Authorization header must be 'Bearer <compact JWT>'");
  let typ: unknown;
  let kid: unknown;
  let iss: unknown;
  try {
    ({ typ, kid } = decodeProtectedHeader(token));
    ({ iss } = decodeJwt(token));
  } catch {
    throw new ApiError("invalid_token", "the peer token is not a compact JWT");
  }
  if (typ !== PEER_ACCESS_TYP) throw new ApiError("invalid_token", `typ must be "${PEER_ACCESS_TYP}"`);
  const peer = typeof iss === "string" ? peerById(env, iss) : undefined;
  if (!peer) throw new ApiError("invalid_token", "the token's issuer is not a peer of this node");
  const n = await normalisePublicJwk(peer.jwk);
  if (!n.ok) throw new ApiError("unavailable", `PEERS: the key of ${peer.nodeId} is invalid: ${n.reason}`);
  if (kid !== n.key.kid) {
    throw new ApiError("invalid_token", `the token is not signed with the configured key of ${peer.nodeId}`);
  }
  let lifetime: number;
  try {
    const key = await importJWK(n.key.jwk as JWK, n.key.alg);
    const { payload } = await jwtVerify(token, key, {
      algorithms: [n.key.alg],
      typ: PEER_ACCESS_TYP,
      issuer: peer.nodeId,
      audience: env.NODE_ID,
      requiredClaims: ["iat", "exp", "jti"],
    });
    lifetime = (payload.exp as number) - (payload.iat as number);
    if ((payload.iat as number) > Math.floor(Date.now() / 1000) + MAX_CLOCK_SKEW_S) throw new Error("future");
  } catch {
    throw new ApiError("invalid_token", "the peer token did not verify (signature, audience or lifetime)");
  }
  if (lifetime > MAX_TOKEN_LIFETIME_S)
    throw new ApiError("invalid_token", `token lifetime ${lifetime}s exceeds ${MAX_TOKEN_LIFETIME_S}s`);
  return peer;
}

/** The kid (RFC 7638 thumbprint) of a configured peer's node key, or null if it is unusable. */
export async function peerKid(peer: PeerConfig): Promise<string | null> {
  const n = await normalisePublicJwk(peer.jwk);
  return n.ok ? n.key.kid : null;
}
