// Webhooks: push instead of poll. A participant registers an HTTPS endpoint for some events
// (webhook.register, a node-local signed record) and the node POSTs each event to it as a compact
// JWS signed by the node key (verifiable against /.well-known/jwks.json), retrying with
// exponential backoff. A delivery names what happened (ids only); the receiver reads the details
// with its own credentials, so a push never carries more than the receiver may read. See
// docs/webhooks.md.
import { z } from "zod";
import { WEBHOOK_EVENTS } from "./constants.ts";
import { idPattern } from "./ids.ts";

// Local (not imported from schemas.ts, which imports this file for RECORD_SCHEMAS: no cycle).
const ParticipantId = z.string().regex(idPattern("participant"));
export const WebhookId = z.string().regex(idPattern("webhook")).meta({ id: "WebhookId" });
export const DeliveryId = z.string().regex(idPattern("delivery"));

export const WebhookEvent = z.enum(WEBHOOK_EVENTS);
export type WebhookEvent = z.infer<typeof WebhookEvent>;

/** Webhooks one participant may have registered at once. */
export const MAX_WEBHOOKS = 5;

/** The media type of a delivery's body (a compact JWS, RFC 7515 §3.1; RFC 7515 §9.2.1). */
export const WEBHOOK_MEDIA_TYPE = "application/jose";
const WebhookUrl = z
  .string()
  .max(2000)
  .url()
  .describe(
    "Where deliveries are POSTed: https (http only to a target allowed by WEBHOOK_ALLOW_PRIVATE on a local node); no user name or password in it. Private, loopback and link-local addresses are refused unless the node's configuration allows them.",
  );

/** A participant registers a webhook for itself. */
export const RegisterWebhookRecord = z
  .object({
    participantId: ParticipantId,
    url: WebhookUrl,
    events: z.array(WebhookEvent).min(1).max(WEBHOOK_EVENTS.length),
    label: z.string().trim().min(1).max(200).optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (new Set(r.events).size !== r.events.length)
      ctx.addIssue({ code: "custom", path: ["events"], message: "an event is named twice" });
  })
  .meta({ id: "RegisterWebhookRecord" });

/** The participant itself, or a coordinator, removes a webhook: no more deliveries to it. */
export const RemoveWebhookRecord = z
  .object({ participantId: ParticipantId, webhookId: WebhookId })
  .strict()
  .meta({ id: "RemoveWebhookRecord" });

export const WebhookDeliveryState = z.enum(["pending", "delivered", "failed"]);
export type WebhookDeliveryState = z.infer<typeof WebhookDeliveryState>;

export const WebhookView = z
  .object({
    id: WebhookId,
    participantId: ParticipantId,
    url: z.string(),
    events: z.array(WebhookEvent),
    label: z.string().nullable(),
    createdAt: z.string(),
    recordId: z.string().describe("The signed record that registered it."),
    removedAt: z.string().nullable(),
    status: z.enum(["active", "removed"]),
    deliveries: z
      .object({ pending: z.number().int(), delivered: z.number().int(), failed: z.number().int() })
      .describe("Deliveries kept on the node, by state."),
  })
  .meta({ id: "WebhookView" });
export type WebhookView = z.infer<typeof WebhookView>;

export const WebhookList = z.object({ webhooks: z.array(WebhookView) }).meta({ id: "WebhookList" });
export type WebhookList = z.infer<typeof WebhookList>;

export const WebhookDeliveryView = z
  .object({
    id: DeliveryId,
    webhookId: WebhookId,
    event: WebhookEvent,
    subject: z
      .string()
      .describe("What the event is about: an entry id, a signal id or the baseline version."),
    state: WebhookDeliveryState,
    attempts: z.number().int(),
    createdAt: z.string(),
    lastAttemptAt: z.string().nullable(),
    lastStatus: z.number().int().nullable().describe("The receiver's HTTP status on the last attempt."),
    lastError: z
      .string()
      .nullable()
      .describe("Why the last attempt failed (no answer, a status, a refusal)."),
    nextAttemptAt: z.string().nullable().describe("When it is tried again (pending only)."),
    deliveredAt: z.string().nullable(),
    jws: z.string().describe("The exact body POSTed (the same bytes on every attempt)."),
  })
  .meta({ id: "WebhookDeliveryView" });
export type WebhookDeliveryView = z.infer<typeof WebhookDeliveryView>;

export const WebhookDeliveryQuery = z.object({
  state: WebhookDeliveryState.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export const WebhookDeliveryList = z
  .object({ deliveries: z.array(WebhookDeliveryView) })
  .meta({ id: "WebhookDeliveryList" });
export type WebhookDeliveryList = z.infer<typeof WebhookDeliveryList>;

export const WebhookIdParam = z.object({ id: WebhookId });

/**
 * The payload of a delivery's JWS. `iss` is the node, `aud` the receiving participant, `jti` the
 * delivery id (the same on every retry: a receiver drops a `jti` it has seen), `sub` the webhook.
 */
export const WebhookDeliveryClaims = z
  .object({
    iss: z.string(),
    aud: ParticipantId,
    sub: WebhookId,
    jti: DeliveryId,
    iat: z.number().int(),
    event: z.object({
      type: WebhookEvent,
      /** entry.reversed: the entry (hsh_…); signal.targeted: the signal (sig_…); baseline.version: the version. */
      subject: z.string(),
      /** entry.reversed: withdrawn, reversed or excluded. */
      change: z.string().nullable(),
      /** entry.reversed: the record that made the change. */
      recordId: z.string().nullable(),
      /** When it happened on the node (ISO 8601). */
      at: z.string(),
    }),
  })
  .meta({ id: "WebhookDeliveryClaims" });
export type WebhookDeliveryClaims = z.infer<typeof WebhookDeliveryClaims>;
