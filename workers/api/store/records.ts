// Storing an accepted signed write: the exact JWS bytes, the domain rows it implies and one audit
// entry, in a single D1 batch (D1 has no interactive transactions; a batch is atomic).
import { newId, type RecordKind, type WriteReceipt } from "@eusn/protocol";
import type { BatchItem } from "drizzle-orm/batch";
import { auditLog, records } from "../../../schema/index.ts";
import type { VerifiedWrite } from "../auth/verify.ts";
import type { Env } from "../env.ts";
import type { Db } from "../lib/db.ts";
import { nowIso } from "../lib/encoding.ts";
import { ApiError } from "../lib/problem.ts";

export type DomainStatements = BatchItem<"sqlite">[];

/**
 * Appends the record, `domain` (the inserts/updates the record implies) and its audit entry
 * atomically. Either all of it lands or none of it: a replayed `jti` that raced past the
 * pre-check fails the unique index and the whole batch rolls back.
 */
export async function commitWrite<K extends RecordKind>(
  db: Db,
  env: Env,
  w: VerifiedWrite<K>,
  subjectId: string,
  domain: (recordId: string) => DomainStatements,
  recordId: string = newId("record"),
): Promise<WriteReceipt> {
  const now = nowIso();
  const insertRecord = db.insert(records).values({
    id: recordId,
    kind: w.kind,
    issuer: w.claims.iss,
    kid: w.caller.key.kid,
    jti: w.claims.jti,
    iat: w.claims.iat,
    jws: w.jws,
    jwsSha256: w.jwsSha256,
    subjectId,
    originNode: env.NODE_ID,
    receivedAt: now,
  });
  const audit = db
    .insert(auditLog)
    .values({
      kind: w.kind,
      recordId,
      subjectId,
      actor: w.claims.iss,
      at: now,
      jwsSha256: w.jwsSha256,
    })
    .returning({ seq: auditLog.seq });
  let results: unknown[];
  try {
    results = await db.batch([insertRecord, ...domain(recordId), audit]);
  } catch (e) {
    if (/UNIQUE constraint failed: records\.issuer, records\.jti/.test(String((e as Error)?.message ?? e))) {
      throw new ApiError("replayed_jti", `jti ${w.claims.jti} was already used`);
    }
    throw e;
  }
  const seqRows = results[results.length - 1] as { seq: number }[];
  return { recordId, kind: w.kind, subjectId, auditSeq: seqRows[0]!.seq, jwsSha256: w.jwsSha256 };
}
