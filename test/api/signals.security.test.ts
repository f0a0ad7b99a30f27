// Tries to break every rule of migration signals: raw personal data instead of pseudonyms,
// over-long expiry, expired signals leaking before the purge, retraction/reversal by the wrong
// party, wrapped-key tampering, the enumeration guard and the rate limit, and the purge itself.
// Each refusal must answer a problem and leave every table exactly as it was.

import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import {
  b64url,
  type EusnClient,
  generateEncKeyPair,
  pseudonymise,
  signAccessToken,
  signWrite,
  wrapSelectorKey,
} from "@eusn/client";
import { JOSE_MEDIA_TYPE, type Problem, SIGNAL_LOOKUP_MAX } from "@eusn/protocol";
import { CompactEncrypt, importJWK, type JWK } from "jose";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import worker from "../../workers/api/index.ts";
import {
  type Admitted,
  admit,
  BASE,
  coordinator,
  expectProblem,
  nodeFetch,
  snapshot,
} from "../helpers/node.ts";
import {
  openKeys,
  publishVersion,
  randomPseudonym,
  SIGNAL_TABLES,
  type SignalPlatform,
  signalPlatform,
} from "../helpers/signals.ts";

const DAY = 86_400;
const nowS = () => Math.floor(Date.now() / 1000);

let origin: SignalPlatform;
let other: SignalPlatform;
let authority: Admitted;
let key: { version: number; key: Uint8Array };
let emailPseudonym: string;

/** Signs `record` as `kind` for `by` and POSTs it; answers the raw Response. */
async function postSigned(by: EusnClient, path: string, kind: string, record: unknown): Promise<Response> {
  const jws = await signWrite(
    { participantId: by.participantId, privateJwk: by.privateJwk },
    env.NODE_ID,
    kind,
    record,
  );
  return nodeFetch(`${BASE}${path}`, {
    method: "POST",
    headers: { "content-type": JOSE_MEDIA_TYPE },
    body: jws,
  });
}

async function bearerHeaders(by: EusnClient | null): Promise<Record<string, string>> {
  if (!by) return {};
  return {
    authorization: `Bearer ${await signAccessToken({ participantId: by.participantId, privateJwk: by.privateJwk }, env.NODE_ID)}`,
  };
}

async function lookupRaw(by: EusnClient | null, body: unknown): Promise<Response> {
  return nodeFetch(`${BASE}/v1/signals/lookup`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(await bearerHeaders(by)) },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function getRaw(by: EusnClient | null, path: string): Promise<Response> {
  return nodeFetch(`${BASE}${path}`, { headers: await bearerHeaders(by) });
}

/** What the cron trigger does: the Worker's own `scheduled` handler, run to completion. */
async function runCron(): Promise<void> {
  const ctx = createExecutionContext();
  await worker.scheduled(
    createScheduledController({ cron: "*/15 * * * *", scheduledTime: Date.now() }),
    env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
}

/** Runs `send`, expects the problem, and checks that no table changed. */
async function refused(
  send: () => Promise<Response>,
  status: number,
  code: string,
): Promise<{ problem: Problem; res: Response }> {
  const before = await snapshot(SIGNAL_TABLES);
  const res = await send();
  const problem = await expectProblem(res, status, code);
  expect(await snapshot(SIGNAL_TABLES)).toEqual(before);
  return { problem, res };
}

const signalRecord = (over: Record<string, unknown> = {}) => ({
  kind: "account_removed",
  keyVersion: 1,
  selectors: [emailPseudonym],
  reason: { tcoLimb: "b" },
  ...over,
});

async function createSignal(
  by: SignalPlatform,
  over: Record<string, unknown> = {},
): Promise<{ signalId: string; recordId: string }> {
  const res = await postSigned(by.client, "/v1/signals", "signal.create", signalRecord(over));
  const body = (await res.json()) as { signalId: string; recordId: string };
  expect(res.status, JSON.stringify(body)).toBe(201);
  return body;
}

beforeAll(async () => {
  origin = await signalPlatform();
  other = await signalPlatform();
  authority = await admit("authority", "NL");
  key = await publishVersion(1);
  const p = await pseudonymise(key, "email", "actor@example.org");
  if (!p.ok) throw new Error(p.reason);
  emailPseudonym = p.pseudonym;
});

afterEach(() => {
  vi.useRealTimers();
});

describe("a signal is refused, storing nothing, when", () => {
  it("a selector is a raw e-mail address (and the problem does not echo it)", async () => {
    const { problem } = await refused(
      () =>
        postSigned(
          origin.client,
          "/v1/signals",
          "signal.create",
          signalRecord({ selectors: ["jane.doe@example.org"] }),
        ),
      400,
      "validation_failed",
    );
    expect(problem.errors?.[0]?.path).toBe("/record/selectors/0");
    expect(JSON.stringify(problem)).not.toContain("jane.doe");
  });

  it.each([
    ["a raw phone number", "+31612345678"],
    ["a raw handle", "@propaganda_channel"],
    ["a raw handle shaped like a pseudonym's tail", "v1:handle:propaganda"],
    ["a digest one character short", `v1:email:${"A".repeat(42)}`.slice(0, -1)],
    ["a non-canonical last character", `v1:email:${"A".repeat(42)}B`],
    ["an unknown selector kind", `v1:name:${"A".repeat(43)}`],
    ["a hex digest", `v1:email:${"ab".repeat(32)}`],
    ["an upper-case prefix", `V1:EMAIL:${"A".repeat(43)}`],
    ["version 0", `v0:email:${"A".repeat(43)}`],
    ["padding", `v1:email:${"A".repeat(43)}=`],
  ])("a selector is %s", async (_what, selector) => {
    await refused(
      () =>
        postSigned(origin.client, "/v1/signals", "signal.create", signalRecord({ selectors: [selector] })),
      400,
      "validation_failed",
    );
  });

  it("a pseudonym was made with another key version than the signal names", async () => {
    await refused(
      () =>
        postSigned(
          origin.client,
          "/v1/signals",
          "signal.create",
          signalRecord({ selectors: [randomPseudonym(2)] }),
        ),
      400,
      "validation_failed",
    );
  });

  it.each([181, 365, 0, 1.5])("expiresInDays is %s", async (days) => {
    await refused(
      () => postSigned(origin.client, "/v1/signals", "signal.create", signalRecord({ expiresInDays: days })),
      400,
      "validation_failed",
    );
  });

  it.each([
    ["tracking parameters", "https://t.me/channel?utm_source=x"],
    ["an upper-case host", "https://T.ME/channel"],
    ["a fragment", "https://t.me/channel#x"],
    ["a javascript: URL", "javascript:alert(1)"],
    ["no host", "https://localhost/x"],
  ])("an out-link has %s", async (_what, url) => {
    await refused(
      () => postSigned(origin.client, "/v1/signals", "signal.create", signalRecord({ outLinks: [url] })),
      400,
      "validation_failed",
    );
  });

  it("it names neither a selector nor an out-link, or repeats a selector", async () => {
    await refused(
      () => postSigned(origin.client, "/v1/signals", "signal.create", signalRecord({ selectors: [] })),
      400,
      "validation_failed",
    );
    await refused(
      () =>
        postSigned(
          origin.client,
          "/v1/signals",
          "signal.create",
          signalRecord({ selectors: [emailPseudonym, emailPseudonym] }),
        ),
      400,
      "validation_failed",
    );
  });

  it("the key version does not exist or no longer takes new signals", async () => {
    await refused(
      () =>
        postSigned(
          origin.client,
          "/v1/signals",
          "signal.create",
          signalRecord({ keyVersion: 9, selectors: [randomPseudonym(9)] }),
        ),
      422,
      "unprocessable",
    );
  });

  it("the target is not an active platform, or is the origin itself", async () => {
    for (const targetPlatformId of [authority.id, origin.id, "par_nosuchparticipant"]) {
      await refused(
        () => postSigned(origin.client, "/v1/signals", "signal.create", signalRecord({ targetPlatformId })),
        422,
        "unprocessable",
      );
    }
  });

  it("it is signed by an authority or a coordinator", async () => {
    await refused(
      () => postSigned(authority.client, "/v1/signals", "signal.create", signalRecord()),
      403,
      "forbidden",
    );
    await refused(
      () => postSigned(coordinator(), "/v1/signals", "signal.create", signalRecord()),
      403,
      "forbidden",
    );
  });
});

describe("a lookup is refused, storing nothing, when", () => {
  it("there is no token — before the body is even looked at", async () => {
    await refused(() => lookupRaw(null, "not json"), 401, "unauthenticated");
  });

  it("the caller is not a platform", async () => {
    await refused(() => lookupRaw(authority.client, { selectors: [emailPseudonym] }), 403, "forbidden");
    await refused(() => lookupRaw(coordinator(), { selectors: [emailPseudonym] }), 403, "forbidden");
  });

  it("a selector is a raw e-mail address or phone number", async () => {
    await refused(
      () => lookupRaw(other.client, { selectors: ["jane.doe@example.org"] }),
      400,
      "validation_failed",
    );
    await refused(() => lookupRaw(other.client, { selectors: ["+31612345678"] }), 400, "validation_failed");
  });

  it("it asks about more than 1,000 things, or nothing", async () => {
    const selectors = Array.from({ length: SIGNAL_LOOKUP_MAX }, () => randomPseudonym(1));
    await refused(
      () => lookupRaw(other.client, { selectors, urls: ["https://t.me/x"] }),
      400,
      "validation_failed",
    );
    await refused(() => lookupRaw(other.client, {}), 400, "validation_failed");
  });

  it("a pseudonym names a key version that was never published, or a URL is not http(s)", async () => {
    await refused(
      () => lookupRaw(other.client, { selectors: [randomPseudonym(7)] }),
      400,
      "validation_failed",
    );
    await refused(() => lookupRaw(other.client, { urls: ["javascript:alert(1)"] }), 400, "validation_failed");
  });
});

describe("reads need a participant token", () => {
  it.each(["/v1/signals/targeted", "/v1/signals/reversals", "/v1/signals/keys", "/v1/signals/enc-keys"])(
    "%s",
    async (path) => {
      await refused(() => getRaw(null, path), 401, "unauthenticated");
    },
  );

  it("only a coordinator lists encryption keys; an authority cannot fetch selector keys", async () => {
    await refused(() => getRaw(origin.client, "/v1/signals/enc-keys"), 403, "forbidden");
    await refused(() => getRaw(authority.client, "/v1/signals/keys"), 403, "forbidden");
  });
});

describe("withdrawing a signal", () => {
  let signalId: string;
  beforeAll(async () => {
    ({ signalId } = await createSignal(origin, { outLinks: ["https://withdraw.example/c"] }));
  });

  it("another platform cannot retract it", async () => {
    await refused(
      () => postSigned(other.client, `/v1/signals/${signalId}/retract`, "signal.retract", { signalId }),
      403,
      "forbidden",
    );
    const still = await lookupRaw(other.client, { urls: ["https://withdraw.example/c"] });
    expect(((await still.json()) as { hits: unknown[] }).hits).toHaveLength(1);
  });

  it("a coordinator cannot retract it in the platform's name, and neither a platform nor an authority can reverse it", async () => {
    await refused(
      () => postSigned(coordinator(), `/v1/signals/${signalId}/retract`, "signal.retract", { signalId }),
      403,
      "forbidden",
    );
    const reverse = { signalId, ground: "appeal_upheld", reason: "appeal upheld" };
    await refused(
      () => postSigned(origin.client, `/v1/signals/${signalId}/reverse`, "signal.reverse", reverse),
      403,
      "forbidden",
    );
    await refused(
      () => postSigned(authority.client, `/v1/signals/${signalId}/reverse`, "signal.reverse", reverse),
      403,
      "forbidden",
    );
  });

  it("the record must name the signal in the path, which must exist", async () => {
    const { signalId: otherId } = await createSignal(origin, { outLinks: ["https://withdraw.example/d"] });
    await refused(
      () =>
        postSigned(origin.client, `/v1/signals/${signalId}/retract`, "signal.retract", { signalId: otherId }),
      400,
      "bad_request",
    );
    const missing = "sig_00000000000000000000000000";
    await refused(
      () =>
        postSigned(origin.client, `/v1/signals/${missing}/retract`, "signal.retract", { signalId: missing }),
      404,
      "not_found",
    );
  });

  it("it cannot be withdrawn twice", async () => {
    const res = await postSigned(origin.client, `/v1/signals/${signalId}/retract`, "signal.retract", {
      signalId,
    });
    expect(res.status).toBe(201);
    await refused(
      () =>
        postSigned(coordinator(), `/v1/signals/${signalId}/reverse`, "signal.reverse", {
          signalId,
          ground: "error",
          reason: "duplicate",
        }),
      409,
      "conflict",
    );
  });
});

describe("selector keys", () => {
  const now = () => nowS();

  it("only a coordinator publishes a version, and versions only go up", async () => {
    const rec = { version: 5, validFrom: now(), validUntil: now() + 30 * DAY, wrapped: [] };
    await refused(
      () => postSigned(origin.client, "/v1/signals/keys", "signal.key.publish", rec),
      403,
      "forbidden",
    );
    await refused(
      () => postSigned(coordinator(), "/v1/signals/keys", "signal.key.publish", { ...rec, version: 1 }),
      409,
      "conflict",
    );
  });

  it("a wrap must go to an active platform's registered encryption key, with the one accepted algorithm", async () => {
    const base = { version: 6, validFrom: now(), validUntil: now() + 30 * DAY };
    const k = { version: 6, key: crypto.getRandomValues(new Uint8Array(32)) };
    const stranger = await generateEncKeyPair();
    // Wrapped to a key the platform never registered.
    const wrongKey = await wrapSelectorKey(k, { participantId: origin.id, jwk: stranger.publicJwk });
    // Wrapped for an authority.
    const notPlatform = await wrapSelectorKey(k, { participantId: authority.id, jwk: stranger.publicJwk });
    // Right key, but with direct key agreement instead of key wrapping.
    const direct = await new CompactEncrypt(new TextEncoder().encode("{}"))
      .setProtectedHeader({ alg: "ECDH-ES", enc: "A256GCM", kid: origin.enc.kid })
      .encrypt(await importJWK(origin.enc.publicJwk as JWK, "ECDH-ES"));
    for (const wrapped of [
      [wrongKey],
      [notPlatform],
      [{ participantId: origin.id, kid: origin.enc.kid, jwe: direct }],
      [
        await wrapSelectorKey(k, { participantId: origin.id, jwk: origin.enc.publicJwk }),
        await wrapSelectorKey(k, { participantId: origin.id, jwk: origin.enc.publicJwk }),
      ],
    ]) {
      await refused(
        () => postSigned(coordinator(), "/v1/signals/keys", "signal.key.publish", { ...base, wrapped }),
        400,
        "validation_failed",
      );
    }
  });

  it("a platform sets only its own encryption key, a valid P-256 public key", async () => {
    const pair = await generateEncKeyPair();
    await refused(
      () =>
        postSigned(origin.client, "/v1/signals/enc-keys", "signal.enckey.set", {
          participantId: other.id,
          jwk: pair.publicJwk,
        }),
      403,
      "forbidden",
    );
    const offCurve = { ...pair.publicJwk, kid: undefined, y: b64url(new Uint8Array(32).fill(7)) };
    await refused(
      () =>
        postSigned(origin.client, "/v1/signals/enc-keys", "signal.enckey.set", {
          participantId: origin.id,
          jwk: offCurve,
        }),
      400,
      "validation_failed",
    );
    await refused(
      () =>
        postSigned(origin.client, "/v1/signals/enc-keys", "signal.enckey.set", {
          participantId: origin.id,
          jwk: pair.privateJwk,
        }),
      400,
      "validation_failed",
    );
    await refused(
      () =>
        postSigned(other.client, "/v1/signals/enc-keys", "signal.enckey.set", {
          participantId: other.id,
          jwk: origin.enc.publicJwk,
        }),
      409,
      "conflict",
    );
  });
});

describe("expiry and purge", () => {
  it("never returns an expired signal, even before the purge; the purge then deletes it all and logs counts only", async () => {
    const target = await signalPlatform();
    const p = await pseudonymise(key, "handle", "@short_lived");
    if (!p.ok) throw new Error(p.reason);
    const url = "https://expiry.example/channel";
    const { signalId, recordId } = await createSignal(origin, {
      selectors: [p.pseudonym],
      outLinks: [url],
      targetPlatformId: target.id,
      expiresInDays: 1,
    });
    const pulled = await target.client.get<{ signals: { id: string }[] }>("/v1/signals/targeted");
    expect(pulled.ok && pulled.data.signals.map((s) => s.id)).toEqual([signalId]);
    const hit = await lookupRaw(other.client, { selectors: [p.pseudonym] });
    expect(((await hit.json()) as { hits: unknown[] }).hits).toHaveLength(1);
    // A reversal the fetchers can see while the signal lives.
    const rev = await postSigned(coordinator(), `/v1/signals/${signalId}/reverse`, "signal.reverse", {
      signalId,
      ground: "court_ruling",
      reason: "court ordered removal of the signal",
    });
    expect(rev.status).toBe(201);
    const revs = await target.client.get<{ reversals: { signalId: string }[] }>("/v1/signals/reversals");
    expect(revs.ok && revs.data.reversals.map((r) => r.signalId)).toEqual([signalId]);
    // A second, unreversed signal with the same selector, so a lookup would find it if expiry were ignored.
    const { signalId: liveTwin } = await createSignal(origin, {
      selectors: [p.pseudonym],
      outLinks: [url],
      targetPlatformId: target.id,
      expiresInDays: 1,
    });

    // One day and a second later: expired, not yet purged.
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime((nowS() + DAY + 1) * 1000);
    const stored = await env.DB.prepare("SELECT count(*) AS n FROM signals WHERE id IN (?, ?)")
      .bind(signalId, liveTwin)
      .first<{ n: number }>();
    expect(stored?.n).toBe(2);
    const miss = (await (
      await lookupRaw(other.client, { selectors: [p.pseudonym], urls: [url] })
    ).json()) as {
      hits: unknown[];
      signals: unknown[];
    };
    expect(miss.hits).toEqual([]);
    expect(miss.signals).toEqual([]);
    const pull = await target.client.get<{ signals: unknown[] }>("/v1/signals/targeted");
    expect(pull.ok && pull.data.signals).toEqual([]);
    await expectProblem(await getRaw(origin.client, `/v1/signals/${liveTwin}`), 404, "not_found");
    const revsLater = await target.client.get<{ reversals: unknown[] }>("/v1/signals/reversals");
    expect(revsLater.ok && revsLater.data.reversals).toEqual([]);
    await refused(
      () =>
        postSigned(origin.client, `/v1/signals/${liveTwin}/retract`, "signal.retract", {
          signalId: liveTwin,
        }),
      404,
      "not_found",
    );

    // The cron trigger runs.
    const auditBefore = await env.DB.prepare("SELECT max(seq) AS s FROM audit_log").first<{ s: number }>();
    await runCron();
    for (const [table, col] of [
      ["signals", "id"],
      ["signal_selectors", "signal_id"],
      ["signal_out_links", "signal_id"],
      ["signal_fetches", "signal_id"],
      ["signal_reversals", "signal_id"],
    ] as const) {
      const n = await env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE ${col} IN (?, ?)`)
        .bind(signalId, liveTwin)
        .first<{ n: number }>();
      expect(n?.n, table).toBe(0);
    }
    const rec = await env.DB.prepare("SELECT count(*) AS n FROM records WHERE id = ?").bind(recordId).first<{
      n: number;
    }>();
    expect(rec?.n).toBe(0);
    const tables = await env.DB.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'",
    ).all<{ name: string }>();
    for (const { name } of tables.results) {
      const dump = JSON.stringify((await env.DB.prepare(`SELECT * FROM "${name}"`).all()).results);
      expect(dump.includes(p.pseudonym), name).toBe(false);
      expect(dump.includes(url), name).toBe(false);
    }
    const entries = await env.DB.prepare("SELECT * FROM audit_log WHERE seq > ? ORDER BY seq")
      .bind(auditBefore?.s ?? 0)
      .all<{
        kind: string;
        actor: string;
        detail: string;
        record_id: string | null;
        subject_id: string | null;
      }>();
    expect(entries.results).toHaveLength(1);
    const entry = entries.results[0]!;
    expect(entry).toMatchObject({ kind: "signal.purge", actor: "system", record_id: null, subject_id: null });
    const detail = JSON.parse(entry.detail) as Record<string, unknown>;
    expect(Object.keys(detail).sort()).toEqual(
      [
        "fetches",
        "guardRows",
        "outLinks",
        "rateWindows",
        "records",
        "reversals",
        "selectors",
        "signals",
      ].sort(),
    );
    for (const v of Object.values(detail)) expect(typeof v).toBe("number");
    // The two signals above (every other signal in this file lives 90 days). The reversed one's
    // selector and out-link rows already went at its reversal; its twin's go now.
    expect(detail).toMatchObject({
      signals: 2,
      records: 2,
      selectors: 1,
      outLinks: 1,
      fetches: 2,
      reversals: 1,
    });
    for (const s of [signalId, liveTwin, p.pseudonym, url]) expect(entry.detail).not.toContain(s);
    // The audit trail itself still shows that the signals were made (hash only, no body).
    const made = await env.DB.prepare("SELECT count(*) AS n FROM audit_log WHERE record_id = ?")
      .bind(recordId)
      .first<{ n: number }>();
    expect(made?.n).toBe(1);

    // Nothing left to purge: no further entry.
    await runCron();
    const after = await env.DB.prepare("SELECT count(*) AS n FROM audit_log WHERE seq > ?")
      .bind(auditBefore?.s ?? 0)
      .first<{ n: number }>();
    expect(after?.n).toBe(1);
  });
});

describe("abuse limits", () => {
  /** Freezes the clock 5 s into a fresh minute (so a test's requests share one rate window). */
  function freezeAtMinuteStart(offsetDays = 0): number {
    const t = (Math.floor(Date.now() / 60_000) + 2) * 60_000 + 5_000 + offsetDays * DAY * 1000;
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(t);
    return t;
  }

  it("refuses more distinct selectors per day than the policy allows, with Retry-After until UTC midnight", async () => {
    const p = await signalPlatform();
    const limit = Number(env.SIGNAL_MAX_DISTINCT_SELECTORS_PER_DAY ?? 5000);
    const t = freezeAtMinuteStart();
    const first: string[] = [];
    for (let used = 0; used < limit; used += SIGNAL_LOOKUP_MAX) {
      const batch = Array.from({ length: Math.min(SIGNAL_LOOKUP_MAX, limit - used) }, () =>
        randomPseudonym(1),
      );
      if (first.length === 0) first.push(...batch);
      const res = await lookupRaw(p.client, { selectors: batch });
      expect(res.status).toBe(200);
      await res.body?.cancel();
    }
    const { problem, res } = await refused(
      () => lookupRaw(p.client, { selectors: [randomPseudonym(1)] }),
      429,
      "enumeration_limit",
    );
    expect(problem.detail).toContain(String(limit));
    const retry = Number(res.headers.get("retry-after"));
    const toMidnight = 86_400 - (Math.floor(t / 1000) % 86_400);
    expect(retry).toBe(toMidnight);
    // Selectors already looked up today may be asked again (the count is of distinct ones),
    // and URLs are counted on a budget of their own.
    const again = await lookupRaw(p.client, {
      selectors: first.slice(0, 10),
      urls: ["https://t.me/anything"],
    });
    expect(again.status).toBe(200);
    // Another platform is not affected.
    const fine = await lookupRaw(other.client, { selectors: [randomPseudonym(1)] });
    expect(fine.status).toBe(200);
    // The next UTC day the count starts over.
    vi.setSystemTime(t + toMidnight * 1000 + 1000);
    const tomorrow = await lookupRaw(p.client, { selectors: [randomPseudonym(1)] });
    expect(tomorrow.status).toBe(200);
  });

  it("cannot be raced: 40 concurrent lookups of 1,000 fresh selectors each get exactly the daily limit answered", async () => {
    const p = await signalPlatform();
    const limit = Number(env.SIGNAL_MAX_DISTINCT_SELECTORS_PER_DAY ?? 5000);
    freezeAtMinuteStart();
    const batches = Array.from({ length: 40 }, () =>
      Array.from({ length: SIGNAL_LOOKUP_MAX }, () => randomPseudonym(1)),
    );
    const answers = await Promise.all(batches.map((selectors) => lookupRaw(p.client, { selectors })));
    const statuses = await Promise.all(
      answers.map(async (res) => {
        if (res.status === 429) expect(((await res.json()) as Problem).code).toBe("enumeration_limit");
        else await res.body?.cancel();
        return res.status;
      }),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(limit / SIGNAL_LOOKUP_MAX);
    expect(statuses.filter((s) => s === 429)).toHaveLength(40 - limit / SIGNAL_LOOKUP_MAX);
    const counted = await env.DB.prepare(
      "SELECT count(*) AS n FROM signal_lookup_guard WHERE platform_id = ?",
    )
      .bind(p.id)
      .first<{ n: number }>();
    expect(counted?.n).toBe(limit);
  });

  it("counts distinct URLs looked up per day too, against a budget of their own", async () => {
    const p = await signalPlatform();
    const limit = Number(env.SIGNAL_MAX_DISTINCT_SELECTORS_PER_DAY ?? 5000);
    freezeAtMinuteStart();
    let n = 0;
    const urls = (k: number) => Array.from({ length: k }, () => `https://t.me/channel_${p.id}_${n++}`);
    for (let used = 0; used < limit; used += SIGNAL_LOOKUP_MAX) {
      const res = await lookupRaw(p.client, { urls: urls(SIGNAL_LOOKUP_MAX) });
      expect(res.status).toBe(200);
      await res.body?.cancel();
    }
    // Refused as a whole: the fresh selector beside the URL is not recorded either.
    const { problem } = await refused(
      () => lookupRaw(p.client, { selectors: [randomPseudonym(1)], urls: urls(1) }),
      429,
      "enumeration_limit",
    );
    expect(problem.detail).toMatch(/URLs/);
    // The same URL in another spelling is the same URL (counted after normalisation).
    const again = await lookupRaw(p.client, { urls: ["HTTPS://T.ME/channel_" + p.id + "_0?utm_source=x"] });
    expect(again.status).toBe(200);
    // Selectors keep their own budget.
    expect((await lookupRaw(p.client, { selectors: [randomPseudonym(1)] })).status).toBe(200);
  });

  it("rate-limits lookups per platform per minute, answering 429 with Retry-After", async () => {
    const p = await signalPlatform();
    const perMinute = Number(env.SIGNAL_LOOKUPS_PER_MINUTE ?? 60);
    freezeAtMinuteStart();
    const ask = { selectors: [emailPseudonym] };
    for (let i = 0; i < perMinute; i++) {
      const res = await lookupRaw(p.client, ask);
      expect(res.status, `request ${i + 1}`).toBe(200);
      await res.body?.cancel();
    }
    const { res } = await refused(() => lookupRaw(p.client, ask), 429, "rate_limited");
    expect(res.headers.get("retry-after")).toBe("55");
    // Another platform has its own window.
    expect((await lookupRaw(other.client, ask)).status).toBe(200);
    // The next minute the platform may ask again.
    vi.setSystemTime(Date.now() + 55_000);
    expect((await lookupRaw(p.client, ask)).status).toBe(200);
  });

  it("the scheduled purge also clears old guard rows and rate windows, counting them", async () => {
    const before = await env.DB.prepare("SELECT count(*) AS n FROM signal_lookup_guard").first<{
      n: number;
    }>();
    expect(before?.n).toBeGreaterThan(0);
    freezeAtMinuteStart(3);
    const auditBefore = await env.DB.prepare("SELECT max(seq) AS s FROM audit_log").first<{ s: number }>();
    await runCron();
    const guard = await env.DB.prepare("SELECT count(*) AS n FROM signal_lookup_guard").first<{
      n: number;
    }>();
    const windows = await env.DB.prepare("SELECT count(*) AS n FROM signal_rate_windows").first<{
      n: number;
    }>();
    expect(guard?.n).toBe(0);
    expect(windows?.n).toBe(0);
    const entry = await env.DB.prepare("SELECT detail FROM audit_log WHERE seq > ? AND kind = 'signal.purge'")
      .bind(auditBefore?.s ?? 0)
      .first<{ detail: string }>();
    expect(JSON.parse(entry!.detail)).toMatchObject({ guardRows: before!.n });
  });
});

describe("an open key", () => {
  it("opens only for its platform: another platform's private key cannot unwrap it", async () => {
    const keys = await openKeys(origin);
    expect(keys.keys).toHaveLength(1);
    await expect(
      openKeys({ ...other, enc: { ...other.enc, privateJwk: origin.enc.privateJwk } }),
    ).rejects.toThrow();
  });
});
