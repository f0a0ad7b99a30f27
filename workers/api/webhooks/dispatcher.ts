// The webhook dispatcher: one Durable Object (named "dispatcher") whose alarm turns the node's
// events into signed deliveries (store/webhooks.ts `planFanOut`) and POSTs the deliveries that
// are due, retrying each failure with exponential backoff until it is delivered or given up.
// Durable Object alarms run under `wrangler dev`, in the tests' workerd and on Cloudflare alike,
// and are retried by the runtime if a turn throws; every state lives in D1, so a lost object
// loses nothing. Writes that may cause an event kick it (webhooks/kick.ts), and so does the cron.
import { DurableObject } from "cloudflare:workers";
import { WEBHOOK_JWS_TYP, WEBHOOK_MEDIA_TYPE, type WebhookDeliveryClaims } from "@eusn/protocol";
import { CompactSign } from "jose";
import { config } from "../config.ts";
import type { Env } from "../env.ts";
import { db } from "../lib/db.ts";
import { nodeKey } from "../lib/node-key.ts";
import {
  type AttemptOutcome,
  commitFanOut,
  type DueDelivery,
  dueDeliveries,
  nextDueAt,
  planFanOut,
  recordAttempt,
} from "../store/webhooks.ts";
import type { TurnReport, WebhookDispatcherRpc } from "./types.ts";
import { checkReceiver } from "./url-policy.ts";

/** Deliveries attempted per turn (each a subrequest); the rest wait for the next turn, at once. */
const ATTEMPTS_PER_TURN = 40;
/** Attempts sent at the same time. */
const PARALLEL = 6;
/** How long a receiver has to answer. */
const TIMEOUT_MS = 10_000;
/** The longest wait between two attempts. */
const MAX_BACKOFF_MS = 6 * 3600_000;

const utf8 = new TextEncoder();

/** The delay before attempt `attempts + 1`, after `attempts` failures: base × 2^(attempts − 1). */
export function backoffMs(attempts: number, baseMs: number): number {
  return Math.min(MAX_BACKOFF_MS, baseMs * 2 ** Math.max(0, attempts - 1));
}

export class WebhookDispatcher extends DurableObject<Env> implements WebhookDispatcherRpc {
  async kick(): Promise<void> {
    const now = Date.now();
    const alarm = await this.ctx.storage.getAlarm();
    if (alarm === null || alarm > now) await this.ctx.storage.setAlarm(now);
  }

  override async alarm(): Promise<void> {
    const report = await this.turn();
    if (report.nextAt !== null) await this.ctx.storage.setAlarm(Math.max(report.nextAt, Date.now() + 10));
  }

  /** One turn: new events to deliveries, then the due attempts. */
  private async turn(): Promise<TurnReport> {
    const d = db(this.env.DB);
    const policy = config(this.env).webhooks;
    let made = 0;
    const plan = await planFanOut(d);
    if (plan) {
      const key = plan.planned.length ? await nodeKey(this.env) : null;
      const iat = Math.floor(Date.now() / 1000);
      const signed = await Promise.all(
        plan.planned.map(async (p) => {
          const claims: WebhookDeliveryClaims = {
            iss: this.env.NODE_ID,
            aud: p.webhook.participantId,
            sub: p.webhook.id,
            jti: p.id,
            iat,
            event: p.event,
          };
          const jws = await new CompactSign(utf8.encode(JSON.stringify(claims)))
            .setProtectedHeader({ alg: key!.alg, kid: key!.kid, typ: WEBHOOK_JWS_TYP })
            .sign(key!.privateKey);
          return { planned: p, jws };
        }),
      );
      await commitFanOut(d, plan.before, plan.cursors, signed, Date.now());
      made = signed.length;
    }
    const due = await dueDeliveries(d, Date.now(), ATTEMPTS_PER_TURN);
    let delivered = 0;
    for (let i = 0; i < due.length; i += PARALLEL) {
      const outcomes = await Promise.all(due.slice(i, i + PARALLEL).map((x) => this.attempt(x, policy)));
      for (const [j, o] of outcomes.entries()) {
        await recordAttempt(d, due[i + j]!.id, o);
        if (o.state === "delivered") delivered++;
      }
    }
    // More due than one turn takes: go on at once.
    const nextAt = due.length === ATTEMPTS_PER_TURN ? Date.now() : await nextDueAt(d);
    return { made, attempted: due.length, delivered, nextAt };
  }

  /** Sends one delivery and says what became of it. Never throws. */
  private async attempt(
    x: DueDelivery,
    policy: ReturnType<typeof config>["webhooks"],
  ): Promise<AttemptOutcome> {
    const at = Date.now();
    const attempts = x.attempts + 1;
    const fail = (status: number | null, error: string, final = false): AttemptOutcome => {
      const giveUp = final || attempts >= policy.maxAttempts;
      return {
        state: giveUp ? "failed" : "pending",
        attempts,
        status,
        error,
        nextAttemptAt: giveUp ? null : at + backoffMs(attempts, policy.retryBaseMs),
        at,
      };
    };
    if (x.removedAt) return fail(null, "the webhook was removed", true);
    // Checked again on every attempt: the policy may have been tightened since registration.
    const target = checkReceiver(x.url, policy.allowPrivate);
    if (!target.ok) return fail(null, `refused: ${target.reason}`, true);
    try {
      const res = await fetch(target.url, {
        method: "POST",
        body: x.jws,
        headers: {
          "content-type": WEBHOOK_MEDIA_TYPE,
          "user-agent": "eusn-webhooks/1",
          "eusn-delivery": x.id,
          "eusn-event": x.event,
        },
        // A redirect is never followed: it could point into a private network.
        redirect: "manual",
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      await res.body?.cancel();
      if (res.status >= 200 && res.status < 300)
        return { state: "delivered", attempts, status: res.status, error: null, nextAttemptAt: null, at };
      if (res.status >= 300 && res.status < 400) return fail(res.status, "redirects are not followed");
      return fail(res.status, `the receiver answered ${res.status}`);
    } catch (e) {
      const why =
        e instanceof Error && e.name === "TimeoutError"
          ? `no answer within ${TIMEOUT_MS / 1000} s`
          : "no answer (connection failed)";
      return fail(null, why);
    }
  }
}
