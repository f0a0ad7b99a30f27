// Federation converges (docs/federation.md "Convergence"): three nodes, each a full peer of the
// other two, derive the same state from the same records whatever order they arrive in. First
// the cases that diverged when replicated records were applied in arrival order (dependencies
// arriving late, decisions that do not commute, a revocation during a partition, racing pulls),
// then a random run: activity on every node under partitions, partial pulls and pulls that break
// mid-page, healed until quiet, must end identical on all three nodes.

import { generateParticipantKey } from "@eusn/client";
import type { WriteReceipt } from "@eusn/protocol";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { pdqItem, randomPdq, rng } from "../helpers/hashes.ts";
import { type Member, type Network, network } from "../helpers/network.ts";

// Three nodes and several rounds of pulls per case: minutes on a loaded 2-core machine.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });

let net: Network;
const r = rng(2401);

async function admit(home: number, role: "authority" | "platform", memberState?: string): Promise<Member> {
  const key = await generateParticipantKey();
  const displayName = `${role} ${memberState ?? ""} on node ${home}`;
  if (role === "authority" && memberState) {
    // Signed by the node's coordinator, countersigned by another coordinator (the second signature).
    const { request } = await net.admitAuthority(home, {
      memberState,
      displayName,
      jwks: { keys: [key.publicJwk] },
    });
    return { id: request.subjectId, key, home, memberState };
  }
  const res = await net.nodes[home]!.coordinator.write<WriteReceipt>(
    "/v1/participants",
    "participant.admit",
    {
      role,
      ...(memberState ? { memberState } : {}),
      displayName,
      jwks: { keys: [key.publicJwk] },
    },
  );
  if (!res.ok) throw new Error(`admit: ${res.status} ${JSON.stringify(res.problem)}`);
  return { id: res.data.subjectId, key, home, ...(memberState ? { memberState } : {}) };
}

const on = (m: Member, node = m.home) => net.nodes[node]!.as(m.id, m.key.privateJwk);

async function submit(m: Member, node = m.home): Promise<string> {
  const res = await on(m, node).write<{ submissions: { id: string }[] }>(
    "/v1/submissions",
    "submission.create",
    {
      items: [pdqItem(randomPdq(r))],
    },
  );
  if (!res.ok) throw new Error(`submit: ${res.status} ${JSON.stringify(res.problem)}`);
  return res.data.submissions[0]!.id;
}

async function assess(m: Member, id: string, verdict: "concur" | "dissent" = "concur", node = m.home) {
  const res = await on(m, node).write<WriteReceipt>(
    `/v1/submissions/${id}/assessments`,
    "assessment.create",
    {
      submissionId: id,
      verdict,
      limb: "a",
      ...(verdict === "dissent" ? { reason: "not terrorist content" } : {}),
    },
  );
  if (!res.ok) throw new Error(`assess: ${res.status} ${JSON.stringify(res.problem)}`);
  return res.data.subjectId;
}

async function decide(
  node: number,
  id: string,
  decision: "include" | "exclude" | "retire",
  cited: string[] = [],
) {
  return net.nodes[node]!.coordinator.write<WriteReceipt>(
    `/v1/submissions/${id}/decisions`,
    "baseline.decide",
    {
      submissionId: id,
      decision,
      reason: `${decision} by the coordinator of node ${node}`,
      assessmentIds: cited,
    },
  );
}

async function expectConverged() {
  await net.heal();
  const [a, b, c] = await Promise.all([0, 1, 2].map((i) => net.snapshot(i)));
  expect(b).toEqual(a);
  expect(c).toEqual(a);
  expect(a!.pending).toBe(0);
  return a!;
}

async function stateOn(node: number, id: string) {
  return net.nodes[node]!.env.DB.prepare(
    "SELECT status, baseline_state AS baselineState FROM submissions WHERE id = ?",
  )
    .bind(id)
    .first<{ status: string; baselineState: string }>();
}

let nl: Member;
let de: Member;
let at: Member;
let fr: Member;

beforeAll(async () => {
  net = await network(3, 1);
  nl = await admit(0, "authority", "NL");
  de = await admit(1, "authority", "DE");
  at = await admit(1, "authority", "AT");
  fr = await admit(2, "authority", "FR");
  await net.heal();
});

afterEach(() => {
  for (const [a, b] of [
    [0, 1],
    [0, 2],
    [1, 2],
  ] as const)
    net.partition(a, b, false);
});

describe("dependencies arriving late wait instead of being skipped", () => {
  it("concurrences made on B before C has the submission from A, then the inclusion citing them, end included everywhere", async () => {
    net.partition(0, 2); // C cannot reach A
    const id = await submit(nl); // on A
    expect((await net.pull(1, 0)).status).toBe("ok"); // B has it
    const viaDe = await assess(de, id);
    const viaAt = await assess(at, id);
    expect((await decide(0, id, "include", [])).ok).toBe(false); // A does not have them yet
    expect((await net.pull(0, 1)).status).toBe("ok");
    const inc = await decide(0, id, "include", [viaDe, viaAt]);
    expect(inc.ok, JSON.stringify(inc)).toBe(true);
    // C pulls B first: the concurrences wait for the submission.
    const fromB = await net.pull(2, 1);
    expect(fromB.pending).toBeGreaterThanOrEqual(2);
    expect(await stateOn(2, id)).toBeNull();
    net.partition(0, 2, false);
    const fromA = await net.pull(2, 0);
    expect(fromA.status).toBe("ok");
    expect(fromA.released).toBeGreaterThanOrEqual(2);
    expect(await stateOn(2, id)).toEqual({ status: "live", baselineState: "included" });
    const s = await expectConverged();
    expect(s.baseline).toContain(id);
  });
});

describe("concurrent decisions resolve the same way on every node", () => {
  it("an inclusion on A racing a dissent on C: both nodes end with the same state", async () => {
    const id = await submit(nl);
    await net.heal();
    const viaDe = await assess(de, id);
    const viaAt = await assess(at, id);
    await net.heal();
    net.partition(0, 2);
    net.partition(1, 2);
    const dissent = assess(fr, id, "dissent");
    const inc = decide(0, id, "include", [viaDe, viaAt]);
    await Promise.all([dissent, inc]);
    net.partition(0, 2, false);
    net.partition(1, 2, false);
    const s = await expectConverged();
    const row = (s.submissions as { id: string; baseline_state: string; live_dissents: number }[]).find(
      (x) => x.id === id,
    )!;
    // Whichever came first in signed order, the counting dissent is there at the end: either the
    // inclusion was refused by the fold or the entry was disputed after it.
    expect(row.live_dissents).toBe(1);
    expect(["none", "disputed"]).toContain(row.baseline_state);
  });

  it("an exclusion on A racing a reversal on B end reversed everywhere, with the same baseline state", async () => {
    const id = await submit(nl);
    await net.heal();
    net.partition(0, 1);
    net.partition(0, 2);
    const [ex, rev] = await Promise.all([
      decide(0, id, "exclude"),
      net.nodes[1]!.coordinator.write(`/v1/submissions/${id}/reverse`, "submission.reverse", {
        submissionId: id,
        reason: "upheld complaint",
        ground: "complaint_upheld",
      }),
    ]);
    expect(ex.ok, JSON.stringify(ex)).toBe(true);
    expect(rev.ok, JSON.stringify(rev)).toBe(true);
    net.partition(0, 1, false);
    net.partition(0, 2, false);
    const s = await expectConverged();
    const row = (s.submissions as { id: string; status: string }[]).find((x) => x.id === id)!;
    expect(row.status).toBe("reversed");
  });

  it("include, exclude and retire by the coordinators of three nodes end in one state", async () => {
    const id = await submit(nl);
    await net.heal();
    const cited = [await assess(de, id), await assess(fr, id)];
    await net.heal();
    for (const [a, b] of [
      [0, 1],
      [0, 2],
      [1, 2],
    ] as const)
      net.partition(a, b);
    await Promise.all([
      decide(0, id, "include", cited),
      decide(1, id, "exclude"),
      decide(2, id, "include", cited),
    ]);
    await decide(2, id, "retire");
    for (const [a, b] of [
      [0, 1],
      [0, 2],
      [1, 2],
    ] as const)
      net.partition(a, b, false);
    await expectConverged();
  });
});

describe("a revocation during a partition reaches back on every node", () => {
  it("what the revoked authority signed on C after its revocation on A is void everywhere", async () => {
    const rogue = await admit(2, "authority", "DE");
    const id = await submit(nl);
    await net.heal();
    net.partition(0, 2);
    net.partition(1, 2);
    const revoked = await net.revoke(0, rogue.id, "compromised");
    expect(revoked.ok, JSON.stringify(revoked)).toBe(true);
    // C has not heard: the rogue authority goes on writing there, one second later in signed order.
    await new Promise((res) => setTimeout(res, 1100));
    const own = await submit(rogue);
    await assess(rogue, id, "dissent");
    expect((await stateOn(2, own))?.status).toBe("live");
    net.partition(0, 2, false);
    net.partition(1, 2, false);
    const s = await expectConverged();
    const rows = s.submissions as { id: string; status: string; live_dissents: number }[];
    expect(rows.find((x) => x.id === own)?.status).toBe("voided");
    expect(rows.find((x) => x.id === id)?.live_dissents).toBe(0);
    // C says which records the late revocation voided.
    const voided = await net.nodes[2]!.env.DB.prepare(
      "SELECT count(*) AS n FROM audit_log WHERE kind = 'record.voided'",
    ).first<{
      n: number;
    }>();
    expect(voided!.n).toBeGreaterThanOrEqual(2);
  });
});

describe("the registry's second signatures converge", () => {
  it("an admission countersigned on two nodes during a partition takes effect at the earlier countersignature everywhere", async () => {
    const key = await generateParticipantKey();
    const req = await net.nodes[0]!.coordinator.write<WriteReceipt>("/v1/participants", "participant.admit", {
      role: "authority",
      memberState: "PT",
      displayName: "authority PT, countersigned twice",
      jwks: { keys: [key.publicJwk] },
    });
    if (!req.ok) throw new Error(JSON.stringify(req.problem));
    const id = req.data.subjectId;
    await net.heal();
    net.partition(0, 1);
    net.partition(0, 2);
    net.partition(1, 2);
    const record = { participantId: id, requestRecordId: req.data.recordId, action: "admit" as const };
    const path = `/v1/participants/${id}/countersign`;
    // B's coordinator on B first; C's coordinator on C a second later.
    const first = await net.nodes[1]!.coordinator.write<WriteReceipt>(
      path,
      "participant.countersign",
      record,
    );
    expect(first.ok, JSON.stringify(first)).toBe(true);
    await new Promise((res) => setTimeout(res, 1100));
    const second = await net.nodes[2]!.coordinator.write<WriteReceipt>(
      path,
      "participant.countersign",
      record,
    );
    expect(second.ok, JSON.stringify(second)).toBe(true);
    if (!first.ok || !second.ok) return;
    for (const [a, b] of [
      [0, 1],
      [0, 2],
      [1, 2],
    ] as const)
      net.partition(a, b, false);
    const s = await expectConverged();
    const iat = (await net.nodes[1]!.env.DB.prepare("SELECT iat FROM records WHERE id = ?")
      .bind(first.data.recordId)
      .first<{ iat: number }>())!.iat;
    const p = (s.participants as { id: string; admitted_at: string }[]).find((x) => x.id === id);
    expect(Date.parse(p!.admitted_at) / 1000).toBe(iat);
    for (const i of [0, 1, 2]) {
      const q = await net.nodes[i]!.env.DB.prepare(
        "SELECT completed_record_id FROM registry_requests WHERE request_record_id = ?",
      )
        .bind(req.data.recordId)
        .first<{ completed_record_id: string }>();
      expect(q?.completed_record_id).toBe(first.data.recordId);
    }
  });
});

describe("a countersignature and a withdrawal are judged in signed order, not on arrival", () => {
  const cutAll = (on = true) => {
    for (const [a, b] of [
      [0, 1],
      [0, 2],
      [1, 2],
    ] as const)
      net.partition(a, b, on);
  };
  async function requestLv(name: string) {
    const key = await generateParticipantKey();
    const req = await net.nodes[0]!.coordinator.write<WriteReceipt>("/v1/participants", "participant.admit", {
      role: "authority",
      memberState: "LV",
      displayName: name,
      jwks: { keys: [key.publicJwk] },
    });
    if (!req.ok) throw new Error(JSON.stringify(req.problem));
    return req.data;
  }
  const activeOn = async (node: number, id: string) =>
    (
      await net.nodes[node]!.env.DB.prepare("SELECT status FROM participants WHERE id = ?")
        .bind(id)
        .first<{ status: string }>()
    )?.status;

  it("a countersignature by an authority revoked earlier on another node completes nothing, on every node", async () => {
    const x = await admit(0, "authority", "LV");
    const req = await requestLv("authority LV, vouched for by a revoked one");
    await net.heal();
    cutAll();
    // A revokes x (two signatures, both on A); a second later x, on C, which has not heard of it,
    // gives the request its second signature: C admits the new authority.
    const revoked = await net.revoke(0, x.id, "revoked on A");
    expect(revoked.ok, JSON.stringify(revoked)).toBe(true);
    await new Promise((res) => setTimeout(res, 1100));
    const vouched = await on(x, 2).write<WriteReceipt>(
      `/v1/participants/${req.subjectId}/countersign`,
      "participant.countersign",
      { participantId: req.subjectId, requestRecordId: req.recordId, action: "admit" },
    );
    expect(vouched.ok, JSON.stringify(vouched)).toBe(true);
    expect(await activeOn(2, req.subjectId)).toBe("active");
    cutAll(false);
    const s = await expectConverged();
    // In signed order x was revoked before it countersigned: the admission is undone on C and
    // never happened on A and B; the request waits for a valid second signature everywhere.
    expect((s.participants as { id: string }[]).find((p) => p.id === req.subjectId)).toBeUndefined();
    const q = (s.registry as { request_record_id: string; completed_record_id: string | null }[]).find(
      (x) => x.request_record_id === req.recordId,
    );
    expect(q?.completed_record_id).toBeNull();
  });

  it("when the earliest countersignature stops counting, the admission moves to the next valid one on every node", async () => {
    const x = await admit(0, "authority", "LV");
    const req = await requestLv("authority LV, countersigned twice, once by a revoked one");
    await net.heal();
    cutAll();
    // A revokes x; then x countersigns on B (B admits at x's time); then C's coordinator on C.
    const revoked = await net.revoke(0, x.id, "revoked on A");
    expect(revoked.ok, JSON.stringify(revoked)).toBe(true);
    await new Promise((res) => setTimeout(res, 1100));
    const record = { participantId: req.subjectId, requestRecordId: req.recordId, action: "admit" as const };
    const path = `/v1/participants/${req.subjectId}/countersign`;
    const byX = await on(x, 1).write<WriteReceipt>(path, "participant.countersign", record);
    expect(byX.ok, JSON.stringify(byX)).toBe(true);
    await new Promise((res) => setTimeout(res, 1100));
    const byC = await net.nodes[2]!.coordinator.write<WriteReceipt>(path, "participant.countersign", record);
    expect(byC.ok, JSON.stringify(byC)).toBe(true);
    if (!byC.ok) return;
    cutAll(false);
    const s = await expectConverged();
    const iat = (await net.nodes[2]!.env.DB.prepare("SELECT iat FROM records WHERE id = ?")
      .bind(byC.data.recordId)
      .first<{ iat: number }>())!.iat;
    const p = (s.participants as { id: string; admitted_at: string; status: string }[]).find(
      (q) => q.id === req.subjectId,
    );
    expect(p?.status).toBe("active");
    expect(Date.parse(p!.admitted_at) / 1000).toBe(iat);
    const q = (s.registry as { request_record_id: string; completed_record_id: string | null }[]).find(
      (r) => r.request_record_id === req.recordId,
    );
    expect(q?.completed_record_id).toBe(byC.data.recordId);
  });

  it("a withdrawal signed before a countersignature made on another node wins on every node", async () => {
    const req = await requestLv("authority LV, withdrawn during a partition");
    await net.heal();
    cutAll();
    const withdrawn = await net.nodes[0]!.coordinator.write<WriteReceipt>(
      `/v1/participants/${req.subjectId}/requests/withdraw`,
      "participant.request.withdraw",
      { participantId: req.subjectId, requestRecordId: req.recordId, action: "admit" },
    );
    expect(withdrawn.ok, JSON.stringify(withdrawn)).toBe(true);
    await new Promise((res) => setTimeout(res, 1100));
    const late = await net.nodes[2]!.coordinator.write<WriteReceipt>(
      `/v1/participants/${req.subjectId}/countersign`,
      "participant.countersign",
      { participantId: req.subjectId, requestRecordId: req.recordId, action: "admit" },
    );
    expect(late.ok, JSON.stringify(late)).toBe(true);
    expect(await activeOn(2, req.subjectId)).toBe("active");
    cutAll(false);
    const s = await expectConverged();
    expect((s.participants as { id: string }[]).find((p) => p.id === req.subjectId)).toBeUndefined();
    const q = (
      s.registry as {
        request_record_id: string;
        completed_record_id: string | null;
        withdrawn_record_id: string;
      }[]
    ).find((x) => x.request_record_id === req.recordId);
    expect(q).toMatchObject({
      completed_record_id: null,
      withdrawn_record_id: withdrawn.ok ? withdrawn.data.recordId : "",
    });
  });
});

describe("a key declared compromised reaches back on every node", () => {
  it("what the key signed on C after the declared time is void everywhere, though C learned it last", async () => {
    const x = await admit(0, "authority", "SE");
    const k2 = await generateParticipantKey();
    const added = await on(x).write(`/v1/participants/${x.id}/keys`, "participant.key.add", {
      participantId: x.id,
      jwk: k2.publicJwk,
    });
    expect(added.ok, JSON.stringify(added)).toBe(true);
    const id = await submit(nl);
    const before = await submit(nl);
    await net.heal();
    await assess(x, before, "concur", 2);
    await net.heal();
    await new Promise((res) => setTimeout(res, 1100));
    const since = Math.floor(Date.now() / 1000);
    net.partition(0, 2);
    net.partition(1, 2);
    // Whoever holds the first key writes on C, which has not heard of the compromise.
    const own = await submit(x, 2);
    await assess(x, id, "concur", 2);
    expect((await stateOn(2, own))?.status).toBe("live");
    // X declares it on A with its second key.
    const declared = await net.nodes[0]!.as(x.id, k2.privateJwk).write(
      `/v1/participants/${x.id}/keys/retire`,
      "participant.key.retire",
      { participantId: x.id, kid: x.key.kid, reason: "key stolen", compromisedSince: since },
    );
    expect(declared.ok, JSON.stringify(declared)).toBe(true);
    net.partition(0, 2, false);
    net.partition(1, 2, false);
    const s = await expectConverged();
    const rows = s.submissions as { id: string; status: string; concur_states: string }[];
    expect(rows.find((r) => r.id === own)?.status).toBe("voided");
    expect(JSON.parse(rows.find((r) => r.id === id)!.concur_states)).not.toContain("SE");
    expect(JSON.parse(rows.find((r) => r.id === before)!.concur_states)).toContain("SE");
    const voided = await net.nodes[2]!.env.DB.prepare(
      "SELECT count(*) AS n FROM audit_log WHERE kind = 'record.voided' AND json_extract(detail, '$.kid') = ?",
    )
      .bind(x.key.kid)
      .first<{ n: number }>();
    expect(voided!.n).toBe(2);
  });
});

describe("pulls", () => {
  it("racing pulls of one peer: one pulls, the other answers in_progress, nothing raw", async () => {
    for (let i = 0; i < 5; i++) await submit(nl);
    const reports = await Promise.all([net.pull(1, 0, { pageSize: 1 }), net.pull(1, 0, { pageSize: 1 })]);
    expect(reports.map((x) => x.status).sort(), JSON.stringify(reports)).toEqual(["in_progress", "ok"]);
    for (const x of reports) expect(x.reason ?? "").not.toMatch(/D1_ERROR|UNIQUE/);
    await expectConverged();
  });

  it("a pull whose lease lapsed and was taken over stops before consuming more, and leaves the new holder's lease", async () => {
    for (let i = 0; i < 4; i++) await submit(nl);
    const c = net.nodes[2]!.env.DB;
    const lease = () =>
      c
        .prepare(
          "SELECT pull_lease_until AS until, next_index AS next FROM federation_peers WHERE peer_id = ?",
        )
        .bind(net.nodes[0]!.id)
        .first<{ until: number; next: number }>();
    const takenOver = 4_102_444_800_000; // what a second pull, finding the lease lapsed, would write
    const r = await net.pull(2, 0, {
      pageSize: 2,
      leaseRenewMs: 0,
      duringPage: async () => {
        await c
          .prepare("UPDATE federation_peers SET pull_lease_until = ? WHERE peer_id = ?")
          .bind(takenOver, net.nodes[0]!.id)
          .run();
      },
    });
    expect(r.status, JSON.stringify(r)).toBe("in_progress");
    expect(r.reason).toMatch(/lapsed and another pull took it over/);
    expect(r.to).toBe(r.from);
    expect(await lease()).toEqual({ until: takenOver, next: r.from });
    // The other pull ends; the next pull carries on from the same cursor.
    await c
      .prepare("UPDATE federation_peers SET pull_lease_until = 0 WHERE peer_id = ?")
      .bind(net.nodes[0]!.id)
      .run();
    await expectConverged();
  });

  it("a peer that goes silent fails the pull in time, frees the lease, and the next pull carries on", async () => {
    for (let i = 0; i < 3; i++) await submit(de);
    const silent = await net.pull(0, 1, { silentOn: "/v1/log/entries", peerTimeoutMs: 1_000 });
    expect(silent.status, JSON.stringify(silent)).toBe("error");
    expect(silent.reason).toMatch(/\/v1\/log\/entries.*no answer in time/);
    expect(silent.to).toBe(silent.from);
    const row = await net.nodes[0]!.env.DB.prepare(
      "SELECT pull_lease_until AS until FROM federation_peers WHERE peer_id = ?",
    )
      .bind(net.nodes[1]!.id)
      .first<{ until: number }>();
    expect(row!.until).toBe(0);
    await expectConverged();
  });

  it("a pull broken mid-page resumes exactly where it stopped", async () => {
    for (let i = 0; i < 6; i++) await submit(de);
    const broken = await net.pull(0, 1, { pageSize: 2, failAfterPages: 1 });
    expect(broken.status).toBe("error");
    expect(broken.to - broken.from, JSON.stringify(broken)).toBe(2);
    await expectConverged();
  });
});
