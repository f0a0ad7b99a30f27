// The e2e node's case file (docs/evidence.md), prepared by global setup as `npm start` prepares the
// demo network's: the three authorities register key-wrapping keys (their private halves written
// beside the participant key files as `<slug>-enc.json`), and the NL authority submits the PDQ hash
// of a fixture image and attaches the image itself as a case file, encrypted on this machine for
// every active authority. test/e2e/evidence.test.ts opens it in Chromium as DE and FR. The entry
// and the case file are written to `evidence.json`; nothing else in the e2e files uses this image.
import { readFileSync } from "node:fs";
import path from "node:path";
import { attachCaseFile, type EusnClient, registerEvidenceKey, submitHashes } from "@eusn/client";

const FIXTURES = path.resolve(import.meta.dirname, "../fixtures/pdq");
/** The material: a fixture image no other e2e file submits or matches. */
export const EVIDENCE_IMAGE = "palette-400x300.png";

export async function seedEvidence(
  clients: Record<string, EusnClient>,
  write: (slug: string, value: unknown) => void,
): Promise<void> {
  for (const slug of ["nl", "de", "fr"]) {
    const { pair, result } = await registerEvidenceKey(clients[slug]!);
    if (!result.ok) throw new Error(`${slug}'s key-wrapping key: ${JSON.stringify(result.problem)}`);
    write(`${slug}-enc`, pair.privateJwk);
  }
  const [hash, quality] = readFileSync(path.join(FIXTURES, "expected-synthetic.csv"), "utf8")
    .split("\n")
    .map((l) => l.split(","))
    .find((r) => r[2] === EVIDENCE_IMAGE)!;
  const nl = clients.nl!;
  const sub = await submitHashes(nl, [
    {
      signalType: "pdq",
      value: hash!,
      quality: Number(quality),
      limbs: ["a"],
      contentType: "image",
      nationalProvision: "NL Wetboek van Strafrecht art. 131",
      tlp: "green",
    },
  ]);
  if (!sub.ok) throw new Error(`NL's evidence entry: ${JSON.stringify(sub.problem)}`);
  const entry = sub.data.submissions[0]!.id;
  const file = new Uint8Array(readFileSync(path.join(FIXTURES, "synthetic", EVIDENCE_IMAGE)));
  const context = {
    mediaType: "image/png",
    fileName: EVIDENCE_IMAGE,
    foundOn: "forum.example (e2e)",
    language: "nl",
    description: "A synthetic test image standing in for a propaganda poster.",
    caseReference: "NL-E2E-2026-001",
  };
  const attached = await attachWithRetry(nl, file, context, { submissionId: entry, mediaClass: "image" });
  write("evidence", { entry, caseFile: attached.caseFileId, hash });
}

/**
 * attachCaseFile, again when wrangler dev's proxy loses the POST: on a keep-alive connection that
 * workerd has just closed it answers 503 "Your worker restarted mid-request" without the Worker
 * having seen the request (it retries only GET and HEAD). Nothing was stored then, so attaching
 * again is safe.
 */
export async function attachWithRetry(
  client: EusnClient,
  ...args: Parameters<typeof attachCaseFile> extends [unknown, ...infer R] ? R : never
): ReturnType<typeof attachCaseFile> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await attachCaseFile(client, ...args);
    } catch (e) {
      if (attempt >= 3 || !/restarted mid-request/.test(String(e))) throw e;
    }
  }
}
