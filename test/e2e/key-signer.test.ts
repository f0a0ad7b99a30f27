// The console's signing path, checked in Node: a private JWK imported as a NON-extractable
// CryptoKey signs writes and read tokens exactly as the JWK-based signers do (same header, same
// claims, same verification), and KeyClient drives the SDK with it. The browser flows in
// console.test.ts show the node accepts these signatures; this pins the equivalence.
import {
  generateParticipantKey,
  importSigningKey,
  KeyClient,
  signAccessToken,
  signAccessTokenWithKey,
  signWrite,
  signWriteWithKey,
} from "@eusn/client";
import { compactVerify, decodeProtectedHeader, importJWK, type JWK, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";

const decodePayload = (jws: string) =>
  JSON.parse(Buffer.from(jws.split(".")[1]!, "base64url").toString("utf8")) as Record<string, unknown>;

describe.each(["EdDSA", "ES256"] as const)("CryptoKey signing (%s)", (alg) => {
  it("imports non-extractable, sign-only, with the RFC 7638 kid", async () => {
    const pair = await generateParticipantKey(alg);
    const imported = await importSigningKey(pair.privateJwk);
    expect(imported.kid).toBe(pair.kid);
    expect(imported.alg).toBe(alg);
    expect(imported.key.extractable).toBe(false);
    expect(imported.key.type).toBe("private");
    expect(imported.key.usages).toEqual(["sign"]);
    await expect(crypto.subtle.exportKey("jwk", imported.key)).rejects.toThrow();
    // A public key, or one with a wrong kid in the file, is handled: refused / re-derived.
    await expect(importSigningKey(pair.publicJwk as JWK)).rejects.toThrow(/not a private key/);
    expect((await importSigningKey({ ...pair.privateJwk, kid: "wrong" })).kid).toBe(pair.kid);
  });

  it("signs writes and read tokens exactly as the JWK signers do", async () => {
    const pair = await generateParticipantKey(alg);
    const imported = await importSigningKey(pair.privateJwk);
    const signer = { participantId: "par_test", ...imported };
    const record = { submissionId: "hsh_x", verdict: "concur", limb: "a" };
    const a = await signWrite(
      { participantId: "par_test", privateJwk: pair.privateJwk },
      "eusn-x",
      "k",
      record,
    );
    const b = await signWriteWithKey(signer, "eusn-x", "k", record);
    expect(decodeProtectedHeader(b)).toEqual(decodeProtectedHeader(a));
    const pa = decodePayload(a);
    const pb = decodePayload(b);
    expect(Object.keys(pb).sort()).toEqual(Object.keys(pa).sort());
    expect({ ...pb, jti: "", iat: 0 }).toEqual({ ...pa, jti: "", iat: 0 });
    const pub = await importJWK(pair.publicJwk as JWK, alg);
    await compactVerify(b, pub, { algorithms: [alg] });

    const ta = await signAccessToken({ participantId: "par_test", privateJwk: pair.privateJwk }, "eusn-x");
    const tb = await signAccessTokenWithKey(signer, "eusn-x");
    expect(decodeProtectedHeader(tb)).toEqual(decodeProtectedHeader(ta));
    const v = await jwtVerify(tb, pub, { audience: "eusn-x", issuer: "par_test", typ: "eusn-access+jwt" });
    expect(v.payload.exp! - v.payload.iat!).toBe(120);
  });

  it("KeyClient signs the SDK's reads and writes with the CryptoKey", async () => {
    const pair = await generateParticipantKey(alg);
    const imported = await importSigningKey(pair.privateJwk);
    const seen: { auth: string | null; body: string }[] = [];
    const client = new KeyClient({
      baseUrl: "https://node.test",
      nodeId: "eusn-x",
      participantId: "par_test",
      ...imported,
      fetch: async (_url, init) => {
        seen.push({ auth: new Headers(init?.headers).get("authorization"), body: String(init?.body ?? "") });
        return new Response("{}", { headers: { "content-type": "application/json" } });
      },
    });
    expect(client.privateJwk).toEqual({});
    await client.get("/v1/baseline");
    await client.write("/v1/x", "k", { a: 1 });
    const pub = await importJWK(pair.publicJwk as JWK, alg);
    await jwtVerify(seen[0]!.auth!.replace(/^Bearer /, ""), pub, { audience: "eusn-x" });
    const { payload } = await compactVerify(seen[1]!.body, pub);
    expect(JSON.parse(new TextDecoder().decode(payload))).toMatchObject({
      iss: "par_test",
      kind: "k",
      record: { a: 1 },
    });
  });
});
