// The appliers by record kind: what federation can apply from a peer's log. Kinds without an
// applier here are node-local (migration signals, API credentials): they are logged on their
// node, withheld from /v1/log/entries, and never replicated (docs/federation.md).
import type { RecordKind } from "@eusn/protocol";
import type { Applier, Plan } from "./context.ts";
import { addKey, admitParticipant, retireKey, revokeParticipant } from "./participants.ts";
import {
  createAssessment,
  createFeedback,
  createSubmissions,
  decideBaseline,
  reverseSubmission,
  withdrawSubmission,
} from "./submissions.ts";

// biome-ignore lint/suspicious/noExplicitAny: one table over every kind; each entry is typed at its definition.
type AnyApplier = Applier<any, Plan>;

export const APPLIERS: Partial<Record<RecordKind, AnyApplier>> = {
  "participant.admit": admitParticipant,
  "participant.key.add": addKey,
  "participant.key.retire": retireKey,
  "participant.revoke": revokeParticipant,
  "submission.create": createSubmissions,
  "assessment.create": createAssessment,
  "baseline.decide": decideBaseline,
  "submission.withdraw": withdrawSubmission,
  "submission.reverse": reverseSubmission,
  "feedback.create": createFeedback,
};

/** Kinds replicated between nodes (and readable through /v1/log/entries). */
export function isReplicatedKind(kind: string): kind is RecordKind {
  return Object.hasOwn(APPLIERS, kind) && !!APPLIERS[kind as RecordKind]?.replicated;
}

/** Registry records: public anyway (GET /v1/participants), so every participant may read them. */
export const REGISTRY_KINDS: ReadonlySet<string> = new Set([
  "participant.admit",
  "participant.key.add",
  "participant.key.retire",
  "participant.revoke",
]);
