// Worker entry point: the Hono app for HTTP, and the scheduled handler for periodic jobs.
import { createApp } from "./app.ts";
import { config } from "./config.ts";
import type { Env } from "./env.ts";
import { pullPeers } from "./federation/pull.ts";
import { wakeIncidentFollowers } from "./incidents/watch.ts";
import { db } from "./lib/db.ts";
import { recordDueExpiries } from "./store/changes.ts";
import { purgeCaseFiles } from "./store/evidence.ts";
import { mergeFingerprintKeysIfDue } from "./store/fingerprint-keys.ts";
import { recordDueLapses } from "./store/incidents.ts";
import { foldMatches } from "./store/match.ts";
import { purgeReviewItems } from "./store/review.ts";
import { purgeExpiredSignals } from "./store/signals.ts";
import { purgeDeliveries } from "./store/webhooks.ts";
import { kickDispatcher } from "./webhooks/kick.ts";

export { IncidentWatch } from "./incidents/watch-object.ts";
export { RateLimiter } from "./limits/rate-limiter.ts";
export { MatchShard } from "./match/shard.ts";
export { WebhookDispatcher } from "./webhooks/dispatcher.ts";

/** Finished webhook deliveries stay visible this long (docs/webhooks.md). */
const DELIVERY_RETENTION_DAYS = 30;

const app = createApp();

export default {
  fetch: app.fetch,
  async scheduled(_controller: ScheduledController, env: Env, _ctx: ExecutionContext) {
    // Provisional entries of crisis incidents whose window is over: their lapse goes into the
    // change feed (they already stopped matching at query time), and the incidents' followers are
    // told (docs/incidents.md).
    await wakeIncidentFollowers(env, await recordDueLapses(db(env.DB)));
    // Entries whose term is over: their expiry goes into the change feed too, so the reversals feed,
    // webhooks (the dispatcher's turn below) and the baseline version say so (docs/webhooks.md).
    await recordDueExpiries(db(env.DB), new Date().toISOString());
    // Expired migration signals are deleted, not only hidden (docs/signals.md "Retention and purge").
    await purgeExpiredSignals(env.DB);
    // A platform's kept match results are deleted once their retention is over (docs/console.md).
    await purgeReviewItems(db(env.DB), config(env).review.retentionDays);
    // Case files past retention, withdrawn or reversed: R2 object and wrapped keys (docs/evidence.md).
    await purgeCaseFiles(db(env.DB), env.EVIDENCE, config(env).evidence.retentionDays);
    // Federation: pull every configured peer's log from its cursor (docs/federation.md). Reports
    // are kept per peer (GET /v1/federation/peers); refusals and forks are in the audit log.
    for (const r of await pullPeers(env).catch((e: unknown) => [
      { peer: "*", status: "error", reason: String(e) },
    ])) {
      if (r.status !== "ok") console.warn(`federation pull of ${r.peer}: ${r.status}: ${r.reason ?? ""}`);
    }
    // Matched entries of match requests still pending go into the per-entry memory
    // (store/match.ts): readers fold first anyway; this bounds the backlog on a quiet node.
    await foldMatches(env.DB);
    // The small level of the fingerprint keys, when it is due (store/fingerprint-keys.ts).
    await mergeFingerprintKeysIfDue(env.DB);
    // Webhooks: finished deliveries are kept a month for the console; then a turn of the
    // dispatcher, whatever woke it before (events the pull above replicated included).
    await purgeDeliveries(
      db(env.DB),
      new Date(Date.now() - DELIVERY_RETENTION_DAYS * 86_400_000).toISOString(),
    );
    await kickDispatcher(env);
  },
} satisfies ExportedHandler<Env>;
