// Appliers of the participant registry records: admission and revocation (coordinators), their
// countersignatures, key addition and retirement (the participant itself). Used by
// routes/participants.ts and by federation; see apply/context.ts. Every time they store is a
// record's signed time, so the registry is the same on every node; a revocation or a retirement
// voids, on every node, what the participant or key signed from its signed time on — from the
// time a retirement declares the key compromised, when it does (docs/federation.md "Convergence").
//
// No single coordinator is the root of trust for a member state: with REGISTRY_SECOND_SIGNATURE
// (config.ts, on by default) an authority's admission or revocation signed by one coordinator
// is a request (registry_requests) with no effect; it takes effect when a second signer
// countersigns it — another coordinator, or an active authority of the same member state — and
// at the countersignature's signed place, which is what every node folds by.
import { type NormalisedKey, normalisePublicJwk, type RecordOf } from "@eusn/protocol";
import { and, eq, isNull, sql } from "drizzle-orm";
import { auditLog, participantKeys, participants, registryRequests } from "../../../schema/index.ts";
import { config } from "../config.ts";
import type { Db } from "../lib/db.ts";
import { insertSelect } from "../lib/db.ts";
import { nowIso } from "../lib/encoding.ts";
import { derivedId } from "../lib/ids.ts";
import { ApiError } from "../lib/problem.ts";
import { comparePositions, type Position } from "../rules/entry-history.ts";
import { cascadeCredentialRevocation } from "../store/credentials.ts";
import { bumpRegistry } from "../store/entry-state.ts";
import {
  getKeyByKid,
  getParticipant,
  getRegistryRequest,
  keysOf,
  openRequestFor,
  type ParticipantRow,
} from "../store/participants.ts";
import { type Applier, type Plan, positionOf } from "./context.ts";

const ANY_PARTICIPANT = ["coordinator", "authority", "platform"] as const;

/** The admission's keys, normalised (RFC 7638 kids), none registered to anyone here yet. */
async function admissionKeys(db: Db, jwks: RecordOf<"participant.admit">["jwks"]): Promise<NormalisedKey[]> {
  const keys: NormalisedKey[] = [];
  for (const [i, jwk] of jwks.keys.entries()) {
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
  return keys;
}

/**
 * Whether admitting or revoking a participant of `role`, signed by `signerId`, needs a second
 * signature (REGISTRY_SECOND_SIGNATURE). Every admission does — an authority's (it speaks for a
 * member state), a coordinator's (a sock-puppet coordinator would give its maker's requests their
 * second signature) and a platform's (a puppet platform would let a coordinator read what only
 * platforms read: matches, migration signals and their lookups) — except the network's founding
 * (`foundingAdmission`). Revoking an authority or a coordinator does; revoking a platform does
 * not: it removes access and grants none, and a compromised platform must be cut off at once.
 */
async function needsSecondSignature(
  db: Db,
  env: Parameters<Applier<"participant.admit">["apply"]>[1],
  action: "admit" | "revoke",
  role: ParticipantRow["role"],
  signerId: string,
): Promise<boolean> {
  if (!config(env).registry.secondSignature) return false;
  if (action === "revoke") return role !== "platform";
  if (role === "coordinator") return !(await foundingAdmission(db, signerId));
  return true;
}

/**
 * The one admission a coordinator signs alone: a configuration-rooted coordinator (this node's
 * bootstrap coordinator, or a peer's from PEERS — no signed record admitted it) admits the first
 * coordinator of the network that a signed record admits. Someone has to be second; after that
 * every coordinator has another to countersign it, so the exception never comes back (a revoked
 * coordinator still counts as having been admitted).
 */
async function foundingAdmission(db: Db, signerId: string): Promise<boolean> {
  const signer = await getParticipant(db, signerId);
  if (signer?.role !== "coordinator" || signer.admissionRecordId !== null) return false;
  const admitted = await db.get<{ one: number }>(
    sql`SELECT 1 AS one FROM participants WHERE role = 'coordinator' AND admission_record_id IS NOT NULL LIMIT 1`,
  );
  return !admitted;
}

/**
 * Why `signer` cannot give request `req` its second signature, or undefined when it can: another
 * coordinator than the requester always can; an authority of the target's member state can for an
 * authority's admission or revocation, and any authority for a coordinator's revocation (so two
 * coordinators cannot keep each other in office); nobody countersigns for itself.
 */
function countersignRefusal(
  signer: ParticipantRow,
  req: {
    requestedBy: string;
    participantId: string;
    role: string;
    action: string;
    memberState: string | null;
  },
): string | undefined {
  if (signer.id === req.requestedBy)
    return "the second signature must come from another signer than the first";
  if (signer.id === req.participantId)
    return "a participant cannot countersign its own admission or revocation";
  if (signer.role === "coordinator") return undefined;
  if (signer.role === "authority") {
    if (req.role === "authority")
      return signer.memberState === req.memberState
        ? undefined
        : `only a coordinator or an authority of ${req.memberState} can countersign; ${signer.id} is an authority of ${signer.memberState}`;
    if (req.role === "coordinator" && req.action === "revoke") return undefined;
    return `only another coordinator can countersign a ${req.role}'s ${req.action === "admit" ? "admission" : "revocation"}`;
  }
  return "only a coordinator or an authority can countersign";
}

/**
 * A coordinator admits a participant; its id derives from the admission record (apply/ids.ts).
 * An authority's admission waits for its second signature (`countersign`) when the policy asks.
 */
export const admitParticipant: Applier<"participant.admit"> = {
  kind: "participant.admit",
  roles: ["coordinator"],
  replicated: true,
  async apply(db, env, w, ctx) {
    const id = await derivedId("participant", w);
    // Signed after its signer's key or the signer itself stopped being valid: stored, no effect.
    if (w.void) return { subjectId: id, statements: [] };
    const keys = await admissionKeys(db, w.record.jwks);
    if (await needsSecondSignature(db, env, "admit", w.record.role, w.claims.iss)) {
      return {
        subjectId: id,
        statements: [
          db.insert(registryRequests).values({
            requestRecordId: ctx.recordId,
            action: "admit",
            participantId: id,
            role: w.record.role,
            memberState: w.record.memberState ?? null,
            displayName: w.record.displayName,
            requestedBy: w.claims.iss,
            requestedAt: nowIso(ctx.at),
            jwks: JSON.stringify({ keys: keys.map((k) => k.jwk) }),
          }),
        ],
      };
    }
    return admissionPlan(db, {
      id,
      role: w.record.role,
      memberState: w.record.memberState ?? null,
      displayName: w.record.displayName,
      keys,
      admissionRecordId: ctx.recordId,
      countersignRecordId: null,
      at: ctx.at,
      position: positionOf(w, ctx),
    });
  },
};

/** The rows of an admission taking effect at `at` (ms; signed place `position`). */
function admissionPlan(
  db: Db,
  a: {
    id: string;
    role: ParticipantRow["role"];
    memberState: string | null;
    displayName: string;
    keys: NormalisedKey[];
    admissionRecordId: string;
    countersignRecordId: string | null;
    at: number;
    position: Position;
  },
): Plan {
  const now = nowIso(a.at);
  const nowS = Math.floor(a.at / 1000);
  return {
    subjectId: a.id,
    ...(a.role === "authority" && a.memberState
      ? { registry: { admits: { id: a.id, memberState: a.memberState, at: a.position } } }
      : {}),
    uniqueConflict: {
      pattern: /UNIQUE|PRIMARY/,
      detail: `${a.id} or one of its keys is already registered`,
    },
    statements: [
      bumpRegistry(db),
      db.insert(participants).values({
        id: a.id,
        role: a.role,
        memberState: a.memberState,
        displayName: a.displayName,
        admittedAt: now,
        admissionRecordId: a.admissionRecordId,
        admissionCountersignRecordId: a.countersignRecordId,
      }),
      ...a.keys.map((k) =>
        db.insert(participantKeys).values({
          participantId: a.id,
          kid: k.kid,
          jwk: JSON.stringify(k.jwk),
          alg: k.alg,
          addedAt: now,
          addedRecordId: a.admissionRecordId,
          validFrom: nowS,
        }),
      ),
    ],
  };
}

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
 *
 * With `compromisedSince` the retirement declares the key compromised from that time on: every
 * record the key signed at or after it is void — its assessments stop counting, its decisions stop
 * taking effect, its submissions are voided — and the entries they were about are folded again in
 * this batch, each void record audited as `record.voided`, exactly as a revocation reaches back.
 * The declaration must be signed with another key than the compromised one (whoever holds the
 * compromised key could otherwise move the time), and may come after a routine retirement.
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
    const since = w.record.compromisedSince;
    if (since !== undefined) {
      if (w.caller.key.kid === w.record.kid)
        throw new ApiError(
          "forbidden",
          "a key cannot declare itself compromised: sign the declaration with another of your keys",
        );
      if (since > w.claims.iat)
        throw new ApiError("unprocessable", "compromisedSince is after the declaration's own signed time");
    }
    // A replica applies a second retirement too: the key ends at the earlier signed time. A
    // compromise may be declared of a key already retired.
    if (target.status !== "active" && !ctx.replicated && since === undefined)
      throw new ApiError("conflict", `key ${w.record.kid} is already retired`);
    if (
      target.status === "active" &&
      !ctx.replicated &&
      keys.filter((k) => k.status === "active").length <= 1
    ) {
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
    // A compromise reaches back to its time: before every record signed in that second (origin "",
    // index -1 sort first), so what the key signed at or after `since` is void.
    const from: Position =
      since !== undefined ? { iat: since, origin: "", originIndex: -1 } : positionOf(w, ctx);
    const ends = { participantId: id, kid: w.record.kid, at: from };
    const voids = await voidedBy(db, ends, ctx.recordId);
    const retiredEarlier =
      target.retiredAt !== null && Date.parse(target.retiredAt) <= ctx.at && target.retiredRecordId !== null;
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
            // The earliest retirement stays the key's retirement (a compromise declared later, or
            // a replica's later retirement, keeps it).
            ...(retiredEarlier ? {} : { retiredAt: nowIso(ctx.at), retiredRecordId: ctx.recordId }),
            validUntil: sql`min(coalesce(${participantKeys.validUntil}, ${at}), ${at})`,
            ...(since !== undefined
              ? {
                  compromisedSince: sql`min(coalesce(${participantKeys.compromisedSince}, ${since}), ${since})`,
                }
              : {}),
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
 * credentials are revoked too. An authority's revocation waits for its second signature
 * (`countersign`) when the policy asks; it then takes effect at the countersignature's place.
 */
export const revokeParticipant: Applier<"participant.revoke"> = {
  kind: "participant.revoke",
  roles: ["coordinator"],
  replicated: true,
  dependsOn: (w) => [`participant:${w.record.participantId}`],
  async apply(db, env, w, ctx) {
    const id = w.record.participantId;
    if (id === w.claims.iss) throw new ApiError("conflict", "a coordinator cannot revoke itself");
    const target = await getParticipant(db, id);
    if (!target) throw new ApiError("not_found", `no participant ${id}`);
    if (w.void) return { subjectId: id, statements: [] };
    // Over HTTP a second revocation is refused; a replica keeps the earliest signed one, whatever
    // order two revocations signed on two nodes arrive in.
    if (target.status === "revoked" && !ctx.replicated)
      throw new ApiError("conflict", `${id} is already revoked`);
    if (await needsSecondSignature(db, env, "revoke", target.role, w.claims.iss)) {
      const open = await openRequestFor(db, id, "revoke");
      if (open && !ctx.replicated)
        throw new ApiError(
          "conflict",
          `a revocation of ${id} (${open.requestRecordId}) is already waiting for its second signature: countersign it`,
        );
      return {
        subjectId: id,
        statements: [
          db.insert(registryRequests).values({
            requestRecordId: ctx.recordId,
            action: "revoke",
            participantId: id,
            role: target.role,
            memberState: target.memberState,
            displayName: target.displayName,
            requestedBy: w.claims.iss,
            requestedAt: nowIso(ctx.at),
            reason: w.record.reason,
          }),
        ],
      };
    }
    return revocationPlan(db, target, {
      recordId: ctx.recordId,
      at: ctx.at,
      position: positionOf(w, ctx),
    });
  },
};

/** The statements of `target`'s revocation taking effect at `at` (ms; signed place `position`). */
async function revocationPlan(
  db: Db,
  target: ParticipantRow,
  o: { recordId: string; at: number; position: Position },
): Promise<Plan> {
  const id = target.id;
  const at = nowIso(o.at);
  const atS = Math.floor(o.at / 1000);
  const creds = cascadeCredentialRevocation(db, {
    participantId: id,
    recordId: o.recordId,
    cause: "participant.revoke",
    at,
    auditAt: nowIso(),
  });
  const ends = { participantId: id, at: o.position };
  const voids = await voidedBy(db, ends, o.recordId);
  const touched = target.role === "authority" ? await entriesOf(db, id) : [];
  const earlier = sql`(${participants.revokedAt} IS NULL OR ${participants.revokedAt} > ${at})`;
  return {
    subjectId: id,
    registry: { ends },
    touches: [...new Set([...touched, ...voids.touches])],
    statements: [
      bumpRegistry(db),
      db
        .update(participants)
        .set({ status: "revoked", revokedAt: at, revocationRecordId: o.recordId })
        .where(and(eq(participants.id, id), earlier)),
      db
        .update(participantKeys)
        .set({ validUntil: sql`min(coalesce(${participantKeys.validUntil}, ${atS}), ${atS})` })
        .where(eq(participantKeys.participantId, id)),
      ...creds.statements,
    ],
    after: [...voids.after, ...creds.after],
  };
}

/** The entries an authority submitted or assessed: its place in the registry decides their tallies. */
async function entriesOf(db: Db, authorityId: string): Promise<string[]> {
  const rows = await db.all<{ id: string }>(
    sql`SELECT id FROM submissions WHERE submitter_id = ${authorityId}
      UNION SELECT submission_id FROM assessments WHERE authority_id = ${authorityId}`,
  );
  return rows.map((r) => r.id);
}

/**
 * The second signature of an authority's admission or revocation (REGISTRY_SECOND_SIGNATURE).
 * It counts when its signer is another coordinator than the request's, or an active authority of
 * the target's member state (never the target itself; a platform cannot sign it at all), and
 * names the request's record, participant and action, so it cannot be replayed onto another
 * request. The change takes effect at its own signed place. A node that receives two
 * countersignatures of one request (signed on two nodes during a partition) keeps the earlier in
 * signed order, whatever order they arrive in; over HTTP a completed request is refused.
 */
export const countersign: Applier<"participant.countersign"> = {
  kind: "participant.countersign",
  roles: ["coordinator", "authority"],
  replicated: true,
  dependsOn: (w) => [`registry:${w.record.requestRecordId}`],
  async apply(db, _env, w, ctx) {
    const r = w.record;
    const req = await getRegistryRequest(db, r.requestRecordId);
    if (!req) throw new ApiError("not_found", `no admission or revocation request ${r.requestRecordId}`);
    if (req.participantId !== r.participantId || req.action !== r.action)
      throw new ApiError(
        "conflict",
        `request ${req.requestRecordId} is the ${req.action === "admit" ? "admission" : "revocation"} of ${req.participantId}; this countersignature names the ${r.action === "admit" ? "admission" : "revocation"} of ${r.participantId}`,
      );
    const signer = w.caller.participant;
    const refusal = countersignRefusal(signer, req);
    if (refusal) throw new ApiError("forbidden", refusal);
    const subjectId = req.participantId;
    // Void (signed after its signer's key or the signer itself stopped being valid): stored, no effect.
    if (w.void) return { subjectId, statements: [] };
    const position = positionOf(w, ctx);
    if (req.completedRecordId) {
      if (!ctx.replicated)
        throw new ApiError("conflict", `request ${req.requestRecordId} is already countersigned`);
      const prior = await db.get<{ iat: number; origin: string; origin_index: number | null }>(
        sql`SELECT iat, origin_node AS origin, origin_index FROM records WHERE id = ${req.completedRecordId}`,
      );
      const priorAt: Position | null = prior
        ? { iat: prior.iat, origin: prior.origin, originIndex: prior.origin_index ?? 0 }
        : null;
      // A later countersignature adds nothing: the request took effect at the earlier one.
      if (priorAt && comparePositions(priorAt, position) <= 0) return { subjectId, statements: [] };
    }
    const completes = db
      .update(registryRequests)
      .set({ completedRecordId: ctx.recordId, completedBy: signer.id, completedAt: nowIso(ctx.at) })
      .where(eq(registryRequests.requestRecordId, req.requestRecordId));
    if (req.action === "revoke") {
      const target = await getParticipant(db, req.participantId);
      if (!target) throw new ApiError("not_found", `no participant ${req.participantId}`);
      if (target.status === "revoked" && !ctx.replicated)
        throw new ApiError("conflict", `${target.id} is already revoked`);
      const plan = await revocationPlan(db, target, { recordId: ctx.recordId, at: ctx.at, position });
      return { ...plan, cause: "participant.revoke", statements: [...plan.statements, completes] };
    }
    const jwks = JSON.parse(req.jwks ?? '{"keys":[]}') as RecordOf<"participant.admit">["jwks"];
    if (req.completedRecordId) {
      // An earlier countersignature of an admission already in effect: the authority counts, and
      // its keys are valid, from this earlier place on.
      const atS = Math.floor(ctx.at / 1000);
      return {
        subjectId,
        registry: {
          admits: { id: subjectId, memberState: req.memberState ?? "", at: position },
        },
        touches: await entriesOf(db, subjectId),
        statements: [
          bumpRegistry(db),
          db
            .update(participants)
            .set({ admittedAt: nowIso(ctx.at), admissionCountersignRecordId: ctx.recordId })
            .where(eq(participants.id, subjectId)),
          db
            .update(participantKeys)
            .set({ validFrom: atS, addedAt: nowIso(ctx.at) })
            .where(
              and(
                eq(participantKeys.participantId, subjectId),
                eq(participantKeys.addedRecordId, req.requestRecordId),
              ),
            ),
          completes,
        ],
      };
    }
    const keys = await admissionKeys(db, jwks);
    const plan = admissionPlan(db, {
      id: subjectId,
      role: req.role,
      memberState: req.memberState,
      displayName: req.displayName,
      keys,
      admissionRecordId: req.requestRecordId,
      countersignRecordId: ctx.recordId,
      at: ctx.at,
      position,
    });
    return {
      ...plan,
      statements: [
        ...plan.statements,
        db
          .update(registryRequests)
          .set({ completedRecordId: ctx.recordId, completedBy: signer.id, completedAt: nowIso(ctx.at) })
          .where(
            and(
              eq(registryRequests.requestRecordId, req.requestRecordId),
              isNull(registryRequests.completedRecordId),
            ),
          ),
      ],
    };
  },
};

/**
 * What a revocation or a key retirement at `ends.at` voids: the participant's records (of that
 * key, for a retirement) after it in signed order that this node already holds — an audit
 * entry for each (`record.voided`), and the entries they were about, to be re-derived.
 */
async function voidedBy(
  db: Db,
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
          detail: sql`json_object('voidedBy', ${recordId}, 'participantId', ${ends.participantId}, 'kid', ${ends.kid ?? null}, 'from', ${at.iat}, 'why', ${ends.kid && ends.at.originIndex === -1 ? "signed at or after the time its key was declared compromised" : "signed at or after the signer was revoked or the key retired"})`,
        },
        sql`FROM records r WHERE ${reach} ORDER BY r.iat, r.id`,
      ),
    ],
  };
}
