// /v1/baseline: the current EU baseline (paged, versioned with an ETag), a snapshot signed by the
// node key for offline verification, and /v1/reversals: withdrawals and reversals of entries a
// platform matched.
import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, eq, gt, inArray } from "drizzle-orm";
import { CompactSign } from "jose";
import { decisions, submissionChanges, submissionMatches, submissions } from "../../../schema/index.ts";
import { chunk } from "../lib/db.ts";
import { nowIso } from "../lib/encoding.ts";
import { access, bearerSecurity, problems, router } from "../lib/hono.ts";
import { nodeKey } from "../lib/node-key.ts";
import { inBaselineSql, type SubmissionRow } from "../rules/baseline.ts";
import { baselineVersion } from "../store/submissions.ts";

const app = router();

export const BaselineEntry = z
  .object({
    id: z.string(),
    signalType: z.enum(["pdq", "md5", "sha256"]),
    value: z.string(),
    quality: z.number().int().nullable(),
    limbs: z.array(z.string()),
    contentType: z.string(),
    memberState: z.string().describe("Originating member state."),
    nationalProvision: z.string(),
    tlp: z.string().nullable(),
    state: z.enum(["included", "disputed"]),
    concurStates: z.array(z.string()),
    expiresAt: z.string().nullable(),
  })
  .meta({ id: "BaselineEntry" });

export function toBaselineEntry(r: SubmissionRow): z.infer<typeof BaselineEntry> {
  return {
    id: r.id,
    signalType: r.signalType,
    value: r.value,
    quality: r.quality,
    limbs: JSON.parse(r.limbs) as string[],
    contentType: r.contentType,
    memberState: r.memberState,
    nationalProvision: r.nationalProvision,
    tlp: r.tlp,
    state: r.baselineState as "included" | "disputed",
    concurStates: JSON.parse(r.concurStates) as string[],
    expiresAt: r.expiresAt,
  };
}

const participants = ["coordinator", "authority", "platform"] as const;

app.openapi(
  createRoute({
    method: "get",
    path: "/v1/baseline",
    tags: ["baseline"],
    summary: "The current baseline, paged; `version` (also the ETag) changes with every baseline change",
    security: bearerSecurity,
    middleware: [access(participants)] as const,
    request: {
      query: z.object({
        after: z.string().max(64).optional().describe("Cursor: the last id of the previous page."),
        limit: z.coerce.number().int().min(1).max(5000).default(1000),
      }),
      headers: z.object({ "if-none-match": z.string().optional() }),
    },
    responses: {
      200: {
        description: "A page of the baseline",
        content: {
          "application/json": {
            schema: z
              .object({
                version: z.number().int(),
                entries: z.array(BaselineEntry),
                next: z.string().nullable(),
              })
              .meta({ id: "BaselinePage" }),
          },
        },
      },
      304: { description: "Unchanged since the ETag sent in If-None-Match" },
      ...problems(400, 401, 403),
    },
  }),
  async (c) => {
    const { after, limit } = c.req.valid("query");
    const version = await baselineVersion(c.var.db);
    const etag = `"baseline-${version}"`;
    c.header("etag", etag);
    if (c.req.header("if-none-match") === etag) return c.body(null, 304);
    const rows = await c.var.db
      .select()
      .from(submissions)
      .where(and(inBaselineSql("submissions", nowIso()), after ? gt(submissions.id, after) : undefined))
      .orderBy(asc(submissions.id))
      .limit(limit + 1);
    const page = rows.slice(0, limit);
    return c.json(
      {
        version,
        entries: page.map(toBaselineEntry),
        next: rows.length > limit ? page[page.length - 1]!.id : null,
      },
      200,
    );
  },
);

app.openapi(
  createRoute({
    method: "get",
    path: "/v1/baseline/snapshot",
    tags: ["baseline"],
    summary:
      "The whole baseline as one JWS signed by the node key (verify offline with /.well-known/jwks.json)",
    description:
      'Payload: {"typ":"eusn-baseline-snapshot","nodeId","version","generatedAt","count","entries":[BaselineEntry…]}. Header typ "eusn-baseline+jws", kid = the node key thumbprint.',
    security: bearerSecurity,
    middleware: [access(participants)] as const,
    responses: {
      200: { description: "Compact JWS", content: { "application/jose": { schema: z.string() } } },
      ...problems(401, 403, 503),
    },
  }),
  async (c) => {
    const key = await nodeKey(c.env);
    const version = await baselineVersion(c.var.db);
    const now = nowIso();
    const rows = await c.var.db
      .select()
      .from(submissions)
      .where(inBaselineSql("submissions", now))
      .orderBy(asc(submissions.id));
    const payload = {
      typ: "eusn-baseline-snapshot",
      nodeId: c.env.NODE_ID,
      version,
      generatedAt: now,
      count: rows.length,
      entries: rows.map(toBaselineEntry),
    };
    const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: "eusn-baseline+jws" })
      .sign(key.privateKey);
    return c.body(jws, 200, { "content-type": "application/jose", etag: `"baseline-${version}"` });
  },
);

const Reversal = z
  .object({
    seq: z.number().int().describe("Cursor position in the submission change feed."),
    submissionId: z.string(),
    change: z.enum(["withdrawn", "reversed", "excluded"]),
    at: z.string(),
    recordId: z.string().nullable(),
    reason: z.string().nullable(),
    ground: z.string().nullable(),
    signalType: z.string(),
    value: z.string(),
  })
  .meta({ id: "Reversal" });

app.openapi(
  createRoute({
    method: "get",
    path: "/v1/reversals",
    tags: ["baseline"],
    summary:
      "Withdrawals, reversals and exclusions of entries this platform matched, since a cursor (platform)",
    description: "Act on these: content removed because of a reversed entry may need to be restored.",
    security: bearerSecurity,
    middleware: [access(["platform"])] as const,
    request: {
      query: z.object({
        after: z.coerce.number().int().min(0).default(0),
        limit: z.coerce.number().int().min(1).max(1000).default(500),
      }),
    },
    responses: {
      200: {
        description: "Changes in feed order",
        content: {
          "application/json": {
            schema: z
              .object({ reversals: z.array(Reversal), next: z.number().int().nullable() })
              .meta({ id: "ReversalPage" }),
          },
        },
      },
      ...problems(400, 401, 403),
    },
  }),
  async (c) => {
    const caller = c.var.caller!;
    const { after, limit } = c.req.valid("query");
    const rows = await c.var.db
      .select({
        seq: submissionChanges.seq,
        submissionId: submissionChanges.submissionId,
        change: submissionChanges.change,
        at: submissionChanges.at,
        recordId: submissionChanges.recordId,
        signalType: submissions.signalType,
        value: submissions.value,
      })
      .from(submissionChanges)
      .innerJoin(
        submissionMatches,
        and(
          eq(submissionMatches.submissionId, submissionChanges.submissionId),
          eq(submissionMatches.platformId, caller.participant.id),
        ),
      )
      .innerJoin(submissions, eq(submissions.id, submissionChanges.submissionId))
      .where(
        and(
          gt(submissionChanges.seq, after),
          inArray(submissionChanges.change, ["withdrawn", "reversed", "excluded"]),
        ),
      )
      .orderBy(asc(submissionChanges.seq))
      .limit(limit + 1);
    const page = rows.slice(0, limit);
    const recIds = page.map((r) => r.recordId).filter((x): x is string => x !== null);
    const why = new Map<string, { reason: string; ground: string | null }>();
    for (const part of chunk(recIds, 90)) {
      for (const d of await c.var.db
        .select({ recordId: decisions.recordId, reason: decisions.reason, ground: decisions.ground })
        .from(decisions)
        .where(inArray(decisions.recordId, part))) {
        why.set(d.recordId, d);
      }
    }
    return c.json(
      {
        reversals: page.map((r) => ({
          ...r,
          change: r.change as "withdrawn" | "reversed" | "excluded",
          reason: (r.recordId && why.get(r.recordId)?.reason) ?? null,
          ground: (r.recordId && why.get(r.recordId)?.ground) ?? null,
        })),
        next: rows.length > limit ? page[page.length - 1]!.seq : null,
      },
      200,
    );
  },
);

export default app;
