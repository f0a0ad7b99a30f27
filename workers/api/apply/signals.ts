// Appliers of the migration-signal records (docs/signals.md): a platform's key-wrapping key, the
// coordinator's selector-key versions and their grants, and signals themselves with their
// retraction and reversal. All node-local (`replicated: false`): logged and provable on their node,
// never sent to peers, since their records carry wrapped selector keys and pseudonyms with access
// rules of their own (docs/federation.md "Signals are node-local").
import { newId, SELECTOR_KEY_WRAP_ALG, SELECTOR_KEY_WRAP_ENC } from "@eusn/protocol";
import { decodeProtectedHeader } from "jose";
import { signalKeyVersions, signalKeyWraps } from "../../../schema/index.ts";
import type { Db, DomainStatements } from "../lib/db.ts";
import { nowIso } from "../lib/encoding.ts";
import { ApiError } from "../lib/problem.ts";
import { isPurgeable, keyVersionKept, signalExpiry } from "../rules/signals.ts";
import { getParticipant } from "../store/participants.ts";
import {
  getEncKey,
  getKeyVersion,
  getSignal,
  insertSignalStatements,
  latestKeyVersion,
  nowS,
  signalPolicy,
  withdrawStatements,
} from "../store/signals.ts";
import type { Applier, Plan } from "./context.ts";
import { encKeyStatements } from "./enc-keys.ts";

/** Uniqueness races that slipped past a pre-check become a plain conflict, not a 500. */
const SIGNAL_UNIQUE = /UNIQUE constraint failed: signal_/;

/**
 * Checks wrapped keys against the registry: each names an active platform once, under the
 * encryption key that platform registered, as a JWE with the one accepted algorithm pair.
 * The node cannot open them, and does not need to.
 */
async function checkWraps(
  db: Db,
  wrapped: { participantId: string; kid: string; jwe: string }[],
): Promise<void> {
  const seen = new Set<string>();
  for (const [i, w] of wrapped.entries()) {
    const path = `/record/wrapped/${i}`;
    const fail = (message: string): never => {
      throw new ApiError("validation_failed", message, [{ path, message }]);
    };
    if (seen.has(w.participantId)) fail(`${w.participantId} is wrapped for twice`);
    seen.add(w.participantId);
    const p = await getParticipant(db, w.participantId);
    if (p?.status !== "active" || p.role !== "platform") fail(`${w.participantId} is not an active platform`);
    const enc = await getEncKey(db, w.participantId);
    if (!enc) fail(`${w.participantId} has not registered an encryption key`);
    if (enc!.kid !== w.kid)
      fail(`${w.participantId}'s registered encryption key is ${enc!.kid}, not ${w.kid}`);
    let header: Record<string, unknown>;
    try {
      header = decodeProtectedHeader(w.jwe) as Record<string, unknown>;
    } catch {
      return fail("the JWE protected header is not readable");
    }
    if (header.alg !== SELECTOR_KEY_WRAP_ALG || header.enc !== SELECTOR_KEY_WRAP_ENC) {
      fail(`wrap with alg ${SELECTOR_KEY_WRAP_ALG} and enc ${SELECTOR_KEY_WRAP_ENC}`);
    }
  }
}

function wrapStatements(
  db: Db,
  version: number,
  wrapped: { participantId: string; kid: string; jwe: string }[],
  recordId: string,
): DomainStatements {
  return wrapped.map((w) =>
    db
      .insert(signalKeyWraps)
      .values({ version, participantId: w.participantId, encKid: w.kid, jwe: w.jwe, recordId })
      .onConflictDoUpdate({
        target: [signalKeyWraps.version, signalKeyWraps.participantId],
        set: { encKid: w.kid, jwe: w.jwe, recordId },
      }),
  );
}

/** A platform sets its key-wrapping (P-256 ECDH) public key. */
export const setEncKey: Applier<"signal.enckey.set"> = {
  kind: "signal.enckey.set",
  roles: ["platform"],
  replicated: false,
  async apply(db, _env, w, ctx) {
    if (w.record.participantId !== w.claims.iss) {
      throw new ApiError("forbidden", "a platform can only set its own encryption key");
    }
    return {
      subjectId: w.claims.iss,
      statements: await encKeyStatements(db, w.claims.iss, w.record.jwk, ctx.recordId, nowS()),
    };
  },
};

/** A coordinator publishes a selector-key version, wrapped to each platform's encryption key. */
export const publishKeyVersion: Applier<"signal.key.publish"> = {
  kind: "signal.key.publish",
  roles: ["coordinator"],
  replicated: false,
  async apply(db, _env, w, ctx) {
    const r = w.record;
    const latest = await latestKeyVersion(db);
    if (r.version <= latest) {
      throw new ApiError("conflict", `version ${r.version} is not after the latest version ${latest}`);
    }
    if (r.validUntil <= nowS()) throw new ApiError("unprocessable", "validUntil is in the past");
    await checkWraps(db, r.wrapped);
    return {
      subjectId: `selector-key-v${r.version}`,
      uniqueConflict: { pattern: SIGNAL_UNIQUE, detail: `version ${r.version} was published concurrently` },
      statements: [
        db.insert(signalKeyVersions).values({
          version: r.version,
          validFrom: r.validFrom,
          validUntil: r.validUntil,
          recordId: ctx.recordId,
          publishedAt: nowS(),
        }),
        ...wrapStatements(db, r.version, r.wrapped, ctx.recordId),
      ],
    };
  },
};

/** A coordinator wraps an existing selector-key version for more platforms. */
export const grantKeyVersion: Applier<"signal.key.grant"> = {
  kind: "signal.key.grant",
  roles: ["coordinator"],
  replicated: false,
  async apply(db, env, w, ctx) {
    const version = w.record.version;
    const v = await getKeyVersion(db, version);
    if (!v) throw new ApiError("not_found", `no selector-key version ${version}`);
    if (!keyVersionKept(v, signalPolicy(env), nowS())) {
      throw new ApiError(
        "unprocessable",
        `version ${version} is retired: no signal made with it can be live`,
      );
    }
    await checkWraps(db, w.record.wrapped);
    return {
      subjectId: `selector-key-v${version}`,
      statements: wrapStatements(db, version, w.record.wrapped, ctx.recordId),
    };
  },
};

export type SignalPlan = Plan & { signalId: string; expiresAt: string };

/** A platform shares a migration signal (pseudonymised selectors, out-links, target). */
export const createSignal: Applier<"signal.create", SignalPlan> = {
  kind: "signal.create",
  roles: ["platform"],
  replicated: false,
  async apply(db, env, w, ctx) {
    const r = w.record;
    const policy = signalPolicy(env);
    const now = nowS();
    const expiry = signalExpiry(w.claims.iat, r.expiresInDays, policy);
    if (!expiry.ok) {
      throw new ApiError("validation_failed", expiry.reason, [
        { path: "/record/expiresInDays", message: expiry.reason },
      ]);
    }
    const v = await getKeyVersion(db, r.keyVersion);
    if (!v) throw new ApiError("unprocessable", `no selector-key version ${r.keyVersion}`);
    if (!(v.validFrom <= now && now < v.validUntil)) {
      throw new ApiError(
        "unprocessable",
        `selector-key version ${r.keyVersion} does not accept new signals now (valid ${nowIso(v.validFrom * 1000)} to ${nowIso(v.validUntil * 1000)})`,
      );
    }
    if (r.targetPlatformId !== undefined) {
      const t = await getParticipant(db, r.targetPlatformId);
      if (t?.status !== "active" || t.role !== "platform") {
        throw new ApiError("unprocessable", `target ${r.targetPlatformId} is not an active platform`);
      }
      if (t.id === w.claims.iss)
        throw new ApiError("unprocessable", "a signal cannot target its own platform");
    }
    const id = newId("signal");
    const expiresAt = expiry.expiresAt;
    return {
      subjectId: id,
      signalId: id,
      expiresAt: nowIso(expiresAt * 1000),
      statements: insertSignalStatements(
        db,
        {
          id,
          recordId: ctx.recordId,
          originId: w.claims.iss,
          kind: r.kind,
          keyVersion: r.keyVersion,
          targetPlatformId: r.targetPlatformId ?? null,
          targetHost: r.targetHost ?? null,
          tcoLimb: r.reason.tcoLimb,
          relatedSubmissions: JSON.stringify(r.relatedSubmissions),
          createdAt: w.claims.iat,
          expiresAt,
        },
        r.selectors,
        r.outLinks,
      ),
    };
  },
};

/** The live signal `id`, or 404/409. */
async function liveSignal(db: Db, id: string) {
  const s = await getSignal(db, id);
  if (!s || isPurgeable(s, nowS())) throw new ApiError("not_found", `no live signal ${id}`);
  return s;
}

/** The originating platform retracts its own signal. */
export const retractSignal: Applier<"signal.retract"> = {
  kind: "signal.retract",
  roles: ["platform"],
  replicated: false,
  async apply(db, _env, w, ctx) {
    const id = w.record.signalId;
    const s = await liveSignal(db, id);
    if (s.originId !== w.claims.iss)
      throw new ApiError("forbidden", "only the originating platform can retract a signal");
    if (s.status !== "active") throw new ApiError("conflict", `signal ${id} is already ${s.status}`);
    return {
      subjectId: id,
      uniqueConflict: { pattern: SIGNAL_UNIQUE, detail: `signal ${id} was withdrawn concurrently` },
      statements: withdrawStatements(db, id, {
        id: newId("reversal"),
        action: "retracted",
        actorId: w.claims.iss,
        recordId: ctx.recordId,
        ground: null,
        reason: w.record.reason ?? null,
      }),
    };
  },
};

/** A coordinator reverses a signal (e.g. after the user's successful appeal). */
export const reverseSignal: Applier<"signal.reverse"> = {
  kind: "signal.reverse",
  roles: ["coordinator"],
  replicated: false,
  async apply(db, _env, w, ctx) {
    const id = w.record.signalId;
    const s = await liveSignal(db, id);
    if (s.status !== "active") throw new ApiError("conflict", `signal ${id} is already ${s.status}`);
    return {
      subjectId: id,
      uniqueConflict: { pattern: SIGNAL_UNIQUE, detail: `signal ${id} was withdrawn concurrently` },
      statements: withdrawStatements(db, id, {
        id: newId("reversal"),
        action: "reversed",
        actorId: w.claims.iss,
        recordId: ctx.recordId,
        ground: w.record.ground,
        reason: w.record.reason,
      }),
    };
  },
};
