// Global setup of the `unit` project: bundles the `eusn` CLI (packages/cli/src/main.ts, the module
// bin/eusn.mjs loads) once per run with esbuild into a temp dir. The tests that run the CLI as a
// child process (test/helpers/cli.ts) start plain `node` on that one file, about 0.3 s a run;
// bin/eusn.mjs registers tsx and compiles the sources on every start, about 1 s of CPU a run, and
// these files start the CLI some forty times. The same sources are compiled by the same esbuild
// (tsx uses it too); each CLI test file still runs the real launcher at least once.
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** Absolute path of the bundled CLI (run it with `node`). */
    eusnCli: string;
  }
}

const ROOT = path.resolve(import.meta.dirname, "../..");

export default async function setup(project: TestProject) {
  const dir = mkdtempSync(path.join(tmpdir(), "eusn-cli-"));
  const outfile = path.join(dir, "eusn.mjs");
  // sharp is a native addon that finds its platform binary at run time: it stays outside the
  // bundle, loaded from the CLI package's own dependency by absolute URL (the bundle lives in a
  // temp dir, where a bare "sharp" would not resolve).
  const sharp = pathToFileURL(
    createRequire(path.join(ROOT, "packages/cli/package.json")).resolve("sharp"),
  ).href;
  const bundle = () =>
    build({
      entryPoints: [path.join(ROOT, "packages/cli/src/main.ts")],
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      outfile,
      logLevel: "warning",
      // CommonJS dependencies (commander, cli-progress) call require() for Node built-ins.
      banner: {
        js: "import { createRequire as __eusnRequire } from 'node:module'; const require = __eusnRequire(import.meta.url);",
      },
      plugins: [
        {
          name: "eusn:external-sharp",
          setup(b) {
            b.onResolve({ filter: /^sharp$/ }, () => ({ path: sharp, external: true }));
          },
        },
      ],
    });
  await bundle();
  // In watch mode, every rerun bundles the sources as they are then.
  project.onTestsRerun(async () => {
    await bundle();
  });
  project.provide("eusnCli", outfile);
  return () => rmSync(dir, { recursive: true, force: true });
}
