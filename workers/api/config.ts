// The node's policies from wrangler.toml [vars], parsed by one zod schema into one typed object.
// Every policy var is read here and nowhere else; callers ask `config(env)` for a typed field.
//
// Two kinds of var. A tuning value (quorum, false-positive flag, signal limits, pull size) falls
// back to its default when missing or nonsensical, as documented in wrangler.toml. A var whose
// wrong value would be dangerous to guess (match shards: entries would hash to the wrong shard;
// rate limits: a typo must not mean "no limit"; peers: whom this node trusts) is a configuration
// error: reading that field throws a problem naming the var, and only the requests that need it
// fail, so a bad PEERS does not take matching down with it.
import {
  EVIDENCE_MAX_RETENTION_DAYS,
  type PeerConfig,
  PeersConfig,
  type ProblemCode,
  SIGNAL_DEFAULT_EXPIRY_DAYS,
  SIGNAL_MAX_EXPIRY_DAYS,
} from "@eusn/protocol";
import { z } from "zod";
import { ApiError } from "./lib/problem.ts";
import {
  DEFAULT_LIMITS,
  LIMIT_CLASSES,
  LIMIT_VARS,
  type LimitClass,
  parseRules,
  type Rule,
} from "./limits/policy.ts";

/** Signal expiry and abuse limits (docs/signals.md). */
export type SignalPolicy = {
  defaultExpiryDays: number;
  maxExpiryDays: number;
  lookupsPerMinute: number;
  maxDistinctSelectorsPerDay: number;
};

export type Config = {
  baseline: {
    /** BASELINE_MIN_STATES: distinct member states for the quorum; 0 = every state with an active authority. */
    minStates: number;
    /** FP_FLAG_RATE: false-positive rate at or above which an entry is flagged for review. */
    fpRate: number;
    /** FP_FLAG_MIN_REPORTS: true/false-positive reports needed before the rate counts. */
    fpMinReports: number;
  };
  registry: {
    /**
     * REGISTRY_SECOND_SIGNATURE: an authority's admission and revocation take effect only with a
     * second signature (another coordinator, or an active authority of the same member state).
     * On unless the var is exactly "off": a typo must not remove a safeguard.
     */
    secondSignature: boolean;
  };
  signals: SignalPolicy;
  match: {
    /** MATCH_SHARDS: match-index Durable Object shards, 1..64. Throws `internal_error` when malformed. */
    shards: number;
  };
  /** RATE_LIMIT_*: the rules per request class ([] = off). Throws `internal_error` when malformed. */
  rateLimits: Record<LimitClass, Rule[]>;
  federation: {
    /** PEERS: the peer nodes. Throws `unavailable` when malformed. */
    peers: PeerConfig[];
    /** FEDERATION_PULL_LIMIT: most peer log entries one pull consumes per peer. */
    pullLimit: number;
  };
  review: {
    /** REVIEW_RETENTION_DAYS: how long a platform's kept match results stay on the node. */
    retentionDays: number;
  };
  webhooks: {
    /**
     * WEBHOOK_ALLOW_PRIVATE: which receivers on private, loopback or link-local addresses (and
     * plain http) are allowed. `"off"` (production, and any value not understood): none; `"on"`:
     * all of them (a local node); or a list of exact `host:port` targets (the tests' receiver).
     */
    allowPrivate: "off" | "on" | string[];
    /** WEBHOOK_RETRY_BASE_SECONDS: the first retry's delay; each next one doubles (capped at 6 h). */
    retryBaseMs: number;
    /** WEBHOOK_MAX_ATTEMPTS: attempts before a delivery is given up as failed. */
    maxAttempts: number;
  };
  evidence: {
    /**
     * EVIDENCE_RETENTION_DAYS: how long a case file stays after its entry's last decision, at
     * most the protocol's 183 days (about six months): a node may keep less, never more.
     */
    retentionDays: number;
  };
};

/** `parseInt` of the value (or of `fallback` when unset), kept when `ok` holds, else `fallback`. */
const leadingInt = (fallback: number, ok: (n: number) => boolean) =>
  z
    .string()
    .optional()
    .transform((v) => {
      const n = Number.parseInt(v ?? String(fallback), 10);
      return Number.isFinite(n) && ok(n) ? n : fallback;
    });

/** A whole integer in [min, max]; anything else (missing, blank, "12 days", 1.5) is `fallback`. */
const boundedInt = (fallback: number, min: number, max: number) =>
  z.string().trim().min(1).transform(Number).pipe(z.number().int().min(min).max(max)).catch(fallback);

const rateRules = (cls: LimitClass) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const rules = parseRules(v ?? DEFAULT_LIMITS[cls]);
      if (rules === null) {
        ctx.addIssue({ code: "custom", message: `rate limit for ${cls} misconfigured` });
        return z.NEVER;
      }
      return rules;
    });

/** The [vars] this file owns, each with its default, bounds and meaning of a malformed value. */
export const VarsSchema = z.object({
  BASELINE_MIN_STATES: leadingInt(0, (n) => n > 0),
  FP_FLAG_RATE: z
    .string()
    .optional()
    .transform((v) => {
      const n = Number.parseFloat(v ?? "0.3");
      return Number.isFinite(n) ? n : 0.3;
    }),
  FP_FLAG_MIN_REPORTS: leadingInt(3, () => true),
  REGISTRY_SECOND_SIGNATURE: z
    .string()
    .optional()
    .transform((v) => v?.trim().toLowerCase() !== "off"),
  SIGNAL_MAX_EXPIRY_DAYS: boundedInt(SIGNAL_MAX_EXPIRY_DAYS, 1, SIGNAL_MAX_EXPIRY_DAYS),
  SIGNAL_DEFAULT_EXPIRY_DAYS: boundedInt(SIGNAL_DEFAULT_EXPIRY_DAYS, 1, SIGNAL_MAX_EXPIRY_DAYS),
  SIGNAL_LOOKUPS_PER_MINUTE: boundedInt(60, 1, 1_000_000),
  SIGNAL_MAX_DISTINCT_SELECTORS_PER_DAY: boundedInt(5000, 1, 100_000_000),
  MATCH_SHARDS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const n = Number.parseInt(v ?? "1", 10);
      if (Number.isInteger(n) && n >= 1 && n <= 64) return n;
      ctx.addIssue({ code: "custom", message: "MATCH_SHARDS misconfigured" });
      return z.NEVER;
    }),
  RATE_LIMIT_WRITE: rateRules("write"),
  RATE_LIMIT_READ: rateRules("read"),
  RATE_LIMIT_MATCH: rateRules("match"),
  RATE_LIMIT_SIGNAL_LOOKUP: rateRules("signal-lookup"),
  PEERS: z
    .string()
    .optional()
    .transform((v, ctx): PeerConfig[] => {
      const raw = v?.trim();
      if (!raw) return [];
      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch {
        ctx.addIssue({ code: "custom", message: "PEERS is not valid JSON" });
        return z.NEVER;
      }
      const result = PeersConfig.safeParse(json);
      if (result.success) return result.data;
      const why = result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
      ctx.addIssue({ code: "custom", message: `PEERS is invalid: ${why}` });
      return z.NEVER;
    }),
  // Each consumed record costs about ten D1 queries (key lookups, the applier's reads, the log
  // append, the batch) and a Worker invocation may run 1,000 D1 queries on the paid plan, so a
  // hundred entries per pull (and per cron tick) stays well inside it.
  FEDERATION_PULL_LIMIT: leadingInt(100, (n) => n > 0),
  REVIEW_RETENTION_DAYS: boundedInt(90, 1, 3650),
  // A typo must never open private addresses to receivers: anything but "on" or a list of
  // host:port targets is "off".
  WEBHOOK_ALLOW_PRIVATE: z
    .string()
    .optional()
    .transform((v): "off" | "on" | string[] => {
      const raw = v?.trim().toLowerCase() ?? "off";
      if (raw === "on") return "on";
      const list = raw
        .split(",")
        .map((t) => t.trim())
        .filter(Boolean);
      return list.length > 0 && list.every((t) => /^[a-z0-9.[\]:-]+:\d{1,5}$/.test(t)) ? list : "off";
    }),
  WEBHOOK_RETRY_BASE_SECONDS: z
    .string()
    .trim()
    .min(1)
    .transform(Number)
    .pipe(z.number().min(0.05).max(3600))
    .catch(30),
  WEBHOOK_MAX_ATTEMPTS: boundedInt(8, 1, 20),
  // Anything above the cap (or malformed) is the cap: configuration can shorten retention only.
  EVIDENCE_RETENTION_DAYS: boundedInt(EVIDENCE_MAX_RETENTION_DAYS, 1, EVIDENCE_MAX_RETENTION_DAYS),
});

type VarName = keyof typeof VarsSchema.shape;
type Vars = z.output<typeof VarsSchema>;
const VAR_NAMES = Object.keys(VarsSchema.shape) as VarName[];

/** What `config` reads: the Worker's env, or any object with the same optional string vars. */
export type ConfigEnv = { readonly [K in VarName]?: string | undefined } & {
  readonly NODE_ID?: string | undefined;
};

/** The problem each malformed var answers with (the others never fail: they fall back). */
const FAILS_AS: Partial<Record<VarName, ProblemCode>> = {
  MATCH_SHARDS: "internal_error",
  RATE_LIMIT_WRITE: "internal_error",
  RATE_LIMIT_READ: "internal_error",
  RATE_LIMIT_MATCH: "internal_error",
  RATE_LIMIT_SIGNAL_LOOKUP: "internal_error",
  PEERS: "unavailable",
};

function build(env: ConfigEnv): Config {
  const values: Partial<Vars> = {};
  const errors = new Map<VarName, ApiError>();
  // Each var on its own, so one malformed var fails only the fields that depend on it.
  for (const name of VAR_NAMES) {
    const result = VarsSchema.shape[name].safeParse(env[name]);
    if (result.success) (values as Record<VarName, unknown>)[name] = result.data;
    else errors.set(name, new ApiError(FAILS_AS[name] ?? "internal_error", result.error.issues[0]?.message));
  }
  const peers = values.PEERS;
  if (peers) {
    const ids = peers.map((p) => p.nodeId);
    if (new Set(ids).size !== ids.length)
      errors.set("PEERS", new ApiError("unavailable", "PEERS names a node twice"));
    else if (env.NODE_ID !== undefined && ids.includes(env.NODE_ID))
      errors.set("PEERS", new ApiError("unavailable", "PEERS names this node itself"));
  }
  const get = <K extends VarName>(name: K): Vars[K] => {
    const error = errors.get(name);
    if (error) throw error;
    return values[name] as Vars[K];
  };

  const maxExpiryDays = get("SIGNAL_MAX_EXPIRY_DAYS");
  const rateLimits = {} as Record<LimitClass, Rule[]>;
  for (const cls of LIMIT_CLASSES) {
    Object.defineProperty(rateLimits, cls, { enumerable: true, get: () => get(LIMIT_VARS[cls]) });
  }
  return {
    baseline: {
      minStates: get("BASELINE_MIN_STATES"),
      fpRate: get("FP_FLAG_RATE"),
      fpMinReports: get("FP_FLAG_MIN_REPORTS"),
    },
    registry: { secondSignature: get("REGISTRY_SECOND_SIGNATURE") },
    signals: {
      maxExpiryDays,
      defaultExpiryDays: Math.min(get("SIGNAL_DEFAULT_EXPIRY_DAYS"), maxExpiryDays),
      lookupsPerMinute: get("SIGNAL_LOOKUPS_PER_MINUTE"),
      maxDistinctSelectorsPerDay: get("SIGNAL_MAX_DISTINCT_SELECTORS_PER_DAY"),
    },
    match: {
      get shards() {
        return get("MATCH_SHARDS");
      },
    },
    rateLimits,
    federation: {
      get peers() {
        return get("PEERS");
      },
      pullLimit: get("FEDERATION_PULL_LIMIT"),
    },
    review: { retentionDays: get("REVIEW_RETENTION_DAYS") },
    webhooks: {
      allowPrivate: get("WEBHOOK_ALLOW_PRIVATE"),
      retryBaseMs: Math.round(get("WEBHOOK_RETRY_BASE_SECONDS") * 1000),
      maxAttempts: get("WEBHOOK_MAX_ATTEMPTS"),
    },
    evidence: { retentionDays: get("EVIDENCE_RETENTION_DAYS") },
  };
}

/** Parsed once per env object; parsed again if a var on it changed (tests set vars in place). */
const memo = new WeakMap<object, { raw: (string | undefined)[]; config: Config }>();

const rawOf = (env: ConfigEnv) => [...VAR_NAMES.map((name) => env[name]), env.NODE_ID];

/** The typed configuration of this env. Fields of a malformed strict var throw when read. */
export function config(env: ConfigEnv): Config {
  const raw = rawOf(env);
  const hit = memo.get(env);
  if (hit?.raw.every((v, i) => v === raw[i])) return hit.config;
  const built = build(env);
  memo.set(env, { raw, config: built });
  return built;
}
