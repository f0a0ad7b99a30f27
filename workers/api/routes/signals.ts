// /v1/signals: platform-migration signals (design in docs/signals.md). Platforms register
// a key-wrapping key, receive selector keys wrapped by a coordinator, sign signals carrying
// client-side pseudonyms, look up and pull live signals, and retract their own; coordinators
// publish selector-key versions and reverse signals. Every answer that hands out a signal says
// it is a lead for human review, and every query filters out expired signals.

import {
  normaliseOutLink,
  parsePseudonym,
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
import {
  createSignal,
  grantKeyVersion,
  publishKeyVersion,
  retractSignal,
  reverseSignal,
  setEncKey,
} from "../apply/signals.ts";
import { access } from "../auth/access.ts";
import { nowIso } from "../lib/encoding.ts";
import {
  bearerSecurity,
  problems,
  type RouteContext,
  receiptResponse,
  router,
  signedBody,
} from "../lib/hono.ts";
import { ApiError } from "../lib/problem.ts";
import {
  encKeyViews,
  findHits,
  hasFetched,
  keyVersionsFor,
  knownKeyVersions,
  listReversals,
  recordFetches,
  secondsToNextUtcDay,
  signalPolicy,
  signalViews,
  takeLookupBudget,
  takeLookupToken,
  targetedSignalIds,
} from "../store/signals.ts";
import { signedWrite } from "./signed-write.ts";

const app = router();
const _DAY_S = 86_400;

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
export const postEncKey = signedWrite({ applier: setEncKey });
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
export const postKeyVersion = signedWrite({ applier: publishKeyVersion });
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
export const postKeyGrant = signedWrite({
  applier: grantKeyVersion,
  subject: { param: "version", field: "version", detail: "the record names another version" },
});
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
export const postSignal = signedWrite({
  applier: createSignal,
  answer: ({ receipt, plan }) => ({
    body: { ...receipt, signalId: plan.signalId, expiresAt: plan.expiresAt },
    status: 201,
  }),
});
app.openapi(postSignalRoute, postSignal);

export const lookupSignalsRoute = createRoute({
  method: "post",
  path: "/v1/signals/lookup",
  tags: ["signals"],
  summary: "Which of these pseudonymised selectors / URLs appear in live signals? (platform)",
  description: `Up to 1,000 selectors and URLs together. URLs are normalised by the node. Rate-limited per platform (429 rate_limited, Retry-After), and a platform may look up a limited number of distinct selectors, and as many distinct URLs, per UTC day (429 enumeration_limit). Every answer: "${SIGNAL_ADVISORY}"`,
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
  // Checked and counted in one atomic step, selectors and (normalised) URLs each on their own
  // daily budget, so concurrent lookups cannot all pass on the same count.
  const guard = await takeLookupBudget(c.var.db, me, { selectors: body.selectors, urls }, policy);
  if (!guard.ok) {
    const retry = secondsToNextUtcDay();
    const what = guard.over === "urls" ? "URLs" : "selectors";
    throw new ApiError(
      "enumeration_limit",
      `a platform may look up at most ${policy.maxDistinctSelectorsPerDay} distinct ${what} per UTC day; you have looked up ${guard.used} today and this request adds ${guard.asked}. ${guard.over === "urls" ? "URLs" : "Selectors"} already looked up today can be asked again; the count resets in ${retry}s.`,
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
  await recordFetches(c.var.db, me, [...ids]);
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
export const postSignalRetraction = signedWrite({
  applier: retractSignal,
  subject: { param: "id", field: "signalId", detail: "the record names another signal than the path" },
});
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
export const postSignalReversal = signedWrite({
  applier: reverseSignal,
  subject: { param: "id", field: "signalId", detail: "the record names another signal than the path" },
});
app.openapi(postSignalReversalRoute, postSignalReversal);

export default app;
