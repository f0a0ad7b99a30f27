// `wrangler dev` for the tests' local nodes, without the DevTools inspector, through wrangler's
// own API (`unstable_startWorker`, what the `wrangler dev` command runs). The command always
// starts an inspector proxy that enables the Network domain of the Worker's runtime: workerd then
// reports every subrequest, each local D1 query among them with its body, and wrangler formats
// every such event and appends it to its debug log (~/.config/.wrangler/logs, 16 MB per e2e run).
// In one run of test/e2e/console.test.ts that was 21 s of wrangler's CPU and 10 s of workerd's,
// for a debugger the tests never attach. The command has no option to leave the inspector out;
// the API has (`dev.inspector: false`). Plain JavaScript, started with `node`: no TypeScript
// loader's start-up.
//
//   node test/helpers/wrangler-dev.mjs --config <wrangler.toml> --port <port> --ip <ip> \
//     --persist-to <dir> --env-file <file> [--inspector-port <port>]
//
// `--inspector-port` keeps the inspector, for a CPU profile of the Worker (bench/match.ts --profile).
//
// Prints what wrangler prints (its "Ready on" line and one line per request) and stops the node
// on SIGTERM or SIGINT.
import { createRequire } from "node:module";
import { parseArgs } from "node:util";

// Loaded with require: wrangler's entry point is CommonJS, and an ESM import of it first has Node
// scan its 13 MB for named exports (1.5 s against 2.4 s of CPU to load it, measured under load).
const { unstable_startWorker } = createRequire(import.meta.url)("wrangler");

const { values } = parseArgs({
  options: {
    config: { type: "string" },
    port: { type: "string" },
    ip: { type: "string", default: "127.0.0.1" },
    "persist-to": { type: "string" },
    "env-file": { type: "string" },
    "inspector-port": { type: "string" },
  },
});

const worker = await unstable_startWorker({
  ...(values.config ? { config: values.config } : {}),
  ...(values["env-file"] ? { envFiles: [values["env-file"]] } : {}),
  dev: {
    server: { hostname: values.ip, port: Number(values.port ?? 8787) },
    inspector: values["inspector-port"]
      ? { hostname: "127.0.0.1", port: Number(values["inspector-port"]) }
      : false,
    // The node runs a snapshot of the Worker: nothing to watch or reload.
    watch: false,
    liveReload: false,
    ...(values["persist-to"] ? { persist: values["persist-to"] } : {}),
  },
});
await worker.ready;

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await worker.dispose().catch(() => {});
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
