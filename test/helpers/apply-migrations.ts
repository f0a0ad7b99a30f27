// Setup file for the workers project, run before each test file.
//
// The project's files share their workerd and the modules it has loaded (`isolate: false` in
// vitest.config.ts: a fresh workerd per file cost about 3.5 s of start-up, more than the tests of
// most files), so each file begins by emptying what the file before it left: every Durable
// Object, D1 database and R2 bucket (empty-storage.ts), the test helpers' memory (node.ts), fake
// timers and spies. The Worker itself keeps no per-request state in its modules (its caches are
// keyed by the configuration they read).
//
// It then applies the D1 migrations to DB (in one batch: migrate.ts). The other databases
// (DB_B, NET_1 … NET_9) are migrated only by the files that use them, when they make their nodes
// (two-nodes.ts, network.ts).
//
// Importing cloudflare:test loads the Worker under test (the plugin appends an import of the
// Worker's main module to it), here rather than at a file's first request, where it would count
// against that test's or hook's timeout.
import "cloudflare:test";
import { env } from "cloudflare:workers";
import { vi } from "vitest";
import { emptyStorage } from "./empty-storage.ts";
import { migrate } from "./migrate.ts";
import { forgetFileState } from "./node.ts";

vi.useRealTimers();
vi.restoreAllMocks();
forgetFileState();
await emptyStorage();
await migrate(env.DB);
