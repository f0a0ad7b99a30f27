// Worker entry point: the Hono app for HTTP, and the scheduled handler for periodic jobs.
import { createApp } from "./app.ts";
import type { Env } from "./env.ts";
import { purgeExpiredSignals } from "./store/signals.ts";

export { RateLimiter } from "./limits/rate-limiter.ts";
export { MatchShard } from "./match/shard.ts";

const app = createApp();

export default {
  fetch: app.fetch,
  async scheduled(_controller: ScheduledController, env: Env, _ctx: ExecutionContext) {
    // Scheduled jobs (signal purge, index compaction) register here as they land.
    await purgeExpiredSignals(env.DB);
  },
} satisfies ExportedHandler<Env>;
