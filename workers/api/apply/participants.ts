// Appliers of the participant registry records: admission and revocation (coordinators), key
// addition and retirement (the participant itself). Used by routes/participants.ts and by
// federation; see apply/context.ts.
import { type NormalisedKey, normalisePublicJwk } from "@eusn/protocol";
import { and, eq } from "drizzle-orm";
import { participantKeys, participants } from "../../../schema/index.ts";
import { nowIso } from "../lib/encoding.ts";
import { ApiError } from "../lib/problem.ts";
import { cascadeCredentialRevocation } from "../store/credentials.ts";
import { getKeyByKid, getParticipant, keysOf } from "../store/participants.ts";
import { revocationStatements } from "../store/submissions.ts";
import type { Applier } from "./context.ts";
import { derivedId } from "./ids.ts";

const ANY_PARTICIPANT = ["coordinator", "authority", "platform"] as const;

/** A coordinator admits a participant; its id derives from the admission record (apply/ids.ts). */
export const admitParticipant: Applier<"participant.admit"> = {
  kind: "participant.admit",
  roles: ["coordinator"],
  async apply(db, _env, w, ctx) {
    const keys: NormalisedKey[] = [];
    for (const [i, jwk] of w.record.jwks.keys.entries()) {
      const n = await normalisePublicJwk(jwk);
      if (!n.ok)
        throw new ApiError("validation_failed", n.reason, [
          { path: `/record/jwks/keys/${i}`, message: n.reason },
        ]);
      if (await getKeyByKid(db, n.key.kid)) {
        throw new ApiError("conflict", `key ${n.key.kid} is already registered to a participant`);
      }
      keys.push(n.key);
    }
    if (new Set(keys.map((k) => k.kid)).size !== keys.length)
      throw new ApiError("validation_failed", "duplicate keys in jwks");
    const id = await derivedId("participant", w);
    const now = nowIso(ctx.at);
    const nowS = Math.floor(ctx.at / 1000);
    return {
      subjectId: id,
      statements: (recordId) => [
        db.insert(participants).values({
          id,
          role: w.record.role,
          memberState: w.record.memberState ?? null,
          displayName: w.record.displayName,
          admittedAt: now,
          admissionRecordId: recordId,
        }),
        ...keys.map((k) =>
          db.insert(participantKeys).values({
            participantId: id,
            kid: k.kid,
            jwk: JSON.stringify(k.jwk),
            alg: k.alg,
            addedAt: now,
            addedRecordId: recordId,
            validFrom: nowS,
          }),
        ),
      ],
    };
  },
};

/** A participant adds a signing key to its own key set (rotation, step 1). */
export const addKey: Applier<"participant.key.add"> = {
  kind: "participant.key.add",
  roles: ANY_PARTICIPANT,
  async apply(db, _env, w, ctx) {
    const id = w.record.participantId;
    // A coordinator cannot add keys to another participant: that would let it sign in its name.
    if (w.claims.iss !== id)
      throw new ApiError("forbidden", "a participant can only add keys to its own key set");
    const n = await normalisePublicJwk(w.record.jwk);
    if (!n.ok)
      throw new ApiError("validation_failed", n.reason, [{ path: "/record/jwk", message: n.reason }]);
    if (await getKeyByKid(db, n.key.kid))
      throw new ApiError("conflict", `key ${n.key.kid} is already registered`);
    const active = (await keysOf(db, [id])).filter((k) => k.status === "active");
    if (active.length >= 10) throw new ApiError("conflict", "at most 10 active keys; retire one first");
    return {
      subjectId: id,
      statements: (recordId) => [
        db.insert(participantKeys).values({
          participantId: id,
          kid: n.key.kid,
          jwk: JSON.stringify(n.key.jwk),
          alg: n.key.alg,
          addedAt: nowIso(ctx.at),
          addedRecordId: recordId,
          validFrom: Math.floor(ctx.at / 1000),
        }),
      ],
    };
  },
};

/**
 * A participant retires one of its own keys (rotation, step 2); what it signed before stays valid.
 * The API credentials whose registration that key signed are revoked in the same batch: the node
 * cannot tell a routine rotation from a compromise, and a credential is only as good as the key
 * that vouched for it (register the connector's next credential with the new key first).
 */
export const retireKey: Applier<"participant.key.retire"> = {
  kind: "participant.key.retire",
  roles: ANY_PARTICIPANT,
  async apply(db, _env, w, ctx) {
    const id = w.record.participantId;
    if (w.claims.iss !== id) throw new ApiError("forbidden", "a participant can only retire its own keys");
    const keys = await keysOf(db, [id]);
    const target = keys.find((k) => k.kid === w.record.kid);
    if (!target) throw new ApiError("not_found", `key ${w.record.kid} is not a key of ${id}`);
    if (target.status !== "active") throw new ApiError("conflict", `key ${w.record.kid} is already retired`);
    if (keys.filter((k) => k.status === "active").length <= 1) {
      throw new ApiError("conflict", "this is the last active key; add its successor before retiring it");
    }
    const cascade = (recordId: string) =>
      cascadeCredentialRevocation(db, {
        participantId: id,
        kid: w.record.kid,
        recordId,
        cause: "participant.key.retire",
        at: nowIso(ctx.at),
        auditAt: nowIso(),
      });
    return {
      subjectId: id,
      statements: (recordId) => [
        db
          .update(participantKeys)
          .set({
            status: "retired",
            retiredAt: nowIso(ctx.at),
            retiredRecordId: recordId,
            validUntil: Math.floor(ctx.at / 1000),
          })
          .where(and(eq(participantKeys.participantId, id), eq(participantKeys.kid, w.record.kid))),
        ...cascade(recordId).statements,
      ],
      after: (recordId) => cascade(recordId).after,
    };
  },
};

/**
 * A coordinator revokes a participant: its keys stop being accepted; earlier records stay valid
 * and verifiable, but from this batch on they count for nothing where counting decides: an
 * authority's assessments (and its own member state as submitter) leave the quorum tallies, and
 * included entries that fall short of the quorum go back to the coordinators as `disputed`
 * (store/submissions.ts `revocationStatements`). Its API credentials are revoked too.
 */
export const revokeParticipant: Applier<"participant.revoke"> = {
  kind: "participant.revoke",
  roles: ["coordinator"],
  async apply(db, env, w, ctx) {
    const id = w.record.participantId;
    if (id === w.claims.iss) throw new ApiError("conflict", "a coordinator cannot revoke itself");
    const target = await getParticipant(db, id);
    if (!target) throw new ApiError("not_found", `no participant ${id}`);
    if (target.status === "revoked") throw new ApiError("conflict", `${id} is already revoked`);
    const at = nowIso(ctx.at);
    const auditAt = nowIso();
    const consequences = (recordId: string) => {
      const creds = cascadeCredentialRevocation(db, {
        participantId: id,
        recordId,
        cause: "participant.revoke",
        at,
        auditAt,
      });
      const baseline =
        target.role === "authority"
          ? revocationStatements(db, env, { participantId: id, recordId, at, auditAt })
          : { statements: [], after: [] };
      return {
        statements: [...baseline.statements, ...creds.statements],
        after: [...baseline.after, ...creds.after],
      };
    };
    return {
      subjectId: id,
      statements: (recordId) => [
        // First: the statements below judge "active" with this revocation already in place.
        db
          .update(participants)
          .set({ status: "revoked", revokedAt: at, revocationRecordId: recordId })
          .where(eq(participants.id, id)),
        db
          .update(participantKeys)
          .set({ validUntil: Math.floor(ctx.at / 1000) })
          .where(and(eq(participantKeys.participantId, id), eq(participantKeys.status, "active"))),
        ...consequences(recordId).statements,
      ],
      after: (recordId) => consequences(recordId).after,
    };
  },
};
