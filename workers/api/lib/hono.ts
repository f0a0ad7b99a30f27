// Shared Hono types and the OpenAPI helpers for signed-write routes.

import { JOSE_MEDIA_TYPE, ProblemSchema, WriteReceipt } from "@eusn/protocol";
import { OpenAPIHono, type RouteConfig, type RouteHandler, z } from "@hono/zod-openapi";
import type { Env } from "../env.ts";
import type { Caller } from "../store/records.ts";
import type { Db } from "./db.ts";
import { ApiError, zodErrors } from "./problem.ts";

export type AppEnv = { Bindings: Env; Variables: { requestId: string; db: Db; caller?: Caller } };

/**
 * What the handler of route `R` receives: the context with the path parameters, query, headers and
 * body typed from the route's own definition, so a handler can be a named function beside its
 * route (`export async function listX(c: RouteContext<typeof listXRoute>)`).
 */
export type RouteContext<R extends RouteConfig> = Parameters<RouteHandler<R, AppEnv>>[0];

/** A sub-app whose request validation failures become `validation_failed` problems. */
export function router() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        throw new ApiError("validation_failed", "the request did not validate", zodErrors(result.error));
      }
    },
  });
}

export const problemContent = { "application/problem+json": { schema: ProblemSchema } };

/** The standard error responses every route can give. */
export function problems(...statuses: number[]) {
  const out: Record<number, { description: string; content: typeof problemContent }> = {};
  for (const s of statuses) out[s] = { description: "Problem details (RFC 9457)", content: problemContent };
  return out;
}

/**
 * The OpenAPI request body of a signed write: a compact JWS (media type application/jose) whose
 * payload is {iss, aud, iat, jti, kind, record}; the record schema is linked from the
 * description and registered as a component.
 */
export function signedBody(kind: string, recordComponent: string) {
  return {
    required: true,
    description: `A compact JWS signed by the caller's key: header {alg: EdDSA|ES256, kid, typ: "eusn-record+jwt"}, payload {iss, aud, iat, jti, kind: "${kind}", record: ${recordComponent}} (see components.schemas.${recordComponent}).`,
    content: {
      [JOSE_MEDIA_TYPE]: {
        schema: z.string().regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/),
      },
    },
  };
}

export const receiptResponse = {
  description: "The write was accepted and stored with its exact JWS bytes.",
  content: { "application/json": { schema: WriteReceipt } },
};

export const bearerSecurity = [{ participantToken: [] }];
