// A participant's key-wrapping public key (P-256, ECDH-ES+A256KW): one mechanism for platforms
// (selector keys of migration signals, `signal.enckey.set`) and for authorities and coordinators
// (content keys of case files, `evidence.enckey.set`). Both kinds store into `signal_enc_keys`, one
// current key per participant; a new key replaces the old one, and whatever was wrapped to the
// old one must be wrapped again by whoever holds the secret (the node cannot).
import { EncPublicJwk, SELECTOR_KEY_WRAP_ALG } from "@eusn/protocol";
import { eq } from "drizzle-orm";
import { calculateJwkThumbprint, type JWK } from "jose";
import { signalEncKeys } from "../../../schema/index.ts";
import type { Db, DomainStatements } from "../lib/db.ts";
import { ApiError } from "../lib/problem.ts";

/**
 * Checks the key (its `kid` is the RFC 7638 thumbprint, the point is on the curve, no other
 * participant registered it) and plans the statement that makes it `participantId`'s current key.
 */
export async function encKeyStatements(
  db: Db,
  participantId: string,
  jwk: EncPublicJwk,
  recordId: string,
  setAt: number,
): Promise<DomainStatements> {
  const { kty, crv, x, y } = jwk;
  const kid = await calculateJwkThumbprint({ kty, crv, x, y } as JWK, "sha256");
  const bad = (message: string): never => {
    throw new ApiError("validation_failed", message, [{ path: "/record/jwk", message }]);
  };
  if (jwk.kid !== undefined && jwk.kid !== kid)
    bad(`kid must be the RFC 7638 thumbprint of the key (${kid})`);
  try {
    // Refuses points not on the curve (an invalid-curve key would leak the wrapped key).
    await crypto.subtle.importKey("jwk", { kty, crv, x, y }, { name: "ECDH", namedCurve: "P-256" }, true, []);
  } catch {
    bad("not a valid P-256 public key");
  }
  const clash = await db.select().from(signalEncKeys).where(eq(signalEncKeys.kid, kid));
  if (clash.some((k) => k.participantId !== participantId)) {
    throw new ApiError("conflict", "this encryption key is registered to another participant");
  }
  const stored = JSON.stringify(
    EncPublicJwk.parse({ kty, crv, x, y, use: "enc", alg: SELECTOR_KEY_WRAP_ALG, kid }),
  );
  return [
    db
      .insert(signalEncKeys)
      .values({ participantId, kid, jwk: stored, recordId, setAt })
      .onConflictDoUpdate({
        target: signalEncKeys.participantId,
        set: { kid, jwk: stored, recordId, setAt },
      }),
  ];
}
