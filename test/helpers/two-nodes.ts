// Two EUSN nodes in one workerd test run (docs/federation.md, "Tests"): node A is the Worker
// under test (env.DB, the test coordinator); node B is a second instance of the same app with
// its own D1 database (DB_B, vitest.config.ts), node id, node key and bootstrap coordinator, and
// A configured as its peer. B's puller reaches A through `relay`, a fetch that calls A's app
// directly and can alter what passes through, as an untrusted relay could.
import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { EusnClient, generateParticipantKey, type KeyPair } from "@eusn/client";
import type { PeerConfig, PublicJwk } from "@eusn/protocol";
import type { JWK } from "jose";
import { createApp } from "../../workers/api/app.ts";
import type { Env } from "../../workers/api/env.ts";
import { type PullOptions, pullPeer } from "../../workers/api/federation/pull.ts";
import { migrate } from "./migrate.ts";

export const A_URL = "https://node-a.test";
export const B_URL = "https://node-b.test";
export const B_ID = "eusn-test-b";
export const B_COORDINATOR = "par_coordb";

export type Relay = (url: URL, res: Response) => Promise<Response>;

export type TwoNodes = {
  envA: Env;
  envB: Env;
  /** A as B sees it in PEERS. */
  peerA: PeerConfig;
  nodeKeyB: KeyPair;
  coordKeyB: KeyPair;
  fetchA: (input: string, init?: RequestInit) => Promise<Response>;
  fetchB: (input: string, init?: RequestInit) => Promise<Response>;
  /** B's coordinator, talking to B. */
  coordinatorB: EusnClient;
  /** A participant of A (same id and key) talking to B. */
  onB(participantId: string, privateJwk: JWK): EusnClient;
  /** B as A sees it in PEERS. */
  peerB: PeerConfig;
  /** One pull of A by B, through the relay (optionally altering answers). */
  pull(opts?: PullOptions & { tamper?: Relay }): ReturnType<typeof pullPeer>;
  /** One pull of B by A (federation both ways). */
  pullOnA(opts?: PullOptions): ReturnType<typeof pullPeer>;
  /** Row count of a table on B. */
  countB(table: string, where?: string): Promise<number>;
};

export async function twoNodes(): Promise<TwoNodes> {
  const dbB = (env as unknown as { DB_B: D1Database }).DB_B;
  await migrate(dbB);
  const nodeKeyB = await generateParticipantKey("EdDSA");
  const coordKeyB = await generateParticipantKey("EdDSA");
  const app = createApp();
  const nodeKeyA = (
    (await (
      await app.fetch(new Request(`${A_URL}/.well-known/jwks.json`), env, createExecutionContext())
    ).json()) as {
      keys: PublicJwk[];
    }
  ).keys[0]!;
  const peerB: PeerConfig = {
    nodeId: B_ID,
    url: B_URL,
    jwk: nodeKeyB.publicJwk,
    coordinators: [{ id: B_COORDINATOR, jwks: { keys: [coordKeyB.publicJwk] } }],
  };
  const envA: Env = { ...env, PEERS: JSON.stringify([peerB]) };
  const peerA: PeerConfig = {
    nodeId: env.NODE_ID,
    url: A_URL,
    jwk: nodeKeyA,
    coordinators: [{ id: env.BOOTSTRAP_COORDINATOR_ID, jwks: JSON.parse(env.BOOTSTRAP_COORDINATOR_JWKS) }],
  };
  const envB: Env = {
    ...env,
    DB: dbB,
    NODE_ID: B_ID,
    NODE_PRIVATE_JWK: JSON.stringify(nodeKeyB.privateJwk),
    BOOTSTRAP_COORDINATOR_ID: B_COORDINATOR,
    BOOTSTRAP_COORDINATOR_NAME: "Coordinator of node B",
    BOOTSTRAP_COORDINATOR_JWKS: JSON.stringify({ keys: [coordKeyB.publicJwk] }),
    PEERS: JSON.stringify([peerA]),
  };
  const fetchA = (input: string, init?: RequestInit) =>
    Promise.resolve(app.fetch(new Request(input, init), envA, createExecutionContext()));
  const fetchB = (input: string, init?: RequestInit) =>
    Promise.resolve(app.fetch(new Request(input, init), envB, createExecutionContext()));
  const onB = (participantId: string, privateJwk: JWK) =>
    new EusnClient({ baseUrl: B_URL, nodeId: B_ID, participantId, privateJwk, fetch: fetchB });
  return {
    envA,
    envB,
    peerA,
    nodeKeyB,
    coordKeyB,
    fetchA,
    fetchB,
    coordinatorB: onB(B_COORDINATOR, coordKeyB.privateJwk),
    onB,
    peerB,
    pullOnA(opts = {}) {
      return pullPeer(envA, peerB, { ...opts, fetch: fetchB });
    },
    pull(opts = {}) {
      const { tamper, ...rest } = opts;
      return pullPeer(envB, peerA, {
        ...rest,
        fetch: async (input, init) => {
          const url = new URL(input);
          if (url.origin !== A_URL) throw new Error(`the relay only knows ${A_URL}, not ${url.origin}`);
          const res = await fetchA(input, init);
          return tamper ? tamper(url, res) : res;
        },
      });
    },
    async countB(table, where) {
      const row = await dbB
        .prepare(`SELECT count(*) AS n FROM ${table}${where ? ` WHERE ${where}` : ""}`)
        .first<{ n: number }>();
      return row?.n ?? 0;
    },
  };
}

/** A relay that rewrites the JSON of the answers to one path. */
export function rewriteJson(path: string, edit: (body: unknown, url: URL) => unknown): Relay {
  return async (url, res) => {
    if (url.pathname !== path || !res.ok) return res;
    const body = await res.json();
    return new Response(JSON.stringify(edit(body, url)), { status: res.status, headers: res.headers });
  };
}
