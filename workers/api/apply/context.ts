// What an applier is: the domain rules of one record kind and the statements the record implies,
// shared by the HTTP route that accepts the record and by federation, which applies the same
// record replicated from a peer (docs/federation.md, "Appliers"). One implementation, so a rule
// (eligibility, who may assess what, key limits) holds identically for both paths.
import type { RecordKind, Role } from "@eusn/protocol";
import type { VerifiedWrite } from "../auth/verify.ts";
import type { Env } from "../env.ts";
import type { Db } from "../lib/db.ts";
import type { DomainStatements } from "../store/records.ts";

export type ApplyContext = {
  /**
   * The time the record is judged at, in ms: now for a write received over HTTP; the signed
   * `iat` for a replicated one (its origin judged it then, within the ±5 min skew it allows), so a
   * replica pulling late does not refuse, say, an assessment of an entry that has expired since.
   * Timestamps the record creates (admittedAt, createdAt, key validFrom/validUntil) use it too.
   */
  at: number;
  /** The node that first accepted the record. */
  origin: string;
  /** True when the record comes from a peer's log rather than from an HTTP request to this node. */
  replicated: boolean;
};

export function localContext(env: Env): ApplyContext {
  return { at: Date.now(), origin: env.NODE_ID, replicated: false };
}

export function replicatedContext(w: { claims: { iat: number } }, origin: string): ApplyContext {
  return { at: w.claims.iat * 1000, origin, replicated: true };
}

/**
 * What applying a record gives commitWrite: its subject, the statements for the batch, and
 * optionally statements that follow the record's own audit entry in the same batch (the audit
 * entries of the record's consequences; commitWrite's `after`).
 */
export type Applied = {
  subjectId: string;
  statements: (recordId: string) => DomainStatements;
  after?: (recordId: string) => DomainStatements;
};

export type Applier<K extends RecordKind, R extends Applied = Applied> = {
  kind: K;
  /** The roles that may sign this kind (checked by verifyWrite, and by federation for replicas). */
  roles: readonly Role[];
  /** Checks the record against the node's state (throws ApiError) and plans its statements. */
  apply(db: Db, env: Env, w: VerifiedWrite<K>, ctx: ApplyContext): Promise<R>;
};
