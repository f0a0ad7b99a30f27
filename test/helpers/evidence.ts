// A case file for the route-by-route tests (the authorization matrix, the hostile-input battery),
// made through the real API: the world's authority and the bootstrap coordinator register
// key-wrapping keys, the authority attaches a case file (the coordinator named as a recipient)
// to a fresh submission, and an upload of its is left open with its one part received.
import {
  attachCaseFile,
  type EncKeyPair,
  type EusnClient,
  registerEvidenceKey,
  sha256Hex,
} from "@eusn/client";
import { EVIDENCE_MAGIC, type UploadView } from "@eusn/protocol";
import { coordinator } from "./node.ts";
import { freshSubmission, type World } from "./world.ts";

export type EvidenceFixture = {
  caseFileId: string;
  /** The case file's content key (the submitter re-wraps with it). */
  contentKey: Uint8Array;
  sha256: string;
  /** An open upload of the authority's: 10 bytes in one part, already received. */
  uploadId: string;
  /** Those 10 bytes (they start as a case-file ciphertext does) and their SHA-256. */
  part: Uint8Array;
  partSha256: string;
  keys: Map<string, EncKeyPair>;
};

const fixtures = new WeakMap<World, Promise<EvidenceFixture>>();

export function evidenceFixture(w: World): Promise<EvidenceFixture> {
  let f = fixtures.get(w);
  if (!f) {
    f = build(w);
    fixtures.set(w, f);
  }
  return f;
}

async function put(client: EusnClient, path: string, body: Uint8Array) {
  const res = await client.get<UploadView>(path, {
    method: "PUT",
    headers: { "content-type": "application/octet-stream" },
    body: body as BodyInit,
  });
  if (!res.ok) throw new Error(`${path}: ${JSON.stringify(res.problem)}`);
}

async function build(w: World): Promise<EvidenceFixture> {
  const keys = new Map<string, EncKeyPair>();
  for (const c of [w.authority.client, coordinator()]) {
    const { pair, result } = await registerEvidenceKey(c);
    if (!result.ok) throw new Error(`evidence key: ${JSON.stringify(result.problem)}`);
    keys.set(c.participantId, pair);
  }
  const sub = await freshSubmission(w.authority);
  const material = new TextEncoder().encode("matrix case file");
  const attached = await attachCaseFile(
    w.authority.client,
    material,
    { mediaType: "image/png" },
    {
      submissionId: sub.id,
      mediaClass: "image",
      coordinators: [coordinator().participantId],
    },
  );
  // attachCaseFile does not hand the key out; the re-wrap cases wrap a key of their own, which the
  // node cannot tell from the real one (it never sees either).
  const contentKey = crypto.getRandomValues(new Uint8Array(32));
  const part = new TextEncoder().encode(`${EVIDENCE_MAGIC}xy`);
  const partSha256 = await sha256Hex(part);
  const up = await w.authority.client.postJson<UploadView>("/v1/evidence/uploads", {
    submissionId: sub.id,
    mediaClass: "image",
    size: part.byteLength,
    sha256: partSha256,
  });
  if (!up.ok) throw new Error(`upload: ${JSON.stringify(up.problem)}`);
  await put(w.authority.client, `/v1/evidence/uploads/${up.data.uploadId}/parts/1`, part);
  return {
    caseFileId: attached.caseFileId,
    contentKey,
    sha256: attached.sha256,
    uploadId: up.data.uploadId,
    part,
    partSha256,
    keys,
  };
}
