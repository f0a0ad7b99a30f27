// Signing exactly as the node verifies: writes are compact JWS with typ eusn-record+jwt and
// claims {iss, aud, iat, jti, kind, record}; read tokens are JWTs with typ eusn-access+jwt.
import type { AllowedAlg } from "@eusn/protocol";
import { ACCESS_TYP, lowSCompact, WRITE_TYP } from "@eusn/protocol/plain";
import { CompactSign, type JWK, SignJWT } from "jose";
import { importPrivate, publicOf } from "./keys.ts";

export type Signer = { participantId: string; privateJwk: JWK };

const keyCache = new WeakMap<JWK, Promise<{ key: CryptoKey; kid: string; alg: AllowedAlg }>>();

async function resolve(privateJwk: JWK) {
  let p = keyCache.get(privateJwk);
  if (!p) {
    p = (async () => {
      const { kid, alg } = await publicOf(privateJwk);
      return { key: await importPrivate(privateJwk, alg), kid, alg };
    })();
    keyCache.set(privateJwk, p);
  }
  return p;
}

/** A fresh unique `jti`: 128 random bits, base64url. */
export function newJti(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...b))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
}

export type WriteOptions = {
  /** Override claims (tests use these to build deliberately bad requests). */
  iat?: number;
  jti?: string;
  aud?: string;
  iss?: string;
  /** Extra or replacement protected-header members. */
  header?: Record<string, unknown>;
};

/** Signs a record for `kind` as a compact JWS addressed to node `aud`. */
export async function signWrite(
  signer: Signer,
  aud: string,
  kind: string,
  record: unknown,
  opts: WriteOptions = {},
): Promise<string> {
  const { key, kid, alg } = await resolve(signer.privateJwk);
  const claims = {
    iss: opts.iss ?? signer.participantId,
    aud: opts.aud ?? aud,
    iat: opts.iat ?? Math.floor(Date.now() / 1000),
    jti: opts.jti ?? newJti(),
    kind,
    record,
  };
  const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
    .setProtectedHeader({ alg, kid, typ: WRITE_TYP, ...opts.header } as { alg: string })
    .sign(key);
  // The node accepts only the low-S form of an ES256 signature (one encoding per signed content).
  return lowSCompact(jws);
}

export type TokenOptions = {
  lifetimeS?: number;
  iat?: number;
  aud?: string;
  header?: Record<string, unknown>;
};

/** A short-lived bearer token (default 120 s, at most 300 s is accepted) for reads. */
export async function signAccessToken(signer: Signer, aud: string, opts: TokenOptions = {}): Promise<string> {
  const { key, kid, alg } = await resolve(signer.privateJwk);
  const iat = opts.iat ?? Math.floor(Date.now() / 1000);
  const jwt = await new SignJWT({})
    .setProtectedHeader({ alg, kid, typ: ACCESS_TYP, ...opts.header } as { alg: string })
    .setIssuer(signer.participantId)
    .setAudience(opts.aud ?? aud)
    .setIssuedAt(iat)
    .setExpirationTime(iat + (opts.lifetimeS ?? 120))
    .setJti(newJti())
    .sign(key);
  // The node accepts only the low-S form of an ES256 signature (one encoding per signed content).
  return lowSCompact(jwt);
}
