// The node's statistics: the public aggregate figures for transparency reports (GET /v1/stats and
// the console's statistics page) and one entry's match counts per platform. Counts and rates over
// the whole node; nothing in the public figures names a record, a hash, a participant or a
// platform, and per-member-state rows are about authorities (public bodies) and the entries they
// originated. No Hono types here.
import {
  ENTRY_STATES,
  type EntryMatches,
  type EntryStateName,
  EU_MEMBER_STATES,
  type MemberStateStats,
  type NodeStats,
  TCO_LIMBS,
} from "@eusn/protocol";
import { type SQL, sql } from "drizzle-orm";
import type { Env } from "../env.ts";
import { type Db, prepared } from "../lib/db.ts";
import { nowIso } from "../lib/encoding.ts";
import { baselineStateNow, entryStateSql, flaggedEntrySql, policy } from "../rules/baseline.ts";
import { baselineVersion, DISPUTES_RAISED_SQL } from "./changes.ts";
import { errorRates } from "./error-rates.ts";
import { publicIncidents } from "./incidents.ts";
import { foldMatches } from "./match.ts";

const fpRate = (tp: number, fp: number) => (tp + fp > 0 ? fp / (tp + fp) : null);

/** The public figures, in one D1 round trip (a batch of read-only aggregate queries). */
export async function computeStats(db: Db, env: Env): Promise<NodeStats> {
  const now = nowIso();
  const p = await policy(db, env);
  type Row = Record<string, number | string | null>;
  const q = (query: SQL) => prepared(env.DB, query);
  // Every entry is counted by its one state (rules/baseline.ts): the baseline figures, the
  // counts by status and by baseline state all come from it, so they cannot disagree.
  const state = entryStateSql("s", p.quorum, now);
  const inBaseline = sql`${state} IN ('included', 'disputed')`;
  const [parts, subs, limbs, asm, disputed, decs, fbk, flagged, matches] = await env.DB.batch<Row>([
    q(sql`SELECT role, count(*) AS n, count(DISTINCT member_state) AS states FROM participants
       WHERE status = 'active' GROUP BY role`),
    q(sql`SELECT s.member_state AS ms, s.status, ${state} AS es, s.signal_type AS st,
         s.low_quality AS lq, count(*) AS n
       FROM submissions s GROUP BY 1, 2, 3, 4, 5`),
    q(sql`SELECT j.value AS limb, count(*) AS n FROM submissions s, json_each(s.limbs) j
       WHERE ${inBaseline} GROUP BY 1`),
    q(sql`SELECT member_state AS ms, verdict, live, count(*) AS n FROM assessments GROUP BY 1, 2, 3`),
    q(DISPUTES_RAISED_SQL),
    q(sql`SELECT action, ground, count(*) AS n FROM decisions GROUP BY 1, 2`),
    q(sql`SELECT s.member_state AS ms, f.outcome, (CASE WHEN ${inBaseline} THEN 1 ELSE 0 END) AS b,
         count(*) AS n
       FROM feedback f JOIN submissions s ON s.id = f.submission_id WHERE f.live = 1 GROUP BY 1, 2, 3`),
    q(sql`SELECT count(*) AS n FROM submissions s WHERE ${flaggedEntrySql("s", p)}`),
    q(sql`SELECT count(*) AS requests, coalesce(sum(queried), 0) AS queried,
         coalesce(sum(matched_items), 0) AS matched FROM match_requests`),
  ]);
  const rows = (r: D1Result<Row> | undefined) => r?.results ?? [];
  const num = (v: unknown) => (typeof v === "number" ? v : Number(v ?? 0));

  const states = new Map<string, MemberStateStats>();
  const stateRow = (ms: string) => {
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
    byStatus: { live: 0, withdrawn: 0, reversed: 0, voided: 0 },
    byBaselineState: { none: 0, included: 0, disputed: 0, excluded: 0, retired: 0 },
    byState: Object.fromEntries(ENTRY_STATES.map((x) => [x, 0])) as Record<EntryStateName, number>,
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
  for (const r of rows(subs)) {
    const n = num(r.n);
    const es = String(r.es) as EntryStateName;
    const ms = String(r.ms);
    const st = String(r.st);
    submissions.total += n;
    const status = r.status as keyof typeof submissions.byStatus;
    if (status in submissions.byStatus) submissions.byStatus[status] += n;
    if (es in submissions.byState) submissions.byState[es] += n;
    submissions.byBaselineState[baselineStateNow(es)] += n;
    submissions.bySignalType[st] = (submissions.bySignalType[st] ?? 0) + n;
    if (num(r.lq) === 1) submissions.lowQuality += n;
    const s = stateRow(ms);
    s.submissions += n;
    if (r.status === "withdrawn") s.withdrawn += n;
    if (r.status === "reversed") s.reversed += n;
    if (es === "included" || es === "disputed") {
      s.baselineEntries += n;
      baseline.total += n;
      baseline[es] += n;
      baseline.bySignalType[st] = (baseline.bySignalType[st] ?? 0) + n;
      baseline.byMemberState[ms] = (baseline.byMemberState[ms] ?? 0) + n;
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
    const s = stateRow(String(r.ms));
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
    const s = stateRow(String(r.ms));
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
    policy: {
      quorum: p.quorum,
      fpFlagRate: p.fpRate,
      fpFlagMinReports: p.fpMinReports,
      minRateSample: p.fpMinReports,
    },
    participants,
    baseline,
    submissions,
    assessments,
    disputes: { open: baseline.disputed, raised: num(rows(disputed)[0]?.n) },
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
    errorRates: await errorRates(db, now, p),
    byMemberState: [...states.values()].sort(
      (a, b) => (order.get(a.memberState) ?? 99) - (order.get(b.memberState) ?? 99),
    ),
    incidents: (await publicIncidents(db)).map((i) => ({
      id: i.id,
      title: i.title,
      startsAt: i.startsAt,
      endsAt: i.endsAt,
      closedAt: i.closedAt,
    })),
    note: "Aggregate counts only: no record, hash, participant or platform is named. Rates are false-positive reports / (true + false-positive reports) from platforms' live feedback.",
  };
}

/** The platforms that matched entry `id`, with how often and when first and last, most first. */
export async function entryMatches(env: Env, id: string): Promise<EntryMatches["byPlatform"]> {
  await foldMatches(env.DB);
  const res = await prepared(
    env.DB,
    sql`SELECT m.platform_id AS platformId, p.display_name AS displayName, m.count AS count,
         m.first_matched_at AS firstMatchedAt, m.last_matched_at AS lastMatchedAt
       FROM submission_matches m LEFT JOIN participants p ON p.id = m.platform_id
       WHERE m.submission_id = ${id} ORDER BY m.count DESC, m.platform_id`,
  ).all<EntryMatches["byPlatform"][number]>();
  return res.results ?? [];
}
