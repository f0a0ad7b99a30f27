// /v1/log: the node's transparency log (docs/federation.md). Checkpoints and proofs are public —
// anyone can hold the node to what it signed; the entries (record bodies) are for participants
// and federated peer nodes, and only for the record kinds each may read.

import { fromHex, toHex } from "@eusn/merkle";
import {
  LogCheckpoint,
  LogConsistency,
  LogConsistencyQuery,
  LogEntriesPage,
  LogEntriesQuery,
  type LogEntry,
  LogInclusion,
  LogInclusionQuery,
} from "@eusn/protocol";
import { createRoute } from "@hono/zod-openapi";
import { verifyAccess } from "../auth/verify.ts";
import { isPeerToken, verifyPeerAccess } from "../federation/peer-auth.ts";
import { bearerSecurity, problems, type RouteContext, router } from "../lib/hono.ts";
import { ApiError } from "../lib/problem.ts";
import { enforceRateLimit } from "../limits/rate-limiter.ts";
import type { Reader } from "../rules/record-access.ts";
import {
  consistencyProof,
  currentCheckpoint,
  findLeaf,
  inclusionProof,
  leavesFrom,
  logSize,
  storedCheckpoint,
} from "../store/log.ts";
import { readRefusals } from "../store/record-access.ts";

const app = router();

export const getCheckpointRoute = createRoute({
  method: "get",
  path: "/v1/log/checkpoint",
  tags: ["log"],
  summary: "The latest checkpoint (signed tree head) of the node's log (public)",
  description:
    "Signed with the node key of /.well-known/jwks.json (typ eusn-checkpoint+json). Every checkpoint the node signs is consistent with every earlier one; GET /v1/log/consistency proves it.",
  responses: {
    200: { description: "The checkpoint", content: { "application/json": { schema: LogCheckpoint } } },
    ...problems(503),
  },
});
export async function getCheckpoint(c: RouteContext<typeof getCheckpointRoute>) {
  const cp = await currentCheckpoint(c.env);
  c.header("cache-control", "no-cache");
  return c.json({ checkpoint: cp.jws, ...cp.checkpoint }, 200);
}
app.openapi(getCheckpointRoute, getCheckpoint);

export const getInclusionProofRoute = createRoute({
  method: "get",
  path: "/v1/log/inclusion",
  tags: ["log"],
  summary: "Inclusion proof of one leaf, by log index or by leaf hash (public)",
  description:
    "Against the latest checkpoint, or against the checkpoint the node signed for `treeSize`. The answer is a receipt: `verifyReceipt(answer, nodeJwk, jws)` (@eusn/client) checks it offline.",
  request: { query: LogInclusionQuery },
  responses: {
    200: {
      description: "The proof and checkpoint",
      content: { "application/json": { schema: LogInclusion } },
    },
    ...problems(400, 404),
  },
});
export async function getInclusionProof(c: RouteContext<typeof getInclusionProofRoute>) {
  const q = c.req.valid("query");
  if ((q.index === undefined) === (q.leafHash === undefined))
    throw new ApiError("bad_request", "give exactly one of index and leafHash");
  const leaf = await findLeaf(
    c.env.DB,
    q.index !== undefined ? { index: q.index } : { leafHash: fromHex(q.leafHash!)! },
  );
  if (!leaf) throw new ApiError("not_found", "no such leaf in this node's log");
  const cp =
    q.treeSize === undefined ? await currentCheckpoint(c.env) : await storedCheckpoint(c.env, q.treeSize);
  if (!cp) throw new ApiError("not_found", `the node signed no checkpoint for tree size ${q.treeSize}`);
  const treeSize = cp.checkpoint.treeSize;
  if (leaf.idx >= treeSize)
    throw new ApiError("not_found", `leaf ${leaf.idx} is not in the tree of size ${treeSize}`);
  return c.json(
    {
      logIndex: leaf.idx,
      leafHash: toHex(leaf.leafHash),
      treeSize,
      inclusionProof: await inclusionProof(c.env.DB, leaf.idx, treeSize),
      checkpoint: cp.jws,
    },
    200,
  );
}
app.openapi(getInclusionProofRoute, getInclusionProof);

export const getConsistencyProofRoute = createRoute({
  method: "get",
  path: "/v1/log/consistency",
  tags: ["log"],
  summary: "Consistency proof between two tree sizes (public)",
  description:
    "RFC 6962 PROOF(first, D[second]): the tree of `first` leaves is a prefix of the tree of `second` leaves. `second` defaults to the latest checkpoint's size.",
  request: { query: LogConsistencyQuery },
  responses: {
    200: { description: "The proof", content: { "application/json": { schema: LogConsistency } } },
    ...problems(400),
  },
});
export async function getConsistencyProof(c: RouteContext<typeof getConsistencyProofRoute>) {
  const q = c.req.valid("query");
  const second = q.second ?? (await currentCheckpoint(c.env)).checkpoint.treeSize;
  const size = await logSize(c.env.DB);
  if (second > size)
    throw new ApiError("bad_request", `the log has ${size} leaves; second ${second} is larger`);
  if (q.first > second) throw new ApiError("bad_request", `first ${q.first} is larger than second ${second}`);
  return c.json(
    { firstSize: q.first, secondSize: second, proof: await consistencyProof(c.env.DB, q.first, second) },
    200,
  );
}
app.openapi(getConsistencyProofRoute, getConsistencyProof);

export const listLogEntriesRoute = createRoute({
  method: "get",
  path: "/v1/log/entries",
  tags: ["log"],
  summary: "Log entries from an index: the exact JWS of each record (participants, peer nodes)",
  description:
    "Bearer token of a participant (typ eusn-access+jwt) or of a configured peer node (typ eusn-peer+jwt, signed with its node key). A body is served under the same read policy per record kind as GET /v1/records/{id} (peers: every replicated kind); a body the caller may not read is withheld (index, kind and leaf hash only, and for a node-local kind the jwsSha256 its leaf commits to), which still lets it check the entries against a checkpoint.",
  security: bearerSecurity,
  request: { query: LogEntriesQuery },
  responses: {
    200: { description: "A page of entries", content: { "application/json": { schema: LogEntriesPage } } },
    ...problems(400, 401, 403),
  },
});
export async function listLogEntries(c: RouteContext<typeof listLogEntriesRoute>) {
  let reader: Reader;
  if (isPeerToken(c.req.header("authorization"))) {
    const { nodeId } = await verifyPeerAccess(c.req.raw, c.env);
    // A peer's pulls draw on a read quota of their own, as a participant's reads do.
    await enforceRateLimit(c.env, `peer:${nodeId}`, "read");
    reader = { peer: nodeId };
  } else {
    const caller = await verifyAccess(c.req.raw, c.env, c.var.db, ["coordinator", "authority", "platform"]);
    reader = { participantId: caller.participant.id, role: caller.participant.role };
  }
  const { start, limit } = c.req.valid("query");
  const treeSize = await logSize(c.env.DB);
  const rows = await leavesFrom(c.env.DB, start, limit);
  // The same read policy as GET /v1/records/{id} (rules/record-access.ts), entry by entry.
  const refusals = await readRefusals(
    c.var.db,
    reader,
    rows.map((r) => ({ id: r.recordId, kind: r.kind, issuer: r.issuer })),
  );
  const entries: LogEntry[] = rows.map((r) => {
    const reason = refusals.get(r.recordId);
    return {
      index: r.idx,
      kind: r.kind,
      leafHash: toHex(r.leafHash),
      ...(reason === undefined ? { jws: r.jws! } : { withheld: reason }),
      // A withheld node-local leaf proves what it is: its leaf commits to its kind and this digest.
      ...(reason !== undefined && r.withheldDigest ? { jwsSha256: toHex(r.withheldDigest) } : {}),
    };
  });
  const last = entries[entries.length - 1];
  return c.json({ entries, treeSize, next: last && last.index + 1 < treeSize ? last.index + 1 : null }, 200);
}
app.openapi(listLogEntriesRoute, listLogEntries);

export default app;
