// Crisis incidents through the real API, for the incident tests: declare one (coordinator),
// submit provisional entries (authority), match them (platform), read the hash feed, run the cron.
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { EusnClient } from "@eusn/client";
import type { IncidentHashPage, IncidentView, MatchRequest, SubmitResult } from "@eusn/protocol";
import worker from "../../workers/api/index.ts";
import { pdqItem, randomPdq, rng } from "./hashes.ts";
import { matchChecked } from "./match-answer.ts";
import { coordinator } from "./node.ts";

const r = rng(2121);
export const freshValue = () => randomPdq(r);
const HOUR = 3600_000;

export type DeclareOpts = { startsAt?: number; endsAt?: number; public?: boolean; title?: string };

/** A declare record: starts now, ends in 24 h unless told. */
export function declareRecord(o: DeclareOpts = {}) {
  const start = o.startsAt ?? Date.now() - 1000;
  return {
    title: o.title ?? "Livestreamed attack, copies spreading",
    description: "An attack streamed live; copies are being re-uploaded across platforms.",
    requestedBy: ["NL", "DE"],
    startsAt: new Date(start).toISOString(),
    endsAt: new Date(o.endsAt ?? start + 24 * HOUR).toISOString(),
    public: o.public ?? false,
  };
}

/** Declares an incident as the bootstrap coordinator; answers its view. */
export async function declare(o: DeclareOpts = {}, by: EusnClient = coordinator()): Promise<IncidentView> {
  const res = await by.write<{ incident: IncidentView }>(
    "/v1/incidents",
    "incident.declare",
    declareRecord(o),
  );
  if (!res.ok) throw new Error(`declare: ${res.status} ${JSON.stringify(res.problem)}`);
  return res.data.incident;
}

export async function closeIncident(id: string, by: EusnClient = coordinator()) {
  const res = await by.write<{ incident: IncidentView; receipt: { recordId: string } }>(
    `/v1/incidents/${id}/close`,
    "incident.close",
    { incidentId: id, reason: "the spread is contained" },
  );
  if (!res.ok) throw new Error(`close: ${res.status} ${JSON.stringify(res.problem)}`);
  return res.data;
}

/** Submits `values` tagged with the incident; answers the submission ids. */
export async function submitProvisional(
  by: EusnClient,
  incidentId: string,
  values: string[],
  extra: Record<string, unknown> = {},
): Promise<string[]> {
  const res = await by.write<SubmitResult>("/v1/submissions", "submission.create", {
    incidentId,
    items: values.map((v) => pdqItem(v, extra)),
  });
  if (!res.ok) throw new Error(`submit: ${res.status} ${JSON.stringify(res.problem)}`);
  return res.data.submissions.map((s) => s.id);
}

/** The platform's match of one value; answers the hits. */
export async function matchOne(platform: EusnClient, value: string, scope: "baseline" | "all" = "baseline") {
  return (await matchChecked(platform, { scope, items: [{ type: "pdq", value }] } as MatchRequest))
    .results[0]!.matches;
}

export async function hashes(by: EusnClient, id: string, query = ""): Promise<IncidentHashPage> {
  const res = await by.get<IncidentHashPage>(`/v1/incidents/${id}/hashes${query}`);
  if (!res.ok) throw new Error(`hashes: ${res.status} ${JSON.stringify(res.problem)}`);
  return res.data;
}

/** What the cron trigger does: the Worker's own `scheduled` handler, run to completion. */
export async function runCron(): Promise<void> {
  const ctx = createExecutionContext();
  await worker.scheduled(
    createScheduledController({ cron: "*/15 * * * *", scheduledTime: Date.now() }),
    env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
}

export const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
