// Key identity: `kid` is the RFC 7638 JWK thumbprint (SHA-256), and the algorithm follows from
// the key type, never from what a client claims.
import { calculateJwkThumbprint, type JWK } from "jose";
import type { AllowedAlg, PublicJwk } from "./schemas.ts";

export function algForJwk(jwk: PublicJwk): AllowedAlg {
  return jwk.kty === "OKP" ? "EdDSA" : "ES256";
}

/** RFC 7638 thumbprint over the required members only (so `alg`/`kid`/`use` don't change it). */
export async function jwkThumbprint(jwk: PublicJwk): Promise<string> {
  return calculateJwkThumbprint(jwk as JWK, "sha256");
}

export type NormalisedKey = { kid: string; alg: AllowedAlg; jwk: PublicJwk };

/**
 * The canonical stored form of a public key: `kid` = thumbprint, `alg` from the key type.
 * A client-supplied `kid` or `alg` that disagrees is an error, not silently replaced.
 */
export async function normalisePublicJwk(
  jwk: PublicJwk,
): Promise<{ ok: true; key: NormalisedKey } | { ok: false; reason: string }> {
  const kid = await jwkThumbprint(jwk);
  const alg = algForJwk(jwk);
  if (jwk.kid !== undefined && jwk.kid !== kid) {
    return { ok: false, reason: `kid must be the RFC 7638 thumbprint of the key (${kid})` };
  }
  if (jwk.alg !== undefined && jwk.alg !== alg) {
    return { ok: false, reason: `alg ${jwk.alg} does not fit a ${jwk.kty} key` };
  }
  return { ok: true, key: { kid, alg, jwk: { ...jwk, kid, alg } as PublicJwk } };
}
