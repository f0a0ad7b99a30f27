// Appliers of the participant registry records: admission and revocation (coordinators), their
// countersignatures, key addition and retirement (the participant itself). Used by
// routes/participants.ts and by federation; see apply/context.ts. Every time they store is a
// record's signed time, so the registry is the same on every node; a revocation or a retirement
// voids, on every node, what the participant or key signed from its signed time on — from the
// time a retirement declares the key compromised, when it does (docs/federation.md "Convergence").
//
// No single coordinator is the root of trust: with REGISTRY_SECOND_SIGNATURE (config.ts, on by
// default) an admission, and an authority's or a coordinator's revocation, signed by one
// coordinator is a request (registry_requests) with no effect; it takes effect when a second
// signer countersigns it, at the countersignature's signed place. Which countersignature
// completes a request is settled in signed order from the records alone (apply/registry.ts), so
// it is the same on every node whatever order the records arrive in.
import { normalisePublicJwk } from "@eusn/protocol";
import { and, eq, sql } from "drizzle-orm";
import {
  auditLog,
  participantKeys,
  registryCountersignatures,
  registryRequests,
} from "../../../schema/index.ts";
import { config } from "../config.ts";
import type { Db } from "../lib/db.ts";
import { nowIso } from "../lib/encoding.ts";
import { derivedId } from "../lib/ids.ts";
import { ApiError } from "../lib/problem.ts";
import { comparePositions, type Position } from "../rules/entry-history.ts";
import { cascadeCredentialRevocation } from "../store/credentials.ts";
import { bumpRegistry } from "../store/entry-state.ts";
import {
  admittedAs,
  getKeyByKid,
  getParticipant,
  getRegistryRequest,
  keysOf,
  openRequestFor,
  type ParticipantRow,
  type RegistryRequestRow,
} from "../store/participants.ts";
import { type Applier, type ApplyContext, type Plan, positionOf } from "./context.ts";
import {
  admissionKeys,
  admissionPlan,
  countersignRefusal,
  demoteFounding,
  earliestFoundingCandidate,
  type FoundingCandidate,
  registryReach,
  revocationPlan,
  settleRequest,
  voidedBy,
} from "./registry.ts";

const ANY_PARTICIPANT = ["coordinator", "authority", "platform"] as const;

/**
 * Whether revoking a participant of `role` needs a second signature (REGISTRY_SECOND_SIGNATURE):
 * an authority's or a coordinator's does; a platform's does not: it removes access and grants
 * none, and a compromised platform must be cut off at once. Every admission does (`admission`).
 */
function revocationNeedsSecondSignature(
  env: Parameters<Applier<"participant.admit">["apply"]>[1],
  role: ParticipantRow["role"],
): boolean {
  return config(env).registry.secondSignature && role !== "platform";
}

/**
 * How an admission stands with REGISTRY_SECOND_SIGNATURE. Every admission needs a second
 * signature — an authority's (it speaks for a member state), a coordinator's (a sock-puppet
 * coordinator would give its maker's requests their second signature) and a platform's (a puppet
 * platform would let a coordinator read what only platforms read: matches, migration signals and
 * their lookups) — except the network's founding: a configuration-rooted coordinator (this node's
 * bootstrap coordinator, or a peer's from PEERS — no signed record admitted it) admits a
 * coordinator alone, because someone has to be second. Which admission that is, is judged from the
 * records alone, in signed order: the earliest such admission (apply/registry.ts
 * `earliestFoundingCandidate`). One that comes before the founding this node holds takes its place,
 * and that one becomes a request (`demote`); if the earliest is void, the exception is spent. After
 * that every coordinator has another to countersign it, so the exception never comes back (a
 * revoked coordinator still counts as having been admitted).
 */
async function admission(
  db: Db,
  env: Parameters<Applier<"participant.admit">["apply"]>[1],
  w: Parameters<Applier<"participant.admit">["apply"]>[2],
  ctx: ApplyContext,
): Promise<{ needs: boolean; demote?: FoundingCandidate }> {
  if (!config(env).registry.secondSignature) return { needs: false };
  const signer = w.caller.participant;
  const candidate =
    w.record.role === "coordinator" && signer.role === "coordinator" && signer.admissionRecordId === null;
  if (!candidate) return { needs: true };
  const earliest = await earliestFoundingCandidate(db);
  const first = !earliest || comparePositions(positionOf(w, ctx), earliest.at) < 0;
  if (!first) return { needs: true };
  return {
    needs: !!w.void,
    ...(earliest?.kind === "admitted" ? { demote: earliest } : {}),
  };
}

/** The request row an admission or revocation needing a second signature makes. */
function requestRow(
  w: { claims: { iss: string } },
  ctx: { recordId: string; at: number },
  r: {
    action: RegistryRequestRow["action"];
    participantId: string;
    role: ParticipantRow["role"];
    memberState: string | null;
    displayName: string;
    jwks?: string;
    reason?: string;
    voidReason?: string;
  },
) {
  return {
    requestRecordId: ctx.recordId,
    action: r.action,
    participantId: r.participantId,
    role: r.role,
    memberState: r.memberState,
    displayName: r.displayName,
    requestedBy: w.claims.iss,
    requestedAt: nowIso(ctx.at),
    jwks: r.jwks ?? null,
    reason: r.reason ?? null,
    voidReason: r.voidReason ?? null,
  };
}

/**
 * A coordinator admits a participant; its id derives from the admission record (apply/ids.ts).
 * The admission waits for its second signature (`countersign`) when the policy asks.
 */
export const admitParticipant: Applier<"participant.admit"> = {
  kind: "participant.admit",
  roles: ["coordinator"],
  replicated: true,
  async apply(db, env, w, ctx) {
    const id = await derivedId("participant", w);
    const { needs, demote } = await admission(db, env, w, ctx);
    // An earlier founding admission than the one this node held: that one becomes a request.
    const demoted = demote ? await demoteFounding(db, demote, ctx.recordId) : undefined;
    const withDemoted = (plan: Plan): Plan =>
      demoted
        ? {
            ...plan,
            statements: [...demoted.statements, ...plan.statements],
            after: [...(plan.after ?? []), ...demoted.after],
            touches: [...new Set([...(plan.touches ?? []), ...demoted.touches])],
            registry: {
              ...(plan.registry ?? {}),
              also: {
                ...demoted.also,
                admits: [...demoted.also.admits, ...(plan.registry?.admits ? [plan.registry.admits] : [])],
              },
            },
          }
        : plan;
    // Signed after its signer's key or the signer itself stopped being valid: stored, no effect
    // (a request is kept, void, so that what names it is settled against it).
    if (w.void) {
      if (!needs) return { subjectId: id, statements: [] };
      return withDemoted({
        subjectId: id,
        statements: [
          db.insert(registryRequests).values(
            requestRow(w, ctx, {
              action: "admit",
              participantId: id,
              role: w.record.role,
              memberState: w.record.memberState ?? null,
              displayName: w.record.displayName,
              jwks: JSON.stringify(w.record.jwks),
              voidReason: w.void,
            }),
          ),
        ],
      });
    }
    const keys = await admissionKeys(db, w.record.jwks);
    if (needs) {
      return {
        subjectId: id,
        statements: [
          db.insert(registryRequests).values(
            requestRow(w, ctx, {
              action: "admit",
              participantId: id,
              role: w.record.role,
              memberState: w.record.memberState ?? null,
              displayName: w.record.displayName,
              jwks: JSON.stringify({ keys: keys.map((k) => k.jwk) }),
            }),
          ),
        ],
      };
    }
    return withDemoted(
      admissionPlan(db, {
        id,
        role: w.record.role,
        memberState: w.record.memberState ?? null,
        displayName: w.record.displayName,
        keys,
        admissionRecordId: ctx.recordId,
        countersignRecordId: null,
        at: ctx.at,
        position: positionOf(w, ctx),
      }),
    );
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
    // Registry records and migration signals the key signed after that time stop counting too.
    const reached = await registryReach(db, ends, ctx.recordId);
    const retiredEarlier =
      target.retiredAt !== null && Date.parse(target.retiredAt) <= ctx.at && target.retiredRecordId !== null;
    return {
      subjectId: id,
      registry: { ends, also: reached.also },
      touches: [...new Set([...voids.touches, ...reached.touches])],
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
        ...reached.statements,
      ],
      after: [...voids.after, ...cascade.after, ...reached.after],
    };
  },
};

/**
 * A coordinator revokes a participant: its keys stop being accepted; what it signed before its
 * revocation's signed time stays valid and verifiable, but from that time on it counts for nothing
 * where counting decides (an authority's assessments and its own member state as submitter leave
 * the quorum tallies; included entries that fall short go back to the coordinators as `disputed`,
 * rules/entry-history.ts), and what it signed after that time is void on every node — its facts,
 * and its registry records and migration signals (apply/registry.ts `registryReach`). Its API
 * credentials are revoked too. An authority's or a coordinator's revocation waits for its second
 * signature (`countersign`) when the policy asks; it then takes effect at the countersignature's
 * place.
 */
export const revokeParticipant: Applier<"participant.revoke"> = {
  kind: "participant.revoke",
  roles: ["coordinator"],
  replicated: true,
  // A replica waits for the participant's admission record, not for the admission to be in effect:
  // one that was undone, or waits for its second signature, may never be.
  dependsOn: (w) => [`admission:${w.record.participantId}`],
  async apply(db, env, w, ctx) {
    const id = w.record.participantId;
    if (id === w.claims.iss) throw new ApiError("conflict", "a coordinator cannot revoke itself");
    const admitted = await getParticipant(db, id);
    // Replicated, the revocation of a participant that this node holds the admission of, but not
    // in effect (undone, or still a request): stored, revoking nobody, and audited. If that
    // admission takes effect later, before the revocation in signed order, the revocation takes
    // effect with it (apply/registry.ts `moveAdmission`).
    const moot = !admitted && ctx.replicated ? await admittedAs(db, id) : undefined;
    const target = admitted ?? moot;
    if (!target) throw new ApiError("not_found", `no participant ${id}`);
    const needs = revocationNeedsSecondSignature(env, target.role);
    const row = (voidReason?: string) =>
      db.insert(registryRequests).values(
        requestRow(w, ctx, {
          action: "revoke",
          participantId: id,
          role: target.role,
          memberState: target.memberState,
          displayName: target.displayName,
          reason: w.record.reason,
          ...(voidReason ? { voidReason } : {}),
        }),
      );
    if (w.void) return { subjectId: id, statements: needs ? [row(w.void)] : [] };
    if (!admitted)
      return {
        subjectId: id,
        statements: needs ? [row()] : [],
        after: [
          db.insert(auditLog).values({
            kind: "participant.revoke.moot",
            subjectId: id,
            actor: "system",
            at: nowIso(),
            detail: JSON.stringify({
              revocationRecordId: ctx.recordId,
              why: "the participant is not admitted on this node: its admission was undone or has not taken effect; the revocation takes effect if the admission does, before it in signed order",
            }),
          }),
        ],
      };
    // Over HTTP a second revocation is refused; a replica keeps the earliest signed one, whatever
    // order two revocations signed on two nodes arrive in.
    if (admitted.status === "revoked" && !ctx.replicated)
      throw new ApiError("conflict", `${id} is already revoked`);
    if (needs) {
      const open = await openRequestFor(db, id, "revoke");
      if (open && !ctx.replicated)
        throw new ApiError(
          "conflict",
          `a revocation of ${id} (${open.requestRecordId}) is already waiting for its second signature: countersign it`,
        );
      return { subjectId: id, statements: [row()] };
    }
    return revocationPlan(db, admitted, {
      recordId: ctx.recordId,
      at: ctx.at,
      position: positionOf(w, ctx),
      reach: true,
    });
  },
};

/** The request a countersignature or a withdrawal names, checked against what the record says. */
async function namedRequest(
  db: Db,
  r: { requestRecordId: string; participantId: string; action: "admit" | "revoke" },
): Promise<RegistryRequestRow> {
  const req = await getRegistryRequest(db, r.requestRecordId);
  if (!req) throw new ApiError("not_found", `no admission or revocation request ${r.requestRecordId}`);
  if (req.participantId !== r.participantId || req.action !== r.action)
    throw new ApiError(
      "conflict",
      `request ${req.requestRecordId} is the ${req.action === "admit" ? "admission" : "revocation"} of ${req.participantId}; this record names the ${r.action === "admit" ? "admission" : "revocation"} of ${r.participantId}`,
    );
  return req;
}

/** Why a request cannot take a new signature over HTTP any more, or undefined. */
function closed(req: RegistryRequestRow): string | undefined {
  if (req.voidReason) return `request ${req.requestRecordId} is void: ${req.voidReason}`;
  if (req.withdrawnRecordId) return `request ${req.requestRecordId} was withdrawn by its signer`;
  if (req.completedRecordId) return `request ${req.requestRecordId} is already countersigned`;
  return undefined;
}

/** The plan of a record that settles `req` again (a countersignature or a withdrawal). */
function settledPlan(
  subjectId: string,
  req: RegistryRequestRow,
  own: Plan["statements"],
  s: Awaited<ReturnType<typeof settleRequest>>,
  cause: string,
): Plan {
  return {
    subjectId,
    ...(s.also.ends.length || s.also.admits.length || s.also.unadmits.length || s.also.unrevokes.length
      ? {
          registry: {
            ...(s.also.ends[0] ? { ends: s.also.ends[0] } : {}),
            also: { ...s.also, ends: s.also.ends.slice(1) },
          },
          cause,
        }
      : {}),
    uniqueConflict: {
      pattern: /UNIQUE|PRIMARY/,
      detail: `${req.participantId} or one of its keys is already registered`,
    },
    touches: s.touches,
    statements: [...own, ...s.statements],
    after: s.after,
  };
}

/**
 * The second signature of an admission or revocation (REGISTRY_SECOND_SIGNATURE). It counts when
 * its signer may give it (`countersignRefusal`: another coordinator than the request's; an active
 * authority of the target's member state for an authority; any active authority for a
 * coordinator's revocation; never the target itself; a platform cannot sign it at all), and
 * names the request's record, participant and action, so it cannot be replayed onto another
 * request. Over HTTP a request that is completed, withdrawn or void is refused. Which
 * countersignature completes a request, and from which place in signed order, is settled from
 * every record about it (apply/registry.ts): the earliest valid one before any withdrawal, on every
 * node whatever order they arrive in.
 */
export const countersign: Applier<"participant.countersign"> = {
  kind: "participant.countersign",
  roles: ["coordinator", "authority"],
  replicated: true,
  dependsOn: (w) => [`registry:${w.record.requestRecordId}`],
  async apply(db, _env, w, ctx) {
    const req = await namedRequest(db, w.record);
    const signer = w.caller.participant;
    const refusal = countersignRefusal(signer, req);
    if (refusal) throw new ApiError("forbidden", refusal);
    if (!ctx.replicated) {
      const why = closed(req);
      if (why) throw new ApiError("conflict", why);
    }
    const position = positionOf(w, ctx);
    const s = await settleRequest(db, req, {
      countersign: {
        recordId: ctx.recordId,
        at: position,
        signerId: signer.id,
        kid: w.caller.key.kid,
        valid: !w.void,
      },
      recordId: ctx.recordId,
      reach: true,
    });
    const own = [
      db.insert(registryCountersignatures).values({
        recordId: ctx.recordId,
        requestRecordId: req.requestRecordId,
        signerId: signer.id,
      }),
    ];
    return settledPlan(
      req.participantId,
      req,
      own,
      s,
      req.action === "admit" ? "participant.admit" : "participant.revoke",
    );
  },
};

/**
 * The signer of a request withdraws it while it waits for its second signature: a withdrawn
 * request cannot be countersigned. In signed order a countersignature signed before the
 * withdrawal still completes it (over HTTP a completed request is refused: revoke instead); one
 * signed after it does not, and a node that applied such a countersignature before the withdrawal
 * reached it undoes what it completed (apply/registry.ts).
 */
export const withdrawRequest: Applier<"participant.request.withdraw"> = {
  kind: "participant.request.withdraw",
  roles: ["coordinator"],
  replicated: true,
  dependsOn: (w) => [`registry:${w.record.requestRecordId}`],
  async apply(db, _env, w, ctx) {
    const req = await namedRequest(db, w.record);
    if (w.claims.iss !== req.requestedBy)
      throw new ApiError("forbidden", `only the request's signer (${req.requestedBy}) can withdraw it`);
    if (!ctx.replicated) {
      const why = closed(req);
      if (why) throw new ApiError("conflict", why);
    }
    const position = positionOf(w, ctx);
    const s = await settleRequest(db, req, {
      withdrawal: {
        recordId: ctx.recordId,
        at: position,
        signerId: w.claims.iss,
        kid: w.caller.key.kid,
        valid: !w.void,
      },
      recordId: ctx.recordId,
      reach: false,
    });
    const own = w.void
      ? []
      : [
          db
            .update(registryRequests)
            .set({ withdrawnRecordId: ctx.recordId, withdrawnAt: nowIso(ctx.at) })
            .where(
              and(
                eq(registryRequests.requestRecordId, req.requestRecordId),
                // The earliest withdrawal in signed order stays (a replica may get two).
                sql`(${registryRequests.withdrawnAt} IS NULL OR ${registryRequests.withdrawnAt} > ${nowIso(ctx.at)})`,
              ),
            ),
        ];
    return settledPlan(
      req.participantId,
      req,
      own,
      s,
      req.action === "admit" ? "participant.admit" : "participant.revoke",
    );
  },
};
