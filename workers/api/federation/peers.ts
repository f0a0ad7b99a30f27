// The PEERS configuration (wrangler.toml var or secret): the nodes this node federates with,
// each with its URL, its node public key and the coordinator(s) its configuration vouches for.
// Parsed with the rest of the configuration (workers/api/config.ts); a malformed value is a
// configuration error, reported as such and never half-used.
import type { PeerConfig } from "@eusn/protocol";
import { config } from "../config.ts";
import type { Env } from "../env.ts";

/** The configured peers (an empty list when PEERS is unset). Throws `unavailable` on bad config. */
export function peersOf(env: Env): PeerConfig[] {
  return config(env).federation.peers;
}

export function peerById(env: Env, nodeId: string): PeerConfig | undefined {
  return peersOf(env).find((p) => p.nodeId === nodeId);
}
