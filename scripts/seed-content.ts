// Demo content for a fresh local node, written through the API with each participant's own key:
// the ATKM (NL) submits the PDQ hashes of the synthetic test images, DE and FR assess them,
// the coordinator includes the entries that reach the quorum, DE disputes one, a platform
// matches. Idempotent: it does nothing when the NL authority already has submissions.
import { readFileSync } from "node:fs";
import path from "node:path";
import {
  b64url,
  EusnClient,
  generateEncKeyPair,
  generateSelectorKey,
  publishSelectorKey,
  setEncKey,
} from "@eusn/client";
import type { SubmitResult, WriteReceipt } from "@eusn/protocol";
import { type Credential, KEYS_DIR, writeJson } from "./demo-keys.ts";

const FIXTURES = path.resolve(import.meta.dirname, "..", "test", "fixtures", "pdq", "expected-synthetic.csv");

export async function seedDemoContent(creds: Credential[], log: (msg: string) => void): Promise<void> {
  const by = (pred: (c: Credential) => boolean) => {
    const c = creds.find(pred);
    if (!c) throw new Error("demo participant missing");
    return new EusnClient(c);
  };
  const coordinator = by((c) => c.role === "coordinator");
  const nl = by((c) => c.memberState === "NL");
  const de = by((c) => c.memberState === "DE");
  const fr = by((c) => c.memberState === "FR");
  const platform = by((c) => c.role === "platform");

  const mine = await nl.get<{ submissions: unknown[] }>("/v1/submissions?scope=mine&limit=1");
  if (!mine.ok) throw new Error(`listing demo submissions failed: ${mine.problem.detail}`);
  if (mine.data.submissions.length > 0) {
    log("demo content already seeded");
    return;
  }
  const seen = new Set<string>();
  const rows = readFileSync(FIXTURES, "utf8")
    .trim()
    .split("\n")
    .slice(1)
    .map((l) => l.split(","))
    .filter(([hash, q]) => Number(q) >= 50 && !/^0+$/.test(hash!) && !seen.has(hash!) && seen.add(hash!))
    .map(([hash, q, file]) => ({ hash: hash!, quality: Number(q), file: file! }));
  const must = <T>(
    r: { ok: true; data: T } | { ok: false; problem: { code: string; detail?: string } },
    what: string,
  ): T => {
    if (!r.ok) throw new Error(`${what}: ${r.problem.code} ${r.problem.detail ?? ""}`);
    return r.data;
  };
  const submitted = must(
    await nl.write<SubmitResult>("/v1/submissions", "submission.create", {
      items: rows.map((r, i) => ({
        signalType: "pdq",
        value: r.hash,
        quality: r.quality,
        limbs: i % 3 === 0 ? ["a", "c"] : ["a"],
        contentType: "image",
        nationalProvision: "NL Wetboek van Strafrecht art. 131 / 134a",
        tlp: i % 4 === 0 ? "amber" : "green",
        note: `demo: ${r.file}`,
      })),
    }),
    "demo submission",
  ).submissions.map((s) => s.id);
  const assess = async (c: EusnClient, id: string, verdict: "concur" | "dissent", reason?: string) =>
    must(
      await c.write<WriteReceipt>(`/v1/submissions/${id}/assessments`, "assessment.create", {
        submissionId: id,
        verdict,
        limb: "a",
        ...(reason ? { reason } : {}),
      }),
      "demo assessment",
    ).subjectId;
  let included = 0;
  for (const [i, id] of submitted.entries()) {
    if (i >= 8) break; // leave the rest awaiting assessment
    const a = await assess(de, id, "concur");
    if (i >= 6) continue; // eligible after FR too; some stay half-assessed
    const b = await assess(fr, id, "concur");
    if (i < 5) {
      must(
        await coordinator.write(`/v1/submissions/${id}/decisions`, "baseline.decide", {
          submissionId: id,
          decision: "include",
          reason: "every member state with an active authority concurs",
          assessmentIds: [a, b],
        }),
        "demo inclusion",
      );
      included++;
    }
  }
  await assess(de, submitted[0]!, "dissent", "on review this still is a news agency photograph");
  const match = await platform.postJson("/v1/match", {
    items: rows.slice(0, 5).map((r) => ({ type: "pdq", value: r.hash })),
  });
  must(match, "demo match");
  log(
    `seeded demo content: ${submitted.length} NL submissions, ${included} in the baseline (1 disputed by DE), some awaiting assessment; one platform match`,
  );
}

/**
 * Signals onboarding for the demo, in the order the network needs it: each platform registers a
 * key-wrapping key (its private half kept beside its key file, `<slug>.enc.json`), then the
 * coordinator publishes selector-key version 1 wrapped for them (the raw key kept in
 * `selector-key-v1.json`, needed for later grants). Idempotent: nothing happens once a version is
 * published.
 */
export async function seedSignals(
  creds: { slug: string; cred: Credential }[],
  log: (msg: string) => void,
): Promise<void> {
  const coordCred = creds.find((c) => c.cred.role === "coordinator");
  if (!coordCred) throw new Error("demo coordinator missing");
  const coordinator = new EusnClient(coordCred.cred);
  const keys = await coordinator.get<{ current: number | null; versions: unknown[] }>("/v1/signals/keys");
  if (!keys.ok) throw new Error(`reading selector keys failed: ${keys.problem.code}`);
  if (keys.data.versions.length > 0) {
    log("selector key already published");
    return;
  }
  const platforms = creds.filter((c) => c.cred.role === "platform");
  for (const { slug, cred } of platforms) {
    const pair = await generateEncKeyPair();
    const res = await setEncKey(new EusnClient(cred), pair.publicJwk);
    if (!res.ok) throw new Error(`registering ${slug}'s encryption key failed: ${res.problem.code}`);
    writeJson(path.join(KEYS_DIR, `${slug}.enc.json`), pair.privateJwk);
  }
  const key = { version: 1, key: generateSelectorKey() };
  const now = Math.floor(Date.now() / 1000);
  writeJson(path.join(KEYS_DIR, "selector-key-v1.json"), { version: 1, key: b64url(key.key) });
  const published = await publishSelectorKey(coordinator, key, {
    validFrom: now - 60,
    validUntil: now + 365 * 86400,
  });
  if (!published.ok) throw new Error(`publishing the selector key failed: ${published.problem.code}`);
  log(
    `published selector key v1 for ${platforms.length} platforms; a platform opens it with: npx eusn signal keys --key .eusn-demo/keys/${platforms[0]?.slug}.json --enc-key .eusn-demo/keys/${platforms[0]?.slug}.enc.json --out selector-keys.json`,
  );
}
