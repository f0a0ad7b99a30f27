// Global setup of the `unit` project: what every local node the tests start (test/helpers/
// local-node.ts) would otherwise redo, done once per run in a temp dir: the D1 migrations applied
// to an empty local database (makeMigratedState), which each node copies, and the Worker bundled
// (bundleWorker), which each node's `wrangler dev` runs as it is. Passed to the test workers
// through their environment, which they inherit from this process.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import {
  bundleWorker,
  D1_TEMPLATE_ENV,
  makeMigratedState,
  RUN_DIR_ENV,
  stopSharedNode,
  WORKER_CONFIG_ENV,
} from "./local-node.ts";

export default async function setup(project: TestProject) {
  const dir = mkdtempSync(path.join(tmpdir(), "eusn-local-node-"));
  const state = path.join(dir, "state");
  const [, config] = await Promise.all([makeMigratedState(state), bundleWorker(path.join(dir, "worker"))]);
  process.env[D1_TEMPLATE_ENV] = state;
  process.env[WORKER_CONFIG_ENV] = config;
  // What files build once and share during the run (buildOnce), e.g. the seeded demo network.
  const run = path.join(dir, "run");
  mkdirSync(run);
  process.env[RUN_DIR_ENV] = run;
  // In watch mode, every rerun runs the Worker as it is then (a new bundle in the same place).
  project.onTestsRerun(async () => {
    await bundleWorker(path.join(dir, "worker"));
  });
  return async () => {
    const cpu = await stopSharedNode(run);
    if (cpu !== undefined) console.log(`the shared local node used ${(cpu / 1000).toFixed(1)} s of CPU`);
    delete process.env[D1_TEMPLATE_ENV];
    delete process.env[WORKER_CONFIG_ENV];
    delete process.env[RUN_DIR_ENV];
    rmSync(dir, { recursive: true, force: true });
  };
}
