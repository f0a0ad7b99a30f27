// The one path every signed record takes into the node, whether it came over HTTP or from a
// peer's log: verify (auth/verify.ts or federation/verify.ts, both over one verification core) →
// the kind's applier (what the record may say, the facts it adds) → the fold of every entry it
// touches (rules/entry-history.ts) → one atomic D1 batch with the record, its facts, the derived
// state, its log leaf and its audit entry (store/records.ts `commitWrite`).
//
// The two entrances differ in one thing only: over HTTP a record that would not take effect is
// refused (409/422, nothing stored), so a node never answers a write with a success its state
// does not reflect; a replicated record is stored whatever its fate, because its origin accepted
// it and every node must hold the same records to derive the same state.
import type { RecordKind, WriteReceipt } from "@eusn/protocol";
import type { Env } from "../env.ts";
import { wakeIncidentFollowers } from "../incidents/watch.ts";
import type { Db, DomainStatements } from "../lib/db.ts";
import { nowIso } from "../lib/encoding.ts";
import { derivedId } from "../lib/ids.ts";
import { ApiError } from "../lib/problem.ts";
import { derive, loadEntries, loadRegistry, voidReason } from "../store/entry-state.ts";
import type { VerifiedWrite } from "../store/records.ts";
import { type CommitOptions, commitWrite } from "../store/records.ts";
import { kickDispatcher } from "../webhooks/kick.ts";
import { type Applier, type ApplyContext, type Plan, positionOf } from "./context.ts";
import { APPLIERS } from "./index.ts";

/** `receipt` is null when the plan had nothing new to store (an idempotent repeat). */
export type Accepted<P extends Plan = Plan> = { receipt: WriteReceipt | null; plan: P };

/** Attempts when a racing write moved an entry the derivation was based on (replicas only). */
const MAX_DERIVE_ATTEMPTS = 6;

export type AcceptOptions<K extends RecordKind, P extends Plan> = Omit<CommitOptions, "after"> & {
  /** The record comes from `origin`'s log: stored even when it does not take effect. */
  replicated?: boolean;
  /** The applier (default: the kind's, apply/index.ts). */
  applier?: Applier<K, P>;
};

/** A record judged and planned against the node's state now, to be committed by `commit()`. */
export type Prepared<P extends Plan = Plan> = { plan: P; commit(): Promise<Accepted<P>> };

/**
 * Judges a verified record against the node's state as it is now — the applier's checks, then
 * the fold of every entry it touches with its facts added — and returns the batch to commit. A
 * write to this node that would not take effect is refused here (ApiError 409/422). The batch is
 * guarded: if an entry it touches, or the registry, changed before `commit()`, it fails whole
 * (409 conflict) and nothing is stored.
 */
export async function prepareRecord<K extends RecordKind, P extends Plan = Plan>(
  db: Db,
  env: Env,
  w: VerifiedWrite<K>,
  o: AcceptOptions<K, P> = {},
): Promise<Prepared<P>> {
  const applier = (o.applier ?? APPLIERS[w.kind]) as Applier<K, P> | undefined;
  if (!applier) throw new Error(`no applier for ${w.kind}`);
  const replicated = o.replicated ?? false;
  const recordId = await derivedId("record", w);
  const ctx: ApplyContext = {
    at: w.claims.iat * 1000,
    origin: o.origin ?? env.NODE_ID,
    replicated,
    recordId,
    originIndex: o.originIndex ?? Number.POSITIVE_INFINITY,
  };
  if (replicated) {
    // Judged by signed order alone: void if signed after its key or signer stopped being valid.
    const why = await voidReason(db, { issuer: w.claims.iss, kid: w.caller.key.kid, ...positionOf(w, ctx) });
    if (why) {
      w = { ...w, void: why };
      o = { ...o, auditDetail: { ...o.auditDetail, void: why } };
    }
  }
  const plan = await applier.apply(db, env, w, ctx);
  if (plan.nothingNew) return { plan, commit: async () => ({ receipt: null, plan }) };
  const statements: DomainStatements = [...plan.statements];
  const after: DomainStatements = [...(plan.after ?? [])];
  if (plan.touches?.length) {
    const facts = (plan.facts ?? []).map((f) => ({ ...f, void: f.void || !!w.void }));
    const [registry, loaded] = await Promise.all([
      loadRegistry(db, env, plan.registry),
      loadEntries(db, plan.touches, facts, plan.registry),
    ]);
    const ends = plan.registry?.ends;
    const derived = derive(db, loaded, registry, {
      recordId,
      at: nowIso(ctx.at),
      ...(ends ? { consequenceOf: { kind: plan.cause ?? w.kind, participantId: ends.participantId } } : {}),
    });
    if (!replicated) {
      for (const f of facts) {
        const why = derived.refused.get(f.id);
        if (why) throw new ApiError(why.code, why.detail);
      }
    }
    statements.unshift(...derived.guard);
    statements.push(...derived.statements);
    after.unshift(...derived.after);
  }
  const { applier: _a, replicated: _r, ...commitOptions } = o;
  return {
    plan,
    async commit() {
      try {
        const receipt = await commitWrite(db, env, w, plan.subjectId, () => statements, {
          ...commitOptions,
          after: () => after,
        });
        // Stored: the webhook dispatcher turns what it changed into deliveries.
        await kickDispatcher(env, w.kind);
        // Stored: followers of the incidents it changes answer now instead of at their timeout.
        if (plan.incidents?.length) await wakeIncidentFollowers(env, plan.incidents);
        return { receipt, plan };
      } catch (e) {
        const race = plan.uniqueConflict;
        if (race?.pattern.test(String((e as Error)?.message ?? e)))
          throw new ApiError("conflict", race.detail);
        throw e;
      }
    },
  };
}

/**
 * Applies and stores one verified record (`prepareRecord`, then its commit). A replicated record
 * whose batch lost a race with another write is judged again and retried; a write to this node
 * that lost one is refused (409), as the client can read the entry again and decide anew.
 */
export async function acceptRecord<K extends RecordKind, P extends Plan = Plan>(
  db: Db,
  env: Env,
  w: VerifiedWrite<K>,
  o: AcceptOptions<K, P> = {},
): Promise<Accepted<P>> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await (await prepareRecord(db, env, w, o)).commit();
    } catch (e) {
      // The entries or the registry moved between the reads and the batch: judge again.
      if (o.replicated && e instanceof ApiError && e.code === "conflict" && attempt < MAX_DERIVE_ATTEMPTS) {
        await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));
        continue;
      }
      throw e;
    }
  }
}
