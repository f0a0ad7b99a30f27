// /v1/stats: public, aggregate-only figures for transparency reports (baseline entries per TCO limb
// and per member state, assessments, disputes, reversals, false-positive rates, matching volume),
// and /v1/stats/submissions/{id}: one entry's match counts per platform (coordinator).
//
// The public figures are counts and rates over the whole node. Nothing in them names a record,
// a hash, a participant or a platform; per-member-state rows are about authorities (public
// bodies) and the entries they originated.

import { EU_MEMBER_STATES, SubmissionId, TCO_LIMBS } from "@eusn/protocol";
import { createRoute, z } from "@hono/zod-openapi";
import { type SQL, sql } from "drizzle-orm";
import { verifyAccess } from "../auth/verify.ts";
import type { Env } from "../env.ts";
import { type Db, prepared } from "../lib/db.ts";
import { nowIso } from "../lib/encoding.ts";
import { bearerSecurity, problems, router } from "../lib/hono.ts";
import { ApiError } from "../lib/problem.ts";
import { flaggedSql, inBaselineSql, policy } from "../rules/baseline.ts";
import { baselineVersion, getSubmission } from "../store/submissions.ts";

const app = router();

const count = z.number().int().nonnegative();
const rate = z.number().min(0).max(1).nullable().describe("FP / (TP + FP); null when there are no reports.");

const MemberStateStats = z.object({
  memberState: z.string(),
  submissions: count.describe("Submissions originated by this state's authorities (any status)."),
  baselineEntries: count.describe("Of those, entries in the baseline now."),
  withdrawn: count,
  reversed: count,
  concurrences: count.describe("Live concurrences given by this state's authorities."),
  dissents: count.describe("Live dissents given by this state's authorities."),
  truePositive: count.describe("Live platform reports on this state's entries."),
  falsePositive: count,
  falsePositiveRate: rate,
});

export const NodeStats = z
  .object({
    generatedAt: z.string(),
    nodeId: z.string(),
    baselineVersion: z.number().int(),
    policy: z.object({ quorum: count, fpFlagRate: z.number(), fpFlagMinReports: count }),
    participants: z.object({
      coordinators: count,
      authorities: count,
      platforms: count,
      memberStatesWithAuthority: count,
    }),
    baseline: z.object({
      total: count,
      included: count,
      disputed: count,
      byLimb: z.record(z.string(), count).describe("An entry citing several limbs counts once per limb."),
      bySignalType: z.record(z.string(), count),
      byMemberState: z.record(z.string(), count).describe("By originating member state."),
    }),
    submissions: z.object({
      total: count,
      byStatus: z.object({ live: count, withdrawn: count, reversed: count }),
      byBaselineState: z.object({
        none: count,
        included: count,
        disputed: count,
        excluded: count,
        retired: count,
      }),
      bySignalType: z.record(z.string(), count),
      lowQuality: count,
    }),
    assessments: z.object({
      total: count.describe("Every assessment record, superseded ones included."),
      concur: count.describe("Live concurrences."),
      dissent: count.describe("Live dissents."),
      superseded: count,
    }),
    disputes: z.object({
      open: count.describe("Baseline entries disputed now (a dissent after inclusion, not yet decided)."),
      raised: count.describe("Times an included entry became disputed."),
    }),
    decisions: z.object({ include: count, exclude: count, retire: count }),
    reversals: z.object({
      withdrawn: count.describe("Withdrawn by the submitting authority."),
      reversed: count.describe("Reversed by a coordinator."),
      byGround: z.record(z.string(), count),
    }),
    feedback: z.object({
      truePositive: count,
      falsePositive: count,
      notActioned: count,
      falsePositiveRate: rate,
      baseline: z
        .object({ truePositive: count, falsePositive: count, falsePositiveRate: rate })
        .describe("Reports on entries that are in the baseline now."),
      flaggedEntries: count.describe("Live entries whose false-positive rate crossed the policy threshold."),
    }),
    matching: z.object({ requests: count, hashesQueried: count, itemsMatched: count }),
    byMemberState: z.array(MemberStateStats),
    note: z.string(),
  })
  .meta({ id: "NodeStats" });
export type NodeStats = z.infer<typeof NodeStats>;

const fpRate = (tp: number, fp: number) => (tp + fp > 0 ? fp / (tp + fp) : null);

/** The public figures, in one D1 round trip (a batch of read-only aggregate queries). */
export async function computeStats(db: Db, env: Env): Promise<NodeStats> {
  const now = nowIso();
  const p = await policy(db, env);
  type Row = Record<string, number | string | null>;
  const q = (query: SQL) => prepared(env.DB, query);
  const inBaseline = inBaselineSql("s", now);
  const [parts, subs, limbs, asm, disputed, decs, fbk, flagged, matches] = await env.DB.batch<Row>([
    q(sql`SELECT role, count(*) AS n, count(DISTINCT member_state) AS states FROM participants
       WHERE status = 'active' GROUP BY role`),
    q(sql`SELECT s.member_state AS ms, s.status, s.baseline_state AS bs, s.signal_type AS st,
         s.low_quality AS lq, count(*) AS n, sum(CASE WHEN ${inBaseline} THEN 1 ELSE 0 END) AS nb
       FROM submissions s GROUP BY 1, 2, 3, 4, 5`),
    q(sql`SELECT j.value AS limb, count(*) AS n FROM submissions s, json_each(s.limbs) j
       WHERE ${inBaseline} GROUP BY 1`),
    q(sql`SELECT member_state AS ms, verdict, live, count(*) AS n FROM assessments GROUP BY 1, 2, 3`),
    q(sql`SELECT count(*) AS n FROM submission_changes WHERE change = 'disputed'`),
    q(sql`SELECT action, ground, count(*) AS n FROM decisions GROUP BY 1, 2`),
    q(sql`SELECT s.member_state AS ms, f.outcome, (CASE WHEN ${inBaseline} THEN 1 ELSE 0 END) AS b,
         count(*) AS n
       FROM feedback f JOIN submissions s ON s.id = f.submission_id WHERE f.live = 1 GROUP BY 1, 2, 3`),
    q(sql`SELECT count(*) AS n FROM submissions s WHERE s.status = 'live' AND ${flaggedSql("s", p)}`),
    q(sql`SELECT count(*) AS requests, coalesce(sum(queried), 0) AS queried,
         coalesce(sum(matched_items), 0) AS matched FROM match_requests`),
  ]);
  const rows = (r: D1Result<Row> | undefined) => r?.results ?? [];
  const num = (v: unknown) => (typeof v === "number" ? v : Number(v ?? 0));

  const states = new Map<string, z.infer<typeof MemberStateStats>>();
  const state = (ms: string) => {
    let s = states.get(ms);
    if (!s) {
      s = {
        memberState: ms,
        submissions: 0,
        baselineEntries: 0,
        withdrawn: 0,
        reversed: 0,
        concurrences: 0,
        dissents: 0,
        truePositive: 0,
        falsePositive: 0,
        falsePositiveRate: null,
      };
      states.set(ms, s);
    }
    return s;
  };

  const participants = { coordinators: 0, authorities: 0, platforms: 0, memberStatesWithAuthority: 0 };
  for (const r of rows(parts)) {
    const n = num(r.n);
    if (r.role === "coordinator") participants.coordinators = n;
    if (r.role === "platform") participants.platforms = n;
    if (r.role === "authority") {
      participants.authorities = n;
      participants.memberStatesWithAuthority = num(r.states);
    }
  }

  const submissions = {
    total: 0,
    byStatus: { live: 0, withdrawn: 0, reversed: 0 },
    byBaselineState: { none: 0, included: 0, disputed: 0, excluded: 0, retired: 0 },
    bySignalType: {} as Record<string, number>,
    lowQuality: 0,
  };
  const baseline = {
    total: 0,
    included: 0,
    disputed: 0,
    byLimb: Object.fromEntries(TCO_LIMBS.map((l) => [l, 0])) as Record<string, number>,
    bySignalType: {} as Record<string, number>,
    byMemberState: {} as Record<string, number>,
  };
  let openDisputes = 0;
  for (const r of rows(subs)) {
    const n = num(r.n);
    const nb = num(r.nb);
    const ms = String(r.ms);
    const st = String(r.st);
    submissions.total += n;
    const status = r.status as keyof typeof submissions.byStatus;
    if (status in submissions.byStatus) submissions.byStatus[status] += n;
    const bs = r.bs as keyof typeof submissions.byBaselineState;
    if (bs in submissions.byBaselineState) submissions.byBaselineState[bs] += n;
    submissions.bySignalType[st] = (submissions.bySignalType[st] ?? 0) + n;
    if (num(r.lq) === 1) submissions.lowQuality += n;
    if (r.status === "live" && r.bs === "disputed") openDisputes += n;
    const s = state(ms);
    s.submissions += n;
    s.baselineEntries += nb;
    if (r.status === "withdrawn") s.withdrawn += n;
    if (r.status === "reversed") s.reversed += n;
    if (nb > 0) {
      baseline.total += nb;
      if (r.bs === "included") baseline.included += nb;
      if (r.bs === "disputed") baseline.disputed += nb;
      baseline.bySignalType[st] = (baseline.bySignalType[st] ?? 0) + nb;
      baseline.byMemberState[ms] = (baseline.byMemberState[ms] ?? 0) + nb;
    }
  }
  for (const r of rows(limbs)) baseline.byLimb[String(r.limb)] = num(r.n);

  const assessments = { total: 0, concur: 0, dissent: 0, superseded: 0 };
  for (const r of rows(asm)) {
    const n = num(r.n);
    assessments.total += n;
    if (num(r.live) !== 1) {
      assessments.superseded += n;
      continue;
    }
    const s = state(String(r.ms));
    if (r.verdict === "concur") {
      assessments.concur += n;
      s.concurrences += n;
    } else {
      assessments.dissent += n;
      s.dissents += n;
    }
  }

  const decisions = { include: 0, exclude: 0, retire: 0 };
  const reversals = { withdrawn: 0, reversed: 0, byGround: {} as Record<string, number> };
  for (const r of rows(decs)) {
    const n = num(r.n);
    const a = String(r.action);
    if (a === "include" || a === "exclude" || a === "retire") decisions[a] += n;
    if (a === "withdraw") reversals.withdrawn += n;
    if (a === "reverse") {
      reversals.reversed += n;
      const g = String(r.ground ?? "other");
      reversals.byGround[g] = (reversals.byGround[g] ?? 0) + n;
    }
  }

  const fb = { tp: 0, fp: 0, na: 0, btp: 0, bfp: 0 };
  for (const r of rows(fbk)) {
    const n = num(r.n);
    const inB = num(r.b) === 1;
    const s = state(String(r.ms));
    if (r.outcome === "true_positive") {
      fb.tp += n;
      s.truePositive += n;
      if (inB) fb.btp += n;
    } else if (r.outcome === "false_positive") {
      fb.fp += n;
      s.falsePositive += n;
      if (inB) fb.bfp += n;
    } else fb.na += n;
  }
  for (const s of states.values()) s.falsePositiveRate = fpRate(s.truePositive, s.falsePositive);
  const m = rows(matches)[0] ?? {};

  const order = new Map<string, number>(EU_MEMBER_STATES.map((s, i) => [s, i]));
  return {
    generatedAt: now,
    nodeId: env.NODE_ID,
    baselineVersion: await baselineVersion(db),
    policy: { quorum: p.quorum, fpFlagRate: p.fpRate, fpFlagMinReports: p.fpMinReports },
    participants,
    baseline,
    submissions,
    assessments,
    disputes: { open: openDisputes, raised: num(rows(disputed)[0]?.n) },
    decisions,
    reversals,
    feedback: {
      truePositive: fb.tp,
      falsePositive: fb.fp,
      notActioned: fb.na,
      falsePositiveRate: fpRate(fb.tp, fb.fp),
      baseline: { truePositive: fb.btp, falsePositive: fb.bfp, falsePositiveRate: fpRate(fb.btp, fb.bfp) },
      flaggedEntries: num(rows(flagged)[0]?.n),
    },
    matching: {
      requests: num(m.requests),
      hashesQueried: num(m.queried),
      itemsMatched: num(m.matched),
    },
    byMemberState: [...states.values()].sort(
      (a, b) => (order.get(a.memberState) ?? 99) - (order.get(b.memberState) ?? 99),
    ),
    note: "Aggregate counts only: no record, hash, participant or platform is named. Rates are false-positive reports / (true + false-positive reports) from platforms' live feedback.",
  };
}

app.openapi(
  createRoute({
    method: "get",
    path: "/v1/stats",
    tags: ["stats"],
    summary: "Public aggregate statistics for transparency reports (no sign-in)",
    description:
      "Counts of baseline entries per TCO limb and per originating member state, submissions, assessments, disputes, decisions, withdrawals and reversals, platform feedback and false-positive rates, and matching volume. Aggregates only.",
    responses: {
      200: { description: "The figures now", content: { "application/json": { schema: NodeStats } } },
    },
  }),
  async (c) => {
    c.header("cache-control", "public, max-age=60");
    return c.json(await computeStats(c.var.db, c.env), 200);
  },
);

const EntryMatches = z
  .object({
    submissionId: SubmissionId,
    platforms: count.describe("Distinct platforms that matched the entry."),
    total: count.describe("Match requests that returned the entry, over all platforms."),
    byPlatform: z.array(
      z.object({
        platformId: z.string(),
        displayName: z.string().nullable(),
        count,
        firstMatchedAt: z.string(),
        lastMatchedAt: z.string(),
      }),
    ),
    note: z.string(),
  })
  .meta({ id: "EntryMatches" });

app.openapi(
  createRoute({
    method: "get",
    path: "/v1/stats/submissions/{id}",
    tags: ["stats"],
    summary: "Match counts of one entry, per platform (coordinator)",
    description:
      "Which platforms matched the entry and how often: what a coordinator weighs with the feedback tally before a decision. Platforms carry no member state in the registry, so the breakdown is per platform.",
    security: bearerSecurity,
    request: { params: z.object({ id: SubmissionId }) },
    responses: {
      200: { description: "Match counts", content: { "application/json": { schema: EntryMatches } } },
      ...problems(400, 401, 403, 404),
    },
  }),
  async (c) => {
    await verifyAccess(c.req.raw, c.env, c.var.db, ["coordinator"]);
    const { id } = c.req.valid("param");
    if (!(await getSubmission(c.var.db, id))) throw new ApiError("not_found", `no submission ${id}`);
    const res = await c.env.DB.prepare(
      `SELECT m.platform_id AS platformId, p.display_name AS displayName, m.count AS count,
         m.first_matched_at AS firstMatchedAt, m.last_matched_at AS lastMatchedAt
       FROM submission_matches m LEFT JOIN participants p ON p.id = m.platform_id
       WHERE m.submission_id = ?1 ORDER BY m.count DESC, m.platform_id`,
    )
      .bind(id)
      .all<{
        platformId: string;
        displayName: string | null;
        count: number;
        firstMatchedAt: string;
        lastMatchedAt: string;
      }>();
    const byPlatform = res.results ?? [];
    return c.json(
      {
        submissionId: id,
        platforms: byPlatform.length,
        total: byPlatform.reduce((a, r) => a + r.count, 0),
        byPlatform,
        note: "Counts of match requests that returned this entry; the queried hashes themselves are never stored.",
      },
      200,
    );
  },
);

export default app;
