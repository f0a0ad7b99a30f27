// POST /v1/match: platforms check up to 1,000 hashes per request against the baseline (default)
// or every live submission. PDQ by Hamming distance (exact: every entry within the threshold),
// MD5/SHA-256 by equality, videos (vPDQ) by the reference's comparison: candidates are the video
// entries with a frame within the item's distance of one of its frames (frames are indexed in the
// shards keyed to their video), each scored in its shard from those frame pairs
// (match/videos.ts). Results carry everything a reviewer needs to act or not act.

import {
  MATCH_ADVISORY,
  type MatchHit,
  MatchRequest,
  MatchResponse,
  MatchStats,
  MIN_PDQ_QUALITY,
  type VpdqFrame,
} from "@eusn/protocol";
import { matchedRanges } from "@eusn/vpdq";
import { createRoute } from "@hono/zod-openapi";
import type { TypedResponse } from "hono";
import { access } from "../auth/access.ts";
import { type ConfigEnv, config } from "../config.ts";
import { nowIso } from "../lib/encoding.ts";
import { bearerSecurity, problems, type RouteContext, router } from "../lib/hono.ts";
import { matchCost } from "../limits/policy.ts";
import { enforceRateLimit } from "../limits/rate-limiter.ts";
import type { ShardHit, ShardQueryItem, ShardVideoHit } from "../match/types.ts";
import {
  entryState,
  isMatchable,
  isProvisional,
  type Policy,
  policy,
  provisionalLapsesAt,
} from "../rules/baseline.ts";
import { versionAndHead } from "../store/changes.ts";
import { foldMatches, type MatchRow, matchRows, recordMatches } from "../store/match.ts";
import { type StoredVideo, videosByKey } from "../store/videos.ts";

const app = router();

export const postMatchRoute = createRoute({
  method: "post",
  path: "/v1/match",
  tags: ["match"],
  summary: "Match up to 1,000 hashes (platform)",
  description:
    "Exact results: every entry within the threshold is returned. Withdrawn, reversed, expired, excluded and TLP:RED entries never match, nor any entry whose value a live submission holds at TLP:RED; retired entries match only in scope `all`. Scope `baseline` also answers the provisional entries of an active crisis incident, labelled `provisional` with the incident and when they lapse (docs/incidents.md). The request is counted for the platform's accounting (counts only; the queried hashes are not stored) and matched entries remember the platform, so it sees later reversals in /v1/reversals. With `keep`, each result (the entry and the item's `ref`, never the hash) is kept for the platform's review queue, GET /v1/review.",
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
  // A video item asks the index for its distinct frames of sufficient quality; `queryFrameAt`
  // maps each asked value back to its first frame.
  const queryFrameAt = new Map<number, number[]>();
  const items: ShardQueryItem[] = req.items.map((it, i) => {
    if (it.type !== "vpdq")
      return { type: it.type, values: it.type === "pdq" ? [it.value, ...(it.dihedral ?? [])] : [it.value] };
    const seen = new Set<string>();
    const at: number[] = [];
    it.frames.forEach(([, quality, hash], f) => {
      if (quality < it.quality || seen.has(hash)) return;
      seen.add(hash);
      at.push(f);
    });
    queryFrameAt.set(i, at);
    return {
      type: "vpdq",
      values: at.map((f) => it.frames[f]![2]),
      threshold: it.distance,
      quality: it.quality,
    };
  });
  const shards = shardCount(c.env);
  const tStart = Date.now();
  // The baseline version and the change feed's head, read once: a shard already at that head
  // answers without reading the feed itself (match/shard.ts), one D1 read instead of one per shard.
  const { version, head } = await versionAndHead(c.env.DB);
  const tVersion = Date.now();
  const answers = await Promise.all(
    Array.from({ length: shards }, (_, s) =>
      c.env.MATCH_SHARD.get(c.env.MATCH_SHARD.idFromName(`shard-${s}-of-${shards}`)).search(
        s,
        shards,
        items,
        req.threshold,
        head,
      ),
    ),
  );
  const tIndex = Date.now();
  // A shard that compacted its index while answering held this request (and any other) for it.
  const compactions = answers.reduce((n, a) => n + a.compactions, 0);
  // Per item and entry, keep the closest variant. The videos a video item found come scored by
  // their shard; a still-image item's hits on video frames are kept whole, as the closest frame
  // may be one that does not count for its quality.
  const best = new Map<number, ShardHit>();
  const candidates: ShardVideoHit[] = [];
  const frameHits = new Map<number, ShardHit[]>();
  const keys = new Set<number>();
  for (const { hits, videos: found } of answers) {
    for (const v of found) {
      keys.add(v.key);
      candidates.push(v);
    }
    // Packed, five numbers a hit (match/types.ts).
    for (let i = 0; i < hits.length; i += 5) {
      const item = hits[i]!;
      const variant = hits[i + 1]!;
      const key = hits[i + 2]!;
      const distance = hits[i + 3]!;
      const frame = hits[i + 4]!;
      keys.add(key);
      const k = item * 2 ** 32 + key;
      if (frame >= 0) {
        const h = { item, variant, key, distance, frame };
        const list = frameHits.get(k);
        if (list) list.push(h);
        else frameHits.set(k, [h]);
        continue;
      }
      const prev = best.get(k);
      if (!prev || distance < prev.distance || (distance === prev.distance && variant < prev.variant))
        best.set(k, { item, variant, key, distance });
    }
  }
  // Metadata straight from D1: status, expiry and baseline state are always current here.
  const [rows, pol] = await Promise.all([
    matchRows(c.env.DB, [...keys]),
    keys.size > 0 ? policy(c.var.db, c.env) : Promise.resolve<Policy | null>(null),
  ]);
  const tRows = Date.now();
  const now = tRows;
  // Each entry's JSON columns parsed and its state decided once, however many items it matched;
  // null when the entry may not be answered in this scope now.
  const parsed = new Map<
    number,
    { limbs: string[]; concurStates: string[]; state: MatchHit["state"] } | null
  >();
  const answerable = (key: number) => {
    let p = parsed.get(key);
    if (p === undefined) {
      const r = rows.get(key);
      p =
        r && isMatchable(r, req.scope, now)
          ? {
              limbs: JSON.parse(r.limbs) as string[],
              concurStates: JSON.parse(r.concurStates) as string[],
              state: entryState(r, pol!, now),
            }
          : null;
      parsed.set(key, p);
    }
    return p;
  };
  // The stored frames of every answerable video entry a still image's frame hit found.
  const videoKeys = new Set<number>();
  for (const h of [...frameHits.values()].map((l) => l[0]!)) if (answerable(h.key)) videoKeys.add(h.key);
  const videos: Map<number, StoredVideo> =
    videoKeys.size > 0 ? await videosByKey(c.env.DB, [...videoKeys]) : new Map();
  const tMeta = Date.now();
  const results = req.items.map((_, index) => ({ index, matches: [] as MatchHit[] }));
  const matched = new Set<string>();
  // Entries answered as provisional entries of an incident, for the incident's accounting.
  const provisional = new Map<string, string>();
  const hitOf = (r: MatchRow, p: { limbs: string[]; concurStates: string[]; state: MatchHit["state"] }) => {
    // Labelled while it matches as a provisional entry of an incident (rules/baseline.ts).
    const label =
      r.incidentId && isProvisional(r, now)
        ? { incidentId: r.incidentId, lapsesAt: provisionalLapsesAt(r)! }
        : null;
    if (label) provisional.set(r.id, label.incidentId);
    return {
      submissionId: r.id,
      signalType: r.signalType,
      value: r.value,
      limbs: p.limbs,
      contentType: r.contentType,
      legalBasis: { limbs: p.limbs, nationalProvision: r.nationalProvision },
      memberState: r.memberState,
      baselineState: r.baselineState as "included" | "disputed" | "none" | "retired",
      state: p.state,
      assessments: { concurStates: p.concurStates, dissenting: r.liveDissents },
      tlp: r.tlp,
      lowQuality: r.lowQuality,
      provisional: label,
    };
  };
  const frameRef = (f: VpdqFrame) => ({ frameNumber: f[0], timestamp: f[3] });
  for (const h of best.values()) {
    const p = answerable(h.key);
    const r = rows.get(h.key);
    if (p === null || !r) continue;
    matched.add(r.id);
    const item = req.items[h.item]!;
    results[h.item]!.matches.push({
      ...hitOf(r, p),
      distance: h.distance,
      // A video item's frame that matched a still-image entry: which frame.
      ...(item.type === "vpdq"
        ? {
            variant: 0,
            kind: "frame" as const,
            queryFrame: frameRef(item.frames[queryFrameAt.get(h.item)![h.variant]!]!),
          }
        : { variant: h.variant, kind: "hash" as const }),
    });
  }
  // A still image found in a video entry: the closest frame whose hash counts (some frame with
  // that hash reaches the quality every comparison of stored videos uses by default).
  for (const [k, list] of frameHits) {
    const h0 = list[0]!;
    const p = answerable(h0.key);
    const r = rows.get(h0.key);
    const v = videos.get(h0.key);
    if (p === null || !r || !v) continue;
    const good = new Set(v.frames.filter((f) => f[1] >= MIN_PDQ_QUALITY).map((f) => f[2]));
    const h = list
      .filter((x) => good.has(v.frames[x.frame!]![2]))
      .sort((a, b) => a.distance - b.distance || a.variant - b.variant || a.frame! - b.frame!)[0];
    if (!h) continue;
    const frame = v.frames.find((f) => f[2] === v.frames[h.frame!]![2] && f[1] >= MIN_PDQ_QUALITY)!;
    matched.add(r.id);
    results[Math.floor(k / 2 ** 32)]!.matches.push({
      ...hitOf(r, p),
      distance: h.distance,
      variant: h.variant,
      kind: "frame",
      entryFrame: frameRef(frame),
    });
  }
  // Video candidates, scored in their shard by the reference's algorithm (match/videos.ts); a
  // hit needs both percentages at the item's thresholds and at least one matched frame.
  for (const v of candidates) {
    const item = req.items[v.item]!;
    const p = answerable(v.key);
    const r = rows.get(v.key);
    if (item.type !== "vpdq" || p === null || !r) continue;
    const queryMatchPercent = (v.queryMatched.length * 100) / v.queryFrames;
    const targetMatchPercent = (v.targetMatched * 100) / v.targetFrames;
    if (
      v.queryMatched.length === 0 ||
      queryMatchPercent < item.queryMatchPercent ||
      targetMatchPercent < item.targetMatchPercent
    )
      continue;
    // The query's frames that matched: those of sufficient quality whose hash is a matched value
    // (a repeated frame of a matched hash too, as the reference counts it).
    const at = queryFrameAt.get(v.item)!;
    const matchedHashes = new Set(v.queryMatched.map((j) => item.frames[at[j]!]![2]));
    matched.add(r.id);
    results[v.item]!.matches.push({
      ...hitOf(r, p),
      distance: v.distance,
      variant: 0,
      kind: "video",
      video: {
        queryMatchPercent,
        targetMatchPercent,
        queryFrames: v.queryFrames,
        targetFrames: v.targetFrames,
        queryRanges: matchedRanges(
          item.frames.map((f) => f[3]),
          item.frames.map((f) => f[1] >= item.quality && matchedHashes.has(f[2])),
        ),
        targetRanges: v.targetRanges,
        durationSeconds: v.durationSeconds,
        frameCount: v.frameCount,
      },
    });
  }
  for (const res of results)
    res.matches.sort((a, b) => a.distance - b.distance || a.submissionId.localeCompare(b.submissionId));
  // The review queue keeps, when asked, each result's entry and the item's own reference.
  const keep = req.keep
    ? results.flatMap((r) =>
        r.matches.map((m) => ({ submissionId: m.submissionId, ref: req.items[r.index]!.ref ?? "" })),
      )
    : [];
  // Accounting and the matched entries (for reversals), atomically: counts only, never the
  // queried hashes. The write is sent first and the answer serialised while it runs (against a
  // remote D1, a round trip); the answer is given only once the write has succeeded, so a
  // platform is never answered a match the node has not remembered (given first, a failed write
  // would leave the platform never told of that entry's reversal). A failed write fails the request.
  const accounting = recordMatches(c.env.DB, {
    platformId: caller.participant.id,
    at: nowIso(),
    scope: req.scope,
    threshold: req.threshold,
    queried: req.items.length,
    matchedItems: results.filter((r) => r.matches.length > 0).length,
    matchedIds: [...matched],
    provisional: [...provisional].map(([submissionId, incidentId]) => ({ submissionId, incidentId })),
    keep,
  });
  // The bytes `c.json(answer)` would send.
  const body = JSON.stringify({
    requestId: c.var.requestId,
    scope: req.scope,
    threshold: req.threshold,
    baselineVersion: version,
    results,
    kept: new Set(keep.map((k) => `${k.submissionId}\n${k.ref}`)).size,
    advisory: MATCH_ADVISORY,
  } satisfies MatchResponse);
  const { foldDue } = await accounting;
  // The pending requests' matched entries folded into the per-entry memory once this answer is
  // out (store/match.ts): off the request's critical path; a failed fold leaves them pending for
  // the next fold, and every reader folds before it reads.
  if (foldDue)
    c.executionCtx.waitUntil(
      foldMatches(c.env.DB).catch((e: unknown) => console.error(`folding match accounting: ${String(e)}`)),
    );
  // Where the time went, for operators and `npm run bench:match` (Workers clocks advance only
  // across I/O, so each figure ends at an awaited call): the baseline version and feed head read,
  // the index query in the shard objects (a catch-up read included when a shard was behind the
  // head), the metadata read, the accounting write, and when video entries were found, the
  // read of their frames (after the metadata, before the accounting).
  c.header(
    "Server-Timing",
    `version;dur=${tVersion - tStart}, index;dur=${tIndex - tVersion}, meta;dur=${tRows - tIndex}, account;dur=${Date.now() - tMeta}${videoKeys.size > 0 ? `, videos;dur=${tMeta - tRows}` : ""}${compactions > 0 ? `, compactions;desc="${compactions}"` : ""}`,
  );
  return c.body(body, 200, { "Content-Type": "application/json" }) as unknown as TypedResponse<
    MatchResponse,
    200,
    "json"
  >;
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
