// HTTP Basic authentication (RFC 7617) with a per-participant API credential, for TAXII clients
// (MISP, OpenCTI, taxii2-client) that cannot sign a bearer token. Username = participant id,
// password = the client-generated secret; only its SHA-256 is stored (docs/taxii.md "API
// credentials"). Every check here has a test in test/api/api-credentials.security.test.ts.
import { API_SECRET_PATTERN, PROBLEMS, type Role } from "@eusn/protocol";
import { and, eq, isNull } from "drizzle-orm";
import { apiCredentials } from "../../../schema/index.ts";
import type { Env } from "../env.ts";
import type { Db } from "../lib/db.ts";
import { sha256Hex } from "../lib/encoding.ts";
import { ApiError } from "../lib/problem.ts";
import { enforceRateLimit } from "../limits/rate-limiter.ts";
import { credentialVoidedBy } from "../store/credentials.ts";
import { getParticipant, type ParticipantRow } from "../store/participants.ts";
import { verifyAccess } from "./verify.ts";

/** Who is reading, and how they proved it. */
export type Reader = { participant: ParticipantRow; via: "bearer" | "basic"; credentialId: string | null };

/**
 * The `WWW-Authenticate` challenge of a 401 (RFC 9110 §11.6.1). TAXII clients only send Basic
 * credentials after they see a Basic challenge, so it comes first; Bearer is accepted as well.
 */
export function challenge(env: Env): string {
  const realm = `EUSN ${env.NODE_ID}`.replaceAll('"', "");
  return `Basic realm="${realm}", charset="UTF-8", Bearer realm="${realm}"`;
}

const textDecoder = new TextDecoder("utf-8", { fatal: true });

function refuse(env: Env, detail: string): ApiError {
  return new ApiError("unauthenticated", detail, undefined, { "www-authenticate": challenge(env) });
}

/** Compares two equal-length byte strings without an early exit (the secret's hash is not leaked by timing). */
function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  const subtle = crypto.subtle as SubtleCrypto & {
    timingSafeEqual?: (x: Uint8Array, y: Uint8Array) => boolean;
  };
  if (typeof subtle.timingSafeEqual === "function") return subtle.timingSafeEqual(a, b);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

const fromHex = (hex: string) => Uint8Array.from(hex.match(/../g) ?? [], (h) => Number.parseInt(h, 16));

/** Splits `Authorization: Basic base64(user:pass)`; null when it is not well formed. */
function parseBasic(header: string): { user: string; pass: string } | null {
  const m = /^Basic ([A-Za-z0-9+/]+={0,2})$/i.exec(header.trim());
  if (!m) return null;
  let decoded: string;
  try {
    decoded = textDecoder.decode(Uint8Array.from(atob(m[1]!), (ch) => ch.charCodeAt(0)));
  } catch {
    return null;
  }
  const colon = decoded.indexOf(":");
  if (colon < 1) return null;
  return { user: decoded.slice(0, colon), pass: decoded.slice(colon + 1) };
}

function participantRevoked(p: ParticipantRow): ApiError {
  return new ApiError(
    "participant_revoked",
    `participant ${p.id} was revoked at ${p.revokedAt}; its API credentials no longer work`,
  );
}

async function revokedParticipant(db: Db, user: string): Promise<ParticipantRow | undefined> {
  if (!/^par_[0-9a-z_]{1,60}$/.test(user)) return undefined;
  const p = await getParticipant(db, user);
  return p?.status === "revoked" ? p : undefined;
}

/**
 * Verifies Basic credentials: the password must have the form of a generated secret, its SHA-256
 * must equal (constant-time) the hash of an unrevoked, unexpired credential of the participant
 * named as the username, the key that signed its registration must still be active, and the
 * participant must be active and have one of `roles`.
 */
export async function verifyBasic(req: Request, env: Env, db: Db, roles: readonly Role[]): Promise<Reader> {
  const parsed = parseBasic(req.headers.get("authorization") ?? "");
  if (!parsed) throw refuse(env, "the Authorization header must be 'Basic base64(participantId:secret)'");
  const presented = fromHex(await sha256Hex(parsed.pass));
  const now = new Date().toISOString();
  const candidates = /^par_[0-9a-z_]{1,60}$/.test(parsed.user)
    ? await db
        .select()
        .from(apiCredentials)
        .where(and(eq(apiCredentials.participantId, parsed.user), isNull(apiCredentials.revokedAt)))
    : [];
  // Compare against every candidate (and at least one dummy) so the time taken does not tell
  // whether the participant exists or which credential came close.
  let match: (typeof candidates)[number] | undefined;
  for (const cred of candidates.length > 0 ? candidates : [null]) {
    const stored = fromHex(cred?.secretSha256 ?? "00".repeat(32));
    if (constantTimeEqual(presented, stored) && cred && !match) match = cred;
  }
  if (!API_SECRET_PATTERN.test(parsed.pass) || !match) {
    // A revoked participant's credentials were revoked with it; say so (its status is public).
    const named = candidates.length === 0 ? await revokedParticipant(db, parsed.user) : undefined;
    if (named) throw participantRevoked(named);
    throw refuse(env, "the API credential was refused (unknown, revoked or wrong secret)");
  }
  if (match.expiresAt <= now)
    throw refuse(env, `the API credential ${match.id} expired at ${match.expiresAt}`);
  const participant = await getParticipant(db, match.participantId);
  if (!participant) throw refuse(env, "the API credential was refused (unknown, revoked or wrong secret)");
  if (participant.status === "revoked") throw participantRevoked(participant);
  // Belt and braces: retiring the registering key revokes the credential in the same batch, but a
  // registration that raced the retirement (or a row older than that rule) is caught here.
  const voided = await credentialVoidedBy(db, match.recordId);
  if (voided) {
    throw refuse(
      env,
      `the API credential ${match.id} was registered with key ${voided.kid}, which is no longer active${voided.retiredAt ? ` (retired at ${voided.retiredAt})` : ""}`,
    );
  }
  if (!roles.includes(participant.role)) {
    throw new ApiError("forbidden", `a ${participant.role} may not do this (needs: ${roles.join(" or ")})`);
  }
  // The participant's read quota, as for bearer reads: a credential is not a way around it.
  // Charged only once every check has passed, so nobody can spend another participant's quota.
  await enforceRateLimit(env, participant.id, "read");
  return { participant, via: "basic", credentialId: match.id };
}

/**
 * A reader by either scheme: `Bearer` (a signed access token, as everywhere on the node) or
 * `Basic` (an API credential). A 401 always carries the challenge, whatever the scheme tried.
 */
export async function verifyReader(req: Request, env: Env, db: Db, roles: readonly Role[]): Promise<Reader> {
  const auth = req.headers.get("authorization");
  if (auth && /^basic /i.test(auth.trim())) return verifyBasic(req, env, db, roles);
  try {
    const caller = await verifyAccess(req, env, db, roles);
    return { participant: caller.participant, via: "bearer", credentialId: null };
  } catch (e) {
    if (e instanceof ApiError && PROBLEMS[e.code].status === 401) {
      throw new ApiError(e.code, e.detail, e.errors, { ...e.headers, "www-authenticate": challenge(env) });
    }
    throw e;
  }
}
