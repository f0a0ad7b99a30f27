// Two real local nodes for the federation tests in test/unit (`wrangler dev` each, its own D1 and
// its own match shards; scripts/federation/local-net.ts), B listing A as its peer: an authority
// (NL) and a platform admitted on A with the second coordinator's countersignature, known on B
// by B's pulls, so the platform talks to both nodes with the same id and key.
// Both nodes start from a copy of the run's migrated D1, made once by the unit project's global
// setup (test/helpers/local-node-setup.ts), instead of a `wrangler d1 migrations apply` per pair
// (one local D1 start per migration: most of these files' time and CPU). They still bundle the
// Worker themselves: two nodes on the run's one bundled config answered a pull 503 ("worker
// restarted mid-request") in the one run tried.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { type EusnClient, generateParticipantKey } from "@eusn/client";
import type { WriteReceipt } from "@eusn/protocol";
import { expect } from "vitest";
import { LocalNet } from "../../scripts/federation/local-net.ts";
import { secondSignature } from "../../scripts/second-signature.ts";
import { D1_TEMPLATE_ENV, makeMigratedState } from "./local-node.ts";

export const [A, B] = [0, 1] as const;

export type TwoLocalNodes = {
  net: LocalNet;
  /** An authority of member state NL, admitted on A. */
  nl: EusnClient;
  /** One platform, admitted on A, as a client of A and of B. */
  platformOnA: EusnClient;
  platformOnB: EusnClient;
  /** B pulls A until a pull moves nothing; fails on a refusal or a skip. Returns the reports. */
  pullAll(): Promise<string>;
  close(): Promise<void>;
};

/** The run's migrated D1 (global setup), or one made here when run outside the unit project. */
async function migratedState(): Promise<{ state: string; done: () => void }> {
  const shared = process.env[D1_TEMPLATE_ENV];
  if (shared) return { state: shared, done: () => {} };
  const dir = mkdtempSync(path.join(tmpdir(), "eusn-d1-two-"));
  await makeMigratedState(path.join(dir, "state"));
  return { state: path.join(dir, "state"), done: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Admitted on node `on` (with the second coordinator's countersignature); its id and key. */
export async function admit(net: LocalNet, on: number, role: "authority" | "platform", memberState?: string) {
  const node = net.nodes[on]!;
  const key = await generateParticipantKey();
  const res = await node.coordinator.write<WriteReceipt>("/v1/participants", "participant.admit", {
    role,
    ...(memberState ? { memberState } : {}),
    displayName: `${role} on ${node.label}`,
    jwks: { keys: [key.publicJwk] },
  });
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
  await secondSignature(node.coordinator, res.data);
  return { id: res.data.subjectId, key: key.privateJwk };
}

/**
 * Starts nodes A and B (rate limits off), admits the authority and the platform on A and lets B
 * pull them. `name` tells the nodes' ids (eusn-NAME-a, eusn-NAME-b) and temp dirs apart.
 */
export async function startTwoLocalNodes(name: string): Promise<TwoLocalNodes> {
  const net = await LocalNet.create({
    labels: ["A", "B"],
    ids: [`eusn-${name}-a`, `eusn-${name}-b`],
    vars: { RATE_LIMIT_MATCH: "off", RATE_LIMIT_WRITE: "off" },
    prefix: `eusn-${name}-fed-`,
  });
  const { state, done } = await migratedState();
  try {
    await net.start({ timeoutMs: 240_000, state });
  } catch (e) {
    await net.close();
    throw e;
  } finally {
    done();
  }
  const pullAll = async (): Promise<string> => {
    // A record held for what it depends on is released by a later pull.
    const seen: unknown[] = [];
    for (let i = 0; i < 10; i++) {
      const [report] = await net.pull(B, A);
      seen.push(report);
      expect(report?.status, JSON.stringify(seen)).toBe("ok");
      expect(report?.skipped, JSON.stringify(seen)).toEqual({});
      if (!report?.more && report?.applied === 0 && report.released === 0) return JSON.stringify(seen);
    }
    throw new Error(`B's pull of A does not end: ${JSON.stringify(seen)}`);
  };
  const authority = await admit(net, A, "authority", "NL");
  const platform = await admit(net, A, "platform");
  const two: TwoLocalNodes = {
    net,
    nl: net.client(A, authority.id, authority.key),
    platformOnA: net.client(A, platform.id, platform.key),
    platformOnB: net.client(B, platform.id, platform.key),
    pullAll,
    close: () => net.close(),
  };
  await pullAll();
  return two;
}
