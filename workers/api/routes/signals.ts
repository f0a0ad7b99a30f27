// /v1/signals: platform-migration signals (design in docs/signals.md). Platforms register
// a key-wrapping key, receive selector keys wrapped by a coordinator, sign signals carrying
// client-side pseudonyms, look up and pull live signals, and retract their own; coordinators
// publish selector-key versions and reverse signals. Every answer that hands out a signal says
// it is a lead for human review, and every query filters out expired signals.

import {
  EncPublicJwk,
  newId,
  normaliseOutLink,
  parsePseudonym,
  SELECTOR_KEY_WRAP_ALG,
  SELECTOR_KEY_WRAP_ENC,
  SelectorKeysView,
  SelectorKeyVersionParam,
  SIGNAL_ADVISORY,
  SignalCursorQuery,
  SignalEncKeyList,
  SignalIdParam,
  SignalLookupRequest,
  SignalLookupResponse,
  SignalPullPage,
  SignalReceipt,
  SignalReversalPage,
  SignalView,
} from "@eusn/protocol";
import { createRoute } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { calculateJwkThumbprint, decodeProtectedHeader, type JWK } from "jose";
import { signalEncKeys, signalKeyVersions, signalKeyWraps } from "../../../schema/index.ts";
import { access } from "../auth/access.ts";
import { verifyWrite } from "../auth/verify.ts";
import { nowIso } from "../lib/encoding.ts";
import {
  type AppEnv,
  bearerSecurity,
  problems,
  type RouteContext,
  receiptResponse,
  router,
  signedBody,
} from "../lib/hono.ts";
import { ApiError } from "../lib/problem.ts";
import { getParticipant } from "../store/participants.ts";
import { commitWrite, type DomainStatements } from "../store/records.ts";
import {
  checkEnumerationGuard,
  encKeyViews,
  findHits,
  getEncKey,
  getKeyVersion,
  getSignal,
  hasFetched,
  insertSignalStatements,
  keyVersionsFor,
  knownKeyVersions,
  latestKeyVersion,
  listReversals,
  nowS,
  recordFetches,
  secondsToNextUtcDay,
  signalPolicy,
  signalViews,
  takeLookupToken,
  targetedSignalIds,
  withdrawStatements,
} from "../store/signals.ts";

const app = router();
const DAY_S = 86_400;

/** Uniqueness races that slipped past a pre-check become a plain conflict, not a 500. */
async function orConflict<T>(p: Promise<T>, what: string): Promise<T> {
  try {
    return await p;
  } catch (e) {
    if (/UNIQUE constraint failed: signal_/.test(String((e as Error)?.message ?? e))) {
      throw new ApiError("conflict", what);
    }
    throw e;
  }
}

/**
 * Checks wrapped keys against the registry: each names an active platform once, under the
 * encryption key that platform registered, as a JWE with the one accepted algorithm pair.
 * The node cannot open them, and does not need to.
 */
async function checkWraps(
  c: { var: AppEnv["Variables"] },
  wrapped: { participantId: string; kid: string; jwe: string }[],
): Promise<void> {
  const seen = new Set<string>();
  for (const [i, w] of wrapped.entries()) {
    const path = `/record/wrapped/${i}`;
    const fail = (message: string): never => {
      throw new ApiError("validation_failed", message, [{ path, message }]);
    };
    if (seen.has(w.participantId)) fail(`${w.participantId} is wrapped for twice`);
    seen.add(w.participantId);
    const p = await getParticipant(c.var.db, w.participantId);
    if (p?.status !== "active" || p.role !== "platform") fail(`${w.participantId} is not an active platform`);
    const enc = await getEncKey(c.var.db, w.participantId);
    if (!enc) fail(`${w.participantId} has not registered an encryption key`);
    if (enc!.kid !== w.kid)
      fail(`${w.participantId}'s registered encryption key is ${enc!.kid}, not ${w.kid}`);
    let header: Record<string, unknown>;
    try {
      header = decodeProtectedHeader(w.jwe) as Record<string, unknown>;
    } catch {
      return fail("the JWE protected header is not readable");
    }
    if (header.alg !== SELECTOR_KEY_WRAP_ALG || header.enc !== SELECTOR_KEY_WRAP_ENC) {
      fail(`wrap with alg ${SELECTOR_KEY_WRAP_ALG} and enc ${SELECTOR_KEY_WRAP_ENC}`);
    }
    if (header.kid !== w.kid) fail("the JWE header kid must name the platform's encryption key");
  }
}

function wrapStatements(
  c: { var: AppEnv["Variables"] },
  version: number,
  wrapped: { participantId: string; kid: string; jwe: string }[],
  recordId: string,
): DomainStatements {
  return wrapped.map((w) =>
    c.var.db
      .insert(signalKeyWraps)
      .values({ version, participantId: w.participantId, encKid: w.kid, jwe: w.jwe, recordId })
      .onConflictDoUpdate({
        target: [signalKeyWraps.version, signalKeyWraps.participantId],
        set: { encKid: w.kid, jwe: w.jwe, recordId },
      }),
  );
}

// ---- selector-key distribution ---------------------------------------------------------------

export const postEncKeyRoute = createRoute({
  method: "post",
  path: "/v1/signals/enc-keys",
  tags: ["signals"],
  summary: "Set your key-wrapping public key (platform)",
  description:
    "A P-256 public key to which the coordinator wraps selector keys (JWE ECDH-ES+A256KW). Replaces the previous one; ask the coordinator to re-grant live key versions afterwards.",
  request: { body: signedBody("signal.enckey.set", "SetSignalEncKeyRecord") },
  responses: { 201: receiptResponse, ...problems(400, 401, 403, 409, 413, 415) },
});
export async function postEncKey(c: RouteContext<typeof postEncKeyRoute>) {
  const w = await verifyWrite(c.req.raw, c.env, c.var.db, "signal.enckey.set", ["platform"]);
  if (w.record.participantId !== w.claims.iss) {
    throw new ApiError("forbidden", "a platform can only set its own encryption key");
  }
  const { kty, crv, x, y } = w.record.jwk;
  const kid = await calculateJwkThumbprint({ kty, crv, x, y } as JWK, "sha256");
  const bad = (message: string): never => {
    throw new ApiError("validation_failed", message, [{ path: "/record/jwk", message }]);
  };
  if (w.record.jwk.kid !== undefined && w.record.jwk.kid !== kid) {
    bad(`kid must be the RFC 7638 thumbprint of the key (${kid})`);
  }
  try {
    // Refuses points not on the curve (an invalid-curve key would leak the wrapped key).
    await crypto.subtle.importKey("jwk", { kty, crv, x, y }, { name: "ECDH", namedCurve: "P-256" }, true, []);
  } catch {
    bad("not a valid P-256 public key");
  }
  const clash = await c.var.db.select().from(signalEncKeys).where(eq(signalEncKeys.kid, kid));
  if (clash.some((k) => k.participantId !== w.claims.iss)) {
    throw new ApiError("conflict", "this encryption key is registered to another participant");
  }
  const jwk = EncPublicJwk.parse({ kty, crv, x, y, use: "enc", alg: SELECTOR_KEY_WRAP_ALG, kid });
  const now = nowS();
  const receipt = await commitWrite(c.var.db, c.env, w, w.claims.iss, (recordId) => [
    c.var.db
      .insert(signalEncKeys)
      .values({ participantId: w.claims.iss, kid, jwk: JSON.stringify(jwk), recordId, setAt: now })
      .onConflictDoUpdate({
        target: signalEncKeys.participantId,
        set: { kid, jwk: JSON.stringify(jwk), recordId, setAt: now },
      }),
  ]);
  return c.json(receipt, 201);
}
app.openapi(postEncKeyRoute, postEncKey);

export const getEncKeysRoute = createRoute({
  method: "get",
  path: "/v1/signals/enc-keys",
  tags: ["signals"],
  summary: "Active platforms' key-wrapping public keys (coordinator)",
  security: bearerSecurity,
  middleware: [access(["coordinator"])] as const,
  responses: {
    200: {
      description: "One current key per active platform that registered one",
      content: { "application/json": { schema: SignalEncKeyList } },
    },
    ...problems(401, 403),
  },
});
export async function getEncKeys(c: RouteContext<typeof getEncKeysRoute>) {
  return c.json({ encKeys: await encKeyViews(c.var.db) }, 200);
}
app.openapi(getEncKeysRoute, getEncKeys);

export const postKeyVersionRoute = createRoute({
  method: "post",
  path: "/v1/signals/keys",
  tags: ["signals"],
  summary: "Publish a selector-key version (coordinator)",
  description:
    "The key travels only wrapped (JWE) to each platform's registered encryption key; the node stores the ciphertexts and the version metadata, never the key. Versions increase; validity windows of consecutive versions should overlap.",
  request: { body: signedBody("signal.key.publish", "PublishSelectorKeyRecord") },
  responses: { 201: receiptResponse, ...problems(400, 401, 403, 409, 413, 415, 422) },
});
export async function postKeyVersion(c: RouteContext<typeof postKeyVersionRoute>) {
  const w = await verifyWrite(c.req.raw, c.env, c.var.db, "signal.key.publish", ["coordinator"]);
  const r = w.record;
  const latest = await latestKeyVersion(c.var.db);
  if (r.version <= latest) {
    throw new ApiError("conflict", `version ${r.version} is not after the latest version ${latest}`);
  }
  if (r.validUntil <= nowS()) throw new ApiError("unprocessable", "validUntil is in the past");
  await checkWraps(c, r.wrapped);
  const receipt = await orConflict(
    commitWrite(c.var.db, c.env, w, `selector-key-v${r.version}`, (recordId) => [
      c.var.db.insert(signalKeyVersions).values({
        version: r.version,
        validFrom: r.validFrom,
        validUntil: r.validUntil,
        recordId,
        publishedAt: nowS(),
      }),
      ...wrapStatements(c, r.version, r.wrapped, recordId),
    ]),
    `version ${r.version} was published concurrently`,
  );
  return c.json(receipt, 201);
}
app.openapi(postKeyVersionRoute, postKeyVersion);

export const postKeyGrantRoute = createRoute({
  method: "post",
  path: "/v1/signals/keys/{version}/grants",
  tags: ["signals"],
  summary: "Wrap an existing selector-key version for more platforms (coordinator)",
  description:
    "For platforms admitted after the version was published, or that replaced their encryption key. A platform's earlier wrap of the same version is replaced.",
  request: {
    params: SelectorKeyVersionParam,
    body: signedBody("signal.key.grant", "GrantSelectorKeyRecord"),
  },
  responses: { 201: receiptResponse, ...problems(400, 401, 403, 404, 413, 415, 422) },
});
export async function postKeyGrant(c: RouteContext<typeof postKeyGrantRoute>) {
  const { version } = c.req.valid("param");
  const w = await verifyWrite(c.req.raw, c.env, c.var.db, "signal.key.grant", ["coordinator"]);
  if (w.record.version !== version) throw new ApiError("bad_request", "the record names another version");
  const v = await getKeyVersion(c.var.db, version);
  if (!v) throw new ApiError("not_found", `no selector-key version ${version}`);
  if (v.validUntil + signalPolicy(c.env).maxExpiryDays * DAY_S <= nowS()) {
    throw new ApiError("unprocessable", `version ${version} is retired: no signal made with it can be live`);
  }
  await checkWraps(c, w.record.wrapped);
  const receipt = await commitWrite(c.var.db, c.env, w, `selector-key-v${version}`, (recordId) =>
    wrapStatements(c, version, w.record.wrapped, recordId),
  );
  return c.json(receipt, 201);
}
app.openapi(postKeyGrantRoute, postKeyGrant);

export const getKeyVersionsRoute = createRoute({
  method: "get",
  path: "/v1/signals/keys",
  tags: ["signals"],
  summary: "Selector-key versions, with your wrapped copy (platform, coordinator)",
  description:
    "Pseudonymise new signals under `current`, and lookups under every version with `acceptsLookups`. Unwrap with your encryption private key; check the JWE appears in the coordinator-signed record `recordId`.",
  security: bearerSecurity,
  middleware: [access(["platform", "coordinator"])] as const,
  responses: {
    200: { description: "Key versions", content: { "application/json": { schema: SelectorKeysView } } },
    ...problems(401, 403),
  },
});
export async function getKeyVersions(c: RouteContext<typeof getKeyVersionsRoute>) {
  const caller = c.var.caller!;
  return c.json(await keyVersionsFor(c.var.db, caller.participant.id, signalPolicy(c.env)), 200);
}
app.openapi(getKeyVersionsRoute, getKeyVersions);

// ---- signals ---------------------------------------------------------------------------------

export const postSignalRoute = createRoute({
  method: "post",
  path: "/v1/signals",
  tags: ["signals"],
  summary: "Share a migration signal (platform)",
  description:
    "Selectors are pseudonyms made on the platform (HMAC-SHA-256 under a selector-key version that accepts new signals); anything else is refused. Out-links must be in normal form. Expiry: default 90 days from iat, at most 180 (or the node's policy).",
  request: { body: signedBody("signal.create", "CreateMigrationSignalRecord") },
  responses: {
    201: {
      description: "The signal was accepted",
      content: { "application/json": { schema: SignalReceipt } },
    },
    ...problems(400, 401, 403, 409, 413, 415, 422),
  },
});
export async function postSignal(c: RouteContext<typeof postSignalRoute>) {
  const w = await verifyWrite(c.req.raw, c.env, c.var.db, "signal.create", ["platform"]);
  const r = w.record;
  const policy = signalPolicy(c.env);
  const now = nowS();
  const days = r.expiresInDays ?? policy.defaultExpiryDays;
  if (days > policy.maxExpiryDays) {
    const message = `this node keeps signals at most ${policy.maxExpiryDays} days`;
    throw new ApiError("validation_failed", message, [{ path: "/record/expiresInDays", message }]);
  }
  const v = await getKeyVersion(c.var.db, r.keyVersion);
  if (!v) throw new ApiError("unprocessable", `no selector-key version ${r.keyVersion}`);
  if (!(v.validFrom <= now && now < v.validUntil)) {
    throw new ApiError(
      "unprocessable",
      `selector-key version ${r.keyVersion} does not accept new signals now (valid ${nowIso(v.validFrom * 1000)} to ${nowIso(v.validUntil * 1000)})`,
    );
  }
  if (r.targetPlatformId !== undefined) {
    const t = await getParticipant(c.var.db, r.targetPlatformId);
    if (t?.status !== "active" || t.role !== "platform") {
      throw new ApiError("unprocessable", `target ${r.targetPlatformId} is not an active platform`);
    }
    if (t.id === w.claims.iss) throw new ApiError("unprocessable", "a signal cannot target its own platform");
  }
  const id = newId("signal");
  const expiresAt = w.claims.iat + days * DAY_S;
  const receipt = await commitWrite(c.var.db, c.env, w, id, (recordId) =>
    insertSignalStatements(
      c.var.db,
      {
        id,
        recordId,
        originId: w.claims.iss,
        kind: r.kind,
        keyVersion: r.keyVersion,
        targetPlatformId: r.targetPlatformId ?? null,
        targetHost: r.targetHost ?? null,
        tcoLimb: r.reason.tcoLimb,
        relatedSubmissions: JSON.stringify(r.relatedSubmissions),
        createdAt: w.claims.iat,
        expiresAt,
      },
      r.selectors,
      r.outLinks,
    ),
  );
  return c.json({ ...receipt, signalId: id, expiresAt: nowIso(expiresAt * 1000) }, 201);
}
app.openapi(postSignalRoute, postSignal);

export const lookupSignalsRoute = createRoute({
  method: "post",
  path: "/v1/signals/lookup",
  tags: ["signals"],
  summary: "Which of these pseudonymised selectors / URLs appear in live signals? (platform)",
  description: `Up to 1,000 selectors and URLs together. URLs are normalised by the node. Rate-limited per platform (429 rate_limited, Retry-After), and a platform may look up a limited number of distinct selectors per UTC day (429 enumeration_limit). Every answer: "${SIGNAL_ADVISORY}"`,
  security: bearerSecurity,
  middleware: [access(["platform"])] as const,
  request: {
    body: { required: true, content: { "application/json": { schema: SignalLookupRequest } } },
  },
  responses: {
    200: {
      description: "Hits and the live signals they point to",
      content: { "application/json": { schema: SignalLookupResponse } },
    },
    ...problems(400, 401, 403, 429),
  },
});
export async function lookupSignals(c: RouteContext<typeof lookupSignalsRoute>) {
  const caller = c.var.caller!;
  const body = c.req.valid("json");
  const errors: { path: string; message: string }[] = [];
  const urls: string[] = [];
  body.urls.forEach((u, i) => {
    const n = normaliseOutLink(u);
    if (n.ok) urls.push(n.value);
    else errors.push({ path: `/urls/${i}`, message: `not a public http(s) URL: ${n.reason}` });
  });
  const versions = body.selectors.map((s) => parsePseudonym(s)!.version);
  const known = await knownKeyVersions(c.var.db, versions);
  versions.forEach((v, i) => {
    if (!known.has(v)) errors.push({ path: `/selectors/${i}`, message: `no selector-key version ${v}` });
  });
  if (errors.length > 0) throw new ApiError("validation_failed", "the request did not validate", errors);

  const policy = signalPolicy(c.env);
  const me = caller.participant.id;
  const token = await takeLookupToken(c.env.DB, me, policy.lookupsPerMinute);
  if (!token.ok) {
    throw new ApiError(
      "rate_limited",
      `at most ${policy.lookupsPerMinute} lookups per minute; retry in ${token.retryAfterS}s`,
      undefined,
      { "retry-after": String(token.retryAfterS) },
    );
  }
  const guard = await checkEnumerationGuard(c.var.db, me, body.selectors, policy.maxDistinctSelectorsPerDay);
  if (!guard.ok) {
    const retry = secondsToNextUtcDay();
    throw new ApiError(
      "enumeration_limit",
      `a platform may look up at most ${policy.maxDistinctSelectorsPerDay} distinct selectors per UTC day; you have looked up ${guard.used} today and this request adds ${guard.asked}. Selectors already looked up today can be asked again; the count resets in ${retry}s.`,
      undefined,
      { "retry-after": String(retry) },
    );
  }
  const hits = await findHits(c.var.db, body.selectors, urls);
  const views = await signalViews(
    c.var.db,
    hits.map((h) => h.signalId),
  );
  const ids = new Set(views.map((v) => v.id));
  await recordFetches(c.var.db, me, [...ids], guard.statements);
  return c.json(
    {
      advisory: SIGNAL_ADVISORY,
      asOf: nowIso(),
      hits: hits.filter((h) => ids.has(h.signalId)),
      signals: views.map(({ seq: _seq, ...v }) => v),
    },
    200,
  );
}
app.openapi(lookupSignalsRoute, lookupSignals);

export const listTargetedSignalsRoute = createRoute({
  method: "get",
  path: "/v1/signals/targeted",
  tags: ["signals"],
  summary: "Live signals that name you as target platform, since a cursor (platform)",
  security: bearerSecurity,
  middleware: [access(["platform"])] as const,
  request: { query: SignalCursorQuery },
  responses: {
    200: { description: "Signals in order", content: { "application/json": { schema: SignalPullPage } } },
    ...problems(400, 401, 403),
  },
});
export async function listTargetedSignals(c: RouteContext<typeof listTargetedSignalsRoute>) {
  const me = c.var.caller!.participant.id;
  const { after, limit } = c.req.valid("query");
  const ids = await targetedSignalIds(c.var.db, me, after, limit + 1);
  const page = await signalViews(c.var.db, ids.slice(0, limit));
  await recordFetches(
    c.var.db,
    me,
    page.map((v) => v.id),
  );
  return c.json(
    {
      advisory: SIGNAL_ADVISORY,
      signals: page,
      next: ids.length > limit && page.length > 0 ? page[page.length - 1]!.seq : null,
    },
    200,
  );
}
app.openapi(listTargetedSignalsRoute, listTargetedSignals);

export const listSignalReversalsRoute = createRoute({
  method: "get",
  path: "/v1/signals/reversals",
  tags: ["signals"],
  summary: "Retractions and reversals of signals you were handed or made, since a cursor",
  description:
    "Platforms see withdrawals of signals they fetched (lookup hit or pull) or made; coordinators see all. Drop a withdrawn signal from your review queue.",
  security: bearerSecurity,
  middleware: [access(["platform", "coordinator"])] as const,
  request: { query: SignalCursorQuery },
  responses: {
    200: {
      description: "Withdrawals in order",
      content: { "application/json": { schema: SignalReversalPage } },
    },
    ...problems(400, 401, 403),
  },
});
export async function listSignalReversals(c: RouteContext<typeof listSignalReversalsRoute>) {
  const caller = c.var.caller!.participant;
  const { after, limit } = c.req.valid("query");
  const rows = await listReversals(
    c.var.db,
    caller.role === "coordinator" ? null : caller.id,
    after,
    limit + 1,
  );
  const page = rows.slice(0, limit);
  return c.json({ reversals: page, next: rows.length > limit ? page[page.length - 1]!.seq : null }, 200);
}
app.openapi(listSignalReversalsRoute, listSignalReversals);

export const showSignalRoute = createRoute({
  method: "get",
  path: "/v1/signals/{id}",
  tags: ["signals"],
  summary: "One live signal (its originator, a platform it was handed to, or a coordinator)",
  security: bearerSecurity,
  middleware: [access(["platform", "coordinator"])] as const,
  request: { params: SignalIdParam },
  responses: {
    200: { description: "The signal", content: { "application/json": { schema: SignalView } } },
    ...problems(400, 401, 403, 404),
  },
});
export async function showSignal(c: RouteContext<typeof showSignalRoute>) {
  const caller = c.var.caller!.participant;
  const { id } = c.req.valid("param");
  const [view] = await signalViews(c.var.db, [id]);
  // Someone who may not see it learns nothing more than that it is not theirs to see.
  const allowed =
    view !== undefined &&
    (caller.role === "coordinator" ||
      view.origin.participantId === caller.id ||
      (await hasFetched(c.var.db, caller.id, id)));
  if (!view || !allowed) throw new ApiError("not_found", `no live signal ${id} for you`);
  const { seq: _seq, ...rest } = view;
  return c.json(rest, 200);
}
app.openapi(showSignalRoute, showSignal);

export const postSignalRetractionRoute = createRoute({
  method: "post",
  path: "/v1/signals/{id}/retract",
  tags: ["signals"],
  summary: "Retract your own signal (originating platform)",
  description:
    "The signal stops matching at once and its selector and out-link index rows are deleted; platforms that fetched it see the retraction in /v1/signals/reversals.",
  request: { params: SignalIdParam, body: signedBody("signal.retract", "RetractMigrationSignalRecord") },
  responses: { 201: receiptResponse, ...problems(400, 401, 403, 404, 409, 413, 415) },
});
export async function postSignalRetraction(c: RouteContext<typeof postSignalRetractionRoute>) {
  const { id } = c.req.valid("param");
  const w = await verifyWrite(c.req.raw, c.env, c.var.db, "signal.retract", ["platform"]);
  if (w.record.signalId !== id)
    throw new ApiError("bad_request", "the record names another signal than the path");
  const s = await getSignal(c.var.db, id);
  if (!s || s.expiresAt <= nowS()) throw new ApiError("not_found", `no live signal ${id}`);
  if (s.originId !== w.claims.iss)
    throw new ApiError("forbidden", "only the originating platform can retract a signal");
  if (s.status !== "active") throw new ApiError("conflict", `signal ${id} is already ${s.status}`);
  const receipt = await orConflict(
    commitWrite(c.var.db, c.env, w, id, (recordId) =>
      withdrawStatements(c.var.db, id, {
        id: newId("reversal"),
        action: "retracted",
        actorId: w.claims.iss,
        recordId,
        ground: null,
        reason: w.record.reason ?? null,
      }),
    ),
    `signal ${id} was withdrawn concurrently`,
  );
  return c.json(receipt, 201);
}
app.openapi(postSignalRetractionRoute, postSignalRetraction);

export const postSignalReversalRoute = createRoute({
  method: "post",
  path: "/v1/signals/{id}/reverse",
  tags: ["signals"],
  summary: "Reverse a signal (coordinator), e.g. after the user's successful appeal",
  description:
    "The signal stops matching at once and its selector and out-link index rows are deleted; every platform that fetched it sees the reversal in /v1/signals/reversals.",
  request: { params: SignalIdParam, body: signedBody("signal.reverse", "ReverseMigrationSignalRecord") },
  responses: { 201: receiptResponse, ...problems(400, 401, 403, 404, 409, 413, 415) },
});
export async function postSignalReversal(c: RouteContext<typeof postSignalReversalRoute>) {
  const { id } = c.req.valid("param");
  const w = await verifyWrite(c.req.raw, c.env, c.var.db, "signal.reverse", ["coordinator"]);
  if (w.record.signalId !== id)
    throw new ApiError("bad_request", "the record names another signal than the path");
  const s = await getSignal(c.var.db, id);
  if (!s || s.expiresAt <= nowS()) throw new ApiError("not_found", `no live signal ${id}`);
  if (s.status !== "active") throw new ApiError("conflict", `signal ${id} is already ${s.status}`);
  const receipt = await orConflict(
    commitWrite(c.var.db, c.env, w, id, (recordId) =>
      withdrawStatements(c.var.db, id, {
        id: newId("reversal"),
        action: "reversed",
        actorId: w.claims.iss,
        recordId,
        ground: w.record.ground,
        reason: w.record.reason,
      }),
    ),
    `signal ${id} was withdrawn concurrently`,
  );
  return c.json(receipt, 201);
}
app.openapi(postSignalReversalRoute, postSignalReversal);

export default app;
