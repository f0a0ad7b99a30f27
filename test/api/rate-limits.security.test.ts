// Per-participant rate limits and quotas (workers/api/limits): each request class is limited per
// verified participant, a refusal is a 429 `rate_limited` problem with an exact Retry-After that
// stores nothing and costs nothing, and nobody can spend another participant's quota by sending
// requests in its name. Limits are the node's vars; each test sets low ones on the Worker's env
// (the object the Worker under test reads per request) and restores the defaults afterwards.

import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import {
  basicAuthorization,
  createApiCredential,
  generateApiSecret,
  signAccessToken,
  signWrite,
} from "@eusn/client";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { MatchShard } from "../../workers/api/match/shard.ts";
import { unchanged } from "../helpers/db-state.ts";
import { pdqItem, randomPdq, rng } from "../helpers/hashes.ts";
import { type Admitted, admit, BASE, expectProblem, nodeFetch } from "../helpers/node.ts";

type Vars = Record<string, string | undefined>;
const vars = env as unknown as Vars;
const LIMIT_VARS = ["RATE_LIMIT_WRITE", "RATE_LIMIT_READ", "RATE_LIMIT_MATCH", "RATE_LIMIT_SIGNAL_LOOKUP"];
const saved: Vars = Object.fromEntries(LIMIT_VARS.map((k) => [k, vars[k]]));

function limit(name: string, rules: string) {
  vars[name] = rules;
}

afterEach(() => {
  for (const k of LIMIT_VARS) vars[k] = saved[k];
  vi.useRealTimers();
});

const r = rng(9);
let authority: Admitted;
let platform: Admitted;

beforeAll(async () => {
  authority = await admit("authority", "NL");
  platform = await admit("platform");
});

// A fresh participant per test: each has its own limiter object, so tests do not share buckets.
const fresh = (role: "authority" | "platform") => (role === "authority" ? admit(role, "DE") : admit(role));

const submit = (by: Admitted) =>
  by.client.write<{ receipt: unknown }>("/v1/submissions", "submission.create", {
    items: [pdqItem(randomPdq(r))],
  });

const matchRaw = async (by: Admitted) =>
  nodeFetch(`${BASE}/v1/match`, {
    method: "POST",
    headers: { authorization: `Bearer ${await by.client.token()}`, "content-type": "application/json" },
    body: JSON.stringify({ items: [{ type: "md5", value: "0123456789abcdef0123456789abcdef" }] }),
  });

const getRaw = async (by: Admitted, path: string, headers: Record<string, string> = {}) =>
  nodeFetch(`${BASE}${path}`, {
    headers: { authorization: `Bearer ${await by.client.token()}`, ...headers },
  });

async function rateLimited(res: Response) {
  const p = await expectProblem(res, 429, "rate_limited");
  const retry = Number(res.headers.get("retry-after"));
  expect(Number.isInteger(retry) && retry >= 1, `Retry-After ${res.headers.get("retry-after")}`).toBe(true);
  return { problem: p, retry };
}

describe("writes", () => {
  it("are limited per participant: the next write is a 429 with Retry-After that stores nothing", async () => {
    const a = await fresh("authority");
    limit("RATE_LIMIT_WRITE", "3/min");
    for (let i = 0; i < 3; i++) expect((await submit(a)).status, `write ${i + 1}`).toBe(201);
    const jws = await signWrite(
      { participantId: a.id, privateJwk: a.key.privateJwk },
      env.NODE_ID,
      "submission.create",
      { items: [pdqItem(randomPdq(r))] },
    );
    const res = await unchanged(
      () =>
        nodeFetch(`${BASE}/v1/submissions`, {
          method: "POST",
          headers: { "content-type": "application/jose" },
          body: jws,
        }),
      "a rate-limited write",
    );
    const { problem, retry } = await rateLimited(res);
    // 3 per minute: one more every 20 s after the burst, so the wait is at most 20 s.
    expect(retry).toBeLessThanOrEqual(20);
    expect(problem.detail).toContain("3 write requests per minute");
    // Another participant has its own quota.
    expect((await submit(authority)).status).toBe(201);
  });

  it("a refused write costs nothing, and the same signed write is accepted once the wait is over", async () => {
    const a = await fresh("authority");
    limit("RATE_LIMIT_WRITE", "1/min");
    const t0 = Date.now();
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(t0);
    expect((await submit(a)).status).toBe(201);
    const jws = await signWrite(
      { participantId: a.id, privateJwk: a.key.privateJwk },
      env.NODE_ID,
      "submission.create",
      { items: [pdqItem(randomPdq(r))] },
    );
    const post = () =>
      nodeFetch(`${BASE}/v1/submissions`, {
        method: "POST",
        headers: { "content-type": "application/jose" },
        body: jws,
      });
    // Hammering while limited does not push the wait further out.
    let retry = 0;
    for (let i = 0; i < 5; i++) retry = (await rateLimited(await post())).retry;
    expect(retry).toBe(60);
    vi.setSystemTime(t0 + 60_000);
    expect((await post()).status).toBe(201);
  });

  it("a daily quota holds across minutes, with Retry-After until a unit of quota is back", async () => {
    const a = await fresh("authority");
    limit("RATE_LIMIT_WRITE", "100/min, 2/day");
    const t0 = Date.now();
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(t0);
    expect((await submit(a)).status).toBe(201);
    vi.setSystemTime(t0 + 5 * 60_000);
    expect((await submit(a)).status).toBe(201);
    vi.setSystemTime(t0 + 10 * 60_000);
    const { problem, retry } = await rateLimited(await nodeFetchWrite(a));
    expect(problem.detail).toContain("2 write requests per day");
    // Two per day: one comes back 12 h after the first was charged.
    expect(retry).toBe(12 * 3600 - 10 * 60);
  });
});

async function nodeFetchWrite(a: Admitted) {
  const jws = await signWrite(
    { participantId: a.id, privateJwk: a.key.privateJwk },
    env.NODE_ID,
    "submission.create",
    { items: [pdqItem(randomPdq(r))] },
  );
  return nodeFetch(`${BASE}/v1/submissions`, {
    method: "POST",
    headers: { "content-type": "application/jose" },
    body: jws,
  });
}

const matchBody = async (by: Admitted, body: unknown) =>
  nodeFetch(`${BASE}/v1/match`, {
    method: "POST",
    headers: { authorization: `Bearer ${await by.client.token()}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
const pdqs = (n: number, variants: number) =>
  Array.from({ length: n }, () => ({
    type: "pdq",
    value: randomPdq(r),
    ...(variants > 0 ? { dihedral: Array.from({ length: variants }, () => randomPdq(r)) } : {}),
  }));

/**
 * Counts the queries the match index (every shard) receives until `restore`: the real `query`
 * runs, wrapped by a counter on the shard class (the shards run in this isolate). A test must also
 * see the count rise for a request that is served, so a counter that missed calls cannot pass.
 */
function countIndexQueries(): { count: () => number; restore: () => void } {
  // Every way into a shard's index: `query` (still images) and `search` (what POST /v1/match
  // calls: still images and the videos they find, scored in the shard).
  const proto = MatchShard.prototype;
  const { query, search } = proto;
  let n = 0;
  proto.query = function (this: MatchShard, ...args: Parameters<MatchShard["query"]>) {
    n++;
    return query.apply(this, args);
  };
  proto.search = function (this: MatchShard, ...args: Parameters<MatchShard["search"]>) {
    n++;
    return search.apply(this, args);
  };
  return {
    count: () => n,
    restore: () => {
      proto.query = query;
      proto.search = search;
    },
  };
}

describe("matches, signal lookups and reads are separate classes", () => {
  it("match requests: the limit refuses before the index is asked and before any accounting", async () => {
    const p = await fresh("platform");
    limit("RATE_LIMIT_MATCH", "2/min");
    for (let i = 0; i < 2; i++) expect((await matchRaw(p)).status, `match ${i + 1}`).toBe(200);
    await rateLimited(await unchanged(() => matchRaw(p), "a rate-limited match"));
    // Reads are another class: the platform can still read its reversals.
    expect((await getRaw(p, "/v1/reversals")).status).toBe(200);
    // And another platform can match.
    expect((await matchRaw(platform)).status).toBe(200);
  });

  it("matches are charged by their work: an expensive batch meets 429 where cheap ones of the same size do not", async () => {
    const heavy = await fresh("platform");
    const light = await fresh("platform");
    limit("RATE_LIMIT_MATCH", "1000/min");
    // 10 items, one hash each, T = 31: 10 units. Twenty of them (200 units) all pass.
    for (let i = 0; i < 20; i++)
      expect((await matchBody(light, { threshold: 31, items: pdqs(10, 0) })).status, `cheap ${i}`).toBe(200);
    // The same 10 items with 7 dihedral variants each at T = 52: 10 x 8 x 8 = 640 units. One fits
    // the burst of 1,000; the second is refused before the index is asked and stores nothing.
    const expensive = { threshold: 52, items: pdqs(10, 7) };
    expect((await matchBody(heavy, expensive)).status).toBe(200);
    const { problem } = await rateLimited(
      await unchanged(() => matchBody(heavy, expensive), "an expensive match"),
    );
    expect(problem.detail).toContain("this request costs 640");
    // What is left of the heavy platform's bucket still serves a cheap batch (360 units left)…
    expect((await matchBody(heavy, { threshold: 31, items: pdqs(10, 0) })).status).toBe(200);
    // …and the cheap platform's own quota is untouched by the heavy one.
    expect((await matchBody(light, { threshold: 31, items: pdqs(10, 0) })).status).toBe(200);
  });

  it("the index-cost attack (1,000 items x 7 dihedral variants at T = 63, scope all) is refused by the default limit before the index is asked", async () => {
    // No limit() here: the node's configured default (wrangler.toml) is what is attacked.
    const attacker = await fresh("platform");
    const index = countIndexQueries();
    try {
      const attack = { scope: "all", threshold: 63, items: pdqs(1000, 7) };
      for (let i = 0; i < 3; i++) {
        const res = await unchanged(() => matchBody(attacker, attack), `the index-cost attack, ${i + 1}`);
        const problem = await expectProblem(res, 413, "payload_too_large");
        expect(problem.detail).toContain("costs 64000 match units");
        expect(res.headers.get("retry-after")).toBeNull();
      }
      expect(index.count(), "index queries for the refused attack").toBe(0);
      // The largest ordinary batch above T = 31 (1,000 single hashes, 8,000 units) is served…
      const largest = { scope: "all", threshold: 63, items: pdqs(1000, 0) };
      expect((await matchBody(attacker, largest)).status).toBe(200);
      expect(index.count(), "index queries for the served batch").toBe(1);
      // …and the next one at once waits for the burst to refill (8,000 per 5 s), index not asked.
      const { retry } = await rateLimited(
        await unchanged(() => matchBody(attacker, largest), "a second batch at once"),
      );
      expect(retry).toBeLessThanOrEqual(5);
      expect(index.count()).toBe(1);
    } finally {
      index.restore();
    }
    // Another platform's matches are not held up by the attacker's quota.
    expect((await matchRaw(platform)).status).toBe(200);
  });

  it("a match that costs more than a whole burst is refused as too large, not told to wait", async () => {
    const p = await fresh("platform");
    limit("RATE_LIMIT_MATCH", "100/min");
    const body = {
      threshold: 63,
      items: Array.from({ length: 2 }, () => ({
        type: "pdq",
        value: randomPdq(r),
        dihedral: Array.from({ length: 7 }, () => randomPdq(r)),
      })),
    };
    const res = await unchanged(
      async () =>
        nodeFetch(`${BASE}/v1/match`, {
          method: "POST",
          headers: { authorization: `Bearer ${await p.client.token()}`, "content-type": "application/json" },
          body: JSON.stringify(body),
        }),
      "a match larger than the burst",
    );
    const problem = await expectProblem(res, 413, "payload_too_large");
    expect(problem.detail).toContain("costs 128 match units");
    expect(res.headers.get("retry-after")).toBeNull();
    // Nothing was charged: a request within the burst still passes at once.
    expect((await matchRaw(p)).status).toBe(200);
  });

  it("signal lookups: this layer refuses before the body is validated and before the signals policy counts", async () => {
    const p = await fresh("platform");
    limit("RATE_LIMIT_SIGNAL_LOOKUP", "1/min");
    const lookup = async (body: unknown) =>
      nodeFetch(`${BASE}/v1/signals/lookup`, {
        method: "POST",
        headers: { authorization: `Bearer ${await p.client.token()}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    // A URL-only lookup needs no selector key: it is served and charged to both layers.
    expect((await lookup({ urls: ["https://t.me/example_channel"] })).status).toBe(200);
    // The next is refused here, whatever the body (even an invalid one), and the signals
    // policy's own counter (signal_rate_windows) is not charged for it.
    await rateLimited(await unchanged(() => lookup({ urls: [] }), "a rate-limited lookup"));
    // Matching is a different class.
    expect((await matchRaw(p)).status).toBe(200);
  });

  it("bearer reads, TAXII included, share the read class", async () => {
    const p = await fresh("platform");
    limit("RATE_LIMIT_READ", "2/min");
    expect((await getRaw(p, "/v1/baseline")).status).toBe(200);
    expect((await getRaw(p, "/taxii2/", { accept: "application/taxii+json;version=2.1" })).status).toBe(200);
    const res = await getRaw(p, "/v1/signals/keys");
    await rateLimited(res);
    const taxii = await getRaw(p, "/taxii2/", { accept: "application/taxii+json;version=2.1" });
    expect(taxii.status).toBe(429);
    expect(taxii.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(((await taxii.json()) as { code: string }).code).toBe("rate_limited");
    // Public endpoints need no participant and are not limited per participant.
    expect((await nodeFetch(`${BASE}/v1/participants`)).status).toBe(200);
  });

  it("TAXII reads with an API credential (HTTP Basic) draw on the same read quota; wrong secrets cost nothing", async () => {
    const p = await fresh("platform");
    const cred = await createApiCredential(p.client, { label: "rate-limit test" });
    if (!cred.ok) throw new Error(JSON.stringify(cred.problem));
    const basic = (secret: string) =>
      nodeFetch(`${BASE}/taxii2/`, {
        headers: {
          accept: "application/taxii+json;version=2.1",
          authorization: basicAuthorization(cred.data.username, secret),
        },
      });
    limit("RATE_LIMIT_READ", "2/min");
    // Refused credentials are not charged to the participant they name.
    for (let i = 0; i < 3; i++) expect((await basic(generateApiSecret())).status).toBe(401);
    expect((await basic(cred.data.secret)).status).toBe(200);
    expect((await getRaw(p, "/v1/baseline")).status).toBe(200); // the same bucket, by bearer
    const refused = await basic(cred.data.secret);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(((await refused.json()) as { code: string }).code).toBe("rate_limited");
    await rateLimited(await getRaw(p, "/v1/reversals"));
  });
});

describe("nobody can spend another participant's quota", () => {
  it("requests in a participant's name that fail verification are not charged to it", async () => {
    const victim = await fresh("platform");
    const attacker = await fresh("platform");
    limit("RATE_LIMIT_READ", "1/min");
    limit("RATE_LIMIT_WRITE", "1/min");
    // Tokens that claim to be the victim but are signed by the attacker's key (under the
    // victim's kid, and under the attacker's own kid), a token with a tampered payload, and a
    // signed write in the victim's name: all refused before anyone is charged.
    const victimKid = victim.key.kid;
    const forged = [
      await signAccessToken({ participantId: victim.id, privateJwk: attacker.key.privateJwk }, env.NODE_ID, {
        header: { kid: victimKid },
      }),
      await signAccessToken({ participantId: victim.id, privateJwk: attacker.key.privateJwk }, env.NODE_ID),
      await signAccessToken(
        { participantId: victim.id, privateJwk: victim.key.privateJwk },
        "eusn-some-other-node",
      ),
    ];
    for (let i = 0; i < 20; i++) {
      const res = await nodeFetch(`${BASE}/v1/baseline`, {
        headers: { authorization: `Bearer ${forged[i % forged.length]}` },
      });
      expect(res.status, `forged read ${i}`).toBe(401);
    }
    for (let i = 0; i < 5; i++) {
      const jws = await signWrite(
        { participantId: victim.id, privateJwk: attacker.key.privateJwk },
        env.NODE_ID,
        "signal.enckey.set",
        {},
        { header: { kid: victimKid } },
      );
      const res = await nodeFetch(`${BASE}/v1/signals/enc-keys`, {
        method: "POST",
        headers: { "content-type": "application/jose" },
        body: jws,
      });
      expect(res.status, `forged write ${i}`).toBe(401);
    }
    // The victim's own single read and single write of the minute still go through.
    expect((await getRaw(victim, "/v1/baseline")).status).toBe(200);
    const keys = await import("@eusn/client").then((m) => m.generateEncKeyPair());
    const own = await import("@eusn/client").then((m) => m.setEncKey(victim.client, keys.publicJwk));
    expect(own.status).toBe(201);
  });

  it("requests refused for their role or their body do not count as writes either", async () => {
    const p = await fresh("platform");
    limit("RATE_LIMIT_WRITE", "1/min");
    // A platform may not submit hashes (403), and an invalid record is a 400: neither is charged.
    for (let i = 0; i < 3; i++) {
      const res = await p.client.write("/v1/submissions", "submission.create", {
        items: [pdqItem(randomPdq(r))],
      });
      expect(res.status).toBe(403);
      const bad = await p.client.write("/v1/signals/enc-keys", "signal.enckey.set", { jwk: 42 });
      expect(bad.status).toBe(400);
    }
    const keys = await import("@eusn/client").then((m) => m.generateEncKeyPair());
    expect((await import("@eusn/client").then((m) => m.setEncKey(p.client, keys.publicJwk))).status).toBe(
      201,
    );
  });
});

describe("durability", () => {
  it("a participant's charges survive its limiter object being evicted (a daily quota is not reset by going idle)", async () => {
    const p = await fresh("platform");
    limit("RATE_LIMIT_MATCH", "1000/min, 2/day");
    for (let i = 0; i < 2; i++) expect((await matchRaw(p)).status).toBe(200);
    const stub = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(p.id));
    await evictDurableObject(stub);
    const { problem } = await rateLimited(await matchRaw(p));
    expect(problem.detail).toContain("2 match requests per day");
  });
});

describe("configuration", () => {
  it("a malformed limit is a loud server error, never silently no limit", async () => {
    const p = await fresh("platform");
    limit("RATE_LIMIT_READ", "lots per minute");
    const res = await getRaw(p, "/v1/baseline");
    const problem = await expectProblem(res, 500, "internal_error");
    expect(problem.detail).toContain("misconfigured");
  });

  it("'off' disables a class", async () => {
    const p = await fresh("platform");
    limit("RATE_LIMIT_READ", "off");
    for (let i = 0; i < 5; i++) expect((await getRaw(p, "/v1/reversals")).status).toBe(200);
  });
});
