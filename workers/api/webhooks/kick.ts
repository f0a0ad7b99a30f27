// Wakes the webhook dispatcher after a record that may cause an event was stored (over HTTP or
// from a peer's log). Cheap (it only sets the object's alarm to now) and never fails the write
// that called it: the cron tick wakes the dispatcher anyway (workers/api/index.ts).
import type { Env } from "../env.ts";

/** Record kinds whose effects can be events: reversals, baseline changes, targeted signals. */
const EVENT_KINDS = new Set([
  "submission.withdraw",
  "submission.reverse",
  "baseline.decide",
  "baseline.decide.batch",
  "participant.revoke",
  "participant.countersign",
  "participant.key.retire",
  "signal.create",
  "webhook.register",
]);

export async function kickDispatcher(env: Env, kind?: string): Promise<void> {
  if (!env.WEBHOOKS || (kind !== undefined && !EVENT_KINDS.has(kind))) return;
  try {
    await env.WEBHOOKS.get(env.WEBHOOKS.idFromName("dispatcher")).kick();
  } catch (e) {
    console.warn(`webhook dispatcher kick failed: ${String(e)}`);
  }
}
