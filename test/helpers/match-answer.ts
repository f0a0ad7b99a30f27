// POST /v1/match through its raw bytes: the route serialises its answer itself (before its
// accounting write has finished, routes/match.ts) and sends those bytes with their media type, so
// every answer a test reads this way is also checked to be exactly what JSON.stringify writes for
// the answer it parses to, as `application/json`, with the keys in the order the answer has always
// had (a public API: clients may compare or hash the bytes).
import type { EusnClient } from "@eusn/client";
import type { MatchRequest, MatchResponse } from "@eusn/protocol";
import { expect } from "vitest";

const ANSWER_KEYS = ["requestId", "scope", "threshold", "baselineVersion", "results", "kept", "advisory"];
/** Every hit's keys, in order, before the hit's own (`distance`, `variant`, `kind`, then its kind's). */
const ENTRY_KEYS = [
  "submissionId",
  "signalType",
  "value",
  "limbs",
  "contentType",
  "legalBasis",
  "memberState",
  "baselineState",
  "state",
  "assessments",
  "tlp",
  "lowQuality",
  "provisional",
];
const OWN_KEYS = { hash: [], frame: ["queryFrame", "entryFrame"], video: ["video"] } as const;

/** Checks an answer's bytes against the answer they parse to; returns it. */
export function expectCanonicalAnswer(text: string, contentType: string | null): MatchResponse {
  expect(contentType).toBe("application/json");
  const answer = JSON.parse(text) as MatchResponse;
  expect(text).toBe(JSON.stringify(answer));
  expect(Object.keys(answer)).toEqual(ANSWER_KEYS);
  answer.results.forEach((r, index) => {
    expect(Object.keys(r)).toEqual(["index", "matches"]);
    expect(r.index).toBe(index);
    for (const hit of r.matches) {
      const keys = Object.keys(hit);
      expect(keys.slice(0, ENTRY_KEYS.length + 3)).toEqual([...ENTRY_KEYS, "distance", "variant", "kind"]);
      const own = keys.slice(ENTRY_KEYS.length + 3);
      expect(own.length).toBeLessThanOrEqual(1);
      if (own.length > 0) expect(OWN_KEYS[hit.kind] as readonly string[]).toContain(own[0]);
      else expect(hit.kind).toBe("hash");
    }
  });
  return answer;
}

/** POST /v1/match by `client`; the answer's bytes checked (`expectCanonicalAnswer`), or its problem thrown. */
export async function matchChecked(client: EusnClient, body: MatchRequest): Promise<MatchResponse> {
  const res = await client.fetchRaw("/v1/match", {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify(body),
  });
  const text = new TextDecoder().decode(await res.arrayBuffer());
  if (!res.ok) throw new Error(text);
  return expectCanonicalAnswer(text, res.headers.get("content-type"));
}
