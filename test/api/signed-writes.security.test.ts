// Tries to get past every rule of signed writes and read tokens. Each refused attempt must
// answer a clear problem and leave every table exactly as it was.

import { env } from "cloudflare:workers";
import { generateParticipantKey, newJti, signAccessToken, signWrite } from "@eusn/client";
import { ACCESS_TYP, MAX_BODY_BYTES, WRITE_TYP } from "@eusn/protocol";
import { CompactSign } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type Admitted,
  admit,
  BASE,
  coordinator,
  expectProblem,
  nodeFetch,
  revoke,
  snapshot,
} from "../helpers/node.ts";

const enc = (o: unknown) =>
  btoa(JSON.stringify(o)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");

const postJose = (path: string, body: string, contentType = "application/jose") =>
  nodeFetch(`${BASE}${path}`, { method: "POST", headers: { "content-type": contentType }, body });

async function admitRecord() {
  const key = await generateParticipantKey();
  return { role: "platform", displayName: "Attempted platform", jwks: { keys: [key.publicJwk] } };
}

const coordSigner = () => {
  const c = coordinator();
  return { participantId: c.participantId, privateJwk: c.privateJwk };
};

/** Sends `body` to `path` and checks the problem and that nothing was stored. */
async function refused(path: string, body: string, status: number, code: string, contentType?: string) {
  const before = await snapshot();
  const res = await postJose(path, body, contentType);
  const problem = await expectProblem(res, status, code);
  expect(await snapshot()).toEqual(before);
  return problem;
}

let platform: Admitted;
let authority: Admitted;
let other: Admitted;

beforeAll(async () => {
  platform = await admit("platform");
  authority = await admit("authority", "NL");
  other = await admit("authority", "DE");
});

describe("signed writes are refused and store nothing when", () => {
  it("alg is none", async () => {
    const coordKid = (await import("@eusn/client").then((m) => m.publicOf(coordSigner().privateJwk))).kid;
    const header = { alg: "none", typ: WRITE_TYP, kid: coordKid };
    const payload = {
      iss: env.BOOTSTRAP_COORDINATOR_ID,
      aud: env.NODE_ID,
      iat: Math.floor(Date.now() / 1000),
      jti: newJti(),
      kind: "participant.admit",
      record: await admitRecord(),
    };
    const p = await refused("/v1/participants", `${enc(header)}.${enc(payload)}.`, 400, "invalid_jws");
    expect(p.detail).toMatch(/alg "none" is not accepted/);
  });

  it("alg is HMAC keyed with the issuer's public key (algorithm confusion)", async () => {
    const { publicOf } = await import("@eusn/client");
    const pub = await publicOf(coordSigner().privateJwk);
    const payload = {
      iss: env.BOOTSTRAP_COORDINATOR_ID,
      aud: env.NODE_ID,
      iat: Math.floor(Date.now() / 1000),
      jti: newJti(),
      kind: "participant.admit",
      record: await admitRecord(),
    };
    const secret = new TextEncoder().encode(JSON.stringify(pub.publicJwk));
    const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
      .setProtectedHeader({ alg: "HS256", typ: WRITE_TYP, kid: pub.kid })
      .sign(secret);
    await refused("/v1/participants", jws, 400, "invalid_jws");
  });

  it("the payload was altered after signing", async () => {
    const jws = await signWrite(coordSigner(), env.NODE_ID, "participant.admit", await admitRecord());
    const [h, p, s] = jws.split(".") as [string, string, string];
    const claims = JSON.parse(atob(p.replaceAll("-", "+").replaceAll("_", "/")));
    claims.record.role = "coordinator";
    await refused("/v1/participants", `${h}.${enc(claims)}.${s}`, 401, "invalid_signature");
  });

  it("the protected header was altered after signing", async () => {
    const jws = await signWrite(coordSigner(), env.NODE_ID, "participant.admit", await admitRecord());
    const [h, p, s] = jws.split(".") as [string, string, string];
    const header = JSON.parse(atob(h.replaceAll("-", "+").replaceAll("_", "/")));
    await refused("/v1/participants", `${enc({ ...header, note: "x" })}.${p}.${s}`, 401, "invalid_signature");
  });

  it("the signature was altered", async () => {
    const jws = await signWrite(coordSigner(), env.NODE_ID, "participant.admit", await admitRecord());
    const last = jws.at(-2) === "A" ? "B" : "A";
    await refused("/v1/participants", `${jws.slice(0, -2)}${last}${jws.at(-1)}`, 401, "invalid_signature");
  });

  it("aud names another node", async () => {
    const jws = await signWrite(coordSigner(), "eusn-other-node", "participant.admit", await admitRecord());
    await refused("/v1/participants", jws, 401, "wrong_audience");
  });

  it("iat is older than the allowed skew", async () => {
    const jws = await signWrite(coordSigner(), env.NODE_ID, "participant.admit", await admitRecord(), {
      iat: Math.floor(Date.now() / 1000) - 301,
    });
    await refused("/v1/participants", jws, 401, "stale_request");
  });

  it("iat is in the future beyond the allowed skew", async () => {
    // 330, not 301: seconds passing between signing and checking shrink a future iat's distance
    // (this flaked once at 301 on a loaded machine); a past iat only grows staler, so -301 stays.
    const jws = await signWrite(coordSigner(), env.NODE_ID, "participant.admit", await admitRecord(), {
      iat: Math.floor(Date.now() / 1000) + 330,
    });
    await refused("/v1/participants", jws, 401, "stale_request");
  });

  it("the same JWS is replayed", async () => {
    const jws = await signWrite(coordSigner(), env.NODE_ID, "participant.admit", await admitRecord());
    expect((await postJose("/v1/participants", jws)).status).toBe(201);
    await refused("/v1/participants", jws, 409, "replayed_jti");
  });

  it("a new JWS reuses a jti", async () => {
    const jti = newJti();
    const first = await signWrite(coordSigner(), env.NODE_ID, "participant.admit", await admitRecord(), {
      jti,
    });
    expect((await postJose("/v1/participants", first)).status).toBe(201);
    const second = await signWrite(coordSigner(), env.NODE_ID, "participant.admit", await admitRecord(), {
      jti,
    });
    await refused("/v1/participants", second, 409, "replayed_jti");
  });

  it("two copies race: exactly one lands", async () => {
    const jws = await signWrite(coordSigner(), env.NODE_ID, "participant.admit", await admitRecord());
    const before = await snapshot(["registry_requests"]);
    const [a, b] = await Promise.all([postJose("/v1/participants", jws), postJose("/v1/participants", jws)]);
    expect([a.status, b.status].sort()).toEqual([201, 409]);
    const after = await snapshot(["registry_requests"]);
    expect(after.records).toBe(before.records! + 1);
    expect(after.audit_log).toBe(before.audit_log! + 1);
    // One admission: a platform's admission is a request until its second signature.
    expect(after.participants! + after.registry_requests!).toBe(
      before.participants! + before.registry_requests! + 1,
    );
  });

  it("the signer's role may not write this record (platform admits)", async () => {
    const jws = await signWrite(
      { participantId: platform.id, privateJwk: platform.key.privateJwk },
      env.NODE_ID,
      "participant.admit",
      await admitRecord(),
    );
    await refused("/v1/participants", jws, 403, "forbidden");
  });

  it("an authority tries to revoke another participant", async () => {
    const jws = await signWrite(
      { participantId: authority.id, privateJwk: authority.key.privateJwk },
      env.NODE_ID,
      "participant.revoke",
      { participantId: other.id, reason: "I do not like them" },
    );
    await refused(`/v1/participants/${other.id}/revoke`, jws, 403, "forbidden");
  });

  it("the kid belongs to another participant (key confusion)", async () => {
    // Signed with the other authority's real key and kid, but claiming to be `authority`.
    const jws = await signWrite(
      { participantId: authority.id, privateJwk: other.key.privateJwk },
      env.NODE_ID,
      "participant.key.add",
      {
        participantId: authority.id,
        jwk: (await generateParticipantKey()).publicJwk,
      },
    );
    const p = await refused(`/v1/participants/${authority.id}/keys`, jws, 401, "unknown_key");
    expect(p.detail).toMatch(/not a key of/);
  });

  it("the kid is the issuer's but another participant's key signed", async () => {
    const jws = await signWrite(
      { participantId: authority.id, privateJwk: other.key.privateJwk },
      env.NODE_ID,
      "participant.key.add",
      {
        participantId: authority.id,
        jwk: (await generateParticipantKey()).publicJwk,
      },
      { header: { kid: authority.key.kid } },
    );
    await refused(`/v1/participants/${authority.id}/keys`, jws, 401, "invalid_signature");
  });

  it("the issuer is unknown", async () => {
    const stranger = await generateParticipantKey();
    const jws = await signWrite(
      { participantId: "par_doesnotexist0000000000", privateJwk: stranger.privateJwk },
      env.NODE_ID,
      "participant.admit",
      await admitRecord(),
    );
    await refused("/v1/participants", jws, 401, "unknown_key");
  });

  it("the key was retired", async () => {
    const a = await admit("authority", "FR");
    const next = await generateParticipantKey();
    expect(
      (
        await a.client.write(`/v1/participants/${a.id}/keys`, "participant.key.add", {
          participantId: a.id,
          jwk: next.publicJwk,
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await a.client.write(`/v1/participants/${a.id}/keys/retire`, "participant.key.retire", {
          participantId: a.id,
          kid: a.key.kid,
        })
      ).status,
    ).toBe(201);
    const jws = await signWrite(
      { participantId: a.id, privateJwk: a.key.privateJwk },
      env.NODE_ID,
      "participant.key.add",
      {
        participantId: a.id,
        jwk: (await generateParticipantKey()).publicJwk,
      },
    );
    const p = await refused(`/v1/participants/${a.id}/keys`, jws, 401, "unknown_key");
    expect(p.detail).toMatch(/retired/);
  });

  it("the participant was revoked", async () => {
    const victim = await admit("platform");
    expect(
      (
        await coordinator().write(`/v1/participants/${victim.id}/revoke`, "participant.revoke", {
          participantId: victim.id,
          reason: "compromised key reported",
        })
      ).status,
    ).toBe(201);
    const jws = await signWrite(
      { participantId: victim.id, privateJwk: victim.key.privateJwk },
      env.NODE_ID,
      "participant.key.add",
      {
        participantId: victim.id,
        jwk: (await generateParticipantKey()).publicJwk,
      },
    );
    await refused(`/v1/participants/${victim.id}/keys`, jws, 403, "participant_revoked");
  });

  it("a read token (typ eusn-access+jwt) is sent as a write", async () => {
    const token = await signAccessToken(coordSigner(), env.NODE_ID);
    await refused("/v1/participants", token, 400, "invalid_jws");
  });

  it("the JWS is signed for another kind than the endpoint", async () => {
    const jws = await signWrite(coordSigner(), env.NODE_ID, "participant.revoke", {
      participantId: platform.id,
      reason: "cross-endpoint",
    });
    await refused("/v1/participants", jws, 400, "bad_request");
  });

  it("the header embeds its own key", async () => {
    const c = coordSigner();
    const jws = await signWrite(c, env.NODE_ID, "participant.admit", await admitRecord(), {
      header: { jwk: (await generateParticipantKey()).publicJwk },
    });
    await refused("/v1/participants", jws, 400, "invalid_jws");
  });

  it("the body is JSON instead of a JWS", async () => {
    await refused(
      "/v1/participants",
      JSON.stringify(await admitRecord()),
      415,
      "unsupported_media_type",
      "application/json",
    );
    await refused("/v1/participants", JSON.stringify(await admitRecord()), 400, "invalid_jws");
  });

  it("the body is over the size limit", async () => {
    await refused("/v1/participants", "a".repeat(MAX_BODY_BYTES + 1), 413, "payload_too_large");
  });

  it("the body is not UTF-8", async () => {
    const before = await snapshot();
    const res = await nodeFetch(`${BASE}/v1/participants`, {
      method: "POST",
      headers: { "content-type": "application/jose" },
      body: new Uint8Array([0xff, 0xfe, 0x2e, 0x2e]),
    });
    await expectProblem(res, 400, "invalid_jws");
    expect(await snapshot()).toEqual(before);
  });
});

describe("records are validated after the signature", () => {
  const write = async (record: unknown) => signWrite(coordSigner(), env.NODE_ID, "participant.admit", record);

  it("an authority without a member state", async () => {
    const key = await generateParticipantKey();
    const p = await refused(
      "/v1/participants",
      await write({ role: "authority", displayName: "No state", jwks: { keys: [key.publicJwk] } }),
      400,
      "validation_failed",
    );
    expect(p.errors).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: "/record/memberState" })]),
    );
  });

  it("a member state outside the EU", async () => {
    const key = await generateParticipantKey();
    const p = await refused(
      "/v1/participants",
      await write({
        role: "authority",
        memberState: "US",
        displayName: "Not EU",
        jwks: { keys: [key.publicJwk] },
      }),
      400,
      "validation_failed",
    );
    expect(p.errors?.[0]?.path).toBe("/record/memberState");
  });

  it("a private key in the JWKS", async () => {
    const key = await generateParticipantKey();
    await refused(
      "/v1/participants",
      await write({ role: "platform", displayName: "Leaky", jwks: { keys: [key.privateJwk] } }),
      400,
      "validation_failed",
    );
  });

  it("a symmetric or RSA key", async () => {
    await refused(
      "/v1/participants",
      await write({ role: "platform", displayName: "Sym", jwks: { keys: [{ kty: "oct", k: "c2VjcmV0" }] } }),
      400,
      "validation_failed",
    );
    await refused(
      "/v1/participants",
      await write({
        role: "platform",
        displayName: "RSA",
        jwks: { keys: [{ kty: "RSA", n: "abc", e: "AQAB" }] },
      }),
      400,
      "validation_failed",
    );
  });

  it("a kid that is not the key's RFC 7638 thumbprint", async () => {
    const key = await generateParticipantKey();
    await refused(
      "/v1/participants",
      await write({
        role: "platform",
        displayName: "Bad kid",
        jwks: { keys: [{ ...key.publicJwk, kid: "my-key-1" }] },
      }),
      400,
      "validation_failed",
    );
  });

  it("a key already registered to another participant", async () => {
    await refused(
      "/v1/participants",
      await write({ role: "platform", displayName: "Copycat", jwks: { keys: [authority.key.publicJwk] } }),
      409,
      "conflict",
    );
  });
});

describe("one key, one participant", () => {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  /** The same 32 bytes with a padding bit set in the last of the 43 characters. */
  const twinOf = (x: string) => `${x.slice(0, -1)}${alphabet[alphabet.indexOf(x.at(-1)!) ^ 1]}`;

  it("a key whose x differs only in a non-canonical last character is refused, and cannot sign as a twin", async () => {
    const first = await admit("platform");
    const { kid: _kid, alg: _alg, ...pub } = first.key.publicJwk as Record<string, string>;
    const twin = { ...pub, x: twinOf(pub.x!) };
    expect(twin.x).not.toBe(pub.x);
    const before = await snapshot();
    const res = await coordinator().write("/v1/participants", "participant.admit", {
      role: "platform",
      displayName: "Twin of an admitted platform",
      jwks: { keys: [twin] },
    });
    expect(res.status).toBe(400);
    expect(!res.ok && res.problem.code).toBe("validation_failed");
    expect(!res.ok && res.problem.detail).toMatch(/canonical/);
    expect(await snapshot()).toEqual(before);
  });

  it("a P-256 key with a non-canonical coordinate is refused when added", async () => {
    const es = await admit("platform", undefined, { alg: "ES256" });
    const other = await generateParticipantKey("ES256");
    const { kid: _kid, alg: _alg, ...pub } = other.publicJwk as Record<string, string>;
    for (const member of ["x", "y"] as const) {
      const bad = { ...pub, [member]: twinOf(pub[member]!) };
      const before = await snapshot();
      const res = await es.client.write(`/v1/participants/${es.id}/keys`, "participant.key.add", {
        participantId: es.id,
        jwk: bad,
      });
      expect(res.status).toBe(400);
      expect(!res.ok && res.problem.code).toBe("validation_failed");
      expect(await snapshot()).toEqual(before);
    }
  });

  it("an Ed25519 key whose y is not reduced modulo p is refused", async () => {
    // y = p + 1 (p = 2^255 − 19) encodes the same point as y = 1: a second spelling of one key.
    const y = (1n << 255n) - 19n + 1n;
    const bytes = new Uint8Array(32);
    for (let i = 0, v = y; i < 32; i++, v >>= 8n) bytes[i] = Number(v & 0xffn);
    const res = await coordinator().write("/v1/participants", "participant.admit", {
      role: "platform",
      displayName: "Unreduced point",
      jwks: { keys: [{ kty: "OKP", crv: "Ed25519", x: b64url(bytes) }] },
    });
    expect(res.status).toBe(400);
    expect(!res.ok && res.problem.code).toBe("validation_failed");
  });
});

describe("key management rules", () => {
  it("a participant cannot add a key to another participant", async () => {
    const jws = await signWrite(
      { participantId: authority.id, privateJwk: authority.key.privateJwk },
      env.NODE_ID,
      "participant.key.add",
      {
        participantId: other.id,
        jwk: (await generateParticipantKey()).publicJwk,
      },
    );
    await refused(`/v1/participants/${other.id}/keys`, jws, 403, "forbidden");
  });

  it("a coordinator cannot add a key to an authority (it could then sign as the authority)", async () => {
    const jws = await signWrite(coordSigner(), env.NODE_ID, "participant.key.add", {
      participantId: authority.id,
      jwk: (await generateParticipantKey()).publicJwk,
    });
    await refused(`/v1/participants/${authority.id}/keys`, jws, 403, "forbidden");
  });

  it("the last active key cannot be retired", async () => {
    const a = await admit("platform");
    const jws = await signWrite(
      { participantId: a.id, privateJwk: a.key.privateJwk },
      env.NODE_ID,
      "participant.key.retire",
      { participantId: a.id, kid: a.key.kid },
    );
    await refused(`/v1/participants/${a.id}/keys/retire`, jws, 409, "conflict");
  });

  it("a coordinator cannot revoke itself", async () => {
    const jws = await signWrite(coordSigner(), env.NODE_ID, "participant.revoke", {
      participantId: env.BOOTSTRAP_COORDINATOR_ID,
      reason: "oops",
    });
    await refused(`/v1/participants/${env.BOOTSTRAP_COORDINATOR_ID}/revoke`, jws, 409, "conflict");
  });
});

describe("read tokens", () => {
  const audit = (headers: Record<string, string>) => nodeFetch(`${BASE}/v1/audit`, { headers });

  it("are required", async () => {
    await expectProblem(await audit({}), 401, "unauthenticated");
  });

  it("work for the right role and are refused for others", async () => {
    const ok = await audit({ authorization: `Bearer ${await coordinator().token()}` });
    expect(ok.status).toBe(200);
    await expectProblem(
      await audit({ authorization: `Bearer ${await platform.client.token()}` }),
      403,
      "forbidden",
    );
  });

  it("may live at most 5 minutes", async () => {
    const t = await signAccessToken(coordSigner(), env.NODE_ID, { lifetimeS: 301 });
    await expectProblem(await audit({ authorization: `Bearer ${t}` }), 401, "invalid_token");
  });

  it("are refused once expired", async () => {
    const t = await signAccessToken(coordSigner(), env.NODE_ID, {
      iat: Math.floor(Date.now() / 1000) - 200,
      lifetimeS: 100,
    });
    await expectProblem(await audit({ authorization: `Bearer ${t}` }), 401, "invalid_token");
  });

  it("are refused when issued in the future", async () => {
    const t = await signAccessToken(coordSigner(), env.NODE_ID, {
      iat: Math.floor(Date.now() / 1000) + 400,
      lifetimeS: 100,
    });
    await expectProblem(await audit({ authorization: `Bearer ${t}` }), 401, "invalid_token");
  });

  it("are refused for another node", async () => {
    const t = await signAccessToken(coordSigner(), "eusn-elsewhere");
    await expectProblem(await audit({ authorization: `Bearer ${t}` }), 401, "wrong_audience");
  });

  it("cannot be a signed write in disguise", async () => {
    const jws = await signWrite(coordSigner(), env.NODE_ID, "participant.admit", await admitRecord());
    await expectProblem(await audit({ authorization: `Bearer ${jws}` }), 401, "invalid_token");
  });

  it("refuse alg none and tampering", async () => {
    const real = await coordinator().token();
    const [h, p] = real.split(".") as [string, string];
    const header = JSON.parse(atob(h.replaceAll("-", "+").replaceAll("_", "/")));
    await expectProblem(
      await audit({ authorization: `Bearer ${enc({ ...header, alg: "none" })}.${p}.` }),
      401,
      "invalid_token",
    );
    const claims = JSON.parse(atob(p.replaceAll("-", "+").replaceAll("_", "/")));
    await expectProblem(
      await audit({
        authorization: `Bearer ${h}.${enc({ ...claims, iss: authority.id })}.${real.split(".")[2]}`,
      }),
      401,
      "unknown_key",
    );
  });

  it("of a revoked participant are refused", async () => {
    const p = await admit("coordinator");
    // A coordinator's revocation takes two signatures (the helper gives the second).
    expect((await revoke(p.id, "left the network")).recordId).toBeTruthy();
    await expectProblem(
      await audit({ authorization: `Bearer ${await p.client.token()}` }),
      403,
      "participant_revoked",
    );
  });

  it("with a typ other than eusn-access+jwt are refused", async () => {
    const t = await signAccessToken(coordSigner(), env.NODE_ID, { header: { typ: "JWT" } });
    await expectProblem(await audit({ authorization: `Bearer ${t}` }), 401, "invalid_token");
    expect(ACCESS_TYP).toBe("eusn-access+jwt");
  });
});

describe("errors are problem details everywhere", () => {
  it("unknown routes", async () => {
    const p = await expectProblem(await nodeFetch(`${BASE}/v1/nothing-here`), 404, "not_found");
    expect(p.type).toBe("/problems/not_found");
  });

  it("a wrong method names the allowed ones", async () => {
    const res = await nodeFetch(`${BASE}/v1/audit`, { method: "DELETE" });
    await expectProblem(res, 405, "method_not_allowed");
    expect(res.headers.get("allow")).toContain("GET");
  });

  it("query validation lists the failing parameters", async () => {
    const res = await nodeFetch(`${BASE}/v1/audit?limit=5000`, {
      headers: { authorization: `Bearer ${await coordinator().token()}` },
    });
    const p = (await expectProblem(res, 400, "validation_failed")) as { errors?: { path: string }[] };
    expect(p.errors?.[0]?.path).toBe("/limit");
  });

  it("problem types are described by the node", async () => {
    const res = await nodeFetch(`${BASE}/problems/replayed_jti`);
    expect(await res.json()).toEqual({
      code: "replayed_jti",
      status: 409,
      title: "This jti has already been used",
    });
  });

  it("a problem type answers a human-readable page to a browser, JSON to everyone else (RFC 9457 §3.1.1)", async () => {
    const browser = await nodeFetch(`${BASE}/problems/replayed_jti`, {
      headers: { accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" },
    });
    expect(browser.status).toBe(200);
    expect(browser.headers.get("content-type")).toMatch(/^text\/html/);
    expect(browser.headers.get("vary")?.toLowerCase()).toContain("accept");
    const page = await browser.text();
    expect(page).toContain("<h1>This jti has already been used</h1>");
    expect(page).toContain("HTTP status 409");
    expect(page).toContain("Sign the record again rather than resending it");
    for (const accept of [
      "*/*",
      "application/json",
      "application/problem+json",
      "text/html;q=0.5,application/json",
    ]) {
      const res = await nodeFetch(`${BASE}/problems/replayed_jti`, { headers: { accept } });
      expect(res.headers.get("content-type"), accept).toMatch(/^application\/json/);
      await res.body?.cancel();
    }
    const unknown = await nodeFetch(`${BASE}/problems/no_such_code`, { headers: { accept: "text/html" } });
    expect(unknown.status).toBe(404);
    await unknown.body?.cancel();
  });

  it("never include stack traces", async () => {
    const res = await postJose("/v1/participants", "x.y.z");
    const text = await res.text();
    expect(text).not.toMatch(/at .*\.ts:\d+|Error:|stack/);
  });
});

// ---- attacks from outside: one signed content is one record, read as every verifier reads it ----

const utf8 = new TextEncoder();
const b64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
const fromB64url = (s: string) =>
  Uint8Array.from(atob(s.replaceAll("-", "+").replaceAll("_", "/")), (c) => c.charCodeAt(0));

/**
 * Signs exactly `headerText.payloadText` (as written, duplicate members and all) with a private
 * JWK, the way a hostile client can and jose will not.
 */
async function signRaw(privateJwk: JsonWebKey, headerText: string, payloadText: string): Promise<string> {
  const { kty, crv, x, y, d } = privateJwk;
  const okp = kty === "OKP";
  const key = await crypto.subtle.importKey(
    "jwk",
    { kty, crv, x, d, ...(y ? { y } : {}) } as JsonWebKey,
    okp ? { name: "Ed25519" } : { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["sign"],
  );
  const input = `${b64url(utf8.encode(headerText))}.${b64url(utf8.encode(payloadText))}`;
  const sig = await crypto.subtle.sign(
    okp ? { name: "Ed25519" } : { name: "ECDSA", hash: "SHA-256" },
    key,
    utf8.encode(input),
  );
  return `${input}.${b64url(new Uint8Array(sig))}`;
}

/** The order n of the P-256 group (SEC 2 §2.4.2). */
const P256_N = BigInt("0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
const toBig = (b: Uint8Array) => BigInt(`0x${[...b].map((x) => x.toString(16).padStart(2, "0")).join("")}`);
const fromBig = (n: bigint) =>
  Uint8Array.from(n.toString(16).padStart(64, "0").match(/../g)!, (h) => parseInt(h, 16));

/** The same ES256 signature with its S as low and as high (n − S): both verify. */
function bothS(jws: string): { low: string; high: string } {
  const [h, p, s] = jws.split(".") as [string, string, string];
  const sig = fromB64url(s);
  const r = sig.slice(0, 32);
  const sv = toBig(sig.slice(32));
  const low = sv > P256_N / 2n ? P256_N - sv : sv;
  const make = (v: bigint) => `${h}.${p}.${b64url(new Uint8Array([...r, ...fromBig(v)]))}`;
  return { low: make(low), high: make(P256_N - low) };
}

describe("one signed content is one record", () => {
  const claims = (o: Partial<Record<string, unknown>> = {}) => ({
    iss: env.BOOTSTRAP_COORDINATOR_ID,
    aud: env.NODE_ID,
    iat: Math.floor(Date.now() / 1000),
    jti: newJti(),
    kind: "participant.admit",
    ...o,
  });

  it("a header with a member twice (alg none first) is refused, as RFC 7515 §4 and RFC 8725 ask", async () => {
    const { publicOf } = await import("@eusn/client");
    const { kid } = await publicOf(coordSigner().privateJwk);
    const header = `{"alg":"none","alg":"EdDSA","typ":"${WRITE_TYP}","kid":"${kid}"}`;
    const jws = await signRaw(
      coordSigner().privateJwk as JsonWebKey,
      header,
      JSON.stringify({ ...claims(), record: await admitRecord() }),
    );
    const p = await refused("/v1/participants", jws, 400, "invalid_jws");
    expect(p.detail).toMatch(/"alg" more than once/);
  });

  it("a payload naming its issuer twice is refused (a first-member reader would see another issuer)", async () => {
    const { publicOf } = await import("@eusn/client");
    const { kid } = await publicOf(coordSigner().privateJwk);
    const header = JSON.stringify({ alg: "EdDSA", typ: WRITE_TYP, kid });
    const rest = JSON.stringify({ ...claims(), record: await admitRecord() }).slice(1);
    for (const name of ['"iss"', '"i\\u0073s"']) {
      const payload = `{${name}:"${authority.id}",${rest}`;
      const p = await refused(
        "/v1/participants",
        await signRaw(coordSigner().privateJwk as JsonWebKey, header, payload),
        400,
        "invalid_jws",
      );
      expect(p.detail).toMatch(/"iss" more than once/);
    }
  });

  it("a member twice deep inside the record is refused too", async () => {
    const { publicOf } = await import("@eusn/client");
    const { kid } = await publicOf(coordSigner().privateJwk);
    const header = JSON.stringify({ alg: "EdDSA", typ: WRITE_TYP, kid });
    const rec = await admitRecord();
    const body = JSON.stringify({ ...claims(), record: rec });
    const payload = body.replace('"role":"platform"', '"role":"coordinator","role":"platform"');
    expect(payload).not.toBe(body);
    await refused(
      "/v1/participants",
      await signRaw(coordSigner().privateJwk as JsonWebKey, header, payload),
      400,
      "invalid_jws",
    );
  });

  it("an ES256 signature with a high S is refused; the same content with low S is accepted once", async () => {
    const es = await admit("platform", undefined, { alg: "ES256" });
    const jws = await signWrite(
      { participantId: es.id, privateJwk: es.key.privateJwk },
      env.NODE_ID,
      "participant.key.add",
      { participantId: es.id, jwk: (await generateParticipantKey()).publicJwk },
    );
    const { low, high } = bothS(jws);
    const p = await refused(`/v1/participants/${es.id}/keys`, high, 400, "invalid_jws");
    expect(p.detail).toMatch(/low S/);
    expect((await postJose(`/v1/participants/${es.id}/keys`, low)).status).toBe(201);
  });

  it("the client signs ES256 with low S always (so honest writes are never refused for it)", async () => {
    const es = await admit("platform", undefined, { alg: "ES256" });
    for (let i = 0; i < 16; i++) {
      const jws = await signWrite(
        { participantId: es.id, privateJwk: es.key.privateJwk },
        env.NODE_ID,
        "participant.key.add",
        { participantId: es.id, jwk: (await generateParticipantKey()).publicJwk },
      );
      expect(bothS(jws).low).toBe(jws);
      const t = await es.client.token();
      expect(bothS(t).low).toBe(t);
    }
  });

  it("a signature whose last base64url character carries padding bits is refused", async () => {
    const jws = await signWrite(coordSigner(), env.NODE_ID, "participant.admit", await admitRecord());
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const last = alphabet.indexOf(jws.at(-1)!);
    // An Ed25519 signature is 64 bytes: 86 characters, the last of which carries 2 bits and 4
    // padding bits that must be zero. Setting one decodes to the same bytes.
    const twin = `${jws.slice(0, -1)}${alphabet[last | 1]}`;
    expect(twin).not.toBe(jws);
    const p = await refused("/v1/participants", twin, 400, "invalid_jws");
    expect(p.detail).toMatch(/canonical/);
    expect((await postJose("/v1/participants", jws)).status).toBe(201);
  });

  it("a body with a line break after the JWS is refused, not stored trimmed", async () => {
    const jws = await signWrite(coordSigner(), env.NODE_ID, "participant.admit", await admitRecord());
    for (const body of [`${jws}\r\n`, `${jws}\n`, ` ${jws}`]) {
      const p = await refused("/v1/participants", body, 400, "invalid_jws");
      expect(p.detail).toMatch(/exactly a compact JWS/);
    }
    const res = await postJose("/v1/participants", jws);
    expect(res.status).toBe(201);
    const receipt = (await res.json()) as { jwsSha256: string };
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", utf8.encode(jws)));
    expect(receipt.jwsSha256).toBe([...digest].map((b) => b.toString(16).padStart(2, "0")).join(""));
  });
});

describe("read tokens are judged by their whole lifetime (RFC 7519 §4.1)", () => {
  const audit = (token: string) =>
    nodeFetch(`${BASE}/v1/audit`, { headers: { authorization: `Bearer ${token}` } });
  const now = () => Math.floor(Date.now() / 1000);

  async function token(claims: Record<string, unknown>) {
    const { SignJWT, importJWK } = await import("jose");
    const { publicOf } = await import("@eusn/client");
    const signer = coordSigner();
    const { kid, alg } = await publicOf(signer.privateJwk);
    return new SignJWT({ jti: newJti(), iss: signer.participantId, aud: env.NODE_ID, ...claims })
      .setProtectedHeader({ alg, kid, typ: ACCESS_TYP })
      .sign(await importJWK(signer.privateJwk, alg));
  }

  it("a token issued in the future that would live ten minutes from now is refused", async () => {
    const t = await token({ iat: now() + 290, exp: now() + 590 });
    await expectProblem(await audit(t), 401, "invalid_token");
  });

  it("a token that expires before it is issued is refused", async () => {
    const t = await token({ iat: now() + 100, exp: now() + 50 });
    await expectProblem(await audit(t), 401, "invalid_token");
  });

  it("a token not valid before a time in the future is refused", async () => {
    const t = await token({ iat: now(), exp: now() + 240, nbf: now() + 200 });
    await expectProblem(await audit(t), 401, "invalid_token");
    const ok = await token({ iat: now(), exp: now() + 240, nbf: now() - 5 });
    expect((await audit(ok)).status).toBe(200);
  });

  it("aud as an array is accepted when it names this node, and refused when it does not", async () => {
    const ok = await token({ iat: now(), exp: now() + 120, aud: ["eusn-elsewhere", env.NODE_ID] });
    expect((await audit(ok)).status).toBe(200);
    const other = await token({ iat: now(), exp: now() + 120, aud: ["eusn-elsewhere", "eusn-third"] });
    await expectProblem(await audit(other), 401, "wrong_audience");
  });
});
