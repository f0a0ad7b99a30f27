// Key compromise: a retirement may declare the key compromised since a time (`compromisedSince`,
// signed in the retirement record with another of the participant's keys). Every record the key
// signed at or after that time is void — assessments stop counting, decisions stop taking effect,
// submissions are voided — the entries they concern are folded again in the retirement's own
// batch, and each void record gets a `record.voided` audit entry, as a revocation's reach-back
// does. What the key signed before the time keeps counting.

import { env, exports } from "cloudflare:workers";
import { generateParticipantKey, type KeyPair } from "@eusn/client";
import type { NodeStats, SubmitResult, WriteReceipt } from "@eusn/protocol";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { pdqItem, randomPdq, rng } from "../helpers/hashes.ts";
import {
  type Admitted,
  admit,
  clientFor,
  coordinator,
  secondCoordinator,
  snapshot,
} from "../helpers/node.ts";
import { publishVersion, randomPseudonym, signalPlatform } from "../helpers/signals.ts";

vi.setConfig({ testTimeout: 60_000 });

const r = rng(77001);
let nl: Admitted;
let de: Admitted;
let fr: Admitted;

beforeAll(async () => {
  nl = await admit("authority", "NL");
  de = await admit("authority", "DE");
  fr = await admit("authority", "FR");
});

const must = <T>(res: { ok: boolean; status: number; data?: T; problem?: unknown }, what: string): T => {
  if (!res.ok) throw new Error(`${what}: ${res.status} ${JSON.stringify(res.problem)}`);
  return res.data as T;
};

/** A second key for `p` (so the first can be declared compromised with the second). */
async function secondKey(p: { id: string; key: KeyPair }) {
  const next = await generateParticipantKey();
  must(
    await clientFor(p.id, p.key.privateJwk).write(`/v1/participants/${p.id}/keys`, "participant.key.add", {
      participantId: p.id,
      jwk: next.publicJwk,
    }),
    "add key",
  );
  return next;
}

async function submit(by: Admitted): Promise<string> {
  const res = must(
    await by.client.write<SubmitResult>("/v1/submissions", "submission.create", {
      items: [pdqItem(randomPdq(r))],
    }),
    "submit",
  );
  return res.submissions[0]!.id;
}

const concur = async (by: { write: Admitted["client"]["write"] }, id: string) =>
  must(
    await by.write<WriteReceipt>(`/v1/submissions/${id}/assessments`, "assessment.create", {
      submissionId: id,
      verdict: "concur",
      limb: "a",
    }),
    "concur",
  ).subjectId;

const row = (id: string) =>
  env.DB.prepare("SELECT status, baseline_state, concur_states FROM submissions WHERE id = ?")
    .bind(id)
    .first<{ status: string; baseline_state: string; concur_states: string }>();

const retire = (p: { id: string }, signWith: KeyPair, kid: string, compromisedSince?: number) =>
  clientFor(p.id, signWith.privateJwk).write<WriteReceipt>(
    `/v1/participants/${p.id}/keys/retire`,
    "participant.key.retire",
    {
      participantId: p.id,
      kid,
      reason: "laptop stolen",
      ...(compromisedSince !== undefined ? { compromisedSince } : {}),
    },
  );

const voidedBy = async (recordId: string) =>
  (
    await env.DB.prepare(
      "SELECT record_id, detail FROM audit_log WHERE kind = 'record.voided' ORDER BY seq",
    ).all<{ record_id: string; detail: string }>()
  ).results.filter((a) => JSON.parse(a.detail).voidedBy === recordId);

describe("declaring a key compromised", () => {
  it("voids what it signed from that time on, in the retirement's batch: assessments and submissions", async () => {
    const x = await admit("authority", "DE");
    const k2 = await secondKey(x);
    const earlier = await submit(nl);
    const before = await concur(x.client, earlier); // signed with the first key, before the time
    await new Promise((res) => setTimeout(res, 2100));
    const since = Math.floor(Date.now() / 1000);
    // The thief's records, signed with the first key after the time.
    const later = await submit(nl);
    const stolen = await concur(x.client, later);
    const own = await submit(x);
    expect((await row(later))?.concur_states).toContain("DE");
    expect((await row(own))?.status).toBe("live");
    const voidedCount = async () =>
      ((await (await exports.default.fetch(new Request("https://node.test/v1/stats"))).json()) as NodeStats)
        .submissions.byStatus.voided;
    const voidedBefore = await voidedCount();

    const res = must(await retire(x, k2, x.key.kid, since), "retire");
    expect((await row(own))?.status).toBe("voided");
    // GET /v1/stats counts it under its stored status.
    expect(await voidedCount()).toBe(voidedBefore + 1);
    expect(JSON.parse((await row(later))!.concur_states)).not.toContain("DE");
    expect(JSON.parse((await row(earlier))!.concur_states)).toContain("DE");
    const live = await env.DB.prepare("SELECT id, live FROM assessments WHERE id IN (?, ?)")
      .bind(before, stolen)
      .all<{ id: string; live: number }>();
    expect(Object.fromEntries(live.results.map((a) => [a.id, a.live]))).toEqual({ [before]: 1, [stolen]: 0 });
    const voided = await voidedBy(res.recordId);
    expect(voided.length).toBe(2);
    for (const v of voided) expect(JSON.parse(v.detail)).toMatchObject({ kid: x.key.kid, from: since });
    const key = await env.DB.prepare("SELECT status, compromised_since FROM participant_keys WHERE kid = ?")
      .bind(x.key.kid)
      .first<{ status: string; compromised_since: number }>();
    expect(key).toEqual({ status: "retired", compromised_since: since });
  });

  it("voids a coordinator's inclusion signed with the key after that time: the entry leaves the baseline", async () => {
    const c2 = await admit("coordinator");
    const k2 = await secondKey(c2);
    const id = await submit(nl);
    const a = await concur(de.client, id);
    const b = await concur(fr.client, id);
    await new Promise((res) => setTimeout(res, 1100));
    const since = Math.floor(Date.now() / 1000);
    const included = await c2.client.write(`/v1/submissions/${id}/decisions`, "baseline.decide", {
      submissionId: id,
      decision: "include",
      reason: "three member states concur",
      assessmentIds: [a, b],
    });
    expect(included.status, JSON.stringify(included)).toBe(201);
    expect((await row(id))?.baseline_state).toBe("included");
    const res = must(await retire(c2, k2, c2.key.kid, since), "retire");
    expect((await row(id))?.baseline_state).toBe("none");
    const change = await env.DB.prepare(
      "SELECT change, record_id FROM submission_changes WHERE submission_id = ? ORDER BY seq DESC LIMIT 1",
    )
      .bind(id)
      .first<{ change: string; record_id: string }>();
    expect(change).toEqual({ change: "reset", record_id: res.recordId });
    const effective = await env.DB.prepare("SELECT effective FROM decisions WHERE submission_id = ?")
      .bind(id)
      .first<{ effective: number }>();
    expect(effective?.effective).toBe(0);
    expect((await voidedBy(res.recordId)).length).toBe(1);
  });

  it("keeps what the key signed before that time", async () => {
    const x = await admit("authority", "DE");
    const k2 = await secondKey(x);
    const id = await submit(nl);
    await concur(x.client, id);
    await new Promise((res) => setTimeout(res, 1100));
    must(await retire(x, k2, x.key.kid, Math.floor(Date.now() / 1000)), "retire");
    expect(JSON.parse((await row(id))!.concur_states)).toContain("DE");
  });

  it("cannot be declared by the compromised key itself, nor for a time after the declaration (nothing stored)", async () => {
    const x = await admit("authority", "DE");
    await secondKey(x);
    const before = await snapshot(["submissions", "assessments"]);
    const self = await retire(x, x.key, x.key.kid, Math.floor(Date.now() / 1000) - 60);
    expect(self.status).toBe(403);
    const k3 = await secondKey(x);
    const mid = await snapshot(["submissions", "assessments"]);
    expect(mid.records).toBe((before.records ?? 0) + 1);
    const future = await retire(x, k3, x.key.kid, Math.floor(Date.now() / 1000) + 3600);
    expect(future.status).toBe(422);
    expect(await snapshot(["submissions", "assessments"])).toEqual(mid);
  });

  it("may follow a routine retirement: the key's records from that time on are voided then", async () => {
    const x = await admit("authority", "DE");
    const k2 = await secondKey(x);
    await new Promise((res) => setTimeout(res, 1100));
    const since = Math.floor(Date.now() / 1000);
    const id = await submit(x);
    must(await retire(x, k2, x.key.kid), "routine retirement");
    expect((await row(id))?.status).toBe("live");
    must(await retire(x, k2, x.key.kid, since), "compromise found later");
    expect((await row(id))?.status).toBe("voided");
    // The routine retirement stays the key's retirement.
    const key = await env.DB.prepare("SELECT retired_record_id FROM participant_keys WHERE kid = ?")
      .bind(x.key.kid)
      .first<{ retired_record_id: string }>();
    const kinds = await env.DB.prepare("SELECT count(*) AS n FROM records WHERE id = ?")
      .bind(key?.retired_record_id)
      .first<{ n: number }>();
    expect(kinds?.n).toBe(1);
    expect(coordinator()).toBeTruthy();
  });
});

describe("a key declared compromised in the registry and among migration signals", () => {
  const participantRow = (id: string) =>
    env.DB.prepare("SELECT status FROM participants WHERE id = ?").bind(id).first<{ status: string }>();
  const requestRow = (recordId: string) =>
    env.DB.prepare(
      "SELECT completed_record_id, void_reason FROM registry_requests WHERE request_record_id = ?",
    )
      .bind(recordId)
      .first<{ completed_record_id: string | null; void_reason: string | null }>();

  it("voids the admissions, revocations and countersignatures it signed from that time on; what they changed is undone in the batch", async () => {
    const second = await secondCoordinator();
    const c2 = await admit("coordinator");
    const k2 = await secondKey(c2);
    const victim = await admit("authority", "FR");
    await new Promise((res) => setTimeout(res, 1100));
    const since = Math.floor(Date.now() / 1000);
    // The thief, with c2's first key: (1) gives the bootstrap coordinator's admission of a fake
    // FR authority its second signature; (2) requests a platform's admission, which the second
    // coordinator countersigns in good faith; (3) requests the revocation of an honest FR
    // authority, which the bootstrap coordinator countersigns.
    const fakeKey = await generateParticipantKey();
    const fakeReq = must(
      await coordinator().write<WriteReceipt>("/v1/participants", "participant.admit", {
        role: "authority",
        memberState: "FR",
        displayName: "Fake FR authority",
        jwks: { keys: [fakeKey.publicJwk] },
      }),
      "request",
    );
    const vouched = must(
      await c2.client.write<WriteReceipt>(
        `/v1/participants/${fakeReq.subjectId}/countersign`,
        "participant.countersign",
        {
          participantId: fakeReq.subjectId,
          requestRecordId: fakeReq.recordId,
          action: "admit",
        },
      ),
      "countersign",
    );
    const fake = {
      id: fakeReq.subjectId,
      key: fakeKey,
      client: clientFor(fakeReq.subjectId, fakeKey.privateJwk),
    };
    expect((await participantRow(fake.id))?.status).toBe("active");
    // The fake authority signs a submission and a concurrence while it is admitted.
    const fakeSub = await submit(fake as unknown as Admitted);
    const honest = await submit(nl);
    await concur(fake.client, honest);
    expect(JSON.parse((await row(honest))!.concur_states)).toContain("FR");
    const platformKey = await generateParticipantKey();
    const pReq = must(
      await c2.client.write<WriteReceipt>("/v1/participants", "participant.admit", {
        role: "platform",
        displayName: "Thief's platform",
        jwks: { keys: [platformKey.publicJwk] },
      }),
      "platform request",
    );
    must(
      await second.write<WriteReceipt>(
        `/v1/participants/${pReq.subjectId}/countersign`,
        "participant.countersign",
        {
          participantId: pReq.subjectId,
          requestRecordId: pReq.recordId,
          action: "admit",
        },
      ),
      "platform countersign",
    );
    expect((await participantRow(pReq.subjectId))?.status).toBe("active");
    const rReq = must(
      await c2.client.write<WriteReceipt>(`/v1/participants/${victim.id}/revoke`, "participant.revoke", {
        participantId: victim.id,
        reason: "a thief's revocation",
      }),
      "revocation request",
    );
    must(
      await coordinator().write<WriteReceipt>(
        `/v1/participants/${victim.id}/countersign`,
        "participant.countersign",
        {
          participantId: victim.id,
          requestRecordId: rReq.recordId,
          action: "revoke",
        },
      ),
      "revocation countersign",
    );
    expect((await participantRow(victim.id))?.status).toBe("revoked");

    const res = must(await retire(c2, k2, c2.key.kid, since), "retire");
    // (1) The fake authority's admission is undone: it is no participant, cannot sign, and what
    // it signed counts for nothing (its submission voided, its concurrence gone from the tally),
    // in the retirement's own batch. The request waits again for a valid second signature.
    expect(await participantRow(fake.id)).toBeNull();
    expect((await fake.client.get("/v1/whoami")).status).toBe(401);
    expect((await row(fakeSub))?.status).toBe("voided");
    expect(JSON.parse((await row(honest))!.concur_states)).not.toContain("FR");
    expect(await requestRow(fakeReq.recordId)).toEqual({ completed_record_id: null, void_reason: null });
    // (2) The platform's request was signed by the stolen key: void, and its admission undone.
    expect(await participantRow(pReq.subjectId)).toBeNull();
    expect((await requestRow(pReq.recordId))?.void_reason).toBeTruthy();
    // (3) The revocation's request is void: the honest authority is active again.
    expect((await participantRow(victim.id))?.status).toBe("active");
    expect((await victim.client.get("/v1/whoami")).status).toBe(200);
    // Each void record is audited, naming the retirement.
    const voided = (await voidedBy(res.recordId)).map((v) => v.record_id);
    expect(voided).toEqual(expect.arrayContaining([vouched.recordId, pReq.recordId, rReq.recordId]));
    // An honest second signature still completes the fake authority's request (it is a request
    // like any other; the coordinators decide).
    const again = await second.write(`/v1/participants/${fake.id}/countersign`, "participant.countersign", {
      participantId: fake.id,
      requestRecordId: fakeReq.recordId,
      action: "admit",
    });
    expect(again.status).toBe(201);
    expect((await participantRow(fake.id))?.status).toBe("active");
    // A void request cannot be countersigned.
    const late = await second.write(
      `/v1/participants/${pReq.subjectId}/countersign`,
      "participant.countersign",
      {
        participantId: pReq.subjectId,
        requestRecordId: pReq.recordId,
        action: "admit",
      },
    );
    expect(late.status).toBe(409);
  });

  it("withdraws the migration signals a platform key signed from that time on", async () => {
    const p = await signalPlatform();
    const k2 = await secondKey(p);
    await publishVersion(1);
    const signal = async () => {
      const res = await p.client.write<{ signalId: string }>("/v1/signals", "signal.create", {
        kind: "account_removed",
        keyVersion: 1,
        selectors: [randomPseudonym(1)],
        reason: { tcoLimb: "b" },
      });
      if (!res.ok) throw new Error(JSON.stringify(res.problem));
      return res.data.signalId;
    };
    const before = await signal();
    await new Promise((res) => setTimeout(res, 1100));
    const since = Math.floor(Date.now() / 1000);
    const after = await signal();
    must(await retire(p, k2, p.key.kid, since), "retire");
    const status = async (id: string) =>
      (await env.DB.prepare("SELECT status FROM signals WHERE id = ?").bind(id).first<{ status: string }>())
        ?.status;
    expect(await status(before)).toBe("active");
    expect(await status(after)).toBe("reversed");
    const reversal = await env.DB.prepare("SELECT actor_id FROM signal_reversals WHERE signal_id = ?")
      .bind(after)
      .first<{ actor_id: string }>();
    expect(reversal?.actor_id).toBe("system");
  });
});
