// No single coordinator is the root of trust for a member state (REGISTRY_SECOND_SIGNATURE, on by
// default): an authority's admission or revocation signed by one coordinator is a request with no
// effect, visible in GET /v1/registry/requests; it takes effect when a second signer countersigns
// it — another coordinator, or an active authority of the same member state — at the
// countersignature's signed time. Each test below attacks one way of getting a second signature
// that must not count, and checks that nothing was stored.

import { env } from "cloudflare:workers";
import { generateParticipantKey, signWrite } from "@eusn/client";
import type { RegistryRequestView, WriteReceipt } from "@eusn/protocol";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { pdqItem, randomPdq, rng } from "../helpers/hashes.ts";
import {
  type Admitted,
  admit,
  BASE,
  clientFor,
  coordinator,
  countersign,
  expectProblem,
  nodeFetch,
  revoke,
  secondCoordinator,
  snapshot,
} from "../helpers/node.ts";

const r = rng(161616);
const vars = env as unknown as Record<string, string | undefined>;
const EXTRA = ["registry_requests"] as const;

let nl: Admitted;
let de: Admitted;
let platform: Admitted;

beforeAll(async () => {
  nl = await admit("authority", "NL");
  de = await admit("authority", "DE");
  platform = await admit("platform");
});

afterEach(() => {
  delete vars.REGISTRY_SECOND_SIGNATURE;
});

/** The bootstrap coordinator signs an authority's admission: a request, not an admission. */
async function request(memberState: "NL" | "DE" | "FR" = "NL") {
  const key = await generateParticipantKey("ES256");
  const res = await coordinator().write<WriteReceipt>("/v1/participants", "participant.admit", {
    role: "authority",
    memberState,
    displayName: `Requested authority ${memberState} ${Math.floor(r() * 1e9)}`,
    jwks: { keys: [key.publicJwk] },
  });
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
  return { id: res.data.subjectId, recordId: res.data.recordId, key };
}

const post = (path: string, jws: string) =>
  nodeFetch(`${BASE}${path}`, { method: "POST", headers: { "content-type": "application/jose" }, body: jws });

async function pending(): Promise<RegistryRequestView[]> {
  const res = await nodeFetch(`${BASE}/v1/registry/requests`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { requests: RegistryRequestView[] }).requests;
}

const participantRow = (id: string) =>
  env.DB.prepare("SELECT status, admitted_at FROM participants WHERE id = ?")
    .bind(id)
    .first<{ status: string; admitted_at: string }>();

describe("admitting an authority", () => {
  it("one coordinator alone cannot: the admission is a visible request, the authority cannot sign", async () => {
    const req = await request();
    expect(await participantRow(req.id)).toBeNull();
    const listed = (await pending()).find((p) => p.requestRecordId === req.recordId);
    expect(listed).toMatchObject({
      action: "admit",
      participantId: req.id,
      memberState: "NL",
      requestedBy: env.BOOTSTRAP_COORDINATOR_ID,
      status: "pending",
      completedBy: null,
    });
    expect(listed?.keys).toEqual([req.key.kid]);
    const who = await clientFor(req.id, req.key.privateJwk).get("/v1/whoami");
    expect(who.status).toBe(401);
    const write = await clientFor(req.id, req.key.privateJwk).write("/v1/submissions", "submission.create", {
      items: [pdqItem(randomPdq(r))],
    });
    expect(write.status).toBe(401);
  });

  it("the same coordinator twice does not count as two (refused, nothing stored)", async () => {
    const req = await request();
    const before = await snapshot(EXTRA);
    const res = await coordinator().write(
      `/v1/participants/${req.id}/countersign`,
      "participant.countersign",
      {
        participantId: req.id,
        requestRecordId: req.recordId,
        action: "admit",
      },
    );
    expect(res.status).toBe(403);
    expect(res.ok ? null : res.problem.code).toBe("forbidden");
    expect(await snapshot(EXTRA)).toEqual(before);
    expect(await participantRow(req.id)).toBeNull();
  });

  it("an authority of another member state does not count (refused, nothing stored)", async () => {
    const req = await request("NL");
    const before = await snapshot(EXTRA);
    const res = await de.client.write(`/v1/participants/${req.id}/countersign`, "participant.countersign", {
      participantId: req.id,
      requestRecordId: req.recordId,
      action: "admit",
    });
    expect(res.status).toBe(403);
    expect(res.ok ? null : res.problem.code).toBe("forbidden");
    expect(await snapshot(EXTRA)).toEqual(before);
  });

  it("a platform does not count (refused, nothing stored)", async () => {
    const req = await request("NL");
    const before = await snapshot(EXTRA);
    const res = await platform.client.write(
      `/v1/participants/${req.id}/countersign`,
      "participant.countersign",
      {
        participantId: req.id,
        requestRecordId: req.recordId,
        action: "admit",
      },
    );
    expect(res.status).toBe(403);
    expect(await snapshot(EXTRA)).toEqual(before);
  });

  it("a revoked authority of the same member state does not count (refused, nothing stored)", async () => {
    const gone = await admit("authority", "NL");
    await revoke(gone.id);
    const req = await request("NL");
    const before = await snapshot(EXTRA);
    const res = await gone.client.write(`/v1/participants/${req.id}/countersign`, "participant.countersign", {
      participantId: req.id,
      requestRecordId: req.recordId,
      action: "admit",
    });
    expect(res.status).toBe(403);
    expect(res.ok ? null : res.problem.code).toBe("participant_revoked");
    expect(await snapshot(EXTRA)).toEqual(before);
  });

  it("a countersignature cannot be replayed for another participant or another request", async () => {
    const a = await request("NL");
    const b = await request("NL");
    const second = await secondCoordinator();
    const signer = { participantId: second.participantId, privateJwk: second.privateJwk };
    const forA = await signWrite(signer, env.NODE_ID, "participant.countersign", {
      participantId: a.id,
      requestRecordId: a.recordId,
      action: "admit",
    });
    const before = await snapshot(EXTRA);
    // A's countersignature sent to B's path.
    await expectProblem(await post(`/v1/participants/${b.id}/countersign`, forA), 400, "bad_request");
    // A record naming B with A's request, and one naming A's request as a revocation.
    const mixed = await signWrite(signer, env.NODE_ID, "participant.countersign", {
      participantId: b.id,
      requestRecordId: a.recordId,
      action: "admit",
    });
    await expectProblem(await post(`/v1/participants/${b.id}/countersign`, mixed), 409, "conflict");
    const asRevoke = await signWrite(signer, env.NODE_ID, "participant.countersign", {
      participantId: a.id,
      requestRecordId: a.recordId,
      action: "revoke",
    });
    await expectProblem(await post(`/v1/participants/${a.id}/countersign`, asRevoke), 409, "conflict");
    expect(await snapshot(EXTRA)).toEqual(before);
    expect(await participantRow(b.id)).toBeNull();
    // A's, where it belongs, completes A only; the same bytes again are a replay.
    expect((await post(`/v1/participants/${a.id}/countersign`, forA)).status).toBe(201);
    expect((await participantRow(a.id))?.status).toBe("active");
    expect(await participantRow(b.id)).toBeNull();
    await expectProblem(await post(`/v1/participants/${a.id}/countersign`, forA), 409, "replayed_jti");
  });

  it("another coordinator's countersignature admits it, from the countersignature's signed time", async () => {
    const req = await request("FR");
    const done = await countersign(req.id, req.recordId, "admit");
    const row = await participantRow(req.id);
    expect(row?.status).toBe("active");
    const iat = await env.DB.prepare("SELECT iat FROM records WHERE id = ?")
      .bind(done.recordId)
      .first<{ iat: number }>();
    expect(Date.parse(row!.admitted_at) / 1000).toBe(iat!.iat);
    expect((await clientFor(req.id, req.key.privateJwk).get("/v1/whoami")).status).toBe(200);
    const listed = (await pending()).find((p) => p.requestRecordId === req.recordId);
    expect(listed).toBeUndefined();
    const completed = await nodeFetch(`${BASE}/v1/registry/requests?status=completed`);
    const found = ((await completed.json()) as { requests: RegistryRequestView[] }).requests.find(
      (p) => p.requestRecordId === req.recordId,
    );
    expect(found).toMatchObject({ status: "completed", completedRecordId: done.recordId });
    // Completed: a third signature is refused.
    const again = await nl.client.write(`/v1/participants/${req.id}/countersign`, "participant.countersign", {
      participantId: req.id,
      requestRecordId: req.recordId,
      action: "admit",
    });
    expect(again.status).toBe(403); // NL cannot countersign an FR admission at all
  });

  it("an active authority of the same member state counts as the second signature", async () => {
    const req = await request("NL");
    await countersign(req.id, req.recordId, "admit", nl.client);
    expect((await participantRow(req.id))?.status).toBe("active");
    const again = await (await secondCoordinator()).write(
      `/v1/participants/${req.id}/countersign`,
      "participant.countersign",
      { participantId: req.id, requestRecordId: req.recordId, action: "admit" },
    );
    expect(again.status).toBe(409);
  });

  it("with REGISTRY_SECOND_SIGNATURE=off one coordinator admits an authority alone", async () => {
    vars.REGISTRY_SECOND_SIGNATURE = "off";
    const req = await request("DE");
    expect((await participantRow(req.id))?.status).toBe("active");
  });

  it("a typo in REGISTRY_SECOND_SIGNATURE keeps the safeguard on", async () => {
    vars.REGISTRY_SECOND_SIGNATURE = "of";
    const req = await request("DE");
    expect(await participantRow(req.id)).toBeNull();
  });
});

describe("revoking an authority", () => {
  async function revocationRequest(target: Admitted) {
    const res = await coordinator().write<WriteReceipt>(
      `/v1/participants/${target.id}/revoke`,
      "participant.revoke",
      {
        participantId: target.id,
        reason: "suspected of abuse",
      },
    );
    if (!res.ok) throw new Error(JSON.stringify(res.problem));
    return res.data.recordId;
  }

  it("one coordinator alone cannot: the authority stays active and keeps signing", async () => {
    const target = await admit("authority", "NL");
    const recordId = await revocationRequest(target);
    expect((await participantRow(target.id))?.status).toBe("active");
    expect((await pending()).find((p) => p.requestRecordId === recordId)).toMatchObject({
      action: "revoke",
      participantId: target.id,
      reason: "suspected of abuse",
      status: "pending",
    });
    const write = await target.client.write("/v1/submissions", "submission.create", {
      items: [pdqItem(randomPdq(r))],
    });
    expect(write.status).toBe(201);
    // A second request while one waits is refused: countersign the first.
    const again = await coordinator().write(`/v1/participants/${target.id}/revoke`, "participant.revoke", {
      participantId: target.id,
      reason: "again",
    });
    expect(again.status).toBe(409);
  });

  it("the same coordinator twice, another member state's authority or a platform do not count", async () => {
    const target = await admit("authority", "NL");
    const recordId = await revocationRequest(target);
    const before = await snapshot(EXTRA);
    const record = { participantId: target.id, requestRecordId: recordId, action: "revoke" as const };
    const path = `/v1/participants/${target.id}/countersign`;
    expect((await coordinator().write(path, "participant.countersign", record)).status).toBe(403);
    expect((await de.client.write(path, "participant.countersign", record)).status).toBe(403);
    expect((await platform.client.write(path, "participant.countersign", record)).status).toBe(403);
    // Nor the target itself.
    expect((await target.client.write(path, "participant.countersign", record)).status).toBe(403);
    expect(await snapshot(EXTRA)).toEqual(before);
    expect((await participantRow(target.id))?.status).toBe("active");
  });

  it("a second coordinator's countersignature revokes it, at the countersignature's signed time", async () => {
    const target = await admit("authority", "NL");
    const recordId = await revocationRequest(target);
    const done = await countersign(target.id, recordId, "revoke");
    const row = await env.DB.prepare("SELECT status, revocation_record_id FROM participants WHERE id = ?")
      .bind(target.id)
      .first<{ status: string; revocation_record_id: string }>();
    expect(row).toEqual({ status: "revoked", revocation_record_id: done.recordId });
    const write = await target.client.write("/v1/submissions", "submission.create", {
      items: [pdqItem(randomPdq(r))],
    });
    expect(write.status).toBe(403);
  });

  it("an active authority of the same member state counts as the second signature", async () => {
    const target = await admit("authority", "NL");
    const recordId = await revocationRequest(target);
    await countersign(target.id, recordId, "revoke", nl.client);
    expect((await participantRow(target.id))?.status).toBe("revoked");
  });
});

describe("no single coordinator is the root of trust for any admission", () => {
  /** `by` signs the admission of a participant of `role` alone. */
  async function requestRole(role: "coordinator" | "platform", by = coordinator()) {
    const key = await generateParticipantKey("EdDSA");
    const res = await by.write<WriteReceipt>("/v1/participants", "participant.admit", {
      role,
      displayName: `Requested ${role} ${Math.floor(r() * 1e9)}`,
      jwks: { keys: [key.publicJwk] },
    });
    if (!res.ok) throw new Error(JSON.stringify(res.problem));
    return { id: res.data.subjectId, recordId: res.data.recordId, key };
  }

  it("a sock-puppet coordinator: one coordinator's admission of another is a request, and the puppet cannot sign", async () => {
    // The bootstrap coordinator's first admitted coordinator (the network's founding) is the
    // only one it admits alone; it exists once this file's helpers made it.
    const second = await secondCoordinator();
    const puppet = await requestRole("coordinator");
    expect(await participantRow(puppet.id)).toBeNull();
    expect((await pending()).find((p) => p.requestRecordId === puppet.recordId)).toMatchObject({
      action: "admit",
      role: "coordinator",
      participantId: puppet.id,
      status: "pending",
    });
    const asPuppet = clientFor(puppet.id, puppet.key.privateJwk);
    expect((await asPuppet.get("/v1/whoami")).status).toBe(401);
    // The puppet cannot give the bootstrap coordinator's next authority its second signature.
    const req = await request("NL");
    const vouched = await asPuppet.write(
      `/v1/participants/${req.id}/countersign`,
      "participant.countersign",
      {
        participantId: req.id,
        requestRecordId: req.recordId,
        action: "admit",
      },
    );
    expect(vouched.status).toBe(401);
    expect(await participantRow(req.id)).toBeNull();
    // Nor does its signer count twice, nor does an authority vouch for a coordinator.
    const before = await snapshot(EXTRA);
    const record = { participantId: puppet.id, requestRecordId: puppet.recordId, action: "admit" as const };
    const path = `/v1/participants/${puppet.id}/countersign`;
    const self = await coordinator().write(path, "participant.countersign", record);
    expect(self.ok ? null : self.problem.code).toBe("forbidden");
    const byAuthority = await nl.client.write(path, "participant.countersign", record);
    expect(byAuthority.status).toBe(403);
    expect(await snapshot(EXTRA)).toEqual(before);
    // Another coordinator's countersignature admits it.
    expect((await second.write(path, "participant.countersign", record)).status).toBe(201);
    expect((await participantRow(puppet.id))?.status).toBe("active");
    expect((await asPuppet.get("/v1/whoami")).status).toBe(200);
  });

  it("the founding exception is used once: after the first admitted coordinator is revoked, the bootstrap still cannot admit one alone", async () => {
    const second = await secondCoordinator();
    const third = await admit("coordinator");
    expect(third.countersigned?.recordId).toBeTruthy();
    // Revoking a coordinator needs a second signature too: the second coordinator's request, the
    // bootstrap's countersignature.
    await revoke(third.id, "leaves", second);
    expect((await participantRow(third.id))?.status).toBe("revoked");
    const next = await requestRole("coordinator");
    expect(await participantRow(next.id)).toBeNull();
  });

  it("a platform's admission by one coordinator is a request; only another coordinator completes it", async () => {
    const p = await requestRole("platform");
    expect(await participantRow(p.id)).toBeNull();
    const asP = clientFor(p.id, p.key.privateJwk);
    expect((await asP.get("/v1/whoami")).status).toBe(401);
    expect((await asP.get("/v1/baseline?limit=1")).status).toBe(401);
    const before = await snapshot(EXTRA);
    const record = { participantId: p.id, requestRecordId: p.recordId, action: "admit" as const };
    const path = `/v1/participants/${p.id}/countersign`;
    // An authority does not vouch for a platform (it has no member state to answer for).
    const byAuthority = await nl.client.write(path, "participant.countersign", record);
    expect(byAuthority.ok ? null : byAuthority.problem.code).toBe("forbidden");
    expect((await platform.client.write(path, "participant.countersign", record)).status).toBe(403);
    expect((await coordinator().write(path, "participant.countersign", record)).status).toBe(403);
    expect(await snapshot(EXTRA)).toEqual(before);
    await countersign(p.id, p.recordId, "admit");
    expect((await participantRow(p.id))?.status).toBe("active");
    expect((await asP.get("/v1/whoami")).status).toBe(200);
  });

  it("revoking a coordinator alone is a request; another coordinator or an active authority completes it", async () => {
    const second = await secondCoordinator();
    const a = await admit("coordinator");
    const res = await second.write<WriteReceipt>(`/v1/participants/${a.id}/revoke`, "participant.revoke", {
      participantId: a.id,
      reason: "rogue",
    });
    expect(res.status).toBe(201);
    expect((await participantRow(a.id))?.status).toBe("active");
    expect((await a.client.get("/v1/whoami")).status).toBe(200);
    const recordId = res.ok ? res.data.recordId : "";
    const record = { participantId: a.id, requestRecordId: recordId, action: "revoke" as const };
    const path = `/v1/participants/${a.id}/countersign`;
    // Not its requester again, not the target, not a platform.
    expect((await second.write(path, "participant.countersign", record)).status).toBe(403);
    expect((await a.client.write(path, "participant.countersign", record)).status).toBe(403);
    expect((await platform.client.write(path, "participant.countersign", record)).status).toBe(403);
    expect((await participantRow(a.id))?.status).toBe("active");
    // An authority (of any member state) may: two coordinators cannot keep each other in office.
    await countersign(a.id, recordId, "revoke", de.client);
    expect((await participantRow(a.id))?.status).toBe("revoked");
  });

  it("a platform's revocation takes effect with one signature (it removes access, it grants none)", async () => {
    const p = await admit("platform");
    await coordinator().write(`/v1/participants/${p.id}/revoke`, "participant.revoke", {
      participantId: p.id,
      reason: "compromised",
    });
    expect((await participantRow(p.id))?.status).toBe("revoked");
  });

  it("with REGISTRY_SECOND_SIGNATURE=off one coordinator admits coordinators and platforms alone", async () => {
    vars.REGISTRY_SECOND_SIGNATURE = "off";
    const c = await requestRole("coordinator");
    const p = await requestRole("platform");
    expect((await participantRow(c.id))?.status).toBe("active");
    expect((await participantRow(p.id))?.status).toBe("active");
  });
});

describe("withdrawing a request", () => {
  const withdraw = (
    by: ReturnType<typeof coordinator>,
    req: { id: string; recordId: string },
    action: "admit" | "revoke" = "admit",
  ) =>
    by.write<WriteReceipt>(`/v1/participants/${req.id}/requests/withdraw`, "participant.request.withdraw", {
      participantId: req.id,
      requestRecordId: req.recordId,
      action,
      reason: "sent by mistake",
    });

  async function listed(status: string): Promise<RegistryRequestView[]> {
    const res = await nodeFetch(`${BASE}/v1/registry/requests?status=${status}`);
    expect(res.status).toBe(200);
    return ((await res.json()) as { requests: RegistryRequestView[] }).requests;
  }

  it("its signer withdraws a pending request; a withdrawn request cannot be countersigned", async () => {
    const req = await request("NL");
    const res = await withdraw(coordinator(), req);
    expect(res.status, JSON.stringify(res)).toBe(201);
    expect((await pending()).find((p) => p.requestRecordId === req.recordId)).toBeUndefined();
    expect((await listed("withdrawn")).find((p) => p.requestRecordId === req.recordId)).toMatchObject({
      status: "withdrawn",
      withdrawnRecordId: res.ok ? res.data.recordId : "",
    });
    const before = await snapshot(EXTRA);
    const late = await (await secondCoordinator()).write(
      `/v1/participants/${req.id}/countersign`,
      "participant.countersign",
      { participantId: req.id, requestRecordId: req.recordId, action: "admit" },
    );
    expect(late.status).toBe(409);
    expect(late.ok ? null : late.problem.detail).toMatch(/withdrawn/);
    // Nor by an authority of the member state.
    const byNl = await nl.client.write(`/v1/participants/${req.id}/countersign`, "participant.countersign", {
      participantId: req.id,
      requestRecordId: req.recordId,
      action: "admit",
    });
    expect(byNl.status).toBe(409);
    expect(await snapshot(EXTRA)).toEqual(before);
    expect(await participantRow(req.id)).toBeNull();
    expect((await clientFor(req.id, req.key.privateJwk).get("/v1/whoami")).status).toBe(401);
    // Withdrawn twice: refused.
    expect((await withdraw(coordinator(), req)).status).toBe(409);
  });

  it("only its signer can withdraw it; nothing is stored otherwise", async () => {
    const req = await request("NL");
    const before = await snapshot(EXTRA);
    const other = await withdraw(await secondCoordinator(), req);
    expect(other.status).toBe(403);
    expect(other.ok ? null : other.problem.code).toBe("forbidden");
    expect((await withdraw(nl.client, req)).status).toBe(403);
    expect((await withdraw(platform.client, req)).status).toBe(403);
    // A withdrawal naming another participant or action than the request's.
    const wrong = await coordinator().write(
      `/v1/participants/${req.id}/requests/withdraw`,
      "participant.request.withdraw",
      { participantId: req.id, requestRecordId: req.recordId, action: "revoke" },
    );
    expect(wrong.status).toBe(409);
    expect(await snapshot(EXTRA)).toEqual(before);
    expect((await pending()).find((p) => p.requestRecordId === req.recordId)?.status).toBe("pending");
  });

  it("a countersigned request cannot be withdrawn (it took effect: revoke instead)", async () => {
    const req = await request("DE");
    await countersign(req.id, req.recordId, "admit");
    const before = await snapshot(EXTRA);
    const res = await withdraw(coordinator(), req);
    expect(res.status).toBe(409);
    expect(await snapshot(EXTRA)).toEqual(before);
    expect((await participantRow(req.id))?.status).toBe("active");
  });

  it("a withdrawn revocation leaves the authority active, and a new revocation can be requested", async () => {
    const target = await admit("authority", "NL");
    const first = await coordinator().write<WriteReceipt>(
      `/v1/participants/${target.id}/revoke`,
      "participant.revoke",
      { participantId: target.id, reason: "wrong participant" },
    );
    if (!first.ok) throw new Error(JSON.stringify(first.problem));
    expect(
      (await withdraw(coordinator(), { id: target.id, recordId: first.data.recordId }, "revoke")).status,
    ).toBe(201);
    expect((await participantRow(target.id))?.status).toBe("active");
    await revoke(target.id, "the right reason");
    expect((await participantRow(target.id))?.status).toBe("revoked");
  });
});
