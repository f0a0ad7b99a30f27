// An entry's state is a function of the set of its records, never of the order they arrived in:
// the records about one submission (its creation, assessments, coordinator decisions, withdrawal
// or reversal, platform feedback) are folded in signed order together with the revocations of the
// authorities involved, and the fold decides which of them took effect. Signed order is `iat`,
// then, for records signed in the same second, the node that first accepted each and its index in
// that node's log (the order their origin accepted them in, known on every node). Every node that holds the same records derives the same state, whether it accepted them
// over HTTP or pulled them from peers in any order (docs/federation.md "Convergence").
//
// Which signatures count is decided before the fold, by signed times too: a record signed by a
// key after that key was retired, or by a participant after its revocation, is void (`void` on the
// fact) and takes no part. This module is pure: store/entry-state.ts loads the facts and writes
// what the fold returns; test/api/convergence.test.ts and test/api/rules-baseline.test.ts hold
// its spec cases.
import { tlpAllowsSharing } from "./baseline.ts";

/**
 * A record's place in signed order: its signed time in seconds (`iat`), then the node that first
 * accepted it, then its index in that node's log (a record being accepted right now comes after
 * every record of its origin: `Infinity`). Every node knows all three for every record it holds.
 */
export type Position = { iat: number; origin: string; originIndex: number };

/** Negative when `a` comes before `b` in signed order. */
export function comparePositions(a: Position, b: Position): number {
  return (
    a.iat - b.iat ||
    (a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : 0) ||
    (a.originIndex === b.originIndex ? 0 : a.originIndex < b.originIndex ? -1 : 1)
  );
}

export type SignedAt = Position & { recordId: string };

export type AssessmentFact = SignedAt & {
  type: "assessment";
  id: string;
  authorityId: string;
  memberState: string;
  verdict: "concur" | "dissent";
  void: boolean;
};
export type DecisionFact = SignedAt & {
  type: "decision";
  id: string;
  actorId: string;
  action: "include" | "exclude" | "retire" | "withdraw" | "reverse";
  /** Assessment ids an inclusion cites. */
  cited: string[];
  void: boolean;
};
export type FeedbackFact = SignedAt & {
  type: "feedback";
  id: string;
  platformId: string;
  outcome: "true_positive" | "false_positive" | "not_actioned";
  void: boolean;
};
export type Fact = AssessmentFact | DecisionFact | FeedbackFact;

/** An authority's place in the registry: the positions of its admission and revocation records. */
export type AuthorityTimeline = {
  id: string;
  memberState: string;
  admitted: Position;
  revoked: Position | null;
};

export type EntryFacts = {
  id: string;
  submitterId: string;
  memberState: string;
  tlp: string | null;
  /** Expiry in seconds, or null. */
  expiresAt: number | null;
  /** The creating record was void (signed after its key or signer stopped being valid). */
  createdVoid: boolean;
  facts: Fact[];
};

export type Registry = {
  authorities: Map<string, AuthorityTimeline>;
  /** BASELINE_MIN_STATES (> 0), or 0: every member state with an active authority. */
  minStates: number;
};

export type Refusal = { code: "conflict" | "unprocessable"; detail: string };

export type EntryState = {
  status: "live" | "withdrawn" | "reversed" | "voided";
  baselineState: "none" | "included" | "disputed" | "excluded" | "retired";
  concurStates: string[];
  liveDissents: number;
  fbTrue: number;
  fbFalse: number;
  fbNotActioned: number;
  /** The live assessment ids, and what superseded each earlier one. */
  liveAssessments: Set<string>;
  supersededBy: Map<string, string>;
  liveFeedback: Set<string>;
  /** Per fact id: undefined when it took effect, else why it did not. */
  refused: Map<string, Refusal>;
};

/**
 * Active at position `t` (`null`: now, once every record is folded): admitted before `t` and not
 * revoked before it. Revocations are only ever known after they happened, so now means revoked.
 */
function activeAt(a: AuthorityTimeline | undefined, t: Position | null): boolean {
  return countsAt(a, t) && (t === null || comparePositions(a!.admitted, t) <= 0);
}

/**
 * Whether what authority `a` signed counts at `t`: until its revocation. Not its admission's place:
 * a valid record of the authority was signed with a key that came with the admission, so it is
 * after the admission whatever signed order says (within one second, origins order records of
 * different nodes arbitrarily, and a signed time may run up to the clock skew early).
 */
function countsAt(a: AuthorityTimeline | undefined, t: Position | null): boolean {
  if (!a) return false;
  if (t === null) return a.revoked === null;
  return a.revoked === null || comparePositions(t, a.revoked) < 0;
}

/** The quorum at `t`: fixed, or the member states with an active authority then (at least 1). */
export function quorumAt(reg: Registry, t: Position | null): number {
  if (reg.minStates > 0) return reg.minStates;
  const states = new Set<string>();
  for (const a of reg.authorities.values()) if (activeAt(a, t)) states.add(a.memberState);
  return Math.max(1, states.size);
}

/**
 * Folds an entry's records in signed order and returns its state as of now, with the
 * fate of every record. The rules applied at each step are the baseline rules (ARCHITECTURE.md
 * "The baseline"; rules/baseline.ts for the same rules over stored rows):
 * - an assessment counts while it is its authority's latest and the authority is not revoked; it
 *   takes effect only on a live, unexpired entry; a counting dissent on an included entry
 *   disputes it;
 * - `include` needs a live, unexpired, shareable entry not already included, eligible at that
 *   moment (no counting dissent, counting concurrences from `quorumAt(t)` member states, the
 *   submitter's own until its revocation) and citing that moment's live, counting concurrences that
 *   reach the quorum by themselves;
 * - `exclude` needs a live entry not excluded; `retire` a live entry in the baseline;
 * - withdrawal and reversal end a live entry; they dominate: nothing after them takes effect;
 * - a revocation of the submitter or an assessor at `t` sends an included entry whose counting
 *   concurrences fall short of `quorumAt(t)` back to the coordinators as `disputed`;
 * - feedback: each platform's latest report counts.
 */
export function foldEntry(e: EntryFacts, reg: Registry): EntryState {
  const s: EntryState = {
    status: e.createdVoid ? "voided" : "live",
    baselineState: "none",
    concurStates: [],
    liveDissents: 0,
    fbTrue: 0,
    fbFalse: 0,
    fbNotActioned: 0,
    liveAssessments: new Set(),
    supersededBy: new Map(),
    liveFeedback: new Set(),
    refused: new Map(),
  };
  const current = new Map<string, AssessmentFact>(); // authority → its latest effective assessment
  const feedbackOf = new Map<string, FeedbackFact>(); // platform → its latest report
  const expired = (t: Position) => e.expiresAt !== null && e.expiresAt <= t.iat;
  const counting = (a: AssessmentFact, t: Position | null) => countsAt(reg.authorities.get(a.authorityId), t);
  const submitterCounts = (t: Position | null) => countsAt(reg.authorities.get(e.submitterId), t);
  const concurStatesAt = (t: Position | null) => {
    const states = new Set<string>();
    if (submitterCounts(t)) states.add(e.memberState);
    for (const a of current.values()) if (a.verdict === "concur" && counting(a, t)) states.add(a.memberState);
    return states;
  };
  const dissentsAt = (t: Position | null) =>
    [...current.values()].filter((a) => a.verdict === "dissent" && counting(a, t)).length;
  const refuse = (f: Fact, code: Refusal["code"], detail: string) => s.refused.set(f.id, { code, detail });

  // A record comes after what it cites: an inclusion is folded right after the latest of the
  // assessments it names when one of them is later in signed order than the inclusion itself (its
  // signer had seen them; within one second, origins would otherwise order them arbitrarily).
  type Step = { at: Position; after: 0 | 1; id: string; run: () => void };
  const byFactId = new Map(e.facts.map((f) => [f.id, f]));
  const steps: Step[] = e.facts.map((f) => {
    let at: Position = f;
    let after: 0 | 1 = 0;
    if (f.type === "decision") {
      for (const c of f.cited) {
        const cited = byFactId.get(c);
        if (cited && comparePositions(cited, at) >= 0) {
          at = cited;
          after = 1;
        }
      }
    }
    return { at, after, id: f.id, run: () => apply(f) };
  });
  // The revocations of the submitter and of every assessor, each at its own place: each may send
  // the entry back.
  const involved = new Set([
    e.submitterId,
    ...e.facts.filter((f) => f.type === "assessment").map((f) => (f as AssessmentFact).authorityId),
  ]);
  for (const id of involved) {
    const t = reg.authorities.get(id)?.revoked;
    if (t) steps.push({ at: t, after: 0, id: `revocation of ${id}`, run: () => revoked(t) });
  }
  steps.sort(
    (a, b) => comparePositions(a.at, b.at) || a.after - b.after || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );

  // From its revocation's place on, the authority counts for nothing.
  function revoked(t: Position) {
    if (s.status !== "live" || s.baselineState !== "included") return;
    if (concurStatesAt(t).size < quorumAt(reg, t)) s.baselineState = "disputed";
  }

  function apply(f: Fact) {
    if (s.status === "voided") return refuse(f, "conflict", `submission ${e.id} is void`);
    if (f.void) return refuse(f, "conflict", "signed after its key or signer stopped being valid");
    const t: Position = f;
    switch (f.type) {
      case "feedback": {
        // Feedback is about a match that happened; it counts whatever the entry's state.
        feedbackOf.set(f.platformId, f);
        return;
      }
      case "assessment": {
        if (s.status !== "live") return refuse(f, "conflict", `submission ${e.id} is ${s.status}`);
        if (expired(t)) return refuse(f, "conflict", `submission ${e.id} expired`);
        if (f.authorityId === e.submitterId)
          return refuse(f, "conflict", "an authority cannot assess its own submission");
        const prev = current.get(f.authorityId);
        if (prev) s.supersededBy.set(prev.id, f.id);
        current.set(f.authorityId, f);
        if (f.verdict === "dissent" && s.baselineState === "included" && counting(f, t)) {
          s.baselineState = "disputed";
        }
        return;
      }
      case "decision":
        return decide(f, t);
    }
  }

  function decide(f: DecisionFact, t: Position) {
    if (f.action === "withdraw" || f.action === "reverse") {
      if (s.status !== "live") return refuse(f, "conflict", `submission ${e.id} is already ${s.status}`);
      s.status = f.action === "withdraw" ? "withdrawn" : "reversed";
      return;
    }
    if (s.status !== "live") return refuse(f, "conflict", `submission ${e.id} is ${s.status}`);
    if (expired(t)) return refuse(f, "conflict", `submission ${e.id} expired`);
    if (f.action === "exclude") {
      if (s.baselineState === "excluded") return refuse(f, "conflict", `${e.id} is already excluded`);
      s.baselineState = "excluded";
      return;
    }
    if (f.action === "retire") {
      if (s.baselineState !== "included" && s.baselineState !== "disputed")
        return refuse(
          f,
          "conflict",
          `only an entry in the baseline can be retired; ${e.id} is ${s.baselineState}`,
        );
      s.baselineState = "retired";
      return;
    }
    // include
    if (s.baselineState === "included") return refuse(f, "conflict", `${e.id} is already in the baseline`);
    if (!tlpAllowsSharing(e))
      return refuse(f, "unprocessable", "TLP:RED entries are never shared through the baseline");
    const byId = new Map([...current.values()].map((a) => [a.id, a]));
    const citedStates = new Set(submitterCounts(t) ? [e.memberState] : []);
    for (const aid of f.cited) {
      const a = byId.get(aid);
      if (!a) return refuse(f, "unprocessable", `assessment ${aid} is not a live assessment of ${e.id}`);
      if (a.verdict !== "concur")
        return refuse(f, "unprocessable", `assessment ${aid} is a dissent; an inclusion cites concurrences`);
      if (!counting(a, t))
        return refuse(
          f,
          "unprocessable",
          `assessment ${aid} is by ${a.authorityId}, which was revoked before this decision: its assessments no longer count`,
        );
      citedStates.add(a.memberState);
    }
    const quorum = quorumAt(reg, t);
    const concurring = concurStatesAt(t).size;
    const dissents = dissentsAt(t);
    if (dissents > 0 || concurring < quorum)
      return refuse(
        f,
        "unprocessable",
        `${e.id} is not eligible: ${concurring} of ${quorum} member states concur, ${dissents} live dissent(s)`,
      );
    if (citedStates.size < quorum)
      return refuse(
        f,
        "unprocessable",
        `the cited assessments cover ${citedStates.size} member state(s)${submitterCounts(t) ? " (with the submitter's)" : " (the submitter was revoked and does not count)"}; the quorum is ${quorum}`,
      );
    s.baselineState = "included";
  }

  for (const step of steps) step.run();

  for (const a of current.values()) s.liveAssessments.add(a.id);
  if (s.status !== "voided") {
    s.concurStates = [...concurStatesAt(null)].sort();
    s.liveDissents = dissentsAt(null);
  }
  for (const fb of feedbackOf.values()) {
    s.liveFeedback.add(fb.id);
    if (fb.outcome === "true_positive") s.fbTrue++;
    else if (fb.outcome === "false_positive") s.fbFalse++;
    else s.fbNotActioned++;
  }
  return s;
}

/** A fact about one entry that the record adds (for the fold, before its row is stored). */
export type NewFact = Fact & { submissionId: string };

/**
 * What a record changes in the participant registry, applied in memory before the entries it
 * touches are re-derived (the rows change in the same batch).
 */
export type RegistryEnd = { participantId: string; kid?: string; at: Position };
/**
 * `fresh`: the participant had no admission in effect before this batch (its keys are added by it),
 * so what it signed is judged by this admission's place alone, as a node that learned its records
 * after the admission judges them.
 */
export type RegistryAdmit = { id: string; memberState: string; at: Position; fresh?: boolean };

export type RegistryChange = {
  /** A participant revoked, or a key retired, at a place in signed order: what it signs after is void. */
  ends?: RegistryEnd;
  /** An authority admitted (its member state starts counting toward the default quorum). */
  admits?: RegistryAdmit;
  /**
   * Further registry changes the same batch makes: requests settled again when a countersignature,
   * a withdrawal or a reach-back changes which signature completes them (apply/registry.ts).
   * `unadmits`: admissions undone (everything the participant signed is void); `unrevokes`:
   * revocations undone (what the participant signed counts again, up to any later end).
   */
  also?: { ends: RegistryEnd[]; admits: RegistryAdmit[]; unadmits: string[]; unrevokes: string[] };
};
