// The peer's bootstrap coordinator(s), from this node's PEERS configuration: the roots of trust
// for the peer's admission records. A peer's participants become known here only through their
// coordinator-signed admission records, replicated; those verify against these keys (or against
// coordinators admitted the same way). Inserted idempotently, like this node's own bootstrap
// coordinator (store/participants.ts ensureBootstrap), and never by changing a participant that
// a signed record created.
import { normalisePublicJwk, type PeerConfig, type PublicJwk } from "@eusn/protocol";
import type { Env } from "../env.ts";
import { nowIso } from "../lib/encoding.ts";
import { ensureBootstrap } from "../store/participants.ts";

export class PeerConfigError extends Error {}

export async function ensurePeerCoordinators(env: Env, peer: PeerConfig): Promise<void> {
  if (peer.coordinators.length === 0) return;
  await ensureBootstrap(env.DB, env);
  const d1 = env.DB;
  for (const c of peer.coordinators) {
    const keys = [];
    for (const raw of c.jwks.keys) {
      const n = await normalisePublicJwk(raw as PublicJwk);
      if (!n.ok) throw new PeerConfigError(`PEERS ${peer.nodeId}: coordinator ${c.id}: ${n.reason}`);
      keys.push(n.key);
    }
    const existing = await d1
      .prepare("SELECT role, admission_record_id FROM participants WHERE id = ?")
      .bind(c.id)
      .first<{ role: string; admission_record_id: string | null }>();
    const have = await d1
      .prepare(
        "SELECT participant_id, kid FROM participant_keys WHERE kid IN (" +
          keys.map(() => "?").join(",") +
          ")",
      )
      .bind(...keys.map((k) => k.kid))
      .all<{ participant_id: string; kid: string }>();
    for (const h of have.results) {
      if (h.participant_id !== c.id) {
        throw new PeerConfigError(
          `PEERS ${peer.nodeId}: key ${h.kid} of ${c.id} belongs to ${h.participant_id} here`,
        );
      }
    }
    const missing = keys.filter((k) => !have.results.some((h) => h.kid === k.kid));
    if (existing) {
      if (missing.length === 0) continue;
      // Only a configuration-rooted coordinator of a peer may gain configured keys; this node's own
      // bootstrap coordinator and participants admitted by signed records never change this way.
      if (
        existing.role !== "coordinator" ||
        existing.admission_record_id !== null ||
        c.id === env.BOOTSTRAP_COORDINATOR_ID
      ) {
        throw new PeerConfigError(
          `PEERS ${peer.nodeId}: ${c.id} already exists here without key ${missing[0]!.kid}; give the peer's coordinator its own id`,
        );
      }
    }
    const now = nowIso();
    await d1.batch([
      d1
        .prepare(
          "INSERT INTO audit_log (kind, subject_id, actor, at, detail) SELECT 'participant.peer-bootstrap', ?1, 'config', ?2, ?3 WHERE NOT EXISTS (SELECT 1 FROM participants WHERE id = ?1)",
        )
        .bind(c.id, now, JSON.stringify({ peer: peer.nodeId })),
      d1
        .prepare(
          "INSERT OR IGNORE INTO participants (id, role, display_name, status, admitted_at) VALUES (?, 'coordinator', ?, 'active', ?)",
        )
        .bind(c.id, c.displayName ?? `Coordinator of ${peer.nodeId}`.slice(0, 120), now),
      ...missing.map((k) =>
        d1
          .prepare(
            "INSERT OR IGNORE INTO participant_keys (participant_id, kid, jwk, alg, status, added_at, valid_from) VALUES (?, ?, ?, ?, 'active', ?, 0)",
          )
          .bind(c.id, k.kid, JSON.stringify(k.jwk), k.alg, now),
      ),
    ]);
  }
}
