// POST /v1/match: platforms check up to 1,000 hashes per request against the baseline (default)
// or every live submission. PDQ by Hamming distance (exact: every entry within the threshold),
// MD5/SHA-256 by equality. Results carry everything a reviewer needs to act or not act.

import { MATCH_ADVISORY, type MatchHit, MatchRequest, MatchResponse, MatchStats } from "@eusn/protocol";
import { createRoute } from "@hono/zod-openapi";
import { access } from "../auth/access.ts";
import { type ConfigEnv, config } from "../config.ts";
import { nowIso } from "../lib/encoding.ts";
import { bearerSecurity, problems, type RouteContext, router } from "../lib/hono.ts";
import type { ShardHit, ShardQueryItem } from "../match/types.ts";
import { isMatchable, type SubmissionRow } from "../rules/baseline.ts";
import { baselineVersion } from "../store/changes.ts";
import { recordMatches, rowsByMatchKey } from "../store/match.ts";

const app = router();

export const postMatchRoute = createRoute({
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
});
export async function postMatch(c: RouteContext<typeof postMatchRoute>) {
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
  const rows = await rowsByMatchKey(c.var.db, [...new Set(hits.map((h) => h.key))]);
  const tMeta = Date.now();
  const now = Date.now();
  const allowed = (r: SubmissionRow | undefined): r is SubmissionRow => !!r && isMatchable(r, req.scope, now);
  const results = req.items.map((_, index) => ({ index, matches: [] as MatchHit[] }));
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
  await recordMatches(c.var.db, {
    platformId: caller.participant.id,
    at,
    scope: req.scope,
    threshold: req.threshold,
    queried: req.items.length,
    matchedItems: results.filter((r) => r.matches.length > 0).length,
    matchedIds,
  });
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
}
app.openapi(postMatchRoute, postMatch);

export const getMatchStatsRoute = createRoute({
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
        "application/json": { schema: MatchStats },
      },
    },
    ...problems(401, 403),
  },
});
export async function getMatchStats(c: RouteContext<typeof getMatchStatsRoute>) {
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
}
app.openapi(getMatchStatsRoute, getMatchStats);

function shardCount(env: ConfigEnv): number {
  return config(env).match.shards;
}

export default app;
