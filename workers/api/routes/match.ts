// POST /v1/match: platforms check up to 1,000 hashes per request against the baseline (default)
// or every live submission. PDQ by Hamming distance (exact: every entry within the threshold),
// MD5/SHA-256 by equality. Results carry everything a reviewer needs to act or not act.

import { MAX_BATCH, newId } from "@eusn/protocol";
import { createRoute, z } from "@hono/zod-openapi";
import { sql } from "drizzle-orm";
import { matchRequests, submissionMatches, submissions } from "../../../schema/index.ts";
import { type ConfigEnv, config } from "../config.ts";
import { chunk } from "../lib/db.ts";
import { nowIso } from "../lib/encoding.ts";
import { access, bearerSecurity, problems, router } from "../lib/hono.ts";
import type { ShardHit, ShardQueryItem } from "../match/shard.ts";
import { isMatchable, type SubmissionRow } from "../rules/baseline.ts";
import { baselineVersion } from "../store/changes.ts";

const app = router();

const hex = (n: number) => z.string().regex(new RegExp(`^[0-9a-f]{${n}}$`), `${n} lower-case hex characters`);

const MatchItem = z
  .discriminatedUnion("type", [
    z
      .object({
        type: z.literal("pdq"),
        value: hex(64),
        dihedral: z
          .array(hex(64))
          .max(7)
          .optional()
          .describe(
            "The other dihedral variants of the same image (rotations/flips), as computed by the client (`eusn hash --dihedral`): PDQ variants come from the image's DCT and cannot be derived from the hash.",
          ),
      })
      .strict(),
    z.object({ type: z.literal("md5"), value: hex(32) }).strict(),
    z.object({ type: z.literal("sha256"), value: hex(64) }).strict(),
  ])
  .meta({ id: "MatchItem" });

export const MatchRequest = z
  .object({
    scope: z.enum(["baseline", "all"]).default("baseline"),
    threshold: z
      .number()
      .int()
      .min(0)
      .max(63)
      .default(31)
      .describe("PDQ Hamming distance threshold (inclusive)."),
    items: z.array(MatchItem).min(1).max(MAX_BATCH),
  })
  .strict()
  .meta({ id: "MatchRequest" });

const MatchHit = z
  .object({
    submissionId: z.string(),
    distance: z.number().int(),
    variant: z.number().int().describe("0 = the hash as sent; 1..7 = the nth entry of `dihedral`."),
    signalType: z.string(),
    value: z.string(),
    limbs: z.array(z.string()),
    contentType: z.string(),
    legalBasis: z.object({ limbs: z.array(z.string()), nationalProvision: z.string() }),
    memberState: z.string().describe("The originating member state."),
    baselineState: z.enum(["included", "disputed", "none", "retired"]),
    assessments: z.object({ concurStates: z.array(z.string()), dissenting: z.number().int() }),
    tlp: z.string().nullable(),
    lowQuality: z.boolean(),
  })
  .meta({ id: "MatchHit" });

export const MatchResponse = z
  .object({
    requestId: z.string(),
    scope: z.enum(["baseline", "all"]),
    threshold: z.number().int(),
    baselineVersion: z.number().int().describe("The baseline version (snapshot) the answer came from."),
    results: z.array(z.object({ index: z.number().int(), matches: z.array(MatchHit) })),
    advisory: z.string(),
  })
  .meta({ id: "MatchResponse" });

export const MATCH_ADVISORY =
  "Matches are leads for human review under your own terms and the TCO Regulation; a match alone is not a removal order.";

app.openapi(
  createRoute({
    method: "post",
    path: "/v1/match",
    tags: ["match"],
    summary: "Match up to 1,000 hashes (platform)",
    description:
      "Exact results: every entry within the threshold is returned. Withdrawn, reversed, expired, excluded and TLP:RED entries never match; retired entries match only in scope `all`. The request is counted for the platform's accounting (counts only; the queried hashes are not stored) and matched entries remember the platform, so it sees later reversals in /v1/reversals.",
    security: bearerSecurity,
    middleware: [access(["platform"])] as const,
    request: { body: { required: true, content: { "application/json": { schema: MatchRequest } } } },
    responses: {
      200: {
        description: "One result per item, in order",
        content: { "application/json": { schema: MatchResponse } },
      },
      ...problems(400, 401, 403, 413, 415),
    },
  }),
  async (c) => {
    const caller = c.var.caller!;
    const req = c.req.valid("json");
    const items: ShardQueryItem[] = req.items.map((it) => ({
      type: it.type,
      values: it.type === "pdq" ? [it.value, ...(it.dihedral ?? [])] : [it.value],
    }));
    const shards = shardCount(c.env);
    const tStart = Date.now();
    const version = await baselineVersion(c.var.db);
    const tVersion = Date.now();
    const hitLists = await Promise.all(
      Array.from({ length: shards }, (_, s) =>
        c.env.MATCH_SHARD.get(c.env.MATCH_SHARD.idFromName(`shard-${s}-of-${shards}`)).query(
          s,
          shards,
          items,
          req.threshold,
        ),
      ),
    );
    const hits: ShardHit[] = hitLists.flat();
    const tIndex = Date.now();
    // Metadata straight from D1: status, expiry and baseline state are always current here.
    // One statement whatever the number of hits: the keys travel as one JSON parameter.
    const keys = [...new Set(hits.map((h) => h.key))];
    const rows = new Map<number, SubmissionRow>();
    if (keys.length > 0) {
      const found = await c.var.db
        .select()
        .from(submissions)
        .where(sql`${submissions.matchKey} IN (SELECT value FROM json_each(${JSON.stringify(keys)}))`);
      for (const r of found) if (r.matchKey !== null) rows.set(r.matchKey, r);
    }
    const tMeta = Date.now();
    const now = Date.now();
    const allowed = (r: SubmissionRow | undefined): r is SubmissionRow =>
      !!r && isMatchable(r, req.scope, now);
    const results = req.items.map((_, index) => ({ index, matches: [] as z.infer<typeof MatchHit>[] }));
    const best = new Map<string, ShardHit>();
    for (const h of hits) {
      // Per item and entry, keep the closest variant.
      const key = `${h.item}/${h.key}`;
      const prev = best.get(key);
      if (!prev || h.distance < prev.distance || (h.distance === prev.distance && h.variant < prev.variant))
        best.set(key, h);
    }
    const matched = new Set<string>();
    for (const h of best.values()) {
      const r = rows.get(h.key);
      if (!allowed(r)) continue;
      matched.add(r.id);
      const limbs = JSON.parse(r.limbs) as string[];
      results[h.item]!.matches.push({
        submissionId: r.id,
        distance: h.distance,
        variant: h.variant,
        signalType: r.signalType,
        value: r.value,
        limbs,
        contentType: r.contentType,
        legalBasis: { limbs, nationalProvision: r.nationalProvision },
        memberState: r.memberState,
        baselineState: r.baselineState as "included" | "disputed" | "none" | "retired",
        assessments: { concurStates: JSON.parse(r.concurStates) as string[], dissenting: r.liveDissents },
        tlp: r.tlp,
        lowQuality: r.lowQuality,
      });
    }
    for (const res of results)
      res.matches.sort((a, b) => a.distance - b.distance || a.submissionId.localeCompare(b.submissionId));
    // Accounting and reversal memory, atomically: counts only, never the queried hashes.
    const at = nowIso();
    const matchedIds = [...matched];
    await c.var.db.batch([
      c.var.db.insert(matchRequests).values({
        id: newId("record").replace(/^rec_/, "mrq_"),
        platformId: caller.participant.id,
        at,
        scope: req.scope,
        threshold: req.threshold,
        queried: req.items.length,
        matchedItems: results.filter((r) => r.matches.length > 0).length,
        matchedEntries: matchedIds.length,
      }),
      ...chunk(matchedIds, 10).map((part) =>
        c.var.db
          .insert(submissionMatches)
          .values(
            part.map((id) => ({
              submissionId: id,
              platformId: caller.participant.id,
              firstMatchedAt: at,
              lastMatchedAt: at,
            })),
          )
          .onConflictDoUpdate({
            target: [submissionMatches.submissionId, submissionMatches.platformId],
            set: { lastMatchedAt: at, count: sql`${submissionMatches.count} + 1` },
          }),
      ),
    ]);
    // Where the time went, for operators and `npm run bench:match` (Workers clocks advance only
    // across I/O, so each figure ends at an awaited call): the index query in the shard objects
    // (their catch-up read included), the metadata read, the accounting write.
    c.header(
      "Server-Timing",
      `version;dur=${tVersion - tStart}, index;dur=${tIndex - tVersion}, meta;dur=${tMeta - tIndex}, account;dur=${Date.now() - tMeta}`,
    );
    return c.json(
      {
        requestId: c.var.requestId,
        scope: req.scope,
        threshold: req.threshold,
        baselineVersion: version,
        results,
        advisory: MATCH_ADVISORY,
      },
      200,
    );
  },
);

app.openapi(
  createRoute({
    method: "get",
    path: "/v1/match/stats",
    tags: ["match"],
    summary: "The match index shards: entries, applied feed position, memory (coordinator)",
    security: bearerSecurity,
    middleware: [access(["coordinator"])] as const,
    responses: {
      200: {
        description: "One row per shard",
        content: {
          "application/json": {
            schema: z
              .object({
                shards: z.array(
                  z.object({
                    shard: z.number().int(),
                    entries: z.number().int(),
                    appliedSeq: z.number().int(),
                    memoryBytes: z.number().int(),
                    rebuilds: z.number().int(),
                    builtAt: z.iso.datetime().meta({
                      description:
                        "When this shard's instance loaded its index from D1; it changes only when the index is rebuilt (a restart, an eviction, a replaced database)",
                    }),
                  }),
                ),
              })
              .meta({ id: "MatchStats" }),
          },
        },
      },
      ...problems(401, 403),
    },
  }),
  async (c) => {
    const shards = shardCount(c.env);
    const stats = await Promise.all(
      Array.from({ length: shards }, async (_, s) => ({
        shard: s,
        ...(await c.env.MATCH_SHARD.get(c.env.MATCH_SHARD.idFromName(`shard-${s}-of-${shards}`)).stats(
          s,
          shards,
        )),
      })),
    );
    return c.json({ shards: stats }, 200);
  },
);

function shardCount(env: ConfigEnv): number {
  return config(env).match.shards;
}

export default app;
