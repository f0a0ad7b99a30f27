// What a node has derived, read from the outside through its API, and a comparison of several
// nodes' states: the federation demo and bench use it to say whether the nodes converged. Every
// node that holds the same records must show the same state for each entry (status, baseline
// state, tallies), the same baseline, the same registry and the same set of records; the baseline
// version, log order and arrival times are each node's own and are not compared.
import type { EusnClient } from "@eusn/client";
import type {
  BaselineEntry,
  LogEntriesPage,
  ParticipantView,
  PeerView,
  SubmissionView,
} from "@eusn/protocol";

/** The parts of an entry that must be the same on every node. */
export type EntryProjection = {
  status: string;
  baselineState: string;
  concurStates: string[];
  dissenting: number;
  quorum: number;
  eligible: boolean;
  feedback: { truePositive: number; falsePositive: number; notActioned: number; flagged: boolean };
};

export type NodeState = {
  node: string;
  /** Submission id → its projection. */
  entries: Map<string, EntryProjection>;
  /** Baseline entry id → the entry as GET /v1/baseline serves it. */
  baseline: Map<string, BaselineEntry>;
  /** Leaf hashes of every record in the node's log (the records set; same bytes, same hash). */
  records: Set<string>;
  /** Participant id → status and key history (participants admitted by a record only). */
  participants: Map<string, unknown>;
  /** Replicated records held for a missing dependency, summed over peers. */
  pending: number;
  /** The node's log size. */
  logSize: number;
};

export type DivergenceKind = "status" | "baseline_state" | "tallies" | "baseline" | "records" | "registry";

/** One thing that is not the same on every node, with what each node says. */
export type Divergence = { kind: DivergenceKind; id: string; byNode: Record<string, unknown> };

export type Comparison = {
  identical: boolean;
  divergences: Divergence[];
  /** Divergences counted by kind (an entry differing in status and tallies counts in both). */
  counts: Record<DivergenceKind, number>;
  pending: Record<string, number>;
};

export function projectEntry(s: SubmissionView): EntryProjection {
  return {
    status: s.status,
    baselineState: s.baselineState,
    concurStates: [...s.assessments.concurStates].sort(),
    dissenting: s.assessments.dissenting,
    quorum: s.assessments.quorum,
    eligible: s.assessments.eligible,
    feedback: {
      truePositive: s.feedback.truePositive,
      falsePositive: s.feedback.falsePositive,
      notActioned: s.feedback.notActioned,
      flagged: s.feedback.flagged,
    },
  };
}

/**
 * A participant as every node must know it. Participants from configuration (bootstrap and peer
 * coordinators: no admission record) are each node's own and left out; times are signed times.
 */
export function projectParticipant(p: ParticipantView): unknown | undefined {
  if (p.admissionRecordId === null) return undefined;
  return {
    role: p.role,
    memberState: p.memberState,
    status: p.status,
    admittedAt: p.admittedAt,
    revokedAt: p.revokedAt,
    keys: [...p.keys]
      .sort((a, b) => (a.kid < b.kid ? -1 : a.kid > b.kid ? 1 : 0))
      .map((k) => ({ kid: k.kid, status: k.status, addedAt: k.addedAt, retiredAt: k.retiredAt })),
  };
}

/** JSON with object keys sorted, so equal values compare equal whatever their key order. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === "object" && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : x,
  );
}

/**
 * Compares the states of several nodes. An id present on some nodes only is a divergence of its
 * kind (absent shows as null); a record in some logs only is a `records` divergence.
 */
export function compareStates(states: NodeState[]): Comparison {
  const divergences: Divergence[] = [];
  const nodes = states.map((s) => s.node);
  const byNode = (f: (s: NodeState) => unknown) => Object.fromEntries(states.map((s) => [s.node, f(s)]));
  const same = (values: unknown[]) => values.every((v) => canonical(v) === canonical(values[0]));

  const entryIds = new Set(states.flatMap((s) => [...s.entries.keys()]));
  for (const id of [...entryIds].sort()) {
    const got = states.map((s) => s.entries.get(id) ?? null);
    const field = (f: (e: EntryProjection) => unknown) => got.map((e) => (e ? f(e) : null));
    const checks: [DivergenceKind, (e: EntryProjection) => unknown][] = [
      ["status", (e) => e.status],
      ["baseline_state", (e) => e.baselineState],
      [
        "tallies",
        (e) => ({
          concurStates: e.concurStates,
          dissenting: e.dissenting,
          quorum: e.quorum,
          eligible: e.eligible,
          feedback: e.feedback,
        }),
      ],
    ];
    for (const [kind, f] of checks) {
      const values = field(f);
      if (!same(values))
        divergences.push({
          kind,
          id,
          byNode: byNode((s) => (s.entries.get(id) ? f(s.entries.get(id)!) : null)),
        });
    }
  }

  const baselineIds = new Set(states.flatMap((s) => [...s.baseline.keys()]));
  for (const id of [...baselineIds].sort()) {
    const values = states.map((s) => s.baseline.get(id) ?? null);
    if (!same(values))
      divergences.push({ kind: "baseline", id, byNode: byNode((s) => s.baseline.get(id) ?? null) });
  }

  const leaves = new Set(states.flatMap((s) => [...s.records]));
  for (const h of [...leaves].sort()) {
    if (!states.every((s) => s.records.has(h)))
      divergences.push({ kind: "records", id: h, byNode: byNode((s) => s.records.has(h)) });
  }

  const people = new Set(states.flatMap((s) => [...s.participants.keys()]));
  for (const id of [...people].sort()) {
    const values = states.map((s) => s.participants.get(id) ?? null);
    if (!same(values))
      divergences.push({ kind: "registry", id, byNode: byNode((s) => s.participants.get(id) ?? null) });
  }

  const counts: Record<DivergenceKind, number> = {
    status: 0,
    baseline_state: 0,
    tallies: 0,
    baseline: 0,
    records: 0,
    registry: 0,
  };
  for (const d of divergences) counts[d.kind]++;
  const pending = Object.fromEntries(states.map((s) => [s.node, s.pending]));
  return {
    identical: divergences.length === 0 && nodes.length > 0,
    divergences,
    counts,
    pending,
  };
}

/** A short human-readable account of a comparison's divergences (at most `max` lines). */
export function describeDivergences(c: Comparison, max = 12): string[] {
  const lines = c.divergences.slice(0, max).map(
    (d) =>
      `${d.kind} ${d.id}: ${Object.entries(d.byNode)
        .map(([n, v]) => `${n}=${canonical(v)}`)
        .join("  ")}`,
  );
  if (c.divergences.length > max) lines.push(`… and ${c.divergences.length - max} more`);
  return lines;
}

async function must<T>(c: EusnClient, path: string): Promise<T> {
  const r = await c.get<T>(path);
  if (!r.ok)
    throw new Error(`GET ${c.baseUrl}${path}: ${r.status} ${r.problem.code} ${r.problem.detail ?? ""}`);
  return r.data;
}

/** Reads a node's derived state through its API as its coordinator (`label` names it in reports). */
export async function collectState(coordinator: EusnClient, label = coordinator.nodeId): Promise<NodeState> {
  const entries = new Map<string, EntryProjection>();
  for (let after: string | null = ""; after !== null; ) {
    const page: { submissions: SubmissionView[]; next: string | null } = await must(
      coordinator,
      `/v1/submissions?scope=all&limit=500${after ? `&after=${encodeURIComponent(after)}` : ""}`,
    );
    for (const s of page.submissions) entries.set(s.id, projectEntry(s));
    after = page.next;
  }
  const baseline = new Map<string, BaselineEntry>();
  for (let after: string | null = ""; after !== null; ) {
    const page: { entries: BaselineEntry[]; next: string | null } = await must(
      coordinator,
      `/v1/baseline?limit=5000${after ? `&after=${encodeURIComponent(after)}` : ""}`,
    );
    for (const e of page.entries) baseline.set(e.id, e);
    after = page.next;
  }
  const records = new Set<string>();
  let logSize = 0;
  for (let start: number | null = 0; start !== null; ) {
    const page: LogEntriesPage = await must(coordinator, `/v1/log/entries?start=${start}&limit=500`);
    for (const e of page.entries) records.add(e.leafHash);
    logSize = page.treeSize;
    start = page.next;
  }
  const participants = new Map<string, unknown>();
  const reg = await must<{ participants: ParticipantView[] }>(coordinator, "/v1/participants");
  for (const p of reg.participants) {
    const v = projectParticipant(p);
    if (v !== undefined) participants.set(p.id, v);
  }
  const peers = await must<{ peers: PeerView[] }>(coordinator, "/v1/federation/peers");
  const pending = peers.peers.reduce((n, p) => n + p.pending, 0);
  return { node: label, entries, baseline, records, participants, pending, logSize };
}
