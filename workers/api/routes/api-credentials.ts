// /v1/participants/{id}/api-credentials: per-participant API credentials for HTTP Basic (TAXII
// clients). A participant registers one with a signed write carrying only the SHA-256 of a secret
// it generated itself; it or a coordinator revokes it. See docs/taxii.md "API credentials".

import {
  API_CREDENTIAL_DEFAULT_DAYS,
  API_CREDENTIAL_MAX_DAYS,
  ApiCredentialList,
  MAX_API_CREDENTIALS,
  ParticipantIdParam,
} from "@eusn/protocol";
import { createRoute } from "@hono/zod-openapi";
import { revokeApiCredential, setApiCredential } from "../apply/credentials.ts";
import { access } from "../auth/access.ts";
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
import { signedWrite } from "./signed-write.ts";

const app = router();
const everyone = ["coordinator", "authority", "platform"] as const;
const _DAY_MS = 86_400_000;

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
export const postApiCredential = signedWrite({
  applier: setApiCredential,
  subject: {
    param: "id",
    field: "participantId",
    code: "forbidden",
    detail: "a participant can only register API credentials for itself",
  },
});
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
export const postApiCredentialRevocation = signedWrite({
  applier: revokeApiCredential,
  subject: {
    param: "id",
    field: "participantId",
    detail: "the record names another participant than the path",
  },
});
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
