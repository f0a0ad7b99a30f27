// Key identity: `kid` is the RFC 7638 JWK thumbprint (SHA-256), and the algorithm follows from
// the key type, never from what a client claims.
import { calculateJwkThumbprint, type JWK } from "jose";
import { decodeB64urlStrict } from "./jose.ts";
import type { AllowedAlg, PublicJwk } from "./schemas.ts";

export function algForJwk(jwk: PublicJwk): AllowedAlg {
  return jwk.kty === "OKP" ? "EdDSA" : "ES256";
}

/** RFC 7638 thumbprint over the required members only (so `alg`/`kid`/`use` don't change it). */
export async function jwkThumbprint(jwk: PublicJwk): Promise<string> {
  return calculateJwkThumbprint(jwk as JWK, "sha256");
}

export type NormalisedKey = { kid: string; alg: AllowedAlg; jwk: PublicJwk };

const P25519 = (1n << 255n) - 19n;
const P256_P = BigInt("0xffffffff00000001000000000000000000000000ffffffffffffffffffffffff");
const bigEndian = (b: Uint8Array) => b.reduce((n, x) => (n << 8n) | BigInt(x), 0n);

/**
 * Why a public key's members are not the one canonical spelling of the key, or undefined. A
 * thumbprint (RFC 7638) hashes the members as written, so two spellings of one key would be two
 * kids, and the same private key could sign for two participants. Each coordinate must be the
 * canonical base64url of exactly 32 bytes (RFC 7518 §6.2.1.2, RFC 8037 §2; no stray padding
 * bits, RFC 4648 §3.5) and a reduced field element: an Ed25519 `x` (RFC 8032 §5.1.2: y < p) and
 * P-256 `x`, `y` (< p, SEC 1 §2.3.5).
 */
export function nonCanonicalReason(jwk: PublicJwk): string | undefined {
  const members = jwk.kty === "OKP" ? (["x"] as const) : (["x", "y"] as const);
  for (const m of members) {
    const value = (jwk as Record<string, string>)[m]!;
    const bytes = decodeB64urlStrict(value);
    if (bytes?.length !== 32) return `${m} is not the canonical base64url encoding of 32 bytes`;
    if (jwk.kty === "OKP") {
      // Little-endian y with the sign of x in the top bit (RFC 8032 §5.1.2).
      const y = bigEndian(bytes.slice().reverse()) & ((1n << 255n) - 1n);
      if (y >= P25519) return `${m} is not a canonical Ed25519 point encoding (y ≥ p)`;
    } else if (bigEndian(bytes) >= P256_P) {
      return `${m} is not a canonical P-256 coordinate (≥ p)`;
    }
  }
  return undefined;
}

/**
 * The canonical stored form of a public key: `kid` = thumbprint, `alg` from the key type.
 * A client-supplied `kid` or `alg` that disagrees is an error, not silently replaced; so is a
 * key spelled other than canonically (`nonCanonicalReason`).
 */
export async function normalisePublicJwk(
  jwk: PublicJwk,
): Promise<{ ok: true; key: NormalisedKey } | { ok: false; reason: string }> {
  const spelling = nonCanonicalReason(jwk);
  if (spelling) return { ok: false, reason: spelling };
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
