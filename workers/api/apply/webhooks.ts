// Appliers of webhooks (docs/webhooks.md): a participant registers a receiver for itself, and it
// or a coordinator removes one. Node-local (`replicated: false`): a webhook is this node's promise
// to push, and the receiver's URL is nobody else's business.
import { MAX_WEBHOOKS, newId } from "@eusn/protocol";
import { and, eq, isNull } from "drizzle-orm";
import { webhooks } from "../../../schema/index.ts";
import { config } from "../config.ts";
import { nowIso } from "../lib/encoding.ts";
import { ApiError } from "../lib/problem.ts";
import { activeWebhooksOf, initCursorStatements, webhookById } from "../store/webhooks.ts";
import { checkReceiver } from "../webhooks/url-policy.ts";
import type { Applier } from "./context.ts";

/** A participant registers a webhook for itself. */
export const registerWebhook: Applier<"webhook.register"> = {
  kind: "webhook.register",
  roles: ["coordinator", "authority", "platform"],
  replicated: false,
  async apply(db, env, w, ctx) {
    const r = w.record;
    if (w.claims.iss !== r.participantId)
      throw new ApiError("forbidden", "a participant can only register webhooks for itself");
    const target = checkReceiver(r.url, config(env).webhooks.allowPrivate);
    if (!target.ok)
      throw new ApiError("validation_failed", "the receiver URL is not allowed", [
        { path: "/record/url", message: target.reason },
      ]);
    if (r.events.includes("signal.targeted") && w.caller.participant.role !== "platform")
      throw new ApiError("validation_failed", "only platforms receive targeted signals", [
        { path: "/record/events", message: "signal.targeted is for platforms" },
      ]);
    const active = await activeWebhooksOf(db, r.participantId);
    if (active.length >= MAX_WEBHOOKS)
      throw new ApiError("conflict", `at most ${MAX_WEBHOOKS} webhooks; remove one first`);
    if (active.some((a) => a.url === target.url.href))
      throw new ApiError("conflict", "a webhook with this URL is already registered: remove it first");
    const id = newId("webhook");
    return {
      subjectId: id,
      statements: [
        ...initCursorStatements(db),
        db.insert(webhooks).values({
          id,
          participantId: r.participantId,
          url: target.url.href,
          events: JSON.stringify(r.events),
          label: r.label ?? null,
          recordId: ctx.recordId,
          createdAt: nowIso(),
        }),
      ],
    };
  },
};

/** The participant itself, or a coordinator, removes a webhook: its pending deliveries stop. */
export const removeWebhook: Applier<"webhook.remove"> = {
  kind: "webhook.remove",
  roles: ["coordinator", "authority", "platform"],
  replicated: false,
  async apply(db, _env, w, ctx) {
    const r = w.record;
    if (w.claims.iss !== r.participantId && w.caller.participant.role !== "coordinator")
      throw new ApiError("forbidden", "only the participant itself or a coordinator can remove its webhooks");
    const hook = await webhookById(db, r.webhookId);
    if (!hook || hook.participantId !== r.participantId)
      throw new ApiError("not_found", `${r.webhookId} is not a webhook of ${r.participantId}`);
    if (hook.removedAt) throw new ApiError("conflict", `${hook.id} was already removed at ${hook.removedAt}`);
    return {
      subjectId: hook.id,
      statements: [
        db
          .update(webhooks)
          .set({ removedAt: nowIso(), removedRecordId: ctx.recordId })
          .where(and(eq(webhooks.id, hook.id), isNull(webhooks.removedAt))),
      ],
    };
  },
};
