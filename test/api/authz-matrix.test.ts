// The authorization matrix: every route of the node × {anonymous, coordinator, authority,
// platform}, each cell an exact expected answer, tried with real requests (signed writes signed by
// that role's key, reads with that role's token). The routes come from the app's own OpenAPI
// document and route table, so a route added without a row here fails this test: whoever adds a
// route declares who may call it.
//
// What "allowed" means here: the request succeeds (200/201) with a body that is valid for that
// role. Every refusal is the precise problem (401 unauthenticated / unknown_key, 403 forbidden)
// and changes nothing in the database. For signed writes the role is checked after the signature
// and before the record is validated, so the refused roles' records need not be valid; an
// anonymous write is signed by a key no participant holds (401 unknown_key), an anonymous read
// carries no token (401 unauthenticated).

import { env } from "cloudflare:workers";
import {
  apiSecretHash,
  createApiCredential,
  type EusnClient,
  encryptCaseFile,
  evidenceKeys,
  generateApiSecret,
  generateEncKeyPair,
  generateParticipantKey,
  generateSelectorKey,
  memorySource,
  pseudonymise,
  signAccessToken,
  uploadCiphertext,
  wrapContentKey,
  wrapSelectorKey,
} from "@eusn/client";
import type { EncPublicJwk, Role, WriteReceipt } from "@eusn/protocol";
import type { JWK } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../workers/api/app.ts";
import { unchanged } from "../helpers/db-state.ts";
import { evidenceFixture } from "../helpers/evidence.ts";
import { pdqItem } from "../helpers/hashes.ts";
import { declare, declareRecord } from "../helpers/incidents.ts";
import { admit, BASE, coordinator, nodeFetch, secondCoordinator } from "../helpers/node.ts";
import { statementRecord } from "../helpers/statements.ts";
import {
  ACTORS,
  type Actor,
  bearerFetch,
  buildWorld,
  freshPdq,
  freshSignal,
  freshSubmission,
  idOf,
  jsonPost,
  matchedSubmission,
  signedPost,
  signerOf,
  type World,
} from "../helpers/world.ts";

type Outcome = number | readonly [number, string];
type Expectation = Record<Actor, Outcome>;
/** `prepare` makes what the request needs (a fresh submission, …) and answers the request to send. */
type Send = () => Promise<Response>;
type Case = { label: string; prepare: (a: Actor) => Promise<Send>; expect: Expectation };

const PUBLIC: Expectation = { anonymous: 200, coordinator: 200, authority: 200, platform: 200 };
const ALL_ROLES: Role[] = ["coordinator", "authority", "platform"];

/** A bearer read (or JSON POST) open to `roles`. */
function reader(roles: readonly Role[], ok = 200): Expectation {
  const out: Partial<Expectation> = { anonymous: [401, "unauthenticated"] };
  for (const r of ALL_ROLES) out[r] = roles.includes(r) ? ok : [403, "forbidden"];
  return out as Expectation;
}

/** A signed write open to `roles`. */
function writer(roles: readonly Role[], ok = 201): Expectation {
  const out: Partial<Expectation> = { anonymous: [401, "unknown_key"] };
  for (const r of ALL_ROLES) out[r] = roles.includes(r) ? ok : [403, "forbidden"];
  return out as Expectation;
}

const clientOf = (w: World, a: Actor): EusnClient =>
  a === "coordinator" ? coordinator() : a === "authority" ? w.authority.client : w.platform.client;
const now = () => Math.floor(Date.now() / 1000);
let nextKeyVersion = 2;
const TAXII = { accept: "application/taxii+json;version=2.1" };

async function platformEncKeys(): Promise<{ participantId: string; jwk: EncPublicJwk }[]> {
  const res = await coordinator().get<{ encKeys: { participantId: string; jwk: EncPublicJwk }[] }>(
    "/v1/signals/enc-keys",
  );
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
  return res.data.encKeys;
}

/** Every route, keyed "METHOD /openapi/path", with one or more cases. */
function matrix(w: World): Record<string, Case[]> {
  const get = (path: (a: Actor) => string, exp: Expectation, init?: RequestInit): Case[] => [
    { label: "", prepare: async (a) => () => bearerFetch(w, a, path(a), init), expect: exp },
  ];
  const at = (p: string) => () => p;
  const write = (exp: Expectation, prepare: (a: Actor) => Promise<Send>, label = ""): Case[] => [
    { label, prepare, expect: exp },
  ];

  return {
    // ---- public -------------------------------------------------------------------------------
    "GET /health": get(at("/health"), PUBLIC),
    "GET /.well-known/jwks.json": get(at("/.well-known/jwks.json"), PUBLIC),
    "GET /problems/{code}": get(at("/problems/rate_limited"), PUBLIC),
    "GET /v1/participants": get(at("/v1/participants"), PUBLIC),
    "GET /v1/participants/{id}": get(at(`/v1/participants/${w.authority.id}`), PUBLIC),
    "GET /v1/registry/requests": get(at("/v1/registry/requests"), PUBLIC),
    "GET /v1/stats": get(at("/v1/stats"), PUBLIC),

    // ---- registry -----------------------------------------------------------------------------
    "POST /v1/participants": write(writer(["coordinator"]), async (a) => {
      const key = await generateParticipantKey();
      return () =>
        signedPost(w, a, "/v1/participants", "participant.admit", {
          role: "platform",
          displayName: `Matrix admission by ${a}`,
          jwks: { keys: [key.publicJwk] },
        });
    }),
    "POST /v1/participants/{id}/keys": write(writer(ALL_ROLES), async (a) => {
      const key = await generateParticipantKey();
      const id = idOf(w, a);
      return () =>
        signedPost(w, a, `/v1/participants/${id}/keys`, "participant.key.add", {
          participantId: id,
          jwk: key.publicJwk,
        });
    }),
    "POST /v1/participants/{id}/keys/retire": write(writer(ALL_ROLES), async (a) => {
      const id = idOf(w, a);
      const key = await generateParticipantKey();
      if (a !== "anonymous") {
        const added = await signedPost(w, a, `/v1/participants/${id}/keys`, "participant.key.add", {
          participantId: id,
          jwk: key.publicJwk,
        });
        expect(added.status).toBe(201);
      }
      return () =>
        signedPost(w, a, `/v1/participants/${id}/keys/retire`, "participant.key.retire", {
          participantId: id,
          kid: key.kid,
          reason: "rotated",
        });
    }),
    "POST /v1/participants/{id}/revoke": write(writer(["coordinator"]), async (a) => {
      const target = (await admit("platform")).id;
      return () =>
        signedPost(w, a, `/v1/participants/${target}/revoke`, "participant.revoke", {
          participantId: target,
          reason: "matrix test",
        });
    }),
    // The second signature of an authority's admission: a coordinator other than the requester, or
    // an authority of the same member state (the world's authority is NL).
    "POST /v1/participants/{id}/countersign": write(writer(["coordinator", "authority"]), async (a) => {
      const key = await generateParticipantKey();
      const req = await (await secondCoordinator()).write<WriteReceipt>(
        "/v1/participants",
        "participant.admit",
        {
          role: "authority",
          memberState: "NL",
          displayName: `Matrix request countersigned by ${a}`,
          jwks: { keys: [key.publicJwk] },
        },
      );
      if (!req.ok) throw new Error(JSON.stringify(req.problem));
      const id = req.data.subjectId;
      return () =>
        signedPost(w, a, `/v1/participants/${id}/countersign`, "participant.countersign", {
          participantId: id,
          requestRecordId: req.data.recordId,
          action: "admit",
        });
    }),
    // Only the request's signer withdraws it: the matrix's coordinator (the bootstrap coordinator)
    // withdraws its own request; every other role is refused by role.
    "POST /v1/participants/{id}/requests/withdraw": write(writer(["coordinator"]), async (a) => {
      const key = await generateParticipantKey();
      const req = await coordinator().write<WriteReceipt>("/v1/participants", "participant.admit", {
        role: "authority",
        memberState: "NL",
        displayName: `Matrix request withdrawn by ${a}`,
        jwks: { keys: [key.publicJwk] },
      });
      if (!req.ok) throw new Error(JSON.stringify(req.problem));
      const id = req.data.subjectId;
      return () =>
        signedPost(w, a, `/v1/participants/${id}/requests/withdraw`, "participant.request.withdraw", {
          participantId: id,
          requestRecordId: req.data.recordId,
          action: "admit",
        });
    }),
    "POST /v1/participants/{id}/api-credentials": write(writer(ALL_ROLES), async (a) => {
      const id = idOf(w, a);
      const secretSha256 = await apiSecretHash(generateApiSecret());
      return () =>
        signedPost(w, a, `/v1/participants/${id}/api-credentials`, "participant.apicred.set", {
          participantId: id,
          label: "matrix",
          secretSha256,
        });
    }),
    "POST /v1/participants/{id}/api-credentials/revoke": write(writer(ALL_ROLES), async (a) => {
      const id = idOf(w, a);
      let credentialId = "apc_01zzzzzzzzzzzzzzzzzzzzzzzz";
      if (a !== "anonymous") {
        const c = await createApiCredential(clientOf(w, a), { label: "to revoke" });
        if (!c.ok) throw new Error(JSON.stringify(c.problem));
        credentialId = c.data.credentialId;
      }
      return () =>
        signedPost(w, a, `/v1/participants/${id}/api-credentials/revoke`, "participant.apicred.revoke", {
          participantId: id,
          credentialId,
        });
    }),
    "GET /v1/participants/{id}/api-credentials": get(
      (a) => `/v1/participants/${idOf(w, a)}/api-credentials`,
      reader(ALL_ROLES),
    ),

    "GET /v1/whoami": get(at("/v1/whoami"), reader(ALL_ROLES)),

    // ---- audit --------------------------------------------------------------------------------
    "GET /v1/audit": get(at("/v1/audit"), reader(["coordinator"])),
    "GET /v1/audit/facets": get(at("/v1/audit/facets"), reader(["coordinator"])),
    // A registry record (readable by every participant): which kinds each role may read is the
    // read policy's, tested in test/api/record-access.security.test.ts.
    "GET /v1/records/{id}": get(at(`/v1/records/${w.authority.receipt.recordId}`), reader(ALL_ROLES)),

    // ---- submissions and the baseline -----------------------------------------------------------
    "POST /v1/submissions": write(
      writer(["authority"]),
      async (a) => () =>
        signedPost(w, a, "/v1/submissions", "submission.create", { items: [pdqItem(freshPdq())] }),
    ),
    "GET /v1/submissions": get(at("/v1/submissions"), reader(["authority", "coordinator"])),
    "GET /v1/submissions/{id}": get(
      at(`/v1/submissions/${w.included.id}`),
      reader(["authority", "coordinator"]),
    ),
    "POST /v1/submissions/{id}/assessments": write(writer(["authority"]), async (a) => {
      // Submitted by the other authority (DE): the NL authority may assess it.
      const { id } = await freshSubmission(w.authority2);
      return () =>
        signedPost(w, a, `/v1/submissions/${id}/assessments`, "assessment.create", {
          submissionId: id,
          verdict: "concur",
          limb: "a",
        });
    }),
    "POST /v1/submissions/{id}/decisions": write(writer(["coordinator"]), async (a) => {
      const { id } = await freshSubmission(w.authority);
      return () =>
        signedPost(w, a, `/v1/submissions/${id}/decisions`, "baseline.decide", {
          submissionId: id,
          decision: "exclude",
          reason: "matrix test",
        });
    }),
    "POST /v1/assessments": write(writer(["authority"]), async (a) => {
      const { id } = await freshSubmission(w.authority2);
      return () =>
        signedPost(w, a, "/v1/assessments", "assessment.batch", {
          items: [{ submissionId: id, verdict: "concur", limb: "a" }],
        });
    }),
    "POST /v1/baseline/decisions": write(writer(["coordinator"]), async (a) => {
      const { id } = await freshSubmission(w.authority);
      return () =>
        signedPost(w, a, "/v1/baseline/decisions", "baseline.decide.batch", {
          decision: "exclude",
          reason: "matrix test",
          items: [{ submissionId: id }],
        });
    }),
    "POST /v1/submissions/{id}/withdraw": write(writer(["authority"]), async (a) => {
      const { id } = await freshSubmission(w.authority);
      return () =>
        signedPost(w, a, `/v1/submissions/${id}/withdraw`, "submission.withdraw", {
          submissionId: id,
          reason: "entered in error",
        });
    }),
    "POST /v1/submissions/{id}/reverse": write(writer(["coordinator"]), async (a) => {
      const { id } = await freshSubmission(w.authority);
      return () =>
        signedPost(w, a, `/v1/submissions/${id}/reverse`, "submission.reverse", {
          submissionId: id,
          ground: "error",
          reason: "matrix test",
        });
    }),
    "POST /v1/submissions/{id}/feedback": write(writer(["platform"]), async (a) => {
      const id = await matchedSubmission(w);
      return () =>
        signedPost(w, a, `/v1/submissions/${id}/feedback`, "feedback.create", {
          submissionId: id,
          outcome: "true_positive",
        });
    }),
    "GET /v1/curation": get(at("/v1/curation?queue=eligible"), reader(["coordinator"])),
    "GET /v1/baseline": get(at("/v1/baseline"), reader(ALL_ROLES)),
    "GET /v1/baseline/snapshot": get(at("/v1/baseline/snapshot"), reader(ALL_ROLES)),
    "GET /v1/baseline/export": get(at("/v1/baseline/export?format=jsonl"), reader(ALL_ROLES)),
    "GET /v1/reversals": get(at("/v1/reversals"), reader(["platform"])),
    "GET /v1/stats/weekly": get(at("/v1/stats/weekly"), PUBLIC),
    "GET /v1/stats/submissions/{id}": get(
      at(`/v1/stats/submissions/${w.included.id}`),
      reader(["coordinator"]),
    ),

    // ---- matching -----------------------------------------------------------------------------
    "GET /v1/review": get(at("/v1/review"), reader(["platform"])),
    "GET /v1/review/export": get(at("/v1/review/export"), reader(["platform"])),
    "POST /v1/match": [
      {
        label: "",
        prepare: async (a) => () =>
          jsonPost(w, a, "/v1/match", { items: [{ type: "pdq", value: w.included.value }] }),
        expect: reader(["platform"]),
      },
    ],
    "GET /v1/match/stats": get(at("/v1/match/stats"), reader(["coordinator"])),

    // ---- webhooks -----------------------------------------------------------------------------
    // Registered by anyone for itself (the receiver policy is tested in webhooks.security.test.ts).
    "POST /v1/webhooks": write(
      writer(ALL_ROLES),
      async (a) => () =>
        signedPost(w, a, "/v1/webhooks", "webhook.register", {
          participantId: idOf(w, a),
          url: `https://hooks.example.com/${a}/${Math.floor(Math.random() * 1e9)}`,
          events: ["entry.reversed"],
        }),
    ),
    "GET /v1/webhooks": get(at("/v1/webhooks"), reader(ALL_ROLES)),
    "POST /v1/webhooks/{id}/remove": write(writer(ALL_ROLES), async (a) => {
      // Each allowed role removes a webhook of its own, made just before.
      let id = "whk_01zzzzzzzzzzzzzzzzzzzzzzzz";
      if (a !== "anonymous") {
        const res = await signedPost(w, a, "/v1/webhooks", "webhook.register", {
          participantId: idOf(w, a),
          url: `https://hooks.example.com/rm/${a}/${Math.floor(Math.random() * 1e9)}`,
          events: ["entry.reversed"],
        });
        if (res.status !== 201) throw new Error(`webhook for ${a}: ${res.status} ${await res.text()}`);
        id = ((await res.json()) as WriteReceipt).subjectId;
      }
      return () =>
        signedPost(w, a, `/v1/webhooks/${id}/remove`, "webhook.remove", {
          participantId: idOf(w, a),
          webhookId: id,
        });
    }),
    "GET /v1/webhooks/{id}/deliveries": [
      {
        label: "",
        // Each role reads the deliveries of a webhook of its own (another's is 404, tested in
        // webhooks.security.test.ts).
        prepare: async (a) => {
          let id = "whk_01zzzzzzzzzzzzzzzzzzzzzzzz";
          if (a !== "anonymous") {
            const res = await signedPost(w, a, "/v1/webhooks", "webhook.register", {
              participantId: idOf(w, a),
              url: `https://hooks.example.com/d/${a}/${Math.floor(Math.random() * 1e9)}`,
              events: ["entry.reversed"],
            });
            id = ((await res.json()) as WriteReceipt).subjectId;
          }
          return () => bearerFetch(w, a, `/v1/webhooks/${id}/deliveries`);
        },
        expect: reader(ALL_ROLES),
      },
    ],
    // ---- case files ---------------------------------------------------------------------------
    "POST /v1/evidence/keys": write(writer(["authority", "coordinator"]), async (a) => {
      const enc = await generateEncKeyPair();
      return () =>
        signedPost(w, a, "/v1/evidence/keys", "evidence.enckey.set", {
          participantId: idOf(w, a),
          jwk: enc.publicJwk,
        });
    }),
    "GET /v1/evidence/keys": get(at("/v1/evidence/keys"), reader(["authority", "coordinator"])),
    "POST /v1/evidence/uploads": write(reader(["authority"], 201), async (a) => {
      const sub = await freshSubmission(w.authority);
      return () =>
        jsonPost(w, a, "/v1/evidence/uploads", {
          submissionId: sub.id,
          mediaClass: "image",
          size: 100,
          sha256: "ab".repeat(32),
        });
    }),
    "GET /v1/evidence/uploads/{id}": write(reader(["authority"]), async (a) => {
      const f = await evidenceFixture(w);
      return () => bearerFetch(w, a, `/v1/evidence/uploads/${f.uploadId}`);
    }),
    "PUT /v1/evidence/uploads/{id}/parts/{n}": write(reader(["authority"]), async (a) => {
      const f = await evidenceFixture(w);
      return () =>
        bearerFetch(w, a, `/v1/evidence/uploads/${f.uploadId}/parts/1`, {
          method: "PUT",
          headers: { "content-type": "application/octet-stream" },
          body: f.part as BodyInit,
        });
    }),
    "POST /v1/evidence/uploads/{id}/complete": write(reader(["authority"]), async (a) => {
      const f = await evidenceFixture(w);
      return () => bearerFetch(w, a, `/v1/evidence/uploads/${f.uploadId}/complete`, { method: "POST" });
    }),
    "POST /v1/evidence": write(writer(["authority"]), async (a) => {
      const f = await evidenceFixture(w);
      const sub = await freshSubmission(w.authority);
      const e = await encryptCaseFile(new TextEncoder().encode(`matrix ${a}`), { mediaType: "image/png" });
      if (a === "authority")
        await uploadCiphertext(w.authority.client, {
          submissionId: sub.id,
          mediaClass: "image",
          source: memorySource(e.ciphertext, e.sha256),
        });
      const me = w.authority.id;
      const wrap = await wrapContentKey(e.key, e.sha256, {
        participantId: me,
        jwk: f.keys.get(me)!.publicJwk as JWK,
      });
      return () =>
        signedPost(w, a, "/v1/evidence", "evidence.create", {
          submissionId: sub.id,
          mediaClass: "image",
          ciphertext: { sha256: e.sha256, size: e.ciphertext.byteLength },
          recipients: [wrap],
        });
    }),
    "GET /v1/evidence": get(at("/v1/evidence"), reader(["authority", "coordinator"])),
    "GET /v1/evidence/{id}": write(reader(["authority", "coordinator"]), async (a) => {
      const f = await evidenceFixture(w);
      return () => bearerFetch(w, a, `/v1/evidence/${f.caseFileId}`);
    }),
    "GET /v1/evidence/{id}/content": write(reader(["authority", "coordinator"]), async (a) => {
      const f = await evidenceFixture(w);
      return () => bearerFetch(w, a, `/v1/evidence/${f.caseFileId}/content`);
    }),
    // Only its submitter sees who opened a case file; for a coordinator it does not exist.
    "GET /v1/evidence/{id}/opens": write(
      { ...reader(["authority"]), coordinator: [404, "not_found"] },
      async (a) => {
        const f = await evidenceFixture(w);
        return () => bearerFetch(w, a, `/v1/evidence/${f.caseFileId}/opens`);
      },
    ),
    "POST /v1/evidence/{id}/wraps": write(writer(["authority"]), async (a) => {
      const f = await evidenceFixture(w);
      const current = (await evidenceKeys(w.authority.client)).find(
        (k) => k.participantId === w.authority.id,
      )!;
      const wrap = await wrapContentKey(f.contentKey, f.sha256, {
        participantId: w.authority.id,
        jwk: current.jwk as JWK,
      });
      return () =>
        signedPost(w, a, `/v1/evidence/${f.caseFileId}/wraps`, "evidence.rewrap", {
          caseFileId: f.caseFileId,
          recipients: [wrap],
        });
    }),

    // ---- migration signals --------------------------------------------------------------------
    "POST /v1/signals/enc-keys": write(writer(["platform"]), async (a) => {
      const enc = await generateEncKeyPair();
      return () =>
        signedPost(w, a, "/v1/signals/enc-keys", "signal.enckey.set", {
          participantId: idOf(w, a),
          jwk: enc.publicJwk,
        });
    }),
    "GET /v1/signals/enc-keys": get(at("/v1/signals/enc-keys"), reader(["coordinator"])),
    "POST /v1/signals/keys": write(
      writer(["coordinator"]),
      async (a) => () =>
        signedPost(w, a, "/v1/signals/keys", "signal.key.publish", {
          version: nextKeyVersion++,
          validFrom: now() - 60,
          validUntil: now() + 30 * 86400,
          wrapped: [],
        }),
    ),
    "GET /v1/signals/keys": get(at("/v1/signals/keys"), reader(["platform", "coordinator"])),
    "POST /v1/signals/keys/{version}/grants": write(writer(["coordinator"]), async (a) => {
      const mine = (await platformEncKeys()).find((e) => e.participantId === w.platform.id)!;
      const key = a === "coordinator" ? w.selectorKey : { version: 1, key: generateSelectorKey() };
      const wrapped = [await wrapSelectorKey(key, mine)];
      return () => signedPost(w, a, "/v1/signals/keys/1/grants", "signal.key.grant", { version: 1, wrapped });
    }),
    "POST /v1/signals": write(writer(["platform"]), async (a) => {
      const p = await pseudonymise(w.selectorKey, "handle", `@matrix_${a}`);
      if (!p.ok) throw new Error(p.reason);
      return () =>
        signedPost(w, a, "/v1/signals", "signal.create", {
          kind: "account_removed",
          keyVersion: 1,
          selectors: [p.pseudonym],
          reason: { tcoLimb: "c" },
        });
    }),
    "POST /v1/signals/lookup": [
      {
        label: "",
        prepare: async (a) => () => jsonPost(w, a, "/v1/signals/lookup", { urls: ["https://t.me/matrix"] }),
        expect: reader(["platform"]),
      },
    ],
    "GET /v1/signals/targeted": get(at("/v1/signals/targeted"), reader(["platform"])),
    "GET /v1/signals/reversals": get(at("/v1/signals/reversals"), reader(["platform", "coordinator"])),
    "GET /v1/signals/{id}": get(at(`/v1/signals/${w.signalId}`), reader(["platform", "coordinator"])),
    "POST /v1/signals/{id}/retract": write(writer(["platform"]), async (a) => {
      const id = await freshSignal(w);
      return () =>
        signedPost(w, a, `/v1/signals/${id}/retract`, "signal.retract", { signalId: id, reason: "matrix" });
    }),
    "POST /v1/signals/{id}/reverse": write(writer(["coordinator"]), async (a) => {
      const id = await freshSignal(w);
      return () =>
        signedPost(w, a, `/v1/signals/${id}/reverse`, "signal.reverse", {
          signalId: id,
          ground: "error",
          reason: "matrix test",
        });
    }),

    // ---- transparency log (checkpoints and proofs public; entries for participants) ------------
    "GET /v1/log/checkpoint": get(at("/v1/log/checkpoint"), PUBLIC),
    "GET /v1/log/inclusion": get(at("/v1/log/inclusion?index=0"), PUBLIC),
    "GET /v1/log/consistency": get(at("/v1/log/consistency?first=1"), PUBLIC),
    "GET /v1/log/entries": get(at("/v1/log/entries?start=0&limit=5"), reader(ALL_ROLES)),

    // ---- federation (this world has no peers: a pull reports nothing) -------------------------
    "POST /v1/federation/pull": [
      {
        label: "",
        prepare: async (a) => () => jsonPost(w, a, "/v1/federation/pull", {}),
        expect: reader(["coordinator"]),
      },
    ],
    "GET /v1/federation/peers": get(at("/v1/federation/peers"), reader(["coordinator"])),

    // ---- accountability -------------------------------------------------------------------------
    "POST /v1/statements": write(writer(["platform"]), async (a) => {
      const id = await matchedSubmission(w);
      return () =>
        signedPost(w, a, "/v1/statements", "statement.create", statementRecord(id, "matrix-post-1"));
    }),
    "GET /v1/statements": get(at("/v1/statements?affected=true"), reader(["platform"])),
    "GET /v1/reports/tco": get(
      at(`/v1/reports/tco?year=${new Date().getUTCFullYear()}`),
      reader(["authority", "coordinator"]),
    ),
    "GET /v1/statements/{id}": [
      {
        label: "",
        prepare: async (a) => {
          const id = await matchedSubmission(w);
          const made = await signedPost(
            w,
            "platform",
            "/v1/statements",
            "statement.create",
            statementRecord(id, "matrix-post-1"),
          );
          expect(made.status).toBe(201);
          const { statement } = (await made.json()) as { statement: { id: string } };
          return () => bearerFetch(w, a, `/v1/statements/${statement.id}`);
        },
        expect: reader(["platform"]),
      },
    ],

    // ---- crisis incidents (writes: coordinators; reads: every participant; summary: public) -----
    "POST /v1/incidents": write(
      writer(["coordinator"]),
      async (a) => () =>
        signedPost(
          w,
          a,
          "/v1/incidents",
          "incident.declare",
          declareRecord({ title: `Matrix drill by ${a}` }),
        ),
    ),
    "POST /v1/incidents/{id}/extend": write(writer(["coordinator"]), async (a) => {
      const inc = await declare();
      return () =>
        signedPost(w, a, `/v1/incidents/${inc.id}/extend`, "incident.extend", {
          incidentId: inc.id,
          endsAt: new Date(Date.parse(inc.endsAt) + 3600_000).toISOString(),
          reason: "matrix extension",
        });
    }),
    "POST /v1/incidents/{id}/close": write(writer(["coordinator"]), async (a) => {
      const inc = await declare();
      return () =>
        signedPost(w, a, `/v1/incidents/${inc.id}/close`, "incident.close", {
          incidentId: inc.id,
          reason: "matrix close",
        });
    }),
    "GET /v1/incidents": get(at("/v1/incidents"), reader(ALL_ROLES)),
    "GET /v1/incidents/{id}": get(() => `/v1/incidents/${incidentId}`, reader(ALL_ROLES)),
    "GET /v1/incidents/{id}/hashes": get(() => `/v1/incidents/${incidentId}/hashes`, reader(ALL_ROLES)),
    "GET /v1/incidents/{id}/report": get(() => `/v1/incidents/${incidentId}/report`, reader(["coordinator"])),
    "GET /v1/incidents/{id}/summary": get(() => `/v1/incidents/${incidentId}/summary`, PUBLIC),

    // ---- TAXII 2.1 (bearer here; Basic credentials are covered by the TAXII tests) -------------
    "GET /taxii2/": get(at("/taxii2/"), reader(ALL_ROLES), { headers: TAXII }),
    "GET /taxii2/eusn/": get(at("/taxii2/eusn/"), reader(ALL_ROLES), { headers: TAXII }),
    "GET /taxii2/eusn/collections/": get(at("/taxii2/eusn/collections/"), reader(ALL_ROLES), {
      headers: TAXII,
    }),
    "GET /taxii2/eusn/collections/{id}/": get(at("/taxii2/eusn/collections/baseline/"), reader(ALL_ROLES), {
      headers: TAXII,
    }),
    "GET /taxii2/eusn/collections/{id}/objects/": [
      ...get(at("/taxii2/eusn/collections/baseline/objects/"), reader(ALL_ROLES), { headers: TAXII }),
      {
        label: "submissions collection",
        prepare: async (a) => () =>
          bearerFetch(w, a, "/taxii2/eusn/collections/submissions/objects/", { headers: TAXII }),
        expect: reader(["coordinator", "authority"]),
      },
    ],
    "GET /taxii2/eusn/collections/{id}/manifest/": [
      ...get(at("/taxii2/eusn/collections/baseline/manifest/"), reader(ALL_ROLES), { headers: TAXII }),
      {
        label: "submissions collection",
        prepare: async (a) => () =>
          bearerFetch(w, a, "/taxii2/eusn/collections/submissions/manifest/", { headers: TAXII }),
        expect: reader(["coordinator", "authority"]),
      },
    ],
    "GET /taxii2/eusn/collections/{id}/objects/{objectId}/": get(
      at(`/taxii2/eusn/collections/baseline/objects/${w.stixId}/`),
      reader(ALL_ROLES),
      { headers: TAXII },
    ),
    "GET /taxii2/eusn/collections/{id}/objects/{objectId}/versions/": get(
      at(`/taxii2/eusn/collections/baseline/objects/${w.stixId}/versions/`),
      reader(ALL_ROLES),
      { headers: TAXII },
    ),
  };
}

/**
 * Routes outside the OpenAPI document (pages and the document itself). The console's pages are
 * public shells: everything they show or change goes through the API above, signed in the
 * browser with the participant's own key, so they add no way around this matrix.
 */
const NON_OPENAPI: { pattern: RegExp; why: string; probe?: string; status?: number }[] = [
  { pattern: /^GET \/openapi\.json$/, why: "the API description, public", probe: "/openapi.json" },
  { pattern: /^GET \/docs$/, why: "the API reference page, public", probe: "/docs" },
  { pattern: /^GET \/console(\/.*)?$/, why: "console page shells, public", probe: "/console" },
  { pattern: /^GET \/$/, why: "redirects to the console", probe: "/", status: 302 },
];

async function check(res: Response, exp: Outcome, label: string) {
  const [status, code] = typeof exp === "number" ? [exp, undefined] : exp;
  const text = await res.text();
  expect(res.status, `${label}: ${text.slice(0, 400)}`).toBe(status);
  const type = res.headers.get("content-type") ?? "";
  if (code) {
    // Problems are application/problem+json; TAXII answers its errors in its own media type.
    expect(type, label).toMatch(/^application\/(problem\+json|taxii\+json)/);
    expect((JSON.parse(text) as { code?: string }).code, label).toBe(code);
  } else {
    expect(type, label).not.toContain("problem");
  }
}

let w: World;
/** A public incident every incident read is tried on. */
let incidentId: string;
beforeAll(async () => {
  w = await buildWorld();
  incidentId = (await declare({ public: true })).id;
}, 120_000);

describe("authorization matrix", () => {
  it("declares every route of the OpenAPI document, and nothing that is not a route", async () => {
    const doc = (await (await nodeFetch(`${BASE}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const routes = Object.entries(doc.paths).flatMap(([p, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`),
    );
    const declared = Object.keys(matrix(w));
    const missing = routes.filter((r) => !declared.includes(r));
    expect(
      missing,
      "routes without an authorization-matrix row (add one to test/api/authz-matrix.test.ts)",
    ).toEqual([]);
    expect(
      declared.filter((d) => !routes.includes(d)),
      "matrix rows for routes that do not exist",
    ).toEqual([]);
  });

  it("declares every route outside the OpenAPI document", async () => {
    const doc = (await (await nodeFetch(`${BASE}/openapi.json`)).json()) as {
      paths: Record<string, unknown>;
    };
    const documented = new Set(Object.keys(doc.paths).map((p) => p.replace(/\{([^}]+)\}/g, ":$1")));
    const undocumented = createApp()
      .routes.filter((r) => r.method !== "ALL" && !documented.has(r.path))
      .map((r) => `${r.method} ${r.path}`);
    const unknown = [...new Set(undocumented)].filter((r) => !NON_OPENAPI.some((n) => n.pattern.test(r)));
    expect(unknown, "routes that are neither in the OpenAPI document nor declared in NON_OPENAPI").toEqual(
      [],
    );
    for (const n of NON_OPENAPI) {
      const res = await nodeFetch(`${BASE}${n.probe}`, { redirect: "manual" });
      expect(res.status, `${n.probe} (${n.why})`).toBe(n.status ?? 200);
      await res.body?.cancel();
    }
  });

  const rows = () => Object.entries(matrix(w));
  // One test per route (names are fixed here; the cases need the world built in beforeAll).
  const ROUTES = [
    "GET /health",
    "GET /.well-known/jwks.json",
    "GET /problems/{code}",
    "GET /v1/participants",
    "GET /v1/participants/{id}",
    "GET /v1/registry/requests",
    "GET /v1/stats",
    "GET /v1/stats/weekly",
    "POST /v1/participants",
    "POST /v1/participants/{id}/keys",
    "POST /v1/participants/{id}/keys/retire",
    "POST /v1/participants/{id}/revoke",
    "POST /v1/participants/{id}/countersign",
    "POST /v1/participants/{id}/requests/withdraw",
    "POST /v1/participants/{id}/api-credentials",
    "POST /v1/participants/{id}/api-credentials/revoke",
    "GET /v1/participants/{id}/api-credentials",
    "GET /v1/whoami",
    "GET /v1/audit",
    "GET /v1/audit/facets",
    "GET /v1/records/{id}",
    "POST /v1/submissions",
    "GET /v1/submissions",
    "GET /v1/submissions/{id}",
    "POST /v1/submissions/{id}/assessments",
    "POST /v1/submissions/{id}/decisions",
    "POST /v1/assessments",
    "POST /v1/baseline/decisions",
    "POST /v1/submissions/{id}/withdraw",
    "POST /v1/submissions/{id}/reverse",
    "POST /v1/submissions/{id}/feedback",
    "GET /v1/curation",
    "GET /v1/baseline",
    "GET /v1/baseline/snapshot",
    "GET /v1/baseline/export",
    "GET /v1/reversals",
    "GET /v1/stats/submissions/{id}",
    "POST /v1/match",
    "GET /v1/match/stats",
    "GET /v1/review",
    "GET /v1/review/export",
    "POST /v1/webhooks",
    "GET /v1/webhooks",
    "POST /v1/webhooks/{id}/remove",
    "GET /v1/webhooks/{id}/deliveries",
    "POST /v1/evidence/keys",
    "GET /v1/evidence/keys",
    "POST /v1/evidence/uploads",
    "GET /v1/evidence/uploads/{id}",
    "PUT /v1/evidence/uploads/{id}/parts/{n}",
    "POST /v1/evidence/uploads/{id}/complete",
    "POST /v1/evidence",
    "GET /v1/evidence",
    "GET /v1/evidence/{id}",
    "GET /v1/evidence/{id}/content",
    "GET /v1/evidence/{id}/opens",
    "POST /v1/evidence/{id}/wraps",
    "POST /v1/signals/enc-keys",
    "GET /v1/signals/enc-keys",
    "POST /v1/signals/keys",
    "GET /v1/signals/keys",
    "POST /v1/signals/keys/{version}/grants",
    "POST /v1/signals",
    "POST /v1/signals/lookup",
    "GET /v1/signals/targeted",
    "GET /v1/signals/reversals",
    "GET /v1/signals/{id}",
    "POST /v1/signals/{id}/retract",
    "POST /v1/signals/{id}/reverse",
    "GET /v1/log/checkpoint",
    "GET /v1/log/inclusion",
    "GET /v1/log/consistency",
    "GET /v1/log/entries",
    "POST /v1/federation/pull",
    "GET /v1/federation/peers",
    "POST /v1/statements",
    "GET /v1/statements",
    "GET /v1/statements/{id}",
    "GET /v1/reports/tco",
    "POST /v1/incidents",
    "POST /v1/incidents/{id}/extend",
    "POST /v1/incidents/{id}/close",
    "GET /v1/incidents",
    "GET /v1/incidents/{id}",
    "GET /v1/incidents/{id}/hashes",
    "GET /v1/incidents/{id}/report",
    "GET /v1/incidents/{id}/summary",
    "GET /taxii2/",
    "GET /taxii2/eusn/",
    "GET /taxii2/eusn/collections/",
    "GET /taxii2/eusn/collections/{id}/",
    "GET /taxii2/eusn/collections/{id}/objects/",
    "GET /taxii2/eusn/collections/{id}/manifest/",
    "GET /taxii2/eusn/collections/{id}/objects/{objectId}/",
    "GET /taxii2/eusn/collections/{id}/objects/{objectId}/versions/",
  ];

  it("lists the same routes in ROUTES as in the matrix", () => {
    expect([...ROUTES].sort()).toEqual(
      rows()
        .map(([k]) => k)
        .sort(),
    );
  });

  it.each(ROUTES)("%s", async (route) => {
    const cases = matrix(w)[route];
    expect(cases, route).toBeDefined();
    for (const c of cases!) {
      for (const actor of ACTORS) {
        const exp = c.expect[actor];
        const label = `${route}${c.label ? ` (${c.label})` : ""} as ${actor}`;
        const allowed = typeof exp === "number";
        const send = await c.prepare(actor);
        const res = allowed ? await send() : await unchanged(send, label);
        await check(res, exp, label);
      }
    }
  });

  it("a token of a role is not a token of another: a participant cannot claim another's id", async () => {
    // The platform signs a token naming the coordinator as issuer under its own kid: the kid is
    // not one of the coordinator's keys, so it is refused (never read as the coordinator).
    const forged = await signAccessToken(
      { participantId: env.BOOTSTRAP_COORDINATOR_ID, privateJwk: signerOf(w, "platform").privateJwk },
      env.NODE_ID,
    );
    const res = await nodeFetch(`${BASE}/v1/audit`, { headers: { authorization: `Bearer ${forged}` } });
    await check(res, [401, "unknown_key"], "forged coordinator token");
  });
});
