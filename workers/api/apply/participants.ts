// Appliers of the participant registry records: admission and revocation (coordinators), key
// addition and retirement (the participant itself). Used by routes/participants.ts and by
// federation; see apply/context.ts. Every time they store is the record's signed time, so the
// registry is the same on every node; a revocation or a retirement voids, on every node, what the
// participant or key signed from its signed time on (docs/federation.md "Convergence").
import { type NormalisedKey, normalisePublicJwk } from "@eusn/protocol";
import { and, eq, sql } from "drizzle-orm";
import { auditLog, participantKeys, participants } from "../../../schema/index.ts";
import { insertSelect } from "../lib/db.ts";
import { nowIso } from "../lib/encoding.ts";
import { derivedId } from "../lib/ids.ts";
import { ApiError } from "../lib/problem.ts";
import type { Position } from "../rules/entry-history.ts";
import { cascadeCredentialRevocation } from "../store/credentials.ts";
import { bumpRegistry } from "../store/entry-state.ts";
import { getKeyByKid, getParticipant, keysOf } from "../store/participants.ts";
import { type Applier, type Plan, positionOf } from "./context.ts";

const ANY_PARTICIPANT = ["coordinator", "authority", "platform"] as const;

/** A coordinator admits a participant; its id derives from the admission record (apply/ids.ts). */
export const admitParticipant: Applier<"participant.admit"> = {
  kind: "participant.admit",
  roles: ["coordinator"],
  replicated: true,
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
    const recordId = ctx.recordId;
    return {
      subjectId: id,
      ...(w.record.role === "authority"
        ? { registry: { admits: { id, memberState: w.record.memberState!, at: positionOf(w, ctx) } } }
        : {}),
      statements: [
        bumpRegistry(db),
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
  replicated: true,
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
    const owner = await getParticipant(db, id);
    return {
      subjectId: id,
      statements: [
        bumpRegistry(db),
        db.insert(participantKeys).values({
          participantId: id,
          kid: n.key.kid,
          jwk: JSON.stringify(n.key.jwk),
          alg: n.key.alg,
          addedAt: nowIso(ctx.at),
          addedRecordId: ctx.recordId,
          validFrom: Math.floor(ctx.at / 1000),
          // Added by a participant revoked since (a record that reached this node before its
          // revocation did): the key ends where the participant did.
          validUntil: owner?.revokedAt ? Math.floor(Date.parse(owner.revokedAt) / 1000) : null,
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
  replicated: true,
  async apply(db, _env, w, ctx) {
    const id = w.record.participantId;
    if (w.claims.iss !== id) throw new ApiError("forbidden", "a participant can only retire its own keys");
    const keys = await keysOf(db, [id]);
    const target = keys.find((k) => k.kid === w.record.kid);
    if (!target) throw new ApiError("not_found", `key ${w.record.kid} is not a key of ${id}`);
    // A replica applies a second retirement too: the key ends at the earlier signed time.
    if (target.status !== "active" && !ctx.replicated)
      throw new ApiError("conflict", `key ${w.record.kid} is already retired`);
    if (!ctx.replicated && keys.filter((k) => k.status === "active").length <= 1) {
      throw new ApiError("conflict", "this is the last active key; add its successor before retiring it");
    }
    const at = Math.floor(ctx.at / 1000);
    const cascade = cascadeCredentialRevocation(db, {
      participantId: id,
      kid: w.record.kid,
      recordId: ctx.recordId,
      cause: "participant.key.retire",
      at: nowIso(ctx.at),
      auditAt: nowIso(),
    });
    const ends = { participantId: id, kid: w.record.kid, at: positionOf(w, ctx) };
    const voids = await voidedBy(db, ends, ctx.recordId);
    return {
      subjectId: id,
      registry: { ends },
      touches: voids.touches,
      statements: [
        bumpRegistry(db),
        db
          .update(participantKeys)
          .set({
            status: "retired",
            retiredAt: nowIso(ctx.at),
            retiredRecordId: ctx.recordId,
            validUntil: sql`min(coalesce(${participantKeys.validUntil}, ${at}), ${at})`,
          })
          .where(and(eq(participantKeys.participantId, id), eq(participantKeys.kid, w.record.kid))),
        ...cascade.statements,
      ],
      after: [...voids.after, ...cascade.after],
    };
  },
};

/**
 * A coordinator revokes a participant: its keys stop being accepted; what it signed before its
 * revocation's signed time stays valid and verifiable, but from that time on it counts for nothing
 * where counting decides (an authority's assessments and its own member state as submitter leave
 * the quorum tallies; included entries that fall short go back to the coordinators as `disputed`,
 * rules/entry-history.ts), and what it signed after that time is void on every node. Its API
 * credentials are revoked too.
 */
export const revokeParticipant: Applier<"participant.revoke"> = {
  kind: "participant.revoke",
  roles: ["coordinator"],
  replicated: true,
  dependsOn: (w) => [`participant:${w.record.participantId}`],
  async apply(db, _env, w, ctx) {
    const id = w.record.participantId;
    if (id === w.claims.iss) throw new ApiError("conflict", "a coordinator cannot revoke itself");
    const target = await getParticipant(db, id);
    if (!target) throw new ApiError("not_found", `no participant ${id}`);
    // Over HTTP a second revocation is refused; a replica keeps the earliest signed one, whatever
    // order two revocations signed on two nodes arrive in.
    if (target.status === "revoked" && !ctx.replicated)
      throw new ApiError("conflict", `${id} is already revoked`);
    const at = nowIso(ctx.at);
    const atS = Math.floor(ctx.at / 1000);
    const creds = cascadeCredentialRevocation(db, {
      participantId: id,
      recordId: ctx.recordId,
      cause: "participant.revoke",
      at,
      auditAt: nowIso(),
    });
    const ends = { participantId: id, at: positionOf(w, ctx) };
    const voids = await voidedBy(db, ends, ctx.recordId);
    const touched =
      target.role === "authority"
        ? (
            await db.all<{ id: string }>(
              sql`SELECT id FROM submissions WHERE submitter_id = ${id}
                UNION SELECT submission_id FROM assessments WHERE authority_id = ${id}`,
            )
          ).map((r) => r.id)
        : [];
    const earlier = sql`(${participants.revokedAt} IS NULL OR ${participants.revokedAt} > ${at})`;
    return {
      subjectId: id,
      registry: { ends },
      touches: [...new Set([...touched, ...voids.touches])],
      statements: [
        bumpRegistry(db),
        db
          .update(participants)
          .set({ status: "revoked", revokedAt: at, revocationRecordId: ctx.recordId })
          .where(and(eq(participants.id, id), earlier)),
        db
          .update(participantKeys)
          .set({ validUntil: sql`min(coalesce(${participantKeys.validUntil}, ${atS}), ${atS})` })
          .where(eq(participantKeys.participantId, id)),
        ...creds.statements,
      ],
      after: [...voids.after, ...creds.after],
    };
  },
};

/**
 * What a revocation or a key retirement at `ends.at` voids: the participant's records (of that
 * key, for a retirement) after it in signed order that this node already holds — an audit
 * entry for each (`record.voided`), and the entries they were about, to be re-derived.
 */
async function voidedBy(
  db: Parameters<Applier<"participant.revoke">["apply"]>[0],
  ends: { participantId: string; kid?: string; at: Position },
  recordId: string,
): Promise<{ touches: string[]; after: Plan["statements"] }> {
  const byKey = ends.kid ? sql` AND r.kid = ${ends.kid}` : sql``;
  const at = ends.at;
  const index = at.originIndex === Number.POSITIVE_INFINITY ? Number.MAX_SAFE_INTEGER : at.originIndex;
  // After the revoking record in signed order (rules/entry-history.ts `Position`).
  const reach = sql`r.issuer = ${ends.participantId}${byKey} AND r.id <> ${recordId}
    AND ((r.iat, r.origin_node, coalesce(r.origin_index, 0)) > (${at.iat}, ${at.origin}, ${index})
      OR (r.origin_node = ${at.origin} AND coalesce(r.origin_index, 0) > ${index}))`;
  const rows = await db.all<{ id: string }>(
    sql`SELECT s.id FROM submissions s JOIN records r ON r.id = s.record_id WHERE ${reach}
      UNION SELECT a.submission_id FROM assessments a JOIN records r ON r.id = a.record_id WHERE ${reach}
      UNION SELECT d.submission_id FROM decisions d JOIN records r ON r.id = d.record_id WHERE ${reach}
      UNION SELECT f.submission_id FROM feedback f JOIN records r ON r.id = f.record_id WHERE ${reach}`,
  );
  return {
    touches: rows.map((r) => r.id),
    after: [
      insertSelect(
        db,
        auditLog,
        {
          kind: sql`'record.voided'`,
          recordId: sql`r.id`,
          subjectId: sql`r.subject_id`,
          actor: sql`'system'`,
          at: sql`${nowIso()}`,
          jwsSha256: sql`r.jws_sha256`,
          detail: sql`json_object('voidedBy', ${recordId}, 'participantId', ${ends.participantId}, 'kid', ${ends.kid ?? null}, 'from', ${at.iat}, 'why', 'signed at or after the signer was revoked or the key retired')`,
        },
        sql`FROM records r WHERE ${reach} ORDER BY r.iat, r.id`,
      ),
    ],
  };
}
