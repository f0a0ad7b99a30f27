// A CPU profile of a local node's Worker isolate, taken over the Chrome DevTools protocol on
// workerd's inspector port (test/helpers/local-node.ts starts every node with one), for the
// benchmarks' `--profile` option: which functions of the Worker spend the CPU of the measured
// requests. The JavaScript share only: SQLite (local D1) and workerd's own work run outside the
// isolate's sampled stacks and show as the difference to workerd's CPU time from /proc.
//
// The connection uses the `ws` package: wrangler's inspector proxy refuses the handshake of Node's
// own WebSocket client (which sends an Origin header), and accepts ws's.

import WebSocket from "ws";

type ProfileNode = {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
};
type Profile = { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };

export type CpuProfileSummary = {
  /** Sampled JavaScript self time in the isolate, ms (idle and the engine's own time excluded). */
  jsMs: number;
  byFile: [string, number][];
  byFunction: [string, number][];
};

/** Starts sampling the node's isolate every `intervalUs` µs; `stop` returns the summary. */
export async function startCpuProfile(inspectorPort: number, intervalUs = 200) {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as {
    webSocketDebuggerUrl: string;
  }[];
  if (!targets[0]) throw new Error("no inspector target");
  const ws = new WebSocket(targets[0].webSocketDebuggerUrl);
  await new Promise<void>((resolve, reject) => {
    ws.on("open", resolve);
    ws.on("error", reject);
  });
  let next = 1;
  const waiting = new Map<number, (v: unknown) => void>();
  ws.on("message", (data) => {
    const msg = JSON.parse(data.toString()) as { id?: number; result?: unknown };
    const done = msg.id === undefined ? undefined : waiting.get(msg.id);
    if (done) {
      waiting.delete(msg.id!);
      done(msg.result);
    }
  });
  const send = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve) => {
      const id = next++;
      waiting.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await send("Profiler.enable");
  await send("Profiler.setSamplingInterval", { interval: intervalUs });
  await send("Profiler.start");
  return {
    async stop(top = 25): Promise<CpuProfileSummary> {
      const { profile } = (await send("Profiler.stop")) as { profile: Profile };
      ws.close();
      return summarise(profile, top);
    },
  };
}

function summarise(profile: Profile, top: number): CpuProfileSummary {
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  let js = 0;
  const byFile = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const [id, us] of self) {
    const f = nodes.get(id)!.callFrame;
    if (f.functionName === "(idle)" || f.functionName === "(program)") continue;
    js += us;
    const file =
      f.url.replace(/^.*\/(node_modules\/(@[^/]+\/)?[^/]+|workers\/[^/]+|packages\/[^/]+)\//, "$1/") ||
      `(${f.functionName || "native"})`;
    const fn = `${f.functionName || "(anonymous)"} ${file}:${f.lineNumber + 1}`;
    byFile.set(file, (byFile.get(file) ?? 0) + us);
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
  }
  const ms = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => [k, Math.round(us / 100) / 10] as [string, number]);
  return { jsMs: Math.round(js / 100) / 10, byFile: ms(byFile), byFunction: ms(byFunction) };
}
