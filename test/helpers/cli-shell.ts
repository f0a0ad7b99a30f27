// Running `eusn` the way people do, in a shell with pipes: a directory with an `eusn` executable
// (the CLI bundled once per run, test/helpers/cli-bundle.ts) put first on PATH, and bash running
// a script in a chosen directory with `set -euo pipefail`, so a failing command anywhere in a
// pipe fails the script.
import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { EUSN } from "./cli.ts";

export type ShellRun = { code: number; stdout: string; stderr: string };

let binDir: string | undefined;

/** A directory holding an `eusn` launcher for the bundled CLI. */
export function eusnBinDir(): string {
  if (binDir) return binDir;
  const dir = mkdtempSync(path.join(tmpdir(), "eusn-bin-"));
  binDir = dir;
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  const shim = path.join(binDir, "eusn");
  writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" "${EUSN}" "$@"\n`);
  chmodSync(shim, 0o755);
  return binDir;
}

/** Runs `script` with bash in `cwd`, `eusn` on PATH; never throws on a non-zero exit. */
export function sh(script: string, cwd: string, env: Record<string, string> = {}): Promise<ShellRun> {
  return new Promise((resolve) => {
    execFile(
      "bash",
      ["-c", `set -euo pipefail\n${script}`],
      {
        cwd,
        env: { ...process.env, NO_COLOR: "1", PATH: `${eusnBinDir()}:${process.env.PATH}`, ...env },
        maxBuffer: 32 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        resolve({ code: typeof code === "number" ? code : 1, stdout, stderr });
      },
    );
  });
}
