// Types of the bindings the tests see (the Worker's own, plus test-only ones from vitest.config.ts).
import type { D1Migration } from "cloudflare:test";
import type { Env as WorkerEnv } from "../workers/api/env.ts";

declare global {
  namespace Cloudflare {
    interface Env extends WorkerEnv {
      TEST_MIGRATIONS: D1Migration[];
      TEST_COORDINATOR_PRIVATE_JWK: string;
      /** The webhook receiver of test/helpers/webhook-receiver.ts: http://127.0.0.1:<port>. */
      TEST_WEBHOOK_RECEIVER: string;
    }
    interface GlobalProps {
      mainModule: typeof import("../workers/api/index.ts");
    }
  }
}
