// Everyone: webhooks — register a receiver (the signed webhook.register record, through the one
// confirmation dialog), see each webhook with its deliveries counted by state, a webhook's
// deliveries (state, attempts, the receiver's last answer, the next attempt) and remove one.
import { WEBHOOK_EVENTS, type WebhookDeliveryList, type WebhookList, type WebhookView } from "@eusn/protocol";
import { ApiProblem, get } from "../api.ts";
import { confirmWrite } from "../confirm.ts";
import { $, button, h, replace, table, when } from "../dom.ts";
import type { Session } from "../session.ts";

const EVENT_LABELS: Record<string, string> = {
  "entry.reversed": "entries withdrawn, reversed or excluded",
  "signal.targeted": "migration signals targeted at you (platforms)",
  "baseline.version": "new baseline versions",
};

export default async function webhooks(s: Session | null) {
  if (!s) return;
  const form = $("webhook-form") as unknown as HTMLFormElement;
  const events = WEBHOOK_EVENTS.filter((e) => e !== "signal.targeted" || s.role === "platform");
  replace(
    $("webhook-events"),
    h("legend", {}, "Events (choose each you want pushed)"),
    events.map((e) =>
      h(
        "label",
        { class: "check" },
        h("input", { type: "checkbox", name: "events", value: e }),
        ` ${e} — ${EVENT_LABELS[e] ?? ""}`,
      ),
    ),
  );

  const showDeliveries = async (w: WebhookView) => {
    const box = $("webhook-deliveries");
    replace($("webhook-deliveries-h"), `Deliveries of ${w.label ?? w.id}`);
    try {
      const { deliveries } = await get<WebhookDeliveryList>(s, `/v1/webhooks/${w.id}/deliveries?limit=100`);
      replace(
        box,
        table(
          `Deliveries to ${w.url}, newest first`,
          ["Event", "About", "State", "Attempts", "Last answer", "Next attempt", "Made"],
          deliveries.map((d) => [
            d.event,
            h("code", {}, d.subject),
            h("span", { class: `badge state-${d.state}`, "data-delivery-state": d.state }, d.state),
            String(d.attempts),
            d.lastStatus !== null || d.lastError
              ? [d.lastStatus !== null ? `HTTP ${d.lastStatus}` : "", d.lastError ? ` ${d.lastError}` : ""]
              : h("span", { class: "hint" }, "not tried yet"),
            d.nextAttemptAt ? when(d.nextAttemptAt) : "—",
            when(d.createdAt),
          ]),
          "No deliveries yet: they are made for events after the webhook was registered.",
        ),
      );
    } catch (e) {
      replace(box, h("p", { class: "error" }, e instanceof ApiProblem ? e.describe() : String(e)));
    }
    $("webhook-deliveries-section").hidden = false;
  };

  const load = async () => {
    const { webhooks: list } = await get<WebhookList>(s, "/v1/webhooks");
    replace(
      $("webhook-table"),
      table(
        "Your webhooks, newest first",
        ["Webhook", "Receiver", "Events", "Status", "Deliveries", ""],
        list.map((w) => [
          [w.label ? [h("strong", {}, w.label), h("br")] : null, h("code", {}, w.id)],
          h("code", { class: "url" }, w.url),
          w.events.join(", "),
          w.status === "active" ? "active" : `removed ${when(w.removedAt)}`,
          `${w.deliveries.delivered} delivered, ${w.deliveries.pending} pending, ${w.deliveries.failed} failed`,
          [
            button("Deliveries", () => void showDeliveries(w), {
              "aria-label": `Deliveries of ${w.label ?? w.id}`,
            }),
            w.status === "active"
              ? [
                  " ",
                  button(
                    "Remove…",
                    async () => {
                      const done = await confirmWrite(s, {
                        title: "Remove the webhook",
                        intro: `No delivery will be attempted to ${w.url} after this; pending ones end as failed.`,
                        kind: "webhook.remove",
                        path: `/v1/webhooks/${w.id}/remove`,
                        record: () => ({ participantId: s.participantId, webhookId: w.id }),
                      });
                      if (done) await load();
                    },
                    { "aria-label": `Remove ${w.label ?? w.id}` },
                  ),
                ]
              : null,
          ],
        ]),
        "No webhooks: register one above to have reversals and new baseline versions pushed to you.",
      ),
    );
  };

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const url = (form.elements.namedItem("url") as HTMLInputElement).value.trim();
    const label = (form.elements.namedItem("label") as HTMLInputElement).value.trim();
    const chosen = Array.from(form.querySelectorAll<HTMLInputElement>('input[name="events"]:checked')).map(
      (i) => i.value,
    );
    const err = $("webhook-form-error");
    if (!url || chosen.length === 0) {
      replace(err, "Give the receiver's URL and choose at least one event.");
      return;
    }
    replace(err);
    const done = await confirmWrite(s, {
      title: "Register a webhook",
      intro:
        "The node will POST each event to this URL as a JWS signed by its key (verify it against /.well-known/jwks.json). Receivers on private or loopback addresses are refused unless the node allows them.",
      kind: "webhook.register",
      path: "/v1/webhooks",
      record: () => ({ participantId: s.participantId, url, events: chosen, ...(label ? { label } : {}) }),
    });
    if (done) {
      form.reset();
      await load();
    }
  });
  $("webhook-refresh").addEventListener("click", () => void load());
  await load();
}
