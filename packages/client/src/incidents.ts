// Crisis incidents in the SDK (docs/incidents.md): declare, extend and close (coordinators), list
// and read them (every participant), and follow one incident's hashes through the fast lane — a
// long-poll over GET /v1/incidents/{id}/hashes that keeps the set of hashes to match now.
import type {
  IncidentHashChange,
  IncidentHashPage,
  IncidentList,
  IncidentView,
  SubmissionItem,
  SubmitResult,
  WriteReceipt,
} from "@eusn/protocol";
import type { EusnClient, Result } from "./client.ts";

export type IncidentWrite = { receipt: WriteReceipt; incident: IncidentView };

/**
 * Declares an incident (coordinator). It ends at most 72 h after it starts.
 * @example
 * await declareIncident(client, { title: "Livestreamed attack", description: "…", requestedBy: ["NL"],
 *   startsAt: new Date().toISOString(), endsAt: new Date(Date.now() + 24 * 3600e3).toISOString() });
 */
export function declareIncident(
  client: EusnClient,
  r: {
    title: string;
    description: string;
    requestedBy: string[];
    startsAt: string;
    endsAt: string;
    public?: boolean;
  },
): Promise<Result<IncidentWrite>> {
  return client.write<IncidentWrite>("/v1/incidents", "incident.declare", { public: false, ...r });
}

/** Moves an active incident's end later (coordinator; never beyond 7 days from its start). */
export function extendIncident(
  client: EusnClient,
  incidentId: string,
  endsAt: string,
  reason: string,
): Promise<Result<IncidentWrite>> {
  return client.write<IncidentWrite>(`/v1/incidents/${incidentId}/extend`, "incident.extend", {
    incidentId,
    endsAt,
    reason,
  });
}

/** Closes an incident (coordinator): its unconfirmed provisional entries lapse at once. */
export function closeIncident(
  client: EusnClient,
  incidentId: string,
  reason: string,
): Promise<Result<IncidentWrite>> {
  return client.write<IncidentWrite>(`/v1/incidents/${incidentId}/close`, "incident.close", {
    incidentId,
    reason,
  });
}

export function listIncidents(client: EusnClient, activeOnly = false): Promise<Result<IncidentList>> {
  return client.get<IncidentList>(`/v1/incidents${activeOnly ? "?status=active" : ""}`);
}

export function getIncident(client: EusnClient, incidentId: string): Promise<Result<IncidentView>> {
  return client.get<IncidentView>(`/v1/incidents/${encodeURIComponent(incidentId)}`);
}

/** Submits hashes tagged with an active incident (authority): provisional entries. */
export function submitProvisional(
  client: EusnClient,
  incidentId: string,
  items: SubmissionItem[],
): Promise<Result<SubmitResult>> {
  return client.write<SubmitResult>("/v1/submissions", "submission.create", { incidentId, items });
}

/** One page of the incident's hash changes after `after`, held up to `waitS` seconds when empty. */
export function incidentHashes(
  client: EusnClient,
  incidentId: string,
  after: number,
  waitS = 0,
): Promise<Result<IncidentHashPage>> {
  return client.get<IncidentHashPage>(
    `/v1/incidents/${encodeURIComponent(incidentId)}/hashes?after=${after}&wait=${waitS}`,
  );
}

/** The hashes to match now, by `type:value`, with when each lapses (null: in the baseline). */
export type FollowedSet = Map<
  string,
  { signalType: string; value: string; submissionId: string; lapsesAt: string | null }
>;

/**
 * Applies a page to the set in order (`add` puts, `remove` deletes) and drops entries whose lapse
 * time has passed on this machine's clock — the node already stopped answering them, and the
 * removal reaches the feed when its scheduled job or a close records it.
 */
export function applyIncidentChanges(
  set: FollowedSet,
  changes: IncidentHashChange[],
  now = Date.now(),
): void {
  for (const c of changes) {
    const key = `${c.signalType}:${c.value}`;
    if (c.op === "add")
      set.set(key, {
        signalType: c.signalType,
        value: c.value,
        submissionId: c.submissionId,
        lapsesAt: c.provisional?.lapsesAt ?? null,
      });
    else set.delete(key);
  }
  for (const [k, v] of set) if (v.lapsesAt && Date.parse(v.lapsesAt) <= now) set.delete(k);
}

/**
 * Follows an incident: long-polls its hash feed from `after` and calls `onPage` with every page
 * that changed something (and the set after it), until `signal` aborts or the incident is over
 * and drained. Answers the last cursor.
 */
export async function followIncident(
  client: EusnClient,
  incidentId: string,
  o: {
    after?: number;
    waitS?: number;
    set?: FollowedSet;
    signal?: AbortSignal;
    onPage: (page: IncidentHashPage, set: FollowedSet) => void | Promise<void>;
  },
): Promise<number> {
  let after = o.after ?? 0;
  const set = o.set ?? new Map();
  while (!o.signal?.aborted) {
    const res = await incidentHashes(client, incidentId, after, o.waitS ?? 25);
    if (!res.ok)
      throw new Error(`${res.status} ${res.problem.code}: ${res.problem.detail ?? res.problem.title}`);
    const page = res.data;
    const before = set.size;
    applyIncidentChanges(set, page.changes);
    if (page.changes.length > 0 || set.size !== before) await o.onPage(page, set);
    after = page.next;
    if (!page.more && page.changes.length === 0 && (page.status === "closed" || page.status === "ended"))
      break;
  }
  return after;
}
