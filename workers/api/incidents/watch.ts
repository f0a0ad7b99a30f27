// Waking the followers of an incident's hash feed after a write changed it. One IncidentWatch
// Durable Object per incident (named by its id) holds the long-polls of GET
// /v1/incidents/{id}/hashes?wait=; a write that adds or removes a hash of the incident calls
// `wake` once it is stored, so a follower is answered within one round trip of the write instead
// of at its next poll.
import type { Env } from "../env.ts";

export async function wakeIncidentFollowers(env: Env, incidentIds: readonly string[]): Promise<void> {
  await Promise.all(
    [...new Set(incidentIds)].map(async (id) => {
      try {
        await env.INCIDENT_WATCH.get(env.INCIDENT_WATCH.idFromName(id)).wake();
      } catch (e) {
        // The write is stored whatever happens here: a follower then sees it at its timeout.
        console.warn(`incident watch ${id} not woken: ${e instanceof Error ? e.name : "unknown"}`);
      }
    }),
  );
}
