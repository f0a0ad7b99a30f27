// Crisis incidents across two nodes in one workerd run (test/helpers/two-nodes.ts; docs/incidents.md
// "Federation and clock skew"): an incident and its provisional entries replicate by B's pull of
// A's log and B labels them as A does; B applies the same lapse rules with its own clock — a close
// on A lapses the entry on B in the close's own batch once B's pull brings it, whatever B's clock
// says, and with no close B stops answering the entry 72 h after its submission by its own clock,
// before any cron, then records the lapse with its own job. How far the two clocks may disagree is
// bounded by the pull itself (a peer token must be current by the peer's clock): the test moves the
// clock of each node apart around A's answers.
//
// The in-workerd pair shares one Durable Object namespace, whose match shards read A's database,
// so B's match answers are checked on two real nodes in test/unit/federation-incidents.test.ts;
// here B's judgments are read from B's fast lane, incident view and change feed, which apply the
// same rule (rules/baseline.ts) as its matches.
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { EusnClient } from "@eusn/client";
import type { IncidentHashPage, IncidentView } from "@eusn/protocol";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { pullPeer } from "../../workers/api/federation/pull.ts";
import worker from "../../workers/api/index.ts";
import { closeIncident, declare, freshValue, submitProvisional } from "../helpers/incidents.ts";
import { type Admitted, admit, coordinator } from "../helpers/node.ts";
import { type TwoNodes, twoNodes } from "../helpers/two-nodes.ts";

const HOUR = 3600_000;
let n: TwoNodes;
let nl: Admitted;
let platform: Admitted;
/** The platform (admitted on A) talking to B, with the same id and key. */
let platformOnB: EusnClient;

/** B pulls A until a pull moves nothing; fails on any refusal or skip. */
async function pullAll(pull: () => ReturnType<TwoNodes["pull"]> = () => n.pull()) {
  const seen: unknown[] = [];
  for (let i = 0; i < 10; i++) {
    const report = await pull();
    seen.push(report);
    expect(report.status, JSON.stringify(seen)).toBe("ok");
    expect(report.skipped, JSON.stringify(seen)).toEqual({});
    if (!report.more && report.applied === 0 && report.released === 0) return;
  }
  throw new Error(`B's pull of A does not end: ${JSON.stringify(seen)}`);
}

/**
 * One pull of A by B while B's clock runs `skewMs` ahead of A's (negative: behind): the clock is
 * B's while B signs, verifies and applies, and A's while A answers each request.
 */
function pullSkewed(skewMs: number) {
  vi.useFakeTimers({ toFake: ["Date"] });
  const aNow = Date.now();
  vi.setSystemTime(aNow + skewMs);
  return pullPeer(n.envB, n.peerA, {
    leaseRenewMs: 0,
    fetch: async (input, init) => {
      const bNow = Date.now();
      vi.setSystemTime(bNow - skewMs);
      try {
        return await n.fetchA(String(input), init);
      } finally {
        vi.setSystemTime(bNow);
      }
    },
  });
}

async function feed(on: EusnClient, id: string, after = 0): Promise<IncidentHashPage> {
  const res = await on.get<IncidentHashPage>(`/v1/incidents/${id}/hashes?after=${after}`);
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
  return res.data;
}
async function view(on: EusnClient, id: string): Promise<IncidentView> {
  const res = await on.get<IncidentView>(`/v1/incidents/${id}`);
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
  return res.data;
}
const lapseChanges = async (db: D1Database, id: string) =>
  (
    await db
      .prepare(
        "SELECT record_id FROM submission_changes WHERE submission_id = ? AND change = 'provisional_lapsed'",
      )
      .bind(id)
      .all<{ record_id: string | null }>()
  ).results;

/** B's scheduled job (without pulling: the tests pull themselves). */
async function cronOnB() {
  const ctx = createExecutionContext();
  await worker.scheduled(
    createScheduledController({ cron: "*/15 * * * *", scheduledTime: Date.now() }),
    { ...n.envB, PEERS: "[]" },
    ctx,
  );
  await waitOnExecutionContext(ctx);
}

beforeAll(async () => {
  n = await twoNodes();
  nl = await admit("authority", "NL", { name: "ATKM" });
  platform = await admit("platform");
  await pullAll();
  platformOnB = n.onB(platform.id, platform.key.privateJwk);
}, 60_000);

afterEach(() => {
  vi.useRealTimers();
});

describe("incidents and provisional entries replicate", () => {
  it("B lists the incident and labels its entry exactly as A does, and follows A's close after the pull", async () => {
    const inc = await declare({ title: "Replicated drill" });
    const value = freshValue();
    const [id] = await submitProvisional(nl.client, inc.id, [value]);
    // Not on B before B pulls.
    expect((await platformOnB.get(`/v1/incidents/${inc.id}`)).status).toBe(404);
    await pullAll();
    const onA = await view(platform.client, inc.id);
    const onB = await view(platformOnB, inc.id);
    expect(onB).toEqual({ ...onA, createdAt: onB.createdAt });
    expect(onB.provisional).toEqual({ submitted: 1, active: 1, included: 0, lapsed: 0 });
    // The same line in each fast lane (positions are each node's own): add, with the same label.
    const line = (p: IncidentHashPage) => p.changes.map(({ seq: _s, at: _a, ...rest }) => rest);
    const feedA = await feed(platform.client, inc.id);
    const feedB = await feed(platformOnB, inc.id);
    expect(line(feedB)).toEqual(line(feedA));
    expect(line(feedB)).toEqual([
      {
        op: "add",
        change: "created",
        submissionId: id,
        signalType: "pdq",
        value,
        provisional: { incidentId: inc.id, lapsesAt: inc.endsAt },
      },
    ]);

    // Closed on A: A stops at once; B has not heard and still answers it until its pull.
    const { receipt } = await closeIncident(inc.id);
    expect((await feed(platform.client, inc.id, feedA.next)).changes.map((c) => c.op)).toEqual(["remove"]);
    expect((await feed(platformOnB, inc.id, feedB.next)).changes).toEqual([]);
    expect((await view(platformOnB, inc.id)).status).toBe("active");
    await pullAll();
    const after = await feed(platformOnB, inc.id, feedB.next);
    expect(after.status).toBe("closed");
    expect(after.changes.map((c) => [c.op, c.change, c.submissionId])).toEqual([
      ["remove", "provisional_lapsed", id],
    ]);
    // Recorded on B in the close's own batch, naming the close: exactly as on A.
    expect(await lapseChanges(n.envB.DB, id!)).toEqual([{ record_id: receipt.recordId }]);
    expect(await lapseChanges(env.DB, id!)).toEqual([{ record_id: receipt.recordId }]);
    expect((await view(platformOnB, inc.id)).provisional).toEqual({
      submitted: 1,
      active: 0,
      included: 0,
      lapsed: 1,
    });
  });
});

describe("B applies the lapse rules with its own clock", () => {
  it("72 h after submission, with no close, B stops by its own clock before any job, then its job records it", async () => {
    // Declared for 72 h and extended to 7 days: the entry's own 72 h come first.
    const start = Date.now() - 1000;
    const inc = await declare({ startsAt: start, endsAt: start + 72 * HOUR, title: "A long incident" });
    const ext = await coordinator().write(`/v1/incidents/${inc.id}/extend`, "incident.extend", {
      incidentId: inc.id,
      endsAt: new Date(Date.parse(inc.startsAt) + 7 * 24 * HOUR).toISOString(),
      reason: "copies are still spreading",
    });
    expect(ext.status).toBe(201);
    const [id] = await submitProvisional(nl.client, inc.id, [freshValue()]);
    await pullAll();
    const [line] = (await feed(platformOnB, inc.id)).changes;
    const lapsesAt = Date.parse(line!.provisional!.lapsesAt);
    const created = await n.envB.DB.prepare("SELECT created_at FROM submissions WHERE id = ?")
      .bind(id!)
      .first<{ created_at: string }>();
    // 72 h after the submission's signed time, which B stored as its creation.
    expect(lapsesAt).toBe(Date.parse(created!.created_at) + 72 * HOUR);

    vi.useFakeTimers({ toFake: ["Date"] });
    // A second before, by B's clock: still provisional on B.
    vi.setSystemTime(lapsesAt - 1000);
    expect((await feed(platformOnB, inc.id)).changes.map((c) => c.op)).toEqual(["add"]);
    // A second after: B answers remove and counts it lapsed, with nothing written on either node
    // and nothing from A (no close, no pull, no job yet).
    vi.setSystemTime(lapsesAt + 1000);
    expect((await feed(platformOnB, inc.id)).changes.map((c) => [c.op, c.provisional])).toEqual([
      ["remove", null],
    ]);
    expect((await view(platformOnB, inc.id)).provisional).toMatchObject({ active: 0, lapsed: 1 });
    expect((await view(platformOnB, inc.id)).status).toBe("active");
    expect(await lapseChanges(n.envB.DB, id!)).toEqual([]);
    expect(await lapseChanges(env.DB, id!)).toEqual([]);
    // B's own job records the lapse on B (no record: a lapse by time is no one's record, and
    // nothing replicates it); A records its own with its own job.
    await cronOnB();
    expect(await lapseChanges(n.envB.DB, id!)).toEqual([{ record_id: null }]);
    expect(await lapseChanges(env.DB, id!)).toEqual([]);
    const tail = await feed(platformOnB, inc.id, (await feed(platformOnB, inc.id)).changes[0]!.seq);
    expect(tail.changes.map((c) => [c.op, c.change])).toEqual([["remove", "provisional_lapsed"]]);
    await pullAll();
    expect(await lapseChanges(n.envB.DB, id!)).toEqual([{ record_id: null }]);
  });

  it("a close is applied on B at once whatever B's clock: 60 s slow, the close's time is still ahead of it", async () => {
    const inc = await declare({ title: "Closed under skew" });
    const [id] = await submitProvisional(nl.client, inc.id, [freshValue()]);
    await pullAll();
    const { receipt } = await closeIncident(inc.id);
    const report = await pullSkewed(-60_000);
    expect(report.status).toBe("ok");
    expect(report.applied).toBeGreaterThanOrEqual(1);
    // B's clock is still before the close's signed time, yet the entry lapsed with the close.
    const closedAt = (await view(platformOnB, inc.id)).closedAt!;
    expect(Date.now()).toBeLessThan(Date.parse(closedAt));
    expect(await lapseChanges(n.envB.DB, id!)).toEqual([{ record_id: receipt.recordId }]);
    expect((await feed(platformOnB, inc.id)).changes.map((c) => c.op)).toEqual(["remove", "remove"]);
  });

  it("an incident's end by time: a slow B answers the entry until its own clock reaches the end", async () => {
    const inc = await declare({ endsAt: Date.now() + HOUR, title: "Ends by time" });
    await submitProvisional(nl.client, inc.id, [freshValue()]);
    await pullAll();
    const end = Date.parse(inc.endsAt);
    vi.useFakeTimers({ toFake: ["Date"] });
    // A's clock at the end + 30 s: A stops. B's clock 60 s behind: B still answers for 30 s more.
    vi.setSystemTime(end + 30_000);
    expect((await feed(platform.client, inc.id)).changes.map((c) => c.op)).toEqual(["remove"]);
    vi.setSystemTime(end + 30_000 - 60_000);
    expect((await feed(platformOnB, inc.id)).changes.map((c) => c.op)).toEqual(["add"]);
    vi.setSystemTime(end + 1000);
    expect((await feed(platformOnB, inc.id)).changes.map((c) => c.op)).toEqual(["remove"]);
  });

  it("nodes whose clocks disagree by more than a peer token allows do not replicate at all", async () => {
    const inc = await declare({ title: "Skew beyond the bound" });
    await submitProvisional(nl.client, inc.id, [freshValue()]);
    // B 3 minutes behind: its peer token (120 s) has expired by A's clock; 6 minutes ahead: it is
    // issued more than 5 minutes in A's future. Either way A refuses, and B learns nothing.
    for (const skew of [-180_000, 360_000]) {
      const report = await pullSkewed(skew);
      vi.useRealTimers();
      expect(report.status, `${skew} ms: ${JSON.stringify(report)}`).not.toBe("ok");
      expect(report.applied).toBe(0);
      expect((await platformOnB.get(`/v1/incidents/${inc.id}`)).status).toBe(404);
    }
    // Within the bound (B 90 s behind, 4 minutes ahead) the pull works.
    expect((await pullSkewed(-90_000)).status).toBe("ok");
    vi.useRealTimers();
    expect((await pullSkewed(240_000)).status).toBe("ok");
    vi.useRealTimers();
    expect((await platformOnB.get(`/v1/incidents/${inc.id}`)).status).toBe(200);
  });
});
