// Builds the console's browser module: workers/console/web/main.ts (+ @eusn/client, @eusn/pdq,
// @eusn/protocol, jose, zod) → workers/console/public/console/assets/console.js, one minified ES
// module served by the Worker's static assets. Generated, git-ignored; `npm start`, `npm test`
// and the e2e setup run this first. `tsx scripts/build-console.ts` builds it by hand.
import path from "node:path";
import { build, type Plugin } from "esbuild";

const ROOT = path.resolve(import.meta.dirname, "..");
export const CONSOLE_ENTRY = path.join(ROOT, "workers/console/web/main.ts");
export const CONSOLE_BUNDLE = path.join(ROOT, "workers/console/public/console/assets/console.js");

/**
 * zod re-exports all of its ~45 message locales as `z.locales`, which no bundler can drop once `z`
 * is used as a namespace (the shared protocol schemas do). The console speaks English only, so
 * `locales/index.js` is replaced by the English locale alone: about 260 KiB less to download.
 * The tests' CLI bundle uses it too (test/helpers/cli-bundle.ts): less to parse at every start.
 */
export const zodEnglishOnly: Plugin = {
  name: "zod-english-only",
  setup(b) {
    b.onResolve({ filter: /\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]/.test(args.importer)
        ? { path: path.join(path.dirname(args.importer), "../locales/index.js"), namespace: "zod-en" }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: "zod-en" }, (args) => ({
      contents: 'export { default as en } from "./en.js";',
      resolveDir: path.dirname(args.path),
      loader: "js",
    }));
  },
};

export async function buildConsole(opts: { quiet?: boolean } = {}): Promise<{ bytes: number; ms: number }> {
  const t0 = Date.now();
  const result = await build({
    entryPoints: [CONSOLE_ENTRY],
    outfile: CONSOLE_BUNDLE,
    bundle: true,
    format: "esm",
    platform: "browser",
    // Chromium, Firefox and Safari of 2023 on: Ed25519 in WebCrypto needs recent browsers anyway.
    target: ["es2022"],
    minify: true,
    legalComments: "none",
    metafile: true,
    plugins: [zodEnglishOnly],
    logLevel: opts.quiet ? "error" : "warning",
  });
  const bytes = Object.values(result.metafile.outputs).reduce((a, o) => a + o.bytes, 0);
  return { bytes, ms: Date.now() - t0 };
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const { bytes, ms } = await buildConsole();
  process.stdout.write(
    `[eusn] console bundle: ${path.relative(ROOT, CONSOLE_BUNDLE)} (${(bytes / 1024).toFixed(0)} KiB, ${ms} ms)\n`,
  );
}
