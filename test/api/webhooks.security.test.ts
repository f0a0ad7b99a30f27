// Webhooks as an attack surface: a receiver URL is chosen by a participant and fetched by the
// node, so every way of pointing it at the node's own network (loopback, private ranges, cloud
// metadata, IPv4 spelled as a number or inside IPv6, local-only names, user info, plain http,
// another port of the one allowed test receiver) is refused with a problem and stores nothing;
// redirects are never followed; one participant cannot remove or read another's webhook.
import { env } from "cloudflare:workers";
import { signWrite } from "@eusn/client";
import type { WebhookDeliveryList, WriteReceipt } from "@eusn/protocol";
import type { JWK } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { checkReceiver, isPrivateHost } from "../../workers/api/webhooks/url-policy.ts";
import { unchanged } from "../helpers/db-state.ts";
import { pdqItem, randomPdq, rng } from "../helpers/hashes.ts";
import { type Admitted, admit, BASE, expectProblem, nodeFetch } from "../helpers/node.ts";
import { coordinatorSigner } from "../helpers/world.ts";

/** A signed write by `signer`, as the raw response. */
async function signedPost(
  signer: { participantId: string; privateJwk: JWK },
  path: string,
  kind: string,
  record: unknown,
): Promise<Response> {
  const jws = await signWrite(signer, env.NODE_ID, kind, record);
  return nodeFetch(`${BASE}${path}`, {
    method: "POST",
    headers: { "content-type": "application/jose" },
    body: jws,
  });
}

const RECEIVER = env.TEST_WEBHOOK_RECEIVER;
const port = Number(new URL(RECEIVER).port);
const r = rng(7171);
let platform: Admitted;
let other: Admitted;
let nl: Admitted;

const register = (by: Admitted, url: string, events = ["entry.reversed"]) =>
  signedPost({ participantId: by.id, privateJwk: by.key.privateJwk }, "/v1/webhooks", "webhook.register", {
    participantId: by.id,
    url,
    events,
  });

async function received(name: string): Promise<{ status: number; body: string }[]> {
  return (await fetch(`${RECEIVER}/received/${name}`)).json();
}

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((res) => setTimeout(res, 100));
  }
}

beforeAll(async () => {
  platform = await admit("platform", undefined, { name: "Hook Platform" });
  other = await admit("platform", undefined, { name: "Other Platform" });
  nl = await admit("authority", "NL");
});

describe("receiver URLs that point into the node's own network are refused", () => {
  const attacks = [
    ["loopback, another port than the allowed receiver", `http://127.0.0.1:${port + 1}/hook/x`],
    ["loopback, the node itself", "http://127.0.0.1:8787/v1/stats"],
    ["loopback spelled as one number", "http://2130706433:8787/v1/stats"],
    ["loopback spelled in hex", "http://0x7f.0.0.1:8787/v1/stats"],
    ["another loopback address", `http://127.0.0.2:${port}/hook/x`],
    ["localhost by name", `http://localhost:${port}/hook/x`],
    ["a name under localhost", `https://hooks.localhost/x`],
    ["IPv6 loopback", `http://[::1]:${port}/hook/x`],
    ["IPv4-mapped IPv6 loopback", `http://[::ffff:127.0.0.1]:${port}/hook/x`],
    ["NAT64 loopback", "https://[64:ff9b::7f00:1]/x"],
    ["cloud metadata (link-local)", "http://169.254.169.254/latest/meta-data/"],
    ["cloud metadata over https", "https://169.254.169.254/latest/meta-data/"],
    ["cloud metadata by name", "https://metadata.google.internal/computeMetadata/v1/"],
    ["private 10/8", "https://10.0.0.1/hook"],
    ["private 172.16/12", "https://172.20.1.1/hook"],
    ["private 192.168/16", "https://192.168.1.1/hook"],
    ["shared address space", "https://100.64.0.1/hook"],
    ["unspecified address", "https://0.0.0.0/hook"],
    ["IPv6 unique local", "https://[fd00::1]/hook"],
    ["IPv6 link-local", "https://[fe80::1]/hook"],
    ["a single-label name", "https://intranet/hook"],
    ["an mDNS name", "https://printer.local/hook"],
    ["user info smuggling the host", `http://${new URL(RECEIVER).host}@10.0.0.1/hook`],
    ["credentials in the URL", "https://user:secret@hooks.example.com/x"],
    ["plain http to a public name", "http://hooks.example.com/x"],
    ["another scheme", "ftp://hooks.example.com/x"],
    ["a file", "file:///etc/passwd"],
  ] as const;

  it.each(attacks)("%s: %s", async (_label, url) => {
    const res = await unchanged(() => register(platform, url), url);
    const body = await expectProblem(res, 400, "validation_failed");
    expect(JSON.stringify(body)).toMatch(/\/record\/url/);
  });

  it("the production setting refuses the tests' receiver too, and a local node's 'on' allows it", () => {
    expect(checkReceiver(`${RECEIVER}/hook/a`, "off").ok).toBe(false);
    expect(checkReceiver(`${RECEIVER}/hook/a`, "on").ok).toBe(true);
    expect(checkReceiver(`${RECEIVER}/hook/a`, [new URL(RECEIVER).host]).ok).toBe(true);
    expect(checkReceiver("https://hooks.example.com/a", "off")).toMatchObject({ ok: true });
    expect(checkReceiver("https://[2001:4860::8888]/a", "off")).toMatchObject({ ok: true });
    expect(checkReceiver("https://8.8.8.8/a", "off")).toMatchObject({ ok: true });
    for (const h of [
      "127.0.0.1",
      "10.1.2.3",
      "[::1]",
      "[::ffff:a00:1]",
      "169.254.0.1",
      "localhost",
      "foo.internal",
    ])
      expect(isPrivateHost(h), h).toBe(true);
  });

  it("the one allowed receiver is accepted", async () => {
    const res = await register(platform, `${RECEIVER}/hook/sec-ok`);
    expect(res.status).toBe(201);
  });
});

describe("deliveries", () => {
  it("a redirect is not followed (it could lead into a private network)", async () => {
    const res = await register(other, `${RECEIVER}/redirect/sec-redir`);
    expect(res.status).toBe(201);
    const hook = ((await res.json()) as WriteReceipt).subjectId;
    // An entry the platform matched, then withdrawn: an entry.reversed event for it.
    const value = randomPdq(r);
    const sub = await nl.client.write<{ submissions: { id: string }[] }>(
      "/v1/submissions",
      "submission.create",
      {
        items: [pdqItem(value)],
      },
    );
    if (!sub.ok) throw new Error(JSON.stringify(sub.problem));
    const id = sub.data.submissions[0]!.id;
    expect((await other.client.match({ scope: "all", items: [{ type: "pdq", value }] })).status).toBe(200);
    const w = await nl.client.write(`/v1/submissions/${id}/withdraw`, "submission.withdraw", {
      submissionId: id,
      reason: "entered in error",
    });
    expect(w.ok).toBe(true);
    const got = await until(
      () => received("sec-redir"),
      (l) => l.length >= 1,
    );
    expect(got.map((g) => g.status)).toContain(302);
    const list = await until(
      async () => {
        const d = await other.client.get<WebhookDeliveryList>(`/v1/webhooks/${hook}/deliveries`);
        return d.ok ? d.data.deliveries : [];
      },
      (l) => l.some((d) => d.lastStatus === 302),
    );
    expect(list[0]).toMatchObject({
      event: "entry.reversed",
      subject: id,
      lastStatus: 302,
      lastError: "redirects are not followed",
    });
    expect(list[0]!.state).not.toBe("delivered");
    expect(await received("sec-redir-followed")).toEqual([]);
  });
});

describe("one participant's webhooks are not another's", () => {
  let hook: string;
  beforeAll(async () => {
    const res = await register(platform, `${RECEIVER}/hook/sec-mine`);
    hook = ((await res.json()) as WriteReceipt).subjectId;
  });

  it("another platform cannot remove it (as itself or naming the owner)", async () => {
    const own = await unchanged(() =>
      signedPost(
        { participantId: other.id, privateJwk: other.key.privateJwk },
        `/v1/webhooks/${hook}/remove`,
        "webhook.remove",
        {
          participantId: other.id,
          webhookId: hook,
        },
      ),
    );
    await expectProblem(own, 404, "not_found");
    const naming = await unchanged(() =>
      signedPost(
        { participantId: other.id, privateJwk: other.key.privateJwk },
        `/v1/webhooks/${hook}/remove`,
        "webhook.remove",
        {
          participantId: platform.id,
          webhookId: hook,
        },
      ),
    );
    await expectProblem(naming, 403, "forbidden");
  });

  it("another platform cannot read its deliveries, nor see it listed", async () => {
    const res = await other.client.get(`/v1/webhooks/${hook}/deliveries`);
    expect(res.ok ? 200 : res.status).toBe(404);
    const list = await other.client.get<{ webhooks: { id: string }[] }>("/v1/webhooks");
    expect(list.ok && list.data.webhooks.map((w) => w.id)).not.toContain(hook);
  });

  it("a participant cannot register a webhook for another", async () => {
    const res = await unchanged(() =>
      signedPost(
        { participantId: other.id, privateJwk: other.key.privateJwk },
        "/v1/webhooks",
        "webhook.register",
        {
          participantId: platform.id,
          url: `${RECEIVER}/hook/sec-other`,
          events: ["entry.reversed"],
        },
      ),
    );
    await expectProblem(res, 403, "forbidden");
  });

  it("an authority cannot ask for targeted signals", async () => {
    const res = await unchanged(() => register(nl, `${RECEIVER}/hook/sec-nl`, ["signal.targeted"]));
    await expectProblem(res, 400, "validation_failed");
  });

  it("a coordinator can remove it", async () => {
    const res = await signedPost(coordinatorSigner(), `/v1/webhooks/${hook}/remove`, "webhook.remove", {
      participantId: platform.id,
      webhookId: hook,
    });
    expect(res.status).toBe(201);
    const again = await unchanged(() =>
      signedPost(coordinatorSigner(), `/v1/webhooks/${hook}/remove`, "webhook.remove", {
        participantId: platform.id,
        webhookId: hook,
      }),
    );
    await expectProblem(again, 409, "conflict");
  });
});
