// Worker entry point: the Hono app for HTTP, and the scheduled handler for periodic jobs.
import { createApp } from "./app.ts";
import type { Env } from "./env.ts";

export { MatchShard } from "./match/shard.ts";

const app = createApp();

export default {
  fetch: app.fetch,
  async scheduled(_controller: ScheduledController, _env: Env, _ctx: ExecutionContext) {
    // Scheduled jobs (signal purge, index compaction) register here as they land.
  },
} satisfies ExportedHandler<Env>;
