// Who may read the signed bytes of a record, by kind: one policy per record kind, applied by every
// route that serves records (GET /v1/records/{id}, GET /v1/log/entries). A record's JWS carries
// everything it says — every selector pseudonym of a signal, every value of a submission batch, the
// content reference of a statement of reasons — so serving the bytes is serving all of that. Each
// policy therefore gives no one more than the API shows them elsewhere (docs/api.md, docs/signals.md):
//
// - registry records (admissions, keys, revocations, countersignatures): public anyway
//   (GET /v1/participants), so every participant and peer;
// - submissions and what is said about them (assessments, decisions, withdrawals, reversals):
//   coordinators and authorities, who curate and assess them, and peer nodes, which replicate
//   them; a platform never (a batch may carry TLP:RED values, and a platform matches hashes, it
//   does not read the submissions behind them); feedback: also the platform that gave it;
// - a signal's record (it holds every selector pseudonym of the signal): its origin platform
//   only, and only while the signal is live — never a platform that looked one selector up, never
//   an authority, never a coordinator (which generates the selector keys and could dictionary-attack
//   pseudonyms), and no one once it is retracted, reversed or expired;
// - a signal's retraction or reversal: those it concerns, as GET /v1/signals/reversals lists it
//   (its signer, the signal's origin, the platforms that were handed the signal, coordinators);
// - selector-key versions and grants (wrapped keys only): platforms, which check their wrap against
//   them, and coordinators; a platform's key-wrapping key: itself and coordinators;
// - API credentials: their signer and coordinators; statements of reasons: their signer only;
// - case files, their re-wraps and authorities' key-wrapping keys: coordinators and authorities.
// - crisis incidents (declared, extended, closed): every participant, as GET /v1/incidents lists them.
//
// Node-local kinds are never served to peers. A kind the table does not list cannot exist: the
// table is typed over every RecordKind, so adding a kind without deciding its policy does not
// compile (and test/api/record-access.security.test.ts checks the table against the schemas).
import { isNodeLocalKind, type RecordKind, type Role } from "@eusn/protocol";

/** Who asks: a participant (by id and role) or a configured peer node. */
export type Reader = { peer: string } | { participantId: string; role: Role };

/** What a policy may need to know about a record besides its kind and signer. */
export type RecordFacts = {
  kind: string;
  /** The signer; null when the record was purged (an expired signal's). */
  issuer: string | null;
  /**
   * For signal records: the signal they are about — its origin platform, whether it is live
   * (active and unexpired) and whether the reader was handed it (lookup hit or pull). Null when
   * no such signal is stored any more.
   */
  signal?: { originId: string; live: boolean; unexpired: boolean; handedToReader: boolean } | null;
};

type ParticipantReader = Extract<Reader, { participantId: string }>;
type Policy = (reader: ParticipantReader, r: RecordFacts & { issuer: string }) => boolean;

const everyone: Policy = () => true;
const own = (reader: ParticipantReader, r: { issuer: string }) => r.issuer === reader.participantId;
const curators: Policy = (reader, r) => reader.role !== "platform" || own(reader, r);
const signerAndCoordinators: Policy = (reader, r) => reader.role === "coordinator" || own(reader, r);
const signalWithdrawal: Policy = (reader, r) =>
  !!r.signal?.unexpired &&
  (reader.role === "coordinator" ||
    own(reader, r) ||
    r.signal.originId === reader.participantId ||
    r.signal.handedToReader);

/** The read policy of every record kind (for participants; peers: see `readRefusal`). */
export const RECORD_POLICIES: Record<RecordKind, Policy> = {
  "participant.admit": everyone,
  "participant.key.add": everyone,
  "participant.key.retire": everyone,
  "participant.revoke": everyone,
  "participant.countersign": everyone,
  "participant.request.withdraw": everyone,
  "submission.create": curators,
  "assessment.create": curators,
  "assessment.batch": curators,
  "baseline.decide": curators,
  "baseline.decide.batch": curators,
  "submission.withdraw": curators,
  "submission.reverse": curators,
  "feedback.create": curators,
  "signal.create": (reader, r) => own(reader, r) && !!r.signal?.live,
  "signal.retract": signalWithdrawal,
  "signal.reverse": signalWithdrawal,
  "signal.enckey.set": signerAndCoordinators,
  "signal.key.publish": (reader) => reader.role !== "authority",
  "signal.key.grant": (reader) => reader.role !== "authority",
  "participant.apicred.set": signerAndCoordinators,
  "participant.apicred.revoke": signerAndCoordinators,
  "statement.create": own,
  // A receiver URL is the participant's and the coordinators' business only.
  "webhook.register": signerAndCoordinators,
  "webhook.remove": signerAndCoordinators,
  // Case files: the wrapped keys open nothing without a recipient's private key; who is a recipient
  // and the ciphertext's hash are for those who assess and curate, as the submission itself is.
  "evidence.enckey.set": curators,
  "evidence.create": curators,
  "evidence.rewrap": curators,
  "incident.declare": everyone,
  "incident.extend": everyone,
  "incident.close": everyone,
};

/** Kinds whose policy needs `RecordFacts.signal`. */
export const SIGNAL_RECORD_KINDS: ReadonlySet<string> = new Set([
  "signal.create",
  "signal.retract",
  "signal.reverse",
]);

/**
 * Why `reader` may not read the record's signed bytes, or undefined when it may. A peer reads
 * every replicated kind (it replicates them) and no node-local one.
 */
export function readRefusal(reader: Reader, r: RecordFacts): string | undefined {
  if ("peer" in reader) return isNodeLocalKind(r.kind) ? "node-local record kind" : undefined;
  if (r.issuer === null) return "record purged";
  const policy = RECORD_POLICIES[r.kind as RecordKind];
  if (!policy) return "unknown record kind";
  return policy(reader, { ...r, issuer: r.issuer }) ? undefined : `not readable by a ${reader.role}`;
}
