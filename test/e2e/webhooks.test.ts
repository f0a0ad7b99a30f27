// Webhooks in the console, in Chromium, delivered to a real HTTP receiver (global setup starts
// test/helpers/webhook-receiver.ts on a free port and names it in the node's
// WEBHOOK_ALLOW_PRIVATE; failed deliveries are retried after 2 s, then 4 s): an authority
// registers two webhooks on /console/webhooks through the confirmation dialog, one to a receiver
// that answers 200 and one to a receiver that answers 503 to each delivery's first two attempts.
// An entry of this file is withdrawn; the page shows the first delivery delivered at once and
// the second delivered at the third attempt (the receiver's log: 503, 503, 200); the receiver got the same signed bytes each time, verifiable against the node's
// JWKS. The files share the node: other events may be delivered too; only this file's entry is
// looked at.
import { readFileSync } from "node:fs";
import { EusnClient, verifyWebhookDelivery } from "@eusn/client";
import type { WriteReceipt } from "@eusn/protocol";
import type { JSONWebKeySet } from "jose";
import type { Page } from "playwright-core";
import { describe, expect, inject, it } from "vitest";
import {
  base,
  confirmDialog,
  credential,
  expectAccessible,
  keyFile,
  open,
  shot,
  skip,
  useBrowser,
} from "./browser.ts";

const d = skip ? describe.skip : describe;
if (skip) it.skip(`webhooks e2e skipped: ${skip}`, () => {});

type Received = { status: number; headers: Record<string, string>; body: string };

d("webhooks in the console, delivered to a real receiver", () => {
  const { as } = useBrowser();
  let page: Page;
  const receiver = skip ? "" : inject("e2eReceiver");
  const run = Date.now().toString(36);
  const hooks = {
    ok: { label: `Case system ${run}`, url: `${receiver}/hook/${run}-ok` },
    flaky: { label: `Flaky receiver ${run}`, url: `${receiver}/hook/${run}-flaky?failEach=2` },
  };
  const received = async (name: string) =>
    (await (await fetch(`${receiver}/received/${run}-${name}`)).json()) as Received[];
  /** The delivery rows the page shows for the webhook, as text cells, for one subject. */
  const deliveriesShown = async (label: string, subject: string) => {
    await page.getByRole("button", { name: `Deliveries of ${label}` }).click();
    await expect.poll(() => page.textContent("#webhook-deliveries-h")).toBe(`Deliveries of ${label}`);
    return page
      .locator("#webhook-deliveries tbody tr")
      .filter({ hasText: subject })
      .evaluateAll((trs) => trs.map((tr) => Array.from(tr.children, (td) => td.textContent ?? "")));
  };

  it("an authority registers two webhooks in the page; a withdrawal is delivered, signed by the node, to one at once and to the other after two failed attempts", async () => {
    const tab = await as("de");
    page = tab.page;
    const { watch } = tab;
    await open(page, "/console/webhooks");
    for (const h of [hooks.ok, hooks.flaky]) {
      await page.fill("#webhook-url", h.url);
      await page.locator("input[name=events][value='entry.reversed']").check();
      await page.fill("#webhook-label", h.label);
      await page.getByRole("button", { name: "Register…" }).click();
      await confirmDialog(page, {
        kind: "webhook.register",
        ...(h === hooks.ok ? { screenshot: "webhooks-01-register-confirm" } : {}),
      });
      await expect.poll(() => page.textContent("#webhook-table")).toContain(h.label);
    }

    // The event: NL submits an entry and withdraws it (every authority is told of a withdrawal).
    const nl = new EusnClient({ ...JSON.parse(readFileSync(keyFile("nl"), "utf8")), baseUrl: base });
    const value = `e2e0${Date.now().toString(16).padStart(12, "0")}${"7c1d".repeat(12)}`;
    const sub = await nl.write<{ submissions: { id: string }[] }>("/v1/submissions", "submission.create", {
      items: [
        {
          signalType: "pdq",
          value,
          quality: 90,
          limbs: ["a"],
          contentType: "image",
          nationalProvision: "NL Sr. art. 421",
        },
      ],
    });
    if (!sub.ok) throw new Error(JSON.stringify(sub.problem));
    const entry = sub.data.submissions[0]!.id;
    const withdrawn = await nl.write<WriteReceipt>(
      `/v1/submissions/${entry}/withdraw`,
      "submission.withdraw",
      {
        submissionId: entry,
        reason: "submitted in error",
      },
    );
    if (!withdrawn.ok) throw new Error(JSON.stringify(withdrawn.problem));

    // The receiver that answers at once has it: signed by the node key, for DE, about the entry.
    const jwks = (await (await fetch(`${base}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
    const de = credential("de").participantId;
    const ours = async (name: string) => {
      const out: (Received & { delivery: string })[] = [];
      for (const r of await received(name)) {
        const v = await verifyWebhookDelivery(r.body, jwks, { participantId: de });
        if (!v.ok) throw new Error(`${name}: ${v.reason}`);
        if (v.claims.event.subject === entry) out.push({ ...r, delivery: v.claims.jti });
        expect(r.headers["eusn-delivery"]).toBe(v.claims.jti);
      }
      return out;
    };
    await expect
      .poll(async () => (await ours("ok")).map((r) => r.status), { timeout: 30_000 })
      .toEqual([200]);
    const [okDelivery] = await ours("ok");
    expect(okDelivery!.headers["eusn-event"]).toBe("entry.reversed");
    expect(JSON.parse(Buffer.from(okDelivery!.body.split(".")[1]!, "base64url").toString())).toMatchObject({
      aud: de,
      event: {
        type: "entry.reversed",
        subject: entry,
        change: "withdrawn",
        recordId: withdrawn.data.recordId,
      },
    });
    await expect
      .poll(async () => (await deliveriesShown(hooks.ok.label, entry)).map((r) => [r[2], r[3], r[4]]))
      .toEqual([["delivered", "1", "HTTP 200"]]);

    // Retried until the flaky receiver answers 200: the page shows it delivered at the third attempt.
    await expect
      .poll(
        async () => (await deliveriesShown(hooks.flaky.label, entry)).map((r) => [r[2], r[3], r[4], r[5]]),
        {
          timeout: 60_000,
        },
      )
      .toEqual([["delivered", "3", "HTTP 200", "—"]]);
    const attempts = await ours("flaky");
    expect(attempts.map((r) => r.status)).toEqual([503, 503, 200]);
    // The same delivery each time: one id, the same signed bytes (a receiver drops repeats by id).
    expect(new Set(attempts.map((r) => r.delivery)).size).toBe(1);
    expect(new Set(attempts.map((r) => r.body)).size).toBe(1);
    // The webhooks table counts them.
    await page.click("#webhook-refresh");
    const row = page.locator("#webhook-table tbody tr").filter({ hasText: hooks.flaky.label });
    await expect.poll(() => row.textContent()).toMatch(/[1-9]\d* delivered, \d+ pending, 0 failed/);
    await shot(page, "webhooks-02-delivered-after-retries");
    await expectAccessible(page);
    expect(watch.problems).toEqual([]);
  }, 180_000);
});
