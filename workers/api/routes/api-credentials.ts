// /v1/participants/{id}/api-credentials: per-participant API credentials for HTTP Basic (TAXII
// clients). A participant registers one with a signed write carrying only the SHA-256 of a secret
// it generated itself; it or a coordinator revokes it. See docs/taxii.md "API credentials".

import {
  API_CREDENTIAL_DEFAULT_DAYS,
  API_CREDENTIAL_MAX_DAYS,
  ApiCredentialList,
  MAX_API_CREDENTIALS,
  newId,
  ParticipantIdParam,
} from "@eusn/protocol";
import { createRoute } from "@hono/zod-openapi";
import { and, eq, gt, isNull } from "drizzle-orm";
import { apiCredentials } from "../../../schema/index.ts";
import { access } from "../auth/access.ts";
import { verifyWrite } from "../auth/verify.ts";
import { nowIso } from "../lib/encoding.ts";
import {
  bearerSecurity,
  problems,
  type RouteContext,
  receiptResponse,
  router,
  signedBody,
} from "../lib/hono.ts";
import { ApiError } from "../lib/problem.ts";
import { listCredentials } from "../store/credentials.ts";
import { commitWrite } from "../store/records.ts";

const app = router();
const everyone = ["coordinator", "authority", "platform"] as const;
const DAY_MS = 86_400_000;

export const postApiCredentialRoute = createRoute({
  method: "post",
  path: "/v1/participants/{id}/api-credentials",
  tags: ["participants"],
  summary: "Register an API credential for HTTP Basic (TAXII clients); by the participant itself",
  description: `The client generates the secret (\`eusn_\` + 43 base64url characters, 256 random bits) and signs only its SHA-256; the node never sees the secret. Use it as Basic username = participant id, password = secret. At most ${MAX_API_CREDENTIALS} unrevoked credentials; lifetime at most ${API_CREDENTIAL_MAX_DAYS} days (${API_CREDENTIAL_DEFAULT_DAYS} when \`expiresAt\` is absent). A coordinator cannot register one for somebody else. The credential lives no longer than the key that signs this record: retiring that key (or revoking the participant) revokes it, so when rotating, register the connector's next credential with the new key before retiring the old one.`,
  request: {
    params: ParticipantIdParam,
    body: signedBody("participant.apicred.set", "SetApiCredentialRecord"),
  },
  responses: { 201: receiptResponse, ...problems(400, 401, 403, 409, 413, 415) },
});
export async function postApiCredential(c: RouteContext<typeof postApiCredentialRoute>) {
  const { id } = c.req.valid("param");
  const w = await verifyWrite(c.req.raw, c.env, c.var.db, "participant.apicred.set", everyone);
  if (w.record.participantId !== id || w.claims.iss !== id) {
    // Reading as somebody else is impersonation, even read-only: only the participant itself.
    throw new ApiError("forbidden", "a participant can only register API credentials for itself");
  }
  const nowMs = Date.now();
  const now = nowIso(nowMs);
  let expiresAt = nowIso(nowMs + API_CREDENTIAL_DEFAULT_DAYS * DAY_MS);
  if (w.record.expiresAt) {
    const t = Date.parse(w.record.expiresAt);
    if (t <= nowMs || t > nowMs + API_CREDENTIAL_MAX_DAYS * DAY_MS) {
      throw new ApiError("validation_failed", "expiresAt out of range", [
        {
          path: "/record/expiresAt",
          message: `must be in the future and at most ${API_CREDENTIAL_MAX_DAYS} days ahead`,
        },
      ]);
    }
    expiresAt = nowIso(t);
  }
  const active = await c.var.db
    .select({ id: apiCredentials.id })
    .from(apiCredentials)
    .where(
      and(
        eq(apiCredentials.participantId, id),
        isNull(apiCredentials.revokedAt),
        gt(apiCredentials.expiresAt, now),
      ),
    );
  if (active.length >= MAX_API_CREDENTIALS) {
    throw new ApiError("conflict", `at most ${MAX_API_CREDENTIALS} active API credentials; revoke one first`);
  }
  const same = await c.var.db
    .select({ id: apiCredentials.id })
    .from(apiCredentials)
    .where(eq(apiCredentials.secretSha256, w.record.secretSha256))
    .get();
  if (same) throw new ApiError("conflict", "this secret is already registered; generate a fresh one");
  // Same shape as every node id (time + 80 random bits), with the credential prefix.
  const credentialId = newId("record").replace(/^rec_/, "apc_");
  const receipt = await commitWrite(c.var.db, c.env, w, credentialId, (recordId) => [
    c.var.db.insert(apiCredentials).values({
      id: credentialId,
      participantId: id,
      label: w.record.label,
      secretSha256: w.record.secretSha256,
      recordId,
      createdAt: now,
      expiresAt,
    }),
  ]);
  return c.json(receipt, 201);
}
app.openapi(postApiCredentialRoute, postApiCredential);

export const postApiCredentialRevocationRoute = createRoute({
  method: "post",
  path: "/v1/participants/{id}/api-credentials/revoke",
  tags: ["participants"],
  summary: "Revoke an API credential (the participant itself, or a coordinator)",
  description:
    "It stops working at once. Credentials also end without a record of this kind: revoking the participant revokes all of its credentials, and retiring a key revokes every credential whose registration that key signed, each in the same batch as that record (the credential's `revokedRecordId` names it, and the audit trail has one `apicred.revoked` entry per credential).",
  request: {
    params: ParticipantIdParam,
    body: signedBody("participant.apicred.revoke", "RevokeApiCredentialRecord"),
  },
  responses: { 201: receiptResponse, ...problems(400, 401, 403, 404, 409, 413, 415) },
});
export async function postApiCredentialRevocation(c: RouteContext<typeof postApiCredentialRevocationRoute>) {
  const { id } = c.req.valid("param");
  const w = await verifyWrite(c.req.raw, c.env, c.var.db, "participant.apicred.revoke", everyone);
  if (w.record.participantId !== id)
    throw new ApiError("bad_request", "the record names another participant than the path");
  if (w.claims.iss !== id && w.caller.participant.role !== "coordinator") {
    throw new ApiError(
      "forbidden",
      "only the participant itself or a coordinator can revoke its API credentials",
    );
  }
  const cred = await c.var.db
    .select()
    .from(apiCredentials)
    .where(and(eq(apiCredentials.id, w.record.credentialId), eq(apiCredentials.participantId, id)))
    .get();
  if (!cred) throw new ApiError("not_found", `${w.record.credentialId} is not an API credential of ${id}`);
  if (cred.revokedAt) throw new ApiError("conflict", `${cred.id} was already revoked at ${cred.revokedAt}`);
  const receipt = await commitWrite(c.var.db, c.env, w, cred.id, (recordId) => [
    c.var.db
      .update(apiCredentials)
      .set({ revokedAt: nowIso(), revokedRecordId: recordId })
      .where(and(eq(apiCredentials.id, cred.id), isNull(apiCredentials.revokedAt))),
  ]);
  return c.json(receipt, 201);
}
app.openapi(postApiCredentialRevocationRoute, postApiCredentialRevocation);

export const listApiCredentialsRoute = createRoute({
  method: "get",
  path: "/v1/participants/{id}/api-credentials",
  tags: ["participants"],
  summary: "List a participant's API credentials (the participant itself, or a coordinator)",
  description:
    "Labels, dates, status, the key that registered each and the record that revoked it: neither the secret nor its hash is ever returned.",
  security: bearerSecurity,
  middleware: [access(everyone)] as const,
  request: { params: ParticipantIdParam },
  responses: {
    200: {
      description: "The credentials, oldest first",
      content: {
        "application/json": { schema: ApiCredentialList },
      },
    },
    ...problems(400, 401, 403),
  },
});
export async function listApiCredentials(c: RouteContext<typeof listApiCredentialsRoute>) {
  const { id } = c.req.valid("param");
  const me = c.var.caller!.participant;
  if (me.id !== id && me.role !== "coordinator")
    throw new ApiError(
      "forbidden",
      "only the participant itself or a coordinator can list its API credentials",
    );
  return c.json({ credentials: await listCredentials(c.var.db, id) }, 200);
}
app.openapi(listApiCredentialsRoute, listApiCredentials);

export default app;
