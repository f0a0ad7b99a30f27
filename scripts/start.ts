// `npm start`: a working local node with no Cloudflare account and no network access.
//  1. first run: generates the node key and the bootstrap coordinator key into .eusn-demo/
//     (git-ignored) and writes .dev.vars so wrangler hands them to the Worker;
//  2. applies the D1 migrations to the local database (no prompt);
//  3. serves the node with `wrangler dev` on http://localhost:8787;
//  4. seeds the demo network through the real API (signed requests) when it is not there yet.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { generateParticipantKey } from "@eusn/client";
import { type Credential, DEMO_DIR, KEYS_DIR, readJson, writeJson } from "./demo-keys.ts";
import { seedDemoNetwork, seedLargeDemo } from "./seed-content.ts";
import { seedDemoIncident } from "./seed-incident.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const PORT = Number(process.env.PORT ?? 8787);
const BASE = `http://localhost:${PORT}`;
const NODE_ID = "eusn-local";
const COORDINATOR_ID = "par_coordinator";
const env = {
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  // Miniflare's default `request.cf` object instead of fetching Cloudflare's (offline here it
  // failed with an error line at every start); the node reads nothing from it.
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  CI: "true",
  NO_COLOR: process.env.NO_COLOR ?? "",
};

type NodeSecrets = { nodePrivateJwk: Credential["privateJwk"]; coordinatorPublicJwk: unknown };

function log(msg: string) {
  process.stdout.write(`[eusn] ${msg}\n`);
}

async function ensureSecrets(): Promise<Credential> {
  const secretsFile = path.join(DEMO_DIR, "node-secrets.json");
  const coordFile = path.join(KEYS_DIR, "coordinator.json");
  let secrets = readJson<NodeSecrets>(secretsFile);
  let coord = readJson<Credential>(coordFile);
  if (!secrets || !coord) {
    log("first run: generating the node key and the bootstrap coordinator key");
    const nodeKey = await generateParticipantKey("EdDSA");
    const coordKey = await generateParticipantKey("EdDSA");
    secrets = { nodePrivateJwk: nodeKey.privateJwk, coordinatorPublicJwk: coordKey.publicJwk };
    coord = {
      participantId: COORDINATOR_ID,
      role: "coordinator",
      displayName: "EU coordinator (bootstrap)",
      nodeId: NODE_ID,
      baseUrl: BASE,
      privateJwk: coordKey.privateJwk,
    };
    writeJson(secretsFile, secrets);
    writeJson(coordFile, coord);
  }
  if (coord.baseUrl !== BASE) {
    // The port changed (PORT=…): the key files must name the node where it now listens.
    coord = { ...coord, baseUrl: BASE };
    writeJson(coordFile, coord);
  }
  // .dev.vars is how wrangler dev receives secrets locally; it is git-ignored.
  writeFileSync(
    path.join(ROOT, ".dev.vars"),
    [
      `NODE_PRIVATE_JWK='${JSON.stringify(secrets.nodePrivateJwk)}'`,
      `BOOTSTRAP_COORDINATOR_JWKS='${JSON.stringify({ keys: [secrets.coordinatorPublicJwk] })}'`,
      // A local node may push webhooks to receivers on this machine (http://localhost:…); a
      // deployed node refuses private and loopback receivers (docs/webhooks.md).
      "WEBHOOK_ALLOW_PRIVATE='on'",
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  return coord;
}

function applyMigrations() {
  log("applying D1 migrations to the local database");
  const r = spawnSync("npx", ["wrangler", "d1", "migrations", "apply", "DB", "--local"], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
    encoding: "utf8",
  });
  if (r.status !== 0) {
    process.stderr.write(r.stdout + r.stderr);
    throw new Error("applying migrations failed");
  }
  const applied = new Set(r.stdout.match(/\d{4}_[\w-]+\.sql(?=\s+│ ✅)/g) ?? []).size;
  log(
    /No migrations to apply/.test(r.stdout)
      ? "migrations: already up to date"
      : `applied ${applied} migration(s)`,
  );
}

function startWrangler(): ChildProcess {
  log(`starting wrangler dev on ${BASE}`);
  const child = spawn("npx", ["wrangler", "dev", "--port", String(PORT), "--ip", "127.0.0.1"], {
    cwd: ROOT,
    env,
    stdio: ["inherit", "inherit", "inherit"],
  });
  return child;
}

async function waitForHealth(child: ChildProcess, timeoutMs = 90_000) {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with ${child.exitCode}`);
    try {
      const r = await fetch(`${BASE}/health`);
      if (r.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`the node did not answer on ${BASE}/health within ${timeoutMs / 1000}s`);
}

/** `--demo-size small|large` (default small): how much demo content `npm start` seeds. */
function demoSize(): "small" | "large" {
  const args = process.argv.slice(2);
  const i = args.findIndex((a) => a === "--demo-size" || a.startsWith("--demo-size="));
  if (i < 0) return "small";
  const v = args[i]!.includes("=") ? args[i]!.split("=")[1] : args[i + 1];
  if (v !== "small" && v !== "large")
    throw new Error(`--demo-size must be small or large, not ${v ?? "nothing"}`);
  return v;
}

async function seed(coord: Credential) {
  const creds = await seedDemoNetwork({ coordinator: coord, baseUrl: BASE, keysDir: KEYS_DIR, log });
  // `npm start -- --demo-size large`: at least 2,000 entries, for the queues and statistics at size.
  if (demoSize() === "large")
    await seedLargeDemo(
      creds.map((c) => c.cred),
      log,
    );
  // `npm start -- --demo-incident`: a crisis incident with provisional hashes (docs/incidents.md).
  if (process.argv.includes("--demo-incident")) await seedDemoIncident({ creds, log });
  printWelcome(creds);
}

/**
 * What a newcomer needs once the node is up: where the console is, which key file signs in as
 * whom, and three things to try that walk the network's main path (decide, assess, match).
 */
function printWelcome(creds: { slug: string; cred: Credential }[]) {
  const rel = (slug: string) => path.relative(ROOT, path.join(KEYS_DIR, `${slug}.json`));
  const lines = [
    "",
    `Console        ${BASE}/console   (sign in by loading one of the key files below)`,
    `Statistics     ${BASE}/console/stats   (public)`,
    `API reference  ${BASE}/docs   (OpenAPI: ${BASE}/openapi.json)`,
    "",
    "Key files (private keys: git-ignored, readable by you only)",
    ...creds.map(
      ({ slug, cred: c }) =>
        `  ${rel(slug).padEnd(36)} ${c.role.padEnd(11)} ${(c.memberState ?? "").padEnd(2)}  ${c.displayName}`,
    ),
    "",
    "Try next",
    `  1. Open ${BASE}/console, load ${rel("coordinator")} and open the curation queue: entries that`,
    "     reached the quorum wait for your decision; open one, check its signed history, include it.",
    `  2. In a private window, sign in with ${rel("fr-ocrvp")} and concur on an entry awaiting your`,
    "     assessment (the confirmation shows the exact record you sign).",
    `  3. Match from the command line as a platform:`,
    `     npx eusn match --key ${rel("platform-social")} test/fixtures/pdq/expected-synthetic.csv`,
    "",
    "Ctrl-C stops the node; its data stays in .wrangler/ for the next npm start.",
  ];
  for (const l of lines) process.stdout.write(`${l}\n`);
}

async function main() {
  const coord = await ensureSecrets();
  applyMigrations();
  const child = startWrangler();
  const stop = () => {
    if (child.exitCode === null) child.kill("SIGINT");
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  child.on("exit", (code) => process.exit(code ?? 0));
  try {
    await waitForHealth(child);
    await seed(coord);
  } catch (e) {
    process.stderr.write(`[eusn] ${(e as Error).message}\n`);
    stop();
    process.exitCode = 1;
  }
}

await main();
