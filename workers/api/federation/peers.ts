// The PEERS configuration (wrangler.toml var or secret): the nodes this node federates with,
// each with its URL, its node public key and the coordinator(s) its configuration vouches for.
// Parsed once per configuration string; a malformed value is a configuration error, reported
// as such and never half-used.
import { type PeerConfig, PeersConfig } from "@eusn/protocol";
import type { Env } from "../env.ts";
import { ApiError } from "../lib/problem.ts";

const cache = new Map<string, PeerConfig[] | string>();

/** The configured peers (an empty list when PEERS is unset). Throws `unavailable` on bad config. */
export function peersOf(env: Env): PeerConfig[] {
  const raw = env.PEERS?.trim();
  if (!raw) return [];
  let parsed = cache.get(raw);
  if (parsed === undefined) {
    try {
      const result = PeersConfig.safeParse(JSON.parse(raw));
      parsed = result.success
        ? result.data
        : `PEERS is invalid: ${result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`;
    } catch {
      parsed = "PEERS is not valid JSON";
    }
    if (typeof parsed !== "string") {
      const ids = parsed.map((p) => p.nodeId);
      if (new Set(ids).size !== ids.length) parsed = "PEERS names a node twice";
      else if (ids.includes(env.NODE_ID)) parsed = "PEERS names this node itself";
    }
    cache.set(raw, parsed);
  }
  if (typeof parsed === "string") throw new ApiError("unavailable", parsed);
  return parsed;
}

export function peerById(env: Env, nodeId: string): PeerConfig | undefined {
  return peersOf(env).find((p) => p.nodeId === nodeId);
}
