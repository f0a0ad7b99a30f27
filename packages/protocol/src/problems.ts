// The closed table of problem codes (RFC 9457 `code` extension member) and their HTTP statuses.
// Every error the node returns uses one of these; clients can switch on `code`.

export const PROBLEMS = {
  bad_request: { status: 400, title: "Bad request" },
  validation_failed: { status: 400, title: "The request did not validate" },
  malformed_json: { status: 400, title: "The body is not valid JSON" },
  invalid_jws: { status: 400, title: "The body is not a well-formed compact JWS" },
  unauthenticated: { status: 401, title: "Authentication required" },
  invalid_token: { status: 401, title: "The bearer token was refused" },
  invalid_signature: { status: 401, title: "The signature did not verify" },
  unknown_key: { status: 401, title: "The signing key is not an active key of the issuer" },
  forbidden: { status: 403, title: "Your role may not do this" },
  participant_revoked: { status: 403, title: "The participant has been revoked" },
  not_found: { status: 404, title: "Not found" },
  method_not_allowed: { status: 405, title: "Method not allowed" },
  not_acceptable: { status: 406, title: "Not acceptable" },
  conflict: { status: 409, title: "Conflict with the current state" },
  replayed_jti: { status: 409, title: "This jti has already been used" },
  payload_too_large: { status: 413, title: "The body is too large" },
  unsupported_media_type: { status: 415, title: "Unsupported media type" },
  stale_request: { status: 401, title: "The request's iat is outside the allowed clock skew" },
  wrong_audience: { status: 401, title: "The request is addressed to another node" },
  unprocessable: { status: 422, title: "The request cannot be applied" },
  rate_limited: { status: 429, title: "Too many requests" },
  enumeration_limit: { status: 429, title: "Daily limit of distinct selectors looked up reached" },
  internal_error: { status: 500, title: "Internal error" },
  unavailable: { status: 503, title: "Temporarily unavailable" },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemCode = keyof typeof PROBLEMS;

/** What to do about each problem, for people reading a problem type's page (and clients showing it). */
export const PROBLEM_HELP: Record<ProblemCode, string> = {
  bad_request:
    "The request is inconsistent (for example the path names another entry than the signed record). Read `detail`.",
  validation_failed:
    "A field of the request or of the signed record is invalid; `errors[]` names each field (a JSON Pointer) and what is wrong with it.",
  malformed_json: "The body is not JSON. Send `application/json` bodies as JSON text.",
  invalid_jws:
    "A signed write is a compact JWS (three base64url parts) sent as `application/jose`, signed by @eusn/client or the eusn command line.",
  unauthenticated: "Send a bearer token signed with your participant key (`Authorization: Bearer …`).",
  invalid_token:
    "The bearer token was refused: wrong type, audience, lifetime (at most 300 s) or signature. Sign a fresh one.",
  invalid_signature: "The signature does not verify with the key named in the header's `kid`.",
  unknown_key:
    "The `kid` is not an active key of the participant in `iss`: check the key file, its participant id, and that the key was not retired.",
  forbidden: "Your role may not do this (see the route's description in the API reference at /docs).",
  participant_revoked: "Your participant was revoked by a coordinator; its keys no longer work here.",
  not_found: "No such resource on this node.",
  method_not_allowed: "This path does not take this HTTP method.",
  not_acceptable: "The node cannot answer in a media type the `Accept` header allows.",
  conflict:
    "The current state does not allow this (for example the entry changed meanwhile). Nothing was stored; read the entry again and decide.",
  replayed_jti: "Every signed write needs a fresh `jti`. Sign the record again rather than resending it.",
  payload_too_large: "The body is over 2 MiB: send fewer items per request (at most 1,000).",
  unsupported_media_type:
    "Signed writes are `application/jose`; queries such as /v1/match are `application/json`.",
  stale_request:
    "The record's `iat` is more than 300 s from the node's clock: check your clock and sign again.",
  wrong_audience: "The record was signed for another node: its `aud` must be this node's id (GET /health).",
  unprocessable: "The record is well formed but cannot be applied to the current state; `detail` says why.",
  rate_limited: "Too many requests: wait for the number of seconds in `Retry-After`.",
  enumeration_limit: "The daily limit of distinct selectors looked up is reached; it resets at midnight UTC.",
  internal_error: "The node failed. Quote the `requestId` to its operator.",
  unavailable: "The node is temporarily unavailable; try again later.",
};

/** RFC 9457 problem details as this node emits them. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  code: ProblemCode;
  requestId: string;
  errors?: { path: string; message: string }[];
}

/**
 * The `type` URI of a problem code: a relative reference (RFC 9457 §3.1.1 allows it), resolved
 * against the node's own URL, where `GET /problems/{code}` describes it.
 */
export function problemType(code: ProblemCode): string {
  return `/problems/${code}`;
}
