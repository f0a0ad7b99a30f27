// Route middleware for bearer-token routes: the token is verified before the request is
// validated, so an unauthenticated caller learns nothing about what a valid body would be.
import type { Role } from "@eusn/protocol";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../lib/hono.ts";
import { verifyAccess } from "./verify.ts";

/** Verifies the bearer token and the caller's role, and sets `caller` for the handler. */
export function access(roles: readonly Role[]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set("caller", await verifyAccess(c.req.raw, c.env, c.var.db, roles));
    await next();
  };
}
