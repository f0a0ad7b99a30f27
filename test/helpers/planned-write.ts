// A signed write verified as its route would verify it (the applier's record kind and roles),
// without storing anything: a test can run the applier's apply() now and commit the batch later,
// after another write has landed in between (races that a single request cannot stage).
import { env } from "cloudflare:workers";
import { type Signer, signWrite, type WriteOptions } from "@eusn/client";
import type { RecordKind, Role } from "@eusn/protocol";
import { type VerifiedWrite, verifyWrite } from "../../workers/api/auth/verify.ts";
import { db } from "../../workers/api/lib/db.ts";
import { BASE } from "./node.ts";

export async function verifiedFor<K extends RecordKind>(
  applier: { kind: K; roles: readonly Role[] },
  by: Signer,
  record: unknown,
  opts: WriteOptions = {},
): Promise<VerifiedWrite<K>> {
  const jws = await signWrite(by, env.NODE_ID, applier.kind, record, opts);
  const req = new Request(`${BASE}/x`, {
    method: "POST",
    headers: { "content-type": "application/jose" },
    body: jws,
  });
  return verifyWrite(req, env, db(env.DB), applier.kind, applier.roles);
}
