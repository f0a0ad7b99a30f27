// Demo content for a fresh local node (hash submissions, assessments, …) as the features that
// use it land. Idempotent: it checks what is there before writing.
import type { Credential } from "./demo-keys.ts";

export async function seedDemoContent(_creds: Credential[], _log: (msg: string) => void): Promise<void> {
  // Filled in by the submissions work (issue 3).
}
