// Participant key pairs: generation and loading. Private keys stay with the participant; only
// the public JWK (kid = RFC 7638 thumbprint) is ever sent to a node.
import type { AllowedAlg, PublicJwk } from "@eusn/protocol";
import { normalisePublicJwk } from "@eusn/protocol/plain";
import { exportJWK, generateKeyPair, importJWK, type JWK } from "jose";

export type PrivateJwk = JWK & { d: string; kid: string; alg: AllowedAlg };

export type KeyPair = { kid: string; alg: AllowedAlg; privateJwk: PrivateJwk; publicJwk: PublicJwk };

/** A new signing key pair (Ed25519 by default, or P-256 for ES256). */
export async function generateParticipantKey(alg: AllowedAlg = "EdDSA"): Promise<KeyPair> {
  const pair =
    alg === "EdDSA"
      ? await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true })
      : await generateKeyPair("ES256", { extractable: true });
  const pub = await exportJWK(pair.publicKey);
  const n = await normalisePublicJwk(pub as PublicJwk);
  if (!n.ok) throw new Error(n.reason);
  const priv = await exportJWK(pair.privateKey);
  return {
    kid: n.key.kid,
    alg: n.key.alg,
    publicJwk: n.key.jwk,
    privateJwk: { ...priv, kid: n.key.kid, alg: n.key.alg } as PrivateJwk,
  };
}

/** The public half of a private JWK, with its thumbprint kid. */
export async function publicOf(
  privateJwk: JWK,
): Promise<{ kid: string; alg: AllowedAlg; publicJwk: PublicJwk }> {
  const { kty, crv, x, y } = privateJwk;
  const n = await normalisePublicJwk({ kty, crv, x, ...(y ? { y } : {}) } as PublicJwk);
  if (!n.ok) throw new Error(n.reason);
  return { kid: n.key.kid, alg: n.key.alg, publicJwk: n.key.jwk };
}

export async function importPrivate(privateJwk: JWK, alg: AllowedAlg): Promise<CryptoKey> {
  return (await importJWK(privateJwk, alg)) as CryptoKey;
}
