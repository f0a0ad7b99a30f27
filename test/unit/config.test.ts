// The node's configuration (workers/api/config.ts): every policy var of wrangler.toml is parsed
// there, tuning values fall back to their defaults, and a malformed strict var (match shards, rate
// limits, peers) fails only the field that reads it, with the problem the node answers with.
import { readFileSync } from "node:fs";
import path from "node:path";
import type { PeerConfig } from "@eusn/protocol";
import { describe, expect, it } from "vitest";
import { type ConfigEnv, config, VarsSchema } from "../../workers/api/config.ts";
import { ApiError } from "../../workers/api/lib/problem.ts";

const root = path.join(import.meta.dirname, "../..");

/** The [vars] of wrangler.toml, as the Worker receives them (every value a string). */
function wranglerVars(): Record<string, string> {
  const toml = readFileSync(path.join(root, "wrangler.toml"), "utf8");
  const section = /^\[vars\]\n([\s\S]*?)^\[/m.exec(toml)?.[1] ?? "";
  const vars: Record<string, string> = {};
  for (const m of section.matchAll(/^([A-Z_]+) = "(.*)"$/gm)) vars[m[1]!] = m[2]!.replace(/\\"/g, '"');
  return vars;
}

/** What reading `read()` throws, as [code, detail]. */
function failure(read: () => unknown): [string, string | undefined] {
  try {
    read();
  } catch (e) {
    if (e instanceof ApiError) return [e.code, e.detail];
    throw e;
  }
  throw new Error("expected the read to throw");
}

const peer = (nodeId: string): PeerConfig => ({
  nodeId,
  url: `https://${nodeId}.example`,
  jwk: { kty: "OKP", crv: "Ed25519", x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" },
  coordinators: [],
});

describe("config", () => {
  it("parses every policy var of wrangler.toml, and wrangler.toml sets each one", () => {
    const vars = wranglerVars();
    const identity = ["NODE_ID", "BOOTSTRAP_COORDINATOR_ID", "BOOTSTRAP_COORDINATOR_NAME"];
    const policies = Object.keys(vars).filter((k) => !identity.includes(k));
    expect(policies.sort()).toEqual(Object.keys(VarsSchema.shape).sort());
  });

  it("the values in wrangler.toml are today's defaults", () => {
    expect(config(wranglerVars())).toEqual(config({}));
    expect(config({})).toEqual({
      baseline: { minStates: 0, fpRate: 0.3, fpMinReports: 3 },
      registry: { secondSignature: true },
      signals: {
        defaultExpiryDays: 90,
        maxExpiryDays: 180,
        lookupsPerMinute: 60,
        maxDistinctSelectorsPerDay: 5000,
      },
      match: { shards: 1 },
      rateLimits: {
        write: [
          { limit: 600, windowS: 60 },
          { limit: 50000, windowS: 86400 },
        ],
        read: [{ limit: 1200, windowS: 60 }],
        match: [
          { limit: 8000, windowS: 5 },
          { limit: 50000000, windowS: 86400 },
        ],
        "signal-lookup": [
          { limit: 300, windowS: 60 },
          { limit: 20000, windowS: 86400 },
        ],
      },
      federation: { peers: [], pullLimit: 100 },
      review: { retentionDays: 90 },
      webhooks: { allowPrivate: "off", retryBaseMs: 30_000, maxAttempts: 8 },
      evidence: { retentionDays: 183 },
    });
  });

  it("WEBHOOK_ALLOW_PRIVATE opens private targets only when it says so exactly", () => {
    const allow = (v: string) => config({ WEBHOOK_ALLOW_PRIVATE: v }).webhooks.allowPrivate;
    expect(allow("on")).toBe("on");
    expect(allow(" ON ")).toBe("on");
    expect(allow("127.0.0.1:9000, localhost:8080")).toEqual(["127.0.0.1:9000", "localhost:8080"]);
    // A typo never opens anything.
    for (const v of ["yes", "true", "1", "127.0.0.1", "*", "on,", "", "127.0.0.1:9000 localhost"])
      expect(allow(v), v).toBe("off");
    expect(config({ WEBHOOK_RETRY_BASE_SECONDS: "0.2" }).webhooks.retryBaseMs).toBe(200);
    expect(config({ WEBHOOK_RETRY_BASE_SECONDS: "soon" }).webhooks.retryBaseMs).toBe(30_000);
  });

  it("EVIDENCE_RETENTION_DAYS can shorten case-file retention, never lengthen it past 183 days", () => {
    expect(config({ EVIDENCE_RETENTION_DAYS: "30" }).evidence.retentionDays).toBe(30);
    for (const v of ["184", "400", "0", "-5", "six months", ""])
      expect(config({ EVIDENCE_RETENTION_DAYS: v }).evidence.retentionDays, v).toBe(183);
  });

  it("REGISTRY_SECOND_SIGNATURE: only the exact value off turns the second signature off", () => {
    expect(config({ REGISTRY_SECOND_SIGNATURE: "off" }).registry.secondSignature).toBe(false);
    expect(config({ REGISTRY_SECOND_SIGNATURE: " OFF " }).registry.secondSignature).toBe(false);
    for (const v of ["on", "of", "false", "0", "no", ""])
      expect(config({ REGISTRY_SECOND_SIGNATURE: v }).registry.secondSignature, v).toBe(true);
  });

  it("reads set values", () => {
    const c = config({
      BASELINE_MIN_STATES: "5",
      FP_FLAG_RATE: "0.25",
      FP_FLAG_MIN_REPORTS: "10",
      SIGNAL_MAX_EXPIRY_DAYS: "30",
      SIGNAL_DEFAULT_EXPIRY_DAYS: "7",
      SIGNAL_LOOKUPS_PER_MINUTE: "5",
      SIGNAL_MAX_DISTINCT_SELECTORS_PER_DAY: "12",
      MATCH_SHARDS: "8",
      RATE_LIMIT_READ: "off",
      RATE_LIMIT_MATCH: "10/30s",
      PEERS: JSON.stringify([peer("eusn-b")]),
      FEDERATION_PULL_LIMIT: "7",
    });
    expect(c.baseline).toEqual({ minStates: 5, fpRate: 0.25, fpMinReports: 10 });
    expect(c.signals).toEqual({
      defaultExpiryDays: 7,
      maxExpiryDays: 30,
      lookupsPerMinute: 5,
      maxDistinctSelectorsPerDay: 12,
    });
    expect(c.match.shards).toBe(8);
    expect(c.rateLimits.read).toEqual([]);
    expect(c.rateLimits.match).toEqual([{ limit: 10, windowS: 30 }]);
    expect(c.federation.peers.map((p) => p.nodeId)).toEqual(["eusn-b"]);
    expect(c.federation.pullLimit).toBe(7);
  });

  it("tuning values fall back to their defaults when missing or nonsensical", () => {
    const c = config({
      BASELINE_MIN_STATES: "-2",
      FP_FLAG_RATE: "often",
      FP_FLAG_MIN_REPORTS: "",
      SIGNAL_MAX_EXPIRY_DAYS: "365",
      SIGNAL_LOOKUPS_PER_MINUTE: "1.5",
      SIGNAL_MAX_DISTINCT_SELECTORS_PER_DAY: "  ",
      FEDERATION_PULL_LIMIT: "0",
    });
    expect(c.baseline).toEqual({ minStates: 0, fpRate: 0.3, fpMinReports: 3 });
    expect(c.signals).toEqual({
      defaultExpiryDays: 90,
      maxExpiryDays: 180,
      lookupsPerMinute: 60,
      maxDistinctSelectorsPerDay: 5000,
    });
    expect(c.federation.pullLimit).toBe(100);
    // The default expiry never exceeds the configured maximum.
    expect(config({ SIGNAL_MAX_EXPIRY_DAYS: "30" }).signals.defaultExpiryDays).toBe(30);
  });

  it("a malformed strict var fails only the field that reads it, with the node's problem", () => {
    const c = config({ MATCH_SHARDS: "65", RATE_LIMIT_READ: "lots per minute", PEERS: "[{" });
    expect(failure(() => c.match.shards)).toEqual(["internal_error", "MATCH_SHARDS misconfigured"]);
    expect(failure(() => c.rateLimits.read)).toEqual(["internal_error", "rate limit for read misconfigured"]);
    expect(failure(() => c.federation.peers)).toEqual(["unavailable", "PEERS is not valid JSON"]);
    // Everything else still reads.
    expect(c.rateLimits.write).toHaveLength(2);
    expect(c.baseline.minStates).toBe(0);
    expect(c.federation.pullLimit).toBe(100);
    expect(failure(() => config({ MATCH_SHARDS: "0" }).match.shards)[0]).toBe("internal_error");
  });

  it("PEERS must be valid, name each node once, and not name this node", () => {
    const [code, detail] = failure(
      () => config({ PEERS: JSON.stringify([{ nodeId: "x" }]) }).federation.peers,
    );
    expect(code).toBe("unavailable");
    expect(detail).toMatch(/^PEERS is invalid: /);
    const twice = JSON.stringify([peer("eusn-b"), peer("eusn-b")]);
    expect(failure(() => config({ PEERS: twice }).federation.peers)).toEqual([
      "unavailable",
      "PEERS names a node twice",
    ]);
    const self = JSON.stringify([peer("eusn-a")]);
    expect(failure(() => config({ NODE_ID: "eusn-a", PEERS: self }).federation.peers)).toEqual([
      "unavailable",
      "PEERS names this node itself",
    ]);
    expect(config({ NODE_ID: "eusn-c", PEERS: self }).federation.peers).toHaveLength(1);
  });

  it("is parsed once per env object, and again when a var on it changes", () => {
    const env: { -readonly [K in keyof ConfigEnv]: ConfigEnv[K] } = { MATCH_SHARDS: "2" };
    const first = config(env);
    expect(config(env)).toBe(first);
    env.MATCH_SHARDS = "4";
    expect(config(env)).not.toBe(first);
    expect(config(env).match.shards).toBe(4);
    expect(config({ MATCH_SHARDS: "4" })).not.toBe(config(env));
  });
});
