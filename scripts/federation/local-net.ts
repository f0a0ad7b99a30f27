// A network of real local EUSN nodes for the federation demo and bench: each node is a
// `wrangler dev` process on loopback with its own persistence directory, throwaway node and
// coordinator keys and an env file of its own (the developer's .dev.vars and .eusn-demo are never
// read or touched), and lists every other node as a peer through a relay (relay.ts) that the
// script can cut and restore. Nodes can be killed and started again on their persisted state.
import { type ChildProcess, spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { EusnClient, generateParticipantKey, type KeyPair } from "@eusn/client";
import type { PeerConfig, PullReport } from "@eusn/protocol";
import type { JWK } from "jose";
import { Mesh } from "./relay.ts";

const ROOT = path.resolve(import.meta.dirname, "..", "..");
/** The project's own wrangler (pinned for Node 20), run with node. */
const WRANGLER = path.join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js");
const childEnv = {
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  // Miniflare's default `request.cf` (scripts/start.ts says why).
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  CI: "true",
  NO_COLOR: "1",
  // wrangler dev mirrors every response inside workerd to its devtools inspector, which costs CPU
  // that three nodes on a small machine cannot spare and that no deployed Worker spends; this is
  // the variable wrangler reads to leave the inspector off (it takes it for a VS Code debugger).
  VSCODE_INSPECTOR_OPTIONS: process.env.VSCODE_INSPECTOR_OPTIONS ?? "{}",
};

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/**
 * How long one request to a node may take before the script calls it stuck (ms). Generous: a pull
 * that consumes a long backlog on a busy two-core machine has been seen to take minutes.
 */
export const REQUEST_TIMEOUT_MS = Number(process.env.EUSN_REQUEST_TIMEOUT_MS ?? 600_000);

/** Requests sent through timedFetch so far (the bench bounds them). */
export const requests = { count: 0 };

/**
 * fetch with a deadline: a node that stops answering fails the request with the URL in the
 * message instead of hanging the script.
 */
export async function timedFetch(input: string, init: RequestInit = {}): Promise<Response> {
  const started = Date.now();
  requests.count++;
  try {
    return await fetch(input, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  } catch (e) {
    const what = `${init.method ?? "GET"} ${input.replace(/\?.*/, "")}`;
    if ((e as Error).name === "TimeoutError")
      throw new Error(`${what}: no answer within ${REQUEST_TIMEOUT_MS / 1000} s`);
    throw new Error(`${what}: ${(e as Error).message} after ${Date.now() - started} ms`);
  }
}

export type LocalNode = {
  index: number;
  label: string;
  id: string;
  coordinatorId: string;
  port: number;
  inspectorPort: number;
  base: string;
  dir: string;
  envFile: string;
  nodeKey: KeyPair;
  coordKey: KeyPair;
  child?: ChildProcess;
  /** The last lines wrangler printed (for failure messages). */
  log: string[];
  /** Every line the node logged about a failed request (`request … failed: …`), at most 500. */
  failures: string[];
  coordinator: EusnClient;
  starts: number;
};

export type NetOptions = {
  labels: string[];
  ids: string[];
  /** Extra [vars] for every node (BASELINE_MIN_STATES, FEDERATION_PULL_LIMIT, rate limits…). */
  vars?: Record<string, string>;
  /** Directory prefix under the system temp dir. */
  prefix?: string;
};

export class LocalNet {
  readonly tmp: string;
  readonly nodes: LocalNode[];
  readonly mesh: Mesh;

  private constructor(tmp: string, nodes: LocalNode[], mesh: Mesh) {
    this.tmp = tmp;
    this.nodes = nodes;
    this.mesh = mesh;
  }

  /** Keys, ports, relays and env files; nothing runs yet (see `start`). */
  static async create(opts: NetOptions): Promise<LocalNet> {
    const tmp = mkdtempSync(path.join(os.tmpdir(), opts.prefix ?? "eusn-federation-"));
    const nodes: LocalNode[] = [];
    for (const [index, label] of opts.labels.entries()) {
      const port = await freePort();
      const id = opts.ids[index]!;
      const coordinatorId = `par_coord${label.toLowerCase().replace(/[^a-z0-9]/g, "")}`;
      const coordKey = await generateParticipantKey();
      const dir = path.join(tmp, label.toLowerCase());
      nodes.push({
        index,
        label,
        id,
        coordinatorId,
        port,
        inspectorPort: await freePort(),
        base: `http://127.0.0.1:${port}`,
        dir,
        envFile: path.join(dir, "node.env"),
        nodeKey: await generateParticipantKey(),
        coordKey,
        log: [],
        failures: [],
        coordinator: new EusnClient({
          baseUrl: `http://127.0.0.1:${port}`,
          nodeId: id,
          participantId: coordinatorId,
          privateJwk: coordKey.privateJwk,
          fetch: timedFetch,
        }),
        starts: 0,
      });
    }
    const mesh = new Mesh(
      nodes.length,
      nodes.map((n) => n.base),
      nodes.map((n) => n.label),
    );
    await mesh.start();
    const net = new LocalNet(tmp, nodes, mesh);
    for (const n of nodes) net.writeEnvFile(n, opts.vars ?? {});
    return net;
  }

  /** Node `of`'s view of node `peer`: reached through the relay `of` → `peer`. */
  peerConfig(of: LocalNode, peer: LocalNode): PeerConfig {
    return {
      nodeId: peer.id,
      url: this.mesh.relay(of.index, peer.index).url,
      jwk: peer.nodeKey.publicJwk as PeerConfig["jwk"],
      coordinators: [{ id: peer.coordinatorId, jwks: { keys: [peer.coordKey.publicJwk] } }],
    } as PeerConfig;
  }

  private writeEnvFile(n: LocalNode, vars: Record<string, string>) {
    mkdirSync(n.dir, { recursive: true, mode: 0o700 });
    const q = (v: unknown) => `'${typeof v === "string" ? v : JSON.stringify(v)}'`;
    const all: Record<string, unknown> = {
      NODE_ID: n.id,
      NODE_PRIVATE_JWK: n.nodeKey.privateJwk,
      BOOTSTRAP_COORDINATOR_ID: n.coordinatorId,
      BOOTSTRAP_COORDINATOR_NAME: `Coordinator of ${n.id}`,
      BOOTSTRAP_COORDINATOR_JWKS: { keys: [n.coordKey.publicJwk] },
      PEERS: this.nodes.filter((p) => p !== n).map((p) => this.peerConfig(n, p)),
      ...vars,
    };
    writeFileSync(
      n.envFile,
      `${Object.entries(all)
        .map(([k, v]) => `${k}=${q(v)}`)
        .join("\n")}\n`,
      { mode: 0o600 },
    );
  }

  /**
   * Applies the migrations to every node's local D1 and starts them; resolves when all answer.
   * `state`: a migrated, empty persist dir (wrangler's --persist-to) to copy instead of migrating,
   * e.g. the test run's template.
   */
  async start(
    opts: { timeoutMs?: number; progress?: (what: string) => void; state?: string } = {},
  ): Promise<void> {
    const t = Date.now();
    // One `wrangler d1 migrations apply` (several seconds of CPU each) and copies of its result:
    // every node's local D1 starts from the same migrated, empty database.
    const [first, ...rest] = this.nodes;
    const template = opts.state ? path.join(opts.state, "v3") : path.join(first!.dir, "v3");
    if (opts.state) cpSync(template, path.join(first!.dir, "v3"), { recursive: true });
    else await migrate(first!);
    for (const n of rest) cpSync(template, path.join(n.dir, "v3"), { recursive: true });
    opts.progress?.(`migrations applied (${((Date.now() - t) / 1000).toFixed(1)} s)`);
    for (const n of this.nodes) spawnNode(n);
    const deadline = Date.now() + (opts.timeoutMs ?? 300_000);
    await Promise.all(this.nodes.map((n) => waitUp(n, deadline)));
    opts.progress?.(`${this.nodes.length} nodes answer /health (${((Date.now() - t) / 1000).toFixed(1)} s)`);
  }

  /**
   * Kills node `i` (SIGKILL to wrangler and its workerd: a crash, not a shutdown) and starts it
   * again on the same persisted state, port and configuration. Resolves when it answers again.
   */
  async restart(i: number, timeoutMs = 120_000): Promise<void> {
    const n = this.nodes[i]!;
    await kill(n, "SIGKILL");
    spawnNode(n);
    await waitUp(n, Date.now() + timeoutMs);
  }

  client(i: number, participantId: string, privateJwk: JWK): EusnClient {
    const n = this.nodes[i]!;
    return new EusnClient({ baseUrl: n.base, nodeId: n.id, participantId, privateJwk, fetch: timedFetch });
  }

  /** One pull by node `i`'s coordinator (every peer, or one), through POST /v1/federation/pull. */
  async pull(i: number, peer?: number): Promise<PullReport[]> {
    const n = this.nodes[i]!;
    const q = peer === undefined ? "" : `?peer=${encodeURIComponent(this.nodes[peer]!.id)}`;
    const r = await n.coordinator.postJson<{ reports: PullReport[] }>(`/v1/federation/pull${q}`, {});
    if (!r.ok) throw new Error(`pull on ${n.label}: ${r.status} ${r.problem.code} ${r.problem.detail ?? ""}`);
    return r.data.reports;
  }

  /**
   * Pull rounds, each node's coordinator pulling all its peers (the three at once), until a whole
   * round moves nothing: no cursor advanced, nothing held was released, and every pull answered
   * `ok`. Resolves with the rounds it took and what each round moved.
   */
  async heal(
    opts: {
      maxRounds?: number;
      deadline?: number;
      onRound?: (round: number, reports: RoundReport) => void;
    } = {},
  ): Promise<{ rounds: number; moved: number[] }> {
    const moved: number[] = [];
    const maxRounds = opts.maxRounds ?? 50;
    for (let round = 1; round <= maxRounds; round++) {
      if (opts.deadline && Date.now() > opts.deadline) break;
      const reports: RoundReport = await Promise.all(
        this.nodes.map(async (n, i) => ({ node: n.label, reports: await this.pull(i) })),
      );
      let m = 0;
      let allOk = true;
      for (const { reports: rs } of reports)
        for (const r of rs) {
          m += r.to - r.from + r.released;
          if (r.status !== "ok") allOk = false;
        }
      moved.push(m);
      opts.onRound?.(round, reports);
      if (m === 0 && allOk) return { rounds: round, moved };
    }
    throw new Error(
      `the network was not quiet after ${moved.length} rounds of pulls (moved per round: ${moved.join(", ")})`,
    );
  }

  /**
   * What is going on when something hangs: each node's answer to /health and to a D1 read
   * (5 s each), and the requests between nodes that the relays have not seen answered.
   */
  async diagnose(): Promise<string[]> {
    const out: string[] = [];
    const probe = async (url: string, c?: EusnClient) => {
      const t = Date.now();
      try {
        const r = c
          ? await c.get("/v1/log/entries?start=0&limit=1", { signal: AbortSignal.timeout(5000) })
          : await fetch(url, { signal: AbortSignal.timeout(5000) });
        return `${r.status} in ${Date.now() - t} ms`;
      } catch (e) {
        return `${(e as Error).name === "TimeoutError" ? "no answer" : (e as Error).message} after ${Date.now() - t} ms`;
      }
    };
    for (const n of this.nodes) {
      const plain = new EusnClient({
        baseUrl: n.base,
        nodeId: n.id,
        participantId: n.coordinatorId,
        privateJwk: n.coordKey.privateJwk,
      });
      out.push(
        `node ${n.label}: /health ${await probe(`${n.base}/health`)}; a D1 read ${await probe("", plain)}; started ${n.starts} time(s)`,
      );
    }
    for (let a = 0; a < this.nodes.length; a++)
      for (let b = 0; b < this.nodes.length; b++) {
        if (a === b) continue;
        for (const r of this.mesh.relay(a, b).inFlight())
          out.push(
            `${this.nodes[a]!.label} → ${this.nodes[b]!.label}: ${r.method} ${r.path} open for ${(r.ageMs / 1000).toFixed(1)} s, ${r.answered ? "answer started" : "no answer yet"}`,
          );
      }
    return out;
  }

  /** Stops every node and relay and removes the temporary directory. */
  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => kill(n, "SIGTERM")));
    await this.mesh.close();
    rmSync(this.tmp, { recursive: true, force: true });
  }

  /** For exit paths that cannot wait (a timer, a signal): kills everything now. */
  closeNow(): void {
    for (const n of this.nodes) {
      const pid = n.child?.pid;
      if (pid !== undefined && n.child?.exitCode === null) {
        try {
          process.kill(-pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
    rmSync(this.tmp, { recursive: true, force: true });
  }
}

export type RoundReport = { node: string; reports: PullReport[] }[];

function run(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [WRANGLER, ...args], { cwd: ROOT, env: childEnv });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("close", (code) => resolve({ code, out }));
  });
}

async function migrate(n: LocalNode) {
  const r = await run(["d1", "migrations", "apply", "DB", "--local", "--persist-to", n.dir]);
  if (r.code !== 0) throw new Error(`migrations for node ${n.label} failed:\n${r.out}`);
}

function spawnNode(n: LocalNode) {
  n.starts++;
  n.child = spawn(
    process.execPath,
    [
      WRANGLER,
      "dev",
      "--ip",
      "127.0.0.1",
      "--port",
      String(n.port),
      "--inspector-port",
      String(n.inspectorPort),
      "--persist-to",
      n.dir,
      "--env-file",
      n.envFile,
      "--show-interactive-dev-session=false",
    ],
    // Its own process group, so wrangler and the workerd it starts are stopped together. Its own
    // dev registry (wrangler's list of local Workers, by name, that every `wrangler dev` on the
    // machine watches): three nodes of one Worker name, or any other local `eusn` node started
    // meanwhile, would otherwise keep rewriting one entry and make each other reload mid-request.
    {
      cwd: ROOT,
      env: { ...childEnv, WRANGLER_REGISTRY_PATH: path.join(n.dir, "dev-registry") },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    },
  );
  const keep = (b: Buffer) => {
    const lines = b.toString().split("\n");
    for (const l of lines)
      if (/request \S+ failed:/.test(l) && n.failures.length < 500) n.failures.push(l.trim());
    n.log.push(...lines);
    if (n.log.length > 200) n.log.splice(0, n.log.length - 200);
  };
  n.child.stdout?.on("data", keep);
  n.child.stderr?.on("data", keep);
}

async function waitUp(n: LocalNode, deadline: number) {
  while (Date.now() < deadline) {
    if (n.child?.exitCode !== null && n.child?.exitCode !== undefined) {
      throw new Error(`node ${n.label} exited (${n.child.exitCode}):\n${n.log.slice(-30).join("\n")}`);
    }
    try {
      const r = await fetch(`${n.base}/health`);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`node ${n.label} did not come up in time:\n${n.log.slice(-30).join("\n")}`);
}

async function kill(n: LocalNode, signal: NodeJS.Signals) {
  const child = n.child;
  if (!child || child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
  const timer = new Promise<void>((resolve) => setTimeout(resolve, 10_000));
  await Promise.race([exited, timer]);
  if (child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
  }
  // The workerd of the group may outlive wrangler by a moment: wait until the port is free again.
  for (let i = 0; i < 50; i++) {
    if (await portFree(n.port)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}
