// Push instead of poll: webhooks registered with a signed record receive, at a real HTTP receiver
// on the loopback network (test/helpers/webhook-receiver.ts), each event they asked for as a
// compact JWS signed by the node key that verifies against /.well-known/jwks.json — reversals of
// entries the platform matched (and of every entry for authorities), targeted migration signals
// and new baseline versions — retried with exponential backoff by the dispatcher's Durable Object
// alarm until the receiver accepts (the receiver fails the first N times), given up after
// WEBHOOK_MAX_ATTEMPTS, and visible with their state through GET /v1/webhooks.
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { pseudonymise, submitSignal } from "@eusn/client";
import type {
  Reversal,
  SubmitResult,
  WebhookDeliveryClaims,
  WebhookDeliveryList,
  WebhookList,
  WriteReceipt,
} from "@eusn/protocol";
import { compactVerify, createLocalJWKSet, type JSONWebKeySet } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import worker from "../../workers/api/index.ts";
import { pdqItem, randomPdq, rng } from "../helpers/hashes.ts";
import { type Admitted, admit, BASE, coordinator, must, nodeFetch } from "../helpers/node.ts";
import { publishVersion, type SignalPlatform, signalPlatform } from "../helpers/signals.ts";

const RECEIVER = env.TEST_WEBHOOK_RECEIVER;
const r = rng(5151);

type Received = { at: number; status: number; headers: Record<string, string>; body: string };
const received = async (name: string): Promise<Received[]> =>
  (await fetch(`${RECEIVER}/received/${name}`)).json();

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((res) => setTimeout(res, 100));
  }
}

async function hook(by: Admitted, name: string, events: string[]): Promise<string> {
  return must(
    await by.client.write<WriteReceipt>("/v1/webhooks", "webhook.register", {
      participantId: by.id,
      url: `${RECEIVER}/hook/${name}`,
      events,
      label: name,
    }),
  ).subjectId;
}

/** Verifies a delivery's body against the node's published JWKS, as a receiver does. */
async function verifyDelivery(jws: string): Promise<WebhookDeliveryClaims> {
  const jwks = (await (await nodeFetch(`${BASE}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
  const { payload, protectedHeader } = await compactVerify(jws, createLocalJWKSet(jwks));
  expect(protectedHeader.typ).toBe("eusn-webhook+jws");
  return JSON.parse(new TextDecoder().decode(payload)) as WebhookDeliveryClaims;
}

const deliveries = async (by: Admitted, id: string) =>
  must(await by.client.get<WebhookDeliveryList>(`/v1/webhooks/${id}/deliveries`)).deliveries;

let nl: Admitted;
let de: Admitted;
let matcher: SignalPlatform;
let bystander: Admitted;

async function submit(): Promise<{ id: string; value: string }> {
  const value = randomPdq(r);
  const s = must(
    await nl.client.write<SubmitResult>("/v1/submissions", "submission.create", { items: [pdqItem(value)] }),
  );
  return { id: s.submissions[0]!.id, value };
}

beforeAll(async () => {
  nl = await admit("authority", "NL");
  de = await admit("authority", "DE");
  matcher = await signalPlatform("Pushed Platform");
  bystander = await admit("platform", undefined, { name: "Bystander Platform" });
});

describe("an entry reversed after a platform matched it", () => {
  let entry: { id: string; value: string };
  let matcherHook: string;
  let authorityHook: string;

  beforeAll(async () => {
    // What happened before a webhook existed is never pushed.
    const before = await submit();
    must(
      await coordinator().write(`/v1/submissions/${before.id}/reverse`, "submission.reverse", {
        submissionId: before.id,
        ground: "error",
        reason: "before any webhook",
      }),
    );
    // The receiver fails the first two attempts (503), then accepts.
    matcherHook = await hook(matcher, "matcher?fail=2", ["entry.reversed", "signal.targeted"]);
    await hook(bystander, "bystander", ["entry.reversed"]);
    authorityHook = await hook(de, "authority", ["entry.reversed"]);
    entry = await submit();
    expect(
      must(await matcher.client.match({ scope: "all", items: [{ type: "pdq", value: entry.value }] }))
        .results[0]!.matches,
    ).toHaveLength(1);
    must(
      await coordinator().write(`/v1/submissions/${entry.id}/reverse`, "submission.reverse", {
        submissionId: entry.id,
        ground: "error",
        reason: "wrongly assessed",
      }),
    );
  });

  it("is delivered after two failures, the same signed bytes each time, spaced by growing delays", async () => {
    const got = await until(
      () => received("matcher"),
      (l) => l.some((x) => x.status === 200),
    );
    expect(got.map((g) => g.status)).toEqual([503, 503, 200]);
    expect(new Set(got.map((g) => g.body)).size).toBe(1);
    // Backoff: base 0.2 s, then 0.4 s (WEBHOOK_RETRY_BASE_SECONDS in vitest.config.ts).
    const gaps = [got[1]!.at - got[0]!.at, got[2]!.at - got[1]!.at];
    expect(gaps[0]).toBeGreaterThanOrEqual(190);
    expect(gaps[1]).toBeGreaterThanOrEqual(390);
    expect(got[0]!.headers["content-type"]).toBe("application/jose");
    expect(got[0]!.headers["eusn-event"]).toBe("entry.reversed");
    const claims = await verifyDelivery(got[0]!.body);
    expect(claims).toMatchObject({
      iss: env.NODE_ID,
      aud: matcher.id,
      sub: matcherHook,
      jti: got[0]!.headers["eusn-delivery"],
      event: { type: "entry.reversed", subject: entry.id, change: "reversed" },
    });
    // Ids only: no hash value travels in a push.
    expect(got[0]!.body).not.toContain(entry.value);
  });

  it("shows the delivery's state, attempts and the receiver's answers", async () => {
    const list = await until(
      () => deliveries(matcher, matcherHook),
      (l) => l[0]?.state === "delivered",
    );
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({
      event: "entry.reversed",
      subject: entry.id,
      state: "delivered",
      attempts: 3,
      lastStatus: 200,
      lastError: null,
      nextAttemptAt: null,
    });
    const hooks = must(await matcher.client.get<WebhookList>("/v1/webhooks")).webhooks;
    expect(hooks.find((h) => h.id === matcherHook)?.deliveries).toEqual({
      pending: 0,
      delivered: 1,
      failed: 0,
    });
  });

  it("reaches every authority, and no platform that did not match the entry", async () => {
    const got = await until(
      () => received("authority"),
      (l) => l.length >= 1,
    );
    expect(got).toHaveLength(1);
    expect((await verifyDelivery(got[0]!.body)).event).toMatchObject({
      subject: entry.id,
      type: "entry.reversed",
    });
    expect((await deliveries(de, authorityHook)).map((d) => d.subject)).toEqual([entry.id]);
    expect(await received("bystander")).toEqual([]);
  });
});

describe("targeted signals and baseline versions", () => {
  it("a signal targeted at a platform reaches that platform only", async () => {
    const origin = await signalPlatform("Signalling Platform");
    const key = await publishVersion(1);
    const h = await hook(matcher, "signals", ["signal.targeted"]);
    const p = await pseudonymise(key, "email", "recruiter@example.org");
    if (!p.ok) throw new Error(p.reason);
    const sig = must(
      await submitSignal(origin.client, {
        kind: "migration_announced",
        keyVersion: key.version,
        selectors: [p.pseudonym],
        outLinks: [],
        targetPlatformId: matcher.id,
        relatedSubmissions: [],
        reason: { tcoLimb: "c" },
      }),
    );
    const got = await until(
      () => received("signals"),
      (l) => l.length >= 1,
    );
    expect(got).toHaveLength(1);
    const claims = await verifyDelivery(got[0]!.body);
    expect(claims).toMatchObject({
      aud: matcher.id,
      sub: h,
      event: { type: "signal.targeted", subject: sig.signalId },
    });
    expect(got[0]!.body).not.toContain(p.pseudonym);
  });

  it("an inclusion announces the new baseline version", async () => {
    await hook(bystander, "baseline", ["baseline.version"]);
    const e = await submit();
    const concur = must(
      await de.client.write<WriteReceipt>(`/v1/submissions/${e.id}/assessments`, "assessment.create", {
        submissionId: e.id,
        verdict: "concur",
        limb: "a",
      }),
    );
    must(
      await coordinator().write(`/v1/submissions/${e.id}/decisions`, "baseline.decide", {
        submissionId: e.id,
        decision: "include",
        reason: "both concur",
        assessmentIds: [concur.subjectId],
      }),
    );
    const version = must(await bystander.client.get<{ version: number }>("/v1/baseline")).version;
    const got = await until(
      () => received("baseline"),
      (l) => l.length >= 1,
    );
    const claims = await verifyDelivery(got.at(-1)!.body);
    expect(claims.event).toMatchObject({ type: "baseline.version", subject: String(version) });
  });
});

/** One run of the node's scheduled job (the cron), as Cloudflare runs it. */
async function runCron(): Promise<void> {
  const ctx = createExecutionContext();
  await worker.scheduled(
    createScheduledController({ cron: "*/15 * * * *", scheduledTime: Date.now() }),
    env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
}

describe("an entry whose term ends", () => {
  it("is pushed as the reversals feed shows it: expired, to the platform that matched it, with the new baseline version", async () => {
    const p = await admit("platform", undefined, { name: "Expiry Platform" });
    await hook(p, "expiry", ["entry.reversed", "baseline.version"]);
    const value = randomPdq(r);
    const expiresAt = new Date(Math.ceil((Date.now() + 6000) / 1000) * 1000).toISOString();
    const id = must(
      await nl.client.write<SubmitResult>("/v1/submissions", "submission.create", {
        items: [{ ...pdqItem(value), expiresAt }],
      }),
    ).submissions[0]!.id;
    const concur = must(
      await de.client.write<WriteReceipt>(`/v1/submissions/${id}/assessments`, "assessment.create", {
        submissionId: id,
        verdict: "concur",
        limb: "a",
      }),
    );
    must(
      await coordinator().write(`/v1/submissions/${id}/decisions`, "baseline.decide", {
        submissionId: id,
        decision: "include",
        reason: "both concur, for a limited term",
        assessmentIds: [concur.subjectId],
      }),
    );
    expect(
      must(await p.client.match({ items: [{ type: "pdq", value }] })).results[0]!.matches.map(
        (m) => m.submissionId,
      ),
    ).toEqual([id]);
    const before = must(await p.client.get<{ version: number }>("/v1/baseline")).version;
    await new Promise((res) => setTimeout(res, Date.parse(expiresAt) - Date.now() + 200));
    // No record ends it: the scheduled job records the expiry in the change feed.
    await runCron();
    const feed = async () =>
      must(await p.client.get<{ reversals: Reversal[] }>("/v1/reversals?after=0")).reversals.filter(
        (x) => x.submissionId === id,
      );
    expect(await feed()).toEqual([
      expect.objectContaining({ change: "expired", reason: "expired", recordId: null, at: expiresAt }),
    ]);
    const after = must(await p.client.get<{ version: number }>("/v1/baseline")).version;
    expect(after).toBeGreaterThan(before);
    const events = async () =>
      Promise.all((await received("expiry")).map(async (d) => (await verifyDelivery(d.body)).event));
    const got = await until(events, (l) => l.some((e) => e.type === "entry.reversed"));
    expect(got).toContainEqual({
      type: "entry.reversed",
      subject: id,
      change: "expired",
      recordId: null,
      at: expiresAt,
    });
    expect(got.filter((e) => e.type === "baseline.version").map((e) => Number(e.subject))).toContain(after);
    // Recorded once: the next run adds nothing.
    await runCron();
    expect(await feed()).toHaveLength(1);
  });
});

describe("a receiver that never accepts", () => {
  it("is given up after WEBHOOK_MAX_ATTEMPTS, and a removed webhook gets nothing more", async () => {
    const p = await admit("platform", undefined, { name: "Down Platform" });
    const h = await hook(p, "down?fail=99&status=500", ["entry.reversed"]);
    const e = await submit();
    must(await p.client.match({ scope: "all", items: [{ type: "pdq", value: e.value }] }));
    must(
      await nl.client.write(`/v1/submissions/${e.id}/withdraw`, "submission.withdraw", {
        submissionId: e.id,
        reason: "entered in error",
      }),
    );
    const list = await until(
      () => deliveries(p, h),
      (l) => l[0]?.state === "failed",
    );
    expect(list[0]).toMatchObject({ state: "failed", attempts: 4, lastStatus: 500, nextAttemptAt: null });
    expect((await received("down")).map((x) => x.status)).toEqual([500, 500, 500, 500]);

    must(
      await p.client.write(`/v1/webhooks/${h}/remove`, "webhook.remove", {
        participantId: p.id,
        webhookId: h,
      }),
    );
    const e2 = await submit();
    must(await p.client.match({ scope: "all", items: [{ type: "pdq", value: e2.value }] }));
    must(
      await nl.client.write(`/v1/submissions/${e2.id}/withdraw`, "submission.withdraw", {
        submissionId: e2.id,
        reason: "entered in error",
      }),
    );
    await new Promise((res) => setTimeout(res, 1000));
    expect(await received("down")).toHaveLength(4);
    const hooks = must(await p.client.get<WebhookList>("/v1/webhooks")).webhooks;
    expect(hooks[0]).toMatchObject({
      id: h,
      status: "removed",
      deliveries: { pending: 0, delivered: 0, failed: 1 },
    });
  });
});

describe("the console", () => {
  it("serves the webhooks page (the browser module fills it in with the participant's key)", async () => {
    const res = await nodeFetch(`${BASE}/console/webhooks`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('data-page="webhooks"');
    expect(html).toContain('id="webhook-form"');
    expect(html).toContain('href="/console/webhooks"');
  });
});
