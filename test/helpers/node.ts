// Test helpers that run inside workerd: a client wired to the real Worker, participant
// admission, and database snapshots for "nothing was stored" assertions.

import { env, exports } from "cloudflare:workers";
import { EusnClient, generateParticipantKey, type KeyPair } from "@eusn/client";
import type { MemberState, Problem, Role, WriteReceipt } from "@eusn/protocol";
import type { JWK } from "jose";

export const BASE = "https://node.test";

/** fetch() that goes straight into the Worker under test (real routing, real D1). */
export const nodeFetch = (input: string, init?: RequestInit) =>
  exports.default.fetch(new Request(input, init));

/** A client call's data, or a thrown error naming its status and problem. */
export function must<T>(res: { ok: true; data: T } | { ok: false; status: number; problem: unknown }): T {
  if (!res.ok) throw new Error(`${res.status} ${JSON.stringify(res.problem)}`);
  return res.data;
}

export function clientFor(participantId: string, privateJwk: JWK): EusnClient {
  return new EusnClient({ baseUrl: BASE, nodeId: env.NODE_ID, participantId, privateJwk, fetch: nodeFetch });
}

export function coordinator(): EusnClient {
  return clientFor(env.BOOTSTRAP_COORDINATOR_ID, JSON.parse(env.TEST_COORDINATOR_PRIVATE_JWK) as JWK);
}

export type Admitted = {
  id: string;
  client: EusnClient;
  key: KeyPair;
  receipt: WriteReceipt;
  /** An authority's countersignature (the second signature its admission needs). */
  countersigned?: WriteReceipt;
};

let counter = 0;

let second: Promise<EusnClient> | undefined;

/**
 * Forgets what this module remembers about the network of the test file that ran before: the
 * workers project's files share one workerd and its loaded modules (test/helpers/apply-migrations.ts
 * empties the storage between them), so the next file admits its own second coordinator.
 */
export function forgetFileState(): void {
  second = undefined;
}

/**
 * A second coordinator, admitted once per test file by the bootstrap coordinator (the network's
 * founding admission, the one a coordinator signs alone): the second signature every other
 * admission, and an authority's or coordinator's revocation, needs (REGISTRY_SECOND_SIGNATURE).
 */
export function secondCoordinator(): Promise<EusnClient> {
  second ??= (async () => {
    const key = await generateParticipantKey("EdDSA");
    const res = await coordinator().write<WriteReceipt>("/v1/participants", "participant.admit", {
      role: "coordinator",
      displayName: "Second coordinator (countersigns)",
      jwks: { keys: [key.publicJwk] },
    });
    if (!res.ok) throw new Error(`second coordinator: ${res.status} ${JSON.stringify(res.problem)}`);
    if (await isPending(res.data.recordId))
      throw new Error("the second coordinator is not the network's first admitted coordinator");
    return clientFor(res.data.subjectId, key.privateJwk);
  })();
  return second;
}

/**
 * Countersigns the request `requestRecordId` (an authority's admission or revocation), by the
 * second coordinator unless `by` is given.
 */
export async function countersign(
  participantId: string,
  requestRecordId: string,
  action: "admit" | "revoke",
  by?: EusnClient,
): Promise<WriteReceipt> {
  const signer = by ?? (await secondCoordinator());
  const res = await signer.write<WriteReceipt>(
    `/v1/participants/${participantId}/countersign`,
    "participant.countersign",
    { participantId, requestRecordId, action },
  );
  if (!res.ok) throw new Error(`countersign failed: ${res.status} ${JSON.stringify(res.problem)}`);
  return res.data;
}

/**
 * Revokes a participant through the real API: the bootstrap coordinator (or `by`) signs the
 * revocation, and the second coordinator countersigns it when it is an authority's.
 */
export async function revoke(
  participantId: string,
  reason = "revoked by a test",
  by: EusnClient = coordinator(),
): Promise<WriteReceipt> {
  const res = await by.write<WriteReceipt>(`/v1/participants/${participantId}/revoke`, "participant.revoke", {
    participantId,
    reason,
  });
  if (!res.ok) throw new Error(`revoke failed: ${res.status} ${JSON.stringify(res.problem)}`);
  if (!(await isPending(res.data.recordId))) return res.data;
  // The second signature comes from another coordinator than the one that signed the request.
  const second = await secondCoordinator();
  const other = by.participantId === second.participantId ? coordinator() : second;
  return countersign(participantId, res.data.recordId, "revoke", other);
}

/** The record is a request waiting for its second signature. */
async function isPending(recordId: string): Promise<boolean> {
  const row = await env.DB.prepare(
    "SELECT 1 AS one FROM registry_requests WHERE request_record_id = ? AND completed_record_id IS NULL",
  )
    .bind(recordId)
    .first();
  return row !== null;
}

/**
 * Admits a participant through the real API, signed by the bootstrap coordinator (or `by`); an
 * authority's admission is countersigned by the second coordinator (or `countersignBy`), unless
 * `pending` asks to leave it waiting.
 */
export async function admit(
  role: Role,
  memberState?: MemberState,
  opts: {
    by?: EusnClient;
    name?: string;
    alg?: "EdDSA" | "ES256";
    countersignBy?: EusnClient;
    pending?: boolean;
  } = {},
): Promise<Admitted> {
  const key = await generateParticipantKey(opts.alg ?? "EdDSA");
  const by = opts.by ?? coordinator();
  // The network's first admitted coordinator (the one the bootstrap coordinator admits alone) is
  // the second coordinator that countersigns; every other admission waits for a second signature.
  const second = await secondCoordinator();
  counter++;
  const res = await by.write<WriteReceipt>("/v1/participants", "participant.admit", {
    role,
    ...(memberState ? { memberState } : {}),
    displayName: opts.name ?? `${role} ${memberState ?? ""} #${counter}`.trim(),
    jwks: { keys: [key.publicJwk] },
  });
  if (!res.ok) throw new Error(`admit failed: ${res.status} ${JSON.stringify(res.problem)}`);
  const id = res.data.subjectId;
  const countersigned =
    !opts.pending && (await isPending(res.data.recordId))
      ? await countersign(
          id,
          res.data.recordId,
          "admit",
          opts.countersignBy ?? (by.participantId === second.participantId ? coordinator() : second),
        )
      : undefined;
  return {
    id,
    client: clientFor(id, key.privateJwk),
    key,
    receipt: res.data,
    ...(countersigned ? { countersigned } : {}),
  };
}

const TABLES = ["participants", "participant_keys", "records", "audit_log"] as const;

/** Row counts of every table that a write could touch. */
export async function snapshot(extra: readonly string[] = []): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of [...TABLES, ...extra]) {
    const row = await env.DB.prepare(`SELECT count(*) AS n FROM ${t}`).first<{ n: number }>();
    out[t] = row?.n ?? 0;
  }
  return out;
}

export async function auditLength(): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM audit_log").first<{ n: number }>();
  return row?.n ?? 0;
}

export async function expectProblem(res: Response, status: number, code: string) {
  const body = (await res.json()) as Problem;
  const ct = res.headers.get("content-type");
  if (ct !== "application/problem+json") throw new Error(`content-type ${ct}, body ${JSON.stringify(body)}`);
  if (res.status !== status || body.code !== code) {
    throw new Error(`expected ${status} ${code}, got ${res.status} ${JSON.stringify(body)}`);
  }
  if (!body.requestId || body.status !== status || !body.type || !body.title) {
    throw new Error(`incomplete problem: ${JSON.stringify(body)}`);
  }
  return body;
}
