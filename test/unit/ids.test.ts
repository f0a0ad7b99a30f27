// Ids derived from the signed bytes (docs/federation.md "Ids derive from the signed bytes"):
// checked against the documented formula computed here independently, with Node's own SHA-256,
// so a change to workers/api/lib/ids.ts that altered an id — which every node must compute alike,
// or replicas would name records differently — fails here.
import { createHash } from "node:crypto";
import { ID_PREFIXES, type IdKind, newId } from "@eusn/protocol";
import { describe, expect, it } from "vitest";
import { derivedId, derivedIds } from "../../workers/api/lib/ids.ts";

const B32 = "0123456789abcdefghjkmnpqrstvwxyz";

/** The formula as docs/federation.md states it. */
function expected(kind: IdKind, iat: number, jwsSha256: string, n: number): string {
  let ms = iat * 1000;
  const time: string[] = [];
  for (let i = 0; i < 10; i++, ms = Math.floor(ms / 32)) time.unshift(B32[ms % 32]!);
  const digest = createHash("sha256").update(`eusn-id/v1|${kind}|${n}|${jwsSha256}`).digest();
  const tail = [...digest.subarray(0, 16)].map((b) => B32[b % 32]).join("");
  return `${ID_PREFIXES[kind]}_${time.join("")}${tail}`;
}

describe("derived ids", () => {
  const w = { claims: { iat: 1_790_000_123 }, jwsSha256: createHash("sha256").update("a JWS").digest("hex") };

  it("follow the documented formula for every kind", async () => {
    for (const kind of Object.keys(ID_PREFIXES) as IdKind[])
      expect(await derivedId(kind, w)).toBe(expected(kind, w.claims.iat, w.jwsSha256, 0));
  });

  it("for a batch, one per item in the order asked, each as derivedId gives it alone", async () => {
    const ns = [0, 1, 2, 7, 999, 3];
    const ids = await derivedIds("submission", w, ns);
    expect(ids).toEqual(ns.map((n) => expected("submission", w.claims.iat, w.jwsSha256, n)));
    expect(new Set(ids).size).toBe(ns.length);
    for (const [k, n] of ns.entries()) expect(await derivedId("submission", w, n)).toBe(ids[k]);
    expect(await derivedIds("submission", w, [])).toEqual([]);
  });

  it("share newId's shape and its time part", () => {
    const id = newId("submission", w.claims.iat * 1000);
    expect(id).toMatch(/^hsh_[0-9a-z]{26}$/);
    expect(id.slice(0, 14)).toBe(expected("submission", w.claims.iat, w.jwsSha256, 0).slice(0, 14));
  });
});
