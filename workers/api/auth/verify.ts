// Verification of signed records (compact JWS) and signed read tokens (bearer JWTs). One core,
// `verifyRecord`, checks what every signed record must satisfy wherever it comes from (shape,
// header, signer, signature, claims, record schema, replay); `verifyWrite` wraps it for a write
// received over HTTP and federation/verify.ts for a record replicated from a peer's log, each
// adding only what its entrance needs. Every check here has a test in
// test/api/*.security.test.ts that tries to get past it.
import {
  ACCESS_TYP,
  AccessClaims,
  ALLOWED_ALGS,
  type AllowedAlg,
  decodeB64urlStrict,
  isLowS,
  JOSE_MEDIA_TYPE,
  MAX_CLOCK_SKEW_S,
  MAX_TOKEN_LIFETIME_S,
  parseJsonObjectStrict,
  RECORD_SCHEMAS,
  type RecordKind,
  type RecordOf,
  type Role,
  TOKEN_LEEWAY_S,
  WRITE_TYP,
  WriteClaims,
} from "@eusn/protocol";
import { compactVerify, importJWK, type JWK } from "jose";
import type { Env } from "../env.ts";
import type { Db } from "../lib/db.ts";
import { sha256Hex } from "../lib/encoding.ts";
import { ApiError, zodErrors } from "../lib/problem.ts";
import { enforceRateLimit, readClass } from "../limits/rate-limiter.ts";
import {
  ensureBootstrap,
  getKey,
  getKeyByKid,
  getParticipant,
  type KeyRow,
  type ParticipantRow,
} from "../store/participants.ts";
import { type Caller, findByJti, type VerifiedWrite } from "../store/records.ts";

export type { Caller, VerifiedWrite };

export const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const textDecoder = new TextDecoder("utf-8", { fatal: true });

/**
 * A JWS header or payload as the one JSON object it encodes. Refused: a non-canonical base64url
 * encoding (another string for the same bytes), text that is not UTF-8 JSON, anything but an
 * object, and a member name twice at any depth (RFC 7515 §4, RFC 8725 §2.8: a parser that keeps
 * the first would read another header or record than the node did).
 */
export function b64urlJson(part: string, what: string): Record<string, unknown> {
  const bytes = decodeB64urlStrict(part);
  if (!bytes) throw new ApiError("invalid_jws", `the JWS ${what} is not canonical base64url (RFC 4648 §3.5)`);
  let text: string;
  try {
    text = textDecoder.decode(bytes);
  } catch {
    throw new ApiError("invalid_jws", `the JWS ${what} is not UTF-8`);
  }
  const parsed = parseJsonObjectStrict(text);
  if (!parsed.ok) {
    throw new ApiError(
      "invalid_jws",
      parsed.reason.startsWith("member")
        ? `the JWS ${what} has ${parsed.reason.replace("member", "the member")}`
        : `the JWS ${what} is not a base64url-encoded JSON object`,
    );
  }
  return parsed.value;
}

/**
 * The signature part must be the one canonical base64url encoding of its bytes, and an ES256
 * signature must have the low S (`isLowS`): each signed content then has exactly one JWS, so one
 * record id and one log leaf.
 */
export function checkSignatureEncoding(sig: string, alg: AllowedAlg, code: "invalid_jws" | "invalid_token") {
  const bytes = decodeB64urlStrict(sig);
  if (!bytes) throw new ApiError(code, "the signature is not canonical base64url (RFC 4648 §3.5)");
  if (alg === "ES256" && !isLowS(bytes)) {
    throw new ApiError(
      code,
      "an ES256 signature must be 64 bytes with a low S (s ≤ n/2): the other S of the same signature is refused so that one signed content has one encoding",
    );
  }
}

/**
 * Checks the protected header before any key is touched. RFC 8725 §3.1: the algorithm is
 * checked against an allow-list (never `none`, never HMAC, which would let a public key be used
 * as an HMAC secret), and §3.11: the `typ` must be the one for this use.
 */
export function checkHeader(header: Record<string, unknown>, typ: string): { alg: AllowedAlg; kid: string } {
  const alg = header.alg;
  if (typeof alg !== "string" || !(ALLOWED_ALGS as readonly string[]).includes(alg)) {
    throw new ApiError(
      "invalid_jws",
      `alg ${JSON.stringify(alg ?? null)} is not accepted; sign with EdDSA (Ed25519) or ES256`,
    );
  }
  if (header.typ !== typ) {
    throw new ApiError("invalid_jws", `typ must be "${typ}"`);
  }
  if (typeof header.kid !== "string" || header.kid.length === 0 || header.kid.length > 100) {
    throw new ApiError("invalid_jws", "kid (the RFC 7638 thumbprint of the signing key) is required");
  }
  if ("crit" in header) throw new ApiError("invalid_jws", "crit header parameters are not supported");
  for (const embedded of ["jwk", "jku", "x5u", "x5c"]) {
    // Keys are only ever looked up in the registry; a key carried by the message proves nothing.
    if (embedded in header) throw new ApiError("invalid_jws", `header parameter ${embedded} is not accepted`);
  }
  return { alg: alg as AllowedAlg, kid: header.kid };
}

/**
 * Finds the issuer and the exact key named by `kid`, refusing revoked participants, retired
 * keys, and a `kid` that belongs to somebody else (key confusion).
 */
async function resolveSigner(db: Db, d1: D1Database, env: Env, iss: unknown, kid: string): Promise<Caller> {
  if (typeof iss !== "string" || iss.length === 0 || iss.length > 64) {
    throw new ApiError("invalid_jws", "iss (your participant id) is required");
  }
  let participant = await getParticipant(db, iss);
  if (!participant && iss === env.BOOTSTRAP_COORDINATOR_ID) {
    await ensureBootstrap(d1, env);
    participant = await getParticipant(db, iss);
  }
  if (!participant) throw new ApiError("unknown_key", `no participant ${iss} on this node`);
  if (participant.status === "revoked") {
    throw new ApiError("participant_revoked", `participant ${iss} was revoked at ${participant.revokedAt}`);
  }
  let key = await getKey(db, iss, kid);
  if (!key && iss === env.BOOTSTRAP_COORDINATOR_ID) {
    await ensureBootstrap(d1, env);
    key = await getKey(db, iss, kid);
  }
  if (!key) {
    const other = await getKeyByKid(db, kid);
    throw new ApiError(
      "unknown_key",
      other ? `key ${kid} is not a key of ${iss}` : `key ${kid} is not registered for ${iss}`,
    );
  }
  if (key.status !== "active") {
    throw new ApiError("unknown_key", `key ${kid} of ${iss} was retired at ${key.retiredAt}`);
  }
  return { participant, key };
}

export async function verifySignature(jws: string, key: KeyRow, alg: AllowedAlg): Promise<Uint8Array> {
  if (key.alg !== alg) {
    throw new ApiError("invalid_signature", `key ${key.kid} is an ${key.alg} key; the header says ${alg}`);
  }
  try {
    const publicKey = await importJWK(JSON.parse(key.jwk) as JWK, key.alg);
    const { payload } = await compactVerify(jws, publicKey, { algorithms: [key.alg] });
    return payload;
  } catch {
    throw new ApiError("invalid_signature", "the signature does not verify with the named key");
  }
}

export function requireRole(participant: ParticipantRow, roles: readonly Role[]) {
  if (!roles.includes(participant.role)) {
    throw new ApiError("forbidden", `a ${participant.role} may not do this (needs: ${roles.join(" or ")})`);
  }
}

/** How `verifyRecord` finds the signer, and what it checks of the authentic claims. */
export type RecordChecks = {
  /** The signer of an unverified payload's `iss` with key `kid` (throws ApiError). */
  signer(iss: unknown, kid: string): Promise<Caller>;
  /** Checks of the authentic claims before the record itself is parsed (audience, time, kind, role). */
  claims(claims: WriteClaims, caller: Caller): Promise<void> | void;
  /**
   * Skip `checkSignatureEncoding`: for records replicated from a peer's log, whose bytes its
   * origin fixed when it accepted them (and a relay cannot change: the leaf hash is tied to the
   * origin's signed checkpoint), possibly before the node refused high-S ES256 signatures.
   */
  acceptedEncoding?: boolean;
};

/**
 * The checks every signed record passes, wherever it comes from: a compact JWS (RFC 7515 §7.1)
 * whose protected header passes `checkHeader`, signed by the signer `checks.signer` finds with the
 * key the header names, whose claims are valid `WriteClaims` naming that signer, and whose record
 * validates for its kind; its `jti` not used before by the same issuer (checked here for a clear
 * answer, and again by a unique index when the record is stored). Nothing is written here.
 */
export async function verifyRecord(
  db: Db,
  jws: string,
  checks: RecordChecks,
): Promise<VerifiedWrite<RecordKind>> {
  if (!COMPACT_JWS.test(jws))
    throw new ApiError("invalid_jws", "expected a compact JWS: header.payload.signature");
  const [h, p, s] = jws.split(".") as [string, string, string];
  const { alg, kid } = checkHeader(b64urlJson(h, "header"), WRITE_TYP);
  if (s.length === 0) throw new ApiError("invalid_jws", "the JWS has no signature");
  if (!checks.acceptedEncoding) checkSignatureEncoding(s, alg, "invalid_jws");
  const unverified = b64urlJson(p, "payload");
  const caller = await checks.signer(unverified.iss, kid);
  await verifySignature(jws, caller.key, alg);

  // From here on the payload is authentic: the object b64urlJson read is the one that was signed.
  const parsed = WriteClaims.safeParse(unverified);
  if (!parsed.success)
    throw new ApiError("validation_failed", "the signed claims are invalid", zodErrors(parsed.error));
  const claims = parsed.data;
  if (claims.iss !== caller.participant.id) throw new ApiError("invalid_jws", "iss changed after lookup");
  await checks.claims(claims, caller);
  const kind = claims.kind as RecordKind;
  const recordResult = RECORD_SCHEMAS[kind].safeParse(claims.record);
  if (!recordResult.success) {
    throw new ApiError(
      "validation_failed",
      "the record is invalid",
      zodErrors(recordResult.error, "/record"),
    );
  }
  const seen = await findByJti(db, claims.iss, claims.jti);
  if (seen) throw new ApiError("replayed_jti", `jti ${claims.jti} was already used by record ${seen}`);
  return {
    kind,
    jws,
    jwsSha256: await sha256Hex(jws),
    claims,
    record: recordResult.data as RecordOf<RecordKind>,
    caller,
  };
}

/**
 * Verifies a signed write received over HTTP: the media type and body, then `verifyRecord` with
 * the signer active now, and for this entrance `aud` = this node, `iat` within the clock skew of
 * now, the kind this endpoint takes and a role allowed to sign it. The caller's write quota is
 * charged only once all of that holds.
 */
export async function verifyWrite<K extends RecordKind>(
  req: Request,
  env: Env,
  db: Db,
  kind: K,
  roles: readonly Role[],
): Promise<VerifiedWrite<K>> {
  const contentType = (req.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (contentType !== JOSE_MEDIA_TYPE) {
    throw new ApiError(
      "unsupported_media_type",
      `a write body is a compact JWS sent as ${JOSE_MEDIA_TYPE}, not ${contentType || "nothing"}`,
    );
  }
  let jws: string;
  try {
    jws = textDecoder.decode(await req.arrayBuffer());
  } catch {
    throw new ApiError("invalid_jws", "the body is not valid UTF-8");
  }
  // Not trimmed: the bytes received are the bytes stored and hashed (jwsSha256, the log leaf),
  // so a receipt always describes exactly what was sent.
  if (!COMPACT_JWS.test(jws)) {
    throw new ApiError(
      "invalid_jws",
      "the body must be exactly a compact JWS (header.payload.signature), with no whitespace or line break before or after it",
    );
  }
  const w = await verifyRecord(db, jws, {
    signer: (iss, kid) => resolveSigner(db, env.DB, env, iss, kid),
    claims(claims, caller) {
      if (claims.aud !== env.NODE_ID) {
        throw new ApiError(
          "wrong_audience",
          `aud is ${JSON.stringify(claims.aud)}; this node is ${env.NODE_ID}`,
        );
      }
      const now = Math.floor(Date.now() / 1000);
      if (Math.abs(now - claims.iat) > MAX_CLOCK_SKEW_S) {
        throw new ApiError(
          "stale_request",
          `iat ${claims.iat} is ${now - claims.iat}s from the node's clock (${now}); at most ±${MAX_CLOCK_SKEW_S}s`,
        );
      }
      if (claims.kind !== kind) {
        throw new ApiError(
          "bad_request",
          `this endpoint takes kind ${kind}; the JWS is signed for ${claims.kind}`,
        );
      }
      requireRole(caller.participant, roles);
    },
  });
  // Only now is the caller known for certain: charge its own write quota (SECURITY.md).
  await enforceRateLimit(env, w.caller.participant.id, "write");
  return {
    ...(w as VerifiedWrite<K>),
    receiptProof: ["1", "true"].includes(new URL(req.url).searchParams.get("proof") ?? ""),
  };
}

/**
 * A read token is usable only inside [max(iat, nbf), exp], that window is at most
 * MAX_TOKEN_LIFETIME_S, and it ends within that lifetime (plus TOKEN_LEEWAY_S of clock leeway)
 * of now: a token issued "in the future" cannot stretch its use beyond the lifetime, one that
 * expires before it is issued is not a token, and `nbf` (RFC 7519 §4.1.5) is honoured.
 */
function checkTokenTimes(c: { iat: number; exp: number; nbf?: number | undefined }, now: number) {
  if (c.exp <= c.iat) throw new ApiError("invalid_token", `exp ${c.exp} is not after iat ${c.iat}`);
  if (c.exp - c.iat > MAX_TOKEN_LIFETIME_S) {
    throw new ApiError("invalid_token", `token lifetime ${c.exp - c.iat}s exceeds ${MAX_TOKEN_LIFETIME_S}s`);
  }
  if (c.iat > now + TOKEN_LEEWAY_S)
    throw new ApiError("invalid_token", `the token is issued ${c.iat - now}s in the future`);
  if (c.nbf !== undefined && c.nbf > now + TOKEN_LEEWAY_S)
    throw new ApiError("invalid_token", `the token is not valid before ${c.nbf} (${c.nbf - now}s from now)`);
  if (c.exp > now + MAX_TOKEN_LIFETIME_S + TOKEN_LEEWAY_S) {
    throw new ApiError(
      "invalid_token",
      `the token expires ${c.exp - now}s from now; at most ${MAX_TOKEN_LIFETIME_S + TOKEN_LEEWAY_S}s`,
    );
  }
  if (c.exp <= now) throw new ApiError("invalid_token", "the token has expired");
}

/**
 * Verifies `Authorization: Bearer <JWT>` for a read: the same header, key and signature checks
 * as a write, `typ` = eusn-access+jwt, `aud` = this node, and a lifetime of at most 5 minutes
 * that includes now. A read token is not single-use (it may be reused within its lifetime).
 */
export async function verifyAccess(req: Request, env: Env, db: Db, roles: readonly Role[]): Promise<Caller> {
  const auth = req.headers.get("authorization");
  if (!auth) throw new ApiError("unauthenticated", "send Authorization: Bearer <token signed by your key>");
  const m = /^Bearer ([A-Za-z0-9_.-]+)$/.exec(auth.trim());
  if (!m) throw new ApiError("invalid_token", "the Authorization header must be 'Bearer <compact JWT>'");
  const token = m[1]!;
  if (!COMPACT_JWS.test(token)) throw new ApiError("invalid_token", "the token is not a compact JWT");
  const [h, p, s] = token.split(".") as [string, string, string];
  let alg: AllowedAlg;
  let kid: string;
  let unverified: Record<string, unknown>;
  try {
    ({ alg, kid } = checkHeader(b64urlJson(h, "header"), ACCESS_TYP));
    if (s.length === 0) throw new ApiError("invalid_jws", "the token has no signature");
    checkSignatureEncoding(s, alg, "invalid_jws");
    unverified = b64urlJson(p, "payload");
  } catch (e) {
    if (e instanceof ApiError) throw new ApiError("invalid_token", e.detail);
    throw e;
  }
  const caller = await resolveSigner(db, env.DB, env, unverified.iss, kid);
  try {
    await verifySignature(token, caller.key, alg);
  } catch {
    throw new ApiError("invalid_token", "the token's signature does not verify with the named key");
  }
  const parsed = AccessClaims.safeParse(unverified);
  if (!parsed.success)
    throw new ApiError("invalid_token", "the token's claims are invalid", zodErrors(parsed.error));
  const c = parsed.data;
  // RFC 7519 §4.1.3: an array audience names every intended recipient; this node must be one.
  if (Array.isArray(c.aud) ? !c.aud.includes(env.NODE_ID) : c.aud !== env.NODE_ID)
    throw new ApiError("wrong_audience", `aud is ${JSON.stringify(c.aud)}; this node is ${env.NODE_ID}`);
  checkTokenTimes(c, Math.floor(Date.now() / 1000));
  requireRole(caller.participant, roles);
  // A match is charged by its work once its body has been read (routes/match.ts); every other
  // read costs one unit here.
  const cls = readClass(req);
  if (cls !== "match") await enforceRateLimit(env, caller.participant.id, cls);
  return caller;
}
