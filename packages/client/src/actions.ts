// One function per action of each role, over EusnClient: each signs the record the node expects
// (schemas in @eusn/protocol) or reads with a fresh bearer token, and returns the node's answer or
// its RFC 9457 problem. The `eusn` command line is a thin layer over these.
import type {
  AuditEntry,
  BaselineEntry,
  MatchRequest,
  MatchResponse,
  ParticipantView,
  PublicJwk,
  RegistryRequestView,
  Reversal,
  SubmissionItem,
  SubmissionListQuery,
  SubmissionView,
  SubmitResult,
  VpdqFrame,
  WriteReceipt,
} from "@eusn/protocol";
import { vpdqDigest } from "@eusn/protocol/plain";
import type { EusnClient, Result } from "./client.ts";

const q = (params: Record<string, string | number | undefined>) => {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) s.set(k, String(v));
  const t = s.toString();
  return t ? `?${t}` : "";
};
const enc = encodeURIComponent;

// ---- everyone ------------------------------------------------------------------------------------

/** What GET /v1/whoami answers: the caller as the node knows it, and the key that signed the token. */
export type WhoAmI = { nodeId: string; kid: string; participant: ParticipantView };

/** Who the node takes this client's key to be (checks the key and the participant id in one request). */
export function whoami(client: EusnClient): Promise<Result<WhoAmI>> {
  return client.get<WhoAmI>("/v1/whoami");
}

/** One participant of the public registry, with its key history. */
export function getParticipant(client: EusnClient, id: string): Promise<Result<ParticipantView>> {
  return client.getPublic<ParticipantView>(`/v1/participants/${enc(id)}`);
}

/** The public registry, optionally by role and status. */
export function listParticipants(
  client: EusnClient,
  filter: { role?: string; status?: "active" | "revoked" } = {},
): Promise<Result<{ participants: ParticipantView[] }>> {
  return client.getPublic(`/v1/participants${q(filter)}`);
}

/** The exact signed bytes (compact JWS) of a stored record. */
export function getRecord(client: EusnClient, id: string): Promise<Result<string>> {
  return client.get<string>(`/v1/records/${enc(id)}`, { headers: { accept: "application/jose" } });
}

// ---- authority -----------------------------------------------------------------------------------

/** Submits up to 1,000 hashes as one signed record; answers `{receipt, submissions}`. */
export function submitHashes(client: EusnClient, items: SubmissionItem[]): Promise<Result<SubmitResult>> {
  return client.write<SubmitResult>("/v1/submissions", "submission.create", { items });
}

/** A video's frames as the node takes them, with its duration. */
export type VideoFrames = { frames: VpdqFrame[]; durationSeconds: number };

/**
 * Submits one video (its vPDQ frame hashes) as one signed record: a video of up to 10,800 frames
 * fills most of a request, so videos are never batched. `value` is computed here: the SHA-256 of
 * the frames in the reference's text format (vpdqDigest).
 */
export async function submitVideo(
  client: EusnClient,
  video: VideoFrames,
  labels: Omit<SubmissionItem, "signalType" | "value" | "video" | "quality">,
  /** Tag it with an active crisis incident: a provisional entry (docs/incidents.md). */
  incidentId?: string,
): Promise<Result<SubmitResult>> {
  const item: SubmissionItem = {
    ...labels,
    signalType: "vpdq",
    value: await vpdqDigest(video.frames),
    video: { frameCount: video.frames.length, durationSeconds: video.durationSeconds, frames: video.frames },
  };
  if (incidentId)
    return client.write<SubmitResult>("/v1/submissions", "submission.create", { incidentId, items: [item] });
  return submitHashes(client, [item]);
}

export type SubmissionPage = { submissions: SubmissionView[]; next: string | null };

/** Lists submissions: an authority's own (`mine`), those awaiting its assessment, or all. */
export function listSubmissions(
  client: EusnClient,
  query: Partial<SubmissionListQuery> = {},
): Promise<Result<SubmissionPage>> {
  return client.get<SubmissionPage>(`/v1/submissions${q(query)}`);
}

export type HistoryItem = {
  kind: string;
  recordId: string;
  issuer: string;
  receivedAt: string;
  jws: string;
  summary: Record<string, unknown>;
};
export type SubmissionDetail = { submission: SubmissionView; history: HistoryItem[] };

/** One entry, its tallies and every signed record about it (authority, coordinator). */
export function getSubmission(client: EusnClient, id: string): Promise<Result<SubmissionDetail>> {
  return client.get<SubmissionDetail>(`/v1/submissions/${enc(id)}`);
}

/** Concurs with or dissents from another authority's submission (a dissent needs a reason). */
export function assess(
  client: EusnClient,
  submissionId: string,
  a: { verdict: "concur" | "dissent"; limb: string; reason?: string },
): Promise<Result<WriteReceipt>> {
  return client.write<WriteReceipt>(`/v1/submissions/${enc(submissionId)}/assessments`, "assessment.create", {
    submissionId,
    verdict: a.verdict,
    limb: a.limb,
    ...(a.reason !== undefined ? { reason: a.reason } : {}),
  });
}

/** Withdraws one's own submission; platforms that matched it see it in their reversals. */
export function withdraw(
  client: EusnClient,
  submissionId: string,
  reason: string,
): Promise<Result<WriteReceipt>> {
  return client.write<WriteReceipt>(`/v1/submissions/${enc(submissionId)}/withdraw`, "submission.withdraw", {
    submissionId,
    reason,
  });
}

// ---- coordinator ---------------------------------------------------------------------------------

/** Admits a participant with its public key(s); the receipt's subjectId is the new participant id. */
export function admit(
  client: EusnClient,
  p: { role: string; memberState?: string; displayName: string; keys: PublicJwk[] },
): Promise<Result<WriteReceipt>> {
  return client.write<WriteReceipt>("/v1/participants", "participant.admit", {
    role: p.role,
    ...(p.memberState ? { memberState: p.memberState } : {}),
    displayName: p.displayName,
    jwks: { keys: p.keys },
  });
}

/** Revokes a participant: all its keys stop working from now on. */
export function revoke(
  client: EusnClient,
  participantId: string,
  reason: string,
): Promise<Result<WriteReceipt>> {
  return client.write<WriteReceipt>(`/v1/participants/${enc(participantId)}/revoke`, "participant.revoke", {
    participantId,
    reason,
  });
}

/**
 * Admissions and revocations of authorities signed once and waiting for their second signature
 * (`pending`, the default), or completed ones.
 */
export function registryRequests(
  client: EusnClient,
  status: RegistryRequestView["status"] = "pending",
): Promise<Result<{ requests: RegistryRequestView[] }>> {
  return client.getPublic<{ requests: RegistryRequestView[] }>(`/v1/registry/requests?status=${status}`);
}

/**
 * Gives a request its second signature: by another coordinator than the requester, or by an
 * active authority of the participant's member state. The record names the request, its
 * participant and its action, so it counts for that request only.
 */
export function countersign(
  client: EusnClient,
  request: { participantId: string; requestRecordId: string; action: "admit" | "revoke" },
): Promise<Result<WriteReceipt>> {
  return client.write<WriteReceipt>(
    `/v1/participants/${enc(request.participantId)}/countersign`,
    "participant.countersign",
    {
      participantId: request.participantId,
      requestRecordId: request.requestRecordId,
      action: request.action,
    },
  );
}

/**
 * Withdraws a request its signer made while it waits for its second signature: nobody can
 * countersign it afterwards. Only the coordinator that signed the request can.
 */
export function withdrawRequest(
  client: EusnClient,
  request: { participantId: string; requestRecordId: string; action: "admit" | "revoke" },
  reason?: string,
): Promise<Result<WriteReceipt>> {
  return client.write<WriteReceipt>(
    `/v1/participants/${enc(request.participantId)}/requests/withdraw`,
    "participant.request.withdraw",
    {
      participantId: request.participantId,
      requestRecordId: request.requestRecordId,
      action: request.action,
      ...(reason ? { reason } : {}),
    },
  );
}

export type Decision = "include" | "exclude" | "retire";

/**
 * The assessments a decision cites when none are given: for `include`, every live concurrence of
 * an active authority (what the quorum counts); for `exclude`, every such dissent; for `retire`,
 * none. Read from the entry's history as the node summarises it.
 */
export function citedAssessments(detail: SubmissionDetail, decision: Decision): string[] {
  if (decision === "retire") return [];
  const verdict = decision === "include" ? "concur" : "dissent";
  return detail.history
    .map((h) => h.summary)
    .filter((s) => s.action === "assessed" && s.verdict === verdict && s.counts === true)
    .map((s) => String(s.assessmentId));
}

/**
 * Decides on a baseline entry. Without `assessmentIds`, cites the ones `citedAssessments` picks
 * (one extra read of the entry).
 */
export async function decide(
  client: EusnClient,
  submissionId: string,
  d: { decision: Decision; reason: string; assessmentIds?: string[] },
): Promise<Result<WriteReceipt & { cited: string[] }>> {
  let cited = d.assessmentIds;
  if (cited === undefined) {
    const detail = await getSubmission(client, submissionId);
    if (!detail.ok) return detail;
    cited = citedAssessments(detail.data, d.decision);
  }
  const res = await client.write<WriteReceipt>(
    `/v1/submissions/${enc(submissionId)}/decisions`,
    "baseline.decide",
    { submissionId, decision: d.decision, reason: d.reason, assessmentIds: cited },
  );
  return res.ok ? { ...res, data: { ...res.data, cited } } : res;
}

export type ReverseGround = "complaint_upheld" | "court_ruling" | "error" | "other";

/** Reverses a submission (after an upheld complaint, a court ruling, an error…). */
export function reverse(
  client: EusnClient,
  submissionId: string,
  r: { ground: ReverseGround; reason: string; reference?: string },
): Promise<Result<WriteReceipt>> {
  return client.write<WriteReceipt>(`/v1/submissions/${enc(submissionId)}/reverse`, "submission.reverse", {
    submissionId,
    ground: r.ground,
    reason: r.reason,
    ...(r.reference ? { reference: r.reference } : {}),
  });
}

/** A curation queue: entries eligible for inclusion, disputed, or flagged by platform feedback. */
export function curation(
  client: EusnClient,
  queue: "eligible" | "disputed" | "flagged",
  limit?: number,
): Promise<Result<{ queue: string; submissions: SubmissionView[] }>> {
  return client.get(`/v1/curation${q({ queue, limit })}`);
}

export type AuditPage = { entries: (AuditEntry & { detail?: unknown })[]; next: number | null };

/**
 * A page of the audit trail: oldest first after `after`, or newest first (`order: "desc"`) before
 * `before`; optionally only one kind, actor or subject.
 */
export function auditPage(
  client: EusnClient,
  page: {
    after?: number;
    before?: number;
    order?: "asc" | "desc";
    kind?: string;
    actor?: string;
    subject?: string;
    limit?: number;
  } = {},
) {
  return client.get<AuditPage>(`/v1/audit${q(page)}`);
}

// ---- platform ------------------------------------------------------------------------------------

/** POST /v1/match: every entry within `threshold` of each item, one result per item in order. */
export function match(client: EusnClient, request: MatchRequest): Promise<Result<MatchResponse>> {
  return client.match(request);
}

/** Reports what a match turned out to be (only a platform that matched the entry). */
export function feedback(
  client: EusnClient,
  submissionId: string,
  f: { outcome: "true_positive" | "false_positive" | "not_actioned"; note?: string },
): Promise<Result<WriteReceipt>> {
  return client.write<WriteReceipt>(`/v1/submissions/${enc(submissionId)}/feedback`, "feedback.create", {
    submissionId,
    outcome: f.outcome,
    ...(f.note ? { note: f.note } : {}),
  });
}

export type ReversalPage = { reversals: Reversal[]; next: number | null };

/** Withdrawals, reversals and exclusions of entries this platform matched, after cursor `after`. */
export function reversals(client: EusnClient, page: { after?: number; limit?: number } = {}) {
  return client.get<ReversalPage>(`/v1/reversals${q(page)}`);
}

export type BaselinePage = { version: number; entries: BaselineEntry[]; next: string | null };

/**
 * One page of the baseline. With `etag` (the ETag of an earlier answer) an unchanged baseline
 * answers `{ unchanged: true }` (HTTP 304) without a body.
 */
export async function baselinePage(
  client: EusnClient,
  page: { after?: string; limit?: number; etag?: string } = {},
): Promise<Result<(BaselinePage & { unchanged?: false; etag: string }) | { unchanged: true; etag: string }>> {
  const res = await client.get<BaselinePage | string>(
    `/v1/baseline${q({ after: page.after, limit: page.limit })}`,
    {
      headers: page.etag ? { "if-none-match": page.etag } : {},
    },
  );
  if (!res.ok) return res;
  const etag = res.headers.get("etag") ?? "";
  if (res.status === 304) return { ...res, data: { unchanged: true, etag } };
  return { ...res, data: { ...(res.data as BaselinePage), etag } };
}

/** The whole baseline, all pages of one version (restarts when the baseline changes meanwhile). */
export async function fullBaseline(
  client: EusnClient,
  opts: { etag?: string; pageSize?: number } = {},
): Promise<
  Result<
    | { unchanged: true; etag: string }
    | { unchanged: false; etag: string; version: number; entries: BaselineEntry[] }
  >
> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const first = await baselinePage(client, {
      ...(opts.etag ? { etag: opts.etag } : {}),
      limit: opts.pageSize ?? 5000,
    });
    if (!first.ok || first.data.unchanged) return first as Result<{ unchanged: true; etag: string }>;
    const { version, etag } = first.data;
    const entries = [...first.data.entries];
    let next = first.data.next;
    let moved = false;
    while (next !== null) {
      const p = await baselinePage(client, { after: next, limit: opts.pageSize ?? 5000 });
      if (!p.ok) return p as Result<never>;
      if (p.data.unchanged || p.data.version !== version) {
        moved = true;
        break;
      }
      entries.push(...p.data.entries);
      next = p.data.next;
    }
    if (!moved) return { ...first, data: { unchanged: false, etag, version, entries } };
  }
  throw new Error("the baseline kept changing while it was read; try again");
}

export type ExportPage = { body: string; next: number; more: boolean; version: number };

/** One page of the hash-list export (csv `type,value,id` or jsonl) after cursor `after`. */
export async function exportPage(
  client: EusnClient,
  page: { format?: "csv" | "jsonl"; after?: number; limit?: number } = {},
): Promise<Result<ExportPage>> {
  const res = await client.get<string>(`/v1/baseline/export${q(page)}`, { headers: { accept: "*/*" } });
  if (!res.ok) return res;
  return {
    ...res,
    data: {
      body: String(res.data),
      next: Number(res.headers.get("x-eusn-next") ?? page.after ?? 0),
      more: res.headers.get("x-eusn-more") === "true",
      version: Number(res.headers.get("x-eusn-baseline-version") ?? 0),
    },
  };
}
