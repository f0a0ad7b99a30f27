// Two test projects: `workers` runs the real Worker inside workerd with real (local) D1;
// `unit` runs the binding-free packages (PDQ, match index, Merkle log, client, CLI) in Node.
// A third, `e2e`, drives the web console in headless Chromium against a `wrangler dev` node that
// its global setup starts (test/e2e/global-setup.ts; docs/console.md).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { availableParallelism } from "node:os";
import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig, type ViteUserConfig } from "vitest/config";
import { makeTestKeys } from "./test/helpers/keys-node.ts";

// Every workers test file gets a fresh workerd (that is what isolates its storage), which then
// fetches the Worker's whole module graph from Vite one module at a time: about 390 modules, 300
// of them from these packages. Pre-bundled, they are a dozen, which saves about a second per
// file. Every entry point the code imports is listed, so each package is one copy (bundles share
// chunks); hono stays unbundled because the JSX transform imports its runtime by file path,
// which would make a second copy beside a bundled one.
const PREBUNDLED = [
  "zod",
  "@hono/zod-openapi",
  "drizzle-orm",
  "drizzle-orm/batch",
  "drizzle-orm/d1",
  "drizzle-orm/sqlite-core",
  "jose",
];
/** A file of a pre-bundled package loaded as itself: an entry point missing from PREBUNDLED. */
const UNBUNDLED =
  /\/node_modules\/(zod|jose|drizzle-orm|@hono\/zod-openapi|@hono\/zod-validator|@asteasolutions\/zod-to-openapi)\//;

/**
 * The vPDQ reference vectors' text files (../shared/vpdq-vectors: every-second hashes and the
 * match CSV), handed to the workers tests as one JSON binding, since code in workerd reads no
 * files; read from there, never copied into the repository. Empty when the vectors are absent.
 */
function vpdqVectors(): string {
  const dir = path.resolve(import.meta.dirname, "../shared/vpdq-vectors/expected");
  if (!existsSync(dir)) return "";
  const everySecond = Object.fromEntries(
    readdirSync(path.join(dir, "every-second"))
      .filter((f) => f.endsWith(".txt"))
      .map((f) => [f.slice(0, -4), readFileSync(path.join(dir, "every-second", f), "utf8")]),
  );
  const matches = readFileSync(path.join(dir, "matches-every-second-d31-q50.csv"), "utf8");
  return JSON.stringify({ everySecond, matches });
}

/**
 * The official OASIS STIX 2.1 JSON schemas (../shared/stix2-json-schemas/schemas, BSD-3), every
 * file as one JSON binding for test/api/taxii.test.ts, read from there and never copied into the
 * repository. Empty when they are absent (the test then fails: it needs them).
 */
function stixSchemas(): string {
  const dir = path.resolve(import.meta.dirname, "../shared/stix2-json-schemas/schemas");
  if (!existsSync(dir)) return "";
  const files = readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".json"))
    .sort();
  return JSON.stringify(files.map((f) => JSON.parse(readFileSync(path.join(dir, f), "utf8")) as unknown));
}

/** A free TCP port on 127.0.0.1 (for the webhook receiver, test/helpers/webhook-receiver.ts). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => (typeof a === "object" && a ? resolve(a.port) : reject(new Error("no port"))));
    });
  });
}

export default defineConfig(async () => {
  // The webhook receiver's port, chosen once per run (the global setup listens on it) and the
  // one private target the node may deliver to in the tests: every other private address stays
  // refused, as in production (test/api/webhooks.security.test.ts).
  process.env.EUSN_TEST_RECEIVER_PORT ??= String(await freePort());
  const receiver = `127.0.0.1:${process.env.EUSN_TEST_RECEIVER_PORT}`;
  const migrations = await readD1Migrations(path.join(import.meta.dirname, "schema/migrations"));
  // Fresh keys per run: nothing private is committed, and the bootstrap coordinator and node
  // key are configuration exactly as in production (a JWKS var and a secret).
  const keys = await makeTestKeys();
  const config: ViteUserConfig = {
    test: {
      // Vitest's default is one worker per core less one: a single worker on a 2-core machine
      // (CI here), which ran the 30 files one after another. Most of their time is spent in other
      // processes (workerd, wrangler dev, Chromium, the CLI), so two workers on two cores nearly
      // halve the run. `--maxWorkers=N` still overrides this.
      maxWorkers: Math.max(2, availableParallelism() - 1),
      projects: [
        {
          test: {
            name: "unit",
            environment: "node",
            include: ["test/unit/**/*.test.ts"],
            // Bundles the CLI once for the tests that run it as a child process (test/helpers/cli.ts),
            // and what every local node would redo: the migrated D1 and the Worker bundle (local-node-setup.ts).
            globalSetup: ["./test/helpers/cli-bundle.ts", "./test/helpers/local-node-setup.ts"],
            testTimeout: 60_000,
          },
        },
        {
          plugins: [
            {
              name: "eusn:prebundled-only",
              transform(_code, id) {
                if (UNBUNDLED.test(id))
                  this.error(
                    `${id} was loaded unbundled, beside its pre-bundled copy: add the entry point that imports it to PREBUNDLED in vitest.config.ts`,
                  );
              },
            },
            {
              // Vitest sends every module to workerd with its source map inlined (base64), and each
              // test file's fresh workerd receives the Worker's whole graph again: 8.6 MB per file,
              // 2.3 MB of it zod's bundle with its map. Without the maps of everything but the test
              // files it is 3.0 MB. Six small files one after another (load 8-10, two runs each):
              // setup 15.6 s and 18.2 s against 26.7 s and 33.3 s, process CPU 31.8 s and 32.8 s
              // against 35.7 s and 39.1 s. The cost: a stack frame in the Worker or a package
              // points into the transformed JavaScript, not the TypeScript source (file and
              // function names stay right); EUSN_TEST_SOURCEMAPS=1 keeps every map for debugging.
              name: "eusn:test-files-maps-only",
              enforce: "post",
              transform(code, id) {
                if (process.env.EUSN_TEST_SOURCEMAPS === "1" || id.includes("/test/")) return;
                return { code, map: { mappings: "" } };
              },
            },
            cloudflareTest({
              wrangler: { configPath: "./wrangler.toml" },
              miniflare: {
                bindings: {
                  TEST_MIGRATIONS: migrations,
                  NODE_ID: "eusn-test",
                  NODE_PRIVATE_JWK: JSON.stringify(keys.nodePrivateJwk),
                  BOOTSTRAP_COORDINATOR_JWKS: JSON.stringify({ keys: [keys.coordinatorPublicJwk] }),
                  TEST_COORDINATOR_PRIVATE_JWK: JSON.stringify(keys.coordinatorPrivateJwk),
                  // The convergence property test's seed and length (test/api/convergence.property.test.ts).
                  CONVERGENCE_SEED: process.env.CONVERGENCE_SEED ?? "",
                  CONVERGENCE_STEPS: process.env.CONVERGENCE_STEPS ?? "",
                  // test/api/video.test.ts
                  VPDQ_VECTORS: vpdqVectors(),
                  // test/api/taxii.test.ts
                  STIX_SCHEMAS: stixSchemas(),
                  // test/api/webhooks*.test.ts: the receiver, and retries fast enough to watch.
                  WEBHOOK_ALLOW_PRIVATE: receiver,
                  WEBHOOK_RETRY_BASE_SECONDS: "0.2",
                  WEBHOOK_MAX_ATTEMPTS: "4",
                  TEST_WEBHOOK_RECEIVER: `http://${receiver}`,
                },
                // More nodes' databases for the federation tests: two nodes in one workerd run
                // (test/api/federation*.test.ts), and networks of three for the convergence tests
                // (test/api/convergence*.test.ts), each app instance with its own D1.
                d1Databases: {
                  DB_B: "eusn-test-node-b",
                  ...Object.fromEntries(
                    Array.from({ length: 9 }, (_, i) => [`NET_${i + 1}`, `eusn-test-net-${i + 1}`]),
                  ),
                },
              },
            }),
          ],
          test: {
            name: "workers",
            include: ["test/api/**/*.test.ts"],
            // One workerd per vitest worker for all its files instead of a fresh one per file:
            // the start-up (Miniflare, workerd, the Worker's module graph) took about 3.5 s a
            // file, more than most files' tests. The setup file gives each file empty storage and
            // fails on a binding it cannot empty (apply-migrations.ts). The project alone, 53
            // files, two workers, one after the other on a quiet machine: 266 s -> 178 s.
            isolate: false,
            setupFiles: ["./test/helpers/apply-migrations.ts"],
            globalSetup: ["./test/helpers/webhook-receiver.ts"],
            deps: { optimizer: { ssr: { enabled: true, include: PREBUNDLED, exclude: ["hono"] } } },
            testTimeout: 30_000,
          },
        },
        {
          test: {
            name: "e2e",
            environment: "node",
            include: ["test/e2e/**/*.test.ts"],
            globalSetup: ["./test/e2e/global-setup.ts"],
            // These files run beside the other projects' files (one group, so console.test.ts, the
            // longest file, starts first instead of after everything else). One browser session
            // walks the flows in order inside console.test.ts; key-signer.test.ts uses neither the
            // node nor the browser. A second file that drives the shared node must not assume it
            // has the node to itself.
            // Each test walks a role's whole flow (sign-in, several pages, signed writes); on a
            // machine shared with other heavy jobs one flow has taken over a minute.
            testTimeout: 120_000,
            hookTimeout: 120_000,
            // Pages answer in milliseconds, but CI machines can be slow and busy.
            expect: { poll: { timeout: 10_000 } },
          },
        },
      ],
    },
  };
  return config;
});
