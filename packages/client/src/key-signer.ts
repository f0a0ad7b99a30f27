// Signing with a WebCrypto CryptoKey instead of a JWK: the console imports a participant's private
// JWK once as a NON-extractable key (the browser can sign with it but no script can read it back)
// and signs exactly as `signWrite` / `signAccessToken` do (same header, same claims).
import type { AllowedAlg, PublicJwk } from "@eusn/protocol";
import { ACCESS_TYP, lowSCompact, WRITE_TYP } from "@eusn/protocol/plain";
import { CompactSign, type JWK, SignJWT } from "jose";
import { publicOf } from "./keys.ts";
import { newJti, type TokenOptions, type WriteOptions } from "./sign.ts";

/** A participant's signing key held as a CryptoKey, with the kid and alg the node expects. */
export type KeySigner = { participantId: string; key: CryptoKey; kid: string; alg: AllowedAlg };

export type ImportedKey = { key: CryptoKey; kid: string; alg: AllowedAlg; publicJwk: PublicJwk };

/**
 * Imports a private JWK (Ed25519 or P-256) for signing only. `extractable: false` means the key
 * material can never be exported again from this CryptoKey (WebCrypto §14.3.9), yet the key can
 * be stored in IndexedDB (structured clone keeps the flag). The kid is the RFC 7638 thumbprint
 * of the public half, computed before import, so a wrong `kid` in the file does not matter.
 */
export async function importSigningKey(privateJwk: JWK): Promise<ImportedKey> {
  if (typeof privateJwk.d !== "string") throw new Error("this is not a private key (no `d` member)");
  const { kid, alg, publicJwk } = await publicOf(privateJwk);
  // Only the key members: a stray `key_ops`, `ext` or `use` in the file cannot widen what it does.
  const { kty, crv, x, y, d } = privateJwk;
  const jwk = { kty, crv, x, d, ...(y ? { y } : {}) } as JsonWebKey;
  const algorithm: EcKeyImportParams | Algorithm =
    alg === "EdDSA" ? { name: "Ed25519" } : { name: "ECDSA", namedCurve: "P-256" };
  const key = await crypto.subtle.importKey("jwk", jwk, algorithm, false, ["sign"]);
  return { key, kid, alg, publicJwk };
}

/** `signWrite` with a CryptoKey: a compact JWS `{iss, aud, iat, jti, kind, record}` for node `aud`. */
export async function signWriteWithKey(
  signer: KeySigner,
  aud: string,
  kind: string,
  record: unknown,
  opts: WriteOptions = {},
): Promise<string> {
  const claims = {
    iss: opts.iss ?? signer.participantId,
    aud: opts.aud ?? aud,
    iat: opts.iat ?? Math.floor(Date.now() / 1000),
    jti: opts.jti ?? newJti(),
    kind,
    record,
  };
  const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
    .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: WRITE_TYP, ...opts.header } as {
      alg: string;
    })
    .sign(signer.key);
  // The node accepts only the low-S form of an ES256 signature (one encoding per signed content).
  return lowSCompact(jws);
}

/** `signAccessToken` with a CryptoKey: a bearer JWT (default 120 s; the node accepts ≤ 300 s). */
export async function signAccessTokenWithKey(
  signer: KeySigner,
  aud: string,
  opts: TokenOptions = {},
): Promise<string> {
  const iat = opts.iat ?? Math.floor(Date.now() / 1000);
  const jwt = await new SignJWT({})
    .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: ACCESS_TYP, ...opts.header } as {
      alg: string;
    })
    .setIssuer(signer.participantId)
    .setAudience(opts.aud ?? aud)
    .setIssuedAt(iat)
    .setExpirationTime(iat + (opts.lifetimeS ?? 120))
    .setJti(newJti())
    .sign(signer.key);
  // The node accepts only the low-S form of an ES256 signature (one encoding per signed content).
  return lowSCompact(jwt);
}
