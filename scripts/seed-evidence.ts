// The demo network's case files (docs/evidence.md): the three demo authorities register
// key-wrapping keys (their private halves in .eusn-demo/keys/<slug>.evidence.json, 0600), and the
// NL authority attaches the image behind one of its demo submissions that still awaits assessment,
// encrypted for every active authority, so DE and FR can open it (blurred in the console), check
// that it hashes to the submitted PDQ, and concur.
import { readFileSync } from "node:fs";
import path from "node:path";
import { attachCaseFile, EusnClient, evidenceKeys, registerEvidenceKey } from "@eusn/client";
import type { CaseFileView } from "@eusn/protocol";
import type { JWK } from "jose";
import { type Credential, readJson, writeJson } from "./demo-keys.ts";

const IMAGES = path.resolve(import.meta.dirname, "..", "test", "fixtures", "pdq", "synthetic");
const AUTHORITIES = ["nl-atkm", "de-bka", "fr-ocrvp"];

export async function seedEvidence(
  creds: { slug: string; cred: Credential }[],
  keysDir: string,
  log: (msg: string) => void,
): Promise<void> {
  const nlCred = creds.find((c) => c.slug === "nl-atkm");
  if (!nlCred) throw new Error("demo NL authority missing");
  const nl = new EusnClient(nlCred.cred);
  const registered = new Map((await evidenceKeys(nl)).map((k) => [k.participantId, k.kid]));
  for (const slug of AUTHORITIES) {
    const c = creds.find((x) => x.slug === slug);
    if (!c) throw new Error(`demo authority ${slug} missing`);
    const file = path.join(keysDir, `${slug}.evidence.json`);
    const have = readJson<JWK & { kid?: string }>(file);
    if (have?.kid && registered.get(c.cred.participantId) === have.kid) continue;
    const { pair, result } = await registerEvidenceKey(new EusnClient(c.cred));
    if (!result.ok) throw new Error(`registering ${slug}'s evidence key failed: ${result.problem.code}`);
    writeJson(file, pair.privateJwk);
  }
  const existing = await nl.get<{ caseFiles: CaseFileView[] }>("/v1/evidence");
  if (existing.ok && existing.data.caseFiles.length > 0) {
    log("demo case file already attached");
    return;
  }
  // The demo submissions are the PDQ hashes of the fixture images (seed-content.ts): the image
  // behind one that still awaits assessment is the material.
  const files = new Map(
    readFileSync(path.join(IMAGES, "..", "expected-synthetic.csv"), "utf8")
      .trim()
      .split("\n")
      .slice(1)
      .map((l) => l.split(","))
      .map(([hash, , file]) => [hash!, file!] as const),
  );
  const listed = await nl.get<{ submissions: { id: string; value: string; state: { name: string } }[] }>(
    "/v1/submissions?scope=mine&limit=500",
  );
  if (!listed.ok) throw new Error(`listing NL submissions failed: ${listed.problem.code}`);
  const target = listed.data.submissions.find(
    (s) => s.state.name === "awaiting" && /\.(png|jpe?g)$/.test(files.get(s.value) ?? ""),
  );
  if (!target) {
    log("no NL submission awaiting assessment to attach a case file to");
    return;
  }
  const fileName = files.get(target.value)!;
  const bytes = new Uint8Array(readFileSync(path.join(IMAGES, fileName)));
  const attached = await attachCaseFile(
    nl,
    bytes,
    {
      mediaType: fileName.endsWith(".png") ? "image/png" : "image/jpeg",
      fileName,
      foundOn: "forum.example (demo)",
      foundAt: "2026-11-30T21:14:00Z",
      language: "nl",
      description: "Demo material: a synthetic test image standing in for a propaganda poster.",
      translation: "(no text in the image)",
      caseReference: "NL-DEMO-2026-001",
    },
    { submissionId: target.id, mediaClass: "image" },
  );
  log(
    `demo case file ${attached.caseFileId} on ${target.id} (${fileName}), for ${attached.recipients.length} authorities`,
  );
}
