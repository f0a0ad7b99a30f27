// Appliers of the hash-sharing records: submissions, assessments, baseline decisions,
// withdrawals/reversals and match feedback. Used by routes/submissions.ts and by federation,
// through the same write pipeline (apply/pipeline.ts). Each applier checks what a record may say
// at all (who signs it, about what) and adds the record's facts; the state an entry ends up in is
// then re-derived from all its records in signed order (rules/entry-history.ts), so a replicated
// assessment counts exactly as a local one, whatever order they arrive in.
import {
  MIN_PDQ_QUALITY,
  PROVISIONAL_MAX_HOURS,
  type RecordOf,
  type SubmissionItem,
  vpdqDigest,
} from "@eusn/protocol";
import { and, eq, sql } from "drizzle-orm";
import {
  assessments,
  batchGuard,
  decisions,
  feedback,
  submissionChanges,
  submissionMatches,
  submissions,
  submissionVideos,
} from "../../../schema/index.ts";
import { type Db, insertSelect } from "../lib/db.ts";
import { nowIso } from "../lib/encoding.ts";
import { derivedId, derivedIds } from "../lib/ids.ts";
import { ApiError } from "../lib/problem.ts";
import { packFrames } from "../lib/vpdq-frames.ts";
import { linkedInBaselineSql, type SubmissionRow } from "../rules/baseline.ts";
import { ofFingerprintSql } from "../store/fingerprint-keys.ts";
import {
  getIncident,
  incidentGuard,
  incidentsLinkedTo,
  isActiveAt,
  isActiveInSecond,
} from "../store/incidents.ts";
import { foldMatches } from "../store/match.ts";
import { getSubmission, liveOfFingerprints } from "../store/submissions.ts";
import { type Applier, type ApplyContext, type Plan, signedAt } from "./context.ts";
import { endCaseFilesStatements } from "./evidence.ts";

const fp = (i: SubmissionItem) => `${i.signalType}:${i.value}`;

/** The labels of a submission that a repeat can differ in (the hash itself is what repeats). */
export const LABEL_FIELDS = [
  "limbs",
  "contentType",
  "nationalProvision",
  "tlp",
  "expiresAt",
  "note",
] as const;
export type LabelChange = {
  field: (typeof LABEL_FIELDS)[number];
  stored: string | string[] | null;
  sent: string | string[] | null;
};

export type SubmitApplied = Plan & {
  /** Items new to this node, with the ids they get. */
  fresh: { item: SubmissionItem; id: string }[];
  /** The record's items, and the submission id of each in the same order (existing ones keep theirs). */
  items: readonly SubmissionItem[];
  ids: string[];
  /**
   * Items this authority had already submitted with other labels, by submission id: the stored
   * labels stand and the repeat changes nothing, which the answer says instead of keeping quiet.
   */
  relabelled: Map<string, LabelChange[]>;
  /**
   * What the answer says of each item, in the items' order: whether its submission is flagged low
   * quality (the stored flag of an existing one) and the other authorities' live submissions of
   * its value, as read before the write.
   */
  answers: { lowQuality: boolean; linked: string[] }[];
};

/** Whether a new submission of `item` is flagged low quality (stored as `low_quality`). */
export function isLowQuality(item: SubmissionItem): boolean {
  return item.signalType === "pdq"
    ? (item.quality ?? 0) < MIN_PDQ_QUALITY
    : item.signalType === "vpdq" && !item.video?.frames.some((f) => f[1] >= MIN_PDQ_QUALITY);
}

/** How a repeat's labels differ from the stored submission's (empty: the same). */
export function labelChanges(row: SubmissionRow, item: SubmissionItem): LabelChange[] {
  const sent: Record<LabelChange["field"], string | string[] | null> = {
    limbs: [...item.limbs].sort(),
    contentType: item.contentType,
    nationalProvision: item.nationalProvision,
    tlp: item.tlp ?? null,
    expiresAt: item.expiresAt ? new Date(item.expiresAt).toISOString() : null,
    note: item.note ?? null,
  };
  const stored: Record<LabelChange["field"], string | string[] | null> = {
    limbs: JSON.parse(row.limbs) as string[],
    contentType: row.contentType,
    nationalProvision: row.nationalProvision,
    tlp: row.tlp,
    expiresAt: row.expiresAt,
    note: row.note,
  };
  return LABEL_FIELDS.filter((f) => JSON.stringify(stored[f]) !== JSON.stringify(sent[f])).map((field) => ({
    field,
    stored: stored[field],
    sent: sent[field],
  }));
}

/**
 * An authority submits one or a batch of hashes. The same value by the same authority is the same
 * live submission (idempotent); only new items are created, each with an id derived from the
 * record and its position in the batch.
 */
export const createSubmissions: Applier<"submission.create", SubmitApplied> = {
  kind: "submission.create",
  roles: ["authority"],
  replicated: true,
  dependsOn: (w) => (w.record.incidentId ? [`incident:${w.record.incidentId}`] : []),
  async apply(db, _env, w, ctx) {
    const me = w.caller.participant;
    const items = w.record.items;
    // Provisional entries (docs/incidents.md): only while the incident is active, judged at the
    // record's signed time (some moment of its whole second) and, for a write to this node, at
    // the node's time too (a record signed up to 5 minutes early cannot reach an incident that has
    // ended here). The batch is guarded on the incident as read, so a close landing meanwhile
    // refuses it (409) rather than leaving a provisional entry the close did not lapse.
    const incident = w.record.incidentId ? await getIncident(db, w.record.incidentId) : undefined;
    if (w.record.incidentId) {
      if (!incident) throw new ApiError("not_found", `no incident ${w.record.incidentId}`);
      if (!isActiveInSecond(incident, ctx.at) || (!ctx.replicated && !isActiveAt(incident, Date.now())))
        throw new ApiError(
          "conflict",
          `incident ${incident.id} is not active (${incident.closedAt ? "closed" : `${incident.startsAt} to ${incident.endsAt}`}): provisional submissions are accepted only while it is`,
        );
    }
    const provisionalUntil = incident ? nowIso(ctx.at + PROVISIONAL_MAX_HOURS * 3600_000) : null;
    const seen = new Set<string>();
    items.forEach((it, idx) => {
      if (seen.has(fp(it))) {
        throw new ApiError("validation_failed", "the batch repeats a value", [
          { path: `/record/items/${idx}/value`, message: "repeated in this batch" },
        ]);
      }
      seen.add(fp(it));
    });
    items.forEach((it, idx) => {
      if (it.expiresAt && Date.parse(it.expiresAt) <= ctx.at) {
        throw new ApiError("validation_failed", "expiry in the past", [
          { path: `/record/items/${idx}/expiresAt`, message: "must be in the future" },
        ]);
      }
    });
    // A video is named by the SHA-256 of its frames in the reference's text format; the value
    // signed must be that digest, so the same video is the same entry wherever it is submitted.
    for (const [idx, it] of items.entries()) {
      if (it.signalType !== "vpdq" || !it.video) continue;
      if ((await vpdqDigest(it.video.frames)) !== it.value) {
        throw new ApiError("validation_failed", "a vpdq value is the SHA-256 of its frames", [
          {
            path: `/record/items/${idx}/value`,
            message: "is not the SHA-256 of the frames in the reference's text format",
          },
        ]);
      }
    }
    // Every live submission of the batch's fingerprints, whoever holds it, in one read whatever
    // the batch size (the fingerprints travel as one JSON parameter; each is one lookup in the
    // hash index): this authority's are the idempotency check, the other authorities' are the
    // links the answer reports. Reading the links back after the write cost a second lookup per
    // item in that index (random pages, as the hash values are random).
    const existing = new Map<string, SubmissionRow>();
    const linked = new Map<string, string[]>();
    const rows = await liveOfFingerprints(db, [...seen]);
    for (const r of rows) {
      if (r.submitterId === me.id) existing.set(r.fingerprint, r);
      else {
        const ids = linked.get(r.fingerprint);
        if (ids) ids.push(r.id);
        else linked.set(r.fingerprint, [r.id]);
      }
    }
    const createdAt = nowIso(ctx.at);
    const freshAt = items.flatMap((item, n) => (existing.has(fp(item)) ? [] : [n]));
    const freshIds = await derivedIds("submission", w, freshAt);
    const fresh: SubmitApplied["fresh"] = freshAt.map((n, k) => ({ item: items[n]!, id: freshIds[k]! }));
    const freshId = new Map(fresh.map((f) => [f.item, f.id]));
    const ids = items.map((it) => existing.get(fp(it))?.id ?? freshId.get(it)!);
    const relabelled = new Map<string, LabelChange[]>();
    for (const it of items) {
      const row = existing.get(fp(it));
      const changes = row ? labelChanges(row, it) : [];
      if (row && changes.length > 0) relabelled.set(row.id, changes);
    }
    // A TLP:RED item withholds the provisional entries of its value: their incidents' followers
    // are woken too (store/incidents.ts shows them a `withheld` line).
    const woken = [
      ...(incident && fresh.length > 0 ? [incident.id] : []),
      ...(await incidentsLinkedTo(
        db,
        fresh.filter((f) => f.item.tlp === "red").map((f) => fp(f.item)),
      )),
    ];
    const answers = items.map((it) => {
      const row = existing.get(fp(it));
      return { lowQuality: row ? row.lowQuality : isLowQuality(it), linked: linked.get(fp(it)) ?? [] };
    });
    return {
      fresh,
      items,
      ids,
      relabelled,
      answers,
      // Over HTTP a repeat stores nothing; a replica stores every record its origin logged.
      nothingNew: fresh.length === 0 && !ctx.replicated,
      subjectId: fresh.length === 1 ? fresh[0]!.id : `batch:${fresh.length}`,
      creates: fresh.map((f) => f.id),
      ...(woken.length > 0 ? { incidents: woken } : {}),
      statements: (() => {
        if (fresh.length === 0) return [];
        const recordId = ctx.recordId;
        // The state of an entry with no other record yet (rules/entry-history.ts): live, or void
        // when the record creating it was signed after its key stopped being valid; the
        // submitter's own member state counts while the submitter is active.
        const status = w.void ? "voided" : "live";
        const concurStates = JSON.stringify(!w.void && me.status === "active" ? [me.memberState] : []);
        // One statement per table for the whole batch, whatever its size: the rows travel as one
        // JSON parameter and SQLite unpacks them (json_each) in batch order, so the `created`
        // changes, and the match keys the trigger gives from them, follow the items' order. A
        // statement per few rows, as D1's 100 bound parameters force for plain inserts, was
        // ~330 statements for a batch of 1,000 hashes and most of its time.
        const packed = JSON.stringify(
          fresh.map(({ item, id }) => [
            id,
            item.signalType,
            item.value,
            item.quality ?? null,
            isLowQuality(item) ? 1 : 0,
            JSON.stringify([...item.limbs].sort()),
            item.contentType,
            item.nationalProvision,
            item.tlp ?? null,
            item.expiresAt ? new Date(item.expiresAt).toISOString() : null,
            item.note ?? null,
          ]),
        );
        const col = (i: number) => sql`json_extract(j.value, ${`$[${i}]`})`;
        const fingerprint = sql`json_extract(j.value, '$[1]') || ':' || json_extract(j.value, '$[2]')`;
        const inserts = insertSelect(
          db,
          submissions,
          {
            id: col(0),
            recordId: sql`${recordId}`,
            submitterId: sql`${me.id}`,
            memberState: sql`${me.memberState!}`,
            signalType: col(1),
            value: col(2),
            fingerprint,
            quality: col(3),
            lowQuality: col(4),
            limbs: col(5),
            contentType: col(6),
            nationalProvision: col(7),
            tlp: col(8),
            expiresAt: col(9),
            note: col(10),
            status: sql`${status}`,
            concurStates: sql`${concurStates}`,
            createdAt: sql`${createdAt}`,
            incidentId: incident ? sql`${incident.id}` : sql`NULL`,
            provisionalUntil: provisionalUntil ? sql`${provisionalUntil}` : sql`NULL`,
          },
          // The idempotency rule, one live submission per authority per fingerprint, kept here at
          // the write: a live row is added only where this authority holds no live one of the
          // value (two records of the same value racing both read it as new). A row left out
          // fails the batch at the guard below, whole. The unary `+` keeps SQLite from reading
          // every submission of the authority by its index instead of the value's few.
          status === "live"
            ? sql`FROM json_each(${packed}) AS j WHERE NOT EXISTS (SELECT 1 FROM submissions o
                WHERE ${ofFingerprintSql("o", fingerprint)} AND +o.submitter_id = ${me.id} AND o.status = 'live')
                ORDER BY j.key`
            : sql`FROM json_each(${packed}) AS j ORDER BY j.key`,
        );
        // Every row of the plan is there, or the batch fails (409; a replica is judged again).
        const allThere = [
          db.insert(batchGuard).select(
            sql`SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM json_each(${packed}) AS j
                WHERE NOT EXISTS (SELECT 1 FROM submissions s WHERE s.id = json_extract(j.value, '$[0]'))) THEN 1 ELSE 0 END`,
          ),
          db.delete(batchGuard),
        ];
        // The `created` changes, read back from the rows just inserted. A live TLP:RED
        // submission withholds the baseline entries of the same value (rules/baseline.ts
        // `restrictsLinked`): then the baseline changes with it.
        const changes = insertSelect(
          db,
          submissionChanges,
          {
            submissionId: sql`s.id`,
            change: sql`'created'`,
            // A provisional entry joins what scope `baseline` matches: the baseline moves too.
            affectsBaseline: w.void
              ? sql`0`
              : sql`CASE WHEN s.tlp = 'red' THEN ${linkedInBaselineSql(sql`s.fingerprint`, sql`s.id`)} ELSE ${incident ? 1 : 0} END`,
            recordId: sql`${recordId}`,
            at: sql`${createdAt}`,
          },
          sql`FROM json_each(${packed}) AS j JOIN submissions AS s ON s.id = json_extract(j.value, '$[0]') ORDER BY j.key`,
        );
        // A video's frames: one row each, in the same batch as its submission.
        const videos = fresh.flatMap(({ item, id }) =>
          item.video
            ? [
                db.insert(submissionVideos).values({
                  submissionId: id,
                  frameCount: item.video.frames.length,
                  durationSeconds: item.video.durationSeconds,
                  frames: packFrames(item.video.frames),
                }),
              ]
            : [],
        );
        return [...(incident ? incidentGuard(db, incident) : []), inserts, ...allThere, ...videos, changes];
      })(),
    };
  },
};

/** The submission a record is about, or 404. */
async function subjectOf(db: Db, id: string): Promise<SubmissionRow> {
  const row = await getSubmission(db, id);
  if (!row) throw new ApiError("not_found", `no submission ${id}`);
  return row;
}

const bySubmission = (w: { record: { submissionId: string } }) => [`submission:${w.record.submissionId}`];
/** A single record's one entry (item 0). */
const single = (w: { record: { submissionId: string } }) => ({ submissionId: w.record.submissionId, n: 0 });

/**
 * Another authority concurs or dissents. One live assessment per authority per submission: a
 * later one (in signed order) replaces the earlier (both kept). A counting dissent on an included
 * entry disputes it (rules/entry-history.ts).
 */
export const createAssessment: Applier<"assessment.create"> = {
  kind: "assessment.create",
  roles: ["authority"],
  replicated: true,
  dependsOn: bySubmission,
  async apply(db, _env, w, ctx) {
    return assessmentPlan(db, w, ctx, w.record, 0);
  },
};

type AssessItem = RecordOf<"assessment.create">;

/** One assessment's plan: `n` numbers it within its record (0 for a single one). */
async function assessmentPlan(
  db: Db,
  w: { caller: { participant: { id: string; memberState: string | null } } } & Parameters<
    typeof signedAt
  >[0] &
    Parameters<typeof derivedId>[1],
  ctx: ApplyContext,
  item: AssessItem,
  n: number,
): Promise<Plan> {
  const id = item.submissionId;
  const row = await subjectOf(db, id);
  const me = w.caller.participant;
  if (row.submitterId === me.id)
    throw new ApiError("forbidden", "an authority cannot assess its own submission");
  const assessmentId = await derivedId("assessment", w, n);
  return {
    subjectId: assessmentId,
    touches: [id],
    facts: [
      {
        type: "assessment",
        submissionId: id,
        id: assessmentId,
        ...signedAt(w, ctx),
        authorityId: me.id,
        memberState: me.memberState!,
        verdict: item.verdict,
        void: false,
      },
    ],
    statements: [
      db.insert(assessments).values({
        id: assessmentId,
        recordId: ctx.recordId,
        submissionId: id,
        authorityId: me.id,
        memberState: me.memberState!,
        verdict: item.verdict,
        limb: item.limb,
        reason: item.reason ?? null,
        live: false,
        createdAt: nowIso(ctx.at),
      }),
    ],
  };
}

/** A bulk record's plan: each item's, in order, as one batch; `ids` says what each item created. */
export type BulkPlan = Plan & { items: { submissionId: string; id: string }[] };

/**
 * Each item planned as a single record of its kind would be (its checks, its facts), so a bulk
 * record is judged item by item as singles are; a refusal names the item, and the pipeline then
 * stores nothing (all or nothing). The items' entries are folded together in one guarded batch.
 */
async function bulkPlan<T extends { submissionId: string }>(
  items: readonly T[],
  recordId: string,
  plan: (item: T, n: number) => Promise<Plan>,
): Promise<BulkPlan> {
  const out: BulkPlan = { subjectId: recordId, statements: [], touches: [], facts: [], items: [] };
  for (const [n, item] of items.entries()) {
    let p: Plan;
    try {
      p = await plan(item, n);
    } catch (e) {
      if (e instanceof ApiError)
        throw new ApiError(e.code, `item ${n + 1} (${item.submissionId}): ${e.message}`);
      throw e;
    }
    out.statements.push(...p.statements);
    out.touches!.push(...(p.touches ?? []));
    out.facts!.push(...(p.facts ?? []));
    if (p.incidents) out.incidents = [...(out.incidents ?? []), ...p.incidents];
    out.items.push({ submissionId: item.submissionId, id: p.subjectId });
  }
  return out;
}

/** Several assessments signed as one record (assessment.batch): all take effect, or none. */
export const createAssessmentBatch: Applier<"assessment.batch", BulkPlan> = {
  kind: "assessment.batch",
  roles: ["authority"],
  replicated: true,
  dependsOn: (w) => w.record.items.map((i) => `submission:${i.submissionId}`),
  async apply(db, _env, w, ctx) {
    return bulkPlan(w.record.items, ctx.recordId, (item, n) => assessmentPlan(db, w, ctx, item, n));
  },
};

/**
 * A coordinator includes, excludes or retires a baseline entry. `include` only when the entry is
 * eligible at the decision's signed time and the cited live concurrences reach the quorum by
 * themselves (rules/entry-history.ts; the fold refuses it otherwise).
 */
export const decideBaseline: Applier<"baseline.decide"> = {
  kind: "baseline.decide",
  roles: ["coordinator"],
  replicated: true,
  dependsOn: (w) => [...bySubmission(w), ...w.record.assessmentIds.map((a) => `assessment:${a}`)],
  async apply(db, _env, w, ctx) {
    return decisionPlan(db, w, ctx, w.record.decision, w.record.assessmentIds, {}, single(w));
  },
};

/**
 * One baseline decision on several entries (baseline.decide.batch), one reason, each item with
 * its own cited assessments: every item is judged as a single decision would be (an inclusion
 * only of an eligible entry whose cited concurrences reach the quorum), and all take effect, or none.
 */
export const decideBaselineBatch: Applier<"baseline.decide.batch", BulkPlan> = {
  kind: "baseline.decide.batch",
  roles: ["coordinator"],
  replicated: true,
  dependsOn: (w) =>
    w.record.items.flatMap((i) => [
      `submission:${i.submissionId}`,
      ...i.assessmentIds.map((a) => `assessment:${a}`),
    ]),
  async apply(db, _env, w, ctx) {
    return bulkPlan(w.record.items, ctx.recordId, (item, n) =>
      decisionPlan(
        db,
        w,
        ctx,
        w.record.decision,
        item.assessmentIds,
        {},
        { submissionId: item.submissionId, n },
      ),
    );
  },
};

async function decisionPlan(
  db: Db,
  w: { claims: { iss: string; iat: number }; record: { reason: string } } & Parameters<typeof derivedId>[1],
  ctx: ApplyContext,
  action: "include" | "exclude" | "retire" | "withdraw" | "reverse",
  cited: string[],
  extra: { ground?: string | undefined; reference?: string | undefined },
  /** The entry, and the decision's number within its record (0, or a bulk record's item). */
  item: { submissionId: string; n: number },
): Promise<Plan> {
  const id = item.submissionId;
  const row = await subjectOf(db, id);
  const decisionId = await derivedId("decision", w, item.n);
  // An incident's entry included, excluded, withdrawn or reversed: its followers are told; a
  // TLP:RED submission withdrawn or reversed releases the provisional entries of its value.
  const woken = [
    ...(row.incidentId ? [row.incidentId] : []),
    ...(row.tlp === "red" ? await incidentsLinkedTo(db, [row.fingerprint]) : []),
  ];
  return {
    subjectId: decisionId,
    ...(woken.length > 0 ? { incidents: woken } : {}),
    touches: [id],
    facts: [
      {
        type: "decision",
        submissionId: id,
        id: decisionId,
        ...signedAt(w, ctx),
        actorId: w.claims.iss,
        action,
        cited,
        void: false,
      },
    ],
    statements: [
      db.insert(decisions).values({
        id: decisionId,
        recordId: ctx.recordId,
        submissionId: id,
        actorId: w.claims.iss,
        action,
        reason: w.record.reason,
        assessmentIds: JSON.stringify(cited),
        ground: extra.ground ?? null,
        reference: extra.reference ?? null,
        createdAt: nowIso(ctx.at),
      }),
    ],
  };
}

/** The submitting authority withdraws its own submission. */
export const withdrawSubmission: Applier<"submission.withdraw"> = {
  kind: "submission.withdraw",
  roles: ["authority"],
  replicated: true,
  dependsOn: bySubmission,
  async apply(db, _env, w, ctx) {
    const row = await subjectOf(db, w.record.submissionId);
    if (row.submitterId !== w.claims.iss) {
      throw new ApiError(
        "forbidden",
        "only the submitting authority can withdraw a submission; a coordinator can reverse it",
      );
    }
    return endingCaseFiles(db, w, ctx, await decisionPlan(db, w, ctx, "withdraw", [], {}, single(w)));
  },
};

/** A coordinator reverses a submission (upheld complaint, court ruling). */
export const reverseSubmission: Applier<"submission.reverse"> = {
  kind: "submission.reverse",
  roles: ["coordinator"],
  replicated: true,
  dependsOn: bySubmission,
  async apply(db, _env, w, ctx) {
    const plan = await decisionPlan(
      db,
      w,
      ctx,
      "reverse",
      [],
      { ground: w.record.ground, reference: w.record.reference },
      single(w),
    );
    return endingCaseFiles(db, w, ctx, plan);
  },
};

/**
 * A withdrawal or reversal deletes the entry's case files at once (docs/evidence.md): their
 * wrapped keys go in the record's own batch. A void record (signed after its key stopped being
 * valid) changes nothing.
 */
function endingCaseFiles(
  db: Db,
  w: { void?: string | undefined; record: { submissionId: string } },
  ctx: ApplyContext,
  plan: Plan,
): Plan {
  if (w.void) return plan;
  return {
    ...plan,
    statements: [...plan.statements, ...endCaseFilesStatements(db, w.record.submissionId, nowIso(ctx.at))],
  };
}

/**
 * A platform reports a match outcome. One live report per platform per entry (the latest in
 * signed order). Only a platform that matched the entry may report; matches are node-local facts
 * (no signed record), so for a replicated report the origin node's check stands and is not
 * repeated (docs/federation.md).
 */
export const createFeedback: Applier<"feedback.create"> = {
  kind: "feedback.create",
  roles: ["platform"],
  replicated: true,
  dependsOn: bySubmission,
  async apply(db, _env, w, ctx) {
    const id = w.record.submissionId;
    await subjectOf(db, id);
    if (!ctx.replicated) {
      await foldMatches(db.$client);
      const matched = await db
        .select({ n: submissionMatches.count })
        .from(submissionMatches)
        .where(and(eq(submissionMatches.submissionId, id), eq(submissionMatches.platformId, w.claims.iss)))
        .get();
      if (!matched)
        throw new ApiError("forbidden", `you have not matched ${id}; feedback is about your own matches`);
    }
    const feedbackId = await derivedId("feedback", w);
    return {
      subjectId: feedbackId,
      touches: [id],
      facts: [
        {
          type: "feedback",
          submissionId: id,
          id: feedbackId,
          ...signedAt(w, ctx),
          platformId: w.claims.iss,
          outcome: w.record.outcome,
          void: false,
        },
      ],
      statements: [
        db.insert(feedback).values({
          id: feedbackId,
          recordId: ctx.recordId,
          submissionId: id,
          platformId: w.claims.iss,
          outcome: w.record.outcome,
          note: w.record.note ?? null,
          live: false,
          createdAt: nowIso(ctx.at),
        }),
      ],
    };
  },
};
