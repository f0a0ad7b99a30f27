// Participant and key queries. No Hono types here: (db, args) => rows.
import {
  decodeB64urlStrict,
  normalisePublicJwk,
  type ParticipantView,
  type PublicJwk,
  type RegistryRequestView,
} from "@eusn/protocol";
import { and, asc, eq, inArray, isNotNull, isNull, type SQL, sql } from "drizzle-orm";
import { participantKeys, participants, registryRequests } from "../../../schema/index.ts";
import type { Env } from "../env.ts";
import type { Db } from "../lib/db.ts";
import { nowIso } from "../lib/encoding.ts";

export type ParticipantRow = typeof participants.$inferSelect;
export type KeyRow = typeof participantKeys.$inferSelect;
export type RegistryRequestRow = typeof registryRequests.$inferSelect;

export async function getRegistryRequest(db: Db, recordId: string): Promise<RegistryRequestRow | undefined> {
  return db.select().from(registryRequests).where(eq(registryRequests.requestRecordId, recordId)).get();
}

/**
 * What a participant that this node holds no row of was admitted as, from its admission record
 * (the request it made, or the record itself for one admitted alone): a participant whose
 * admission was undone, or has not taken effect here. Undefined when no admission record of it is
 * held.
 */
export async function admittedAs(
  db: Db,
  participantId: string,
): Promise<Pick<ParticipantRow, "id" | "role" | "memberState" | "displayName"> | undefined> {
  const req = await db
    .select()
    .from(registryRequests)
    .where(and(eq(registryRequests.participantId, participantId), eq(registryRequests.action, "admit")))
    .orderBy(asc(registryRequests.requestedAt), asc(registryRequests.requestRecordId))
    .get();
  if (req)
    return { id: participantId, role: req.role, memberState: req.memberState, displayName: req.displayName };
  const rec = await db.get<{ jws: string }>(
    sql`SELECT jws FROM records WHERE kind = 'participant.admit' AND subject_id = ${participantId} ORDER BY iat, id LIMIT 1`,
  );
  if (!rec) return undefined;
  // Stored only after its signature and its canonical encoding were verified.
  const payload = JSON.parse(new TextDecoder().decode(decodeB64urlStrict(rec.jws.split(".")[1] ?? ""))) as {
    record: { role: ParticipantRow["role"]; memberState?: string; displayName: string };
  };
  return {
    id: participantId,
    role: payload.record.role,
    memberState: payload.record.memberState ?? null,
    displayName: payload.record.displayName,
  };
}

/** An open (not yet countersigned) request of `action` about a participant, if any. */
export async function openRequestFor(
  db: Db,
  participantId: string,
  action: RegistryRequestRow["action"],
): Promise<RegistryRequestRow | undefined> {
  return db
    .select()
    .from(registryRequests)
    .where(
      and(
        eq(registryRequests.participantId, participantId),
        eq(registryRequests.action, action),
        isNull(registryRequests.completedRecordId),
        isNull(registryRequests.withdrawnRecordId),
        isNull(registryRequests.voidReason),
      ),
    )
    .get();
}

export function toRequestView(r: RegistryRequestRow): RegistryRequestView {
  const jwks = r.jwks ? (JSON.parse(r.jwks) as { keys: { kid?: string }[] }) : null;
  return {
    requestRecordId: r.requestRecordId,
    action: r.action,
    participantId: r.participantId,
    role: r.role,
    memberState: (r.memberState as RegistryRequestView["memberState"]) ?? null,
    displayName: r.displayName,
    requestedBy: r.requestedBy,
    requestedAt: r.requestedAt,
    reason: r.reason,
    keys: (jwks?.keys ?? []).map((k) => k.kid ?? ""),
    status: r.completedRecordId
      ? "completed"
      : r.voidReason
        ? "void"
        : r.withdrawnRecordId
          ? "withdrawn"
          : "pending",
    completedBy: r.completedBy,
    completedRecordId: r.completedRecordId,
    completedAt: r.completedAt,
    withdrawnRecordId: r.withdrawnRecordId,
    withdrawnAt: r.withdrawnAt,
    voidReason: r.voidReason,
  };
}

/** Requests by status (pending: still waiting for their second signature), oldest first. */
export async function listRegistryRequests(
  db: Db,
  status: RegistryRequestView["status"],
): Promise<RegistryRequestView[]> {
  const open = and(isNull(registryRequests.completedRecordId), isNull(registryRequests.voidReason));
  const where: Record<RegistryRequestView["status"], SQL | undefined> = {
    pending: and(open, isNull(registryRequests.withdrawnRecordId)),
    completed: isNotNull(registryRequests.completedRecordId),
    withdrawn: and(open, isNotNull(registryRequests.withdrawnRecordId)),
    void: and(isNull(registryRequests.completedRecordId), isNotNull(registryRequests.voidReason)),
  };
  const rows = await db
    .select()
    .from(registryRequests)
    .where(where[status])
    .orderBy(asc(registryRequests.requestedAt), asc(registryRequests.requestRecordId))
    .limit(1000);
  return rows.map(toRequestView);
}

export async function getParticipant(db: Db, id: string): Promise<ParticipantRow | undefined> {
  return db.select().from(participants).where(eq(participants.id, id)).get();
}

export async function getKey(db: Db, participantId: string, kid: string): Promise<KeyRow | undefined> {
  return db
    .select()
    .from(participantKeys)
    .where(and(eq(participantKeys.participantId, participantId), eq(participantKeys.kid, kid)))
    .get();
}

export async function getKeyByKid(db: Db, kid: string): Promise<KeyRow | undefined> {
  return db.select().from(participantKeys).where(eq(participantKeys.kid, kid)).get();
}

export async function keysOf(db: Db, participantIds: string[]): Promise<KeyRow[]> {
  if (participantIds.length === 0) return [];
  return db
    .select()
    .from(participantKeys)
    .where(inArray(participantKeys.participantId, participantIds))
    .orderBy(asc(participantKeys.addedAt));
}

export function toView(p: ParticipantRow, keys: KeyRow[]): ParticipantView {
  return {
    id: p.id,
    role: p.role,
    memberState: (p.memberState as ParticipantView["memberState"]) ?? null,
    displayName: p.displayName,
    status: p.status,
    admittedAt: p.admittedAt,
    admissionRecordId: p.admissionRecordId,
    revokedAt: p.revokedAt,
    keys: keys
      .filter((k) => k.participantId === p.id)
      .map((k) => ({
        kid: k.kid,
        jwk: JSON.parse(k.jwk) as PublicJwk,
        status: k.status,
        addedAt: k.addedAt,
        retiredAt: k.retiredAt,
      })),
  };
}

export async function listParticipants(
  db: Db,
  filter: { role?: ParticipantRow["role"] | undefined; status?: ParticipantRow["status"] | undefined },
): Promise<ParticipantView[]> {
  const conds = [];
  if (filter.role) conds.push(eq(participants.role, filter.role));
  if (filter.status) conds.push(eq(participants.status, filter.status));
  const rows = await db
    .select()
    .from(participants)
    .where(conds.length ? and(...conds) : undefined)
    .orderBy(asc(participants.admittedAt), asc(participants.id));
  const keys = await keysOfChunked(
    db,
    rows.map((r) => r.id),
  );
  return rows.map((r) => toView(r, keys));
}

async function keysOfChunked(db: Db, ids: string[]): Promise<KeyRow[]> {
  // D1 binds at most 100 parameters per statement.
  const out: KeyRow[] = [];
  for (let i = 0; i < ids.length; i += 90) out.push(...(await keysOf(db, ids.slice(i, i + 90))));
  return out;
}

/**
 * The bootstrap coordinator comes from configuration (its public JWKS in
 * BOOTSTRAP_COORDINATOR_JWKS), not from a signed record: someone has to be first. This inserts
 * it, and any configured key it does not have yet, idempotently and race-free (the audit entry
 * is written only by the statement that actually creates the participant, in the same batch).
 */
export async function ensureBootstrap(d1: D1Database, env: Env): Promise<void> {
  const id = env.BOOTSTRAP_COORDINATOR_ID;
  if (!id || !env.BOOTSTRAP_COORDINATOR_JWKS) return;
  let parsed: { keys?: unknown[] };
  try {
    parsed = JSON.parse(env.BOOTSTRAP_COORDINATOR_JWKS) as { keys?: unknown[] };
  } catch {
    throw new Error("BOOTSTRAP_COORDINATOR_JWKS is not valid JSON");
  }
  const keys = [];
  for (const raw of parsed.keys ?? []) {
    // Tolerate a private JWK pasted by mistake: only the public members are ever stored.
    const { d: _private, ...pub } = raw as PublicJwk & { d?: string };
    const n = await normalisePublicJwk(pub as PublicJwk);
    if (!n.ok) throw new Error(`BOOTSTRAP_COORDINATOR_JWKS: ${n.reason}`);
    keys.push(n.key);
  }
  const have = await d1
    .prepare("SELECT kid FROM participant_keys WHERE participant_id = ?")
    .bind(id)
    .all<{ kid: string }>();
  const known = new Set(have.results.map((r) => r.kid));
  if (known.size > 0 && keys.every((k) => known.has(k.kid))) return;
  const now = nowIso();
  const stmts = [
    d1
      .prepare(
        "INSERT INTO audit_log (kind, subject_id, actor, at) SELECT 'participant.bootstrap', ?1, 'config', ?2 WHERE NOT EXISTS (SELECT 1 FROM participants WHERE id = ?1)",
      )
      .bind(id, now),
    d1
      .prepare(
        "INSERT OR IGNORE INTO participants (id, role, display_name, status, admitted_at) VALUES (?, 'coordinator', ?, 'active', ?)",
      )
      .bind(id, env.BOOTSTRAP_COORDINATOR_NAME || "Bootstrap coordinator", now),
    ...keys.map((k) =>
      d1
        .prepare(
          "INSERT OR IGNORE INTO participant_keys (participant_id, kid, jwk, alg, status, added_at, valid_from) VALUES (?, ?, ?, ?, 'active', ?, 0)",
        )
        .bind(id, k.kid, JSON.stringify(k.jwk), k.alg, now),
    ),
  ];
  await d1.batch(stmts);
}
