// The one way a route accepts a signed write: verify it for this endpoint (auth/verify.ts), check
// that the record is about the resource the path names, run it through the write pipeline
// (apply/pipeline.ts: applier, fold, one atomic batch) and answer with the receipt. A route
// declares its write with one call; no route repeats the steps or skips one.
import type { RecordKind, RecordOf, WriteReceipt } from "@eusn/protocol";
import type { Context } from "hono";
import type { Applier, Plan } from "../apply/context.ts";
import { type Accepted, acceptRecord } from "../apply/pipeline.ts";
import { verifyWrite } from "../auth/verify.ts";
import type { AppEnv } from "../lib/hono.ts";
import { ApiError } from "../lib/problem.ts";

export type SignedWriteOptions<K extends RecordKind, P extends Plan> = {
  applier: Applier<K, P>;
  /**
   * The record must be about the resource the path names: path parameter `param` equals the
   * record's `field`; otherwise `code` (default bad_request) with `detail`.
   */
  subject?: {
    param: string;
    field: keyof RecordOf<K> & string;
    code?: "bad_request" | "forbidden";
    detail: string;
  };
  /** The answer, by default the receipt with status 201. */
  answer?: (
    accepted: Accepted<P>,
    c: Context<AppEnv>,
  ) => Promise<{ body: unknown; status: 200 | 201 }> | { body: unknown; status: 200 | 201 };
};

/** A route handler for a signed write of the applier's kind. */
export function signedWrite<K extends RecordKind, P extends Plan>(o: SignedWriteOptions<K, P>) {
  // biome-ignore lint/suspicious/noExplicitAny: the route's OpenAPI definition types the answer.
  return async (c: Context<AppEnv>): Promise<any> => {
    const w = await verifyWrite(c.req.raw, c.env, c.var.db, o.applier.kind, o.applier.roles);
    if (o.subject) {
      const fromPath = c.req.param(o.subject.param);
      if (String(w.record[o.subject.field]) !== fromPath)
        throw new ApiError(o.subject.code ?? "bad_request", o.subject.detail);
    }
    const accepted = await acceptRecord(c.var.db, c.env, w, { applier: o.applier });
    const { body, status } = o.answer
      ? await o.answer(accepted, c)
      : { body: accepted.receipt, status: 201 as const };
    return c.json(body as WriteReceipt, status);
  };
}
