// Global setup of the `workers` project: a real HTTP receiver for webhook deliveries on
// 127.0.0.1 (the port vitest.config.ts picked and allowed in WEBHOOK_ALLOW_PRIVATE). The Worker
// in workerd POSTs to it over the loopback network like to any receiver.
//
//   POST /hook/<name>[?fail=N][&status=S]   stores the request; answers S (default 503) to the
//                                           first N requests of that name, 200 after
//   POST /hook/<name>?failEach=N[&status=S] answers S to the first N attempts of each delivery
//                                           (its eusn-delivery header), 200 after
//   POST /redirect/<name>                   answers 302 to /hook/<name>-followed (never followed)
//   GET  /received/<name>                   what it stored for <name>, oldest first
import { createServer, type Server } from "node:http";

export type Received = { at: number; status: number; headers: Record<string, string>; body: string };

export default async function setup() {
  const port = Number(process.env.EUSN_TEST_RECEIVER_PORT);
  if (!port) throw new Error("EUSN_TEST_RECEIVER_PORT is not set (vitest.config.ts sets it)");
  return startReceiver(port);
}

/**
 * Starts the receiver on 127.0.0.1:`port` (0: a free port); returns its port and how to stop it.
 * The e2e global setup starts one of its own for the console's node (test/e2e/global-setup.ts).
 */
export async function startReceiver(port: number): Promise<(() => Promise<void>) & { port: number }> {
  const received = new Map<string, Received[]>();
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", `http://127.0.0.1:${port}`);
    const [, kind, name = ""] = url.pathname.split("/");
    if (req.method === "GET" && kind === "received") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(received.get(name) ?? []));
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const list = received.get(name) ?? [];
      received.set(name, list);
      let status = 200;
      if (kind === "redirect") status = 302;
      else if (list.length < Number(url.searchParams.get("fail") ?? 0))
        status = Number(url.searchParams.get("status") ?? 503);
      else if (
        list.filter((r) => r.headers["eusn-delivery"] === String(req.headers["eusn-delivery"])).length <
        Number(url.searchParams.get("failEach") ?? 0)
      )
        status = Number(url.searchParams.get("status") ?? 503);
      list.push({
        at: Date.now(),
        status,
        headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])),
        body: Buffer.concat(chunks).toString("utf8"),
      });
      res.writeHead(status, status === 302 ? { location: `/hook/${name}-followed` } : {});
      res.end(status === 200 ? "ok" : "not now");
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const stop = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return Object.assign(stop, { port: (server.address() as { port: number }).port });
}
