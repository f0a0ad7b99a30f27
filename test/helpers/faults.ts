// A database fault injected for a test: a real SQLite trigger that aborts the statement it fires
// on, as a failing disk or constraint would, so the code under test meets a true D1 error (no mock
// of our own code). One fault at a time; `clearFault` in an afterEach removes a forgotten one.
import { env } from "cloudflare:workers";

const FAULT = "eusn_test_fault";

/**
 * Makes SQLite abort with `message` whenever the trigger's `when` fires, e.g.
 * `BEFORE INSERT ON "submissions"` or `BEFORE INSERT ON fingerprint_keys WHEN NEW.level = 0`.
 */
export async function injectFault(when: string, message = "injected fault"): Promise<void> {
  await env.DB.exec(`CREATE TRIGGER ${FAULT} ${when} BEGIN SELECT RAISE(ABORT, '${message}'); END;`);
}

/** Makes every INSERT into `table` fail inside SQLite. */
export function breakInserts(table: string): Promise<void> {
  return injectFault(`BEFORE INSERT ON "${table}"`, `injected fault in ${table}`);
}

/** Removes the injected fault, if there is one. */
export async function clearFault(): Promise<void> {
  await env.DB.exec(`DROP TRIGGER IF EXISTS ${FAULT};`);
}
