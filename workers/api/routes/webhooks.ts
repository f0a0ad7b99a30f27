// /v1/webhooks: push instead of poll. A participant registers a receiver for some events with a
// signed record (node-local), lists its webhooks with their deliveries counted by state, reads a
// webhook's deliveries (state, attempts, the receiver's last answer, the exact signed body) and
// removes one. Deliveries are made by the dispatcher (webhooks/dispatcher.ts). docs/webhooks.md.
import {
  MAX_WEBHOOKS,
  WEBHOOK_EVENTS,
  WebhookDeliveryList,
  WebhookDeliveryQuery,
  WebhookIdParam,
  WebhookList,
} from "@eusn/protocol";
import { createRoute } from "@hono/zod-openapi";
import { registerWebhook, removeWebhook } from "../apply/webhooks.ts";
import { access } from "../auth/access.ts";
import {
  bearerSecurity,
  problems,
  type RouteContext,
  receiptResponse,
  router,
  signedBody,
} from "../lib/hono.ts";
import { ApiError } from "../lib/problem.ts";
import { listDeliveries, listWebhooks, webhookById } from "../store/webhooks.ts";
import { signedWrite } from "./signed-write.ts";

const app = router();
const everyone = ["coordinator", "authority", "platform"] as const;

export const postWebhookRoute = createRoute({
  method: "post",
  path: "/v1/webhooks",
  tags: ["webhooks"],
  summary: "Register a webhook for yourself",
  description: `Events: ${WEBHOOK_EVENTS.map((e) => `\`${e}\``).join(", ")} (\`signal.targeted\` for platforms only). Each delivery is a POST whose body is a compact JWS (\`application/jose\`, \`typ\` ${"`eusn-webhook+jws`"}) signed by the node key of /.well-known/jwks.json, naming what happened by id; a 2xx answer delivers it, anything else is retried with exponential backoff (WEBHOOK_RETRY_BASE_SECONDS, doubling, WEBHOOK_MAX_ATTEMPTS in all). The receiver must be https on a public address: private, loopback and link-local addresses are refused (422) unless the node's WEBHOOK_ALLOW_PRIVATE allows them. At most ${MAX_WEBHOOKS} webhooks per participant. The receipt's \`subjectId\` is the webhook id.`,
  request: { body: signedBody("webhook.register", "RegisterWebhookRecord") },
  responses: { 201: receiptResponse, ...problems(400, 401, 403, 409, 413, 415, 422) },
});
export const postWebhook = signedWrite({ applier: registerWebhook });
app.openapi(postWebhookRoute, postWebhook);

export const listWebhooksRoute = createRoute({
  method: "get",
  path: "/v1/webhooks",
  tags: ["webhooks"],
  summary: "Your webhooks, with their deliveries counted by state",
  security: bearerSecurity,
  middleware: [access(everyone)] as const,
  responses: {
    200: {
      description: "Newest first, removed ones too",
      content: { "application/json": { schema: WebhookList } },
    },
    ...problems(401, 403),
  },
});
export async function listWebhooksHandler(c: RouteContext<typeof listWebhooksRoute>) {
  return c.json({ webhooks: await listWebhooks(c.var.db, c.var.caller!.participant.id) }, 200);
}
app.openapi(listWebhooksRoute, listWebhooksHandler);

export const listDeliveriesRoute = createRoute({
  method: "get",
  path: "/v1/webhooks/{id}/deliveries",
  tags: ["webhooks"],
  summary: "A webhook's deliveries, newest first (its participant, or a coordinator)",
  description:
    "Each with its state (pending, delivered, failed), attempts, the receiver's last status or why it failed, the next attempt, and the exact JWS sent (verify it with `eusn webhook verify`). Finished deliveries are kept 30 days.",
  security: bearerSecurity,
  middleware: [access(everyone)] as const,
  request: { params: WebhookIdParam, query: WebhookDeliveryQuery },
  responses: {
    200: { description: "The deliveries", content: { "application/json": { schema: WebhookDeliveryList } } },
    ...problems(400, 401, 403, 404),
  },
});
export async function listDeliveriesHandler(c: RouteContext<typeof listDeliveriesRoute>) {
  const { id } = c.req.valid("param");
  const q = c.req.valid("query");
  const me = c.var.caller!.participant;
  const hook = await webhookById(c.var.db, id);
  // Another participant's webhook is answered as absent: its existence is not theirs to learn.
  if (!hook || (hook.participantId !== me.id && me.role !== "coordinator"))
    throw new ApiError("not_found", `no webhook ${id}`);
  return c.json({ deliveries: await listDeliveries(c.var.db, id, q) }, 200);
}
app.openapi(listDeliveriesRoute, listDeliveriesHandler);

export const removeWebhookRoute = createRoute({
  method: "post",
  path: "/v1/webhooks/{id}/remove",
  tags: ["webhooks"],
  summary: "Remove a webhook (its participant, or a coordinator)",
  description: "No delivery is attempted after it; pending ones end as failed (`the webhook was removed`).",
  request: { params: WebhookIdParam, body: signedBody("webhook.remove", "RemoveWebhookRecord") },
  responses: { 201: receiptResponse, ...problems(400, 401, 403, 404, 409, 413, 415) },
});
export const postWebhookRemoval = signedWrite({
  applier: removeWebhook,
  subject: { param: "id", field: "webhookId", detail: "the record names another webhook than the path" },
});
app.openapi(removeWebhookRoute, postWebhookRemoval);

export default app;
