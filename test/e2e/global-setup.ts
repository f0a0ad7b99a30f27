// Global setup of the `e2e` vitest project: a real local node and a real headless Chromium.
//  1. builds the console bundle (scripts/build-console.ts);
//  2. makes a temp dir with fresh keys (node key, bootstrap coordinator) and an env file for
//     `wrangler dev --env-file` (the developer's .dev.vars is neither read nor touched), and
//     starts a webhook receiver (test/helpers/webhook-receiver.ts) on a free port, the one
//     private target the node may deliver to;
//  3. bundles the Worker once (`wrangler deploy --dry-run --outdir`) and copies the static assets
//     into the temp dir, with a copy of wrangler.toml pointing at them (`no_bundle`): the node
//     under test is a snapshot, so edits elsewhere in the checkout cannot reload it mid-run.
//     axe-core goes beside them (AXE_ASSET), for the tests' accessibility checks to load as any
//     script of the page (browser.ts);
//  4. applies the D1 migrations into a fresh `--persist-to` dir (one `wrangler d1 execute`, as the
//     unit tests' nodes do: test/helpers/local-node.ts) and starts `wrangler dev` on a free port,
//     without its DevTools inspector (test/helpers/wrangler-dev.mjs), logging to
//     test-artifacts/e2e/wrangler.log;
//  5. admits three authorities (NL, DE, FR) and two platforms through the signed API and writes
//     their key files (the format `npm start` writes) for the tests to sign in with; registers
//     the platforms' key-wrapping keys, publishes a selector key and has "Demo Video" share a
//     migration signal naming "Demo Social" as target (for the signal-lookup page);
//     registers the authorities' key-wrapping keys and attaches NL's case file (evidence-setup.ts);
//  6. grows the network to LARGE_ENTRIES entries with `npm start -- --demo-size large`'s seeding
//     (scripts/seed-content.ts: 1,000 hashes per signed submission, batched assessments and
//     inclusions);
// and, from the start, Chromium (Debian's /usr/bin/chromium, via playwright-core) as a browser
// server; and undoes all of it at teardown. Without Chromium the tests are skipped with a
// message, or fail when CI is set.
// Steps 1–6 take 20–30 s, mostly waiting on wrangler, so they run in the background while the
// other files' tests run: setup returns at once, having provided the node's URL, the key dir
// and the paths of two files it writes: one when the node (steps 1–5) and the browser are ready,
// the other when step 6 is done, each with the error that stopped them if one did (`ready()` and
// `largeReady()` in browser.ts wait for them). Only large.test.ts needs the large network: the
// other files start on the node as soon as step 5 is done, while step 6 writes beside them.
import { type ChildProcess, spawn } from "node:child_process";
import {
  cpSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import {
  EusnClient,
  generateEncKeyPair,
  generateParticipantKey,
  generateSelectorKey,
  openSelectorKeys,
  pseudonymise,
  publishSelectorKey,
  setEncKey,
  submitSignal,
} from "@eusn/client";
import type { WriteReceipt } from "@eusn/protocol";
import { type BrowserServer, chromium } from "playwright-core";
import type { TestProject } from "vitest/node";
import { buildConsole } from "../../scripts/build-console.ts";
import type { Credential } from "../../scripts/demo-keys.ts";
import { seedLargeDemo } from "../../scripts/seed-content.ts";
import { makeMigratedState } from "../helpers/local-node.ts";
import { startReceiver } from "../helpers/webhook-receiver.ts";
import { seedEvidence } from "./evidence-setup.ts";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** The flags a closed-network machine needs (.library/env/machines/node.md). */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const ROOT = path.resolve(import.meta.dirname, "../..");
/**
 * axe-core, served by the node under test (its snapshot of the static assets only, never the
 * repository's) from the console's own origin: the strict CSP lets the page load it as a script,
 * and Chromium fetches and compiles it once per tab instead of receiving 550 KB over the
 * DevTools protocol for every check.
 */
export const AXE_ASSET = "/console/assets/e2e-axe.min.js";
export const ARTIFACTS = path.join(ROOT, "test-artifacts/e2e");
const NODE_ID = "eusn-local";
/** Entries on the node before the tests start (the large demo network's size). */
export const LARGE_ENTRIES = 2000;
const COORDINATOR_ID = "par_coordinator";

declare module "vitest" {
  export interface ProvidedContext {
    e2eSkip: string;
    e2eBaseUrl: string;
    e2eKeysDir: string;
    /** Written by setup when steps 1–5 are done and Chromium is up: `{ wsEndpoint }`, or `{ error }`. */
    e2eReadyFile: string;
    /** Written by setup when step 6 (the large network) is done too: `{ wsEndpoint }`, or `{ error }`. */
    e2eLargeReadyFile: string;
    /** The webhook receiver the node may deliver to (test/helpers/webhook-receiver.ts). */
    e2eReceiver: string;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

// CLOUDFLARE_CF_FETCH_ENABLED: Miniflare's default `request.cf` (scripts/start.ts says why).
const env = {
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  CI: "true",
  NO_COLOR: "1",
};
/** The project's own wrangler (4.86.0, pinned for Node 20), without npx's start-up cost. */
const WRANGLER = path.join(ROOT, "node_modules/wrangler/bin/wrangler.js");
/** `wrangler dev` without the DevTools inspector (the script says why). */
const WRANGLER_DEV = path.join(ROOT, "test/helpers/wrangler-dev.mjs");

/** Runs a wrangler command to completion; rejects with its output when it fails. */
function run(args: string[], what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRANGLER, ...args], {
      cwd: ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (b) => (out += b));
    child.stderr.on("data", (b) => (out += b));
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`${what} failed (${code}):\n${out}`)),
    );
  });
}

export default async function setup(project: TestProject) {
  project.provide("e2eSkip", "");
  if (!existsSync(CHROMIUM)) {
    const msg = `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium) to run the console e2e tests`;
    if (process.env.CI) throw new Error(msg);
    process.stderr.write(`\n[e2e] SKIPPED: ${msg}\n\n`);
    project.provide("e2eSkip", msg);
    return;
  }
  // Fresh artifacts each run: screenshots of this run only, and its wrangler log.
  rmSync(ARTIFACTS, { recursive: true, force: true });
  mkdirSync(ARTIFACTS, { recursive: true });
  const tmp = mkdtempSync(path.join(os.tmpdir(), "eusn-e2e-"));
  const keysDir = path.join(tmp, "keys");
  mkdirSync(keysDir, { mode: 0o700 });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const readyFile = path.join(tmp, "ready.json");
  const largeReadyFile = path.join(tmp, "large-ready.json");
  // A real HTTP receiver for webhook deliveries, the one private target the node may deliver to.
  const receiver = await startReceiver(0);
  project.provide("e2eReceiver", `http://127.0.0.1:${receiver.port}`);
  project.provide("e2eBaseUrl", base);
  project.provide("e2eKeysDir", keysDir);
  project.provide("e2eReadyFile", readyFile);
  project.provide("e2eLargeReadyFile", largeReadyFile);

  const started: Started = {};
  /** Stops Chromium and wrangler's process group (and only them). */
  const stop = async () => {
    await (await started.browser?.catch(() => undefined))?.close().catch(() => {});
    const wrangler = started.wrangler;
    if (wrangler?.pid && wrangler.exitCode === null) {
      try {
        process.kill(-wrangler.pid, "SIGTERM");
      } catch {
        // already gone
      }
      await new Promise((r) => setTimeout(r, 300));
      try {
        process.kill(-wrangler.pid, "SIGKILL");
      } catch {
        // gone
      }
    }
  };
  // Written whole under another name, then renamed: a reader never sees half a file.
  const announce = (file: string, value: { wsEndpoint: string } | { error: string }) => {
    writeFileSync(`${file}.part`, JSON.stringify(value));
    renameSync(`${file}.part`, file);
  };
  const preparing = prepare({
    tmp,
    keysDir,
    port,
    base,
    started,
    receiver: receiver.port,
    onReady: (wsEndpoint) => announce(readyFile, { wsEndpoint }),
  }).then(
    (wsEndpoint) => announce(largeReadyFile, { wsEndpoint }),
    async (e: unknown) => {
      const error = e instanceof Error ? (e.stack ?? e.message) : String(e);
      process.stderr.write(`[e2e] setup failed: ${error}\n`);
      announce(largeReadyFile, { error });
      // A failure in step 6 fails large.test.ts only: the other files may be running on the node,
      // which teardown stops.
      if (!existsSync(readyFile)) {
        announce(readyFile, { error });
        await stop();
      }
    },
  );
  return async () => {
    await preparing;
    await stop();
    await receiver();
    rmSync(tmp, { recursive: true, force: true });
  };
}

type Started = { wrangler?: ChildProcess; browser?: Promise<BrowserServer> };

/**
 * Steps 1–6; calls `onReady` with Chromium's WebSocket endpoint when steps 1–5 are done, and
 * returns it when step 6 is done too. Puts what it starts in `started`.
 */
async function prepare(opts: {
  tmp: string;
  keysDir: string;
  port: number;
  base: string;
  started: Started;
  receiver: number;
  onReady: (wsEndpoint: string) => void;
}): Promise<string> {
  const { tmp, keysDir, port, base, started, receiver } = opts;
  const t0 = Date.now();
  // Chromium needs nothing of the node: it starts beside the build.
  const browser = chromium.launchServer({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  started.browser = browser;
  browser.catch(() => {}); // awaited below: a failed launch fails setup there
  // The console bundle (static assets, copied below) is built while the Worker is bundled and
  // the D1 migrated: none of the three needs another's output.
  const building = buildConsole({ quiet: true });
  const timings: string[] = [];
  const state = path.join(tmp, "state");

  const nodeKey = await generateParticipantKey("EdDSA");
  const coordKey = await generateParticipantKey("EdDSA");
  const envFile = path.join(tmp, "e2e.env");
  writeFileSync(
    envFile,
    [
      `NODE_PRIVATE_JWK='${JSON.stringify(nodeKey.privateJwk)}'`,
      `BOOTSTRAP_COORDINATOR_JWKS='${JSON.stringify({ keys: [coordKey.publicJwk] })}'`,
      // Webhooks: the receiver is the one private target allowed; a failed delivery is retried
      // after 2 s, then 4 s, 8 s (slow enough to see a delivery pending in the page), 4 attempts.
      `WEBHOOK_ALLOW_PRIVATE=127.0.0.1:${receiver}`,
      "WEBHOOK_RETRY_BASE_SECONDS=2",
      "WEBHOOK_MAX_ATTEMPTS=4",
      "",
    ].join("\n"),
    { mode: 0o600 },
  );

  const workerDir = path.join(tmp, "worker");
  const bundling = run(["deploy", "--dry-run", "--outdir", workerDir], "bundling the Worker");
  // One local D1 start for all migrations (test/helpers/local-node.ts: the same SQL and
  // d1_migrations rows as `wrangler d1 migrations apply`, which starts a local D1 per migration).
  const migrating = makeMigratedState(state);
  const built = await building;
  cpSync(path.join(ROOT, "workers/console/public"), path.join(tmp, "public"), { recursive: true });
  cpSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), path.join(tmp, "public", AXE_ASSET));
  const config = path.join(tmp, "wrangler.toml");
  let toml = readFileSync(path.join(ROOT, "wrangler.toml"), "utf8");
  const swaps: [RegExp, string][] = [
    // The dry-run output is the whole Worker: index.js plus any module it emitted beside it
    // (e.g. a .wasm file), which `find_additional_modules` picks up by wrangler's default rules.
    [
      /^main = .*$/m,
      `main = ${JSON.stringify(path.join(workerDir, "index.js"))}\nno_bundle = true\nfind_additional_modules = true`,
    ],
    [/^directory = "workers\/console\/public"$/m, `directory = ${JSON.stringify(path.join(tmp, "public"))}`],
    [/^migrations_dir = .*$/m, `migrations_dir = ${JSON.stringify(path.join(ROOT, "schema/migrations"))}`],
  ];
  for (const [re, line] of swaps) {
    if (!re.test(toml))
      throw new Error(`wrangler.toml has no line matching ${re}; update test/e2e/global-setup.ts`);
    toml = toml.replace(re, line);
  }
  writeFileSync(config, toml);
  await Promise.all([bundling, migrating]);
  timings.push(`bundle + migrations ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const log = createWriteStream(path.join(ARTIFACTS, "wrangler.log"));
  // wrangler dev without its DevTools inspector (test/helpers/wrangler-dev.mjs says why), in its
  // own process group, so teardown can stop wrangler and workerd together (and only them).
  const wrangler: ChildProcess = spawn(
    process.execPath,
    [
      WRANGLER_DEV,
      "--config",
      config,
      "--port",
      String(port),
      "--ip",
      "127.0.0.1",
      "--persist-to",
      state,
      "--env-file",
      envFile,
    ],
    { cwd: ROOT, env, detached: true, stdio: ["ignore", "pipe", "pipe"] },
  );
  started.wrangler = wrangler;
  wrangler.stdout?.pipe(log);
  wrangler.stderr?.pipe(log);

  const deadline = Date.now() + 90_000;
  for (;;) {
    if (wrangler.exitCode !== null)
      throw new Error(`wrangler dev exited (${wrangler.exitCode}); see ${ARTIFACTS}/wrangler.log`);
    try {
      if ((await fetch(`${base}/health`)).ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error("wrangler dev did not come up in 90 s");
    await new Promise((r) => setTimeout(r, 300));
  }
  timings.push(`node up ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const credential = (
    participantId: string,
    role: string,
    displayName: string,
    privateJwk: unknown,
    memberState?: string,
  ) => ({
    participantId,
    role,
    ...(memberState ? { memberState } : {}),
    displayName,
    nodeId: NODE_ID,
    baseUrl: base,
    privateJwk,
  });
  const write = (slug: string, cred: unknown) =>
    writeFileSync(path.join(keysDir, `${slug}.json`), `${JSON.stringify(cred, null, 2)}\n`, {
      mode: 0o600,
    });
  write(
    "coordinator",
    credential(COORDINATOR_ID, "coordinator", "EU coordinator (bootstrap)", coordKey.privateJwk),
  );
  const coordinator = new EusnClient({
    baseUrl: base,
    nodeId: NODE_ID,
    participantId: COORDINATOR_ID,
    privateJwk: coordKey.privateJwk,
  });
  // The network's first admitted coordinator, admitted by the bootstrap coordinator alone (the
  // founding admission); it gives every other admission its second signature, here and in the
  // console's tests.
  const secondKey = await generateParticipantKey();
  const founded = await coordinator.write<WriteReceipt>("/v1/participants", "participant.admit", {
    role: "coordinator",
    displayName: "EU coordinator (second signature)",
    jwks: { keys: [secondKey.publicJwk] },
  });
  if (!founded.ok) throw new Error(`admitting coordinator-2: ${JSON.stringify(founded.problem)}`);
  write(
    "coordinator-2",
    credential(
      founded.data.subjectId,
      "coordinator",
      "EU coordinator (second signature)",
      secondKey.privateJwk,
    ),
  );
  const second = new EusnClient({
    baseUrl: base,
    nodeId: NODE_ID,
    participantId: founded.data.subjectId,
    privateJwk: secondKey.privateJwk,
  });
  const demo = [
    { slug: "nl", role: "authority", memberState: "NL", name: "ATKM (NL competent authority)" },
    { slug: "de", role: "authority", memberState: "DE", name: "Bundeskriminalamt (DE)" },
    { slug: "fr", role: "authority", memberState: "FR", name: "PHAROS (FR)" },
    { slug: "platform", role: "platform", name: "Demo Social" },
    { slug: "video", role: "platform", name: "Demo Video" },
  ] as const;
  const clients: Record<string, EusnClient> = {};
  for (const p of demo) {
    const key = await generateParticipantKey();
    const res = await coordinator.write<WriteReceipt>("/v1/participants", "participant.admit", {
      role: p.role,
      ...("memberState" in p ? { memberState: p.memberState } : {}),
      displayName: p.name,
      jwks: { keys: [key.publicJwk] },
    });
    if (!res.ok) throw new Error(`admitting ${p.slug}: ${JSON.stringify(res.problem)}`);
    const done = await second.write<WriteReceipt>(
      `/v1/participants/${res.data.subjectId}/countersign`,
      "participant.countersign",
      { participantId: res.data.subjectId, requestRecordId: res.data.recordId, action: "admit" },
    );
    if (!done.ok) throw new Error(`countersigning ${p.slug}: ${JSON.stringify(done.problem)}`);
    write(
      p.slug,
      credential(
        res.data.subjectId,
        p.role,
        p.name,
        key.privateJwk,
        "memberState" in p ? p.memberState : undefined,
      ),
    );
    clients[p.slug] = new EusnClient({
      baseUrl: base,
      nodeId: NODE_ID,
      participantId: res.data.subjectId,
      privateJwk: key.privateJwk,
    });
  }
  await seedSignal(coordinator, clients.platform!, clients.video!, (slug, v) => write(slug, v));
  // Case files: the authorities' key-wrapping keys and NL's case file (test/e2e/evidence-setup.ts).
  await seedEvidence(clients, (slug, v) => write(slug, v));

  const wsEndpoint = (await browser).wsEndpoint();
  timings.push(`node seeded and Chromium up ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  opts.onReady(wsEndpoint);

  // The large network (npm start -- --demo-size large's seeding, scripts/seed-content.ts): at
  // least LARGE_ENTRIES entries by NL, DE and FR, 300 concurred by DE and FR, 200 included;
  // the other files' tests run meanwhile.
  const seeding = Date.now();
  await seedLargeDemo(
    ["coordinator", "nl", "de", "fr"].map(
      (slug) => JSON.parse(readFileSync(path.join(keysDir, `${slug}.json`), "utf8")) as Credential,
    ),
    (msg) => timings.push(msg),
    LARGE_ENTRIES,
  );
  timings.push(`large network seeded in ${((Date.now() - seeding) / 1000).toFixed(1)} s`);
  process.stderr.write(
    `[e2e] node ${base} (bundle ${(built.bytes / 1024).toFixed(0)} KiB), Chromium ${CHROMIUM}, ready in ${((Date.now() - t0) / 1000).toFixed(1)} s (${timings.join(", ")})\n`,
  );
  return wsEndpoint;
}

export const SIGNAL_HANDLE = "@Attacker_01";
export const SIGNAL_OUT_LINK = "https://t.me/attackerchannel";

/** Selector-key plumbing and one signal, as platforms and the coordinator do it with the CLI. */
async function seedSignal(
  coordinator: EusnClient,
  social: EusnClient,
  video: EusnClient,
  write: (slug: string, value: unknown) => void,
) {
  const must = <T>(r: { ok: true; data: T } | { ok: false; problem: unknown }, what: string): T => {
    if (!r.ok) throw new Error(`${what}: ${JSON.stringify(r.problem)}`);
    return r.data;
  };
  const socialEnc = await generateEncKeyPair();
  const videoEnc = await generateEncKeyPair();
  must(await setEncKey(social, socialEnc.publicJwk), "social enc key");
  must(await setEncKey(video, videoEnc.publicJwk), "video enc key");
  write("platform-enc", socialEnc.privateJwk);
  const now = Math.floor(Date.now() / 1000);
  must(
    await publishSelectorKey(
      coordinator,
      { version: 1, key: generateSelectorKey() },
      { validFrom: now - 60, validUntil: now + 200 * 86400 },
    ),
    "publishing selector key v1",
  );
  const opened = await openSelectorKeys(video, videoEnc.privateJwk);
  const key = opened.keys.find((k) => k.version === 1)!;
  const p = await pseudonymise(key, "handle", SIGNAL_HANDLE);
  if (!p.ok) throw new Error(p.reason);
  must(
    await submitSignal(video, {
      kind: "account_removed",
      keyVersion: 1,
      selectors: [p.pseudonym],
      outLinks: [SIGNAL_OUT_LINK],
      targetPlatformId: social.participantId,
      reason: { tcoLimb: "c" },
    }),
    "submitting a signal",
  );
}
