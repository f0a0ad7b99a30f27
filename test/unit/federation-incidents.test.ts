// Crisis incidents across two real local nodes (`wrangler dev` each, its own D1 and its own match
// shards; scripts/federation/local-net.ts), B listing A as its peer (docs/incidents.md "Federation
// and clock skew"). An incident declared on A and a provisional entry submitted on A reach B by B's
// pull; B's platform is then answered the entry by B's own shards at once, in scope `baseline`,
// labelled provisional exactly as A labels it, and B counts that provisional match in its own
// report. A's close takes effect on B with the pull that brings it: before it B still answers the
// entry, after it B answers nothing and the platform sees the lapse in B's reversals. The
// in-workerd pair of test/helpers/two-nodes.ts cannot show B's answers (its two apps share match
// shards that read A's database); test/api/federation-incidents.test.ts shows B's clock at work.
import type { EusnClient } from "@eusn/client";
import type {
  IncidentReport,
  IncidentView,
  MatchHit,
  MatchResponse,
  Reversal,
  SubmitResult,
} from "@eusn/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LocalNet } from "../../scripts/federation/local-net.ts";
import { pdqItem, randomPdq, rng } from "../helpers/hashes.ts";
import { A, B, startTwoLocalNodes, type TwoLocalNodes } from "../helpers/two-local-nodes.ts";

const HOUR = 3600_000;
let two: TwoLocalNodes;
let net: LocalNet;
let pullAll: TwoLocalNodes["pullAll"];
let nl: EusnClient;
let platformOnA: EusnClient;
let platformOnB: EusnClient;

async function hits(on: EusnClient, value: string): Promise<MatchHit[]> {
  const res = await on.match({ scope: "baseline", items: [{ type: "pdq", value }] });
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
  return (res.data as MatchResponse).results[0]!.matches;
}

describe("a crisis incident across two nodes", () => {
  beforeAll(async () => {
    // Everyone is admitted on A and known on B by B's pulls: the platform talks to both nodes with
    // the same id and key.
    two = await startTwoLocalNodes("incident");
    ({ net, nl, platformOnA, platformOnB, pullAll } = two);
  }, 300_000);

  afterAll(async () => {
    await two?.close();
  });

  it("B answers the replicated entry labelled provisional, counts it, and stops after the pull that brings A's close", async () => {
    const start = Date.now() - 1000;
    const declared = await net.nodes[A]!.coordinator.write<{ incident: IncidentView }>(
      "/v1/incidents",
      "incident.declare",
      {
        title: "Livestreamed attack across nodes",
        description: "Copies of a livestream are being re-uploaded.",
        requestedBy: ["NL"],
        startsAt: new Date(start).toISOString(),
        endsAt: new Date(start + 24 * HOUR).toISOString(),
        public: false,
      },
    );
    if (!declared.ok) throw new Error(JSON.stringify(declared.problem));
    const inc = declared.data.incident;
    const value = randomPdq(rng(Date.now() % 100_000));
    const sub = await nl.write<SubmitResult>("/v1/submissions", "submission.create", {
      incidentId: inc.id,
      items: [pdqItem(value)],
    });
    if (!sub.ok) throw new Error(JSON.stringify(sub.problem));
    const id = sub.data.submissions[0]!.id;

    // Not on B before B pulls; then answered by B's own shards at once, labelled as on A.
    expect(await hits(platformOnB, value)).toEqual([]);
    await pullAll();
    const [onA] = await hits(platformOnA, value);
    const [onB] = await hits(platformOnB, value);
    expect(onA?.provisional).toEqual({ incidentId: inc.id, lapsesAt: inc.endsAt });
    expect(onB?.submissionId).toBe(id);
    expect(onB?.provisional).toEqual(onA?.provisional);
    expect(onB?.state.inBaseline).toBe(false);
    // Each node counts the provisional matches answered by it (matches are not records).
    const report = async (on: number) => {
      const r = await net.nodes[on]!.coordinator.get<IncidentReport>(`/v1/incidents/${inc.id}/report`);
      if (!r.ok) throw new Error(JSON.stringify(r.problem));
      return r.data.entries.map((e) => [e.submissionId, e.matches, e.platforms]);
    };
    expect(await report(B)).toEqual([[id, 1, 1]]);
    expect(await report(A)).toEqual([[id, 1, 1]]);

    // Closed on A: A stops at once; B has not heard of it and answers until its next pull.
    const closed = await net.nodes[A]!.coordinator.write(`/v1/incidents/${inc.id}/close`, "incident.close", {
      incidentId: inc.id,
      reason: "the spread is contained",
    });
    expect(closed.status).toBe(201);
    expect(await hits(platformOnA, value)).toEqual([]);
    expect((await hits(platformOnB, value)).map((h) => h.provisional?.incidentId)).toEqual([inc.id]);
    await pullAll();
    expect(await hits(platformOnB, value)).toEqual([]);
    const rev = await platformOnB.get<{ reversals: Reversal[] }>("/v1/reversals");
    if (!rev.ok) throw new Error(JSON.stringify(rev.problem));
    expect(rev.data.reversals.filter((r) => r.submissionId === id).map((r) => [r.change, r.reason])).toEqual([
      ["provisional_lapsed", "provisional_lapsed"],
    ]);
    // Two provisional matches on B (before and after the close on A), none after the pull.
    expect(await report(B)).toEqual([[id, 2, 1]]);
  }, 120_000);
});
