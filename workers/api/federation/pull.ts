// Pulling a peer's log (docs/federation.md, "The pull"). Nothing the relay says is taken on
// trust: the peer's checkpoint must carry its configured node key and be consistent with every
// checkpoint of it seen before (else the peer is marked forked, reported, and never followed);
// each page of entries must hash, together with everything consumed before (the compact range
// kept with the cursor), to a tree the signed checkpoint extends; and each record must verify
// against its originating participant's key history and pass the same applier rules as a
// direct write. Each consumed entry moves the cursor in the same D1 batch as what it stores, so
// a pull interrupted anywhere resumes exactly there, and re-running a pull is a no-op.
import {
  bytesEqual,
  type Checkpoint,
  CompactRange,
  detectFork,
  fromHex,
  hashLeaf,
  toHex,
  verifyCheckpointJws,
  verifyConsistency,
  withheldLeafHash,
} from "@eusn/merkle";
import {
  isNodeLocalKind,
  LogCheckpoint,
  LogConsistency,
  LogEntriesPage,
  type LogEntry,
  MAX_LOG_PAGE,
  type PeerConfig,
  type PullReport,
  type RecordKind,
} from "@eusn/protocol";
import { and, eq, lt, sql } from "drizzle-orm";
import type { JWK } from "jose";
import type { z } from "zod";
import { auditLog, federationEntries, federationPeers, federationPending } from "../../../schema/index.ts";
import { APPLIERS } from "../apply/index.ts";
import { acceptRecord } from "../apply/pipeline.ts";
import { config } from "../config.ts";
import type { Env } from "../env.ts";
import { type Db, type DomainStatements, db as dbOf } from "../lib/db.ts";
import { nowIso } from "../lib/encoding.ts";
import { ApiError } from "../lib/problem.ts";
import { mergeFingerprintKeysIfDue } from "../store/fingerprint-keys.ts";
import type { VerifiedWrite } from "../store/records.ts";
import { ensurePeerCoordinators } from "./coordinators.ts";
import { signPeerToken } from "./peer-auth.ts";
import { peerById, peersOf } from "./peers.ts";
import { screenReplicated, verifyReplicated } from "./verify.ts";

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export type PullOptions = {
  /** How requests reach the peer (tests route them to another app instance). Default: fetch. */
  fetch?: FetchLike;
  /** Most entries consumed in this pull (default: FEDERATION_PULL_LIMIT, workers/api/config.ts). */
  limit?: number;
  /** Entries per page request (default 100, at most MAX_LOG_PAGE). */
  pageSize?: number;
  /** How long one request to the peer may take (default PEER_REQUEST_TIMEOUT_MS). */
  peerTimeoutMs?: number;
  /** How often the single-flight lease is renewed, at most (default LEASE_RENEW_MS; tests: 0). */
  leaseRenewMs?: number;
};

/**
 * Single flight per peer: a pull holds a lease on the peer row for PULL_LEASE_MS and renews it at
 * most every LEASE_RENEW_MS while it works, so a pull that died (its invocation killed mid-page)
 * holds the peer for at most PULL_LEASE_MS, while a long, live pull keeps it.
 */
const PULL_LEASE_MS = 30_000;
/** How long one request to a peer (a checkpoint, a page of entries, a proof) may take. */
const PEER_REQUEST_TIMEOUT_MS = 20_000;
const LEASE_RENEW_MS = 5_000;

/** Skips that are routine in a federation and need no audit entry (counted in the report). */
const ROUTINE_SKIPS = new Set(["not_origin", "node_local", "withheld"]);

type PeerRow = typeof federationPeers.$inferSelect;

/** Why a pull stopped without following the peer; `forked` is permanent, `refused` is not. */
class Stop extends Error {
  constructor(
    readonly status: "refused" | "forked" | "error" | "in_progress",
    reason: string,
  ) {
    super(reason);
  }
}

async function getJson<T>(
  f: FetchLike,
  url: string,
  schema: z.ZodType<T>,
  headers: Record<string, string> = {},
): Promise<{ ok: true; data: T } | { ok: false; status: number; reason: string }> {
  let res: Response;
  let text: string;
  try {
    res = await f(url, { headers: { accept: "application/json", ...headers } });
    text = await res.text();
  } catch (e) {
    const err = e as Error;
    const why =
      err?.name === "TimeoutError" || err?.name === "AbortError"
        ? "no answer in time (the pull's peer request timeout)"
        : (err?.message ?? "unreachable");
    return { ok: false, status: 0, reason: `${url}: ${why}` };
  }
  if (!res.ok)
    return { ok: false, status: res.status, reason: `${url}: HTTP ${res.status} ${text.slice(0, 200)}` };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, status: res.status, reason: `${url}: not JSON` };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) return { ok: false, status: res.status, reason: `${url}: unexpected answer shape` };
  return { ok: true, data: parsed.data };
}

function audit(db: Db, kind: string, subjectId: string, detail: Record<string, unknown>) {
  return db
    .insert(auditLog)
    .values({ kind, subjectId, actor: "system", at: nowIso(), detail: JSON.stringify(detail) });
}

async function peerRow(db: Db, peerId: string): Promise<PeerRow> {
  await db.insert(federationPeers).values({ peerId }).onConflictDoNothing();
  return (await db.select().from(federationPeers).where(eq(federationPeers.peerId, peerId)).get())!;
}

/** The statements that record entry `index` as consumed and move the cursor past it (guarded). */
function consumed(
  db: Db,
  peerId: string,
  index: number,
  leafHash: Uint8Array,
  after: CompactRange,
  outcome: { recordId: string } | { reason: string } | { pending: string },
): DomainStatements {
  return [
    // Two pulls racing over the same entry: the primary key fails the second batch whole.
    db.insert(federationEntries).values({
      peerId,
      peerIndex: index,
      leafHash,
      outcome: "recordId" in outcome ? "applied" : "pending" in outcome ? "pending" : "skipped",
      recordId: "recordId" in outcome ? outcome.recordId : null,
      reason:
        "reason" in outcome ? outcome.reason : "pending" in outcome ? `pending: ${outcome.pending}` : null,
      at: nowIso(),
    }),
    db
      .update(federationPeers)
      .set({ nextIndex: index + 1, frontier: JSON.stringify(after.toHex()) })
      .where(eq(federationPeers.peerId, peerId)),
  ];
}

/** One pull of one peer. Never throws for the peer's behaviour: the report says what happened. */
export async function pullPeer(env: Env, peer: PeerConfig, opts: PullOptions = {}): Promise<PullReport> {
  const db = dbOf(env.DB);
  // A partition often looks like silence, not a refusal: a peer that does not answer a request
  // (headers and body) in time fails this pull, which the next one retries, and frees the lease.
  const timeoutMs = opts.peerTimeoutMs ?? PEER_REQUEST_TIMEOUT_MS;
  const send: FetchLike = opts.fetch ?? ((input, init) => fetch(input, init));
  const f: FetchLike = (input, init) => send(input, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  const limit = opts.limit ?? config(env).federation.pullLimit;
  const pageSize = Math.min(opts.pageSize ?? 100, MAX_LOG_PAGE);
  const base = peer.url.replace(/\/$/, "");
  const row = await peerRow(db, peer.nodeId);
  const report: PullReport = {
    peer: peer.nodeId,
    status: "ok",
    checkpoint: null,
    from: row.nextIndex,
    to: row.nextIndex,
    applied: 0,
    skipped: {},
    pending: 0,
    released: 0,
    more: false,
  };
  // One pull per peer at a time: a lease on the peer row, taken atomically and released at the end
  // (or after PULL_LEASE_MS, should the invocation die), so two pulls never race over one entry.
  const now = Date.now();
  let leaseUntil = now + PULL_LEASE_MS;
  const leased = await db
    .update(federationPeers)
    .set({ pullLeaseUntil: leaseUntil })
    .where(and(eq(federationPeers.peerId, peer.nodeId), lt(federationPeers.pullLeaseUntil, now)))
    .returning({ peerId: federationPeers.peerId });
  if (leased.length === 0) {
    return { ...report, status: "in_progress", reason: `a pull of ${peer.nodeId} is already running` };
  }
  // Renews the lease, fenced by its exact value: if it lapsed and another pull took the peer over,
  // this one stops before consuming anything more (what it consumed is kept: each entry is its own
  // batch, and the federation_entries key refuses a second consumption).
  const keepLease = async () => {
    const at = Date.now();
    if (at + PULL_LEASE_MS - (opts.leaseRenewMs ?? LEASE_RENEW_MS) < leaseUntil) return;
    const next = Math.max(at + PULL_LEASE_MS, leaseUntil + 1);
    const kept = await db
      .update(federationPeers)
      .set({ pullLeaseUntil: next })
      .where(and(eq(federationPeers.peerId, peer.nodeId), eq(federationPeers.pullLeaseUntil, leaseUntil)))
      .returning({ peerId: federationPeers.peerId });
    if (kept.length === 0)
      throw new Stop(
        "in_progress",
        `this pull's lease on ${peer.nodeId} lapsed and another pull took it over`,
      );
    leaseUntil = next;
  };
  try {
    if (row.status === "forked") {
      throw new Stop(
        "forked",
        `${peer.nodeId} signed two inconsistent histories; pulls are refused (see the audit log)`,
      );
    }
    await ensurePeerCoordinators(env, peer);
    const target = await verifiedCheckpoint(env, db, f, base, peer, row);
    report.checkpoint = { treeSize: target.treeSize, rootHash: target.rootHash };
    const start = CompactRange.from(row.nextIndex, JSON.parse(row.frontier) as string[]);
    if (!start.ok) throw new Error(`stored state for ${peer.nodeId} is corrupt: ${start.reason}`);
    let range = start.value;
    const targetRoot = fromHex(target.rootHash)!;
    const token = await signPeerToken(env, peer);
    let processed = 0;
    while (range.size < target.treeSize && processed < limit) {
      await keepLease();
      const want = Math.min(pageSize, target.treeSize - range.size, limit - processed);
      const page = await getJson(
        f,
        `${base}/v1/log/entries?start=${range.size}&limit=${want}`,
        LogEntriesPage,
        {
          authorization: `Bearer ${token}`,
        },
      );
      if (!page.ok) throw new Stop("error", page.reason);
      const entries = page.data.entries.slice(0, want);
      if (entries.length === 0 || entries.some((e, i) => e.index !== range.size + i)) {
        throw await refused(
          db,
          peer,
          `entries from ${range.size}: the answer does not continue the log there`,
        );
      }
      // Hash the page into the compact range and tie the result to the signed checkpoint before
      // anything of it is applied: one altered byte anywhere in the page refuses the page.
      const leaves: { entry: LogEntry; leafHash: Uint8Array; after: CompactRange }[] = [];
      let r = range;
      for (const entry of entries) {
        let leafHash: Uint8Array;
        if (entry.jws) {
          leafHash = await hashLeaf(new TextEncoder().encode(entry.jws));
          if (toHex(leafHash) !== entry.leafHash) {
            throw await refused(db, peer, `entry ${entry.index}: its leaf hash is not the hash of its JWS`);
          }
        } else {
          // Only a node-local record may come without its body, and its leaf must say so: the
          // relay cannot drop a replicated record by calling it withheld (its leaf is its JWS).
          const why = await unprovenWithheld(entry);
          if (why) throw await refused(db, peer, `entry ${entry.index}: withheld, but ${why}`);
          leafHash = fromHex(entry.leafHash)!;
        }
        r = await r.append(leafHash);
        leaves.push({ entry, leafHash, after: r });
      }
      const end = r.size;
      const pageRoot = await r.root();
      if (end === target.treeSize) {
        if (!bytesEqual(pageRoot, targetRoot)) {
          throw await refused(
            db,
            peer,
            `entries [${range.size}, ${end}) do not hash to the signed checkpoint's root`,
          );
        }
      } else {
        const proof = await getJson(
          f,
          `${base}/v1/log/consistency?first=${end}&second=${target.treeSize}`,
          LogConsistency,
        );
        if (!proof.ok) throw new Stop("error", proof.reason);
        const ok = await verifyConsistency({
          firstSize: end,
          secondSize: target.treeSize,
          firstRoot: pageRoot,
          secondRoot: targetRoot,
          proof: proof.data.proof.map((h) => fromHex(h)!),
        });
        if (!ok.ok) {
          throw await refused(
            db,
            peer,
            `entries [${range.size}, ${end}) are not a prefix of the signed checkpoint (${target.treeSize}): ${ok.reason}`,
          );
        }
      }
      // Routine skips (addressed to another node, node-local, withheld: no audit entry, nothing
      // read) are consumed together in one batch, written before anything else is applied, so
      // the cursor still moves in log order; in a full mesh most of a peer's log is such entries.
      let skips: DomainStatements = [];
      const skipped: Record<string, number> = {};
      const flushSkips = async () => {
        if (skips.length === 0) return;
        await db.batch(skips as [DomainStatements[number], ...DomainStatements]);
        for (const [code, n] of Object.entries(skipped))
          report.skipped[code] = (report.skipped[code] ?? 0) + n;
        skips = [];
        for (const code of Object.keys(skipped)) delete skipped[code];
        report.to = range.size;
      };
      for (const { entry, leafHash, after } of leaves) {
        await keepLease();
        const routine = routineSkip(entry, peer);
        if (routine) {
          skips.push(...consumed(db, peer.nodeId, entry.index, leafHash, after, { reason: routine.reason }));
          skipped[routine.code] = (skipped[routine.code] ?? 0) + 1;
          range = after;
          continue;
        }
        await flushSkips();
        const outcome = await consume(env, db, peer, entry, leafHash, after);
        if (outcome === "applied") report.applied++;
        else if (outcome === "pending") report.pending++;
        else report.skipped[outcome] = (report.skipped[outcome] ?? 0) + 1;
        range = after;
        report.to = range.size;
      }
      await flushSkips();
      processed += entries.length;
    }
    report.more = range.size < target.treeSize;
    await keepLease();
    report.released = await releasePending(env, db);
  } catch (e) {
    if (e instanceof Stop) {
      report.status = e.status;
      report.reason = e.message;
    } else {
      report.status = "error";
      report.reason =
        e instanceof ApiError ? (e.detail ?? e.code) : e instanceof Error ? e.message : "failed";
    }
  }
  await db
    .update(federationPeers)
    .set({
      lastPullAt: nowIso(),
      lastResult: JSON.stringify(report),
      // Released only if still this pull's: a pull that lost its lease leaves the new holder's.
      pullLeaseUntil: sql`CASE WHEN ${federationPeers.pullLeaseUntil} = ${leaseUntil} THEN 0 ELSE ${federationPeers.pullLeaseUntil} END`,
    })
    .where(eq(federationPeers.peerId, peer.nodeId));
  return report;
}

/**
 * Why a withheld entry does not prove it is a node-local record, or undefined when it does: a
 * node-local kind whose served digest, with that kind, hashes to the served leaf
 * (`"eusn-withheld/v1|" ‖ kind ‖ SHA-256(JWS)`, docs/federation.md "Withheld leaves"). The page
 * is then checked against the signed checkpoint as every page is, so the leaf is the peer's own.
 */
async function unprovenWithheld(entry: LogEntry): Promise<string | undefined> {
  if (!isNodeLocalKind(entry.kind)) return `${JSON.stringify(entry.kind)} is not a node-local kind`;
  const digest = entry.jwsSha256 === undefined ? undefined : fromHex(entry.jwsSha256);
  if (!digest) return "it carries no digest for its leaf to commit to";
  if (toHex(await withheldLeafHash(entry.kind, digest)) !== entry.leafHash)
    return `its leaf does not commit to a ${entry.kind} record with that digest`;
  return undefined;
}

/** Audits a refusal and returns the Stop to throw: the cursor stays before the offending entry. */
async function refused(db: Db, peer: PeerConfig, reason: string): Promise<Stop> {
  await audit(db, "federation.refused", peer.nodeId, { peer: peer.nodeId, reason });
  return new Stop("refused", reason);
}

/**
 * The peer's latest checkpoint, verified with its configured key and checked consistent with the
 * last one this node verified (RFC 6962 §2.1.2 proof served by the peer). A fork marks the peer
 * forked for good, with both signed checkpoints kept as evidence in the audit entry.
 */
async function verifiedCheckpoint(
  env: Env,
  db: Db,
  f: FetchLike,
  base: string,
  peer: PeerConfig,
  row: PeerRow,
): Promise<Checkpoint> {
  const got = await getJson(f, `${base}/v1/log/checkpoint`, LogCheckpoint);
  if (!got.ok) throw new Stop("error", got.reason);
  const fresh = await verifyCheckpointJws(got.data.checkpoint, peer.jwk as JWK, { origin: peer.nodeId });
  if (!fresh.ok) throw await refused(db, peer, `checkpoint: ${fresh.reason}`);
  let target = fresh.checkpoint;
  if (row.checkpointJws) {
    const prev = await verifyCheckpointJws(row.checkpointJws, peer.jwk as JWK, { origin: peer.nodeId });
    if (!prev.ok)
      throw new Stop("error", `the stored checkpoint of ${peer.nodeId} no longer verifies: ${prev.reason}`);
    const [m, n] = [prev.checkpoint.treeSize, fresh.checkpoint.treeSize].sort((a, b) => a - b) as [
      number,
      number,
    ];
    let proof: Uint8Array[] = [];
    if (m > 0 && m < n) {
      const p = await getJson(f, `${base}/v1/log/consistency?first=${m}&second=${n}`, LogConsistency);
      // A peer that cannot prove consistency between two checkpoints it signed is treated as
      // forked (detectFork with no proof); a network failure is only an error, retried later.
      if (p.ok && p.data.firstSize === m && p.data.secondSize === n)
        proof = p.data.proof.map((h) => fromHex(h)!);
      else if (!p.ok && (p.status === 0 || p.status >= 500)) throw new Stop("error", p.reason);
    }
    const fork = await detectFork(prev.checkpoint, fresh.checkpoint, proof);
    if (fork.status === "fork") {
      const [older, newer] =
        prev.checkpoint.treeSize <= fresh.checkpoint.treeSize
          ? [row.checkpointJws, got.data.checkpoint]
          : [got.data.checkpoint, row.checkpointJws];
      await db.batch([
        db.update(federationPeers).set({ status: "forked" }).where(eq(federationPeers.peerId, peer.nodeId)),
        audit(db, "federation.fork", peer.nodeId, { peer: peer.nodeId, reason: fork.reason, older, newer }),
      ]);
      throw new Stop("forked", `${peer.nodeId} forked: ${fork.reason}`);
    }
    if (fork.status !== "consistent") throw new Stop("refused", fork.reason);
    // An older (cached) checkpoint that is consistent teaches nothing new: keep following the newer one.
    if (fresh.checkpoint.treeSize < prev.checkpoint.treeSize) target = prev.checkpoint;
  }
  if (target === fresh.checkpoint && fresh.checkpoint.treeSize !== row.checkpointSize) {
    await env.DB.batch([
      env.DB.prepare(
        "UPDATE federation_peers SET checkpoint_size = ?, checkpoint_root = ?, checkpoint_jws = ? WHERE peer_id = ?",
      ).bind(target.treeSize, target.rootHash, got.data.checkpoint, peer.nodeId),
      env.DB.prepare(
        "INSERT OR IGNORE INTO peer_checkpoints (peer_id, tree_size, root_hash, timestamp, jws, received_at) VALUES (?, ?, ?, ?, ?, ?)",
      ).bind(peer.nodeId, target.treeSize, target.rootHash, target.timestamp, got.data.checkpoint, nowIso()),
    ]);
  }
  return target;
}

/**
 * Consumes one verified-in-the-log entry: apply it through the write pipeline (the same appliers
 * and fold as a direct write, judged by its signed time), hold it until what it depends on has
 * arrived, or skip it with its reason. Returns "applied", "pending" or the skip code. Throws Stop
 * when the entry must not be followed.
 */
/** A skip that needs neither a read nor an audit entry, or undefined (ROUTINE_SKIPS). */
function routineSkip(entry: LogEntry, peer: PeerConfig): { code: string; reason: string } | undefined {
  if (!entry.jws)
    return { code: "withheld", reason: `withheld: ${entry.withheld ?? "the peer did not serve the body"}` };
  const screened = screenReplicated(entry.jws, peer);
  if (screened.ok || !ROUTINE_SKIPS.has(screened.code)) return undefined;
  return { code: screened.code, reason: `${screened.code}: ${screened.reason}` };
}

async function consume(
  env: Env,
  db: Db,
  peer: PeerConfig,
  entry: LogEntry,
  leafHash: Uint8Array,
  after: CompactRange,
): Promise<string> {
  const peerId = peer.nodeId;
  const skipWith = async (code: string, reason: string, extra: Record<string, unknown> = {}) => {
    const why = `${code}: ${reason}`;
    const [first, ...rest] = consumed(db, peerId, entry.index, leafHash, after, { reason: why });
    await db.batch([
      first!,
      ...rest,
      ...(ROUTINE_SKIPS.has(code)
        ? []
        : [
            audit(db, "federation.skipped", peerId, {
              peer: peerId,
              index: entry.index,
              reason: why,
              ...extra,
            }),
          ]),
    ]);
    return code;
  };
  if (!entry.jws) return skipWith("withheld", entry.withheld ?? "the peer did not serve the body");
  const outcome = await tryApply(env, db, peer, entry.index, entry.jws, (o) =>
    consumed(db, peerId, entry.index, leafHash, after, o),
  );
  if (outcome.status === "refuse")
    throw await refused(db, peer, `entry ${entry.index}: ${outcome.code}: ${outcome.reason}`);
  if (outcome.status === "skip") return skipWith(outcome.code, outcome.reason, outcome.who ?? {});
  if (outcome.status === "wait") {
    await db.batch([
      db.insert(federationPending).values({
        peerId,
        peerIndex: entry.index,
        jws: entry.jws,
        waitingFor: outcome.waitingFor,
        receivedAt: nowIso(),
      }),
      ...consumed(db, peerId, entry.index, leafHash, after, { pending: outcome.waitingFor }),
    ]);
    return "pending";
  }
  return "applied";
}

type TryOutcome =
  | { status: "applied" }
  | { status: "wait"; waitingFor: string }
  | { status: "refuse" | "skip"; code: string; reason: string; who?: Record<string, unknown> };

/**
 * Verifies a replicated record and, when everything it depends on is here, applies it, with
 * `bookkeeping` (the cursor or the pending row it resolves) in the record's own batch.
 */
async function tryApply(
  env: Env,
  db: Db,
  peer: PeerConfig,
  peerIndex: number,
  jws: string,
  bookkeeping: (o: { recordId: string }) => DomainStatements,
): Promise<TryOutcome> {
  const check = await verifyReplicated(db, jws, peer);
  if (!check.ok) {
    if (check.disposition === "wait") return { status: "wait", waitingFor: check.waitingFor };
    return { status: check.disposition, code: check.code, reason: check.reason };
  }
  const w = check.w;
  const who = { kind: w.kind, issuer: w.claims.iss, jti: w.claims.jti };
  const missing = await firstMissing(db, APPLIERS[w.kind]?.dependsOn?.(w as never) ?? []);
  if (missing) return { status: "wait", waitingFor: missing };
  try {
    await acceptRecord(db, env, w as VerifiedWrite<RecordKind>, {
      replicated: true,
      origin: peer.nodeId,
      originIndex: peerIndex,
      extra: (recordId) => bookkeeping({ recordId }),
      auditDetail: { origin: peer.nodeId, peerIndex },
    });
  } catch (e) {
    if (e instanceof ApiError && e.code === "replayed_jti")
      return { status: "skip", code: "duplicate", reason: e.detail ?? "", who };
    // A rule every node applies alike (who may say what, about what): refused the same everywhere.
    if (e instanceof ApiError) return { status: "skip", code: e.code, reason: e.detail ?? e.code, who };
    throw e;
  }
  return { status: "applied" };
}

/** The first of `deps` (`type:id`) that this node does not hold yet. */
async function firstMissing(db: Db, deps: string[]): Promise<string | undefined> {
  for (const dep of deps) {
    const [type, id] = dep.split(/:(.*)/s) as [string, string];
    // A participant's admission record, whether or not the admission is in effect here.
    if (type === "admission") {
      const held = await db.get<{ one: number }>(
        sql`SELECT 1 AS one FROM participants WHERE id = ${id}
          UNION ALL SELECT 1 FROM records WHERE kind = 'participant.admit' AND subject_id = ${id} LIMIT 1`,
      );
      if (!held) return dep;
      continue;
    }
    const where = {
      submission: ["submissions", "id"],
      assessment: ["assessments", "id"],
      participant: ["participants", "id"],
      casefile: ["case_files", "id"],
      incident: ["incidents", "id"],
      // An admission or revocation request, by its record (a countersignature waits for it).
      registry: ["registry_requests", "request_record_id"],
    }[type];
    if (!where) continue;
    const [table, column] = where as [string, string];
    const row = await db.get<{ one: number }>(
      sql`SELECT 1 AS one FROM ${sql.identifier(table)} WHERE ${sql.identifier(column)} = ${id}`,
    );
    if (!row) return dep;
  }
  return undefined;
}

/** Held entries are retried at most this many rounds per pull (each round applies at least one). */
const MAX_RELEASE_ROUNDS = 20;

/**
 * Applies held replicated records whose dependencies have arrived, in signed order, round after
 * round while any is released (one may release another: a submission, then its assessments, then
 * the inclusion citing them). Returns how many were applied (or refused for good).
 */
export async function releasePending(env: Env, db: Db): Promise<number> {
  let released = 0;
  for (let round = 0; round < MAX_RELEASE_ROUNDS; round++) {
    const held = await db
      .select()
      .from(federationPending)
      .orderBy(federationPending.peerId, federationPending.peerIndex);
    let progress = 0;
    for (const h of held) {
      const peer = peerById(env, h.peerId);
      if (!peer) continue;
      const done = (o: { recordId: string } | { reason: string }): DomainStatements => [
        db
          .update(federationEntries)
          .set({
            outcome: "recordId" in o ? "applied" : "skipped",
            recordId: "recordId" in o ? o.recordId : null,
            reason: "reason" in o ? o.reason : null,
          })
          .where(and(eq(federationEntries.peerId, h.peerId), eq(federationEntries.peerIndex, h.peerIndex))),
        db
          .delete(federationPending)
          .where(and(eq(federationPending.peerId, h.peerId), eq(federationPending.peerIndex, h.peerIndex))),
      ];
      const outcome = await tryApply(env, db, peer, h.peerIndex, h.jws, done);
      if (outcome.status === "wait") {
        if (outcome.waitingFor !== h.waitingFor) {
          await db
            .update(federationPending)
            .set({ waitingFor: outcome.waitingFor })
            .where(and(eq(federationPending.peerId, h.peerId), eq(federationPending.peerIndex, h.peerIndex)));
        }
        continue;
      }
      if (outcome.status !== "applied") {
        const why = `${outcome.code}: ${outcome.reason}`;
        await db.batch([
          ...(done({ reason: why }) as [DomainStatements[number], ...DomainStatements]),
          audit(db, "federation.skipped", h.peerId, { peer: h.peerId, index: h.peerIndex, reason: why }),
        ]);
      }
      progress++;
    }
    released += progress;
    if (progress === 0) break;
  }
  return released;
}

/** Pulls every configured peer (or one), one after another; for the scheduled handler and the route. */
export async function pullPeers(env: Env, only?: string, opts: PullOptions = {}): Promise<PullReport[]> {
  const out: PullReport[] = [];
  for (const peer of peersOf(env)) {
    if (only && peer.nodeId !== only) continue;
    out.push(await pullPeer(env, peer, opts));
  }
  // Replicated entries' fingerprint keys went into the small level of the key table.
  await mergeFingerprintKeysIfDue(env.DB);
  return out;
}
