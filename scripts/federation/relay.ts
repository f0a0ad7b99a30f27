// A relay between two local nodes, for the federation demo and bench: a plain HTTP forwarder on
// loopback that a node lists as its peer's URL (PEERS), so the script standing between them can
// cut the link (a network partition), restore it, break the next answers of one path (a pull
// broken in the middle), and see what went through (to act while a pull is running). It forwards
// bytes unchanged: everything a puller checks (signed checkpoints, leaf hashes, proofs) is
// end to end between the two nodes, so a relay needs no trust and gets none.
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";

/** One answer the relay passed on (or refused), as seen by the script. */
export type RelayEvent = { method: string; path: string; status: number | "cut" | "broken" };

export type RelayStats = { forwarded: number; refused: number; broken: number };

export class Relay {
  /** The upstream node, e.g. http://127.0.0.1:8787. */
  readonly target: URL;
  readonly label: string;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private isCut = false;
  private breaks: { pathPrefix: string; after: number; remaining: number }[] = [];
  private readonly listeners = new Set<(e: RelayEvent) => void>();
  readonly stats: RelayStats = { forwarded: 0, refused: 0, broken: 0 };
  private readonly open = new Map<
    number,
    { method: string; path: string; since: number; answered: boolean }
  >();
  private seq = 0;
  private port = 0;

  constructor(target: string, label = `relay to ${target}`) {
    this.target = new URL(target);
    this.label = label;
  }

  /** Listens on 127.0.0.1 (a free port unless one is given) and returns the relay's base URL. */
  async start(port = 0): Promise<string> {
    const server = createServer((req, res) => this.handle(req, res));
    server.on("connection", (s) => {
      // A cut link accepts nothing: the connection is reset before a byte is read.
      if (this.isCut) {
        this.stats.refused++;
        s.destroy();
        return;
      }
      this.sockets.add(s);
      s.once("close", () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    this.server = server;
    this.port = (server.address() as { port: number }).port;
    return this.url;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get cut(): boolean {
    return this.isCut;
  }

  /**
   * Cuts the link: open connections (and the requests in flight on them) are reset, new ones are
   * refused, until `restore()`.
   */
  partition(): void {
    this.isCut = true;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  restore(): void {
    this.isCut = false;
  }

  /**
   * Lets `after` more answers to paths starting with `pathPrefix` through, then resets the
   * connection of the next one (once): the peer going away in the middle of a pull.
   */
  breakAfter(pathPrefix: string, after: number): void {
    this.breaks.push({ pathPrefix, after, remaining: after });
  }

  /** Requests passed on whose answer has not ended yet, oldest first (to see what a caller waits for). */
  inFlight(): { method: string; path: string; ageMs: number; answered: boolean }[] {
    const now = Date.now();
    return [...this.open.values()].map((r) => ({
      method: r.method,
      path: r.path,
      ageMs: now - r.since,
      answered: r.answered,
    }));
  }

  /** Forgets the breaks not yet used. */
  clearBreaks(): void {
    this.breaks = [];
  }

  /** Calls `fn` for every answer passed on, refused or broken; returns a function to stop. */
  onEvent(fn: (e: RelayEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Resolves once an answer to a path starting with `pathPrefix` has been passed on whole. */
  next(pathPrefix: string, timeoutMs = 60_000): Promise<RelayEvent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`${this.label}: no answer to ${pathPrefix}* within ${timeoutMs} ms`));
      }, timeoutMs);
      const stop = this.onEvent((e) => {
        if (typeof e.status === "number" && e.path.startsWith(pathPrefix)) {
          clearTimeout(timer);
          stop();
          resolve(e);
        }
      });
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private emit(e: RelayEvent) {
    for (const fn of this.listeners) fn(e);
  }

  private handle(req: IncomingMessage, res: ServerResponse) {
    const path = req.url ?? "/";
    const method = req.method ?? "GET";
    if (this.isCut) {
      this.stats.refused++;
      this.emit({ method, path, status: "cut" });
      req.socket.destroy();
      return;
    }
    const rule = this.breaks.find((b) => path.startsWith(b.pathPrefix));
    if (rule) {
      if (rule.remaining === 0) {
        this.breaks.splice(this.breaks.indexOf(rule), 1);
        this.stats.broken++;
        this.emit({ method, path, status: "broken" });
        req.socket.destroy();
        return;
      }
      rule.remaining--;
    }
    const headers = { ...req.headers, host: this.target.host };
    const id = this.seq++;
    const open = { method, path, since: Date.now(), answered: false };
    this.open.set(id, open);
    res.on("close", () => this.open.delete(id));
    const up = request(
      {
        protocol: this.target.protocol,
        hostname: this.target.hostname,
        port: this.target.port,
        method,
        path,
        headers,
      },
      (upRes) => {
        open.answered = true;
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
        upRes.on("end", () => {
          this.stats.forwarded++;
          this.emit({ method, path, status: upRes.statusCode ?? 502 });
        });
        upRes.on("error", () => res.destroy());
      },
    );
    // The upstream node is down (restarting): the caller sees a reset connection, as it would
    // without a relay in between.
    res.on("close", () => {
      if (!res.writableFinished) up.destroy();
    });
    up.on("error", () => {
      this.stats.broken++;
      this.emit({ method, path, status: "broken" });
      req.socket.destroy();
    });
    req.pipe(up);
  }
}

/**
 * The relays of a full mesh of `n` nodes: `relay(from, to)` is what node `from` lists as node
 * `to`'s URL (its pulls of `to` go through it). A link is both directions.
 */
export class Mesh {
  private readonly relays = new Map<string, Relay>();

  constructor(
    readonly n: number,
    targets: string[],
    labels: string[] = targets,
  ) {
    for (let from = 0; from < n; from++)
      for (let to = 0; to < n; to++)
        if (from !== to)
          this.relays.set(`${from}>${to}`, new Relay(targets[to]!, `${labels[from]} → ${labels[to]}`));
  }

  async start(): Promise<void> {
    for (const r of this.relays.values()) await r.start();
  }

  relay(from: number, to: number): Relay {
    const r = this.relays.get(`${from}>${to}`);
    if (!r) throw new Error(`no relay ${from} → ${to}`);
    return r;
  }

  /** Cuts (or restores) the link between `a` and `b`, both directions. */
  partition(a: number, b: number, cut = true): void {
    for (const r of [this.relay(a, b), this.relay(b, a)]) {
      if (cut) r.partition();
      else r.restore();
    }
  }

  /** Restores every link. */
  heal(): void {
    for (const r of this.relays.values()) r.restore();
  }

  /** The links cut now, as "a-b" pairs. */
  cutLinks(): string[] {
    const out: string[] = [];
    for (let a = 0; a < this.n; a++)
      for (let b = a + 1; b < this.n; b++) if (this.relay(a, b).cut) out.push(`${a}-${b}`);
    return out;
  }

  all(): Relay[] {
    return [...this.relays.values()];
  }

  async close(): Promise<void> {
    await Promise.all(this.all().map((r) => r.close()));
  }
}
