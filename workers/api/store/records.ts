// Storing an accepted signed write: the exact JWS bytes, the domain rows it implies, its leaf in
// the transparency log and one audit entry, in a single D1 batch (D1 has no interactive
// transactions; a batch is atomic). Used by the HTTP routes and by federation (replicated records).
import { hashLeaf, toHex, withheldLeafHash } from "@eusn/merkle";
import {
  isNodeLocalKind,
  type RecordKind,
  type RecordOf,
  type WriteClaims,
  type WriteReceipt,
} from "@eusn/protocol";
import { and, eq } from "drizzle-orm";
import { auditLog, records } from "../../../schema/index.ts";
import type { Env } from "../env.ts";
import type { Db, DomainStatements } from "../lib/db.ts";
import { nowIso } from "../lib/encoding.ts";
import { derivedId } from "../lib/ids.ts";
import { ApiError } from "../lib/problem.ts";
import { isGuardFailure } from "./entry-state.ts";
import {
  appendStatements,
  currentCheckpoint,
  inclusionProof,
  isLogAppendConflict,
  planAppend,
} from "./log.ts";
import type { KeyRow, ParticipantRow } from "./participants.ts";

export type { DomainStatements };

/** Who signed a verified record: the participant and the exact key. */
export type Caller = { participant: ParticipantRow; key: KeyRow };

/** A signed record that passed verification (auth/verify.ts `verifyRecord`), ready to apply. */
export type VerifiedWrite<K extends RecordKind> = {
  kind: K;
  jws: string;
  jwsSha256: string;
  claims: WriteClaims;
  record: RecordOf<K>;
  caller: Caller;
  /** The writer asked for an inclusion proof with its receipt (`?proof=1`). */
  receiptProof?: boolean;
  /**
   * Why a replicated record is void (signed after its key was retired or its signer revoked, by
   * signed times): stored like every authentic record of a peer, it takes no effect anywhere.
   */
  void?: string;
};

/** The id of the record `issuer` already signed with `jti`, if any (replay). */
export async function findByJti(db: Db, issuer: string, jti: string): Promise<string | undefined> {
  const row = await db
    .select({ id: records.id })
    .from(records)
    .where(and(eq(records.issuer, issuer), eq(records.jti, jti)))
    .get();
  return row?.id;
}

export type CommitOptions = {
  /** The node the record was first accepted on (default: this node). */
  origin?: string;
  /** Its index in the origin's log (default: the leaf index it gets in this node's log). */
  originIndex?: number;
  /** More statements for the same batch: federation advances its peer cursor here. */
  extra?: (recordId: string) => DomainStatements;
  /** Details for the audit entry (JSON), e.g. the peer log index of a replicated record. */
  auditDetail?: Record<string, unknown>;
  /**
   * Statements for the same batch that come after the record's own audit entry: the audit entries
   * of what the record caused (entries a revocation sent back to review, credentials it revoked),
   * so the trail reads cause first, then its consequences.
   */
  after?: ((recordId: string) => DomainStatements) | undefined;
};

/**
 * Each append takes the next log index; of two writes racing for it, the second batch fails on
 * the primary key, and that write is re-planned and re-sent (otherwise unchanged). A handful of
 * attempts with jitter is plenty: each round lets at least one writer through.
 */
const MAX_APPEND_ATTEMPTS = 8;

const utf8 = new TextEncoder();

/**
 * A record's log leaf: its JWS bytes, or for a node-local kind (never served to peers) the
 * withheld leaf committing to its kind and SHA-256 (@eusn/merkle `withheldLeaf`), so that the log
 * itself says which entries may be served without a body (docs/federation.md "Withheld leaves").
 */
export async function leafOf(
  kind: string,
  jws: string,
): Promise<{ leafHash: Uint8Array; withheldDigest: Uint8Array | null }> {
  if (!isNodeLocalKind(kind)) return { leafHash: await hashLeaf(utf8.encode(jws)), withheldDigest: null };
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", utf8.encode(jws)));
  return { leafHash: await withheldLeafHash(kind, digest), withheldDigest: digest };
}

/**
 * Appends the record, `domain` (the inserts/updates the record implies), its transparency-log
 * leaf (the exact JWS bytes) with the perfect subtrees it closes, and its audit entry atomically.
 * Either all of it lands or none of it: a replayed `jti` that raced past the pre-check fails the
 * unique index and the whole batch rolls back. The receipt carries the log index and leaf hash,
 * and with `?proof=1` (VerifiedWrite.receiptProof) an inclusion proof against a signed checkpoint.
 */
export async function commitWrite<K extends RecordKind>(
  db: Db,
  env: Env,
  w: VerifiedWrite<K>,
  subjectId: string,
  domain: (recordId: string) => DomainStatements,
  options: CommitOptions = {},
): Promise<WriteReceipt> {
  const id = await derivedId("record", w);
  const { leafHash, withheldDigest } = await leafOf(w.kind, w.jws);
  let results: unknown[] | undefined;
  let logIndex = -1;
  let auditAt = -1;
  for (let attempt = 1; results === undefined; attempt++) {
    const plan = await planAppend(env.DB, leafHash);
    const now = nowIso();
    const insertRecord = db.insert(records).values({
      id,
      kind: w.kind,
      issuer: w.claims.iss,
      kid: w.caller.key.kid,
      jti: w.claims.jti,
      iat: w.claims.iat,
      jws: w.jws,
      jwsSha256: w.jwsSha256,
      subjectId,
      originNode: options.origin ?? env.NODE_ID,
      originIndex: options.originIndex ?? plan.index,
      receivedAt: now,
    });
    const audit = db
      .insert(auditLog)
      .values({
        kind: w.kind,
        recordId: id,
        subjectId,
        actor: w.claims.iss,
        at: now,
        jwsSha256: w.jwsSha256,
        detail: options.auditDetail ? JSON.stringify(options.auditDetail) : null,
      })
      .returning({ seq: auditLog.seq });
    const before: DomainStatements = [
      insertRecord,
      ...appendStatements(db, plan, id, w.kind, withheldDigest),
      ...domain(id),
      ...(options.extra?.(id) ?? []),
    ];
    auditAt = before.length;
    try {
      results = await db.batch([...before, audit, ...(options.after?.(id) ?? [])] as [
        DomainStatements[number],
        ...DomainStatements,
      ]);
      logIndex = plan.index;
    } catch (e) {
      const msg = String((e as Error)?.message ?? e);
      // The record id derives from the JWS bytes, so a clash on it is the same JWS twice.
      if (/UNIQUE constraint failed: records\.(issuer, records\.jti|id)/.test(msg)) {
        throw new ApiError("replayed_jti", `jti ${w.claims.jti} was already used`);
      }
      if (isGuardFailure(msg)) {
        throw new ApiError(
          "conflict",
          "what this record relies on changed while it was being stored (e.g. an authority it cites was revoked); nothing was stored: read the entry again and decide anew",
        );
      }
      if (isLogAppendConflict(e) && attempt < MAX_APPEND_ATTEMPTS) {
        await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));
        continue;
      }
      throw e;
    }
  }
  const seqRows = results[auditAt] as { seq: number }[];
  const receipt: WriteReceipt = {
    recordId: id,
    kind: w.kind,
    subjectId,
    auditSeq: seqRows[0]!.seq,
    jwsSha256: w.jwsSha256,
    logIndex,
    leafHash: toHex(leafHash),
  };
  if (!w.receiptProof) return receipt;
  const cp = await currentCheckpoint(env);
  return {
    ...receipt,
    treeSize: cp.checkpoint.treeSize,
    inclusionProof: await inclusionProof(env.DB, logIndex, cp.checkpoint.treeSize),
    checkpoint: cp.jws,
  };
}
