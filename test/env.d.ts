// Types of the bindings the tests see (the Worker's own, plus test-only ones from vitest.config.ts).
import type { Env } from "../workers/api/env.ts";

declare global {
  namespace Cloudflare {
    interface Env {
      DB: D1Database;
      NODE_ID: string;
      TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
      TEST_COORDINATOR_PRIVATE_JWK: string;
    }
  }
}
export type { Env };
