// A network of EUSN nodes in one workerd test run (docs/federation.md "Tests"): each node is an
// instance of the real app with its own D1 database (NET_1 … NET_9 in vitest.config.ts), node key
// and bootstrap coordinator, and every other node of the network as its peer. Pulls go through a
// relay that a test can cut (a partition) or break in the middle of a page (a restart mid-pull).
// `snapshot()` is a node's derived state, in a canonical form to compare across nodes.
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { EusnClient, generateParticipantKey, type KeyPair } from "@eusn/client";
import type { PeerConfig, PullReport, WriteReceipt } from "@eusn/protocol";
import type { JWK } from "jose";
import { createApp } from "../../workers/api/app.ts";
import { config } from "../../workers/api/config.ts";
import type { Env } from "../../workers/api/env.ts";
import { ensurePeerCoordinators } from "../../workers/api/federation/coordinators.ts";
import { pullPeer } from "../../workers/api/federation/pull.ts";
import { migrate } from "./migrate.ts";

export type NetNode = {
  id: string;
  url: string;
  env: Env;
  coordinatorId: string;
  coordinator: EusnClient;
  /** A participant (same id and key everywhere) talking to this node. */
  as(participantId: string, privateJwk: JWK): EusnClient;
  fetch(input: string, init?: RequestInit): Promise<Response>;
};

export type PullOptions = {
  limit?: number;
  pageSize?: number;
  /** Fail the peer's answers after this many entry pages (a node restarting mid-pull). */
  failAfterPages?: number;
  /** Runs while the peer answers each entries page (before the puller sees the page). */
  duringPage?: () => Promise<void>;
  /** How often the pull renews its single-flight lease, at most (0: before every entry). */
  leaseRenewMs?: number;
  /** The peer goes silent: requests to paths starting with this are never answered. */
  silentOn?: string;
  /** How long the pull waits for one answer of the peer. */
  peerTimeoutMs?: number;
};

export type Network = {
  nodes: NetNode[];
  /** Cuts (or restores) the link from `a` to `b` in both directions. */
  partition(a: number, b: number, cut?: boolean): void;
  /** One pull of node `from`'s log by node `to` (refused as a network error across a cut). */
  pull(to: number, from: number, opts?: PullOptions): Promise<PullReport>;
  /** Pulls every link until a whole round consumes nothing; returns the rounds it took. */
  heal(maxRounds?: number): Promise<number>;
  snapshot(i: number): Promise<Snapshot>;
  /**
   * Signs an authority's admission or revocation on node `node` by that node's coordinator and,
   * as the second signature the registry asks for (REGISTRY_SECOND_SIGNATURE), countersigns it
   * on the same node by the coordinator of the next node (every node knows every peer's
   * coordinator from its configuration). Returns the two receipts.
   */
  admitAuthority(
    node: number,
    record: { memberState: string; displayName: string; jwks: { keys: unknown[] } },
  ): Promise<{ request: WriteReceipt; countersign: WriteReceipt }>;
  revoke(
    node: number,
    participantId: string,
    reason: string,
  ): Promise<{ ok: boolean; request?: WriteReceipt; countersign?: WriteReceipt; problem?: unknown }>;
};

export type Snapshot = {
  records: string[];
  submissions: unknown[];
  assessments: unknown[];
  decisions: unknown[];
  participants: unknown[];
  keys: unknown[];
  baseline: string[];
  /** Admission and revocation requests and the countersignature that completed each. */
  registry: unknown[];
  pending: number;
};

const NODE_IDS = ["eusn-net-a", "eusn-net-b", "eusn-net-c", "eusn-net-d"];

/**
 * `size` nodes on the databases NET_{first} … NET_{first + size - 1}. Each database must be used
 * by one network per test file (storage is isolated per file, not per test).
 */
export async function network(size: number, first = 1): Promise<Network> {
  const app = createApp();
  const made = await Promise.all(
    Array.from({ length: size }, async (_, i) => {
      const db = (env as unknown as Record<string, D1Database>)[`NET_${first + i}`]!;
      await migrate(db);
      return {
        i,
        id: NODE_IDS[i]!,
        url: `https://net-${i}.test`,
        db,
        nodeKey: await generateParticipantKey("EdDSA"),
        coordKey: await generateParticipantKey("EdDSA"),
        coordinatorId: `par_coord${"abcd"[i]}`,
      };
    }),
  );
  const peerOf = (m: (typeof made)[number]): PeerConfig => ({
    nodeId: m.id,
    url: m.url,
    jwk: m.nodeKey.publicJwk,
    coordinators: [{ id: m.coordinatorId, jwks: { keys: [m.coordKey.publicJwk] } }],
  });
  const cut = new Set<string>();
  const nodes: NetNode[] = made.map((m) => {
    const nodeEnv: Env = {
      ...env,
      DB: m.db,
      NODE_ID: m.id,
      NODE_PRIVATE_JWK: JSON.stringify(m.nodeKey.privateJwk),
      BOOTSTRAP_COORDINATOR_ID: m.coordinatorId,
      BOOTSTRAP_COORDINATOR_NAME: `Coordinator of ${m.id}`,
      BOOTSTRAP_COORDINATOR_JWKS: JSON.stringify({ keys: [m.coordKey.publicJwk] }),
      BASELINE_MIN_STATES: "3",
      PEERS: JSON.stringify(made.filter((o) => o !== m).map(peerOf)),
    };
    const fetch = (input: string, init?: RequestInit) =>
      Promise.resolve(app.fetch(new Request(input, init), nodeEnv, createExecutionContext()));
    const as = (participantId: string, privateJwk: JWK) =>
      new EusnClient({ baseUrl: m.url, nodeId: m.id, participantId, privateJwk, fetch });
    return {
      id: m.id,
      url: m.url,
      env: nodeEnv,
      coordinatorId: m.coordinatorId,
      coordinator: as(m.coordinatorId, m.coordKey.privateJwk as JWK),
      as,
      fetch,
    };
  });
  // Each node knows its peers' coordinators from PEERS, as a first pull would make it.
  for (const n of nodes)
    for (const peer of config(n.env).federation.peers) await ensurePeerCoordinators(n.env, peer);
  const other = (node: number) => {
    const m = made[(node + 1) % made.length]!;
    return nodes[node]!.as(m.coordinatorId, m.coordKey.privateJwk as JWK);
  };
  async function countersignOn(
    node: number,
    participantId: string,
    requestRecordId: string,
    action: "admit" | "revoke",
  ) {
    return other(node).write<WriteReceipt>(
      `/v1/participants/${participantId}/countersign`,
      "participant.countersign",
      {
        participantId,
        requestRecordId,
        action,
      },
    );
  }
  const key = (a: number, b: number) => `${Math.min(a, b)}-${Math.max(a, b)}`;
  async function pull(to: number, from: number, opts: PullOptions = {}): Promise<PullReport> {
    let pages = 0;
    return pullPeer(nodes[to]!.env, peerOf(made[from]!), {
      ...(opts.limit ? { limit: opts.limit } : {}),
      ...(opts.pageSize ? { pageSize: opts.pageSize } : {}),
      ...(opts.leaseRenewMs !== undefined ? { leaseRenewMs: opts.leaseRenewMs } : {}),
      ...(opts.peerTimeoutMs !== undefined ? { peerTimeoutMs: opts.peerTimeoutMs } : {}),
      fetch: async (input, init) => {
        if (cut.has(key(to, from))) throw new Error("network partition");
        const url = new URL(input);
        if (url.pathname === "/v1/log/entries" && opts.failAfterPages !== undefined) {
          if (pages++ >= opts.failAfterPages) throw new Error("the peer restarted");
        }
        if (url.pathname === "/v1/log/entries") await opts.duringPage?.();
        if (opts.silentOn && url.pathname.startsWith(opts.silentOn)) {
          // Answers nothing, ever: only the caller's signal ends the wait.
          return new Promise<Response>((_, reject) => {
            const signal = init?.signal;
            if (!signal) return;
            signal.addEventListener("abort", () => reject(signal.reason), { once: true });
          });
        }
        return nodes[from]!.fetch(input, init);
      },
    });
  }
  return {
    nodes,
    async admitAuthority(node, record) {
      const res = await nodes[node]!.coordinator.write<WriteReceipt>(
        "/v1/participants",
        "participant.admit",
        {
          role: "authority",
          ...record,
        },
      );
      if (!res.ok) throw new Error(`admit: ${res.status} ${JSON.stringify(res.problem)}`);
      const done = await countersignOn(node, res.data.subjectId, res.data.recordId, "admit");
      if (!done.ok) throw new Error(`countersign: ${done.status} ${JSON.stringify(done.problem)}`);
      return { request: res.data, countersign: done.data };
    },
    async revoke(node, participantId, reason) {
      const res = await nodes[node]!.coordinator.write<WriteReceipt>(
        `/v1/participants/${participantId}/revoke`,
        "participant.revoke",
        { participantId, reason },
      );
      if (!res.ok) return { ok: false, problem: res.problem };
      const done = await countersignOn(node, participantId, res.data.recordId, "revoke");
      if (!done.ok) return { ok: false, request: res.data, problem: done.problem };
      return { ok: true, request: res.data, countersign: done.data };
    },
    partition(a, b, on = true) {
      if (on) cut.add(key(a, b));
      else cut.delete(key(a, b));
    },
    pull,
    async heal(maxRounds = 30) {
      for (let round = 1; round <= maxRounds; round++) {
        let moved = 0;
        for (let to = 0; to < size; to++) {
          for (let from = 0; from < size; from++) {
            if (to === from) continue;
            const r = await pull(to, from, { limit: 1000 });
            if (r.status !== "ok") throw new Error(`pull ${from} -> ${to}: ${r.status} ${r.reason ?? ""}`);
            moved += r.to - r.from + r.released;
          }
        }
        if (moved === 0) return round;
      }
      throw new Error(`not quiet after ${maxRounds} rounds of pulls`);
    },
    async snapshot(i) {
      const db = nodes[i]!.env.DB;
      const all = async <T>(q: string) => (await db.prepare(q).all<T>()).results;
      const res = await nodes[i]!.coordinator.get<{ entries: { id: string }[] }>("/v1/baseline?limit=5000");
      if (!res.ok) throw new Error(`baseline of node ${i}: ${res.status}`);
      return {
        records: (await all<{ id: string }>("SELECT id FROM records ORDER BY id")).map((r) => r.id),
        submissions: await all(
          `SELECT id, status, baseline_state, concur_states, live_dissents, fb_true, fb_false, fb_not_actioned
             FROM submissions ORDER BY id`,
        ),
        assessments: await all("SELECT id, live, superseded_by FROM assessments ORDER BY id"),
        decisions: await all("SELECT id, action, effective FROM decisions ORDER BY id"),
        participants: await all(
          "SELECT id, role, status, admitted_at, revoked_at FROM participants WHERE id NOT LIKE 'par_coord%' ORDER BY id",
        ),
        keys: await all(
          "SELECT participant_id, kid, status, valid_from, valid_until, compromised_since FROM participant_keys WHERE participant_id NOT LIKE 'par_coord%' ORDER BY kid",
        ),
        baseline: res.data.entries.map((e) => e.id).sort(),
        registry: await all(
          "SELECT request_record_id, action, participant_id, completed_record_id, completed_at, withdrawn_record_id, void_reason FROM registry_requests ORDER BY request_record_id",
        ),
        pending: (await db.prepare("SELECT count(*) AS n FROM federation_pending").first<{ n: number }>())!.n,
      };
    },
  };
}

/** A participant's key pair and id, to sign on whichever node it talks to. */
export type Member = { id: string; key: KeyPair; home: number; memberState?: string; revoked?: boolean };
