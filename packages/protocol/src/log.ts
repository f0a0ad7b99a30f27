// Wire schemas of the transparency log and federation (docs/federation.md): log
// receipts, checkpoints, inclusion and consistency proofs, log entries, peer configuration and
// pull reports. Hashes are 64 lowercase hex digits everywhere, as in the signed checkpoints.
import { z } from "zod";
import { Jwks, ParticipantId, PublicJwk } from "./schemas.ts";

const Hex32 = z.string().regex(/^[0-9a-f]{64}$/, "64 lowercase hex digits");
const CompactJws = z.string().regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);

/** JOSE `typ` of the bearer token a node signs with its node key to pull a peer's log entries. */
export const PEER_ACCESS_TYP = "eusn-peer+jwt";

/** The most entries one page of `/v1/log/entries` returns. */
export const MAX_LOG_PAGE = 500;

/**
 * A log receipt with its proof (what `?proof=1` adds to a write receipt, and what
 * `/v1/log/inclusion` answers). Field for field the `Receipt` of `@eusn/merkle`, so
 * `verifyReceipt(receipt, nodeJwk, jws)` checks it offline.
 */
export const LogInclusion = z
  .object({
    logIndex: z.number().int().nonnegative().describe("Position of the record's leaf in the node's log."),
    leafHash: Hex32.describe(
      'RFC 6962 leaf hash of the record: SHA-256(0x00 ‖ JWS), or for a node-local kind SHA-256(0x00 ‖ "eusn-withheld/v1|" ‖ kind ‖ SHA-256(JWS)).',
    ),
    treeSize: z.number().int().positive().describe("Size of the tree the proof and checkpoint are for."),
    inclusionProof: z.array(Hex32).describe("Audit path of logIndex in that tree, leaf side first."),
    checkpoint: CompactJws.describe(
      "The node-signed checkpoint (typ eusn-checkpoint+json) for treeSize; verify with /.well-known/jwks.json.",
    ),
  })
  .meta({ id: "LogInclusion" });
export type LogInclusion = z.infer<typeof LogInclusion>;

export const LogCheckpoint = z
  .object({
    checkpoint: CompactJws.describe(
      "Compact JWS signed by the node key; its payload is the four fields below.",
    ),
    origin: z.string().describe("The node id of the log."),
    treeSize: z.number().int().nonnegative(),
    rootHash: Hex32,
    timestamp: z.number().int().describe("Milliseconds since the Unix epoch."),
  })
  .meta({ id: "LogCheckpoint" });
export type LogCheckpoint = z.infer<typeof LogCheckpoint>;

export const LogConsistency = z
  .object({
    firstSize: z.number().int().nonnegative(),
    secondSize: z.number().int().nonnegative(),
    proof: z
      .array(Hex32)
      .describe("RFC 6962 PROOF(firstSize, D[secondSize]); empty when firstSize is 0 or equal."),
  })
  .meta({ id: "LogConsistency" });
export type LogConsistency = z.infer<typeof LogConsistency>;

export const LogEntry = z
  .object({
    index: z.number().int().nonnegative(),
    kind: z.string().describe("The record kind."),
    leafHash: Hex32,
    jws: CompactJws.optional().describe(
      "The leaf: the record's compact JWS exactly as the node accepted it. Absent when withheld.",
    ),
    withheld: z
      .string()
      .optional()
      .describe("Why the body is not shown (node-local kind, or not readable by the caller's role)."),
    jwsSha256: Hex32.optional().describe(
      'With a withheld node-local record: SHA-256 of its JWS. Then leafHash = SHA-256(0x00 ‖ "eusn-withheld/v1|" ‖ kind ‖ this digest): the log itself commits to the kind, so a relay cannot pass any other record off as node-local.',
    ),
  })
  .meta({ id: "LogEntry" });
export type LogEntry = z.infer<typeof LogEntry>;

export const LogEntriesPage = z
  .object({
    entries: z.array(LogEntry),
    treeSize: z.number().int().nonnegative().describe("The log size when the page was read."),
    next: z.number().int().nullable().describe("Index to continue from, or null at the end of the log."),
  })
  .meta({ id: "LogEntriesPage" });
export type LogEntriesPage = z.infer<typeof LogEntriesPage>;

/** A coordinator the peer's configuration vouches for (its bootstrap coordinator). */
export const PeerCoordinator = z
  .object({
    id: ParticipantId,
    jwks: Jwks,
    displayName: z.string().min(2).max(120).optional(),
  })
  .strict();

/** One entry of the PEERS configuration (a JSON array in wrangler.toml vars or a secret). */
export const PeerConfig = z
  .object({
    nodeId: z.string().regex(/^[\x21-\x7e]{1,256}$/),
    url: z.url({ protocol: /^https?$/ }),
    jwk: PublicJwk.describe("The peer's node public key (from its /.well-known/jwks.json)."),
    coordinators: z
      .array(PeerCoordinator)
      .max(10)
      .default([])
      .describe(
        "The peer's bootstrap coordinator(s), trusted here as coordinators: the roots of its admissions.",
      ),
  })
  .strict();
export type PeerConfig = z.infer<typeof PeerConfig>;
export const PeersConfig = z.array(PeerConfig).max(50);

export const PullReport = z
  .object({
    peer: z.string(),
    status: z
      .enum(["ok", "refused", "forked", "error", "in_progress"])
      .describe(
        "`in_progress`: another pull of this peer is running (one pull per peer at a time); nothing was done.",
      ),
    reason: z.string().optional(),
    checkpoint: z.object({ treeSize: z.number().int(), rootHash: Hex32 }).nullable(),
    from: z.number().int().describe("The cursor (peer log index) the pull started at."),
    to: z.number().int().describe("The cursor after the pull."),
    applied: z.number().int(),
    skipped: z.record(z.string(), z.number().int()).describe("Skipped entries by reason code."),
    pending: z
      .number()
      .int()
      .describe("Entries of this pull held until what they depend on arrives (federation_pending)."),
    released: z
      .number()
      .int()
      .describe("Held entries (of any peer) applied by this pull because what they waited for arrived."),
    more: z.boolean().describe("True when the peer has entries this pull did not reach (limit)."),
  })
  .meta({ id: "PullReport" });
export type PullReport = z.infer<typeof PullReport>;

export const PeerView = z
  .object({
    nodeId: z.string(),
    url: z.string(),
    kid: z.string().nullable(),
    status: z.enum(["active", "forked", "never_pulled"]),
    nextIndex: z.number().int(),
    checkpoint: z
      .object({ treeSize: z.number().int(), rootHash: Hex32, timestamp: z.number().int() })
      .nullable(),
    lastPullAt: z.string().nullable(),
    lastResult: z.unknown().nullable(),
    applied: z.number().int(),
    skipped: z.number().int(),
    pending: z.number().int().describe("Entries of this peer held until what they depend on arrives."),
  })
  .meta({ id: "Peer" });
export type PeerView = z.infer<typeof PeerView>;

// ---- requests and answers of /v1/log and /v1/federation -----------------------------------------

/** A tree size or leaf index in a query string. */
const LogSize = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** GET /v1/log/inclusion: exactly one of `index` and `leafHash` (checked by the node). */
export const LogInclusionQuery = z.object({
  index: LogSize.optional(),
  leafHash: Hex32.optional().describe("SHA-256(0x00 ‖ JWS bytes) as hex."),
  treeSize: LogSize.optional().describe(
    "A tree size the node signed a checkpoint for (default: the latest).",
  ),
});

/** GET /v1/log/consistency. */
export const LogConsistencyQuery = z.object({ first: LogSize, second: LogSize.optional() });

/** GET /v1/log/entries. */
export const LogEntriesQuery = z.object({
  start: LogSize.default(0),
  limit: z.coerce.number().int().min(1).max(MAX_LOG_PAGE).default(100),
});

/** POST /v1/federation/pull. */
export const PullQuery = z.object({ peer: z.string().max(256).optional() });
export const PullReports = z.object({ reports: z.array(PullReport) });

/** GET /v1/federation/peers. */
export const PeerList = z.object({ peers: z.array(PeerView) });
