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
