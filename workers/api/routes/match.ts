// POST /v1/match: platforms check up to 1,000 hashes per request against the baseline (default)
// or every live submission. PDQ by Hamming distance (exact: every entry within the threshold),
// MD5/SHA-256 by equality. Results carry everything a reviewer needs to act or not act.

import { MATCH_ADVISORY, type MatchHit, MatchRequest, MatchResponse, MatchStats } from "@eusn/protocol";
import { createRoute } from "@hono/zod-openapi";
import { access } from "../auth/access.ts";
import { type ConfigEnv, config } from "../config.ts";
import { nowIso } from "../lib/encoding.ts";
import { bearerSecurity, problems, type RouteContext, router } from "../lib/hono.ts";
import { matchCost } from "../limits/policy.ts";
import { enforceRateLimit } from "../limits/rate-limiter.ts";
import type { ShardHit, ShardQueryItem } from "../match/types.ts";
import { isMatchable } from "../rules/baseline.ts";
import { baselineVersion } from "../store/changes.ts";
import { matchRows, recordMatches } from "../store/match.ts";

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
  // Charged by its work before the index is asked (limits/policy.ts): items x variants, weighted
  // by the threshold. A refusal stores and counts nothing.
  await enforceRateLimit(c.env, caller.participant.id, "match", matchCost(req));
  const items: ShardQueryItem[] = req.items.map((it) => ({
    type: it.type,
    values: it.type === "pdq" ? [it.value, ...(it.dihedral ?? [])] : [it.value],
  }));
  const shards = shardCount(c.env);
  const tStart = Date.now();
  // The baseline version is read beside the index query, not before it: off the critical path.
  let tVersion = tStart;
  const versionRead = baselineVersion(c.var.db).then((v) => {
    tVersion = Date.now();
    return v;
  });
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
  const tIndex = Date.now();
  // Per item and entry, keep the closest variant.
  const best = new Map<number, ShardHit>();
  const keys = new Set<number>();
  for (const list of hitLists) {
    for (const h of list) {
      keys.add(h.key);
      const k = h.item * 2 ** 32 + h.key;
      const prev = best.get(k);
      if (!prev || h.distance < prev.distance || (h.distance === prev.distance && h.variant < prev.variant))
        best.set(k, h);
    }
  }
  // Metadata straight from D1: status, expiry and baseline state are always current here.
  const rows = await matchRows(c.env.DB, [...keys]);
  const version = await versionRead;
  const tMeta = Date.now();
  const now = Date.now();
  const results = req.items.map((_, index) => ({ index, matches: [] as MatchHit[] }));
  const matched = new Set<string>();
  // Each entry's JSON columns parsed once, however many items it matched.
  const parsed = new Map<number, { limbs: string[]; concurStates: string[] } | null>();
  for (const h of best.values()) {
    let p = parsed.get(h.key);
    const r = rows.get(h.key);
    if (p === undefined) {
      p =
        r && isMatchable(r, req.scope, now)
          ? { limbs: JSON.parse(r.limbs) as string[], concurStates: JSON.parse(r.concurStates) as string[] }
          : null;
      parsed.set(h.key, p);
    }
    if (p === null || !r) continue;
    matched.add(r.id);
    results[h.item]!.matches.push({
      submissionId: r.id,
      distance: h.distance,
      variant: h.variant,
      signalType: r.signalType,
      value: r.value,
      limbs: p.limbs,
      contentType: r.contentType,
      legalBasis: { limbs: p.limbs, nationalProvision: r.nationalProvision },
      memberState: r.memberState,
      baselineState: r.baselineState as "included" | "disputed" | "none" | "retired",
      assessments: { concurStates: p.concurStates, dissenting: r.liveDissents },
      tlp: r.tlp,
      lowQuality: r.lowQuality,
    });
  }
  for (const res of results)
    res.matches.sort((a, b) => a.distance - b.distance || a.submissionId.localeCompare(b.submissionId));
  // Accounting and reversal memory, atomically, before the answer: counts only, never the queried
  // hashes. Awaited, so an answer is never given for a match the node has not remembered.
  await recordMatches(c.env.DB, {
    platformId: caller.participant.id,
    at: nowIso(),
    scope: req.scope,
    threshold: req.threshold,
    queried: req.items.length,
    matchedItems: results.filter((r) => r.matches.length > 0).length,
    matchedIds: [...matched],
  });
  // Where the time went, for operators and `npm run bench:match` (Workers clocks advance only
  // across I/O, so each figure ends at an awaited call): the baseline version read (which runs
  // beside the index query), the index query in the shard objects (their catch-up read
  // included), the metadata read, the accounting write.
  c.header(
    "Server-Timing",
    `version;dur=${tVersion - tStart}, index;dur=${tIndex - tStart}, meta;dur=${tMeta - tIndex}, account;dur=${Date.now() - tMeta}`,
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
