// /v1/participants: the registry. Admission and revocation by coordinators; key rotation by the
// participant itself. The public listing shows only public keys and status.

import {
  AddKeyRecord,
  AdmitParticipantRecord,
  type NormalisedKey,
  newId,
  normalisePublicJwk,
  ParticipantId,
  ParticipantView,
  RetireKeyRecord,
  RevokeParticipantRecord,
  Role,
} from "@eusn/protocol";
import { createRoute, z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { participantKeys, participants } from "../../../schema/index.ts";
import { verifyWrite } from "../auth/verify.ts";
import { nowIso } from "../lib/encoding.ts";
import { problems, receiptResponse, router, signedBody } from "../lib/hono.ts";
import { ApiError } from "../lib/problem.ts";
import {
  ensureBootstrap,
  getKeyByKid,
  getParticipant,
  keysOf,
  listParticipants,
  toView,
} from "../store/participants.ts";
import { commitWrite } from "../store/records.ts";

const app = router();

app.openapi(
  createRoute({
    method: "get",
    path: "/v1/participants",
    tags: ["participants"],
    summary: "List participants (public part: role, member state, status, public keys)",
    request: {
      query: z.object({
        role: Role.optional(),
        status: z.enum(["active", "revoked"]).optional(),
      }),
    },
    responses: {
      200: {
        description: "Participants",
        content: { "application/json": { schema: z.object({ participants: z.array(ParticipantView) }) } },
      },
      ...problems(400),
    },
  }),
  async (c) => {
    await ensureBootstrap(c.env.DB, c.env);
    const q = c.req.valid("query");
    return c.json(
      { participants: await listParticipants(c.var.db, { role: q.role, status: q.status }) },
      200,
    );
  },
);

app.openapi(
  createRoute({
    method: "get",
    path: "/v1/participants/{id}",
    tags: ["participants"],
    summary: "One participant with its key history",
    request: { params: z.object({ id: ParticipantId }) },
    responses: {
      200: { description: "The participant", content: { "application/json": { schema: ParticipantView } } },
      ...problems(400, 404),
    },
  }),
  async (c) => {
    await ensureBootstrap(c.env.DB, c.env);
    const { id } = c.req.valid("param");
    const p = await getParticipant(c.var.db, id);
    if (!p) throw new ApiError("not_found", `no participant ${id}`);
    return c.json(toView(p, await keysOf(c.var.db, [id])), 200);
  },
);

app.openapi(
  createRoute({
    method: "post",
    path: "/v1/participants",
    tags: ["participants"],
    summary: "Admit a participant (coordinator)",
    description:
      "Signed by a coordinator. Authorities must carry their EU member state. Each key's kid must be (or is set to) its RFC 7638 thumbprint.",
    request: { body: signedBody("participant.admit", "AdmitParticipantRecord") },
    responses: { 201: receiptResponse, ...problems(400, 401, 403, 409, 413, 415) },
  }),
  async (c) => {
    const w = await verifyWrite(c.req.raw, c.env, c.var.db, "participant.admit", ["coordinator"]);
    const keys: NormalisedKey[] = [];
    for (const [i, jwk] of w.record.jwks.keys.entries()) {
      const n = await normalisePublicJwk(jwk);
      if (!n.ok)
        throw new ApiError("validation_failed", n.reason, [
          { path: `/record/jwks/keys/${i}`, message: n.reason },
        ]);
      if (await getKeyByKid(c.var.db, n.key.kid)) {
        throw new ApiError("conflict", `key ${n.key.kid} is already registered to a participant`);
      }
      keys.push(n.key);
    }
    if (new Set(keys.map((k) => k.kid)).size !== keys.length)
      throw new ApiError("validation_failed", "duplicate keys in jwks");
    const id = newId("participant");
    const now = nowIso();
    const nowS = Math.floor(Date.now() / 1000);
    const receipt = await commitWrite(c.var.db, c.env, w, id, (recordId) => [
      c.var.db.insert(participants).values({
        id,
        role: w.record.role,
        memberState: w.record.memberState ?? null,
        displayName: w.record.displayName,
        admittedAt: now,
        admissionRecordId: recordId,
      }),
      ...keys.map((k) =>
        c.var.db.insert(participantKeys).values({
          participantId: id,
          kid: k.kid,
          jwk: JSON.stringify(k.jwk),
          alg: k.alg,
          addedAt: now,
          addedRecordId: recordId,
          validFrom: nowS,
        }),
      ),
    ]);
    return c.json(receipt, 201);
  },
);

app.openapi(
  createRoute({
    method: "post",
    path: "/v1/participants/{id}/keys",
    tags: ["participants"],
    summary: "Add a signing key (key rotation, step 1; by the participant itself)",
    description:
      "Signed by the participant with one of its active keys. A coordinator cannot add keys to another participant: that would let it sign in that participant's name.",
    request: {
      params: z.object({ id: ParticipantId }),
      body: signedBody("participant.key.add", "AddKeyRecord"),
    },
    responses: { 201: receiptResponse, ...problems(400, 401, 403, 409, 413, 415) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const w = await verifyWrite(c.req.raw, c.env, c.var.db, "participant.key.add", [
      "coordinator",
      "authority",
      "platform",
    ]);
    if (w.record.participantId !== id || w.claims.iss !== id) {
      throw new ApiError("forbidden", "a participant can only add keys to its own key set");
    }
    const n = await normalisePublicJwk(w.record.jwk);
    if (!n.ok)
      throw new ApiError("validation_failed", n.reason, [{ path: "/record/jwk", message: n.reason }]);
    if (await getKeyByKid(c.var.db, n.key.kid))
      throw new ApiError("conflict", `key ${n.key.kid} is already registered`);
    const active = (await keysOf(c.var.db, [id])).filter((k) => k.status === "active");
    if (active.length >= 10) throw new ApiError("conflict", "at most 10 active keys; retire one first");
    const receipt = await commitWrite(c.var.db, c.env, w, id, (recordId) => [
      c.var.db.insert(participantKeys).values({
        participantId: id,
        kid: n.key.kid,
        jwk: JSON.stringify(n.key.jwk),
        alg: n.key.alg,
        addedAt: nowIso(),
        addedRecordId: recordId,
        validFrom: Math.floor(Date.now() / 1000),
      }),
    ]);
    return c.json(receipt, 201);
  },
);

app.openapi(
  createRoute({
    method: "post",
    path: "/v1/participants/{id}/keys/retire",
    tags: ["participants"],
    summary: "Retire a signing key (key rotation, step 2; by the participant itself)",
    description:
      "The key stops being accepted from now on; records it signed before stay valid. The last active key cannot be retired (add its successor first).",
    request: {
      params: z.object({ id: ParticipantId }),
      body: signedBody("participant.key.retire", "RetireKeyRecord"),
    },
    responses: { 201: receiptResponse, ...problems(400, 401, 403, 404, 409, 413, 415) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const w = await verifyWrite(c.req.raw, c.env, c.var.db, "participant.key.retire", [
      "coordinator",
      "authority",
      "platform",
    ]);
    if (w.record.participantId !== id || w.claims.iss !== id) {
      throw new ApiError("forbidden", "a participant can only retire its own keys");
    }
    const keys = await keysOf(c.var.db, [id]);
    const target = keys.find((k) => k.kid === w.record.kid);
    if (!target) throw new ApiError("not_found", `key ${w.record.kid} is not a key of ${id}`);
    if (target.status !== "active") throw new ApiError("conflict", `key ${w.record.kid} is already retired`);
    if (keys.filter((k) => k.status === "active").length <= 1) {
      throw new ApiError("conflict", "this is the last active key; add its successor before retiring it");
    }
    const nowS = Math.floor(Date.now() / 1000);
    const receipt = await commitWrite(c.var.db, c.env, w, id, (recordId) => [
      c.var.db
        .update(participantKeys)
        .set({ status: "retired", retiredAt: nowIso(), retiredRecordId: recordId, validUntil: nowS })
        .where(and(eq(participantKeys.participantId, id), eq(participantKeys.kid, w.record.kid))),
    ]);
    return c.json(receipt, 201);
  },
);

app.openapi(
  createRoute({
    method: "post",
    path: "/v1/participants/{id}/revoke",
    tags: ["participants"],
    summary: "Revoke a participant (coordinator)",
    description:
      "All of the participant's keys stop being accepted from now on. Records it signed before the revocation stay valid and verifiable. A coordinator cannot revoke itself.",
    request: {
      params: z.object({ id: ParticipantId }),
      body: signedBody("participant.revoke", "RevokeParticipantRecord"),
    },
    responses: { 201: receiptResponse, ...problems(400, 401, 403, 404, 409, 413, 415) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const w = await verifyWrite(c.req.raw, c.env, c.var.db, "participant.revoke", ["coordinator"]);
    if (w.record.participantId !== id)
      throw new ApiError("bad_request", "the record names another participant than the path");
    if (id === w.claims.iss) throw new ApiError("conflict", "a coordinator cannot revoke itself");
    const target = await getParticipant(c.var.db, id);
    if (!target) throw new ApiError("not_found", `no participant ${id}`);
    if (target.status === "revoked") throw new ApiError("conflict", `${id} is already revoked`);
    const nowS = Math.floor(Date.now() / 1000);
    const receipt = await commitWrite(c.var.db, c.env, w, id, (recordId) => [
      c.var.db
        .update(participants)
        .set({ status: "revoked", revokedAt: nowIso(), revocationRecordId: recordId })
        .where(eq(participants.id, id)),
      c.var.db
        .update(participantKeys)
        .set({ validUntil: nowS })
        .where(and(eq(participantKeys.participantId, id), eq(participantKeys.status, "active"))),
    ]);
    return c.json(receipt, 201);
  },
);

export default app;
