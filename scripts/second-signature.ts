// Demo networks, benches and tests that admit participants through the API: every admission but
// the network's first coordinator's, and an authority's or coordinator's revocation, needs a
// second signature (REGISTRY_SECOND_SIGNATURE), so a second coordinator is admitted once per node
// by the bootstrap coordinator (alone: the founding admission) and countersigns.
import {
  countersign,
  EusnClient,
  generateParticipantKey,
  type KeyPair,
  registryRequests,
} from "@eusn/client";
import type { WriteReceipt } from "@eusn/protocol";

const seconds = new Map<string, Promise<EusnClient>>();

/** Admits a second coordinator with a fresh key (signed by `bootstrap` alone): its credentials. */
export async function admitSecondCoordinator(bootstrap: EusnClient): Promise<{
  participantId: string;
  privateJwk: KeyPair["privateJwk"];
}> {
  const pair = await generateParticipantKey();
  const res = await bootstrap.write<WriteReceipt>("/v1/participants", "participant.admit", {
    role: "coordinator",
    displayName: "Second coordinator (countersigns)",
    jwks: { keys: [pair.publicJwk] },
  });
  if (!res.ok) throw new Error(`second coordinator: ${JSON.stringify(res.problem)}`);
  return { participantId: res.data.subjectId, privateJwk: pair.privateJwk };
}

/** The node's second coordinator (admitted by `bootstrap` the first time it is asked for). */
export function secondCoordinator(bootstrap: EusnClient): Promise<EusnClient> {
  const key = `${bootstrap.baseUrl} ${bootstrap.participantId}`;
  let made = seconds.get(key);
  if (!made) {
    made = admitSecondCoordinator(bootstrap).then(
      (cred) => new EusnClient({ baseUrl: bootstrap.baseUrl, nodeId: bootstrap.nodeId, ...cred }),
    );
    seconds.set(key, made);
  }
  return made;
}

/**
 * Countersigns the request `receipt` made (an admission or revocation by `bootstrap`)
 * with the second coordinator; nothing when the record took effect alone.
 */
export async function secondSignature(bootstrap: EusnClient, receipt: WriteReceipt): Promise<void> {
  const list = await registryRequests(bootstrap, "pending");
  if (!list.ok) throw new Error(`registry requests: ${JSON.stringify(list.problem)}`);
  const q = list.data.requests.find((x) => x.requestRecordId === receipt.recordId);
  if (!q) return;
  const res = await countersign(await secondCoordinator(bootstrap), q);
  if (!res.ok) throw new Error(`countersign: ${JSON.stringify(res.problem)}`);
}
