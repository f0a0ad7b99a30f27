// HTTP hardening: security headers on every kind of response, no CORS for anyone, no caching of
// what a participant authenticated for, and no request data (tokens, signed bodies, selector
// pseudonyms) in the node's logs when a request fails inside the node.

import { env } from "cloudflare:workers";
import { signWrite } from "@eusn/client";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { pdqItem, randomPdq, rng } from "../helpers/hashes.ts";
import { type Admitted, admit, BASE, coordinator, expectProblem, nodeFetch } from "../helpers/node.ts";
import { publishVersion, randomPseudonym, type SignalPlatform, signalPlatform } from "../helpers/signals.ts";

const r = rng(77);
let platform: SignalPlatform;
let authority: Admitted;

beforeAll(async () => {
  authority = await admit("authority", "NL");
  platform = await signalPlatform();
  await publishVersion(1);
});

afterEach(() => {
  vi.restoreAllMocks();
});

const bearer = async (a: { client: { token(): Promise<string> } }) => ({
  authorization: `Bearer ${await a.client.token()}`,
});

function expectBaseHeaders(res: Response, what: string) {
  const h = res.headers;
  expect(h.get("x-content-type-options"), what).toBe("nosniff");
  expect(h.get("referrer-policy"), what).toBe("no-referrer");
  expect(h.get("x-frame-options"), what).toBe("DENY");
  expect(h.get("content-security-policy"), what).toContain("frame-ancestors 'none'");
  expect(h.get("strict-transport-security"), what).toMatch(/^max-age=\d{8,}; includeSubDomains$/);
  expect(h.get("x-request-id"), what).toMatch(/^[0-9a-f-]{36}$/);
  for (const name of h.keys()) expect(name, what).not.toMatch(/^access-control-/);
}

describe("security headers", () => {
  it("are on JSON answers, problems, the OpenAPI document, TAXII, docs and 404/405s", async () => {
    const cases: [string, Promise<Response>][] = [
      ["health", nodeFetch(`${BASE}/health`)],
      ["openapi", nodeFetch(`${BASE}/openapi.json`)],
      ["docs", nodeFetch(`${BASE}/docs`)],
      ["401 problem", nodeFetch(`${BASE}/v1/audit`)],
      ["404 problem", nodeFetch(`${BASE}/v1/nothing`)],
      ["405 problem", nodeFetch(`${BASE}/v1/audit`, { method: "DELETE" })],
      ["413 problem", nodeFetch(`${BASE}/v1/match`, { method: "POST", body: "x".repeat(3 * 1024 * 1024) })],
      ["baseline", nodeFetch(`${BASE}/v1/baseline`, { headers: await bearer(platform) })],
      ["taxii", nodeFetch(`${BASE}/taxii2/`, { headers: await bearer(platform) })],
      ["taxii 401", nodeFetch(`${BASE}/taxii2/`)],
      ["console", nodeFetch(`${BASE}/console`)],
    ];
    for (const [what, p] of cases) expectBaseHeaders(await p, what);
  });

  it("API answers forbid every kind of content; the docs page allows inline style and no script", async () => {
    const api = await nodeFetch(`${BASE}/health`);
    expect(api.headers.get("content-security-policy")).toBe(
      "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'; sandbox",
    );
    expect(api.headers.get("cross-origin-resource-policy")).toBe("same-origin");
    const docs = await nodeFetch(`${BASE}/docs`);
    const csp = docs.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain("script-src");
  });

  it("the console keeps its own stricter CSP (not overwritten)", async () => {
    const res = await nodeFetch(`${BASE}/console`);
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(res.headers.get("content-security-policy")).toContain("connect-src 'self'");
  });

  it("HSTS only over https (RFC 6797 §7.2: never over plain http, as on a local node)", async () => {
    const res = await nodeFetch("http://node.test/health");
    expect(res.headers.get("strict-transport-security")).toBeNull();
  });
});

describe("caching", () => {
  it("authenticated answers, refusals of authenticated requests and write receipts are no-store", async () => {
    const read = await nodeFetch(`${BASE}/v1/baseline`, { headers: await bearer(platform) });
    expect(read.status).toBe(200);
    expect(read.headers.get("cache-control")).toBe("no-store");
    const refused = await nodeFetch(`${BASE}/v1/audit`, { headers: await bearer(platform) });
    expect(refused.status).toBe(403);
    expect(refused.headers.get("cache-control")).toBe("no-store");
    const write = await authority.client.write("/v1/submissions", "submission.create", {
      items: [pdqItem(randomPdq(r))],
    });
    expect(write.status).toBe(201);
    expect(write.headers.get("cache-control")).toBe("no-store");
  });

  it("public documents keep the caching their route chose", async () => {
    expect((await nodeFetch(`${BASE}/.well-known/jwks.json`)).headers.get("cache-control")).toBe(
      "public, max-age=300",
    );
  });
});

describe("CORS: none, for any origin", () => {
  const origins = ["https://evil.example", "null", BASE];

  it("no Access-Control-Allow-* on simple requests or on preflights, whatever the route", async () => {
    const doc = (await (await nodeFetch(`${BASE}/openapi.json`)).json()) as { paths: Record<string, object> };
    const paths = Object.keys(doc.paths).map((p) => p.replace(/\{[^}]+\}/g, "x"));
    for (const path of paths) {
      for (const origin of origins) {
        const simple = await nodeFetch(`${BASE}${path}`, {
          headers: { origin, ...(await bearer(platform)) },
        });
        const pre = await nodeFetch(`${BASE}${path}`, {
          method: "OPTIONS",
          headers: {
            origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type",
          },
        });
        for (const res of [simple, pre]) {
          for (const name of res.headers.keys())
            expect(name, `${path} from ${origin}`).not.toMatch(/^access-control-/);
          await res.body?.cancel();
        }
        // A preflight is never answered with success.
        expect(pre.status, path).toBeGreaterThanOrEqual(400);
      }
    }
  });
});

describe("no request data in the logs", () => {
  function captureConsole(): () => string {
    const lines: string[] = [];
    for (const m of ["log", "error", "warn", "info", "debug"] as const) {
      vi.spyOn(console, m).mockImplementation((...args: unknown[]) => {
        lines.push(args.map((a) => (a instanceof Error ? `${a.name}: ${a.message}` : String(a))).join(" "));
      });
    }
    return () => lines.join("\n");
  }

  async function renamed<T>(table: string, run: () => Promise<T>): Promise<T> {
    await env.DB.exec(`ALTER TABLE "${table}" RENAME TO "${table}_away";`);
    try {
      return await run();
    } finally {
      await env.DB.exec(`ALTER TABLE "${table}_away" RENAME TO "${table}";`);
    }
  }

  it("a lookup that fails inside the node logs neither the token nor the pseudonyms it asked about", async () => {
    const logs = captureConsole();
    const token = await platform.client.token();
    const selectors = [randomPseudonym(1, "email"), randomPseudonym(1, "handle")];
    const res = await renamed("signal_selectors", () =>
      nodeFetch(`${BASE}/v1/signals/lookup`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ selectors }),
      }),
    );
    const p = await expectProblem(res, 500, "internal_error");
    const out = logs();
    expect(out).toContain(p.requestId); // the failure was logged…
    expect(out).toContain("signal_selectors"); // …usefully (the failing table)…
    for (const secret of [token, token.split(".")[1]!, token.split(".")[2]!, ...selectors]) {
      expect(out).not.toContain(secret); // …and without request data.
    }
    for (const s of selectors) expect(out).not.toContain(s.split(":")[2]!);
  });

  it("a signed write that fails inside the node logs neither the JWS nor its parts", async () => {
    const logs = captureConsole();
    const jws = await signWrite(
      { participantId: authority.id, privateJwk: authority.key.privateJwk },
      env.NODE_ID,
      "submission.create",
      { items: [pdqItem(randomPdq(r))] },
    );
    await env.DB.exec(
      "CREATE TRIGGER eusn_test_log_fault BEFORE INSERT ON records BEGIN SELECT RAISE(ABORT, 'injected'); END;",
    );
    try {
      const res = await nodeFetch(`${BASE}/v1/submissions`, {
        method: "POST",
        headers: { "content-type": "application/jose" },
        body: jws,
      });
      await expectProblem(res, 500, "internal_error");
    } finally {
      await env.DB.exec("DROP TRIGGER eusn_test_log_fault;");
    }
    const out = logs();
    expect(out).toContain("injected");
    for (const part of [jws, ...jws.split(".")]) expect(out).not.toContain(part);
  });

  it("a read that fails inside the node logs no token, and a coordinator's read none either", async () => {
    const logs = captureConsole();
    const tokens = [await platform.client.token(), await coordinator().token()];
    await renamed("submissions", async () => {
      for (const [t, path] of [
        [tokens[0]!, "/v1/baseline"],
        [tokens[1]!, "/v1/curation?queue=eligible"],
      ] as const) {
        const res = await nodeFetch(`${BASE}${path}`, { headers: { authorization: `Bearer ${t}` } });
        await expectProblem(res, 500, "internal_error");
      }
    });
    const out = logs();
    expect(out.length).toBeGreaterThan(0);
    for (const t of tokens) for (const part of [t, ...t.split(".")]) expect(out).not.toContain(part);
  });
});
