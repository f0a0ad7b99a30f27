// What an applier is: the domain rules of one record kind and the statements the record implies,
// shared by the HTTP route that accepts the record and by federation, which applies the same
// record replicated from a peer (docs/federation.md, "Appliers"). One implementation, so a rule
// (who may assess what, key limits) holds identically for both paths; the state an entry ends up
// in is not decided here but re-derived from all its records (rules/entry-history.ts).
import type { RecordKind, Role } from "@eusn/protocol";
import type { Env } from "../env.ts";
import type { Db, DomainStatements } from "../lib/db.ts";
import type { NewFact, Position, RegistryChange } from "../rules/entry-history.ts";
import type { VerifiedWrite } from "../store/records.ts";

export type ApplyContext = {
  /**
   * The time the record is judged at, in ms: its signed `iat`, on the node that accepts it over
   * HTTP (within the ±5 min skew it allows) and on every replica alike, so timestamps the record
   * creates (admittedAt, createdAt, key validFrom/validUntil) are the same on every node.
   */
  at: number;
  /** The node that first accepted the record. */
  origin: string;
  /** True when the record comes from a peer's log rather than from an HTTP request to this node. */
  replicated: boolean;
  /** The id the record is stored under (derived from its JWS, lib/ids.ts). */
  recordId: string;
  /**
   * Its index in the origin's log: known for a replicated record; a record accepted here now
   * comes after every record of this node (`Infinity`; its leaf index is assigned at commit).
   */
  originIndex: number;
};

/** The record's place in signed order (rules/entry-history.ts `Position`). */
export function positionOf(w: { claims: { iat: number } }, ctx: ApplyContext): Position {
  return { iat: w.claims.iat, origin: ctx.origin, originIndex: ctx.originIndex };
}

/** The fields of a fact that place it in the fold's order (rules/entry-history.ts `SignedAt`). */
export function signedAt(w: { claims: { iat: number } }, ctx: ApplyContext) {
  return { recordId: ctx.recordId, ...positionOf(w, ctx) };
}

/** What applying a record gives the write pipeline (apply/pipeline.ts). */
export type Plan = {
  subjectId: string;
  /**
   * Incidents whose hash feed this record changes: their followers (the IncidentWatch Durable
   * Object, held long-polls) are woken once the record is stored.
   */
  incidents?: string[];
  /** Everything the record says is already here (an idempotent repeat): nothing is stored. */
  nothingNew?: boolean;
  /**
   * A uniqueness race that slipped past the applier's pre-check (the batch fails on a unique
   * index matching `pattern`) is answered as a 409 conflict with `detail`, not a 500.
   */
  uniqueConflict?: { pattern: RegExp; detail: string };
  /** The record's own domain rows (facts, registry rows), for the record's batch. */
  statements: DomainStatements;
  /** Statements after the record's own audit entry (the audit entries of its consequences). */
  after?: DomainStatements;
  /** Entries this record creates (their state starts from the fold of no facts). */
  creates?: string[];
  /** Entries whose state is re-derived in the same batch, and the facts this record adds to them. */
  touches?: string[];
  facts?: NewFact[];
  registry?: RegistryChange;
  /**
   * The registry change this record makes, when its kind does not say it: a countersignature
   * completes a `participant.revoke` or `participant.admit` (named as the cause of what it changes).
   */
  cause?: string;
};

export type Applier<K extends RecordKind, P extends Plan = Plan> = {
  kind: K;
  /** The roles that may sign this kind (checked by verifyWrite, and by federation for replicas). */
  roles: readonly Role[];
  /**
   * Replicated between nodes and readable through /v1/log/entries. `false`: node-local (migration
   * signals, API credentials): logged on its node and never sent to peers (docs/federation.md).
   */
  replicated: boolean;
  /**
   * What must be on this node before a replicated copy can be applied, as `type:id` (a
   * submission, the assessments an inclusion cites): federation holds the record until they
   * arrive instead of refusing it.
   */
  dependsOn?(w: VerifiedWrite<K>): string[];
  /** Checks the record against the node's state (throws ApiError) and plans its statements. */
  apply(db: Db, env: Env, w: VerifiedWrite<K>, ctx: ApplyContext): Promise<P>;
};
