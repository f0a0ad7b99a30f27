// API credentials (HTTP Basic for TAXII clients): every rule tried from the wrong side. The node
// stores only the hash of a client-made secret, refuses anything but the exact secret of an
// unrevoked, unexpired credential of an active participant, and keeps roles as with bearer tokens.
// A credential ends, in the same batch, with the key that signed its registration (retirement) and
// with its participant (revocation).

import { env } from "cloudflare:workers";
import {
  apiSecretHash,
  basicAuthorization,
  createApiCredential,
  type EusnClient,
  generateApiSecret,
  generateParticipantKey,
  listApiCredentials,
  revokeApiCredential,
  signWrite,
} from "@eusn/client";
import { API_SECRET_PATTERN, TAXII_MEDIA_TYPE, type WriteReceipt } from "@eusn/protocol";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { dbState } from "../helpers/db-state.ts";
import {
  type Admitted,
  admit,
  BASE,
  clientFor,
  coordinator,
  expectProblem,
  nodeFetch,
  revoke,
  snapshot,
} from "../helpers/node.ts";

let nl: Admitted;
let platform: Admitted;
let other: Admitted;

beforeAll(async () => {
  nl = await admit("authority", "NL");
  platform = await admit("platform");
  other = await admit("platform");
});

const TABLES = ["api_credentials"] as const;

afterEach(() => {
  vi.restoreAllMocks();
});

function taxii(authorization: string | undefined, path = "/taxii2/eusn/collections/") {
  return nodeFetch(`${BASE}${path}`, {
    headers: { accept: TAXII_MEDIA_TYPE, ...(authorization ? { authorization } : {}) },
  });
}

async function expectTaxiiProblem(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toBe(TAXII_MEDIA_TYPE);
  const body = (await res.json()) as { code: string; http_status: string; requestId: string };
  expect(body.code).toBe(code);
  expect(body.http_status).toBe(String(status));
  if (status === 401) expect(res.headers.get("www-authenticate")).toMatch(/^Basic realm=/);
  return body;
}

async function create(by: Admitted, label = "TAXII connector") {
  const res = await createApiCredential(by.client, { label });
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
  return res.data;
}

describe("registering a credential", () => {
  it("stores only the SHA-256 of a secret the client made; the secret is nowhere on the node", async () => {
    const cred = await create(platform);
    expect(cred.secret).toMatch(API_SECRET_PATTERN);
    expect(cred.username).toBe(platform.id);
    const row = await env.DB.prepare("SELECT * FROM api_credentials WHERE id = ?")
      .bind(cred.credentialId)
      .first<{ secret_sha256: string; participant_id: string }>();
    expect(row).toMatchObject({
      secret_sha256: await apiSecretHash(cred.secret),
      participant_id: platform.id,
    });
    for (const table of ["api_credentials", "records", "audit_log"]) {
      const dump = JSON.stringify((await env.DB.prepare(`SELECT * FROM ${table}`).all()).results);
      expect(dump, table).not.toContain(cred.secret);
    }
    const listed = await listApiCredentials(platform.client);
    if (!listed.ok) throw new Error(JSON.stringify(listed.problem));
    const view = listed.data.credentials.find((c) => c.id === cred.credentialId)!;
    expect(view).toMatchObject({ status: "active", label: "TAXII connector", revokedAt: null });
    expect(JSON.stringify(listed.data)).not.toContain(await apiSecretHash(cred.secret));
    expect((await taxii(basicAuthorization(cred.username, cred.secret))).status).toBe(200);
  });

  it("nobody registers a credential for somebody else, not even a coordinator; nothing is stored", async () => {
    const before = await snapshot(TABLES);
    const record = {
      participantId: platform.id,
      label: "impersonation",
      secretSha256: await apiSecretHash(generateApiSecret()),
    };
    for (const by of [coordinator(), other.client]) {
      const res = await by.write(
        `/v1/participants/${platform.id}/api-credentials`,
        "participant.apicred.set",
        record,
      );
      expect(res.ok ? 0 : res.problem.code).toBe("forbidden");
    }
    // Own path, but the record names another participant.
    const res = await other.client.write(
      `/v1/participants/${other.id}/api-credentials`,
      "participant.apicred.set",
      record,
    );
    expect(res.ok ? 0 : res.problem.code).toBe("forbidden");
    expect(await snapshot(TABLES)).toEqual(before);
  });

  it("refuses an expiry in the past or beyond 366 days, a reused secret, a replayed write, and a sixth credential", async () => {
    const write = (record: Record<string, unknown>) =>
      nl.client.write(`/v1/participants/${nl.id}/api-credentials`, "participant.apicred.set", {
        participantId: nl.id,
        label: "x-connector",
        ...record,
      });
    const hash = await apiSecretHash(generateApiSecret());
    for (const expiresAt of [new Date(Date.now() - 1000), new Date(Date.now() + 367 * 864e5)]) {
      const res = await write({ secretSha256: hash, expiresAt: expiresAt.toISOString() });
      expect(res.ok ? 0 : res.problem.code).toBe("validation_failed");
    }
    const bad = await write({ secretSha256: "A".repeat(64) });
    expect(bad.ok ? 0 : bad.problem.code).toBe("validation_failed");
    expect((await write({ secretSha256: hash })).ok).toBe(true);
    const again = await write({ secretSha256: hash });
    expect(again.ok ? 0 : again.problem.code).toBe("conflict");

    const jws = await signWrite(
      { participantId: nl.id, privateJwk: nl.key.privateJwk },
      env.NODE_ID,
      "participant.apicred.set",
      { participantId: nl.id, label: "replayed", secretSha256: await apiSecretHash(generateApiSecret()) },
    );
    expect((await nl.client.postJws(`/v1/participants/${nl.id}/api-credentials`, jws)).ok).toBe(true);
    const replay = await nl.client.postJws(`/v1/participants/${nl.id}/api-credentials`, jws);
    expect(replay.ok ? 0 : replay.problem.code).toBe("replayed_jti");

    for (let i = 0; i < 3; i++) await create(nl, `connector ${i}`);
    const sixth = await createApiCredential(nl.client, { label: "one too many" });
    expect(sixth.ok ? 0 : sixth.problem.code).toBe("conflict");
  });
});

describe("using a credential", () => {
  it("refuses a wrong secret, another participant's name, a malformed header, and no credentials, with a Basic challenge", async () => {
    const cred = await create(other);
    const mine = await create(platform);
    const cases = [
      undefined,
      basicAuthorization(cred.username, generateApiSecret()), // right user, wrong secret
      basicAuthorization(platform.id, cred.secret), // someone else's secret under my name
      basicAuthorization("par_nobody", cred.secret),
      basicAuthorization(cred.username, `${cred.secret}x`),
      basicAuthorization(cred.username, mine.secret),
      `Basic ${btoa(cred.secret)}`, // no username
      "Basic !!!",
      `Basic ${btoa(`${cred.username}:`)}`,
    ];
    for (const auth of cases) await expectTaxiiProblem(await taxii(auth), 401, "unauthenticated");
  });

  it("refuses a password that is not a generated secret, even when its hash was registered", async () => {
    const weak = "password123";
    const res = await platform.client.write<WriteReceipt>(
      `/v1/participants/${platform.id}/api-credentials`,
      "participant.apicred.set",
      { participantId: platform.id, label: "hand-picked", secretSha256: await apiSecretHash(weak) },
    );
    expect(res.ok).toBe(true); // the node cannot know: it only ever sees the hash
    await expectTaxiiProblem(await taxii(basicAuthorization(platform.id, weak)), 401, "unauthenticated");
  });

  it("a revoked credential stops working at once; the participant or a coordinator may revoke, nobody else", async () => {
    const a = await create(other);
    const b = await create(other);
    const stranger = await revokeApiCredential(platform.client, a.credentialId, { participantId: other.id });
    expect(stranger.ok ? 0 : stranger.problem.code).toBe("forbidden");
    expect((await taxii(basicAuthorization(a.username, a.secret))).status).toBe(200);

    expect((await revokeApiCredential(other.client, a.credentialId, { reason: "rotated" })).ok).toBe(true);
    await expectTaxiiProblem(await taxii(basicAuthorization(a.username, a.secret)), 401, "unauthenticated");
    const twice = await revokeApiCredential(other.client, a.credentialId);
    expect(twice.ok ? 0 : twice.problem.code).toBe("conflict");

    expect((await revokeApiCredential(coordinator(), b.credentialId, { participantId: other.id })).ok).toBe(
      true,
    );
    await expectTaxiiProblem(await taxii(basicAuthorization(b.username, b.secret)), 401, "unauthenticated");

    const unknown = await revokeApiCredential(other.client, "apc_doesnotexist");
    expect(unknown.ok ? 0 : unknown.problem.code).toBe("not_found");
    // Another participant's credential id under my own path: not mine, so not found.
    const c = await create(platform);
    const cross = await revokeApiCredential(other.client, c.credentialId);
    expect(cross.ok ? 0 : cross.problem.code).toBe("not_found");
    expect((await taxii(basicAuthorization(c.username, c.secret))).status).toBe(200);
  });

  it("a credential expires", async () => {
    const short = await admit("platform");
    const secret = generateApiSecret();
    const res = await short.client.write(
      `/v1/participants/${short.id}/api-credentials`,
      "participant.apicred.set",
      {
        participantId: short.id,
        label: "short-lived",
        secretSha256: await apiSecretHash(secret),
        expiresAt: new Date(Date.now() + 1500).toISOString(),
      },
    );
    expect(res.ok).toBe(true);
    expect((await taxii(basicAuthorization(short.id, secret))).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1700));
    const body = await expectTaxiiProblem(
      await taxii(basicAuthorization(short.id, secret)),
      401,
      "unauthenticated",
    );
    expect(JSON.stringify(body)).toMatch(/expired/);
  });

  it("a revoked participant's credentials stop working", async () => {
    const gone = await admit("platform");
    const cred = await create(gone);
    expect((await taxii(basicAuthorization(cred.username, cred.secret))).status).toBe(200);
    const rev = await coordinator().write(`/v1/participants/${gone.id}/revoke`, "participant.revoke", {
      participantId: gone.id,
      reason: "left the network",
    });
    expect(rev.ok).toBe(true);
    await expectTaxiiProblem(
      await taxii(basicAuthorization(cred.username, cred.secret)),
      403,
      "participant_revoked",
    );
  });

  it("Basic carries the participant's role: a platform cannot read the submissions collection", async () => {
    const cred = await create(other);
    await expectTaxiiProblem(
      await taxii(
        basicAuthorization(cred.username, cred.secret),
        "/taxii2/eusn/collections/submissions/objects/",
      ),
      403,
      "forbidden",
    );
  });

  it("Basic is for the TAXII facade only: bearer routes refuse it", async () => {
    const cred = await create(other);
    const res = await nodeFetch(`${BASE}/v1/baseline`, {
      headers: { authorization: basicAuthorization(cred.username, cred.secret) },
    });
    await expectProblem(res, 401, "invalid_token");
    const list = await nodeFetch(`${BASE}/v1/participants/${other.id}/api-credentials`, {
      headers: { authorization: basicAuthorization(cred.username, cred.secret) },
    });
    await expectProblem(list, 401, "invalid_token");
  });

  it("only the participant itself or a coordinator lists its credentials", async () => {
    const res = await platform.client.get(`/v1/participants/${other.id}/api-credentials`);
    expect(res.ok ? 0 : res.problem.code).toBe("forbidden");
    const coord = await listApiCredentials(coordinator(), other.id);
    expect(coord.ok).toBe(true);
  });
});

describe("a credential ends with the key that registered it, and with its participant", () => {
  type CredView = {
    id: string;
    status: string;
    revokedAt: string | null;
    kid: string | null;
    revokedRecordId: string | null;
  };
  async function listed(p: Admitted | EusnClient, id: string): Promise<CredView> {
    const client = "client" in p ? p.client : p;
    const res = await listApiCredentials(client, client.participantId);
    if (!res.ok) throw new Error(JSON.stringify(res.problem));
    return res.data.credentials.find((c) => c.id === id)! as CredView;
  }
  async function rotate(p: Admitted): Promise<{ next: EusnClient; kid: string }> {
    const key = await generateParticipantKey();
    const add = await p.client.write(`/v1/participants/${p.id}/keys`, "participant.key.add", {
      participantId: p.id,
      jwk: key.publicJwk,
    });
    if (!add.ok) throw new Error(JSON.stringify(add.problem));
    return { next: clientFor(p.id, key.privateJwk), kid: key.kid };
  }
  const retire = (by: EusnClient, participantId: string, kid: string) =>
    by.write<WriteReceipt>(`/v1/participants/${participantId}/keys/retire`, "participant.key.retire", {
      participantId,
      kid,
      reason: "suspected compromise",
    });
  const auditFrom = async (seq: number) =>
    (
      await env.DB.prepare(
        "SELECT kind, subject_id, actor, detail FROM audit_log WHERE seq >= ? ORDER BY seq",
      )
        .bind(seq)
        .all<{ kind: string; subject_id: string; actor: string; detail: string | null }>()
    ).results;

  it("retiring a key revokes, in the same batch, every credential its key registered; credentials of the other key keep working", async () => {
    const p = await admit("platform");
    const old = await create(p, "registered with the old key");
    const revokedEarlier = await create(p, "revoked by hand before");
    expect((await revokeApiCredential(p.client, revokedEarlier.credentialId, { reason: "unused" })).ok).toBe(
      true,
    );
    const { next, kid: newKid } = await rotate(p);
    const fresh = await createApiCredential(next, { label: "registered with the new key" });
    if (!fresh.ok) throw new Error(JSON.stringify(fresh.problem));
    expect((await taxii(basicAuthorization(old.username, old.secret))).status).toBe(200);
    const manualRevocation = (await listed(p, revokedEarlier.credentialId)).revokedRecordId;

    const res = await retire(next, p.id, p.key.kid);
    if (!res.ok) throw new Error(JSON.stringify(res.problem));
    const receipt = res.data;

    // At once: the old key's credential is refused; the new key's still works.
    await expectTaxiiProblem(
      await taxii(basicAuthorization(old.username, old.secret)),
      401,
      "unauthenticated",
    );
    expect((await taxii(basicAuthorization(fresh.data.username, fresh.data.secret))).status).toBe(200);

    expect(await listed(next, old.credentialId)).toMatchObject({
      status: "revoked",
      kid: p.key.kid,
      revokedRecordId: receipt.recordId,
    });
    expect(await listed(next, fresh.data.credentialId)).toMatchObject({
      status: "active",
      kid: newKid,
      revokedRecordId: null,
    });
    // A credential revoked before keeps its own revocation record.
    expect((await listed(next, revokedEarlier.credentialId)).revokedRecordId).toBe(manualRevocation);

    // The audit trail: the retirement, then one entry per credential it revoked.
    const trail = await auditFrom(receipt.auditSeq);
    expect(trail.map((x) => [x.kind, x.subject_id])).toEqual([
      ["participant.key.retire", p.id],
      ["apicred.revoked", old.credentialId],
    ]);
    expect(trail[1]!.actor).toBe("system");
    expect(JSON.parse(trail[1]!.detail!)).toEqual({
      cause: "participant.key.retire",
      recordId: receipt.recordId,
      participantId: p.id,
      kid: p.key.kid,
    });
  });

  it("revoking a participant revokes all its credentials in the same batch, whichever key registered them", async () => {
    const p = await admit("authority", "NL");
    const first = await create(p);
    const { next } = await rotate(p);
    const second = await createApiCredential(next, { label: "second key" });
    if (!second.ok) throw new Error(JSON.stringify(second.problem));
    // An authority's revocation takes effect with its second signature: that record revokes them.
    const res = { data: await revoke(p.id, "key compromised") };
    for (const c of [first, second.data]) {
      await expectTaxiiProblem(
        await taxii(basicAuthorization(c.username, c.secret)),
        403,
        "participant_revoked",
      );
    }
    const all = await listApiCredentials(coordinator(), p.id);
    if (!all.ok) throw new Error(JSON.stringify(all.problem));
    expect(all.data.credentials.map((c) => [c.id, c.status, c.revokedRecordId])).toEqual([
      [first.credentialId, "revoked", res.data.recordId],
      [second.data.credentialId, "revoked", res.data.recordId],
    ]);
    const trail = await auditFrom(res.data.auditSeq);
    expect(trail.map((x) => x.kind)).toEqual([
      "participant.countersign",
      "apicred.revoked",
      "apicred.revoked",
    ]);
  });

  it("a credential that escaped the revocation (registered racing the retirement, or older than the rule) is refused at use and shown revoked", async () => {
    const p = await admit("platform");
    const cred = await create(p);
    const { next } = await rotate(p);
    const res = await retire(next, p.id, p.key.kid);
    if (!res.ok) throw new Error(JSON.stringify(res.problem));
    // As if the cascade had not reached this row.
    await env.DB.prepare(
      "UPDATE api_credentials SET revoked_at = NULL, revoked_record_id = NULL WHERE id = ?",
    )
      .bind(cred.credentialId)
      .run();
    const body = await expectTaxiiProblem(
      await taxii(basicAuthorization(cred.username, cred.secret)),
      401,
      "unauthenticated",
    );
    expect(JSON.stringify(body)).toContain(p.key.kid);
    expect(await listed(next, cred.credentialId)).toMatchObject({
      status: "revoked",
      revokedRecordId: res.data.recordId,
    });
  });

  it("a retirement whose batch fails revokes nothing; the same JWS then lands once", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const p = await admit("platform");
    const cred = await create(p);
    const { next } = await rotate(p);
    const jws = await signWrite(
      { participantId: p.id, privateJwk: next.privateJwk },
      env.NODE_ID,
      "participant.key.retire",
      { participantId: p.id, kid: p.key.kid },
    );
    const before = await dbState();
    // The last statements of the batch: the audit entry of the revoked credential.
    await env.DB.exec(
      "CREATE TRIGGER eusn_apicred_fault BEFORE INSERT ON audit_log WHEN NEW.kind = 'apicred.revoked' BEGIN SELECT RAISE(ABORT, 'injected fault'); END;",
    );
    try {
      const res = await nodeFetch(`${BASE}/v1/participants/${p.id}/keys/retire`, {
        method: "POST",
        headers: { "content-type": "application/jose" },
        body: jws,
      });
      await expectProblem(res, 500, "internal_error");
    } finally {
      await env.DB.exec("DROP TRIGGER eusn_apicred_fault;");
    }
    expect(await dbState()).toEqual(before);
    expect((await taxii(basicAuthorization(cred.username, cred.secret))).status).toBe(200);
    expect((await listed(p, cred.credentialId)).status).toBe("active");

    const again = await next.postJws(`/v1/participants/${p.id}/keys/retire`, jws);
    expect(again.ok).toBe(true);
    await expectTaxiiProblem(
      await taxii(basicAuthorization(cred.username, cred.secret)),
      401,
      "unauthenticated",
    );
  });
});

describe("a revocation that is undone", () => {
  it("gives back the participant and its keys, not the API credentials it revoked: the participant registers new ones", async () => {
    // A coordinator with two keys; its first key, stolen, revokes a platform alone (a platform's
    // revocation takes one signature); the coordinator then declares that key compromised since a
    // time before the revocation, which makes the revocation void.
    const c2 = await admit("coordinator");
    const next = await generateParticipantKey();
    const added = await c2.client.write(`/v1/participants/${c2.id}/keys`, "participant.key.add", {
      participantId: c2.id,
      jwk: next.publicJwk,
    });
    expect(added.ok, JSON.stringify(added)).toBe(true);
    const p = await admit("platform");
    const cred = await create(p);
    await new Promise((res) => setTimeout(res, 1100));
    const since = Math.floor(Date.now() / 1000);
    const rev = await c2.client.write<WriteReceipt>(`/v1/participants/${p.id}/revoke`, "participant.revoke", {
      participantId: p.id,
      reason: "a thief's revocation",
    });
    if (!rev.ok) throw new Error(JSON.stringify(rev.problem));
    await expectTaxiiProblem(
      await taxii(basicAuthorization(cred.username, cred.secret)),
      403,
      "participant_revoked",
    );
    const declared = await clientFor(c2.id, next.privateJwk).write<WriteReceipt>(
      `/v1/participants/${c2.id}/keys/retire`,
      "participant.key.retire",
      { participantId: c2.id, kid: c2.key.kid, reason: "laptop stolen", compromisedSince: since },
    );
    if (!declared.ok) throw new Error(JSON.stringify(declared.problem));
    // The participant is active again and its key signs again.
    const status = await env.DB.prepare("SELECT status FROM participants WHERE id = ?")
      .bind(p.id)
      .first<{ status: string }>();
    expect(status?.status).toBe("active");
    expect((await p.client.get("/v1/whoami")).status).toBe(200);
    // The credential the revocation took stays revoked (a bearer secret is not re-armed: its holder
    // may have discarded or exposed it once it was dead), and the undoing is audited saying so.
    await expectTaxiiProblem(
      await taxii(basicAuthorization(cred.username, cred.secret)),
      401,
      "unauthenticated",
    );
    const listed = await listApiCredentials(p.client);
    if (!listed.ok) throw new Error(JSON.stringify(listed.problem));
    expect(listed.data.credentials.find((c) => c.id === cred.credentialId)).toMatchObject({
      status: "revoked",
      revokedRecordId: rev.data.recordId,
    });
    const undone = await env.DB.prepare(
      "SELECT detail FROM audit_log WHERE kind = 'participant.unrevoked' AND subject_id = ? AND seq > ?",
    )
      .bind(p.id, declared.data.auditSeq)
      .first<{ detail: string }>();
    expect(JSON.parse(undone!.detail)).toMatchObject({
      revocationRecordId: rev.data.recordId,
      undoneBy: declared.data.recordId,
      credentialsRestored: false,
    });
    // A credential registered with its key now works.
    const fresh = await create(p);
    expect((await taxii(basicAuthorization(fresh.username, fresh.secret))).status).toBe(200);
  });
});
