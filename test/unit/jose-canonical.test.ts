// One encoding per signed content (@eusn/protocol jose.ts): the checks the node and the signers
// share, on the inputs a hostile signer would try.
import { CompactSign, generateKeyPair } from "jose";
import { describe, expect, it } from "vitest";
import {
  decodeB64urlStrict,
  duplicateMember,
  encodeB64url,
  isLowS,
  lowSCompact,
  parseJsonObjectStrict,
} from "../../packages/protocol/src/index.ts";

describe("duplicateMember", () => {
  it("finds a name twice at any depth, after unescaping", () => {
    expect(duplicateMember('{"a":1,"a":2}')).toBe("a");
    expect(duplicateMember('{"iss":"x","i\\u0073s":"y"}')).toBe("iss");
    expect(duplicateMember('{"r":{"k":[{"z":1,"z":1}]}}')).toBe("z");
    // Names ending in escaped backslashes or holding escaped quotes, written two ways.
    expect(duplicateMember('{"a\\\\":1,"a\\u005c":2}')).toBe("a\\");
    expect(duplicateMember('{"q\\"":1,"q\\u0022":2}')).toBe('q"');
    expect(duplicateMember('{"a\\\\":1,"a":2}')).toBeUndefined();
  });

  it("does not confuse names with values, strings with structure, or siblings with each other", () => {
    expect(duplicateMember('{"a":"a","b":["a","a"],"c":{"a":1},"d":{"a":2}}')).toBeUndefined();
    expect(duplicateMember('{"a":"{\\"a\\":1,\\"a\\":2}","b":"\\\\","c":"]},"}')).toBeUndefined();
    expect(duplicateMember('[{"a":1},{"a":1}]')).toBeUndefined();
    // Not JSON (callers parse first), but it still ends: an unterminated string.
    expect(duplicateMember('{"a":1,"b')).toBeUndefined();
    expect(duplicateMember('{"a":[1,{"b":1}],"b":2}')).toBeUndefined();
  });

  it("parseJsonObjectStrict says why", () => {
    expect(parseJsonObjectStrict('{"a":1,"a":1}')).toEqual({
      ok: false,
      reason: 'member "a" more than once',
    });
    expect(parseJsonObjectStrict("[1]")).toEqual({ ok: false, reason: "not a JSON object" });
    expect(parseJsonObjectStrict('{"a":')).toEqual({ ok: false, reason: "not JSON" });
    expect(parseJsonObjectStrict('{"a":{"b":1}}')).toEqual({ ok: true, value: { a: { b: 1 } } });
  });
});

describe("decodeB64urlStrict", () => {
  it("takes exactly the canonical encoding of each byte string", () => {
    for (let n = 0; n < 40; n++) {
      const bytes = crypto.getRandomValues(new Uint8Array(n));
      const s = encodeB64url(bytes);
      expect(decodeB64urlStrict(s)).toEqual(bytes);
    }
  });

  it("agrees with the definition (decode, re-encode, compare) for every last character and length", () => {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const byDefinition = (s: string) => {
      const bin = atob(s.replaceAll("-", "+").replaceAll("_", "/"));
      const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
      let again = "";
      for (const b of bytes) again += String.fromCharCode(b);
      return btoa(again).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "") === s
        ? bytes
        : undefined;
    };
    let accepted = 0;
    // Strings of 2, 3, 4, 6 and 7 characters ending in each character of the alphabet.
    for (const length of [2, 3, 4, 6, 7])
      for (const c of alphabet) {
        const s = `${"QUJDREVG".slice(0, length - 1)}${c}`;
        const want = byDefinition(s);
        expect(decodeB64urlStrict(s), s).toEqual(want);
        if (want) accepted++;
      }
    // 2-character groups keep 4 of 64 last characters, 3-character groups 16 of 64.
    expect(accepted).toBeGreaterThan(0);
    // A long payload (a batch record's size) decodes to the same bytes it was made from.
    // Compared as hex text: the same check as element-wise equality, without its per-element
    // cost (seconds for 300,000 elements).
    const big = Uint8Array.from({ length: 300_001 }, (_, i) => (i * 131 + 7) & 0xff);
    const decoded = decodeB64urlStrict(encodeB64url(big));
    expect(decoded).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(decoded as Uint8Array).toString("hex")).toBe(Buffer.from(big).toString("hex"));
  });

  it("refuses padding bits, padding, impossible lengths and other alphabets", () => {
    expect(decodeB64urlStrict("QQ")).toEqual(new Uint8Array([0x41]));
    expect(decodeB64urlStrict("QR")).toBeUndefined(); // same byte, a padding bit set
    expect(decodeB64urlStrict("QQ==")).toBeUndefined();
    expect(decodeB64urlStrict("QUJDR")).toBeUndefined();
    expect(decodeB64urlStrict("a+b/")).toBeUndefined();
    expect(decodeB64urlStrict("a b")).toBeUndefined();
  });
});

describe("ES256 low S", () => {
  it("lowSCompact brings every signature to s ≤ n/2 and keeps it verifying", async () => {
    const { privateKey, publicKey } = await generateKeyPair("ES256");
    const { compactVerify } = await import("jose");
    let high = 0;
    for (let i = 0; i < 24; i++) {
      const jws = await new CompactSign(new TextEncoder().encode(`{"n":${i}}`))
        .setProtectedHeader({ alg: "ES256" })
        .sign(privateKey);
      const sig = decodeB64urlStrict(jws.split(".")[2]!)!;
      if (!isLowS(sig)) high++;
      const low = lowSCompact(jws);
      expect(isLowS(decodeB64urlStrict(low.split(".")[2]!)!)).toBe(true);
      await expect(compactVerify(low, publicKey)).resolves.toBeTruthy();
      expect(lowSCompact(low)).toBe(low);
    }
    // WebCrypto picks either S: about half of these were high before normalising.
    expect(high).toBeGreaterThan(0);
  });

  it("leaves EdDSA signatures alone", async () => {
    const { privateKey } = await generateKeyPair("EdDSA");
    const jws = await new CompactSign(new TextEncoder().encode("{}"))
      .setProtectedHeader({ alg: "EdDSA" })
      .sign(privateKey);
    expect(lowSCompact(jws)).toBe(jws);
  });
});
