// API credentials (HTTP Basic for TAXII clients) that end with the key or the participant that
// vouched for them. A credential is registered by a signed `participant.apicred.set` record; the
// `records` row of that registration names the key (`kid`) that signed it. Retiring that key, or
// revoking the participant, revokes the credential in the same D1 batch (docs/taxii.md "API
// credentials"). No Hono types here.
import type { ApiCredentialView } from "@eusn/protocol";
import { and, asc, eq, getTableColumns, gt, isNull, sql } from "drizzle-orm";
import { apiCredentials, auditLog, participantKeys, records } from "../../../schema/index.ts";
import { type Db, insertSelect } from "../lib/db.ts";
import { nowIso } from "../lib/encoding.ts";

export type CredentialCascade = {
  participantId: string;
  /** Only the credentials whose registration was signed with this key; all of them when absent. */
  kid?: string;
  /** The retirement or revocation record: becomes each credential's `revoked_record_id`. */
  recordId: string;
  cause: "participant.key.retire" | "participant.revoke";
  /** Revocation time (the record's time). */
  at: string;
  /** Time of the audit entries. */
  auditAt: string;
};

/**
 * The statements that revoke the participant's unrevoked, unexpired credentials (those registered
 * with `kid` when given), and, for after the record's own audit entry, one `apicred.revoked` audit
 * entry per credential revoked (actor `system`, detail: the cause and its record).
 */
export function cascadeCredentialRevocation(db: Db, c: CredentialCascade) {
  const byKey = c.kid
    ? sql`${apiCredentials.recordId} IN (SELECT id FROM records WHERE issuer = ${c.participantId} AND kid = ${c.kid} AND kind = 'participant.apicred.set')`
    : undefined;
  return {
    statements: [
      db
        .update(apiCredentials)
        .set({ revokedAt: c.at, revokedRecordId: c.recordId })
        .where(
          and(
            eq(apiCredentials.participantId, c.participantId),
            isNull(apiCredentials.revokedAt),
            gt(apiCredentials.expiresAt, c.at),
            byKey,
          ),
        ),
    ],
    after: [
      insertSelect(
        db,
        auditLog,
        {
          kind: sql`'apicred.revoked'`,
          subjectId: sql`id`,
          actor: sql`'system'`,
          at: sql`${c.auditAt}`,
          detail: sql`json_object('cause', ${c.cause}, 'recordId', ${c.recordId}, 'participantId', ${c.participantId}, 'kid', ${c.kid ?? null})`,
        },
        sql`FROM api_credentials WHERE revoked_record_id = ${c.recordId} ORDER BY id`,
      ),
    ],
  };
}

/**
 * Why a credential that is not marked revoked must still be refused, or null: the key that signed
 * its registration is no longer active (retired) without the cascade above having reached it — a
 * registration that raced the retirement, or a row from before the cascade existed. Checked at
 * every use (a revoked participant is refused before this is asked).
 */
export async function credentialVoidedBy(
  db: Db,
  recordId: string,
): Promise<{ kid: string; retiredAt: string | null } | null> {
  const row = await db.get<{ kid: string | null; status: string | null; retired_at: string | null }>(
    sql`SELECT r.kid AS kid, k.status AS status, k.retired_at AS retired_at
        FROM records r LEFT JOIN participant_keys k ON k.kid = r.kid AND k.participant_id = r.issuer
        WHERE r.id = ${recordId}`,
  );
  // No registering record or key on file: fail closed.
  if (!row?.kid || row.status === null) return { kid: row?.kid ?? "unknown", retiredAt: null };
  return row.status === "active" ? null : { kid: row.kid, retiredAt: row.retired_at };
}

type CredentialRow = typeof apiCredentials.$inferSelect & {
  kid: string | null;
  keyStatus: string | null;
  keyRetiredAt: string | null;
  keyRetiredRecordId: string | null;
};

/**
 * A credential as shown. Retiring its key or revoking its participant revokes it in that record's
 * batch; one that escaped the cascade (it raced the retirement, or predates the rule) is refused at
 * use anyway (auth/basic.ts), and is shown revoked by its key's retirement.
 */
function toView(r: CredentialRow, now: string): ApiCredentialView {
  const keyGone = !r.revokedAt && r.keyStatus !== null && r.keyStatus !== "active";
  const revokedAt = r.revokedAt ?? (keyGone ? r.keyRetiredAt : null);
  return {
    id: r.id,
    participantId: r.participantId,
    label: r.label,
    createdAt: r.createdAt,
    expiresAt: r.expiresAt,
    revokedAt,
    status: r.revokedAt || keyGone ? "revoked" : r.expiresAt <= now ? "expired" : "active",
    recordId: r.recordId,
    kid: r.kid,
    revokedRecordId: r.revokedRecordId ?? (keyGone ? r.keyRetiredRecordId : null),
  };
}

/** A participant's API credentials, oldest first, each with the key that registered it. */
export async function listCredentials(db: Db, participantId: string): Promise<ApiCredentialView[]> {
  const rows = await db
    .select({
      ...getTableColumns(apiCredentials),
      kid: records.kid,
      keyStatus: participantKeys.status,
      keyRetiredAt: participantKeys.retiredAt,
      keyRetiredRecordId: participantKeys.retiredRecordId,
    })
    .from(apiCredentials)
    .leftJoin(records, eq(records.id, apiCredentials.recordId))
    .leftJoin(
      participantKeys,
      and(eq(participantKeys.kid, records.kid), eq(participantKeys.participantId, records.issuer)),
    )
    .where(eq(apiCredentials.participantId, participantId))
    .orderBy(asc(apiCredentials.createdAt), asc(apiCredentials.id));
  const now = nowIso();
  return rows.map((r) => toView(r, now));
}
