// /v1/participants: the registry. Admission and revocation by coordinators; key rotation by the
// participant itself. The public listing shows only public keys and status. The rules of each
// signed write live in its applier (apply/participants.ts), shared with federation.

import {
  ParticipantIdParam,
  ParticipantList,
  ParticipantListQuery,
  ParticipantView,
  RegistryRequestList,
  RegistryRequestQuery,
  WhoAmIView,
} from "@eusn/protocol";
import { createRoute } from "@hono/zod-openapi";
import {
  addKey,
  admitParticipant,
  countersign,
  retireKey,
  revokeParticipant,
  withdrawRequest,
} from "../apply/participants.ts";
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
import {
  ensureBootstrap,
  getParticipant,
  keysOf,
  listParticipants,
  listRegistryRequests,
  toView,
} from "../store/participants.ts";
import { signedWrite } from "./signed-write.ts";

const app = router();

export const listRegistryRoute = createRoute({
  method: "get",
  path: "/v1/participants",
  tags: ["participants"],
  summary: "List participants (public part: role, member state, status, public keys)",
  request: { query: ParticipantListQuery },
  responses: {
    200: {
      description: "Participants",
      content: { "application/json": { schema: ParticipantList } },
    },
    ...problems(400),
  },
});
export async function listRegistry(c: RouteContext<typeof listRegistryRoute>) {
  await ensureBootstrap(c.env.DB, c.env);
  const q = c.req.valid("query");
  return c.json({ participants: await listParticipants(c.var.db, { role: q.role, status: q.status }) }, 200);
}
app.openapi(listRegistryRoute, listRegistry);

export const listRegistryRequestsRoute = createRoute({
  method: "get",
  path: "/v1/registry/requests",
  tags: ["participants"],
  summary: "Admissions and revocations waiting for their second signature (or completed, withdrawn, void)",
  description:
    "With REGISTRY_SECOND_SIGNATURE on (the default), a coordinator's admission of any participant (but the network's first admitted coordinator), and its revocation of an authority or a coordinator, is a request that takes effect only when a second signer countersigns it (POST /v1/participants/{id}/countersign): another coordinator; for an authority also an active authority of the same member state; for a coordinator's revocation also any active authority. Its signer may withdraw it while it waits. Public, like the registry.",
  request: { query: RegistryRequestQuery },
  responses: {
    200: {
      description: "Requests, oldest first",
      content: { "application/json": { schema: RegistryRequestList } },
    },
    ...problems(400),
  },
});
export async function listRequests(c: RouteContext<typeof listRegistryRequestsRoute>) {
  const q = c.req.valid("query");
  return c.json({ requests: await listRegistryRequests(c.var.db, q.status ?? "pending") }, 200);
}
app.openapi(listRegistryRequestsRoute, listRequests);

export const showParticipantRoute = createRoute({
  method: "get",
  path: "/v1/participants/{id}",
  tags: ["participants"],
  summary: "One participant with its key history",
  request: { params: ParticipantIdParam },
  responses: {
    200: { description: "The participant", content: { "application/json": { schema: ParticipantView } } },
    ...problems(400, 404),
  },
});
export async function showParticipant(c: RouteContext<typeof showParticipantRoute>) {
  await ensureBootstrap(c.env.DB, c.env);
  const { id } = c.req.valid("param");
  const p = await getParticipant(c.var.db, id);
  if (!p) throw new ApiError("not_found", `no participant ${id}`);
  return c.json(toView(p, await keysOf(c.var.db, [id])), 200);
}
app.openapi(showParticipantRoute, showParticipant);

export const getWhoAmIRoute = createRoute({
  method: "get",
  path: "/v1/whoami",
  tags: ["participants"],
  summary:
    "Who the bearer token's signer is: the participant, its key history and the key used (participants)",
  description:
    "Checks a key file in one request: the token verifies only with an active key of an active participant, so a 200 says the key, the participant id and the node id (the token's audience) all fit.",
  security: bearerSecurity,
  middleware: [access(["coordinator", "authority", "platform"])] as const,
  responses: {
    200: { description: "The caller", content: { "application/json": { schema: WhoAmIView } } },
    ...problems(401, 403),
  },
});
export async function getWhoAmI(c: RouteContext<typeof getWhoAmIRoute>) {
  const { participant, key } = c.var.caller!;
  const keys = await keysOf(c.var.db, [participant.id]);
  return c.json({ nodeId: c.env.NODE_ID, kid: key.kid, participant: toView(participant, keys) }, 200);
}
app.openapi(getWhoAmIRoute, getWhoAmI);

export const postAdmissionRoute = createRoute({
  method: "post",
  path: "/v1/participants",
  tags: ["participants"],
  summary: "Admit a participant (coordinator)",
  description:
    "Signed by a coordinator. Authorities must carry their EU member state. The admission is a request until a second signer countersigns it (REGISTRY_SECOND_SIGNATURE; GET /v1/registry/requests) — except the network's founding: a configuration-rooted coordinator admits a coordinator alone, and the earliest such admission in signed order is the founding on every node (a later one is a request). The keys are the participant's own public keys: its private key never leaves it. Each key's kid must be (or is set to) its RFC 7638 thumbprint. The participant id derives from the admission record, so every node that replicates it gives the same id.",
  request: { body: signedBody("participant.admit", "AdmitParticipantRecord") },
  responses: { 201: receiptResponse, ...problems(400, 401, 403, 409, 413, 415) },
});
export const postAdmission = signedWrite({ applier: admitParticipant });
app.openapi(postAdmissionRoute, postAdmission);

export const postParticipantKeyRoute = createRoute({
  method: "post",
  path: "/v1/participants/{id}/keys",
  tags: ["participants"],
  summary: "Add a signing key (key rotation, step 1; by the participant itself)",
  description:
    "Signed by the participant with one of its active keys. A coordinator cannot add keys to another participant: that would let it sign in that participant's name.",
  request: {
    params: ParticipantIdParam,
    body: signedBody("participant.key.add", "AddKeyRecord"),
  },
  responses: { 201: receiptResponse, ...problems(400, 401, 403, 409, 413, 415) },
});
export const postParticipantKey = signedWrite({
  applier: addKey,
  subject: {
    param: "id",
    field: "participantId",
    code: "forbidden",
    detail: "a participant can only add keys to its own key set",
  },
});
app.openapi(postParticipantKeyRoute, postParticipantKey);

export const postKeyRetirementRoute = createRoute({
  method: "post",
  path: "/v1/participants/{id}/keys/retire",
  tags: ["participants"],
  summary: "Retire a signing key (key rotation, step 2; by the participant itself)",
  description:
    "The key stops being accepted from now on; records it signed before stay valid — unless `compromisedSince` declares it compromised: then every record it signed at or after that time is void on every node (assessments stop counting, decisions stop taking effect, submissions are voided), the entries they concern are folded again in the same batch and each void record is audited as `record.voided`. A compromise is declared with another key than the compromised one, and may follow a routine retirement. The last active key cannot be retired (add its successor first). Every API credential whose registration this key signed is revoked in the same batch (the node cannot tell a routine rotation from a compromise): register the next credential with the new key before retiring the old one.",
  request: {
    params: ParticipantIdParam,
    body: signedBody("participant.key.retire", "RetireKeyRecord"),
  },
  responses: { 201: receiptResponse, ...problems(400, 401, 403, 404, 409, 413, 415) },
});
export const postKeyRetirement = signedWrite({
  applier: retireKey,
  subject: {
    param: "id",
    field: "participantId",
    code: "forbidden",
    detail: "a participant can only retire its own keys",
  },
});
app.openapi(postKeyRetirementRoute, postKeyRetirement);

export const postParticipantRevocationRoute = createRoute({
  method: "post",
  path: "/v1/participants/{id}/revoke",
  tags: ["participants"],
  summary: "Revoke a participant (coordinator)",
  description:
    "All of the participant's keys stop being accepted from now on. Records it signed before the revocation stay valid and verifiable, but, in the same batch, stop counting: a revoked authority's assessments, and its own member state as submitter, leave the quorum tallies and can no longer be cited by an inclusion; an included entry whose concurring member states then fall short of the quorum becomes `disputed` (still in the baseline, in the coordinators' disputed queue, with a `baseline.disputed` audit entry naming this record) until a coordinator includes it again, excludes or retires it. The participant's API credentials are revoked. A coordinator cannot revoke itself. An authority's or a coordinator's revocation is a request until a second signer countersigns it (REGISTRY_SECOND_SIGNATURE), and takes effect at the countersignature's signed time; a platform's takes effect with this signature alone.",
  request: {
    params: ParticipantIdParam,
    body: signedBody("participant.revoke", "RevokeParticipantRecord"),
  },
  responses: { 201: receiptResponse, ...problems(400, 401, 403, 404, 409, 413, 415) },
});
export const postParticipantRevocation = signedWrite({
  applier: revokeParticipant,
  subject: {
    param: "id",
    field: "participantId",
    code: "bad_request",
    detail: "the record names another participant than the path",
  },
});
app.openapi(postParticipantRevocationRoute, postParticipantRevocation);

export const postCountersignRoute = createRoute({
  method: "post",
  path: "/v1/participants/{id}/countersign",
  tags: ["participants"],
  summary: "Give an admission or revocation its second signature (coordinator or authority)",
  description:
    "Signed by another coordinator than the one who signed the request; for an authority's admission or revocation also by an active authority of the same member state, for a coordinator's revocation by any active authority (never the participant itself; platforms cannot sign it). The record names the request's record id, the participant and the action, so it counts for that request only. The admission or revocation takes effect at this record's signed time, on every node: the earliest valid countersignature in signed order completes a request. A request already countersigned, withdrawn or void is refused (409).",
  request: {
    params: ParticipantIdParam,
    body: signedBody("participant.countersign", "CountersignRecord"),
  },
  responses: { 201: receiptResponse, ...problems(400, 401, 403, 404, 409, 413, 415) },
});
export const postCountersign = signedWrite({
  applier: countersign,
  subject: {
    param: "id",
    field: "participantId",
    code: "bad_request",
    detail: "the record names another participant than the path",
  },
});
app.openapi(postCountersignRoute, postCountersign);

export const postWithdrawRequestRoute = createRoute({
  method: "post",
  path: "/v1/participants/{id}/requests/withdraw",
  tags: ["participants"],
  summary: "Withdraw an admission or revocation request waiting for its second signature (its signer)",
  description:
    "Signed by the coordinator that signed the request. A withdrawn request cannot be countersigned. A request already countersigned is refused (409: it took effect; revoke instead), as is one withdrawn or void. In signed order a countersignature signed before the withdrawal still completes the request; one signed after it does not, on every node — a node that applied it first undoes what it completed.",
  request: {
    params: ParticipantIdParam,
    body: signedBody("participant.request.withdraw", "WithdrawRequestRecord"),
  },
  responses: { 201: receiptResponse, ...problems(400, 401, 403, 404, 409, 413, 415) },
});
export const postWithdrawRequest = signedWrite({
  applier: withdrawRequest,
  subject: {
    param: "id",
    field: "participantId",
    code: "bad_request",
    detail: "the record names another participant than the path",
  },
});
app.openapi(postWithdrawRequestRoute, postWithdrawRequest);

export default app;
