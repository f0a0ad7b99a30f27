// Global setup of the `unit` project: bundles the `eusn` CLI (packages/cli/src/main.ts, the module
// bin/eusn.mjs loads) once per run with esbuild into a temp dir. The tests that run the CLI as a
// child process (test/helpers/cli.ts) start plain `node` on that bundle; bin/eusn.mjs registers
// tsx and compiles the sources on every start, about 1 s of CPU a run, and these files start the
// CLI a few hundred times. The same sources are compiled by the same esbuild (tsx uses it too);
// each CLI test file still runs the real launcher at least once.
//
// The bundle is split where the sources import dynamically (main.ts loads only the module of the
// command it runs, registry.ts): an entry file, eusn.mjs, and chunks beside it that a start reads
// only when it needs them. As one 1.5 MB file every start parsed all of it, the protocol's schemas
// included: `eusn video compare` took 0.55 s of CPU as one file, 0.26 s with only its module
// evaluated, 0.18 s split (node itself starts in 0.14 s; measured at load 17-20).
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import type { TestProject } from "vitest/node";
import { zodEnglishOnly } from "../../scripts/build-console.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** Absolute path of the bundled CLI (run it with `node`). */
    eusnCli: string;
  }
}

const ROOT = path.resolve(import.meta.dirname, "../..");

export default async function setup(project: TestProject) {
  const dir = mkdtempSync(path.join(tmpdir(), "eusn-cli-"));
  const entry = path.join(dir, "eusn.mjs");
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
      outdir: dir,
      splitting: true,
      entryNames: "eusn",
      chunkNames: "chunks/[name]-[hash]",
      // No package.json says "type": "module" in the temp dir: the extension does.
      outExtension: { ".js": ".mjs" },
      logLevel: "warning",
      // CommonJS dependencies (commander, cli-progress) call require() for Node built-ins (every
      // chunk gets the banner: each is a module of its own).
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
        // zod's English locale alone, as in the console's bundle: 366 KB less to parse for every
        // start that loads the protocol's schemas (a command that checks with one, as eusn match
        // and eusn submit do; the others load none, @eusn/protocol/plain), about 0.03 s of CPU
        // (15 starts each, alternating, load 11-12).
        zodEnglishOnly,
      ],
    });
  await bundle();
  // In watch mode, every rerun bundles the sources as they are then.
  project.onTestsRerun(async () => {
    await bundle();
  });
  project.provide("eusnCli", entry);
  return () => rmSync(dir, { recursive: true, force: true });
}
