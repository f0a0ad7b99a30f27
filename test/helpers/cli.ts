// How the unit tests start the `eusn` CLI as a child process: `EUSN` is `node` plus the CLI bundled
// once per run by the unit project's global setup (test/helpers/cli-bundle.ts); `EUSN_LAUNCHER` is
// the real bin/eusn.mjs (tsx), which each CLI test file also runs, so the launcher stays covered.
import path from "node:path";
import { inject } from "vitest";

export const REPO_ROOT = path.resolve(import.meta.dirname, "../..");

/** The launcher users run: registers tsx, then imports packages/cli/src/main.ts. */
export const EUSN_LAUNCHER = path.join(REPO_ROOT, "packages/cli/bin/eusn.mjs");

/** The same program, pre-bundled: start it with `node` (process.execPath). */
export const EUSN = inject("eusnCli");
