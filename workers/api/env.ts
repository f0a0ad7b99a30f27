// The Worker's bindings and configuration (wrangler.toml vars, secrets, D1). Policy vars are read
// through config.ts, never directly. The Durable Object bindings are typed by the objects' RPC
// interfaces (leaf modules), not by their classes, which themselves read Env.
import type { IncidentWatchRpc } from "./incidents/types.ts";
import type { RateLimiterRpc } from "./limits/policy.ts";
import type { MatchShardRpc } from "./match/types.ts";
import type { WebhookDispatcherRpc } from "./webhooks/types.ts";

export interface Env {
  DB: D1Database;
  /** This node's identity; the required `aud` of every signed write and read token. */
  NODE_ID: string;
  /** Private JWK (JSON) of the node key that signs receipts, checkpoints and snapshots. */
  NODE_PRIVATE_JWK: string;
  /** Public JWKS (JSON) of the bootstrap coordinator, from configuration. */
  BOOTSTRAP_COORDINATOR_JWKS: string;
  BOOTSTRAP_COORDINATOR_ID: string;
  BOOTSTRAP_COORDINATOR_NAME: string;
  /** Minimum number of distinct member states for baseline eligibility; "0" = every state with an active authority. */
  BASELINE_MIN_STATES: string;
  /** "off" lets one coordinator admit or revoke an authority alone (config.ts `registry`). */
  REGISTRY_SECOND_SIGNATURE?: string;
  /** False-positive rate (0..1) at or above which an entry is flagged for coordinator review. */
  FP_FLAG_RATE?: string;
  /** Minimum number of true/false-positive reports before the rate is considered. */
  FP_FLAG_MIN_REPORTS?: string;
  /** Migration signals (docs/signals.md): expiry in days when a signal names none (default 90). */
  SIGNAL_DEFAULT_EXPIRY_DAYS?: string;
  /** Longest expiry a signal may ask for, in days (default and protocol cap 180). */
  SIGNAL_MAX_EXPIRY_DAYS?: string;
  /** Signal lookup requests per platform per minute (default 60). */
  SIGNAL_LOOKUPS_PER_MINUTE?: string;
  /** Enumeration guard: distinct selector pseudonyms a platform may look up per UTC day (default 5000). */
  SIGNAL_MAX_DISTINCT_SELECTORS_PER_DAY?: string;
  /** Match-index Durable Object shards (docs/matching.md). */
  MATCH_SHARD: DurableObjectNamespace<MatchShardRpc>;
  /** How many shards the index is split into (default 1). */
  MATCH_SHARDS?: string;
  /** Per-participant rate limits (workers/api/limits; SECURITY.md): one Durable Object per participant. */
  RATE_LIMITER: DurableObjectNamespace<RateLimiterRpc>;
  /** Crisis incidents (docs/incidents.md): one Durable Object per incident holds its followers' long-polls. */
  INCIDENT_WATCH: DurableObjectNamespace<IncidentWatchRpc>;
  /** Rules per request class, e.g. "600/min, 50000/day"; "off" disables a class. Defaults: limits/policy.ts; parsed by config.ts. */
  RATE_LIMIT_WRITE?: string;
  RATE_LIMIT_READ?: string;
  RATE_LIMIT_MATCH?: string;
  RATE_LIMIT_SIGNAL_LOOKUP?: string;
  /**
   * Federation (docs/federation.md): JSON array of the peer nodes this node pulls from and lets
   * pull its log entries — [{nodeId, url, jwk, coordinators: [{id, jwks}]}].
   */
  PEERS?: string;
  /** Most peer log entries one pull consumes per peer (default 100); the next pull continues. */
  FEDERATION_PULL_LIMIT?: string;
  /** Days a platform's kept match results stay on the node (default 90). */
  REVIEW_RETENTION_DAYS?: string;
  /** The webhook dispatcher (webhooks/dispatcher.ts): one Durable Object, named "dispatcher". */
  WEBHOOKS?: DurableObjectNamespace<WebhookDispatcherRpc>;
  /** Webhooks (docs/webhooks.md): private targets allowed, first retry delay, attempts. */
  WEBHOOK_ALLOW_PRIVATE?: string;
  WEBHOOK_RETRY_BASE_SECONDS?: string;
  WEBHOOK_MAX_ATTEMPTS?: string;
  /** Case files' ciphertexts (docs/evidence.md): R2 bucket, local under `wrangler dev` and in the tests. */
  EVIDENCE: R2Bucket;
  /** Days a case file stays after its entry's last decision (default and cap 183). */
  EVIDENCE_RETENTION_DAYS?: string;
}
