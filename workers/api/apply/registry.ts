// The registry's changes and their second signatures, settled in signed order. An admission or a
// revocation that needs two signatures (apply/participants.ts) is a request; which signature, if
// any, completes it is a function of the records alone — the request, its countersignatures and
// its signer's withdrawal, each judged by whether it was signed validly (not after its key's
// retirement or compromise, nor after its signer's revocation, in signed order) — never of the
// order they reached a node: the earliest valid countersignature by an eligible signer completes
// it, unless a valid withdrawal precedes it. `settleRequest` computes that and plans the move from
// what the node holds now (nothing, or another countersignature) to it: an admission or a
// revocation takes effect, moves to another place in signed order, or is undone. The same
// function runs when a countersignature or a withdrawal arrives and when a revocation or a key
// retirement reaches back over registry records its signer signed after it (`registryReach`), so
// every node that holds the same records holds the same registry (docs/federation.md
// "Convergence").
import { type NormalisedKey, newId, normalisePublicJwk, type RecordOf } from "@eusn/protocol";
import { and, eq, sql } from "drizzle-orm";
import { auditLog, participantKeys, participants, registryRequests } from "../../../schema/index.ts";
import type { Db, DomainStatements } from "../lib/db.ts";
import { insertSelect } from "../lib/db.ts";
import { nowIso } from "../lib/encoding.ts";
import { ApiError } from "../lib/problem.ts";
import {
  comparePositions,
  type Position,
  type RegistryChange,
  type RegistryEnd,
} from "../rules/entry-history.ts";
import { cascadeCredentialRevocation } from "../store/credentials.ts";
import { bumpRegistry, signedValidlyByKeySql, signedValidlySql, voidByChange } from "../store/entry-state.ts";
import {
  getKeyByKid,
  getParticipant,
  type ParticipantRow,
  type RegistryRequestRow,
} from "../store/participants.ts";
import { withdrawStatements } from "../store/signals.ts";
import type { Plan } from "./context.ts";

export type Also = NonNullable<RegistryChange["also"]>;
export const noChange = (): Also => ({ ends: [], admits: [], unadmits: [], unrevokes: [] });

/** What settling requests or reaching back adds to a record's plan. */
export type Settled = {
  statements: DomainStatements;
  after: DomainStatements;
  touches: string[];
  also: Also;
};
const nothing = (): Settled => ({ statements: [], after: [], touches: [], also: noChange() });

export function merge(...parts: Settled[]): Settled {
  const out = nothing();
  for (const p of parts) {
    out.statements.push(...p.statements);
    out.after.push(...p.after);
    out.touches.push(...p.touches);
    out.also.ends.push(...p.also.ends);
    out.also.admits.push(...p.also.admits);
    out.also.unadmits.push(...p.also.unadmits);
    out.also.unrevokes.push(...p.also.unrevokes);
  }
  out.touches = [...new Set(out.touches)];
  return out;
}

/** The admission's keys, normalised (RFC 7638 kids), none registered to anyone here yet. */
export async function admissionKeys(
  db: Db,
  jwks: RecordOf<"participant.admit">["jwks"],
): Promise<NormalisedKey[]> {
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
 * Why `signer` cannot give request `req` its second signature, or undefined when it can: another
 * coordinator than the requester always can; an authority of the target's member state can for an
 * authority's admission or revocation, and any authority for a coordinator's revocation (so two
 * coordinators cannot keep each other in office); nobody countersigns for itself.
 */
export function countersignRefusal(
  signer: Pick<ParticipantRow, "id" | "role" | "memberState">,
  req: Pick<RegistryRequestRow, "requestedBy" | "participantId" | "role" | "action" | "memberState">,
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

/** The rows of an admission taking effect at `at` (ms; signed place `position`). */
export function admissionPlan(
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

/**
 * The statements of `target`'s revocation taking effect at `at` (ms; signed place `position`).
 * `reach`: a revocation applied by its own record (or by the countersignature that completes it
 * as that record arrives) also reaches back over the registry records and migration signals the
 * participant signed after it; a revocation settled again inside another record's reach-back does
 * not reach further (one level).
 */
export async function revocationPlan(
  db: Db,
  target: ParticipantRow,
  o: { recordId: string; at: number; position: Position; reach: boolean },
): Promise<Plan & { registry: RegistryChange }> {
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
  const reached = o.reach ? await registryReach(db, ends, o.recordId) : nothing();
  const touched = target.role === "authority" ? await entriesOf(db, id) : [];
  const earlier = sql`(${participants.revokedAt} IS NULL OR ${participants.revokedAt} > ${at})`;
  return {
    subjectId: id,
    registry: { ends, also: reached.also },
    touches: [...new Set([...touched, ...voids.touches, ...reached.touches])],
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
      ...reached.statements,
    ],
    after: [...voids.after, ...creds.after, ...reached.after],
  };
}

/** The entries an authority submitted or assessed: its place in the registry decides their tallies. */
export async function entriesOf(db: Db, authorityId: string): Promise<string[]> {
  const rows = await db.all<{ id: string }>(
    sql`SELECT id FROM submissions WHERE submitter_id = ${authorityId}
      UNION SELECT submission_id FROM assessments WHERE authority_id = ${authorityId}`,
  );
  return rows.map((r) => r.id);
}

/** SQL: the records `ends` reaches — its participant's (of that key) after it in signed order. */
function reachSql(ends: RegistryEnd, recordId: string) {
  const byKey = ends.kid ? sql` AND r.kid = ${ends.kid}` : sql``;
  const at = ends.at;
  const index = at.originIndex === Number.POSITIVE_INFINITY ? Number.MAX_SAFE_INTEGER : at.originIndex;
  return sql`r.issuer = ${ends.participantId}${byKey} AND r.id <> ${recordId}
    AND ((r.iat, r.origin_node, coalesce(r.origin_index, 0)) > (${at.iat}, ${at.origin}, ${index})
      OR (r.origin_node = ${at.origin} AND coalesce(r.origin_index, 0) > ${index}))`;
}

/**
 * What a revocation or a key retirement at `ends.at` voids among the entries' facts: the
 * participant's records (of that key, for a retirement) after it in signed order that this node
 * already holds — an audit entry for each (`record.voided`), and the entries they were about, to
 * be re-derived.
 */
export async function voidedBy(
  db: Db,
  ends: RegistryEnd,
  recordId: string,
): Promise<{ touches: string[]; after: DomainStatements }> {
  const reach = reachSql(ends, recordId);
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
          detail: sql`json_object('voidedBy', ${recordId}, 'participantId', ${ends.participantId}, 'kid', ${ends.kid ?? null}, 'from', ${ends.at.iat}, 'why', ${ends.kid && ends.at.originIndex === -1 ? "signed at or after the time its key was declared compromised" : "signed at or after the signer was revoked or the key retired"})`,
        },
        sql`FROM records r WHERE ${reach} ORDER BY r.iat, r.id`,
      ),
    ],
  };
}

const toPos = (r: { iat: number; origin_node: string; origin_index: number }): Position => ({
  iat: r.iat,
  origin: r.origin_node,
  originIndex: r.origin_index,
});

type StoredRecord = {
  id: string;
  issuer: string;
  kid: string;
  iat: number;
  origin_node: string;
  origin_index: number;
  valid: number;
  valid_key: number;
};

/** Records by id with their place in signed order and whether they were signed validly. */
async function recordsById(db: Db, ids: string[]): Promise<Map<string, StoredRecord>> {
  const out = new Map<string, StoredRecord>();
  if (!ids.length) return out;
  const rows = await db.all<StoredRecord>(
    sql`SELECT r.id, r.issuer, r.kid, r.iat, r.origin_node, coalesce(r.origin_index, 0) AS origin_index,
        ${signedValidlySql()} AS valid, ${signedValidlyByKeySql()} AS valid_key
      FROM records r WHERE r.id IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`,
  );
  for (const r of rows) out.set(r.id, r);
  return out;
}

/** A signature being applied now (not stored yet): its place and whether it is void. */
export type Incoming = { recordId: string; at: Position; signerId: string; kid: string; valid: boolean };

/**
 * Settles request `req`: which countersignature completes it given every record this node holds
 * about it (with `incoming`, the countersignature or withdrawal being applied, and `change`, what
 * the record being applied does to the registry), and the statements that move the node from the
 * completion it holds to that one. `reach` as in `revocationPlan`.
 */
export async function settleRequest(
  db: Db,
  req: RegistryRequestRow,
  o: {
    countersign?: Incoming;
    withdrawal?: Incoming;
    change?: RegistryChange;
    reach?: boolean;
    /** The record that settles it, named by what it changes. */
    recordId: string;
    /** Signers admitted by the batch being planned (not stored yet). */
    signers?: Pick<ParticipantRow, "id" | "role" | "memberState">[];
    /** Settled inside another request's settling: what it admits does not settle further. */
    nested?: boolean;
  },
): Promise<Settled & { completedBy: string | null; voided: boolean; withdrawn: boolean }> {
  const stored = await db.all<{ record_id: string; signer_id: string }>(
    sql`SELECT record_id, signer_id FROM registry_countersignatures WHERE request_record_id = ${req.requestRecordId}`,
  );
  const ids = [
    req.requestRecordId,
    ...stored.map((s) => s.record_id),
    ...(req.withdrawnRecordId ? [req.withdrawnRecordId] : []),
  ];
  const recs = await recordsById(db, ids);
  const validNow = (r: StoredRecord | undefined) =>
    !!r &&
    !voidByChange(o.change, {
      issuer: r.issuer,
      kid: r.kid,
      at: toPos(r),
      valid: !!r.valid,
      validByKey: !!r.valid_key,
    });
  const requestValid = validNow(recs.get(req.requestRecordId));
  // The withdrawal in effect: the earliest valid one.
  let withdrawal: Position | null = null;
  const storedW = req.withdrawnRecordId ? recs.get(req.withdrawnRecordId) : undefined;
  if (storedW && validNow(storedW)) withdrawal = toPos(storedW);
  if (o.withdrawal?.valid && (!withdrawal || comparePositions(o.withdrawal.at, withdrawal) < 0))
    withdrawal = o.withdrawal.at;
  // Candidates: valid countersignatures by eligible signers, before any withdrawal.
  const candidates: { recordId: string; at: Position; signerId: string }[] = [];
  const signers = new Map<string, Pick<ParticipantRow, "id" | "role" | "memberState"> | undefined>(
    (o.signers ?? []).map((s) => [s.id, s]),
  );
  const eligible = async (signerId: string) => {
    if (!signers.has(signerId)) signers.set(signerId, await getParticipant(db, signerId));
    const s = signers.get(signerId);
    return !!s && countersignRefusal(s, req) === undefined;
  };
  for (const s of stored) {
    const r = recs.get(s.record_id);
    if (r && validNow(r) && (await eligible(s.signer_id)))
      candidates.push({ recordId: s.record_id, at: toPos(r), signerId: s.signer_id });
  }
  if (o.countersign?.valid && (await eligible(o.countersign.signerId)))
    candidates.push({
      recordId: o.countersign.recordId,
      at: o.countersign.at,
      signerId: o.countersign.signerId,
    });
  candidates.sort((a, b) => comparePositions(a.at, b.at));
  const first = candidates[0];
  const winner =
    requestValid && first && (!withdrawal || comparePositions(first.at, withdrawal) < 0) ? first : null;
  const currentId = req.completedRecordId;
  const markers = {
    completedBy: winner?.signerId ?? null,
    voided: !requestValid,
    withdrawn: !!withdrawal && !winner,
  };
  if ((currentId ?? null) === (winner?.recordId ?? null)) return { ...nothing(), ...markers };
  let current: { recordId: string; at: Position } | null = null;
  if (currentId) {
    const r = recs.get(currentId) ?? (await recordsById(db, [currentId])).get(currentId);
    if (r) current = { recordId: currentId, at: toPos(r) };
  }
  const completes = db
    .update(registryRequests)
    .set(
      winner
        ? {
            completedRecordId: winner.recordId,
            completedBy: winner.signerId,
            completedAt: nowIso(winner.at.iat * 1000),
          }
        : { completedRecordId: null, completedBy: null, completedAt: null },
    )
    .where(eq(registryRequests.requestRecordId, req.requestRecordId));
  const moved =
    req.action === "admit"
      ? await moveAdmission(db, req, current, winner, o.recordId, o.nested ?? false)
      : await moveRevocation(db, req, current, winner, o.reach ?? false, o.recordId);
  return { ...moved, statements: [...moved.statements, completes], ...markers };
}

/** Moves an admission from the completion `from` to `to` (either may be none). */
async function moveAdmission(
  db: Db,
  req: RegistryRequestRow,
  from: { recordId: string; at: Position } | null,
  to: { recordId: string; at: Position } | null,
  settledBy: string,
  nested: boolean,
): Promise<Settled> {
  const id = req.participantId;
  const authority = req.role === "authority" && req.memberState ? req.memberState : null;
  if (!from && to) {
    const jwks = JSON.parse(req.jwks ?? '{"keys":[]}') as RecordOf<"participant.admit">["jwks"];
    const plan = admissionPlan(db, {
      id,
      role: req.role,
      memberState: req.memberState,
      displayName: req.displayName,
      keys: await admissionKeys(db, jwks),
      admissionRecordId: req.requestRecordId,
      countersignRecordId: to.recordId,
      at: to.at.iat * 1000,
      position: to.at,
    });
    const admitted: Settled = {
      statements: plan.statements,
      after: [],
      // Entries it signed before (an admission completed again after it was undone) are folded
      // with it admitted.
      touches: await entriesOf(db, id),
      also: { ...noChange(), admits: [{ id, memberState: authority ?? "", at: to.at, fresh: true }] },
    };
    // The requests it countersigned while it was not admitted here (its admission undone, or given
    // way to an earlier founding) are settled again with it admitted from this place: what it
    // signed counts as it does on a node that learned it afterwards. One level: what they admit
    // does not settle further.
    const countersigned = nested
      ? []
      : await db.all<{ request_record_id: string }>(
          sql`SELECT DISTINCT request_record_id FROM registry_countersignatures WHERE signer_id = ${id}`,
        );
    const again: Settled[] = [];
    for (const { request_record_id } of countersigned) {
      const other = await requestRow(db, request_record_id);
      if (!other) continue;
      again.push(
        await settleRequest(db, other, {
          change: { also: admitted.also },
          recordId: settledBy,
          signers: [{ id, role: req.role, memberState: req.memberState }],
          nested: true,
        }),
      );
    }
    const withAgain = merge(admitted, ...again);
    // A revocation of it that this node already holds (stored revoking nobody while the admission
    // was not in effect) takes effect with it when it comes after it in signed order.
    const held = await heldRevocation(db, id, to.at);
    if (!held) return withAgain;
    const revoked = await revocationPlan(db, { id, role: req.role } as ParticipantRow, {
      recordId: held.recordId,
      at: held.at.iat * 1000,
      position: held.at,
      reach: false,
    });
    const also = revoked.registry.also ?? noChange();
    return merge(withAgain, {
      statements: revoked.statements,
      after: revoked.after ?? [],
      touches: revoked.touches ?? [],
      also: { ...also, ends: [...also.ends, ...(revoked.registry.ends ? [revoked.registry.ends] : [])] },
    });
  }
  const touches = await entriesOf(db, id);
  if (from && !to) {
    // The admission is undone: the participant and its keys go (what it signed stays stored and
    // verifiable in the log, and counts for nothing), its API credentials are revoked.
    const creds = cascadeCredentialRevocation(db, {
      participantId: id,
      recordId: from.recordId,
      cause: "participant.revoke",
      at: nowIso(),
      auditAt: nowIso(),
    });
    return {
      statements: [
        bumpRegistry(db),
        ...creds.statements,
        db.delete(participantKeys).where(eq(participantKeys.participantId, id)),
        db.delete(participants).where(eq(participants.id, id)),
      ],
      after: [
        ...creds.after,
        db.insert(auditLog).values({
          kind: "participant.unadmitted",
          subjectId: id,
          actor: "system",
          at: nowIso(),
          detail: JSON.stringify({
            requestRecordId: req.requestRecordId,
            countersignRecordId: from.recordId,
            why: "the second signature that completed the admission no longer counts",
          }),
        }),
      ],
      touches,
      also: { ...noChange(), unadmits: [id] },
    };
  }
  if (from && to) {
    const atS = to.at.iat;
    return {
      statements: [
        bumpRegistry(db),
        db
          .update(participants)
          .set({ admittedAt: nowIso(atS * 1000), admissionCountersignRecordId: to.recordId })
          .where(eq(participants.id, id)),
        db
          .update(participantKeys)
          .set({ validFrom: atS, addedAt: nowIso(atS * 1000) })
          .where(
            and(
              eq(participantKeys.participantId, id),
              eq(participantKeys.addedRecordId, req.requestRecordId),
            ),
          ),
      ],
      after: [],
      touches,
      also: { ...noChange(), admits: [{ id, memberState: authority ?? "", at: to.at }] },
    };
  }
  return nothing();
}

/**
 * The earliest revocation of participant `id` in effect by the records alone — a revocation
 * request's completing countersignature, or a revocation signed alone and signed validly — placed
 * after `after` in signed order, if this node holds one.
 */
async function heldRevocation(
  db: Db,
  id: string,
  after: Position,
): Promise<{ recordId: string; at: Position } | undefined> {
  const rows = await db.all<{ id: string; iat: number; origin_node: string; origin_index: number }>(
    sql`SELECT r.id, r.iat, r.origin_node, coalesce(r.origin_index, 0) AS origin_index
      FROM registry_requests q JOIN records r ON r.id = q.completed_record_id
      WHERE q.participant_id = ${id} AND q.action = 'revoke'
      UNION ALL
      SELECT r.id, r.iat, r.origin_node, coalesce(r.origin_index, 0) FROM records r
      WHERE r.kind = 'participant.revoke' AND r.subject_id = ${id}
        AND r.id NOT IN (SELECT request_record_id FROM registry_requests) AND ${signedValidlySql()}`,
  );
  const later = rows
    .map((r) => ({ recordId: r.id, at: toPos(r) }))
    .filter((r) => comparePositions(r.at, after) > 0)
    .sort((a, b) => comparePositions(a.at, b.at));
  return later[0];
}

/**
 * A revocation undone (it was void, or the second signature that completed it stopped counting):
 * the participant is active again and its keys are as their retirements leave them, so it signs
 * again. The API credentials the revocation revoked stay revoked: a credential is a bearer secret
 * held by a connector, and once the node declared it dead its holder may have discarded or exposed
 * it; the participant registers new ones with its key. The audit entry names the credentials.
 */
function unrevoke(
  db: Db,
  id: string,
  revocationRecordId: string,
  undoneBy: string,
): Pick<Settled, "statements" | "after"> {
  return {
    statements: [
      bumpRegistry(db),
      db
        .update(participants)
        .set({ status: "active", revokedAt: null, revocationRecordId: null })
        .where(and(eq(participants.id, id), eq(participants.revocationRecordId, revocationRecordId))),
      db
        .update(participantKeys)
        .set({
          validUntil: sql`CASE WHEN ${participantKeys.retiredAt} IS NULL THEN NULL ELSE CAST(strftime('%s', ${participantKeys.retiredAt}) AS INTEGER) END`,
        })
        .where(eq(participantKeys.participantId, id)),
    ],
    after: [
      insertSelect(
        db,
        auditLog,
        {
          kind: sql`'participant.unrevoked'`,
          subjectId: sql`${id}`,
          actor: sql`'system'`,
          at: sql`${nowIso()}`,
          detail: sql`json_object('revocationRecordId', ${revocationRecordId}, 'undoneBy', ${undoneBy},
            'credentialsRestored', json('false'), 'credentialsRevoked',
            (SELECT json_group_array(id) FROM api_credentials WHERE participant_id = ${id} AND revoked_record_id = ${revocationRecordId}),
            'why', 'the revocation no longer counts: the participant and its keys are active again; the API credentials it revoked stay revoked (register new ones)')`,
        },
        sql``,
      ),
    ],
  };
}

/** Moves a revocation from the completion `from` to `to` (either may be none). */
async function moveRevocation(
  db: Db,
  req: RegistryRequestRow,
  from: { recordId: string; at: Position } | null,
  to: { recordId: string; at: Position } | null,
  reach: boolean,
  settledBy: string,
): Promise<Settled> {
  const target = await getParticipant(db, req.participantId);
  if (!target) return nothing();
  const undone = from ? unrevoke(db, target.id, from.recordId, settledBy) : undefined;
  const undo: Settled = from
    ? {
        statements: undone!.statements,
        // A revocation that moves to another countersignature is not undone: no audit entry.
        after: to ? [] : undone!.after,
        touches: target.role === "authority" ? await entriesOf(db, target.id) : [],
        also: { ...noChange(), unrevokes: [target.id] },
      }
    : nothing();
  if (!to) return undo;
  const plan = await revocationPlan(db, from ? { ...target, status: "active", revokedAt: null } : target, {
    recordId: to.recordId,
    at: to.at.iat * 1000,
    position: to.at,
    reach: reach && !from,
  });
  const also = plan.registry.also ?? noChange();
  return merge(undo, {
    statements: plan.statements,
    after: plan.after ?? [],
    touches: plan.touches ?? [],
    also: { ...also, ends: [...also.ends, ...(plan.registry.ends ? [plan.registry.ends] : [])] },
  });
}

/**
 * What a revocation or key retirement at `ends.at` (declared compromise included) reaches in the
 * registry and among migration signals: every request its participant (key) signed after it is
 * void, every countersignature or withdrawal it signed after it stops counting — each request
 * they concern is settled again, which may undo or move an admission or a revocation — and an
 * admission or a platform's revocation it signed alone after it is undone; its migration signals
 * signed after it are withdrawn (reversed by the system). Each of those records already has its
 * `record.voided` audit entry from `voidedBy`.
 */
export async function registryReach(db: Db, ends: RegistryEnd, recordId: string): Promise<Settled> {
  const reach = reachSql(ends, recordId);
  const reached = await db.all<{ id: string; kind: string }>(
    sql`SELECT r.id, r.kind FROM records r WHERE ${reach} AND r.kind IN
      ('participant.admit', 'participant.revoke', 'participant.countersign', 'participant.request.withdraw', 'signal.create')`,
  );
  if (!reached.length) return nothing();
  const ids = reached.map((r) => r.id);
  const json = JSON.stringify(ids);
  const requests = await db.all<{ request_record_id: string }>(
    sql`SELECT request_record_id FROM registry_requests WHERE request_record_id IN (SELECT value FROM json_each(${json}))
        OR withdrawn_record_id IN (SELECT value FROM json_each(${json}))
      UNION SELECT request_record_id FROM registry_countersignatures WHERE record_id IN (SELECT value FROM json_each(${json}))`,
  );
  const change: RegistryChange = { ends };
  const parts: Settled[] = [];
  for (const { request_record_id } of requests) {
    const req = await requestRow(db, request_record_id);
    if (!req) continue;
    const s = await settleRequest(db, req, { change, recordId, reach: false });
    parts.push(s);
    if (s.voided && !req.voidReason)
      parts.push({
        ...nothing(),
        statements: [
          db
            .update(registryRequests)
            .set({ voidReason: `signed after its signer's revocation or key retirement (${recordId})` })
            .where(eq(registryRequests.requestRecordId, req.requestRecordId)),
        ],
      });
  }
  // Single-signature admissions and revocations (the founding coordinator, a platform's
  // revocation, or any with REGISTRY_SECOND_SIGNATURE off) the participant signed after it.
  const alone = await db.all<{
    id: string;
    role: ParticipantRow["role"];
    member_state: string | null;
    display_name: string;
    admission_record_id: string | null;
    revocation_record_id: string | null;
  }>(
    sql`SELECT id, role, member_state, display_name, admission_record_id, revocation_record_id FROM participants
      WHERE (admission_record_id IN (SELECT value FROM json_each(${json})) AND admission_countersign_record_id IS NULL)
        OR (revocation_record_id IN (SELECT value FROM json_each(${json}))
          AND revocation_record_id NOT IN (SELECT record_id FROM registry_countersignatures))`,
  );
  for (const p of alone) {
    const touches = await entriesOf(db, p.id);
    if (p.admission_record_id && ids.includes(p.admission_record_id)) {
      const creds = cascadeCredentialRevocation(db, {
        participantId: p.id,
        recordId,
        cause: "participant.revoke",
        at: nowIso(),
        auditAt: nowIso(),
      });
      // The network's founding admission, void: it stays the earliest founding candidate (the
      // exception is spent), kept as a void request like one that arrived void.
      const founding = p.role === "coordinator" ? await earliestFoundingCandidate(db) : undefined;
      const spent =
        founding?.recordId === p.admission_record_id
          ? [
              db.insert(registryRequests).values({
                requestRecordId: founding.recordId,
                action: "admit",
                participantId: p.id,
                role: p.role,
                memberState: p.member_state,
                displayName: p.display_name,
                requestedBy: founding.requestedBy,
                requestedAt: nowIso(founding.at.iat * 1000),
                jwks: null,
                voidReason: `signed after its signer's revocation or key retirement (${recordId})`,
              }),
            ]
          : [];
      parts.push({
        statements: [
          bumpRegistry(db),
          ...spent,
          ...creds.statements,
          db.delete(participantKeys).where(eq(participantKeys.participantId, p.id)),
          db.delete(participants).where(eq(participants.id, p.id)),
        ],
        after: [
          ...creds.after,
          db.insert(auditLog).values({
            kind: "participant.unadmitted",
            subjectId: p.id,
            actor: "system",
            at: nowIso(),
            detail: JSON.stringify({
              admissionRecordId: p.admission_record_id,
              voidedBy: recordId,
              why: "its admission was signed after its signer's revocation or key retirement",
            }),
          }),
        ],
        touches,
        also: { ...noChange(), unadmits: [p.id] },
      });
    } else if (p.revocation_record_id) {
      parts.push({
        ...unrevoke(db, p.id, p.revocation_record_id, recordId),
        touches,
        also: { ...noChange(), unrevokes: [p.id] },
      });
    }
  }
  const signalIds = await db.all<{ id: string }>(
    sql`SELECT id FROM signals WHERE status = 'active' AND record_id IN (SELECT value FROM json_each(${json}))`,
  );
  for (const s of signalIds)
    parts.push({
      ...nothing(),
      statements: withdrawStatements(db, s.id, {
        id: newId("reversal"),
        action: "reversed",
        actorId: "system",
        recordId,
        ground: null,
        reason: "signed after its signer's revocation or its key's retirement or declared compromise",
      }),
    });
  return merge(...parts);
}

/** The far start of signed order: a change placed there reaches every record of its participant. */
const BEFORE_ALL: Position = { iat: 0, origin: "", originIndex: -1 };

/**
 * A founding candidate this node holds: an admission of a coordinator signed by a
 * configuration-rooted coordinator (no signed record admitted it: this node's bootstrap
 * coordinator, or a peer's from PEERS). `admitted`: in effect alone (the founding); `request`:
 * a request (pending, completed, withdrawn or void).
 */
export type FoundingCandidate = {
  recordId: string;
  participantId: string;
  kind: "admitted" | "request";
  requestedBy: string;
  at: Position;
};

/**
 * The earliest founding candidate in signed order, if any. The network's founding admission — the
 * one a coordinator signs alone — is the earliest candidate by the records alone: it takes effect
 * at its own place, every later one is a request needing a second signature, and if the earliest
 * is void (signed after its key's retirement or compromise) the exception is spent and nobody has
 * it. So every node that holds the same records has the same founding, whatever order the
 * candidates reached it in (two founded during a partition, or two networks founded apart).
 */
export async function earliestFoundingCandidate(db: Db): Promise<FoundingCandidate | undefined> {
  const row = await db.get<{
    record_id: string;
    participant_id: string;
    kind: "admitted" | "request";
    issuer: string;
    iat: number;
    origin_node: string;
    origin_index: number;
  }>(
    sql`SELECT x.record_id, x.participant_id, x.kind, r.issuer, r.iat, r.origin_node,
        coalesce(r.origin_index, 0) AS origin_index
      FROM (
        SELECT p.admission_record_id AS record_id, p.id AS participant_id, 'admitted' AS kind FROM participants p
          WHERE p.role = 'coordinator' AND p.admission_record_id IS NOT NULL AND p.admission_countersign_record_id IS NULL
        UNION ALL
        SELECT q.request_record_id, q.participant_id, 'request' FROM registry_requests q
          WHERE q.action = 'admit' AND q.role = 'coordinator'
      ) x JOIN records r ON r.id = x.record_id
      WHERE r.issuer IN (SELECT id FROM participants WHERE role = 'coordinator' AND admission_record_id IS NULL)
      ORDER BY r.iat, r.origin_node, coalesce(r.origin_index, 0) LIMIT 1`,
  );
  if (!row) return undefined;
  return {
    recordId: row.record_id,
    participantId: row.participant_id,
    kind: row.kind,
    requestedBy: row.issuer,
    at: toPos(row),
  };
}

/**
 * An admission that was the founding here gives way to an earlier founding candidate (`by`, the
 * record being applied): it becomes a request waiting for a second signature (or void, `voidReason`),
 * its admission is undone — the participant and its keys leave, its API credentials are revoked —
 * and everything the participant signed counts for nothing, reaching one level into the registry as
 * a revocation does (its countersignatures stop counting, what it admitted alone is undone), each
 * record audited `record.voided` and the entries concerned folded again in the same batch.
 */
export async function demoteFounding(
  db: Db,
  f: Pick<FoundingCandidate, "recordId" | "participantId" | "requestedBy" | "at">,
  by: string,
  voidReason?: string,
): Promise<Settled> {
  const p = await getParticipant(db, f.participantId);
  if (!p) return nothing();
  const keys = await db
    .select({ jwk: participantKeys.jwk })
    .from(participantKeys)
    .where(and(eq(participantKeys.participantId, p.id), eq(participantKeys.addedRecordId, f.recordId)))
    .orderBy(participantKeys.kid);
  const ends: RegistryEnd = { participantId: p.id, at: BEFORE_ALL };
  const voids = await voidedBy(db, ends, by);
  const reached = await registryReach(db, ends, by);
  const creds = cascadeCredentialRevocation(db, {
    participantId: p.id,
    recordId: by,
    cause: "participant.revoke",
    at: nowIso(),
    auditAt: nowIso(),
  });
  return merge(reached, {
    statements: [
      bumpRegistry(db),
      db.insert(registryRequests).values({
        requestRecordId: f.recordId,
        action: "admit",
        participantId: p.id,
        role: p.role,
        memberState: p.memberState,
        displayName: p.displayName,
        requestedBy: f.requestedBy,
        requestedAt: nowIso(f.at.iat * 1000),
        jwks: JSON.stringify({ keys: keys.map((k) => JSON.parse(k.jwk) as unknown) }),
        reason: null,
        voidReason: voidReason ?? null,
      }),
      ...creds.statements,
      db.delete(participantKeys).where(eq(participantKeys.participantId, p.id)),
      db.delete(participants).where(eq(participants.id, p.id)),
    ],
    after: [
      ...voids.after,
      ...creds.after,
      db.insert(auditLog).values({
        kind: "participant.unadmitted",
        subjectId: p.id,
        actor: "system",
        at: nowIso(),
        detail: JSON.stringify({
          admissionRecordId: f.recordId,
          foundingRecordId: by,
          why: voidReason
            ? `the network's founding admission no longer counts: ${voidReason}`
            : "an earlier founding admission holds: this admission is a request waiting for a second signature",
        }),
      }),
    ],
    touches: [...voids.touches, ...(await entriesOf(db, p.id))],
    also: { ...noChange(), unadmits: [p.id] },
  });
}

/** A registry request's row by the id of the record that made the request. */
function requestRow(db: Db, requestRecordId: string) {
  return db
    .select()
    .from(registryRequests)
    .where(eq(registryRequests.requestRecordId, requestRecordId))
    .get();
}
