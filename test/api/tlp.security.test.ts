// TLP:RED laundering, attacked through the real Worker and D1: a second authority resubmits a
// value another authority holds at TLP:RED, marked `clear`, and gets it included. The node links
// the two submissions (same fingerprint), and the strictest TLP among linked live submissions
// governs (rules/baseline.ts `restrictsLinked`): platforms neither match it in any scope nor get
// it from the baseline, its export or TAXII, until the TLP:RED submission leaves — and then the
// baseline version moves, so consumers that sync by it reload.

import { type SubmitResult, TAXII_COLLECTIONS, TAXII_MEDIA_TYPE, type WriteReceipt } from "@eusn/protocol";
import { beforeAll, describe, expect, it } from "vitest";
import { pdqItem, randomPdq, rng } from "../helpers/hashes.ts";
import { type Admitted, admit, BASE, coordinator, nodeFetch } from "../helpers/node.ts";

let nl: Admitted;
let de: Admitted;
let platform: Admitted;
const r = rng(16);

beforeAll(async () => {
  nl = await admit("authority", "NL");
  de = await admit("authority", "DE");
  platform = await admit("platform");
});

async function submit(by: Admitted, item: unknown): Promise<string> {
  const res = await by.client.write<SubmitResult>("/v1/submissions", "submission.create", { items: [item] });
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
  return res.data.submissions[0]!.id;
}

/** `by` submits `value` clear, the other authority concurs (quorum: both states), the coordinator includes. */
async function includedBy(by: Admitted, value: string): Promise<string> {
  const other = by === nl ? de : nl;
  const id = await submit(by, pdqItem(value, { tlp: "clear" }));
  const a = await other.client.write<WriteReceipt>(`/v1/submissions/${id}/assessments`, "assessment.create", {
    submissionId: id,
    verdict: "concur",
    limb: "a",
  });
  if (!a.ok) throw new Error(JSON.stringify(a.problem));
  const d = await coordinator().write(`/v1/submissions/${id}/decisions`, "baseline.decide", {
    submissionId: id,
    decision: "include",
    reason: "concurred by two member states",
    assessmentIds: [a.data.subjectId],
  });
  if (!d.ok) throw new Error(JSON.stringify(d.problem));
  return id;
}

async function withdraw(by: Admitted, id: string) {
  const res = await by.client.write(`/v1/submissions/${id}/withdraw`, "submission.withdraw", {
    submissionId: id,
    reason: "error",
  });
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
}

const bearer = async (by: Admitted | "coordinator") =>
  `Bearer ${await (by === "coordinator" ? coordinator() : by.client).token()}`;

/** The entry ids a platform is answered for `value` in `scope` (exact, T = 0). */
async function matchedIds(value: string, scope: "all" | "baseline"): Promise<string[]> {
  const res = await nodeFetch(`${BASE}/v1/match`, {
    method: "POST",
    headers: { authorization: await bearer(platform), "content-type": "application/json" },
    body: JSON.stringify({ scope, threshold: 0, items: [{ type: "pdq", value }] }),
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { results: { matches: { submissionId: string }[] }[] };
  return body.results[0]!.matches.map((m) => m.submissionId);
}

/** Where the value reaches platforms (and, for the TAXII submissions collection, authorities). */
async function sharedAt(value: string, id: string) {
  const baseline = await platform.client.get<{ entries: { id: string }[] }>("/v1/baseline?limit=5000");
  if (!baseline.ok) throw new Error(JSON.stringify(baseline.problem));
  const exp = await nodeFetch(`${BASE}/v1/baseline/export?format=csv&limit=50000`, {
    headers: { authorization: await bearer(platform) },
  });
  expect(exp.status).toBe(200);
  const taxii = async (by: Admitted | "coordinator", collection: string) => {
    const res = await nodeFetch(`${BASE}/taxii2/eusn/collections/${collection}/objects/?limit=1000`, {
      headers: { accept: TAXII_MEDIA_TYPE, authorization: await bearer(by) },
    });
    expect(res.status).toBe(200);
    return (await res.text()).includes(value);
  };
  return {
    matchAll: (await matchedIds(value, "all")).includes(id),
    matchBaseline: (await matchedIds(value, "baseline")).includes(id),
    baseline: baseline.data.entries.some((e) => e.id === id),
    export: (await exp.text()).includes(value),
    taxiiBaseline: await taxii(platform, TAXII_COLLECTIONS.baseline.id),
    taxiiSubmissions: await taxii("coordinator", TAXII_COLLECTIONS.submissions.id),
    version: Number(exp.headers.get("x-eusn-baseline-version")),
  };
}

const nowhere = {
  matchAll: false,
  matchBaseline: false,
  baseline: false,
  export: false,
  taxiiBaseline: false,
  taxiiSubmissions: false,
};
const everywhere = {
  matchAll: true,
  matchBaseline: true,
  baseline: true,
  export: true,
  taxiiBaseline: true,
  taxiiSubmissions: true,
};

describe("TLP:RED laundering: a value held at TLP:RED is not shared through another submission of it", () => {
  it("NL's TLP:RED value resubmitted by DE as clear and included is withheld from platforms everywhere; NL's withdrawal releases it and moves the baseline version", async () => {
    const value = randomPdq(r);
    const red = await submit(nl, pdqItem(value, { tlp: "red" }));
    const laundered = await includedBy(de, value);

    const { version: before, ...held } = await sharedAt(value, laundered);
    expect(held).toEqual(nowhere);
    // Neither of the two is answered, in any scope.
    expect(await matchedIds(value, "all")).toEqual([]);
    expect(await matchedIds(value, "baseline")).toEqual([]);

    // The TLP:RED submission leaves: the restriction goes with it, and the baseline says so.
    await withdraw(nl, red);
    const { version: after, ...released } = await sharedAt(value, laundered);
    expect(released).toEqual(everywhere);
    expect(after).toBeGreaterThan(before);
  });

  it("a TLP:RED submission of a value already in the baseline withholds that entry at once, and the baseline version moves", async () => {
    const value = randomPdq(r);
    const shared = await includedBy(de, value);
    const { version: before, ...first } = await sharedAt(value, shared);
    expect(first).toEqual(everywhere);

    await submit(nl, pdqItem(value, { tlp: "red" }));
    const { version: after, ...held } = await sharedAt(value, shared);
    expect(held).toEqual(nowhere);
    expect(after).toBeGreaterThan(before);
  });

  it("another TLP (amber) on the twin changes nothing, and a TLP:RED twin of another value restricts only that value", async () => {
    const value = randomPdq(r);
    const shared = await includedBy(de, value);
    await submit(nl, pdqItem(value, { tlp: "amber" }));
    await submit(nl, pdqItem(randomPdq(r), { tlp: "red" }));
    const { version: _v, ...still } = await sharedAt(value, shared);
    expect(still).toEqual(everywhere);
  });
});
