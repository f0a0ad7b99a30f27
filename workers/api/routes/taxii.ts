// /taxii2/: a read-only TAXII 2.1 server over the baseline (and, for authorities and coordinators,
// every submission) so MISP/OpenCTI-style tools consume EUSN without custom code. Every response
// is `application/taxii+json;version=2.1`, errors included (a TAXII error message that also carries
// the problem `code` and `requestId`). Authentication: the participant bearer token, or HTTP Basic
// with an API credential. Decisions and the spec→test map: docs/taxii.md.

import {
  MAX_BODY_BYTES,
  PROBLEMS,
  type ProblemCode,
  problemType,
  type Role,
  STIX_MEDIA_TYPE,
  TAXII_API_ROOT,
  TAXII_COLLECTIONS,
  TAXII_DEFAULT_LIMIT,
  TAXII_MAX_LIMIT,
  TAXII_MEDIA_TYPE,
  TaxiiApiRoot,
  TaxiiCollection,
  type TaxiiCollectionKey,
  TaxiiCollectionParam,
  TaxiiCollections,
  TaxiiDiscovery,
  TaxiiEnvelope,
  TaxiiError,
  TaxiiManifest,
  TaxiiObjectParam,
  TaxiiObjectQuery,
  TaxiiQuery,
  TaxiiVersions,
  TaxiiVersionsQuery,
} from "@eusn/protocol";
import { createRoute, type z } from "@hono/zod-openapi";
import type { Context, ErrorHandler, MiddlewareHandler, TypedResponse } from "hono";
import { type Reader, verifyReader } from "../auth/basic.ts";
import { type AppEnv, type RouteContext, router } from "../lib/hono.ts";
import { ApiError } from "../lib/problem.ts";
import { safeErrorSummary } from "../lib/safe-log.ts";
import { type Filter, type Page, type VersionFilter, walk } from "../taxii/feed.ts";

const app = router();
const ROOT = `/taxii2/${TAXII_API_ROOT}`;
const READERS = ["coordinator", "authority", "platform"] as const satisfies readonly Role[];
const MAX_MATCH_IDS = 50;

const readers = new WeakMap<Request, Reader>();

// ---- errors: TAXII error messages (§3.6.1) carrying the problem code --------------------------

function taxiiError(
  code: ProblemCode,
  requestId: string,
  detail?: string,
  errors?: { path: string; message: string }[],
  headers?: Record<string, string>,
): Response {
  const { status, title } = PROBLEMS[code];
  const body: TaxiiError = {
    title,
    ...(detail !== undefined ? { description: detail } : {}),
    error_id: requestId,
    error_code: code,
    http_status: String(status),
    external_details: problemType(code),
    ...(errors && errors.length > 0 ? { details: { errors } } : {}),
    code,
    requestId,
    status,
  };
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": TAXII_MEDIA_TYPE, "x-request-id": requestId, ...headers },
  });
}

/** Every error under /taxii2/ as a TAXII error message. */
export const taxiiErrors: ErrorHandler<AppEnv> = (err, c) => {
  const requestId = c.var.requestId ?? crypto.randomUUID();
  if (err instanceof ApiError) return taxiiError(err.code, requestId, err.detail, err.errors, err.headers);
  // Same rule as the app's handler: no bound parameters, tokens or pseudonyms in logs.
  console.error(`request ${requestId} failed:`, safeErrorSummary(err));
  return taxiiError("internal_error", requestId, "the node failed to handle this request");
};
app.onError(taxiiErrors);

// ---- content negotiation and authentication, before anything else ----------------------------

/**
 * TAXII 2.1 §1.6.8: a client asks for `application/taxii+json;version=2.1`. Accepted: that, the
 * same without a version (= the latest, 2.1), `application/*`, `*\/*`, or no Accept header at
 * all. Anything else (application/json, application/stix+json, version=2.0, q=0) is a 406.
 */
export function acceptsTaxii(accept: string | undefined): boolean {
  if (!accept || accept.trim() === "") return true;
  for (const range of accept.split(",")) {
    const [type, ...params] = range.split(";").map((p) => p.trim().toLowerCase());
    const param = new Map(
      params.map((p) => {
        const [k, v = ""] = p.split("=").map((x) => x.trim().replace(/^"|"$/g, ""));
        return [k!, v] as const;
      }),
    );
    if (param.get("q") !== undefined && Number(param.get("q")) === 0) continue;
    if (type === "*/*" || type === "application/*") return true;
    if (type === "application/taxii+json" && (param.get("version") ?? "2.1") === "2.1") return true;
  }
  return false;
}

/** Before anything else under /taxii2/: the media type the client accepts, then who it is. */
export const taxiiGate: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!acceptsTaxii(c.req.header("accept"))) {
    throw new ApiError(
      "not_acceptable",
      `this TAXII 2.1 server answers only ${TAXII_MEDIA_TYPE}; the request accepts ${c.req.header("accept")}`,
    );
  }
  readers.set(c.req.raw, await verifyReader(c.req.raw, c.env, c.var.db, READERS));
  await next();
};
app.use("/taxii2/*", taxiiGate);

function reader(c: Context<AppEnv>): Reader {
  return readers.get(c.req.raw)!;
}

/**
 * A 200 with the TAXII media type. @hono/zod-openapi types a "+json" content as a JSON response;
 * the body is serialised here instead (c.json would set application/json), hence the cast.
 */
function taxii(c: Context<AppEnv>, body: unknown, headers: Record<string, string> = {}) {
  const res = c.body(JSON.stringify(body), 200, { "content-type": TAXII_MEDIA_TYPE, ...headers });
  return res as unknown as TypedResponse<never, 200, "json">;
}

// ---- collections and access -------------------------------------------------------------------

function canRead(key: TaxiiCollectionKey, role: Role): boolean {
  return (TAXII_COLLECTIONS[key].readers as readonly Role[]).includes(role);
}

function collectionResource(key: TaxiiCollectionKey, role: Role) {
  const col = TAXII_COLLECTIONS[key];
  return {
    id: col.id,
    title: col.title,
    description: col.description,
    alias: key,
    can_read: canRead(key, role),
    can_write: false,
    media_types: [STIX_MEDIA_TYPE],
  };
}

/** A collection by id or alias; 404 when there is none. */
function findCollection(idOrAlias: string): TaxiiCollectionKey {
  for (const key of Object.keys(TAXII_COLLECTIONS) as TaxiiCollectionKey[]) {
    if (TAXII_COLLECTIONS[key].id === idOrAlias || key === idOrAlias) return key;
  }
  throw new ApiError("not_found", `no collection ${idOrAlias} on this API root`);
}

/** A collection the reader may read (403 otherwise: the collection resource says can_read false). */
function readable(c: Context<AppEnv>, idOrAlias: string): TaxiiCollectionKey {
  const key = findCollection(idOrAlias);
  const role = reader(c).participant.role;
  if (!canRead(key, role)) {
    throw new ApiError(
      "forbidden",
      `a ${role} may not read the ${key} collection (its entries are not yet cross-border assessed)`,
    );
  }
  return key;
}

// ---- query parameters (TAXII 2.1 §3.4) --------------------------------------------------------

const STAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/i;

/** A timestamp floored to milliseconds (what the node stores), or null when malformed. */
function floorMs(ts: string): string | null {
  const m = STAMP.exec(ts.trim());
  if (!m) return null;
  const t = Date.parse(`${m[1]}.${(m[2] ?? "").slice(0, 3).padEnd(3, "0")}${m[3]}`);
  return Number.isFinite(t) ? new Date(t).toISOString() : null;
}

const bad = (param: string, message: string) =>
  new ApiError("validation_failed", `invalid ${param}`, [{ path: `/${param}`, message }]);

const list = (v: string | undefined) =>
  v === undefined
    ? undefined
    : v
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s.length > 0);

function parseQuery(q: TaxiiQuery, defaultVersion: "last" | "all") {
  let addedAfter: string | undefined;
  if (q.added_after !== undefined) {
    const t = floorMs(q.added_after);
    if (!t) throw bad("added_after", "an RFC 3339 timestamp, e.g. 2026-01-31T12:00:00.000Z");
    addedAfter = t;
  }
  let limit = TAXII_DEFAULT_LIMIT;
  if (q.limit !== undefined) {
    if (!/^\d{1,9}$/.test(q.limit) || Number(q.limit) < 1) throw bad("limit", "a positive integer");
    limit = Math.min(Number(q.limit), TAXII_MAX_LIMIT); // a server may return fewer (TAXII 2.1 §3.4.1)
  }
  let after: number | null = null;
  if (q.next !== undefined) {
    if (!/^\d{1,15}$/.test(q.next)) throw bad("next", "the `next` value of a previous response");
    after = Number(q.next);
  }
  const ids = list(q["match[id]"]);
  if (ids) {
    if (ids.length > MAX_MATCH_IDS) throw bad("match[id]", `at most ${MAX_MATCH_IDS} ids`);
    for (const id of ids) {
      if (!/^[a-z][a-z0-9-]{1,248}--[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id))
        throw bad("match[id]", `${id} is not a STIX identifier`);
    }
  }
  const types = list(q["match[type]"]);
  for (const t of types ?? []) {
    if (!/^[a-z0-9-]{3,250}$/.test(t)) throw bad("match[type]", `${t} is not a STIX type`);
  }
  const version: VersionFilter = { last: false, first: false, all: false, stamps: new Set() };
  for (const v of list(q["match[version]"]) ?? [defaultVersion]) {
    if (v === "last" || v === "first" || v === "all") version[v] = true;
    else {
      const m = STAMP.exec(v);
      const t = floorMs(v);
      if (!m || !t) throw bad("match[version]", `${v} is not last, first, all or a timestamp`);
      // A version is a millisecond timestamp; more precision only matches when it adds zeros.
      if (/^0*$/.test((m[2] ?? "").slice(3))) version.stamps.add(t);
    }
  }
  const specs = list(q["match[spec_version]"]);
  const filter: Filter = {
    addedAfter,
    ids: ids ? new Set(ids) : undefined,
    types: types ? new Set(types) : undefined,
    version,
    specVersionOk: !specs || specs.includes("2.1"),
  };
  return { filter, limit, after };
}

function pageHeaders(page: Page): Record<string, string> {
  const first = page.entries[0];
  const last = page.entries[page.entries.length - 1];
  return first && last
    ? { "x-taxii-date-added-first": first.dateAdded, "x-taxii-date-added-last": last.dateAdded }
    : {};
}

function paging(page: Page) {
  return { more: page.more, ...(page.more && page.next !== null ? { next: String(page.next) } : {}) };
}

// ---- OpenAPI plumbing -------------------------------------------------------------------------

app.openAPIRegistry.registerComponent("securitySchemes", "apiCredential", {
  type: "http",
  scheme: "basic",
  description:
    "Username = participant id, password = an API credential secret (POST /v1/participants/{id}/api-credentials).",
});
const security = [{ participantToken: [] }, { apiCredential: [] }];
const taxiiContent = <T extends z.ZodType>(schema: T) => ({ [TAXII_MEDIA_TYPE]: { schema } });
const errorResponses = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((s) => [s, { description: "TAXII error message", content: taxiiContent(TaxiiError) }]),
  );

// ---- endpoints --------------------------------------------------------------------------------

export const getDiscoveryRoute = createRoute({
  method: "get",
  path: "/taxii2/",
  tags: ["taxii"],
  summary: "TAXII 2.1 discovery",
  security,
  responses: {
    200: { description: "Server discovery", content: taxiiContent(TaxiiDiscovery) },
    ...errorResponses(401, 403, 406),
  },
});
export function getDiscovery(c: RouteContext<typeof getDiscoveryRoute>) {
  const root = `${new URL(c.req.url).origin}${ROOT}/`;
  return taxii(c, {
    title: `EUSN node ${c.env.NODE_ID}`,
    description:
      "Read-only TAXII 2.1 view of the EU Signal Network: the cross-border-assessed baseline of terrorist-content hash fingerprints as STIX 2.1 indicators.",
    default: root,
    api_roots: [root],
  });
}
app.openapi(getDiscoveryRoute, getDiscovery);

export const getApiRootRoute = createRoute({
  method: "get",
  path: `${ROOT}/`,
  tags: ["taxii"],
  summary: "TAXII 2.1 API root",
  security,
  responses: {
    200: { description: "API root information", content: taxiiContent(TaxiiApiRoot) },
    ...errorResponses(401, 403, 406),
  },
});
export function getApiRoot(c: RouteContext<typeof getApiRootRoute>) {
  return taxii(c, {
    title: "EUSN",
    description: "Baseline and submissions of this EUSN node (read-only).",
    versions: [TAXII_MEDIA_TYPE],
    max_content_length: MAX_BODY_BYTES,
  });
}
app.openapi(getApiRootRoute, getApiRoot);

export const listCollectionsRoute = createRoute({
  method: "get",
  path: `${ROOT}/collections/`,
  tags: ["taxii"],
  summary: "TAXII 2.1 collections (can_read says what your role may read)",
  security,
  responses: {
    200: { description: "The collections", content: taxiiContent(TaxiiCollections) },
    ...errorResponses(401, 403, 406),
  },
});
export function listCollections(c: RouteContext<typeof listCollectionsRoute>) {
  const role = reader(c).participant.role;
  return taxii(c, {
    collections: (Object.keys(TAXII_COLLECTIONS) as TaxiiCollectionKey[]).map((k) =>
      collectionResource(k, role),
    ),
  });
}
app.openapi(listCollectionsRoute, listCollections);

export const getCollectionRoute = createRoute({
  method: "get",
  path: `${ROOT}/collections/{id}/`,
  tags: ["taxii"],
  summary: "One TAXII 2.1 collection",
  security,
  request: { params: TaxiiCollectionParam },
  responses: {
    200: { description: "The collection", content: taxiiContent(TaxiiCollection) },
    ...errorResponses(401, 403, 404, 406),
  },
});
export function getCollection(c: RouteContext<typeof getCollectionRoute>) {
  return taxii(c, collectionResource(findCollection(c.req.valid("param").id), reader(c).participant.role));
}
app.openapi(getCollectionRoute, getCollection);

export const getObjectsRoute = createRoute({
  method: "get",
  path: `${ROOT}/collections/{id}/objects/`,
  tags: ["taxii"],
  summary: "STIX objects of a collection, paged by log position (`next`), newest versions by default",
  description:
    "Filters: added_after, match[id], match[type], match[version] (last|first|all|timestamp), match[spec_version]. `next` is a position in the collection's log: pages never skip or repeat a version, even while new ones arrive.",
  security,
  request: { params: TaxiiCollectionParam, query: TaxiiQuery },
  responses: {
    200: { description: "An envelope", content: taxiiContent(TaxiiEnvelope) },
    ...errorResponses(400, 401, 403, 404, 406),
  },
});
export async function getObjects(c: RouteContext<typeof getObjectsRoute>) {
  const key = readable(c, c.req.valid("param").id);
  const { filter, limit, after } = parseQuery(c.req.valid("query"), "last");
  const page = await walk(c.var.db, key, filter, after, limit);
  return taxii(
    c,
    { ...paging(page), ...(page.entries.length > 0 ? { objects: page.entries.map((e) => e.object) } : {}) },
    pageHeaders(page),
  );
}
app.openapi(getObjectsRoute, getObjects);

export const getManifestRoute = createRoute({
  method: "get",
  path: `${ROOT}/collections/{id}/manifest/`,
  tags: ["taxii"],
  summary: "Manifest of a collection (id, date_added, version, media_type), same filters and paging",
  security,
  request: { params: TaxiiCollectionParam, query: TaxiiQuery },
  responses: {
    200: { description: "A manifest", content: taxiiContent(TaxiiManifest) },
    ...errorResponses(400, 401, 403, 404, 406),
  },
});
export async function getManifest(c: RouteContext<typeof getManifestRoute>) {
  const key = readable(c, c.req.valid("param").id);
  const { filter, limit, after } = parseQuery(c.req.valid("query"), "last");
  const page = await walk(c.var.db, key, filter, after, limit);
  return taxii(
    c,
    {
      ...paging(page),
      ...(page.entries.length > 0
        ? {
            objects: page.entries.map((e) => ({
              id: e.id,
              date_added: e.dateAdded,
              version: e.version,
              media_type: STIX_MEDIA_TYPE,
            })),
          }
        : {}),
    },
    pageHeaders(page),
  );
}
app.openapi(getManifestRoute, getManifest);

/** The object must exist in the collection (any version, any time), else 404. */
async function requireObject(c: Context<AppEnv>, key: TaxiiCollectionKey, objectId: string) {
  const anyVersion: Filter = {
    ids: new Set([objectId]),
    version: { last: false, first: false, all: true, stamps: new Set() },
    specVersionOk: true,
  };
  const found = await walk(c.var.db, key, anyVersion, null, 1);
  if (found.entries.length === 0)
    throw new ApiError("not_found", `no object ${objectId} in the ${key} collection`);
}

export const getObjectRoute = createRoute({
  method: "get",
  path: `${ROOT}/collections/{id}/objects/{objectId}/`,
  tags: ["taxii"],
  summary: "One STIX object (its newest version by default; match[version]=all for every version)",
  security,
  request: { params: TaxiiObjectParam, query: TaxiiObjectQuery },
  responses: {
    200: { description: "An envelope with the object's versions", content: taxiiContent(TaxiiEnvelope) },
    ...errorResponses(400, 401, 403, 404, 406),
  },
});
export async function getObject(c: RouteContext<typeof getObjectRoute>) {
  const { id, objectId } = c.req.valid("param");
  const key = readable(c, id);
  const { filter, limit, after } = parseQuery(c.req.valid("query"), "last");
  await requireObject(c, key, objectId);
  const page = await walk(c.var.db, key, { ...filter, ids: new Set([objectId]) }, after, limit);
  return taxii(
    c,
    { ...paging(page), ...(page.entries.length > 0 ? { objects: page.entries.map((e) => e.object) } : {}) },
    pageHeaders(page),
  );
}
app.openapi(getObjectRoute, getObject);

export const getObjectVersionsRoute = createRoute({
  method: "get",
  path: `${ROOT}/collections/{id}/objects/{objectId}/versions/`,
  tags: ["taxii"],
  summary: "Every version (the `modified` timestamps) of one STIX object, oldest first",
  security,
  request: {
    params: TaxiiObjectParam,
    query: TaxiiVersionsQuery,
  },
  responses: {
    200: { description: "The versions", content: taxiiContent(TaxiiVersions) },
    ...errorResponses(400, 401, 403, 404, 406),
  },
});
export async function getObjectVersions(c: RouteContext<typeof getObjectVersionsRoute>) {
  const { id, objectId } = c.req.valid("param");
  const key = readable(c, id);
  const { filter, limit, after } = parseQuery(c.req.valid("query"), "all");
  await requireObject(c, key, objectId);
  const page = await walk(c.var.db, key, { ...filter, ids: new Set([objectId]) }, after, limit);
  return taxii(
    c,
    {
      ...paging(page),
      ...(page.entries.length > 0 ? { versions: page.entries.map((e) => e.version) } : {}),
    },
    pageHeaders(page),
  );
}
app.openapi(getObjectVersionsRoute, getObjectVersions);

/** Anything else under /taxii2/ (after authentication): a TAXII 404, or 405 for a write method. */
export function taxiiFallback(c: Context<AppEnv>): never {
  const method = c.req.method;
  if (method !== "GET" && method !== "HEAD") {
    throw new ApiError(
      "method_not_allowed",
      `this TAXII server is read-only; ${method} is not allowed`,
      undefined,
      { allow: "GET, HEAD" },
    );
  }
  throw new ApiError("not_found", `no TAXII resource at ${new URL(c.req.url).pathname}`);
}
app.all("/taxii2/*", taxiiFallback);

export default app;
