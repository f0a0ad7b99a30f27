// `npm start -- --demo-incident`: a crisis incident on the demo network (docs/incidents.md), so the
// console's incident page, the fast lane and the CLI's `eusn incident follow` have something to
// show: the bootstrap coordinator declares a public incident asked for by NL and DE (24 h), and
// the Dutch authority submits three provisional PDQ hashes under it.
import { declareIncident, EusnClient, submitProvisional } from "@eusn/client";
import type { SubmissionItem } from "@eusn/protocol";
import type { Credential } from "./demo-keys.ts";

/** A PDQ-shaped value (random bits, well away from all-zero): a stand-in for a hashed copy. */
function demoPdq(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, "0")).join(
    "",
  );
}

export async function seedDemoIncident(o: {
  creds: { slug: string; cred: Credential }[];
  log: (s: string) => void;
}): Promise<string> {
  const cred = (slug: string) => {
    const c = o.creds.find((x) => x.slug === slug)?.cred;
    if (!c) throw new Error(`the demo network has no ${slug}`);
    return new EusnClient(c);
  };
  const now = Date.now();
  const declared = await declareIncident(cred("coordinator"), {
    title: "Demo: livestreamed attack, copies spreading",
    description:
      "A demo incident: an attack was streamed live and copies are being re-uploaded. Provisional hashes match at once and lapse by themselves unless confirmed.",
    requestedBy: ["NL", "DE"],
    startsAt: new Date(now - 60_000).toISOString(),
    endsAt: new Date(now + 24 * 3600_000).toISOString(),
    public: true,
  });
  if (!declared.ok)
    throw new Error(`declaring the demo incident failed: ${JSON.stringify(declared.problem)}`);
  const id = declared.data.incident.id;
  const items: SubmissionItem[] = [1, 2, 3].map((n) => ({
    signalType: "pdq",
    value: demoPdq(),
    quality: 90,
    limbs: ["a"],
    contentType: "video",
    nationalProvision: "NL Sr. art. 131",
    note: `demo incident copy ${n}`,
  }));
  const sub = await submitProvisional(cred("nl-atkm"), id, items);
  if (!sub.ok)
    throw new Error(`submitting the demo incident's hashes failed: ${JSON.stringify(sub.problem)}`);
  o.log(
    `demo incident ${id}: 3 provisional hashes (eusn incident follow ${id} --key .eusn-demo/keys/platform-social.json)`,
  );
  return id;
}
