// The appliers of every record kind, for the write pipeline (apply/pipeline.ts). Each says
// whether its kind is replicated: node-local kinds (migration signals, API credentials,
// statements of reasons, webhooks) are logged on their node, withheld from /v1/log/entries, and never sent
// to peers (docs/federation.md).
import type { RecordKind } from "@eusn/protocol";
import type { Applier, Plan } from "./context.ts";
import { revokeApiCredential, setApiCredential } from "./credentials.ts";
import { createCaseFile, rewrapCaseFile, setEvidenceEncKey } from "./evidence.ts";
import { closeIncident, declareIncident, extendIncident } from "./incidents.ts";
import {
  addKey,
  admitParticipant,
  countersign,
  retireKey,
  revokeParticipant,
  withdrawRequest,
} from "./participants.ts";
import {
  createSignal,
  grantKeyVersion,
  publishKeyVersion,
  retractSignal,
  reverseSignal,
  setEncKey,
} from "./signals.ts";
import { createStatement } from "./statements.ts";
import {
  createAssessment,
  createAssessmentBatch,
  createFeedback,
  createSubmissions,
  decideBaseline,
  decideBaselineBatch,
  reverseSubmission,
  withdrawSubmission,
} from "./submissions.ts";
import { registerWebhook, removeWebhook } from "./webhooks.ts";

// biome-ignore lint/suspicious/noExplicitAny: one table over every kind; each entry is typed at its definition.
type AnyApplier = Applier<any, Plan>;

export const APPLIERS: Partial<Record<RecordKind, AnyApplier>> = {
  "participant.admit": admitParticipant,
  "participant.key.add": addKey,
  "participant.key.retire": retireKey,
  "participant.revoke": revokeParticipant,
  "participant.countersign": countersign,
  "participant.request.withdraw": withdrawRequest,
  "submission.create": createSubmissions,
  "assessment.create": createAssessment,
  "assessment.batch": createAssessmentBatch,
  "baseline.decide": decideBaseline,
  "baseline.decide.batch": decideBaselineBatch,
  "submission.withdraw": withdrawSubmission,
  "submission.reverse": reverseSubmission,
  "feedback.create": createFeedback,
  "participant.apicred.set": setApiCredential,
  "participant.apicred.revoke": revokeApiCredential,
  "signal.enckey.set": setEncKey,
  "signal.key.publish": publishKeyVersion,
  "signal.key.grant": grantKeyVersion,
  "signal.create": createSignal,
  "signal.retract": retractSignal,
  "signal.reverse": reverseSignal,
  "statement.create": createStatement,
  "webhook.register": registerWebhook,
  "webhook.remove": removeWebhook,
  "evidence.enckey.set": setEvidenceEncKey,
  "evidence.create": createCaseFile,
  "evidence.rewrap": rewrapCaseFile,
  "incident.declare": declareIncident,
  "incident.extend": extendIncident,
  "incident.close": closeIncident,
};

/** Kinds replicated between nodes (and readable through /v1/log/entries). */
export function isReplicatedKind(kind: string): kind is RecordKind {
  return Object.hasOwn(APPLIERS, kind) && !!APPLIERS[kind as RecordKind]?.replicated;
}
