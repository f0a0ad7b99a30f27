// The competent authorities' transparency report (TCO Art. 8): what EUSN knows of an authority's
// year, per calendar quarter (UTC) — hashes it submitted, its assessments and those of its entries,
// inclusions, disputes, withdrawals and reversals by ground (complaints upheld among them) from the
// change feed, and platforms' match reports — each figure with the ids of the signed records it
// counts, so a reviewer can fetch every one (GET /v1/records/{id}) and count again. Counts only:
// no hash value, no content, no platform's content reference. No Hono types here.
import { REPORT_FIGURES, type ReportFigure, type ReportFigureKey, type TcoReport } from "@eusn/protocol";
import { and, eq, type SQL, sql } from "drizzle-orm";
import { participants } from "../../../schema/index.ts";
import type { Db } from "../lib/db.ts";
import { nowIso } from "../lib/encoding.ts";

/** What each figure counts, in the report's order. */
export const FIGURE_INFO: Record<ReportFigureKey, { label: string; counts: string }> = {
  submitted: { label: "Hashes submitted", counts: "a hash submitted (one submission record may carry many)" },
  assessed: { label: "Assessments given", counts: "an assessment record signed by the authority" },
  assessedConcur: { label: "Assessments given: concur", counts: "a concurring assessment record" },
  assessedDissent: { label: "Assessments given: dissent", counts: "a dissenting assessment record" },
  assessedByOthers: {
    label: "Assessments received",
    counts: "an assessment record by another authority on one of the authority's hashes",
  },
  included: { label: "Included in the baseline", counts: "an inclusion taking effect (change feed)" },
  disputed: { label: "Disputed", counts: "an included entry becoming disputed (change feed)" },
  withdrawn: { label: "Withdrawn", counts: "a withdrawal by the submitting authority taking effect" },
  reversed: { label: "Reversed", counts: "a reversal by a coordinator taking effect" },
  reversedComplaintUpheld: {
    label: "Reversed: complaint upheld",
    counts: "a reversal on the ground complaint_upheld",
  },
  reversedCourtRuling: { label: "Reversed: court ruling", counts: "a reversal on the ground court_ruling" },
  reversedError: { label: "Reversed: error", counts: "a reversal on the ground error" },
  reversedOther: { label: "Reversed: other ground", counts: "a reversal on the ground other" },
  matchesReported: {
    label: "Match reports by platforms",
    counts: "a platform's feedback record on a match of one of the hashes (any outcome)",
  },
  truePositive: { label: "Reported true positives", counts: "a feedback record with outcome true_positive" },
  falsePositive: {
    label: "Reported false positives",
    counts: "a feedback record with outcome false_positive",
  },
  notActioned: { label: "Reported not actioned", counts: "a feedback record with outcome not_actioned" },
};

/** The calendar quarter (1–4) of an ISO timestamp column, in SQL. */
const quarterOf = (col: string) => sql.raw(`((CAST(substr(${col}, 6, 2) AS INTEGER) - 1) / 3 + 1)`);
/** Signed times are ISO 8601 UTC strings: a day `YYYY-MM-DD` compares as the start of that day. */
const inPeriod = (col: string, p: ReportPeriod) =>
  sql`${sql.raw(col)} >= ${p.from} AND ${sql.raw(col)} < ${p.to}`;

/** The days a report counts: `from` inclusive, `to` exclusive (YYYY-MM-DD, UTC). */
export type ReportPeriod = { from: string; to: string };

/** The whole calendar year. */
export const yearPeriod = (year: number): ReportPeriod => ({
  from: `${year}-01-01`,
  to: `${year + 1}-01-01`,
});

type Row = { q: number; rec: string | null; k: string | null; n: number };

/** Whose figures: one authority, a member state's authorities together, or every authority. */
export type ReportScope = { authorityId: string } | { memberState: string } | "all";

/** The report of `scope` for `year`, counting the days of `period` (a part of the year; default all). */
export async function tcoReport(
  db: Db,
  nodeId: string,
  year: number,
  scope: ReportScope,
  period: ReportPeriod = yearPeriod(year),
): Promise<TcoReport> {
  // The authorities counted, as the public registry lists them (revoked ones too: their records
  // of the year stay theirs).
  const counted = await db
    .select({
      id: participants.id,
      displayName: participants.displayName,
      memberState: participants.memberState,
    })
    .from(participants)
    .where(
      scope === "all"
        ? eq(participants.role, "authority")
        : "authorityId" in scope
          ? and(eq(participants.role, "authority"), eq(participants.id, scope.authorityId))
          : and(eq(participants.role, "authority"), eq(participants.memberState, scope.memberState)),
    )
    .orderBy(participants.memberState, participants.id);
  const mine = (col: string): SQL =>
    scope === "all"
      ? sql``
      : "authorityId" in scope
        ? sql` AND ${sql.raw(col)} = ${scope.authorityId}`
        : sql` AND ${sql.raw(col)} IN (SELECT id FROM participants WHERE role = 'authority' AND member_state = ${scope.memberState})`;
  const cells = new Map<ReportFigureKey, { value: number; records: Set<string> }[]>(
    REPORT_FIGURES.map((k) => [k, [0, 1, 2, 3].map(() => ({ value: 0, records: new Set<string>() }))]),
  );
  const add = (k: ReportFigureKey, r: Row) => {
    const c = cells.get(k)![r.q - 1];
    if (!c) return;
    c.value += r.n;
    if (r.rec) c.records.add(r.rec);
  };

  const [subs, given, received, changes, fb] = await Promise.all([
    db.all<Row>(sql`SELECT ${quarterOf("s.created_at")} AS q, s.record_id AS rec, NULL AS k, count(*) AS n
      FROM submissions s WHERE ${inPeriod("s.created_at", period)} AND s.status <> 'voided'${mine("s.submitter_id")}
      GROUP BY 1, 2`),
    db.all<Row>(sql`SELECT ${quarterOf("a.created_at")} AS q, a.record_id AS rec, a.verdict AS k, count(*) AS n
      FROM assessments a WHERE ${inPeriod("a.created_at", period)}${mine("a.authority_id")} GROUP BY 1, 2, 3`),
    db.all<Row>(sql`SELECT ${quarterOf("a.created_at")} AS q, a.record_id AS rec, NULL AS k, count(*) AS n
      FROM assessments a JOIN submissions s ON s.id = a.submission_id
      WHERE ${inPeriod("a.created_at", period)} AND a.authority_id <> s.submitter_id${mine("s.submitter_id")}
      GROUP BY 1, 2`),
    db.all<Row>(sql`SELECT ${quarterOf("c.at")} AS q, c.record_id AS rec,
        c.change || '/' || coalesce(d.ground, '') AS k, count(*) AS n
      FROM submission_changes c JOIN submissions s ON s.id = c.submission_id
      LEFT JOIN decisions d ON d.record_id = c.record_id AND d.submission_id = c.submission_id
      WHERE ${inPeriod("c.at", period)} AND c.change IN ('included', 'disputed', 'withdrawn', 'reversed')${mine("s.submitter_id")}
      GROUP BY 1, 2, 3`),
    db.all<Row>(sql`SELECT ${quarterOf("f.created_at")} AS q, f.record_id AS rec, f.outcome AS k, count(*) AS n
      FROM feedback f JOIN submissions s ON s.id = f.submission_id
      WHERE ${inPeriod("f.created_at", period)}${mine("s.submitter_id")} GROUP BY 1, 2, 3`),
  ]);
  for (const r of subs) add("submitted", r);
  for (const r of given) {
    add("assessed", r);
    add(r.k === "concur" ? "assessedConcur" : "assessedDissent", r);
  }
  for (const r of received) add("assessedByOthers", r);
  const GROUND: Record<string, ReportFigureKey> = {
    complaint_upheld: "reversedComplaintUpheld",
    court_ruling: "reversedCourtRuling",
    error: "reversedError",
  };
  for (const r of changes) {
    const [change, ground = ""] = (r.k ?? "").split("/");
    if (change === "reversed") {
      add("reversed", r);
      add(GROUND[ground] ?? "reversedOther", r);
    } else add(change as ReportFigureKey, r);
  }
  for (const r of fb) {
    add("matchesReported", r);
    add(
      r.k === "true_positive" ? "truePositive" : r.k === "false_positive" ? "falsePositive" : "notActioned",
      r,
    );
  }

  const one = scope !== "all" && "authorityId" in scope ? scope.authorityId : null;
  const who = one ? counted[0] : undefined;
  const figures: ReportFigure[] = REPORT_FIGURES.map((key) => {
    const quarters = cells.get(key)!.map((c) => ({ value: c.value, records: [...c.records].sort() }));
    return {
      key,
      ...FIGURE_INFO[key],
      quarters,
      total: quarters.reduce((a, c) => a + c.value, 0),
    };
  });
  return {
    year,
    scope: {
      authorityId: one,
      memberState: who?.memberState ?? (scope !== "all" && "memberState" in scope ? scope.memberState : null),
      displayName: who?.displayName ?? null,
    },
    authorities: counted,
    nodeId,
    generatedAt: nowIso(),
    period,
    quarters: [1, 2, 3, 4].map((q) => ({
      quarter: q,
      from: `${year}-${String(3 * q - 2).padStart(2, "0")}-01`,
      to: q === 4 ? `${year + 1}-01-01` : `${year}-${String(3 * q + 1).padStart(2, "0")}-01`,
    })),
    figures,
    recordUrl: "/v1/records/{id}",
    note: "What this node knows of the year (or of `period`, a part of it) under Regulation (EU) 2021/784 Art. 8, by the signed time of each record, per calendar quarter (UTC; `to` is exclusive). Each figure lists the signed records it counts. Removal orders, specific-measure decisions and penalties are not exchanged through EUSN and are not here.",
  };
}

const csvCell = (s: string) => (/[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);

/**
 * The report as CSV: one row per figure and quarter, then the year (or `period`, when only a part
 * of the year was counted); records space-separated.
 */
export function reportCsv(r: TcoReport): string {
  const whole = r.period.from === `${r.year}-01-01` && r.period.to === `${r.year + 1}-01-01`;
  const lines = ["figure,label,quarter,value,records"];
  for (const f of r.figures) {
    f.quarters.forEach((c, i) => {
      lines.push([f.key, csvCell(f.label), `Q${i + 1}`, String(c.value), c.records.join(" ")].join(","));
    });
    const all = [...new Set(f.quarters.flatMap((c) => c.records))].sort();
    lines.push(
      [f.key, csvCell(f.label), whole ? "year" : "period", String(f.total), all.join(" ")].join(","),
    );
  }
  return `${lines.join("\n")}\n`;
}
