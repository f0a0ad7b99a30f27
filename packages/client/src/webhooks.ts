// Webhooks: register a receiver for events (entry reversals, targeted migration signals, new
// baseline versions), list them with their deliveries, remove one, and — on the receiving side —
// verify a delivery: a compact JWS signed by the node key published at /.well-known/jwks.json.
// Rules and rationale: docs/webhooks.md.
import type {
  WebhookDeliveryClaims,
  WebhookDeliveryList,
  WebhookDeliveryState,
  WebhookEvent,
  WebhookList,
  WriteReceipt,
} from "@eusn/protocol";
import { WEBHOOK_JWS_TYP } from "@eusn/protocol/plain";
import { compactVerify, createLocalJWKSet, type JSONWebKeySet } from "jose";
import type { EusnClient, Result } from "./client.ts";

/**
 * Registers a webhook for the client's own participant; the receipt's `subjectId` is its id.
 *
 * @example
 * await registerWebhook(client, { url: "https://hooks.platform.example/eusn", events: ["entry.reversed"] });
 */
export function registerWebhook(
  client: EusnClient,
  opts: { url: string; events: WebhookEvent[]; label?: string },
): Promise<Result<WriteReceipt>> {
  return client.write<WriteReceipt>("/v1/webhooks", "webhook.register", {
    participantId: client.participantId,
    url: opts.url,
    events: opts.events,
    ...(opts.label ? { label: opts.label } : {}),
  });
}

/** Removes a webhook: one's own, or (as a coordinator) another participant's. */
export function removeWebhook(
  client: EusnClient,
  webhookId: string,
  participantId: string = client.participantId,
): Promise<Result<WriteReceipt>> {
  return client.write<WriteReceipt>(
    `/v1/webhooks/${encodeURIComponent(webhookId)}/remove`,
    "webhook.remove",
    {
      participantId,
      webhookId,
    },
  );
}

/** The client's webhooks, with their deliveries counted by state. */
export function listWebhooks(client: EusnClient): Promise<Result<WebhookList>> {
  return client.get("/v1/webhooks");
}

/** A webhook's deliveries, newest first. */
export function listWebhookDeliveries(
  client: EusnClient,
  webhookId: string,
  opts: { state?: WebhookDeliveryState; limit?: number } = {},
): Promise<Result<WebhookDeliveryList>> {
  const q = new URLSearchParams();
  if (opts.state) q.set("state", opts.state);
  if (opts.limit) q.set("limit", String(opts.limit));
  const qs = q.toString();
  return client.get(`/v1/webhooks/${encodeURIComponent(webhookId)}/deliveries${qs ? `?${qs}` : ""}`);
}

export type VerifiedDelivery =
  | { ok: true; claims: WebhookDeliveryClaims; kid: string }
  | { ok: false; reason: string };

/**
 * Verifies a delivery's body as a receiver must before acting on it: the signature by a key of the
 * node's JWKS, the `typ` of a webhook delivery (so a receipt or a record cannot pass for one), the
 * claims' shape, and, when given, the node (`iss`) and the receiving participant (`aud`).
 * Receivers should also drop a `jti` they have already seen: a retry carries the same one.
 */
export async function verifyWebhookDelivery(
  jws: string,
  nodeJwks: JSONWebKeySet,
  expect: { nodeId?: string; participantId?: string } = {},
): Promise<VerifiedDelivery> {
  let payload: Uint8Array;
  let header: { typ?: string; kid?: string };
  try {
    const v = await compactVerify(jws.trim(), createLocalJWKSet(nodeJwks));
    payload = v.payload;
    header = v.protectedHeader;
  } catch (e) {
    return {
      ok: false,
      reason: `the signature does not verify against the node's keys (${(e as Error).message})`,
    };
  }
  if (header.typ !== WEBHOOK_JWS_TYP)
    return { ok: false, reason: `typ is ${header.typ ?? "absent"}, not ${WEBHOOK_JWS_TYP}` };
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    return { ok: false, reason: "the payload is not JSON" };
  }
  // Loaded here, not at import (see unwrapSelectorKey in signals.ts).
  const { WebhookDeliveryClaims } = await import("@eusn/protocol/webhooks");
  const claims = WebhookDeliveryClaims.safeParse(json);
  if (!claims.success) return { ok: false, reason: "the payload is not a webhook delivery" };
  if (expect.nodeId && claims.data.iss !== expect.nodeId)
    return { ok: false, reason: `issued by ${claims.data.iss}, not ${expect.nodeId}` };
  if (expect.participantId && claims.data.aud !== expect.participantId)
    return { ok: false, reason: `addressed to ${claims.data.aud}, not ${expect.participantId}` };
  return { ok: true, claims: claims.data, kid: header.kid ?? "" };
}
