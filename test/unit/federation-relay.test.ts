// The relay the federation demo and bench put between two nodes (scripts/federation/relay.ts):
// it must pass requests and answers on byte for byte, and a cut must really cut — new
// connections and answers in flight alike — until the link is restored; a break lets a given
// number of answers through and resets the next; the mesh cuts a link in both directions.
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Mesh, Relay, type RelayEvent } from "../../scripts/federation/relay.ts";

/** An upstream standing in for a node: echoes what it got, or streams slowly on /slow. */
let upstream: Server;
let upstreamUrl: string;
const releaseSlow: (() => void)[] = [];

beforeAll(async () => {
  upstream = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      if (req.url === "/slow") {
        res.writeHead(200, { "content-type": "text/plain" });
        res.write("first half;");
        releaseSlow.push(() => res.end("second half"));
        return;
      }
      res.writeHead(req.url === "/missing" ? 404 : 200, {
        "content-type": "application/json",
        "x-upstream": "yes",
      });
      res.end(
        JSON.stringify({
          method: req.method,
          url: req.url,
          host: req.headers.host,
          authorization: req.headers.authorization ?? null,
          bodySha256: createHash("sha256").update(body).digest("hex"),
          bodyLength: body.length,
        }),
      );
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", () => resolve()));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
});

afterAll(async () => {
  for (const f of releaseSlow) f();
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
});

const relays: Relay[] = [];
afterEach(async () => {
  await Promise.all(relays.splice(0).map((r) => r.close()));
});

async function relay(): Promise<Relay> {
  const r = new Relay(upstreamUrl, "test relay");
  relays.push(r);
  await r.start();
  return r;
}

describe("relay", () => {
  it("passes method, path, query, headers and body on unchanged, and the answer back", async () => {
    const r = await relay();
    const body = new Uint8Array(200_000).map((_, i) => (i * 7919) % 256);
    const res = await fetch(`${r.url}/v1/log/entries?start=3&limit=2`, {
      method: "POST",
      headers: { authorization: "Bearer abc.def.ghi", "content-type": "application/octet-stream" },
      body,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-upstream")).toBe("yes");
    const echo = (await res.json()) as Record<string, unknown>;
    expect(echo).toEqual({
      method: "POST",
      url: "/v1/log/entries?start=3&limit=2",
      host: new URL(upstreamUrl).host,
      authorization: "Bearer abc.def.ghi",
      bodySha256: createHash("sha256").update(body).digest("hex"),
      bodyLength: body.length,
    });
    const missing = await fetch(`${r.url}/missing`);
    expect(missing.status).toBe(404);
    expect(r.stats.forwarded).toBe(2);
  });

  it("a cut link refuses new requests until it is restored", async () => {
    const r = await relay();
    expect((await fetch(`${r.url}/health`)).ok).toBe(true);
    r.partition();
    expect(r.cut).toBe(true);
    await expect(fetch(`${r.url}/health`)).rejects.toThrow();
    await expect(fetch(`${r.url}/v1/log/checkpoint`)).rejects.toThrow();
    expect(r.stats.refused).toBeGreaterThanOrEqual(2);
    r.restore();
    const res = await fetch(`${r.url}/health`);
    expect(res.ok).toBe(true);
  });

  it("a cut also breaks an answer in flight", async () => {
    const r = await relay();
    const res = await fetch(`${r.url}/slow`);
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe("first half;");
    r.partition();
    releaseSlow.shift()?.();
    await expect(
      (async () => {
        for (;;) if ((await reader.read()).done) return "ended normally";
      })(),
    ).rejects.toThrow();
  });

  it("inFlight lists a request until its answer has ended", async () => {
    const r = await relay();
    expect(r.inFlight()).toEqual([]);
    const res = await fetch(`${r.url}/slow`);
    const reader = res.body!.getReader();
    await reader.read();
    expect(r.inFlight()).toMatchObject([{ method: "GET", path: "/slow", answered: true }]);
    releaseSlow.shift()?.();
    while (!(await reader.read()).done) {}
    await new Promise((done) => setTimeout(done, 50));
    expect(r.inFlight()).toEqual([]);
  });

  it("breakAfter lets n answers of a path through, resets the next one, then passes again", async () => {
    const r = await relay();
    const seen: RelayEvent[] = [];
    r.onEvent((e) => seen.push(e));
    r.breakAfter("/v1/log/entries", 2);
    expect((await fetch(`${r.url}/v1/log/checkpoint`)).ok).toBe(true); // other paths unaffected
    expect((await fetch(`${r.url}/v1/log/entries?start=0`)).ok).toBe(true);
    expect((await fetch(`${r.url}/v1/log/entries?start=1`)).ok).toBe(true);
    await expect(fetch(`${r.url}/v1/log/entries?start=2`)).rejects.toThrow();
    expect((await fetch(`${r.url}/v1/log/entries?start=2`)).ok).toBe(true); // once only
    expect(seen.map((e) => e.status)).toEqual([200, 200, 200, "broken", 200]);
    expect(r.stats.broken).toBe(1);
  });

  it("next() resolves when an answer to the path has gone through", async () => {
    const r = await relay();
    const waiting = r.next("/v1/log/entries", 5_000);
    await fetch(`${r.url}/v1/log/checkpoint`);
    await fetch(`${r.url}/v1/log/entries?start=7`);
    await expect(waiting).resolves.toMatchObject({ path: "/v1/log/entries?start=7", status: 200 });
    await expect(r.next("/never", 50)).rejects.toThrow(/no answer/);
  });

  it("an upstream that is down shows as a reset connection", async () => {
    const dead = new Relay("http://127.0.0.1:1", "to nowhere");
    relays.push(dead);
    await dead.start();
    await expect(fetch(`${dead.url}/health`)).rejects.toThrow();
    expect(dead.stats.broken).toBe(1);
  });
});

describe("mesh", () => {
  it("one relay per direction; a partition cuts a link both ways and nothing else", async () => {
    const mesh = new Mesh(3, [upstreamUrl, upstreamUrl, upstreamUrl], ["A", "B", "C"]);
    await mesh.start();
    try {
      expect(mesh.all()).toHaveLength(6);
      expect(() => mesh.relay(1, 1)).toThrow();
      mesh.partition(0, 2);
      expect(mesh.cutLinks()).toEqual(["0-2"]);
      await expect(fetch(`${mesh.relay(0, 2).url}/x`)).rejects.toThrow();
      await expect(fetch(`${mesh.relay(2, 0).url}/x`)).rejects.toThrow();
      for (const [a, b] of [
        [0, 1],
        [1, 0],
        [1, 2],
        [2, 1],
      ] as const)
        expect((await fetch(`${mesh.relay(a, b).url}/x`)).ok).toBe(true);
      mesh.heal();
      expect(mesh.cutLinks()).toEqual([]);
      expect((await fetch(`${mesh.relay(2, 0).url}/x`)).ok).toBe(true);
    } finally {
      await mesh.close();
    }
  });
});
