#!/usr/bin/env node
// Adds the lockfile entries npm leaves out when the registry it used cannot serve another
// platform's binary package (e.g. @biomejs/cli-darwin-arm64 through a Linux-only mirror).
// Without them `npm ci` refuses the lockfile ("Missing: … from lock file") on every machine.
// Each added entry carries the platform's os/cpu(/libc) constraint, so npm skips it wherever it
// does not apply and fetches it by version where it does.
//
//   node scripts/complete-lockfile.mjs          # fix package-lock.json in place
//   node scripts/complete-lockfile.mjs --check  # exit 1 if entries are missing (CI)
import { readFileSync, writeFileSync } from "node:fs";

const FILE = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(FILE, "utf8"));
const pk = lock.packages;

const OS = {
  darwin: "darwin",
  linux: "linux",
  win32: "win32",
  windows: "win32",
  android: "android",
  freebsd: "freebsd",
  openbsd: "openbsd",
  netbsd: "netbsd",
  sunos: "sunos",
  aix: "aix",
};
const CPU = {
  arm64: "arm64",
  aarch64: "arm64",
  x64: "x64",
  64: "x64",
  ia32: "ia32",
  arm: "arm",
  ppc64: "ppc64",
  s390x: "s390x",
  riscv64: "riscv64",
  loong64: "loong64",
  mips64el: "mips64el",
};

/** os/cpu/libc from a platform package name such as @biomejs/cli-linux-x64-musl or @cloudflare/workerd-darwin-64. */
function platformOf(name) {
  const tokens = name.split("/").pop().split(/[-_]/);
  const os = tokens.map((t) => OS[t]).find(Boolean);
  const cpu = tokens
    .map((t) => CPU[t])
    .filter(Boolean)
    .pop();
  if (!os || !cpu) return null;
  return {
    os: [os],
    cpu: [cpu],
    ...(tokens.includes("musl") ? { libc: ["musl"] } : tokens.includes("gnu") ? { libc: ["glibc"] } : {}),
  };
}

/** The entry npm would find for `name` from the package at `path` (its own node_modules, then its ancestors'). */
function resolve(path, name) {
  let base = path;
  for (;;) {
    const entry = pk[`${base ? `${base}/` : ""}node_modules/${name}`];
    if (entry) return entry;
    if (!base) return undefined;
    const i = base.lastIndexOf("/node_modules/");
    base = i >= 0 ? base.slice(0, i) : "";
  }
}

const added = [];
for (const [path, entry] of Object.entries(pk)) {
  for (const [name, spec] of Object.entries(entry.optionalDependencies ?? {})) {
    const version = String(spec).replace(/^[\^~=]/, "");
    const found = resolve(path, name);
    // Found with the wanted version (platform packages are pinned exactly; a range such as
    // fsevents' ~2.3.2 is npm's business): nothing to add.
    if (found && (found.version === version || /^[\^~]/.test(String(spec)))) continue;
    const platform = platformOf(name);
    if (!platform || !/^\d+\.\d+\.\d+/.test(version)) {
      console.error(
        `complete-lockfile: cannot infer an entry for ${name}@${spec} (needed by ${path || "the root"})`,
      );
      continue;
    }
    // Hoist when the root slot is free; otherwise nest under the package that needs it.
    const at =
      pk[`node_modules/${name}`] || !path
        ? `${path ? `${path}/` : ""}node_modules/${name}`
        : `node_modules/${name}`;
    pk[at] = { version, ...platform, ...(entry.dev ? { dev: true } : {}), optional: true };
    added.push(`${at}@${version}`);
  }
}

if (process.argv.includes("--check")) {
  if (added.length > 0) {
    console.error(
      `package-lock.json is missing ${added.length} platform entries; run: npm run lock:complete`,
    );
    process.exit(1);
  }
  console.log("package-lock.json: every optional platform package has an entry");
} else {
  writeFileSync(FILE, `${JSON.stringify(lock, null, 2)}\n`);
  console.log(added.length ? `added ${added.length} entries:\n  ${added.join("\n  ")}` : "nothing to add");
}
