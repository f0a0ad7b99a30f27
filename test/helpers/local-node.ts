// Starts a real local node (`wrangler dev`) for tests that need one from outside the Worker
// (the CLI, end-to-end flows): its own temp persistence dir, fresh keys passed through a temp
// env file (the developer's .dev.vars and .eusn-demo are not touched), migrations applied.
import { type ChildProcess, spawn } from "node:child_process";
import {
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  countersign,
  EusnClient,
  generateParticipantKey,
  type PrivateJwk,
  registryRequests,
} from "@eusn/client";
import type { WriteReceipt } from "@eusn/protocol";
import { admitSecondCoordinator, secondSignature } from "../../scripts/second-signature.ts";

const ROOT = path.resolve(import.meta.dirname, "..", "..");
/** The project's own wrangler (4.86.0, pinned for Node 20), run with node: npx costs ~1–2 s a start. */
const WRANGLER = path.join(ROOT, "node_modules/wrangler/bin/wrangler.js");
/** `wrangler dev` without the DevTools inspector unless asked for (the script says why). */
const WRANGLER_DEV = path.join(ROOT, "test/helpers/wrangler-dev.mjs");

type KeyPair = Awaited<ReturnType<typeof generateParticipantKey>>;

/** The keys a node is configured with: its own, and its bootstrap coordinator's. */
export type LocalNodeKeys = { node: KeyPair; coordinator: KeyPair };

export type LocalNode = {
  baseUrl: string;
  nodeId: string;
  coordinator: { participantId: string; privateJwk: PrivateJwk };
  dir: string;
  /** What wrangler dev printed so far (for diagnosing failures). */
  output: () => string;
  /**
   * CPU time (user + system, ms) used so far by the node's processes: workerd (the Worker, its
   * Durable Objects, local D1) and wrangler's own process around it. Linux only (/proc).
   */
  cpuMs: () => { workerd: number; total: number };
  /**
   * The port of workerd's inspector (Chrome DevTools protocol), for CPU profiles
   * (bench/cpu-profile.ts); 0 unless the node was started with `inspector: true`.
   */
  inspectorPort: () => number;
  /** Stops the node and starts it again on the same port and state: a cold start. */
  restart: () => Promise<void>;
  /** The wrangler --persist-to dir (local D1, R2, Durable Objects). */
  persistDir: string;
  /** The keys it was configured with (to start another node from a copy of its state). */
  keys: LocalNodeKeys;
  /** Stops the node and keeps its dir (its state can then be copied; `restart` starts it again). */
  halt: () => Promise<void>;
  /** The process group of wrangler and workerd. */
  processGroup: () => number;
  /**
   * The coordinator that gives admissions their second signature (REGISTRY_SECOND_SIGNATURE), when
   * the node was started with one (the run's shared node); see secondSignatureOn.
   */
  secondCoordinator?: { participantId: string; privateJwk: PrivateJwk };
  stop: () => Promise<void>;
};

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

/**
 * The environment variable naming a state dir that holds a freshly migrated local D1 (made by
 * makeMigratedState): set by the unit project's global setup (test/helpers/local-node-setup.ts), so
 * the migrations are applied once per run and every node starts from a copy.
 */
export const D1_TEMPLATE_ENV = "EUSN_TEST_D1_TEMPLATE";

/** wrangler's environment for a test node: no metrics, no colours, `registry` its own dev registry. */
function wranglerEnv(registry: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    WRANGLER_SEND_METRICS: "false",
    // Miniflare's default `request.cf` (scripts/start.ts says why).
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    CI: "true",
    NO_COLOR: "1",
    WRANGLER_REGISTRY_PATH: registry,
  };
}

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, out }));
  });
}

/**
 * Applies every migration of schema/migrations to an empty local D1 under `persist` (wrangler's
 * --persist-to dir), as `wrangler d1 migrations apply DB --local` does: the same SQL (each
 * migration file followed by its row in d1_migrations, after wrangler's CREATE of that table),
 * split by the same wrangler and run by the same local D1, but through one `wrangler d1 execute`
 * instead of one wrangler D1 start per migration (about 25 of them, some 30 s of CPU a node).
 * `wrangler d1 migrations list DB --local` on the result lists nothing left to apply.
 */
export async function makeMigratedState(persist: string): Promise<void> {
  const migrationsDir = path.join(ROOT, "schema/migrations");
  const names = readdirSync(migrationsDir)
    .filter((f) => f.endsWith(".sql"))
    .sort();
  const sql = [
    `CREATE TABLE IF NOT EXISTS d1_migrations(
\t\tid         INTEGER PRIMARY KEY AUTOINCREMENT,
\t\tname       TEXT UNIQUE,
\t\tapplied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL
);`,
    ...names.map(
      (name) => `${readFileSync(path.join(migrationsDir, name), "utf8")}
INSERT INTO d1_migrations (name) values ('${name}');`,
    ),
  ].join("\n");
  const work = mkdtempSync(path.join(tmpdir(), "eusn-migrate-"));
  try {
    const file = path.join(work, "migrations.sql");
    writeFileSync(file, sql);
    const r = await run(
      [WRANGLER, "d1", "execute", "DB", "--local", "--persist-to", persist, "--file", file],
      wranglerEnv(path.join(work, "dev-registry")),
    );
    if (r.code !== 0) throw new Error(`migrations failed: ${r.out}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * The environment variable naming a wrangler config whose Worker is already bundled (made by
 * bundleWorker): set by the unit project's global setup, so that each node's `wrangler dev`
 * starts workerd on the one bundle instead of bundling the Worker again.
 */
export const WORKER_CONFIG_ENV = "EUSN_TEST_WORKER_CONFIG";

/**
 * Bundles the Worker once into `dir` as a deploy would (`wrangler deploy --dry-run --outdir`)
 * and writes `dir/wrangler.toml`, a copy of the project's config that runs that bundle as it is
 * (`no_bundle`, with the modules emitted beside it, e.g. .wasm) and serves a copy of the static
 * assets; everything else (bindings, vars, migrations) is the project's. Returns its path.
 */
export async function bundleWorker(dir: string): Promise<string> {
  const workerDir = path.join(dir, "worker");
  const r = await run(
    [WRANGLER, "deploy", "--dry-run", "--outdir", workerDir],
    wranglerEnv(path.join(dir, "dev-registry")),
  );
  if (r.code !== 0) throw new Error(`bundling the Worker failed: ${r.out}`);
  cpSync(path.join(ROOT, "workers/console/public"), path.join(dir, "public"), { recursive: true });
  let toml = readFileSync(path.join(ROOT, "wrangler.toml"), "utf8");
  const swaps: [RegExp, string][] = [
    [
      /^main = .*$/m,
      `main = ${JSON.stringify(path.join(workerDir, "index.js"))}\nno_bundle = true\nfind_additional_modules = true`,
    ],
    [/^directory = "workers\/console\/public"$/m, `directory = ${JSON.stringify(path.join(dir, "public"))}`],
    [/^migrations_dir = .*$/m, `migrations_dir = ${JSON.stringify(path.join(ROOT, "schema/migrations"))}`],
  ];
  for (const [re, line] of swaps) {
    if (!re.test(toml))
      throw new Error(`wrangler.toml has no line matching ${re}; update test/helpers/local-node.ts`);
    toml = toml.replace(re, line);
  }
  const config = path.join(dir, "wrangler.toml");
  writeFileSync(config, toml);
  return config;
}

/**
 * The environment variable naming a dir that lives as long as the test run (made by the unit
 * project's global setup), where buildOnce keeps what the run's files share.
 */
export const RUN_DIR_ENV = "EUSN_TEST_RUN_DIR";

const ownBuilds = new Map<string, Promise<string>>();

/**
 * A dir made by `build` once per test run and shared by the run's files (test workers are
 * separate processes): the first caller builds it (into `<name>.tmp`, renamed when complete)
 * while the others wait for it. Outside a vitest run (no RUN_DIR_ENV), once per process.
 */
export async function buildOnce(name: string, build: (dir: string) => Promise<void>): Promise<string> {
  const run = process.env[RUN_DIR_ENV];
  if (!run) {
    let own = ownBuilds.get(name);
    if (!own) {
      own = (async () => {
        const dir = mkdtempSync(path.join(tmpdir(), `eusn-${name}-`));
        process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
        await build(dir);
        return dir;
      })();
      ownBuilds.set(name, own);
    }
    return own;
  }
  const done = path.join(run, name);
  const failed = `${done}.failed`;
  try {
    mkdirSync(`${done}.lock`); // atomic: exactly one caller gets to build
  } catch {
    const deadline = Date.now() + 900_000;
    while (!existsSync(done)) {
      if (existsSync(failed)) throw new Error(`building ${name} failed: ${readFileSync(failed, "utf8")}`);
      if (Date.now() > deadline) throw new Error(`${name} was not built in 15 minutes`);
      await new Promise((r) => setTimeout(r, 200));
    }
    return done;
  }
  const tmp = `${done}.tmp`;
  mkdirSync(tmp);
  try {
    await build(tmp);
    renameSync(tmp, done);
  } catch (e) {
    writeFileSync(failed, e instanceof Error ? (e.stack ?? e.message) : String(e));
    throw e;
  }
  return done;
}

let ownTemplate: Promise<string> | undefined;

/**
 * A migrated state dir to copy: the run's (D1_TEMPLATE_ENV), else one made once per process
 * (benches and scripts that start nodes outside vitest) and removed when the process exits.
 */
function migratedTemplate(): Promise<string> {
  const shared = process.env[D1_TEMPLATE_ENV];
  if (shared) return Promise.resolve(shared);
  ownTemplate ??= (async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "eusn-d1-own-"));
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    await makeMigratedState(path.join(dir, "state"));
    return path.join(dir, "state");
  })();
  return ownTemplate;
}

export async function startLocalNode(
  opts: {
    nodeId?: string;
    vars?: Record<string, string>;
    /** Runs after migrations, before the node starts (e.g. to bulk-load the local D1 file). */
    beforeStart?: (persistDir: string) => Promise<void>;
    /** A persist dir to start from (copied), e.g. another node's after `halt`; default: freshly migrated. */
    state?: string;
    /** The node's and its bootstrap coordinator's keys; default: fresh ones. */
    keys?: LocalNodeKeys;
    /**
     * wrangler's output goes to this file instead of this process, so the node can outlive the
     * process that started it (the run's shared node).
     */
    logFile?: string;
    /**
     * Keeps wrangler's DevTools inspector (for a CPU profile: `inspectorPort`). Without it the node
     * spends far less CPU: test/helpers/wrangler-dev.mjs says why.
     */
    inspector?: boolean;
  } = {},
): Promise<LocalNode> {
  const dir = mkdtempSync(path.join(tmpdir(), "eusn-node-"));
  const nodeId = opts.nodeId ?? "eusn-test-local";
  const keys = opts.keys ?? {
    node: await generateParticipantKey(),
    coordinator: await generateParticipantKey(),
  };
  const nodeKey = keys.node;
  const coord = keys.coordinator;
  const envFile = path.join(dir, "node.env");
  const vars = {
    NODE_ID: nodeId,
    NODE_PRIVATE_JWK: JSON.stringify(nodeKey.privateJwk),
    BOOTSTRAP_COORDINATOR_JWKS: JSON.stringify({ keys: [coord.publicJwk] }),
    ...opts.vars,
  };
  writeFileSync(
    envFile,
    Object.entries(vars)
      .map(([k, v]) => `${k}='${v}'`)
      .join("\n") + "\n",
    { mode: 0o600 },
  );
  // Its own wrangler dev registry: other local nodes of the same Worker name (tests run in
  // parallel, `npm start`) would otherwise rewrite one registry entry and make it reload mid-request.
  const env = wranglerEnv(path.join(dir, "dev-registry"));
  const persist = path.join(dir, "state");
  // The migrated database, copied: the migrations run once per run (or process), not per node.
  cpSync(opts.state ?? (await migratedTemplate()), persist, { recursive: true });
  await opts.beforeStart?.(persist);
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  let child: ChildProcess;
  let log = "";
  const output = () => (opts.logFile ? readFileSync(opts.logFile, "utf8") : log);
  let inspector = 0;
  const launch = async () => {
    if (opts.inspector) inspector = await freePort();
    const logFd = opts.logFile ? openSync(opts.logFile, "a") : undefined;
    child = spawn(
      process.execPath,
      [
        WRANGLER_DEV,
        "--port",
        String(port),
        "--ip",
        "127.0.0.1",
        ...(opts.inspector ? ["--inspector-port", String(inspector)] : []),
        "--persist-to",
        persist,
        "--env-file",
        envFile,
        // The Worker bundled once per run, when the run's global setup made it.
        "--config",
        process.env[WORKER_CONFIG_ENV] ?? path.join(ROOT, "wrangler.toml"),
      ],
      { cwd: ROOT, env, stdio: ["ignore", logFd ?? "pipe", logFd ?? "pipe"], detached: true },
    );
    if (logFd !== undefined) {
      closeSync(logFd);
      child.unref();
    }
    child.stdout?.on("data", (d) => (log += d));
    child.stderr?.on("data", (d) => (log += d));
    const deadline = Date.now() + 90_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`wrangler dev exited: ${output().slice(-2000)}`);
      try {
        if ((await fetch(`${baseUrl}/health`)).ok) break;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) throw new Error(`node did not start: ${output().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 300));
    }
  };
  const kill = async () => {
    if (child.exitCode === null && child.pid) {
      const gone = new Promise((r) => child.once("exit", r));
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        // already gone
      }
      await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
    }
    // Until workerd (same process group) is gone too: its port and its files are then free.
    const deadline = Date.now() + 5000;
    while (child.pid && groupPids(child.pid).length > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
  };
  await launch();
  return {
    baseUrl,
    nodeId,
    coordinator: { participantId: "par_coordinator", privateJwk: coord.privateJwk },
    dir,
    output,
    cpuMs: () => groupCpuMs(child.pid ?? -1),
    inspectorPort: () => inspector,
    restart: async () => {
      await kill();
      await launch();
    },
    persistDir: persist,
    keys,
    halt: kill,
    processGroup: () => child.pid ?? -1,
    stop: async () => {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The vars of the run's shared node: what the files that share it need. */
export const SHARED_NODE_VARS: Record<string, string> = {
  // `eusn webhook` delivers to a receiver in the test process (as `npm start` allows), and
  // retries fast enough to watch.
  WEBHOOK_ALLOW_PRIVATE: "on",
  WEBHOOK_RETRY_BASE_SECONDS: "0.5",
};

type SharedNodeInfo = {
  baseUrl: string;
  nodeId: string;
  dir: string;
  persistDir: string;
  inspector: number;
  pgid: number;
  keys: LocalNodeKeys;
  coordinator: LocalNode["coordinator"];
  secondCoordinator: NonNullable<LocalNode["secondCoordinator"]>;
};

/** Where the run's shared node describes itself (read by the global teardown to stop it). */
export function sharedNodeInfo(runDir: string): SharedNodeInfo | undefined {
  const file = path.join(runDir, "shared-node", "node.json");
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as SharedNodeInfo) : undefined;
}

/**
 * Stops the run's shared node, if a file started it (global teardown), and returns the CPU time
 * its processes used (ms): the files' own CPU figures do not include it, since the node is not a
 * child of their processes by then.
 */
export async function stopSharedNode(runDir: string): Promise<number | undefined> {
  const info = sharedNodeInfo(runDir);
  if (!info) return undefined;
  const cpu = groupCpuMs(info.pgid).total;
  try {
    process.kill(-info.pgid, "SIGKILL"); // its state is thrown away
  } catch {
    // already gone
  }
  const deadline = Date.now() + 5000;
  while (groupPids(info.pgid).length > 0 && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  rmSync(info.dir, { recursive: true, force: true });
  return cpu;
}

/**
 * A node shared by the run's files that need nothing of their own in it (no absolute counts, their
 * own participants, their own entries; SHARED_NODE_VARS): started by the first such file and
 * stopped by the unit project's global teardown, with a second coordinator already admitted
 * (secondSignatureOn). Each caller gets its own `dir`; `stop` removes only that dir, and the node
 * cannot be restarted or halted. Outside a vitest run, a node of the caller's own.
 */
export async function sharedLocalNode(): Promise<LocalNode> {
  const run = process.env[RUN_DIR_ENV];
  if (!run) return startLocalNode({ vars: SHARED_NODE_VARS });
  const log = path.join(run, "shared-node.log");
  await buildOnce("shared-node", async (out) => {
    const node = await startLocalNode({ vars: SHARED_NODE_VARS, logFile: log });
    try {
      // The network's first coordinator is admitted by the bootstrap coordinator alone.
      const bootstrap = new EusnClient({ baseUrl: node.baseUrl, nodeId: node.nodeId, ...node.coordinator });
      const second = await admitSecondCoordinator(bootstrap);
      const info: SharedNodeInfo = {
        baseUrl: node.baseUrl,
        nodeId: node.nodeId,
        dir: node.dir,
        persistDir: node.persistDir,
        inspector: node.inspectorPort(),
        pgid: node.processGroup(),
        keys: node.keys,
        coordinator: node.coordinator,
        secondCoordinator: second,
      };
      writeFileSync(path.join(out, "node.json"), JSON.stringify(info));
    } catch (e) {
      await node.stop();
      throw e;
    }
  });
  const info = sharedNodeInfo(run)!;
  const dir = mkdtempSync(path.join(tmpdir(), "eusn-node-"));
  const refuse = async () => {
    throw new Error("the run's shared node is not one file's to restart or halt: use startLocalNode");
  };
  return {
    baseUrl: info.baseUrl,
    nodeId: info.nodeId,
    coordinator: info.coordinator,
    secondCoordinator: info.secondCoordinator,
    dir,
    output: () => readFileSync(log, "utf8"),
    cpuMs: () => groupCpuMs(info.pgid),
    inspectorPort: () => info.inspector,
    restart: refuse,
    halt: refuse,
    persistDir: info.persistDir,
    keys: info.keys,
    processGroup: () => info.pgid,
    stop: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Countersigns the request `receipt` made (an admission or revocation by `node`'s bootstrap
 * coordinator) as REGISTRY_SECOND_SIGNATURE asks: with the node's second coordinator when it has
 * one (the shared node), else as scripts/second-signature.ts does. Nothing when none is pending.
 */
export async function secondSignatureOn(
  node: LocalNode,
  receipt: Pick<WriteReceipt, "recordId">,
): Promise<void> {
  const bootstrap = new EusnClient({ baseUrl: node.baseUrl, nodeId: node.nodeId, ...node.coordinator });
  if (!node.secondCoordinator) return secondSignature(bootstrap, receipt as WriteReceipt);
  const list = await registryRequests(bootstrap, "pending");
  if (!list.ok) throw new Error(`registry requests: ${JSON.stringify(list.problem)}`);
  const q = list.data.requests.find((x) => x.requestRecordId === receipt.recordId);
  if (!q) return;
  const second = new EusnClient({ baseUrl: node.baseUrl, nodeId: node.nodeId, ...node.secondCoordinator });
  const res = await countersign(second, q);
  if (!res.ok) throw new Error(`countersign: ${JSON.stringify(res.problem)}`);
}

/** The processes of process group `pgid`, from /proc; exited ones not yet reaped (zombies) if asked. */
function groupPids(pgid: number, zombies = false): { name: string; fields: string[] }[] {
  const out: { name: string; fields: string[] }[] = [];
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    // Fields after the parenthesised command name: state ppid pgrp ... utime(14) stime(15).
    const close = stat.lastIndexOf(")");
    const fields = stat.slice(close + 2).split(" ");
    if (Number(fields[2]) !== pgid || (fields[0] === "Z" && !zombies)) continue;
    out.push({ name: stat.slice(stat.indexOf("(") + 1, close), fields });
  }
  return out;
}

/** User + system CPU (ms) of every process in process group `pgid`, and of its workerd ones. */
function groupCpuMs(pgid: number): { workerd: number; total: number } {
  const tick = 1000 / 100; // USER_HZ is 100 on Linux
  let workerd = 0;
  let total = 0;
  for (const { name, fields: f } of groupPids(pgid, true)) {
    const ms = (Number(f[11]) + Number(f[12])) * tick;
    total += ms;
    if (name.startsWith("workerd")) workerd += ms;
  }
  return { workerd, total };
}
