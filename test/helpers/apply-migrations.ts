// Setup file for the workers project: applies the D1 migrations to each test file's isolated
// database (in one batch: test/helpers/migrate.ts). The other databases (DB_B, NET_1 … NET_9) are
// migrated only by the files that use them, when they make their nodes (two-nodes.ts, network.ts).
//
// Importing cloudflare:test loads the Worker under test (the plugin appends an import of the
// Worker's main module to it), here rather than at a file's first request, where it would count
// against that test's or hook's timeout.
import "cloudflare:test";
import { env } from "cloudflare:workers";
import { migrate } from "./migrate.ts";

await migrate(env.DB);
