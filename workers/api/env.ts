// The Worker's bindings and configuration (wrangler.toml vars, secrets, D1).
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
}
