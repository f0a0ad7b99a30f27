// RFC 9457 problem responses. Handlers throw ApiError; the app's onError turns it into
// `application/problem+json`. Anything else thrown becomes a bare 500 with no internals.
import { PROBLEMS, type Problem, type ProblemCode, problemType } from "@eusn/protocol";
import type { z } from "zod";

export class ApiError extends Error {
  constructor(
    readonly code: ProblemCode,
    readonly detail?: string,
    readonly errors?: { path: string; message: string }[],
    readonly headers?: Record<string, string>,
  ) {
    super(detail ?? code);
  }
}

export function problemBody(
  code: ProblemCode,
  requestId: string,
  detail?: string,
  errors?: { path: string; message: string }[],
  instance?: string,
): Problem {
  const { status, title } = PROBLEMS[code];
  return {
    type: problemType(code),
    title,
    status,
    ...(detail !== undefined ? { detail } : {}),
    ...(instance !== undefined ? { instance } : {}),
    code,
    requestId,
    ...(errors && errors.length > 0 ? { errors } : {}),
  };
}

export function problemResponse(
  code: ProblemCode,
  requestId: string,
  detail?: string,
  errors?: { path: string; message: string }[],
  instance?: string,
  headers?: Record<string, string>,
): Response {
  const body = problemBody(code, requestId, detail, errors, instance);
  return new Response(JSON.stringify(body), {
    status: body.status,
    headers: { "content-type": "application/problem+json", "x-request-id": requestId, ...headers },
  });
}

/** zod issues → the `errors[]` member: a JSON-pointer-like path and a message per failure. */
export function zodErrors(error: z.ZodError, prefix = ""): { path: string; message: string }[] {
  return error.issues.slice(0, 50).map((i) => ({
    path: `${prefix}/${i.path.map(String).join("/")}`.replace(/\/$/, "") || "/",
    message: i.message,
  }));
}
