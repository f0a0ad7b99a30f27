// The state comparison the federation demo and bench judge convergence by
// (scripts/federation/state.ts): identical states compare identical whatever the order they were
// read in; a difference in any compared part — an entry's status, baseline state or tallies, the
// baseline, the records set, the registry — is a divergence of its kind, named with what each
// node says; what is each node's own (log order, baseline version, configured coordinators) is not.
import type { BaselineEntry, ParticipantView, SubmissionView } from "@eusn/protocol";
import { describe, expect, it } from "vitest";
import {
  canonical,
  compareStates,
  describeDivergences,
  type NodeState,
  projectEntry,
  projectParticipant,
} from "../../scripts/federation/state.ts";

function view(id: string, over: Partial<SubmissionView> = {}): SubmissionView {
  return {
    id,
    recordId: `rec_${id.slice(4)}`,
    submitter: "par_01nl000000000000000000000",
    memberState: "NL",
    signalType: "pdq",
    value: "f".repeat(64),
    quality: 90,
    lowQuality: false,
    limbs: ["a"],
    contentType: "image",
    nationalProvision: "Art. 1",
    tlp: null,
    expiresAt: null,
    status: "live",
    baselineState: "none",
    createdAt: "2026-04-20T10:00:00.000Z",
    linked: [],
    assessments: { concurStates: ["NL", "DE"], concurring: 2, dissenting: 0, quorum: 3, eligible: false },
    feedback: {
      truePositive: 0,
      falsePositive: 0,
      notActioned: 0,
      falsePositiveRate: null,
      minReports: 3,
      flagged: false,
    },
    ...over,
  } as SubmissionView;
}

const baselineEntry = (id: string, state: "included" | "disputed" = "included"): BaselineEntry => ({
  id,
  signalType: "pdq",
  value: "f".repeat(64),
  quality: 90,
  limbs: ["a"],
  contentType: "image",
  memberState: "NL",
  nationalProvision: "Art. 1",
  tlp: null,
  state,
  concurStates: ["AT", "DE", "NL"],
  expiresAt: null,
});

function participant(id: string, over: Partial<ParticipantView> = {}): ParticipantView {
  return {
    id,
    role: "authority",
    memberState: "DE",
    displayName: "BKA",
    status: "active",
    admittedAt: "2026-04-20T10:00:00.000Z",
    admissionRecordId: `rec_${id.slice(4)}`,
    revokedAt: null,
    keys: [
      {
        kid: "k2",
        jwk: { kty: "OKP", crv: "Ed25519", x: "x2" },
        status: "active",
        addedAt: "2026-04-20T10:05:00.000Z",
        retiredAt: null,
      },
      {
        kid: "k1",
        jwk: { kty: "OKP", crv: "Ed25519", x: "x1" },
        status: "retired",
        addedAt: "2026-04-20T10:00:00.000Z",
        retiredAt: "2026-04-20T10:06:00.000Z",
      },
    ],
    ...over,
  } as ParticipantView;
}

/** A node's state from views, in the order given (so tests can read them in another order). */
function state(
  node: string,
  parts: {
    entries?: SubmissionView[];
    baseline?: BaselineEntry[];
    records?: string[];
    participants?: ParticipantView[];
    pending?: number;
  } = {},
): NodeState {
  const participants = new Map<string, unknown>();
  for (const p of parts.participants ?? []) {
    const v = projectParticipant(p);
    if (v !== undefined) participants.set(p.id, v);
  }
  return {
    node,
    entries: new Map((parts.entries ?? []).map((v) => [v.id, projectEntry(v)])),
    baseline: new Map((parts.baseline ?? []).map((e) => [e.id, e])),
    records: new Set(parts.records ?? []),
    participants,
    pending: parts.pending ?? 0,
    logSize: parts.records?.length ?? 0,
  };
}

const S1 = "hsh_01aaaaaaaaaaaaaaaaaaaaaaaa";
const S2 = "hsh_01bbbbbbbbbbbbbbbbbbbbbbbb";
const full = {
  entries: [view(S1, { baselineState: "included" }), view(S2)],
  baseline: [baselineEntry(S1)],
  records: ["aa", "bb", "cc"],
  participants: [participant("par_01de000000000000000000000")],
};

describe("compareStates", () => {
  it("identical states, read in different orders, compare identical", () => {
    const a = state("A", full);
    const b = state("B", {
      entries: [...full.entries].reverse(),
      baseline: full.baseline,
      records: [...full.records].reverse(),
      participants: [
        participant("par_01de000000000000000000000", {
          keys: [...full.participants[0]!.keys].reverse(),
          // What differs only in presentation is not compared: display name, key material order.
          displayName: "Bundeskriminalamt",
        }),
      ],
    });
    const c = compareStates([a, b, state("C", full)]);
    expect(c.identical).toBe(true);
    expect(c.divergences).toEqual([]);
    expect(Object.values(c.counts).every((n) => n === 0)).toBe(true);
  });

  it("an entry's status, baseline state and tallies are each compared", () => {
    const c = compareStates([
      state("A", full),
      state("B", {
        ...full,
        entries: [
          view(S1, { baselineState: "disputed" }),
          view(S2, {
            status: "withdrawn",
            assessments: {
              concurStates: ["DE", "NL"],
              concurring: 2,
              dissenting: 1,
              quorum: 3,
              eligible: false,
            },
          }),
        ],
      }),
    ]);
    expect(c.identical).toBe(false);
    expect(c.counts).toMatchObject({ status: 1, baseline_state: 1, tallies: 1 });
    expect(c.divergences.find((d) => d.kind === "baseline_state")).toEqual({
      kind: "baseline_state",
      id: S1,
      byNode: { A: "included", B: "disputed" },
    });
    expect(c.divergences.find((d) => d.kind === "status")?.byNode).toEqual({ A: "live", B: "withdrawn" });
  });

  it("concurring states in another order are the same tally; a different feedback count is not", () => {
    const same = compareStates([
      state("A", { entries: [view(S1)] }),
      state("B", {
        entries: [
          view(S1, {
            assessments: {
              concurStates: ["DE", "NL"],
              concurring: 2,
              dissenting: 0,
              quorum: 3,
              eligible: false,
            },
          }),
        ],
      }),
    ]);
    expect(same.identical).toBe(true);
    const diff = compareStates([
      state("A", { entries: [view(S1)] }),
      state("B", {
        entries: [
          view(S1, {
            feedback: {
              truePositive: 0,
              falsePositive: 1,
              notActioned: 0,
              falsePositiveRate: 1,
              minReports: 3,
              flagged: false,
            },
          }),
        ],
      }),
    ]);
    expect(diff.counts.tallies).toBe(1);
  });

  it("an entry one node lacks is a divergence showing null there", () => {
    const c = compareStates([state("A", full), state("B", { ...full, entries: [full.entries[0]!] })]);
    expect(c.identical).toBe(false);
    expect(c.divergences.find((d) => d.id === S2 && d.kind === "status")?.byNode).toEqual({
      A: "live",
      B: null,
    });
  });

  it("the baseline is compared entry by entry: membership and content", () => {
    const missing = compareStates([state("A", full), state("B", { ...full, baseline: [] })]);
    expect(missing.counts.baseline).toBe(1);
    const disputed = compareStates([
      state("A", full),
      state("B", { ...full, baseline: [baselineEntry(S1, "disputed")] }),
    ]);
    expect(disputed.counts.baseline).toBe(1);
    expect((disputed.divergences[0]!.byNode as Record<string, BaselineEntry>).B!.state).toBe("disputed");
  });

  it("a record in some logs only is a records divergence; log order is not compared", () => {
    const c = compareStates([
      state("A", full),
      state("B", { ...full, records: ["cc", "aa", "bb", "dd"] }),
      state("C", { ...full, records: ["aa", "bb"] }),
    ]);
    expect(c.counts.records).toBe(2);
    expect(c.divergences.filter((d) => d.kind === "records").map((d) => d.id)).toEqual(["cc", "dd"]);
    expect(c.divergences.find((d) => d.id === "dd")?.byNode).toEqual({ A: false, B: true, C: false });
  });

  it("the registry: a revocation or a retired key seen by one node only is a divergence", () => {
    const id = "par_01de000000000000000000000";
    const revoked = compareStates([
      state("A", full),
      state("B", {
        ...full,
        participants: [participant(id, { status: "revoked", revokedAt: "2026-04-20T11:00:00.000Z" })],
      }),
    ]);
    expect(revoked.counts.registry).toBe(1);
    const retired = participant(id);
    retired.keys[0] = { ...retired.keys[0]!, status: "retired", retiredAt: "2026-04-20T10:07:00.000Z" };
    expect(
      compareStates([state("A", full), state("B", { ...full, participants: [retired] })]).counts.registry,
    ).toBe(1);
  });

  it("coordinators from configuration are each node's own and not compared", () => {
    const coordinator = (admittedAt: string) =>
      participant("par_coorda", {
        role: "coordinator",
        memberState: null,
        admissionRecordId: null,
        admittedAt,
      });
    const c = compareStates([
      state("A", { participants: [coordinator("2026-04-20T10:00:00.000Z")] }),
      state("B", { participants: [coordinator("2026-04-20T10:03:00.000Z")] }),
      state("C", {}),
    ]);
    expect(c.identical).toBe(true);
  });

  it("pending is reported per node (and is not a divergence by itself)", () => {
    const c = compareStates([state("A", { ...full, pending: 2 }), state("B", full)]);
    expect(c.pending).toEqual({ A: 2, B: 0 });
    expect(c.identical).toBe(true);
  });

  it("describeDivergences names the kind, the id and each node's value, and stops at max", () => {
    const c = compareStates([state("A", full), state("B", { ...full, records: [], baseline: [] })]);
    const lines = describeDivergences(c, 2);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^baseline hsh_01a+: A=\{.*"state":"included".*\} {2}B=null$/);
    expect(lines[2]).toBe(`… and ${c.divergences.length - 2} more`);
  });
});

describe("canonical", () => {
  it("sorts object keys at every depth and keeps array order", () => {
    expect(canonical({ b: 1, a: { d: [2, 1], c: null } })).toBe('{"a":{"c":null,"d":[2,1]},"b":1}');
    expect(canonical({ a: 1, b: 2 })).toBe(canonical({ b: 2, a: 1 }));
    expect(canonical([1, 2])).not.toBe(canonical([2, 1]));
  });
});
