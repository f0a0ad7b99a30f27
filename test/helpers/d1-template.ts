// Global setup of the `unit` project: applies the D1 migrations once per run to an empty local
// database in a temp state dir (makeMigratedState), which every local node the tests start then
// copies (test/helpers/local-node.ts) instead of migrating its own: about 3 s once instead of
// about 30 s of wrangler D1 starts per node.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { D1_TEMPLATE_ENV, makeMigratedState } from "./local-node.ts";

export default async function setup() {
  const dir = mkdtempSync(path.join(tmpdir(), "eusn-d1-template-"));
  const state = path.join(dir, "state");
  await makeMigratedState(state);
  // Read by local-node.ts in the test workers, which inherit this process's environment.
  process.env[D1_TEMPLATE_ENV] = state;
  return () => {
    delete process.env[D1_TEMPLATE_ENV];
    rmSync(dir, { recursive: true, force: true });
  };
}
