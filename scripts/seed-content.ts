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
  generateParticipantKey,
  generateSelectorKey,
  publishSelectorKey,
  setEncKey,
} from "@eusn/client";
import type { ParticipantView, SubmitResult, WriteReceipt } from "@eusn/protocol";
import { type Credential, readJson, writeJson } from "./demo-keys.ts";
import { seedEvidence } from "./seed-evidence.ts";

const FIXTURES = path.resolve(import.meta.dirname, "..", "test", "fixtures", "pdq", "expected-synthetic.csv");

export const DEMO_PARTICIPANTS = [
  // The second coordinator (the network's first admitted coordinator, admitted alone) gives every
  // other admission its second signature (REGISTRY_SECOND_SIGNATURE): no single coordinator
  // admits an authority, a platform or another coordinator alone.
  { slug: "coordinator-2", role: "coordinator", displayName: "EU coordinator (second signature)" },
  {
    slug: "nl-atkm",
    role: "authority",
    memberState: "NL",
    displayName: "ATKM (Autoriteit online Terroristisch en Kinderpornografisch Materiaal)",
  },
  {
    slug: "de-bka",
    role: "authority",
    memberState: "DE",
    displayName: "Bundeskriminalamt (DE competent authority)",
  },
  {
    slug: "fr-ocrvp",
    role: "authority",
    memberState: "FR",
    displayName: "OCLCTIC / PHAROS (FR competent authority)",
  },
  { slug: "platform-social", role: "platform", displayName: "Demo Social (hosting service provider)" },
  { slug: "platform-video", role: "platform", displayName: "Demo Video (hosting service provider)" },
] as const;

/**
 * The demo network on a node, through its API: the participants (admitted by the coordinator,
 * each countersigned by the second coordinator,
 * each key file written to `keysDir`, and rewritten when the node's URL changed), their content,
 * and the signals onboarding. `npm start` runs it; so does the test that runs docs/cli.md.
 * Idempotent.
 */
export async function seedDemoNetwork(opts: {
  coordinator: Credential;
  baseUrl: string;
  keysDir: string;
  log: (msg: string) => void;
}): Promise<{ slug: string; cred: Credential }[]> {
  const { baseUrl: BASE, keysDir, log } = opts;
  const coord = opts.coordinator;
  const coordinator = new EusnClient(coord);
  const listed = await coordinator.getPublic<{ participants: ParticipantView[] }>("/v1/participants");
  if (!listed.ok) throw new Error(`participants: ${JSON.stringify(listed.problem)}`);
  const present = new Set(listed.data.participants.map((p) => p.id));
  const creds: { slug: string; cred: Credential }[] = [{ slug: "coordinator", cred: coord }];
  let admitted = 0;
  for (const p of DEMO_PARTICIPANTS) {
    const file = path.join(keysDir, `${p.slug}.json`);
    let cred = readJson<Credential>(file);
    if (cred && present.has(cred.participantId) && cred.baseUrl !== BASE) {
      // The port changed (PORT=…): the key file must name the node where it now listens.
      cred = { ...cred, baseUrl: BASE };
      writeJson(file, cred);
      log(`${p.slug}.json now names ${BASE}`);
    }
    if (!cred || !present.has(cred.participantId)) {
      const key = await generateParticipantKey();
      const res = await coordinator.write<WriteReceipt>("/v1/participants", "participant.admit", {
        role: p.role,
        ...("memberState" in p ? { memberState: p.memberState } : {}),
        displayName: p.displayName,
        jwks: { keys: [key.publicJwk] },
      });
      if (!res.ok) throw new Error(`admitting ${p.slug} failed: ${JSON.stringify(res.problem)}`);
      if (p.slug !== "coordinator-2") {
        // The bootstrap coordinator's admission is a request until a second coordinator countersigns
        // it; only the network's first admitted coordinator (coordinator-2) is admitted alone.
        const second = creds.find((c) => c.slug === "coordinator-2");
        if (!second) throw new Error("the second coordinator must be admitted before the authorities");
        const done = await new EusnClient(second.cred).write<WriteReceipt>(
          `/v1/participants/${res.data.subjectId}/countersign`,
          "participant.countersign",
          { participantId: res.data.subjectId, requestRecordId: res.data.recordId, action: "admit" },
        );
        if (!done.ok) throw new Error(`countersigning ${p.slug} failed: ${JSON.stringify(done.problem)}`);
      }
      cred = {
        participantId: res.data.subjectId,
        role: p.role,
        ...("memberState" in p ? { memberState: p.memberState } : {}),
        displayName: p.displayName,
        nodeId: coord.nodeId,
        baseUrl: BASE,
        privateJwk: key.privateJwk,
      };
      writeJson(file, cred);
      admitted++;
    }
    creds.push({ slug: p.slug, cred });
  }
  log(
    admitted > 0
      ? `seeded the demo network (${admitted} participants admitted)`
      : "demo network already seeded",
  );
  await seedDemoContent(
    creds.map((c) => c.cred),
    log,
  );
  await seedSignals(creds, keysDir, log);
  await seedEvidence(creds, keysDir, log);
  return creds;
}

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
  keysDir: string,
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
    writeJson(path.join(keysDir, `${slug}.enc.json`), pair.privateJwk);
  }
  const key = { version: 1, key: generateSelectorKey() };
  const now = Math.floor(Date.now() / 1000);
  writeJson(path.join(keysDir, "selector-key-v1.json"), { version: 1, key: b64url(key.key) });
  const published = await publishSelectorKey(coordinator, key, {
    validFrom: now - 60,
    validUntil: now + 365 * 86400,
  });
  if (!published.ok) throw new Error(`publishing the selector key failed: ${published.problem.code}`);
  log(
    `published selector key v1 for ${platforms.length} platforms; a platform opens it with: npx eusn signal keys --key .eusn-demo/keys/${platforms[0]?.slug}.json --enc-key .eusn-demo/keys/${platforms[0]?.slug}.enc.json --out selector-keys.json`,
  );
}

/** A deterministic PDQ-shaped value (64 hex) for the large demo: the same node gets the same set. */
function demoPdq(seed: number): string {
  let s = (seed * 2654435761) >>> 0 || 1;
  let out = "";
  while (out.length < 64) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out += s.toString(16).padStart(8, "0");
  }
  return out.slice(0, 64);
}

/**
 * `npm start -- --demo-size large`: the demo network grown to at least `target` entries, so the
 * work queues, statistics and exports can be tried at a realistic size. Fast because it is
 * batched the way a real authority loads a list: 1,000 hashes per signed submission record,
 * 100 concurrences per assessment.batch and 100 inclusions per baseline.decide.batch. NL, DE and
 * FR each submit a third; DE and FR concur on 300 of NL's entries and the coordinator includes
 * 200 of them, so the curation queue has 100 eligible entries waiting. Idempotent: nothing is
 * added once the node holds `target` entries.
 */
export async function seedLargeDemo(
  creds: Credential[],
  log: (msg: string) => void,
  target = 2000,
): Promise<void> {
  const by = (pred: (c: Credential) => boolean) => {
    const c = creds.find(pred);
    if (!c) throw new Error("demo participant missing");
    return new EusnClient(c);
  };
  const coordinator = by((c) => c.role === "coordinator");
  const authorities = (["NL", "DE", "FR"] as const).map((ms) => by((c) => c.memberState === ms));
  const [nl, de, fr] = authorities as [EusnClient, EusnClient, EusnClient];
  const must = <T>(
    r: { ok: true; data: T } | { ok: false; problem: { code: string; detail?: string } },
    what: string,
  ): T => {
    if (!r.ok) throw new Error(`${what}: ${r.problem.code} ${r.problem.detail ?? ""}`);
    return r.data;
  };
  const now = must(await coordinator.get<{ total: number }>("/v1/submissions?scope=all&limit=1"), "count");
  if (now.total >= target) {
    log(`large demo already seeded (${now.total} entries)`);
    return;
  }
  const started = Date.now();
  const per = Math.ceil((target - now.total) / 3);
  const PROVISIONS = ["NL Wetboek van Strafrecht art. 131", "DE StGB § 91", "FR code pénal art. 421-2-5"];
  const nlIds: string[] = [];
  for (const [a, client] of authorities.entries()) {
    for (let done = 0; done < per; done += 1000) {
      const n = Math.min(1000, per - done);
      const res = must(
        await client.write<SubmitResult>("/v1/submissions", "submission.create", {
          items: Array.from({ length: n }, (_, i) => {
            const k = now.total + a * per + done + i;
            return {
              signalType: "pdq",
              value: demoPdq(k + 1),
              quality: 60 + (k % 40),
              limbs: (["a", "b", "c", "d", "e"] as const).filter((_, j) => j === k % 5 || j === 0),
              contentType: k % 7 === 0 ? "video" : "image",
              nationalProvision: PROVISIONS[a]!,
              ...(k % 4 === 0 ? { tlp: "amber" } : k % 4 === 1 ? { tlp: "green" } : {}),
              note: `large demo #${k}`,
            };
          }),
        }),
        "large demo submission",
      );
      if (a === 0) nlIds.push(...res.submissions.map((s) => s.id));
    }
  }
  const concurred = nlIds.slice(0, 300);
  const cites = new Map<string, string[]>();
  for (const client of [de, fr]) {
    for (let i = 0; i < concurred.length; i += 100) {
      const r = must(
        await client.write<{ items: { submissionId: string; id: string }[] }>(
          "/v1/assessments",
          "assessment.batch",
          {
            items: concurred
              .slice(i, i + 100)
              .map((submissionId) => ({ submissionId, verdict: "concur", limb: "a" })),
          },
        ),
        "large demo assessments",
      );
      for (const it of r.items) cites.set(it.submissionId, [...(cites.get(it.submissionId) ?? []), it.id]);
    }
  }
  for (let i = 0; i < 200; i += 100) {
    must(
      await coordinator.write("/v1/baseline/decisions", "baseline.decide.batch", {
        decision: "include",
        reason: "NL, DE and FR concur (large demo)",
        items: concurred
          .slice(i, i + 100)
          .map((submissionId) => ({ submissionId, assessmentIds: cites.get(submissionId) ?? [] })),
      }),
      "large demo inclusions",
    );
  }
  void nl;
  log(
    `seeded the large demo: ${per * 3} more entries (NL, DE, FR), 300 concurred by DE and FR, 200 included, in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}
