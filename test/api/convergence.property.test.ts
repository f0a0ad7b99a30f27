// The convergence property (docs/federation.md "Convergence"): whatever records three nodes
// accept, in whatever order they reach each other, the nodes end in the same state once healed.
// A seeded random run: participants homed on different nodes write to their own node
// (submissions, assessments, coordinator decisions, withdrawals, reversals, revocations, key
// rotations) while links are cut and restored and nodes pull each other at random, in partial
// pulls and pulls that break mid-page. Then every link is healed and the three nodes' records and
// derived state must be identical, with nothing left waiting. CI runs one fixed seed; run more with
// CONVERGENCE_SEED=<n> CONVERGENCE_STEPS=<n> npx vitest run test/api/convergence.property.test.ts.

import { env } from "cloudflare:workers";
import { generateParticipantKey } from "@eusn/client";
import { expect, it } from "vitest";
import { pdqItem, randomPdq, rng } from "../helpers/hashes.ts";
import { type Member, network } from "../helpers/network.ts";

const vars = env as unknown as Record<string, string | undefined>;
const SEED = Number(vars.CONVERGENCE_SEED || 24);
const STEPS = Number(vars.CONVERGENCE_STEPS || 70);

it(`three nodes end identical after random activity, partitions and out-of-order pulls (seed ${SEED}, ${STEPS} steps)`, async () => {
  const net = await network(3, 4);
  const r = rng(SEED);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const links = [
    [0, 1],
    [0, 2],
    [1, 2],
  ] as const;

  const members: Member[] = [];
  const admitOn = async (home: number, memberState: string) => {
    const key = await generateParticipantKey();
    // Signed by the node's coordinator, countersigned there by another node's coordinator.
    const { request } = await net.admitAuthority(home, {
      memberState,
      displayName: `authority ${memberState} on node ${home}`,
      jwks: { keys: [key.publicJwk] },
    });
    members.push({ id: request.subjectId, key, home, memberState });
  };
  for (const [home, ms] of [
    [0, "NL"],
    [0, "BE"],
    [1, "DE"],
    [1, "AT"],
    [2, "FR"],
    [2, "IT"],
  ] as const)
    await admitOn(home, ms);
  await net.heal();

  const submissionsOn = async (node: number) =>
    (
      await net.nodes[node]!.env.DB.prepare("SELECT id, submitter_id FROM submissions").all<{
        id: string;
        submitter_id: string;
      }>()
    ).results;
  const assessmentsOf = async (node: number, id: string) =>
    (
      await net.nodes[node]!.env.DB.prepare(
        "SELECT id FROM assessments WHERE submission_id = ? AND live = 1 AND verdict = 'concur'",
      )
        .bind(id)
        .all<{ id: string }>()
    ).results.map((x) => x.id);
  const active = () => members.filter((m) => !m.revoked);
  const counts: Record<string, number> = {};

  for (let step = 0; step < STEPS; step++) {
    const roll = r();
    const m = pick(active());
    const client = net.nodes[m.home]!.as(m.id, m.key.privateJwk);
    let action: string;
    if (roll < 0.12) {
      action = "partition";
      const [a, b] = pick(links);
      net.partition(a, b, r() < 0.6);
    } else if (roll < 0.3) {
      action = "pull";
      const to = Math.floor(r() * 3);
      const from = (to + 1 + Math.floor(r() * 2)) % 3;
      const broken = r() < 0.2;
      await net.pull(to, from, {
        limit: 1 + Math.floor(r() * 6),
        pageSize: 1 + Math.floor(r() * 3),
        ...(broken ? { failAfterPages: Math.floor(r() * 2) } : {}),
      });
    } else if (roll < 0.45) {
      action = "submit";
      await client.write("/v1/submissions", "submission.create", { items: [pdqItem(randomPdq(r))] });
    } else if (roll < 0.7) {
      action = "assess";
      const subs = (await submissionsOn(m.home)).filter((s) => s.submitter_id !== m.id);
      if (subs.length) {
        const s = pick(subs);
        const verdict = r() < 0.8 ? "concur" : "dissent";
        await client.write(`/v1/submissions/${s.id}/assessments`, "assessment.create", {
          submissionId: s.id,
          verdict,
          limb: "a",
          ...(verdict === "dissent" ? { reason: "not terrorist content" } : {}),
        });
      }
    } else if (roll < 0.86) {
      action = "decide";
      const node = Math.floor(r() * 3);
      const subs = await submissionsOn(node);
      if (subs.length) {
        const s = pick(subs);
        const decision = pick(["include", "include", "exclude", "retire"] as const);
        await net.nodes[node]!.coordinator.write(`/v1/submissions/${s.id}/decisions`, "baseline.decide", {
          submissionId: s.id,
          decision,
          reason: `${decision} (random run)`,
          assessmentIds: decision === "include" ? await assessmentsOf(node, s.id) : [],
        });
      }
    } else if (roll < 0.92) {
      action = "end";
      const subs = (await submissionsOn(m.home)).filter((s) => s.submitter_id === m.id);
      if (subs.length) {
        const s = pick(subs);
        if (r() < 0.5)
          await client.write(`/v1/submissions/${s.id}/withdraw`, "submission.withdraw", {
            submissionId: s.id,
            reason: "withdrawn (random run)",
          });
        else
          await net.nodes[m.home]!.coordinator.write(
            `/v1/submissions/${s.id}/reverse`,
            "submission.reverse",
            {
              submissionId: s.id,
              reason: "reversed (random run)",
              ground: "error",
            },
          );
      }
    } else if (roll < 0.96) {
      action = "rotate";
      const next = await generateParticipantKey();
      const added = await client.write(`/v1/participants/${m.id}/keys`, "participant.key.add", {
        participantId: m.id,
        jwk: next.publicJwk,
      });
      if (added.ok) {
        const old = m.key;
        m.key = next;
        await net.nodes[m.home]!.as(m.id, next.privateJwk).write(
          `/v1/participants/${m.id}/keys/retire`,
          "participant.key.retire",
          { participantId: m.id, kid: old.kid },
        );
      }
    } else {
      action = "revoke";
      if (active().length > 4) {
        const node = Math.floor(r() * 3);
        const target = pick(active());
        // Two signatures on that node: its coordinator's and another node's coordinator's.
        const res = await net.revoke(node, target.id, "revoked (random run)");
        // Revoked where known; the others learn it later and void what it signed after.
        if (res.ok) target.revoked = true;
      }
    }
    counts[action] = (counts[action] ?? 0) + 1;
  }

  for (const [a, b] of links) net.partition(a, b, false);
  await net.heal();
  const [x, y, z] = await Promise.all([0, 1, 2].map((i) => net.snapshot(i)));
  expect(x!.records.length).toBeGreaterThan(10);
  expect(y).toEqual(x);
  expect(z).toEqual(x);
  expect(x!.pending).toBe(0);
  console.log(
    `convergence run: seed ${SEED}, ${STEPS} steps ${JSON.stringify(counts)}, ${x!.records.length} records`,
  );
}, 600_000);
