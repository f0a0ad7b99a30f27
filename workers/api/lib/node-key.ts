// The node's own signing key (NODE_PRIVATE_JWK secret): signs receipts, checkpoints and
// baseline snapshots. Its public half is published at /.well-known/jwks.json.
import { normalisePublicJwk, type PublicJwk } from "@eusn/protocol";
import { importJWK, type JWK } from "jose";
import type { Env } from "../env.ts";
import { ApiError } from "./problem.ts";

export type NodeKey = { kid: string; alg: "EdDSA" | "ES256"; publicJwk: PublicJwk; privateKey: CryptoKey };

const cache = new Map<string, Promise<NodeKey>>();

export function nodeKey(env: Env): Promise<NodeKey> {
  const raw = env.NODE_PRIVATE_JWK;
  if (!raw) throw new ApiError("unavailable", "this node has no signing key configured (NODE_PRIVATE_JWK)");
  let p = cache.get(raw);
  if (!p) {
    p = load(raw);
    cache.set(raw, p);
    p.catch(() => cache.delete(raw));
  }
  return p;
}

async function load(raw: string): Promise<NodeKey> {
  const jwk = JSON.parse(raw) as JWK & { d?: string };
  const { d, ...pub } = jwk;
  if (!d) throw new Error("NODE_PRIVATE_JWK has no private part");
  const n = await normalisePublicJwk({
    kty: pub.kty,
    crv: pub.crv,
    x: pub.x,
    ...(pub.y ? { y: pub.y } : {}),
  } as PublicJwk);
  if (!n.ok) throw new Error(`NODE_PRIVATE_JWK: ${n.reason}`);
  const privateKey = (await importJWK({ ...jwk, alg: n.key.alg }, n.key.alg)) as CryptoKey;
  return { kid: n.key.kid, alg: n.key.alg, publicJwk: { ...n.key.jwk, use: "sig" } as PublicJwk, privateKey };
}
