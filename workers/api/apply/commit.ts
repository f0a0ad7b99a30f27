// The HTTP path of an applier: judge a verified write against this node's state as of now, then
// store it with commitWrite (record, domain rows, log leaf, audit entry in one batch).
import type { RecordKind, WriteReceipt } from "@eusn/protocol";
import type { VerifiedWrite } from "../auth/verify.ts";
import type { Env } from "../env.ts";
import type { Db } from "../lib/db.ts";
import { commitWrite } from "../store/records.ts";
import { type Applied, type Applier, localContext } from "./context.ts";

export async function applyAndCommit<K extends RecordKind>(
  db: Db,
  env: Env,
  w: VerifiedWrite<K>,
  applier: Applier<K, Applied>,
): Promise<WriteReceipt> {
  const applied = await applier.apply(db, env, w, localContext(env));
  return commitWrite(db, env, w, applied.subjectId, applied.statements, undefined, { after: applied.after });
}
