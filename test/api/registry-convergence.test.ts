// The registry converges from the records alone (docs/federation.md "Convergence"), in the cases
// where it used to depend on arrival: the network's founding admission signed on two nodes during
// a partition, a revocation of a participant whose admission was undone, and what a revocation
// that is later undone gives back. Three nodes, each a full peer of the other two
// (test/helpers/network.ts); every case ends with the three nodes' derived state identical and
// nothing held in federation_pending.
import { generateParticipantKey } from "@eusn/client";
import type { WriteReceipt } from "@eusn/protocol";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { type Member, type Network, network } from "../helpers/network.ts";

// Three nodes and several rounds of pulls per case: minutes on a loaded 2-core machine.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });

let net: Network;

const cutAll = (cut = true) => {
  for (const [a, b] of [
    [0, 1],
    [0, 2],
    [1, 2],
  ] as const)
    net.partition(a, b, cut);
};

afterEach(() => cutAll(false));

async function admitAuthority(home: number, memberState: string, name: string): Promise<Member> {
  const key = await generateParticipantKey();
  const { request } = await net.admitAuthority(home, {
    memberState,
    displayName: name,
    jwks: { keys: [key.publicJwk] },
  });
  return { id: request.subjectId, key, home, memberState };
}

async function requestAuthority(node: number, memberState: string, name: string) {
  const key = await generateParticipantKey();
  const req = await net.nodes[node]!.coordinator.write<WriteReceipt>(
    "/v1/participants",
    "participant.admit",
    {
      role: "authority",
      memberState,
      displayName: name,
      jwks: { keys: [key.publicJwk] },
    },
  );
  if (!req.ok) throw new Error(JSON.stringify(req.problem));
  return { ...req.data, key };
}

const row = async <T>(node: number, q: string, ...binds: unknown[]) =>
  (await net.nodes[node]!.env.DB.prepare(q)
    .bind(...binds)
    .first<T>()) ?? undefined;

async function expectConverged() {
  await net.heal();
  const [a, b, c] = await Promise.all([0, 1, 2].map((i) => net.snapshot(i)));
  expect(b).toEqual(a);
  expect(c).toEqual(a);
  expect(a!.pending).toBe(0);
  return a!;
}

beforeAll(async () => {
  net = await network(3, 1);
});

describe("a revocation of a participant whose admission was undone", () => {
  it("settles on every node as a revocation of nobody, audited, instead of waiting for the participant forever", async () => {
    const x = await admitAuthority(0, "LT", "authority LT, revoked on A");
    const req = await requestAuthority(0, "LT", "authority LT, vouched for by a revoked one");
    await net.heal();
    cutAll();
    // A revokes x; a second later x, on C (which has not heard of it), countersigns the request,
    // and C's coordinator revokes the participant so admitted, with a second signature on C.
    const revoked = await net.revoke(0, x.id, "revoked on A");
    expect(revoked.ok, JSON.stringify(revoked)).toBe(true);
    await new Promise((res) => setTimeout(res, 1100));
    const vouched = await net.nodes[2]!.as(x.id, x.key.privateJwk).write<WriteReceipt>(
      `/v1/participants/${req.subjectId}/countersign`,
      "participant.countersign",
      { participantId: req.subjectId, requestRecordId: req.recordId, action: "admit" },
    );
    expect(vouched.ok, JSON.stringify(vouched)).toBe(true);
    const revokedOnC = await net.revoke(2, req.subjectId, "revoked on C");
    expect(revokedOnC.ok, JSON.stringify(revokedOnC)).toBe(true);
    cutAll(false);
    const s = await expectConverged();
    // The admission never counted: nobody was admitted, so the revocation revoked nobody — on A and
    // B it is stored (its request completed by its countersignature, as on C) and audited.
    expect((s.participants as { id: string }[]).find((p) => p.id === req.subjectId)).toBeUndefined();
    const q = (
      s.registry as { request_record_id: string; completed_record_id: string | null; action: string }[]
    ).find((r) => r.request_record_id === revokedOnC.request!.recordId);
    expect(q).toMatchObject({ action: "revoke", completed_record_id: revokedOnC.countersign!.recordId });
    for (const node of [0, 1]) {
      const audit = await row<{ detail: string }>(
        node,
        "SELECT detail FROM audit_log WHERE kind = 'participant.revoke.moot' AND subject_id = ?",
        req.subjectId,
      );
      expect(audit, `node ${node}`).toBeDefined();
      expect(JSON.parse(audit!.detail)).toMatchObject({ revocationRecordId: revokedOnC.request!.recordId });
    }
  });

  it("takes effect with the admission when the admission's second signature arrives after it", async () => {
    const req = await requestAuthority(0, "PT", "authority PT, revoked before A heard of its admission");
    await net.heal();
    cutAll();
    // B's coordinator countersigns on B; C learns it from B and revokes the authority; A hears C
    // first: it holds a revocation of a participant whose admission waits for its second signature.
    const cs = await net.nodes[1]!.coordinator.write<WriteReceipt>(
      `/v1/participants/${req.subjectId}/countersign`,
      "participant.countersign",
      { participantId: req.subjectId, requestRecordId: req.recordId, action: "admit" },
    );
    expect(cs.ok, JSON.stringify(cs)).toBe(true);
    net.partition(1, 2, false);
    expect((await net.pull(2, 1)).status).toBe("ok");
    await new Promise((res) => setTimeout(res, 1100));
    const revoked = await net.revoke(2, req.subjectId, "revoked on C");
    expect(revoked.ok, JSON.stringify(revoked)).toBe(true);
    net.partition(0, 2, false);
    const fromC = await net.pull(0, 2);
    expect(fromC).toMatchObject({ status: "ok", pending: 0 });
    expect(await row(0, "SELECT id FROM participants WHERE id = ?", req.subjectId)).toBeUndefined();
    expect(
      await row(
        0,
        "SELECT 1 AS one FROM audit_log WHERE kind = 'participant.revoke.moot' AND subject_id = ?",
        req.subjectId,
      ),
    ).toBeDefined();
    cutAll(false);
    const s = await expectConverged();
    const iat = (await row<{ iat: number }>(
      2,
      "SELECT iat FROM records WHERE id = ?",
      revoked.countersign!.recordId,
    ))!.iat;
    const p = (s.participants as { id: string; status: string; revoked_at: string | null }[]).find(
      (x) => x.id === req.subjectId,
    );
    expect(p?.status).toBe("revoked");
    expect(Date.parse(p!.revoked_at!) / 1000).toBe(iat);
  });
});

describe("the network's founding admission is judged in signed order, not on arrival", () => {
  let founded: Network;
  const snap = (i: number) => founded.snapshot(i);
  const coordinatorRequest = async (node: number, name: string) => {
    const key = await generateParticipantKey();
    const res = await founded.nodes[node]!.coordinator.write<WriteReceipt>(
      "/v1/participants",
      "participant.admit",
      { role: "coordinator", displayName: name, jwks: { keys: [key.publicJwk] } },
    );
    if (!res.ok) throw new Error(JSON.stringify(res.problem));
    return { ...res.data, key };
  };
  const registryOf = async (i: number) => {
    const s = await snap(i);
    return { participants: s.participants, keys: s.keys, registry: s.registry };
  };

  it("two founding admissions signed during a partition: the earlier is the founding on every node, the later a request, and what its coordinator countersigned counts nowhere until it is admitted", async () => {
    // A network of its own: nobody has been admitted by a record on it yet.
    founded = await network(3, 4);
    const cut = (on = true) => {
      for (const [a, b] of [
        [0, 1],
        [0, 2],
        [1, 2],
      ] as const)
        founded.partition(a, b, on);
    };
    cut();
    // A's bootstrap coordinator admits X alone (the founding, on A); a second later B's admits Y
    // alone (the founding as far as B knows), and Y countersigns an authority's admission on B.
    const x = await coordinatorRequest(0, "X, founded on A");
    await new Promise((res) => setTimeout(res, 1100));
    const y = await coordinatorRequest(1, "Y, founded on B a second later");
    const yClient = founded.nodes[1]!.as(y.subjectId, y.key.privateJwk);
    const eeKey = await generateParticipantKey();
    const ee = await founded.nodes[1]!.coordinator.write<WriteReceipt>(
      "/v1/participants",
      "participant.admit",
      {
        role: "authority",
        memberState: "EE",
        displayName: "authority EE, countersigned by Y",
        jwks: { keys: [eeKey.publicJwk] },
      },
    );
    if (!ee.ok) throw new Error(JSON.stringify(ee.problem));
    const byY = await yClient.write<WriteReceipt>(
      `/v1/participants/${ee.data.subjectId}/countersign`,
      "participant.countersign",
      { participantId: ee.data.subjectId, requestRecordId: ee.data.recordId, action: "admit" },
    );
    expect(byY.ok, JSON.stringify(byY)).toBe(true);
    const status = (node: number, id: string) =>
      founded.nodes[node]!.env.DB.prepare("SELECT status FROM participants WHERE id = ?")
        .bind(id)
        .first<{ status: string }>();
    expect(await status(0, x.subjectId)).toMatchObject({ status: "active" });
    expect(await status(1, y.subjectId)).toMatchObject({ status: "active" });
    expect(await status(1, ee.data.subjectId)).toMatchObject({ status: "active" });
    // Arrival orders differ: C hears B first (Y founding there, EE admitted by Y's countersignature),
    // then A; B hears A's X after its own Y; A hears Y after its own X.
    founded.partition(1, 2, false);
    expect((await founded.pull(2, 1)).status).toBe("ok");
    expect(await status(2, ee.data.subjectId)).toMatchObject({ status: "active" });
    founded.partition(0, 2, false);
    expect((await founded.pull(2, 0)).status).toBe("ok");
    cut(false);
    await founded.heal();
    // Every node: X is the founding coordinator, Y's admission a request waiting for a second
    // signature, EE's admission a request again (Y's countersignature counts for nothing).
    const [a, b, c] = await Promise.all([0, 1, 2].map(registryOf));
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    const ids = (a!.participants as { id: string }[]).map((p) => p.id);
    expect(ids).toContain(x.subjectId);
    expect(ids).not.toContain(y.subjectId);
    expect(ids).not.toContain(ee.data.subjectId);
    const req = (recordId: string) =>
      (
        a!.registry as {
          request_record_id: string;
          completed_record_id: string | null;
          void_reason: string | null;
        }[]
      ).find((r) => r.request_record_id === recordId);
    expect(req(y.recordId)).toMatchObject({ completed_record_id: null, void_reason: null });
    expect(req(ee.data.recordId)).toMatchObject({ completed_record_id: null });
    expect(req(x.recordId)).toBeUndefined();
    const unadmitted = await founded.nodes[1]!.env.DB.prepare(
      "SELECT detail FROM audit_log WHERE kind = 'participant.unadmitted' AND subject_id = ?",
    )
      .bind(y.subjectId)
      .first<{ detail: string }>();
    expect(JSON.parse(unadmitted!.detail)).toMatchObject({
      admissionRecordId: y.recordId,
      foundingRecordId: x.recordId,
    });
    // A's coordinator gives Y's request its second signature: Y is a coordinator everywhere from
    // then on, and what it signed before is judged alike on every node — B and C, which had voided
    // it, and A, which held it waiting for Y — by the admission's place (a record signed within
    // the clock skew before it counts, as for any key): its countersignature of EE completes EE.
    const cs = await founded.nodes[0]!.coordinator.write<WriteReceipt>(
      `/v1/participants/${y.subjectId}/countersign`,
      "participant.countersign",
      { participantId: y.subjectId, requestRecordId: y.recordId, action: "admit" },
    );
    expect(cs.ok, JSON.stringify(cs)).toBe(true);
    await founded.heal();
    const all = await Promise.all([0, 1, 2].map(snap));
    expect(all[1]).toEqual(all[0]);
    expect(all[2]).toEqual(all[0]);
    expect(all[0]!.pending).toBe(0);
    const py = (all[0]!.participants as { id: string; status: string }[]).find((p) => p.id === y.subjectId);
    expect(py?.status).toBe("active");
    const pe = (all[0]!.participants as { id: string; status: string }[]).find(
      (p) => p.id === ee.data.subjectId,
    );
    expect(pe?.status).toBe("active");
  });
});
