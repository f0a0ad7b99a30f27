// The hostile-input battery: every endpoint of the node's OpenAPI document gets the attacks that
// fit it, and each must answer a clear, exact problem and leave every table (and the audit
// trail, and every AUTOINCREMENT counter) as it was.
//
// - signed writes (application/jose): malformed and oversized bodies, the JWS attacks (alg none,
//   HMAC confusion, tampered payload / header / signature, unknown or borrowed kid, key of
//   another participant, embedded keys, crit), claims from the future and the past, another
//   node's aud, a replayed jti, a JWS for another kind, and records with wrong types, huge
//   numbers, deep nesting, unicode edge cases, invalid ids and SQL-looking strings;
// - JSON bodies (match, signal lookup): malformed, wrong media type, oversized, oversized
//   batches, deep nesting, prototype keys, huge numbers, invalid hex, unicode, SQL;
// - every bearer route: forged, tampered, expired, future, foreign, revoked and oversized tokens;
// - every path and query parameter: SQL-looking, unicode, overlong and out-of-range values.
//
// The routes come from /openapi.json, so a new endpoint is attacked without anyone adding it
// here; what cannot be derived (a schema-valid record of each kind, a valid JSON body, how to
// fill a path parameter) is declared below, and a missing declaration fails the battery.
// signed-writes.security.test.ts checks the same JWS rules in depth on one endpoint; this file
// checks that every endpoint applies them.

import { env } from "cloudflare:workers";
import {
  generateEncKeyPair,
  generateParticipantKey,
  importPrivate,
  newJti,
  publicOf,
  type Signer,
  signAccessToken,
  signWrite,
} from "@eusn/client";
import { ACCESS_TYP, MAX_BODY_BYTES, type Problem, WRITE_TYP } from "@eusn/protocol";
import { CompactSign } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { allTables, dbState, unchanged } from "../helpers/db-state.ts";
import { type EvidenceFixture, evidenceFixture } from "../helpers/evidence.ts";
import { pdqItem } from "../helpers/hashes.ts";
import { declare, declareRecord } from "../helpers/incidents.ts";
import { admit, BASE, coordinator, countersign, nodeFetch } from "../helpers/node.ts";
import { randomPseudonym } from "../helpers/signals.ts";
import { statementRecord } from "../helpers/statements.ts";
import { type Actor, buildWorld, freshPdq, signerOf, type World } from "../helpers/world.ts";

// ---- the routes, from the OpenAPI document -----------------------------------------------------

type Param = { in: string; name: string; required?: boolean; schema?: Record<string, unknown> };
type Operation = {
  security?: unknown[];
  parameters?: Param[];
  requestBody?: { description?: string; content?: Record<string, unknown> };
};
type Route = { key: string; method: string; path: string; op: Operation };

/** Each endpoint sends dozens of requests; the machine running CI may be slow. */
const SLOW = 180_000;

// Read at load time (no database needed), so each endpoint gets its own named test.
const openapi = (await (await nodeFetch(`${BASE}/openapi.json`)).json()) as {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Record<string, unknown>> };
};
const schemas = openapi.components.schemas;
const routes: Route[] = Object.entries(openapi.paths).flatMap(([path, ops]) =>
  Object.entries(ops).map(([m, op]) => ({
    key: `${m.toUpperCase()} ${path}`,
    method: m.toUpperCase(),
    path,
    op,
  })),
);

const isWrite = (r: Route) => !!r.op.requestBody?.content?.["application/jose"];
const isJson = (r: Route) => !!r.op.requestBody?.content?.["application/json"];
const isBinary = (r: Route) => !!r.op.requestBody?.content?.["application/octet-stream"];
const isBearer = (r: Route) => (r.op.security?.length ?? 0) > 0;
const isTaxii = (r: Route) => r.path.startsWith("/taxii2/");
const kindOf = (r: Route) => /kind: "([a-z.]+)"/.exec(r.op.requestBody?.description ?? "")?.[1];

function resolve(schema: Record<string, unknown> | undefined): Record<string, unknown> {
  const ref = schema?.$ref;
  if (typeof ref === "string") return resolve(schemas[ref.split("/").pop()!]);
  return schema ?? {};
}

// ---- how the cases run --------------------------------------------------------------------------
//
// Every request an attack sends is wrapped in unchanged(): the whole database is read before it
// is sent and after its answer, and must be equal. The attacks of one endpoint run in order; the
// endpoints of the signed-write, JSON-body and bearer batteries run side by side (vitest runs
// consecutive concurrent suites as one group, at most `maxConcurrency` tests at once), which is
// where most of this file's time went: each case waited on D1 and the Worker in turn.
// Running them side by side weakens nothing: a refusal that wrongly writes still does so between
// its own two reads and fails its own case (a neighbour's case may fail too). So nothing that
// writes may run in that group: the only requests outside unchanged() (building the world,
// finding each route's reader) run before or after it, and the parameter battery, which finds
// its readers first, runs as its own group after it, then the one case that stores data, alone.

// ---- the world ---------------------------------------------------------------------------------

let w: World;
let revoked: Signer;
let retired: Signer;
/** A statement of reasons made by the world's platform. */
let statementId: string;
/** A webhook of the world's platform (for /v1/webhooks/{id}/…). */
let webhookId: string;
/** A case file and an open upload of the world's authority (test/helpers/evidence.ts). */
let evd: EvidenceFixture;
/** A public, active incident (its reads and writes are attacked like every other route's). */
let incidentId: string;
/** A jti each actor has already used for an accepted record. */
const usedJti = new Map<string, string>();

beforeAll(async () => {
  w = await buildWorld();
  for (const a of ["coordinator", "authority", "platform"] as const) {
    const id = signerOf(w, a).participantId;
    const row = await env.DB.prepare("SELECT jti FROM records WHERE issuer = ? LIMIT 1")
      .bind(id)
      .first<{ jti: string }>();
    if (!row) throw new Error(`${a} has no accepted record`);
    usedJti.set(id, row.jti);
  }
  // A participant that was revoked, and a key that was retired.
  const gone = await admit("platform");
  const res = await coordinator().write(`/v1/participants/${gone.id}/revoke`, "participant.revoke", {
    participantId: gone.id,
    reason: "left the network",
  });
  expect(res.status).toBe(201);
  revoked = { participantId: gone.id, privateJwk: gone.key.privateJwk };
  const rotating = await admit("platform");
  const next = await generateParticipantKey();
  expect(
    (
      await rotating.client.write(`/v1/participants/${rotating.id}/keys`, "participant.key.add", {
        participantId: rotating.id,
        jwk: next.publicJwk,
      })
    ).status,
  ).toBe(201);
  expect(
    (
      await rotating.client.write(`/v1/participants/${rotating.id}/keys/retire`, "participant.key.retire", {
        participantId: rotating.id,
        kid: rotating.key.kid,
      })
    ).status,
  ).toBe(201);
  retired = { participantId: rotating.id, privateJwk: rotating.key.privateJwk };
  // A statement of reasons of the world's platform (it matches the included entry first).
  expect(
    (await w.platform.client.match({ scope: "all", items: [{ type: "pdq", value: w.included.value }] }))
      .status,
  ).toBe(200);
  const made = await w.platform.client.write<{ statement: { id: string } }>(
    "/v1/statements",
    "statement.create",
    {
      ...(await writeSpec("statement.create").record(w.platform.id)),
    },
  );
  if (!made.ok) throw new Error(`statement: ${JSON.stringify(made.problem)}`);
  statementId = made.data.statement.id;
  const hook = await w.platform.client.write<{ subjectId: string }>("/v1/webhooks", "webhook.register", {
    participantId: w.platform.id,
    url: "https://hooks.example.com/hostile",
    events: ["entry.reversed"],
  });
  if (!hook.ok) throw new Error(`webhook: ${JSON.stringify(hook.problem)}`);
  webhookId = hook.data.subjectId;
  evd = await evidenceFixture(w);
  incidentId = (await declare({ public: true })).id;
}, 120_000);

// ---- declarations: what the OpenAPI document cannot tell ---------------------------------------

/** Who may sign each kind, and a record that passes its schema (the rules after it need not pass). */
function writeSpec(kind: string): { actor: Actor; record: (me: string) => Promise<Record<string, unknown>> } {
  const now = Math.floor(Date.now() / 1000);
  const specs: Record<string, { actor: Actor; record: (me: string) => Promise<Record<string, unknown>> }> = {
    "participant.admit": {
      actor: "coordinator",
      record: async () => ({
        role: "platform",
        displayName: "Hostile test",
        jwks: { keys: [(await generateParticipantKey()).publicJwk] },
      }),
    },
    "participant.key.add": {
      actor: "authority",
      record: async (me) => ({ participantId: me, jwk: (await generateParticipantKey()).publicJwk }),
    },
    "participant.key.retire": {
      actor: "authority",
      record: async (me) => ({ participantId: me, kid: "abc" }),
    },
    "participant.revoke": {
      actor: "coordinator",
      record: async () => ({ participantId: w.authority2.id, reason: "hostile test" }),
    },
    "participant.countersign": {
      actor: "coordinator",
      record: async () => ({
        participantId: w.authority2.id,
        requestRecordId: "rec_01zzzzzzzzzzzzzzzzzzzzzzzz",
        action: "revoke",
      }),
    },
    "participant.request.withdraw": {
      actor: "coordinator",
      record: async () => ({
        participantId: w.authority2.id,
        requestRecordId: "rec_01zzzzzzzzzzzzzzzzzzzzzzzz",
        action: "revoke",
      }),
    },
    "participant.apicred.set": {
      actor: "authority",
      record: async (me) => ({ participantId: me, label: "hostile", secretSha256: "ab".repeat(32) }),
    },
    "participant.apicred.revoke": {
      actor: "authority",
      record: async (me) => ({ participantId: me, credentialId: "apc_01zzzzzzzzzzzzzzzzzzzzzzzz" }),
    },
    "submission.create": { actor: "authority", record: async () => ({ items: [pdqItem(freshPdq())] }) },
    "submission.withdraw": {
      actor: "authority",
      record: async () => ({ submissionId: w.included.id, reason: "hostile test" }),
    },
    "submission.reverse": {
      actor: "coordinator",
      record: async () => ({ submissionId: w.included.id, ground: "error", reason: "hostile test" }),
    },
    "assessment.create": {
      actor: "authority",
      record: async () => ({ submissionId: w.included.id, verdict: "concur", limb: "a" }),
    },
    "baseline.decide": {
      actor: "coordinator",
      record: async () => ({ submissionId: w.included.id, decision: "exclude", reason: "hostile test" }),
    },
    "assessment.batch": {
      actor: "authority",
      record: async () => ({ items: [{ submissionId: w.included.id, verdict: "concur", limb: "a" }] }),
    },
    "baseline.decide.batch": {
      actor: "coordinator",
      record: async () => ({
        decision: "exclude",
        reason: "hostile test",
        items: [{ submissionId: w.included.id }],
      }),
    },
    "feedback.create": {
      actor: "platform",
      record: async () => ({ submissionId: w.included.id, outcome: "true_positive" }),
    },
    "signal.enckey.set": {
      actor: "platform",
      record: async (me) => ({ participantId: me, jwk: (await generateEncKeyPair()).publicJwk }),
    },
    "signal.key.publish": {
      actor: "coordinator",
      record: async () => ({ version: 77, validFrom: now - 60, validUntil: now + 86400, wrapped: [] }),
    },
    "signal.key.grant": {
      actor: "coordinator",
      record: async () => ({
        version: 1,
        wrapped: [{ participantId: w.platform.id, kid: "kid", jwe: "a.b.c.d.e" }],
      }),
    },
    "signal.create": {
      actor: "platform",
      record: async () => ({
        kind: "account_removed",
        keyVersion: 1,
        selectors: [randomPseudonym(1)],
        reason: { tcoLimb: "c" },
      }),
    },
    "statement.create": {
      actor: "platform",
      record: async () => statementRecord(w.included.id, "hostile-1"),
    },
    "incident.declare": {
      actor: "coordinator",
      record: async () => declareRecord({ title: "Hostile drill" }),
    },
    "incident.extend": {
      actor: "coordinator",
      record: async () => ({
        incidentId,
        endsAt: new Date(Date.now() + 30 * 3600_000).toISOString(),
        reason: "hostile test",
      }),
    },
    "incident.close": { actor: "coordinator", record: async () => ({ incidentId, reason: "hostile test" }) },
    "signal.retract": { actor: "platform", record: async () => ({ signalId: w.signalId }) },
    "webhook.register": {
      actor: "platform",
      record: async (me) => ({
        participantId: me,
        url: "https://hooks.example.com/eusn",
        events: ["entry.reversed"],
      }),
    },
    "webhook.remove": {
      actor: "platform",
      record: async (me) => ({ participantId: me, webhookId: "whk_01zzzzzzzzzzzzzzzzzzzzzzzz" }),
    },
    "evidence.enckey.set": {
      actor: "authority",
      record: async (me) => ({ participantId: me, jwk: (await generateEncKeyPair()).publicJwk }),
    },
    "evidence.create": {
      actor: "authority",
      record: async (me) => ({
        submissionId: w.included.id,
        mediaClass: "image",
        ciphertext: { sha256: "ab".repeat(32), size: 1000 },
        recipients: [{ participantId: me, kid: "kid", jwe: "a.b.c.d.e" }],
      }),
    },
    "evidence.rewrap": {
      actor: "authority",
      record: async (me) => ({
        caseFileId: evd.caseFileId,
        recipients: [{ participantId: me, kid: "kid", jwe: "a.b.c.d.e" }],
      }),
    },
    "signal.reverse": {
      actor: "coordinator",
      record: async () => ({ signalId: w.signalId, ground: "error", reason: "hostile test" }),
    },
  };
  const s = specs[kind];
  if (!s) throw new Error(`declare a signer and a schema-valid record for kind ${kind} in writeSpec()`);
  return s;
}

/** A valid body for each JSON endpoint, and one with too many entries. */
const JSON_BODIES: Record<string, { valid: () => unknown; tooMany: () => unknown }> = {
  "POST /v1/match": {
    valid: () => ({ items: [{ type: "pdq", value: w.included.value }] }),
    tooMany: () => ({ items: Array.from({ length: 1001 }, () => ({ type: "pdq", value: freshPdq() })) }),
  },
  "POST /v1/evidence/uploads": {
    valid: () => ({ submissionId: w.included.id, mediaClass: "image", size: 1000, sha256: "ab".repeat(32) }),
    // One object, no list: "too many" is a size beyond a safe integer.
    tooMany: () => ({
      submissionId: w.included.id,
      mediaClass: "image",
      size: 2 ** 60,
      sha256: "ab".repeat(32),
    }),
  },
  "POST /v1/signals/lookup": {
    valid: () => ({ urls: ["https://t.me/hostile"] }),
    tooMany: () => ({ selectors: Array.from({ length: 1001 }, () => randomPseudonym(1)) }),
  },
};

/** Who sends each JSON endpoint's bodies (default: the platform). */
const JSON_ACTOR: Record<string, Actor> = { "POST /v1/evidence/uploads": "authority" };

/** Body fields that must be refused with these values, per JSON endpoint. */
const jsonFieldAttacks = (): Record<string, [string, unknown][]> => ({
  "POST /v1/match": [
    ["threshold 64", { threshold: 64 }],
    ["threshold -1", { threshold: -1 }],
    ["threshold 1e308", { threshold: 1e308 }],
    ["threshold 2^53+1", { threshold: 2 ** 53 + 1 }],
    ["threshold 1.5", { threshold: 1.5 }],
    ["threshold as a string", { threshold: "31" }],
    ["scope SQL", { scope: "baseline' OR '1'='1" }],
    ["upper-case hex", { items: [{ type: "pdq", value: w.included.value.toUpperCase() }] }],
    ["63 hex characters", { items: [{ type: "pdq", value: w.included.value.slice(1) }] }],
    ["non-hex characters", { items: [{ type: "pdq", value: "g".repeat(64) }] }],
    ["full-width digits", { items: [{ type: "md5", value: "０".repeat(32) }] }],
    ["SQL as a hash", { items: [{ type: "md5", value: "' OR 1=1; DROP TABLE submissions;--" }] }],
    [
      "unicode in a hash",
      { items: [{ type: "md5", value: "\u202e\u0000\ud800abcdef0123456789abcdef012345" }] },
    ],
    ["unknown hash type", { items: [{ type: "sha1", value: "a".repeat(40) }] }],
    [
      "8 dihedral variants",
      { items: [{ type: "pdq", value: freshPdq(), dihedral: Array(8).fill(freshPdq()) }] },
    ],
    ["no items", { items: [] }],
    ["items not an array", { items: { 0: { type: "md5", value: "a".repeat(32) } } }],
  ],
  "POST /v1/evidence/uploads": [
    ["size 0", { size: 0 }],
    ["size -1", { size: -1 }],
    ["size 1.5", { size: 1.5 }],
    ["size as a string", { size: "1000" }],
    ["an audio media class", { mediaClass: "audio" }],
    ["upper-case hex", { sha256: "AB".repeat(32) }],
    ["SQL as a hash", { sha256: "' OR 1=1; DROP TABLE case_files;--" }],
    ["SQL as a submission id", { submissionId: "hsh_' OR '1'='1" }],
  ],
  "POST /v1/signals/lookup": [
    ["a raw e-mail address as a selector", { selectors: ["jane.doe@example.org"] }],
    ["SQL as a selector", { selectors: ["v1:email:' OR 1=1; DROP TABLE signal_selectors;--"] }],
    ["unicode in a selector", { selectors: [`v1:email:${"\u202e".repeat(43)}`] }],
    ["a javascript: URL", { urls: ["javascript:alert(1)"] }],
    ["a URL of 3,000 characters", { urls: [`https://t.me/${"a".repeat(3000)}`] }],
    ["an empty ask", { selectors: [], urls: [] }],
    ["selectors not an array", { selectors: "v1:email:abc" }],
  ],
});

/** How to fill each path parameter with a value that exists. */
function fillParam(r: Route, name: string, me: string): string {
  if (name === "id" && r.path.startsWith("/v1/participants/")) return me;
  if (name === "id" && (r.path.startsWith("/v1/submissions/") || r.path.startsWith("/v1/stats/submissions/")))
    return w.included.id;
  if (name === "id" && r.path.startsWith("/v1/records/")) return w.included.recordId;
  if (name === "id" && r.path.startsWith("/v1/signals/")) return w.signalId;
  if (name === "id" && r.path.startsWith("/v1/statements/")) return statementId;
  if (name === "id" && r.path.startsWith("/v1/evidence/uploads/")) return evd.uploadId;
  if (name === "id" && r.path.startsWith("/v1/evidence/")) return evd.caseFileId;
  if (name === "n") return "1";
  if (name === "id" && r.path.startsWith("/v1/incidents/")) return incidentId;
  if (name === "id" && r.path.startsWith("/taxii2/")) return "baseline";
  if (name === "id" && r.path.startsWith("/v1/webhooks/")) return webhookId;
  if (name === "objectId") return w.stixId;
  if (name === "version") return "1";
  if (name === "code") return "rate_limited";
  throw new Error(`declare how to fill path parameter {${name}} of ${r.key} in fillParam()`);
}

function pathOf(r: Route, me: string, override: Record<string, string> = {}): string {
  return r.path.replace(
    /\{([^}]+)\}/g,
    (_, n: string) => override[n] ?? encodeURIComponent(fillParam(r, n, me)),
  );
}

/** Required query parameters, for routes that have them. */
const BASE_QUERY: Record<string, string> = {
  "GET /v1/curation": "queue=eligible",
  "GET /v1/reports/tco": "year=2026",
};

/**
 * Free-form string query parameters (no pattern or enum in the schema): what a hostile value
 * gets. Opaque cursors answer an empty page; TAXII parses its own parameters and refuses.
 */
const PLAIN_QUERY: Record<string, "empty page" | "refused" | "not found"> = {
  "GET /v1/baseline after": "empty page",
  "GET /v1/submissions after": "empty page",
  // UTC days (YYYY-MM-DD): anything else is refused.
  "GET /v1/submissions from": "refused",
  "GET /v1/submissions to": "refused",
  "GET /v1/audit from": "refused",
  "GET /v1/audit to": "refused",
  // A content reference prefix is the platform's own text: an unknown one finds nothing.
  "GET /v1/review ref": "empty page",
  "GET /v1/review/export ref": "empty page",
  "POST /v1/federation/pull peer": "not found",
  // Filters by a free participant or subject id ('config' and 'node' act too): none matches.
  "GET /v1/audit actor": "empty page",
  "GET /v1/audit subject": "empty page",
  // A member state code (EL read as GR, then one of the 27): anything else is refused.
  "GET /v1/reports/tco memberState": "refused",
  // Days (YYYY-MM-DD) bounding a report's period: anything else is refused.
  "GET /v1/reports/tco from": "refused",
  "GET /v1/reports/tco to": "refused",
};
const plainQuery = (r: Route, name: string) =>
  PLAIN_QUERY[`${r.key} ${name}`] ??
  (isTaxii(r) ? (name === "match[spec_version]" ? "empty page" : "refused") : undefined);

// ---- sending and checking -----------------------------------------------------------------------

type Expect = readonly [number, string];

/** Checks the exact problem (RFC 9457, or TAXII's error message carrying the same code). */
async function expectRefused(res: Response, [status, code]: Expect, label: string) {
  const text = await res.text();
  expect(res.status, `${label}: ${text.slice(0, 300)}`).toBe(status);
  const type = res.headers.get("content-type") ?? "";
  expect(type, label).toMatch(/^application\/(problem\+json|taxii\+json)/);
  const body = JSON.parse(text) as Problem;
  expect(body.code, `${label}: ${text.slice(0, 300)}`).toBe(code);
  expect(body.requestId, label).toMatch(/^[0-9a-f-]{36}$/);
  expect(text, label).not.toMatch(/\bat .+\.[jt]s:\d+|SQLITE|D1_ERROR|Failed query/);
}

/** Sends, checks the answer, and checks that the database did not change at all. */
async function attempt(send: () => Promise<Response>, exp: Expect, label: string) {
  const res = await unchanged(send, label);
  await expectRefused(res, exp, label);
}

const enc = (v: unknown) =>
  btoa(typeof v === "string" ? v : JSON.stringify(v))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
const b64urlBytes = (b: Uint8Array) =>
  btoa(String.fromCharCode(...b))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");
const decode = (part: string) =>
  JSON.parse(atob(part.replaceAll("-", "+").replaceAll("_", "/"))) as Record<string, unknown>;

/** Signs an arbitrary payload (a string is signed as is) under an arbitrary header. */
async function signRaw(signer: Signer, header: Record<string, unknown>, payload: unknown): Promise<string> {
  const { kid, alg } = await publicOf(signer.privateJwk);
  const key = await importPrivate(signer.privateJwk, alg);
  const bytes = new TextEncoder().encode(typeof payload === "string" ? payload : JSON.stringify(payload));
  return new CompactSign(bytes)
    .setProtectedHeader({ alg, kid, typ: WRITE_TYP, ...header } as { alg: string })
    .sign(key);
}

const flip = (s: string) => `${s.slice(0, -2)}${s.at(-2) === "A" ? "B" : "A"}${s.at(-1)}`;
const deep = (n: number) => `${"[".repeat(n)}${"]".repeat(n)}`;
const SQL = "x' OR '1'='1'; DROP TABLE records; --";
const UNICODE = "\u202e\u0000\ud800\ufeff\u0301𝕏";
const FREE_TEXT = new Set([
  "reason",
  "displayName",
  "label",
  "note",
  "reference",
  "kid",
  "reviewer",
  "title",
  "description",
]);

// ---- signed writes --------------------------------------------------------------------------------

type WriteAttack = {
  name: string;
  expect: Expect;
  /** The body (and media type) to send, built for this route's kind and signer. */
  make: (c: { kind: string; signer: Signer; other: Signer; record: Record<string, unknown> }) => Promise<{
    body: BodyInit;
    contentType?: string | null;
  }>;
};

const claims = (
  c: { kind: string; signer: Signer; record: unknown },
  over: Record<string, unknown> = {},
) => ({
  iss: c.signer.participantId,
  aud: env.NODE_ID,
  iat: Math.floor(Date.now() / 1000),
  jti: newJti(),
  kind: c.kind,
  record: c.record,
  ...over,
});
const jose = (body: BodyInit) => ({ body });

const WRITE_ATTACKS: WriteAttack[] = [
  {
    name: "JSON sent as application/json",
    expect: [415, "unsupported_media_type"],
    make: async (c) => ({ body: JSON.stringify(claims(c)), contentType: "application/json" }),
  },
  {
    name: "no media type",
    expect: [415, "unsupported_media_type"],
    make: async (c) => ({
      body: await signWrite(c.signer, env.NODE_ID, c.kind, c.record),
      contentType: null,
    }),
  },
  { name: "empty body", expect: [400, "invalid_jws"], make: async () => jose("") },
  {
    name: "a JSON object as application/jose",
    expect: [400, "invalid_jws"],
    make: async (c) => jose(JSON.stringify(claims(c))),
  },
  {
    name: "two parts only",
    expect: [400, "invalid_jws"],
    make: async (c) =>
      jose((await signWrite(c.signer, env.NODE_ID, c.kind, c.record)).split(".").slice(0, 2).join(".")),
  },
  {
    name: "header not JSON",
    expect: [400, "invalid_jws"],
    make: async (c) => {
      const [, p, s] = (await signWrite(c.signer, env.NODE_ID, c.kind, c.record)).split(".");
      return jose(`${enc("not json")}.${p}.${s}`);
    },
  },
  {
    name: "header a JSON array",
    expect: [400, "invalid_jws"],
    make: async (c) => {
      const [, p, s] = (await signWrite(c.signer, env.NODE_ID, c.kind, c.record)).split(".");
      return jose(`${enc([1, 2])}.${p}.${s}`);
    },
  },
  {
    name: "not UTF-8",
    expect: [400, "invalid_jws"],
    make: async () => jose(new Uint8Array([0x65, 0xff, 0xfe, 0x2e])),
  },
  {
    name: "over the body size limit",
    expect: [413, "payload_too_large"],
    make: async () => jose("a".repeat(MAX_BODY_BYTES + 1)),
  },
  {
    name: "alg none, no signature",
    expect: [400, "invalid_jws"],
    make: async (c) => {
      const { kid } = await publicOf(c.signer.privateJwk);
      return jose(`${enc({ alg: "none", typ: WRITE_TYP, kid })}.${enc(claims(c))}.`);
    },
  },
  {
    name: "alg none with a real signature",
    expect: [400, "invalid_jws"],
    make: async (c) => {
      const [h, p, s] = (await signWrite(c.signer, env.NODE_ID, c.kind, c.record)).split(".") as [
        string,
        string,
        string,
      ];
      return jose(`${enc({ ...decode(h), alg: "none" })}.${p}.${s}`);
    },
  },
  {
    name: "HS256 keyed with the signer's public key (algorithm confusion)",
    expect: [400, "invalid_jws"],
    make: async (c) => {
      const pub = await publicOf(c.signer.privateJwk);
      const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(claims(c))))
        .setProtectedHeader({ alg: "HS256", typ: WRITE_TYP, kid: pub.kid })
        .sign(new TextEncoder().encode(JSON.stringify(pub.publicJwk)));
      return jose(jws);
    },
  },
  {
    name: "alg RS256",
    expect: [400, "invalid_jws"],
    make: async (c) => {
      const [h, p, s] = (await signWrite(c.signer, env.NODE_ID, c.kind, c.record)).split(".") as [
        string,
        string,
        string,
      ];
      return jose(`${enc({ ...decode(h), alg: "RS256" })}.${p}.${s}`);
    },
  },
  ...(["jwk", "jku", "x5u", "x5c"] as const).map(
    (member): WriteAttack => ({
      name: `a key carried in the header (${member})`,
      expect: [400, "invalid_jws"],
      make: async (c) => {
        const pub = await publicOf(c.other.privateJwk);
        const value =
          member === "jwk" ? pub.publicJwk : member === "x5c" ? ["MIIB"] : "https://attacker.example/k";
        return jose(await signRaw(c.signer, { [member]: value }, claims(c)));
      },
    }),
  ),
  {
    name: "a crit header",
    expect: [400, "invalid_jws"],
    make: async (c) => jose(await signRaw(c.signer, { crit: ["b64"], b64: true }, claims(c))),
  },
  {
    name: "typ of a read token",
    expect: [400, "invalid_jws"],
    make: async (c) => jose(await signRaw(c.signer, { typ: ACCESS_TYP }, claims(c))),
  },
  {
    name: "no kid",
    expect: [400, "invalid_jws"],
    make: async (c) => jose(await signRaw(c.signer, { kid: undefined }, claims(c))),
  },
  {
    name: "payload altered after signing",
    expect: [401, "invalid_signature"],
    make: async (c) => {
      const [h, p, s] = (await signWrite(c.signer, env.NODE_ID, c.kind, c.record)).split(".") as [
        string,
        string,
        string,
      ];
      return jose(`${h}.${enc({ ...decode(p), record: { ...c.record, injected: true } })}.${s}`);
    },
  },
  {
    name: "header altered after signing",
    expect: [401, "invalid_signature"],
    make: async (c) => {
      const [h, p, s] = (await signWrite(c.signer, env.NODE_ID, c.kind, c.record)).split(".") as [
        string,
        string,
        string,
      ];
      return jose(`${enc({ ...decode(h), cty: "json" })}.${p}.${s}`);
    },
  },
  {
    name: "signature altered",
    expect: [401, "invalid_signature"],
    make: async (c) => jose(flip(await signWrite(c.signer, env.NODE_ID, c.kind, c.record))),
  },
  {
    name: "signature of another JWS",
    expect: [401, "invalid_signature"],
    make: async (c) => {
      const [h, p] = (await signWrite(c.signer, env.NODE_ID, c.kind, c.record)).split(".");
      const s = (await signWrite(c.signer, env.NODE_ID, c.kind, c.record)).split(".")[2];
      return jose(`${h}.${p}.${s}`);
    },
  },
  {
    name: "signature stripped",
    expect: [400, "invalid_jws"],
    make: async (c) => {
      const [h, p] = (await signWrite(c.signer, env.NODE_ID, c.kind, c.record)).split(".");
      return jose(`${h}.${p}.`);
    },
  },
  {
    name: "a kid nobody has",
    expect: [401, "unknown_key"],
    make: async (c) =>
      jose(
        await signRaw(c.signer, { kid: b64urlBytes(crypto.getRandomValues(new Uint8Array(32))) }, claims(c)),
      ),
  },
  {
    name: "another participant's kid, signed with that participant's key (key confusion)",
    expect: [401, "unknown_key"],
    make: async (c) => jose(await signRaw(c.other, {}, claims(c))),
  },
  {
    name: "the signer's kid, signed with another participant's key",
    expect: [401, "invalid_signature"],
    make: async (c) => {
      const { kid } = await publicOf(c.signer.privateJwk);
      return jose(await signRaw(c.other, { kid }, claims(c)));
    },
  },
  {
    name: "another participant as iss, the signer's key and kid",
    expect: [401, "unknown_key"],
    make: async (c) => jose(await signRaw(c.signer, {}, claims(c, { iss: c.other.participantId }))),
  },
  {
    name: "an iss nobody is",
    expect: [401, "unknown_key"],
    make: async (c) =>
      jose(await signRaw(c.signer, {}, claims(c, { iss: "par_01zzzzzzzzzzzzzzzzzzzzzzzz" }))),
  },
  {
    name: "an SQL-looking iss",
    expect: [401, "unknown_key"],
    make: async (c) => jose(await signRaw(c.signer, {}, claims(c, { iss: "par_' OR '1'='1" }))),
  },
  {
    name: "an iss of 10,000 characters",
    expect: [400, "invalid_jws"],
    make: async (c) => jose(await signRaw(c.signer, {}, claims(c, { iss: `par_${"a".repeat(10_000)}` }))),
  },
  {
    name: "a revoked participant",
    expect: [403, "participant_revoked"],
    make: async (c) => jose(await signWrite(revoked, env.NODE_ID, c.kind, c.record)),
  },
  {
    name: "a retired key",
    expect: [401, "unknown_key"],
    make: async (c) => jose(await signWrite(retired, env.NODE_ID, c.kind, c.record)),
  },
  {
    name: "iat from the future",
    expect: [401, "stale_request"],
    make: async (c) =>
      jose(
        await signWrite(c.signer, env.NODE_ID, c.kind, c.record, {
          iat: Math.floor(Date.now() / 1000) + 400,
        }),
      ),
  },
  {
    name: "iat from the past",
    expect: [401, "stale_request"],
    make: async (c) =>
      jose(
        await signWrite(c.signer, env.NODE_ID, c.kind, c.record, {
          iat: Math.floor(Date.now() / 1000) - 400,
        }),
      ),
  },
  {
    name: "iat 1e308",
    expect: [400, "validation_failed"],
    make: async (c) => jose(await signRaw(c.signer, {}, claims(c, { iat: 1e308 }))),
  },
  {
    name: "iat as a string",
    expect: [400, "validation_failed"],
    make: async (c) =>
      jose(await signRaw(c.signer, {}, claims(c, { iat: String(Math.floor(Date.now() / 1000)) }))),
  },
  {
    name: "iat negative",
    expect: [400, "validation_failed"],
    make: async (c) => jose(await signRaw(c.signer, {}, claims(c, { iat: -1 }))),
  },
  {
    name: "aud of another node",
    expect: [401, "wrong_audience"],
    make: async (c) => jose(await signWrite(c.signer, "eusn-other-node", c.kind, c.record)),
  },
  {
    name: "no aud",
    expect: [400, "validation_failed"],
    make: async (c) => jose(await signRaw(c.signer, {}, claims(c, { aud: undefined }))),
  },
  {
    name: "an extra claim",
    expect: [400, "validation_failed"],
    make: async (c) => jose(await signRaw(c.signer, {}, claims(c, { admin: true }))),
  },
  {
    name: "a __proto__ claim",
    expect: [400, "validation_failed"],
    make: async (c) => {
      const text = JSON.stringify(claims(c)).replace(/^\{/, '{"__proto__":{"iss":"par_coordinator"},');
      return jose(await signRaw(c.signer, {}, text));
    },
  },
  {
    name: "an SQL-looking jti",
    expect: [400, "validation_failed"],
    make: async (c) =>
      jose(await signRaw(c.signer, {}, claims(c, { jti: "' OR 1=1; DELETE FROM records;--" }))),
  },
  {
    name: "a jti too short to be unique",
    expect: [400, "validation_failed"],
    make: async (c) => jose(await signRaw(c.signer, {}, claims(c, { jti: "1" }))),
  },
  {
    name: "signed for another kind",
    expect: [400, "bad_request"],
    make: async (c) =>
      jose(
        await signWrite(
          c.signer,
          env.NODE_ID,
          c.kind === "submission.create" ? "participant.admit" : "submission.create",
          c.record,
        ),
      ),
  },
  {
    name: "a replayed jti",
    expect: [409, "replayed_jti"],
    make: async (c) =>
      jose(
        await signWrite(c.signer, env.NODE_ID, c.kind, c.record, {
          jti: usedJti.get(c.signer.participantId)!,
        }),
      ),
  },
  {
    name: "payload nested 100,000 levels deep",
    expect: [400, "validation_failed"],
    make: async (c) => {
      const text = JSON.stringify(claims(c, { record: "§" })).replace('"§"', deep(100_000));
      return jose(await signRaw(c.signer, {}, text));
    },
  },
  {
    name: "record not an object",
    expect: [400, "validation_failed"],
    make: async (c) => jose(await signWrite(c.signer, env.NODE_ID, c.kind, "record")),
  },
  {
    name: "record with a __proto__ member",
    expect: [400, "validation_failed"],
    make: async (c) => {
      const text = JSON.stringify(claims(c)).replace(
        '"record":{',
        '"record":{"__proto__":{"role":"coordinator"},',
      );
      return jose(await signRaw(c.signer, {}, text));
    },
  },
  {
    name: "record with an unknown member",
    expect: [400, "validation_failed"],
    make: async (c) => jose(await signWrite(c.signer, env.NODE_ID, c.kind, { ...c.record, isAdmin: true })),
  },
];

/** Every field of the valid record, replaced by values its schema must refuse. */
function fieldAttacks(record: Record<string, unknown>): [string, Record<string, unknown>][] {
  const out: [string, Record<string, unknown>][] = [];
  for (const [k, v] of Object.entries(record)) {
    let values: [string, unknown][];
    if (typeof v === "string") {
      if (FREE_TEXT.has(k)) continue;
      values = [
        ["SQL", SQL],
        ["unicode edge cases", UNICODE],
        ["100,000 characters", "a".repeat(100_000)],
        ["a huge number", 1e308],
        ["null", null],
      ];
    } else if (typeof v === "number") {
      values = [
        ["negative", -1],
        ["fractional", 1.5],
        ["beyond 2^53", 2 ** 53 + 1],
        ["a string", String(v)],
        ["null", null],
      ];
      if (k === "version" || k === "keyVersion") values.push(["1e308", 1e308]);
    } else {
      values = [
        ["SQL", SQL],
        ["null", null],
        ["nested 1,000 deep", JSON.parse(deep(1000))],
      ];
    }
    for (const [what, value] of values) out.push([`record.${k} ${what}`, { ...record, [k]: value }]);
  }
  return out;
}

describe.concurrent("signed writes: every endpoint refuses hostile bodies and stores nothing", () => {
  it("knows the kind, the signer and a valid record of every signed-write endpoint", () => {
    const writes = routes.filter(isWrite);
    expect(writes.length).toBeGreaterThanOrEqual(18);
    for (const r of writes) {
      expect(kindOf(r), `${r.key}: the signed body's description names its kind`).toBeDefined();
      writeSpec(kindOf(r)!);
    }
  });

  it.each(routes.filter(isWrite).map((r) => [r.key, r] as const))(
    "%s",
    async (_key, r) => {
      const kind = kindOf(r)!;
      const spec = writeSpec(kind);
      const signer = signerOf(w, spec.actor);
      const other = signerOf(w, spec.actor === "platform" ? "authority" : "platform");
      const path = pathOf(r, signer.participantId);
      const record = await spec.record(signer.participantId);
      const post = (body: BodyInit, contentType: string | null | undefined) => () =>
        nodeFetch(`${BASE}${path}`, {
          method: "POST",
          headers: contentType === null ? {} : { "content-type": contentType ?? "application/jose" },
          body,
        });
      for (const a of WRITE_ATTACKS) {
        const { body, contentType } = await a.make({ kind, signer, other, record });
        await attempt(post(body, contentType), a.expect, `${r.key} ${a.name}`);
      }
      for (const [name, bad] of fieldAttacks(record)) {
        const jws = await signWrite(signer, env.NODE_ID, kind, bad);
        await attempt(post(jws, undefined), [400, "validation_failed"], `${r.key} ${name}`);
      }
    },
    SLOW,
  );
});

// ---- JSON bodies -------------------------------------------------------------------------------

describe.concurrent("JSON bodies: malformed, oversized, nested, out of range", () => {
  it.each(["POST /v1/match", "POST /v1/signals/lookup", "POST /v1/evidence/uploads"])(
    "%s",
    async (key) => {
      const r = routes.find((x) => x.key === key)!;
      expect(r, key).toBeDefined();
      const token = await signAccessToken(signerOf(w, JSON_ACTOR[key] ?? "platform"), env.NODE_ID);
      const post =
        (body: BodyInit, contentType: string | null = "application/json") =>
        () =>
          nodeFetch(`${BASE}${r.path}`, {
            method: "POST",
            headers: {
              authorization: `Bearer ${token}`,
              ...(contentType ? { "content-type": contentType } : {}),
            },
            body,
          });
      const spec = JSON_BODIES[key]!;
      const valid = spec.valid() as Record<string, unknown>;
      const cases: [string, () => Promise<Response>, Expect][] = [
        ["malformed JSON", post('{"items": ['), [400, "malformed_json"]],
        ["empty body", post(""), [400, "malformed_json"]],
        ["not UTF-8", post(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])), [400, "malformed_json"]],
        ["text/plain", post(JSON.stringify(valid), "text/plain"), [415, "unsupported_media_type"]],
        ["no media type", post(JSON.stringify(valid), null), [415, "unsupported_media_type"]],
        ["over the body size limit", post(" ".repeat(MAX_BODY_BYTES + 1)), [413, "payload_too_large"]],
        ["a JSON array", post("[]"), [400, "validation_failed"]],
        ["a JSON string", post('"items"'), [400, "validation_failed"]],
        ["null", post("null"), [400, "validation_failed"]],
        ["a number 1e400", post("1e400"), [400, "validation_failed"]],
        ["nested 100,000 deep", post(`{"items":${deep(100_000)}}`), [400, "validation_failed"]],
        [
          "a __proto__ member",
          post(JSON.stringify(valid).replace(/^\{/, '{"__proto__":{"scope":"all"},')),
          [400, "validation_failed"],
        ],
        ["an unknown member", post(JSON.stringify({ ...valid, admin: true })), [400, "validation_failed"]],
        ["too many entries", post(JSON.stringify(spec.tooMany())), [400, "validation_failed"]],
        ...jsonFieldAttacks()[key]!.map(([name, over]): [string, () => Promise<Response>, Expect] => [
          name,
          post(JSON.stringify({ ...valid, ...(over as object) })),
          [400, "validation_failed"],
        ]),
      ];
      for (const [name, send, exp] of cases) await attempt(send, exp, `${key} ${name}`);
    },
    SLOW,
  );

  it("every JSON endpoint is in the battery", () => {
    expect(
      routes
        .filter(isJson)
        .map((r) => r.key)
        .sort(),
    ).toEqual(Object.keys(JSON_BODIES).sort());
  });
});

// ---- bearer tokens -----------------------------------------------------------------------------

type TokenAttack = { name: string; header: () => Promise<string>; expect: Expect; taxii?: Expect };

function tokenAttacks(): TokenAttack[] {
  const me = signerOf(w, "platform");
  const other = signerOf(w, "authority");
  const now = Math.floor(Date.now() / 1000);
  const token = (opts: Parameters<typeof signAccessToken>[2] = {}, s: Signer = me) =>
    signAccessToken(s, env.NODE_ID, opts);
  const parts = async () => (await token()).split(".") as [string, string, string];
  const rawToken = async (
    header: Record<string, unknown>,
    payload: Record<string, unknown>,
    s: Signer = me,
  ) => {
    const { kid, alg } = await publicOf(s.privateJwk);
    const key = await importPrivate(s.privateJwk, alg);
    return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
      .setProtectedHeader({ alg, kid, typ: ACCESS_TYP, ...header } as { alg: string })
      .sign(key);
  };
  const payload = (over: Record<string, unknown> = {}) => ({
    iss: me.participantId,
    aud: env.NODE_ID,
    iat: now,
    exp: now + 60,
    jti: newJti(),
    ...over,
  });
  const bearer = async (t: string | Promise<string>) => `Bearer ${await t}`;
  return [
    { name: "a garbage token", header: () => bearer("x.y.z"), expect: [401, "invalid_token"] },
    { name: "Bearer with nothing", header: async () => "Bearer ", expect: [401, "invalid_token"] },
    {
      name: "Basic credentials on a bearer route",
      header: async () => `Basic ${btoa(`${me.participantId}:eusn_${"a".repeat(43)}`)}`,
      expect: [401, "invalid_token"],
      taxii: [401, "unauthenticated"],
    },
    {
      name: "16 KB of token",
      header: () => bearer(`${"a".repeat(8000)}.${"b".repeat(8000)}.c`),
      expect: [401, "invalid_token"],
    },
    {
      name: "alg none",
      header: async () => {
        const [h, p] = await parts();
        return bearer(`${enc({ ...decode(h), alg: "none" })}.${p}.`);
      },
      expect: [401, "invalid_token"],
    },
    {
      name: "HS256 keyed with the public key",
      header: async () => {
        const pub = await publicOf(me.privateJwk);
        return bearer(
          new CompactSign(new TextEncoder().encode(JSON.stringify(payload())))
            .setProtectedHeader({ alg: "HS256", typ: ACCESS_TYP, kid: pub.kid })
            .sign(new TextEncoder().encode(JSON.stringify(pub.publicJwk))),
        );
      },
      expect: [401, "invalid_token"],
    },
    {
      name: "payload altered (exp extended)",
      header: async () => {
        const [h, p, s] = await parts();
        return bearer(`${h}.${enc({ ...decode(p), exp: now + 86400 })}.${s}`);
      },
      expect: [401, "invalid_token"],
    },
    {
      name: "payload altered (iss swapped)",
      header: async () => {
        const [h, p, s] = await parts();
        return bearer(`${h}.${enc({ ...decode(p), iss: other.participantId })}.${s}`);
      },
      expect: [401, "unknown_key"],
    },
    {
      name: "header altered",
      header: async () => {
        const [h, p, s] = await parts();
        return bearer(`${enc({ ...decode(h), cty: "x" })}.${p}.${s}`);
      },
      expect: [401, "invalid_token"],
    },
    {
      name: "signature altered",
      header: async () => bearer(flip(await token())),
      expect: [401, "invalid_token"],
    },
    {
      name: "a kid nobody has",
      header: () =>
        bearer(rawToken({ kid: b64urlBytes(crypto.getRandomValues(new Uint8Array(32))) }, payload())),
      expect: [401, "unknown_key"],
    },
    {
      name: "a unicode kid",
      header: () => bearer(rawToken({ kid: UNICODE }, payload())),
      expect: [401, "unknown_key"],
    },
    {
      name: "another participant's kid and key, own iss (key confusion)",
      header: () => bearer(rawToken({}, payload(), other)),
      expect: [401, "unknown_key"],
    },
    {
      name: "own kid, another participant's key",
      header: async () => bearer(rawToken({ kid: (await publicOf(me.privateJwk)).kid }, payload(), other)),
      expect: [401, "invalid_token"],
    },
    {
      name: "an SQL-looking iss",
      header: () => bearer(rawToken({}, payload({ iss: "par_' OR '1'='1" }))),
      expect: [401, "unknown_key"],
    },
    {
      name: "a key in the header",
      header: async () => bearer(rawToken({ jwk: (await publicOf(other.privateJwk)).publicJwk }, payload())),
      expect: [401, "invalid_token"],
    },
    {
      name: "expired",
      header: () => bearer(token({ iat: now - 200, lifetimeS: 100 })),
      expect: [401, "invalid_token"],
    },
    {
      name: "issued in the future",
      header: () => bearer(token({ iat: now + 400 })),
      expect: [401, "invalid_token"],
    },
    {
      name: "lives longer than 5 minutes",
      header: () => bearer(token({ lifetimeS: 301 })),
      expect: [401, "invalid_token"],
    },
    {
      name: "exp 1e308",
      header: () => bearer(rawToken({}, payload({ exp: 1e308 }))),
      expect: [401, "invalid_token"],
    },
    {
      name: "exp as a string",
      header: () => bearer(rawToken({}, payload({ exp: String(now + 60) }))),
      expect: [401, "invalid_token"],
    },
    {
      name: "for another node",
      header: () => bearer(signAccessToken(me, "eusn-other-node")),
      expect: [401, "wrong_audience"],
    },
    {
      name: "a signed write instead of a token",
      header: () => bearer(signWrite(me, env.NODE_ID, "signal.retract", { signalId: w.signalId })),
      expect: [401, "invalid_token"],
    },
    { name: "of a retired key", header: () => bearer(token({}, retired)), expect: [401, "unknown_key"] },
    {
      name: "of a revoked participant",
      header: () => bearer(token({}, revoked)),
      expect: [403, "participant_revoked"],
    },
  ];
}

describe.concurrent("bearer routes: forged, tampered and foreign tokens", () => {
  it.each(routes.filter(isBearer).map((r) => [r.key, r] as const))(
    "%s",
    async (_key, r) => {
      const path = `${pathOf(r, signerOf(w, "platform").participantId)}${BASE_QUERY[r.key] ? `?${BASE_QUERY[r.key]}` : ""}`;
      for (const a of tokenAttacks()) {
        const authorization = await a.header();
        const send = () =>
          nodeFetch(`${BASE}${path}`, {
            method: r.method,
            headers: {
              authorization,
              accept: isTaxii(r) ? "application/taxii+json;version=2.1" : "application/json",
              ...(isJson(r) ? { "content-type": "application/json" } : {}),
            },
            ...(isJson(r) ? { body: JSON.stringify(JSON_BODIES[r.key]!.valid()) } : {}),
          });
        await attempt(send, (isTaxii(r) && a.taxii) || a.expect, `${r.key} ${a.name}`);
      }
    },
    SLOW,
  );
});

// ---- path and query parameters -------------------------------------------------------------------

/** Who can read `r` with valid parameters (null: it is public). */
async function readerFor(r: Route): Promise<Actor> {
  if (!isBearer(r)) return "anonymous";
  for (const a of ["coordinator", "authority", "platform"] as const) {
    const res = await nodeFetch(
      `${BASE}${pathOf(r, signerOf(w, a).participantId)}${BASE_QUERY[r.key] ? `?${BASE_QUERY[r.key]}` : ""}`,
      {
        method: r.method,
        headers: {
          authorization: `Bearer ${await signAccessToken(signerOf(w, a), env.NODE_ID)}`,
          accept: isTaxii(r) ? "application/taxii+json;version=2.1" : "application/json",
          ...(isJson(r) ? { "content-type": "application/json" } : {}),
        },
        ...(isJson(r) ? { body: JSON.stringify(JSON_BODIES[r.key]!.valid()) } : {}),
        // A binary body (a case file's upload part): the part the upload expects.
        ...(isBinary(r) ? { body: evd.part as BodyInit } : {}),
      },
    );
    await res.body?.cancel();
    if (res.status < 400) return a;
  }
  throw new Error(`no role can call ${r.key} with valid parameters`);
}

const HOSTILE_STRINGS: [string, string][] = [
  ["SQL", SQL],
  ["a path traversal", "../../../etc/passwd"],
  ["unicode edge cases", "\u202e\u0000\ufeff\u0301𝕏"],
  ["an encoded NUL", "\u0000"],
];

// Not a concurrent suite itself, so that it runs after the group above: finding a reader sends
// valid requests, and some of those write (a match request, a signal-lookup rate window).
describe("path and query parameters of every other route: SQL, unicode, overlong and out-of-range values", () => {
  const readers = new Map<string, Actor | Error>();
  beforeAll(async () => {
    // In route order, one at a time, as each case used to do first; a failure is its route's.
    for (const r of routes.filter((x) => !isWrite(x)))
      readers.set(
        r.key,
        await readerFor(r).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e)))),
      );
  }, SLOW);

  it.concurrent.each(routes.filter((x) => !isWrite(x)).map((r) => [r.key, r] as const))(
    "%s",
    async (_key, r) => {
      const actor = readers.get(r.key);
      if (actor === undefined || actor instanceof Error)
        throw actor ?? new Error(`no reader found for ${r.key}`);
      const me = signerOf(w, actor === "anonymous" ? "platform" : actor).participantId;
      const send = (path: string, query: string) => async () =>
        nodeFetch(`${BASE}${path}${query ? `?${query}` : ""}`, {
          method: r.method,
          headers: {
            ...(actor === "anonymous"
              ? {}
              : { authorization: `Bearer ${await signAccessToken(signerOf(w, actor), env.NODE_ID)}` }),
            accept: isTaxii(r) ? "application/taxii+json;version=2.1" : "application/json",
            ...(isJson(r) ? { "content-type": "application/json" } : {}),
          },
          ...(isJson(r) ? { body: JSON.stringify(JSON_BODIES[r.key]!.valid()) } : {}),
        });
      const baseQuery = BASE_QUERY[r.key] ?? "";
      const withQuery = (q: string) => (baseQuery ? `${baseQuery}&${q}` : q);
      for (const p of r.op.parameters ?? []) {
        const schema = resolve(p.schema);
        const patterned = !!(
          schema.pattern ||
          schema.enum ||
          schema.type === "integer" ||
          (Array.isArray(schema.type) && schema.type.includes("integer"))
        );
        const maxLength = typeof schema.maxLength === "number" ? schema.maxLength : undefined;
        const integer =
          schema.type === "integer" || (Array.isArray(schema.type) && schema.type.includes("integer"));
        if (p.in === "path") {
          for (const [what, value] of [
            ...HOSTILE_STRINGS,
            ["1e308", "1e308"],
            ["5,000 characters", "a".repeat(5000)],
          ] as const) {
            const tooLong = maxLength !== undefined && value.length > maxLength;
            // A parameter with a pattern, an enum or a numeric type refuses anything else; a free
            // string (a TAXII collection or object id, a problem code) is simply not found.
            const exp: Expect = patterned || tooLong ? [400, "validation_failed"] : [404, "not_found"];
            if (what === "1e308" && integer) continue; // covered as a query value below
            await attempt(
              send(pathOf(r, me, { [p.name]: encodeURIComponent(value) }), baseQuery),
              exp,
              `${r.key} {${p.name}} ${what}`,
            );
          }
        } else if (p.in === "query") {
          const values: [string, string, Expect | "ok"][] = integer
            ? [
                ["negative", "-1", [400, "validation_failed"]],
                ["fractional", "1.5", [400, "validation_failed"]],
                ["not a number", "abc", [400, "validation_failed"]],
                ["1e400", "1e400", [400, "validation_failed"]],
                ["SQL", encodeURIComponent(SQL), [400, "validation_failed"]],
                // zod's int() is a safe integer: beyond 2^53 is refused even without a maximum.
                ["1e308", "1e308", [400, "validation_failed"]],
                ["2^53+1", "9007199254740993", [400, "validation_failed"]],
              ]
            : [
                ...HOSTILE_STRINGS.map(([what, v]): [string, string, Expect | "ok"] => {
                  if (schema.pattern || schema.enum)
                    return [what, encodeURIComponent(v), [400, "validation_failed"]];
                  const plain = plainQuery(r, p.name);
                  if (!plain)
                    throw new Error(`declare what ${r.key} does with a hostile ${p.name} in PLAIN_QUERY`);
                  return [
                    what,
                    encodeURIComponent(v),
                    plain === "refused"
                      ? [400, "validation_failed"]
                      : plain === "not found"
                        ? [404, "not_found"]
                        : "ok",
                  ];
                }),
                ...(maxLength !== undefined
                  ? [
                      ["overlong", "a".repeat(maxLength + 1), [400, "validation_failed"]] as [
                        string,
                        string,
                        Expect,
                      ],
                    ]
                  : []),
              ];
          if (p.name === "queue" && r.key === "GET /v1/curation") {
            for (const [what, v] of HOSTILE_STRINGS)
              await attempt(
                send(pathOf(r, me), `queue=${encodeURIComponent(v)}`),
                [400, "validation_failed"],
                `${r.key} ?queue ${what}`,
              );
            continue;
          }
          for (const [what, v, exp] of values) {
            const label = `${r.key} ?${p.name} ${what}`;
            const q = withQuery(`${encodeURIComponent(p.name)}=${v}`);
            if (exp === "ok") {
              // Accepted as an opaque value: a clear answer (an empty page), nothing changes.
              const res = await unchanged(send(pathOf(r, me), q), label);
              expect(res.status, label).toBe(200);
              await res.body?.cancel();
            } else await attempt(send(pathOf(r, me), q), exp, label);
          }
        }
      }
    },
  );
});

// ---- what is data, not an attack ----------------------------------------------------------------

describe("SQL-looking and unicode text in free-text fields is data", () => {
  it(
    "is stored and answered byte for byte, and every table is still there",
    async () => {
      const tables = await allTables();
      const before = await dbState();
      const name = `Robert'); DROP TABLE participants;-- \u202e\u0301\u0000 𝕏 "quoted" \\ back`;
      const key = await generateParticipantKey();
      const res = await coordinator().write<{ subjectId: string }>("/v1/participants", "participant.admit", {
        role: "platform",
        displayName: name,
        jwks: { keys: [key.publicJwk] },
      });
      expect(res.status).toBe(201);
      if (!res.ok) throw new Error("unreachable");
      // A platform's admission takes a second signature.
      await countersign(res.data.subjectId, (res.data as unknown as { recordId: string }).recordId, "admit");
      const view = (await (await nodeFetch(`${BASE}/v1/participants/${res.data.subjectId}`)).json()) as {
        displayName: string;
      };
      expect(view.displayName).toBe(name);
      expect(await allTables()).toEqual(tables);
      const after = await dbState();
      expect(after.participants).toBe(before.participants! + 1);
      expect(after.audit_log).toBe(before.audit_log! + 2);
    },
    SLOW,
  );
});
