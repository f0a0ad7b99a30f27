// The transparency log through the real Worker and D1: every accepted write is a leaf (its exact
// JWS bytes) in the same batch, receipts and proofs verify offline against signed checkpoints,
// racing writes get dense distinct indices, the log tables refuse changes, and entries are
// served only to participants, per role.

import { env } from "cloudflare:workers";
import { generateEncKeyPair, signWrite, verifyWriteReceipt } from "@eusn/client";
import {
  type Checkpoint,
  detectFork,
  fromHex,
  hashLeaf,
  MemoryNodeStore,
  toHex,
  verifyCheckpointJws,
  verifyReceipt,
  withheldLeafHash,
} from "@eusn/merkle";
import {
  isNodeLocalKind,
  type LogCheckpoint,
  type LogConsistency,
  type LogEntriesPage,
  type LogInclusion,
  type PublicJwk,
  RECORD_SCHEMAS,
  type WriteReceipt,
} from "@eusn/protocol";
import type { JWK } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { isReplicatedKind } from "../../workers/api/apply/index.ts";
import { pdqItem, randomPdq, rng } from "../helpers/hashes.ts";
import { type Admitted, admit, BASE, coordinator, expectProblem, nodeFetch } from "../helpers/node.ts";
import { signalPlatform } from "../helpers/signals.ts";

const utf8 = new TextEncoder();
let nodeJwk: JWK;
let nl: Admitted;
let de: Admitted;
let platform: Admitted;
const r = rng(66);

async function json<T>(path: string, init?: RequestInit): Promise<T> {
  const res = await nodeFetch(`${BASE}${path}`, init);
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function checkpoint(): Promise<LogCheckpoint> {
  return json<LogCheckpoint>("/v1/log/checkpoint");
}

/** Every entry of the log as the coordinator reads it. */
async function allEntries(): Promise<LogEntriesPage["entries"]> {
  const out: LogEntriesPage["entries"] = [];
  let start = 0;
  for (;;) {
    const res = await coordinator().get<LogEntriesPage>(`/v1/log/entries?start=${start}&limit=500`);
    if (!res.ok) throw new Error(JSON.stringify(res.problem));
    out.push(...res.data.entries);
    if (res.data.next === null) return out;
    start = res.data.next;
  }
}

beforeAll(async () => {
  nodeJwk = ((await json<{ keys: PublicJwk[] }>("/.well-known/jwks.json")).keys[0] as JWK) ?? {};
  nl = await admit("authority", "NL");
  de = await admit("authority", "DE");
  platform = await admit("platform");
});

describe("log leaves", () => {
  it("gives every write a receipt with its log index and the leaf hash of its exact JWS bytes", async () => {
    const c = coordinator();
    const jws = await signWrite(
      { participantId: c.participantId, privateJwk: c.privateJwk },
      env.NODE_ID,
      "participant.admit",
      {
        role: "platform",
        displayName: "Leaf test",
        jwks: { keys: [(await admit("platform")).key.publicJwk] },
      },
    );
    // The key is taken by the platform just admitted: this admission is refused, and logs nothing.
    const before = (await checkpoint()).treeSize;
    const refused = await c.postJws("/v1/participants", jws);
    expect(refused.status).toBe(409);
    expect((await checkpoint()).treeSize).toBe(before);

    const res = await nl.client.write<{ receipt: WriteReceipt }>("/v1/submissions", "submission.create", {
      items: [pdqItem(randomPdq(r))],
    });
    expect(res.status).toBe(201);
    if (!res.ok) return;
    const receipt = res.data.receipt;
    expect(receipt.logIndex).toBe(before);
    const stored = await nl.client.get<string>(`/v1/records/${receipt.recordId}`);
    if (!stored.ok) throw new Error("record not served");
    expect(receipt.leafHash).toBe(toHex(await hashLeaf(utf8.encode(stored.data))));
    const entries = await allEntries();
    expect(entries[receipt.logIndex]).toMatchObject({ index: receipt.logIndex, jws: stored.data });
  });

  it("is dense and in commit order: leaf i of the log is the i-th accepted record", async () => {
    const entries = await allEntries();
    expect(entries.map((e) => e.index)).toEqual(entries.map((_, i) => i));
    const rows = await env.DB.prepare(
      "SELECT l.idx, r.jws, r.received_at FROM log_leaves l JOIN records r ON r.id = l.record_id ORDER BY l.idx",
    ).all<{ idx: number; jws: string; received_at: string }>();
    expect(rows.results.length).toBe(entries.length);
    for (const [i, row] of rows.results.entries()) {
      expect(entries[i]!.jws).toBe(row.jws);
      expect(entries[i]!.leafHash).toBe(toHex(await hashLeaf(utf8.encode(row.jws))));
    }
    // Every record is in the log exactly once.
    const counts = await env.DB.prepare(
      "SELECT (SELECT count(*) FROM records) AS records, (SELECT count(*) FROM log_leaves) AS leaves",
    ).first<{ records: number; leaves: number }>();
    expect(counts?.leaves).toBe(counts?.records);
  });

  it("gives racing writes distinct, dense indices (the losing batch is retried) and one consistent tree", async () => {
    const before = (await checkpoint()).treeSize;
    const results = await Promise.all(
      // Admission requests (one record each: left waiting for their second signature).
      Array.from({ length: 8 }, (_, i) => admit("platform", undefined, { name: `Race ${i}`, pending: true })),
    );
    const indices = results.map((a) => a.receipt.logIndex).sort((a, b) => a - b);
    expect(indices).toEqual(Array.from({ length: 8 }, (_, i) => before + i));
    const entries = await allEntries();
    const store = await MemoryNodeStore.fromLeafHashes(entries.map((e) => fromHex(e.leafHash)!));
    const cp = await checkpoint();
    expect(cp.treeSize).toBe(entries.length);
    const root = await store.root();
    expect(root.ok && toHex(root.value)).toBe(cp.rootHash);
  });
});

describe("checkpoints and proofs", () => {
  it("signs the checkpoint with the node key of /.well-known/jwks.json, once per tree size", async () => {
    const a = await checkpoint();
    const v = await verifyCheckpointJws(a.checkpoint, nodeJwk, { origin: env.NODE_ID });
    expect(v.ok).toBe(true);
    if (!v.ok) return;
    expect(v.checkpoint).toEqual({
      origin: a.origin,
      treeSize: a.treeSize,
      rootHash: a.rootHash,
      timestamp: a.timestamp,
    });
    // Same size, same signed checkpoint (stored, not re-signed).
    expect((await checkpoint()).checkpoint).toBe(a.checkpoint);
    await admit("platform", undefined, { pending: true });
    const b = await checkpoint();
    expect(b.treeSize).toBe(a.treeSize + 1);
    const rows = await env.DB.prepare("SELECT tree_size FROM log_checkpoints WHERE tree_size IN (?, ?)")
      .bind(a.treeSize, b.treeSize)
      .all();
    expect(rows.results).toHaveLength(2);
  });

  it("proves consistency between any two checkpoints it signed", async () => {
    const older = await checkpoint();
    await admit("platform");
    await admit("platform");
    const newer = await checkpoint();
    const p = await json<LogConsistency>(
      `/v1/log/consistency?first=${older.treeSize}&second=${newer.treeSize}`,
    );
    const cp = (x: LogCheckpoint): Checkpoint => ({
      origin: x.origin,
      treeSize: x.treeSize,
      rootHash: x.rootHash,
      timestamp: x.timestamp,
    });
    const fork = await detectFork(
      cp(older),
      cp(newer),
      p.proof.map((h) => fromHex(h)!),
    );
    expect(fork.status).toBe("consistent");
    // The same proof does not tie the older checkpoint to a forged newer root.
    const forged = { ...cp(newer), rootHash: toHex(await hashLeaf(utf8.encode("another history"))) };
    expect(
      (
        await detectFork(
          cp(older),
          forged,
          p.proof.map((h) => fromHex(h)!),
        )
      ).status,
    ).toBe("fork");
    // Default second size: the latest checkpoint.
    const latest = await json<LogConsistency>(`/v1/log/consistency?first=1`);
    expect(latest.secondSize).toBe(newer.treeSize);
  });

  it("answers ?proof=1 with an inclusion proof and checkpoint that verify offline against the exact JWS", async () => {
    const c = coordinator();
    const jws = await signWrite(
      { participantId: c.participantId, privateJwk: c.privateJwk },
      env.NODE_ID,
      "participant.admit",
      {
        role: "authority",
        memberState: "FR",
        displayName: "Receipt test",
        jwks: { keys: [(await import("@eusn/client").then((m) => m.generateParticipantKey())).publicJwk] },
      },
    );
    const res = await nodeFetch(`${BASE}/v1/participants?proof=1`, {
      method: "POST",
      headers: { "content-type": "application/jose" },
      body: jws,
    });
    expect(res.status).toBe(201);
    const receipt = (await res.json()) as WriteReceipt & LogInclusion;
    expect(receipt.treeSize).toBeGreaterThan(receipt.logIndex);
    expect(receipt.inclusionProof).toBeInstanceOf(Array);
    const ok = await verifyReceipt(receipt, nodeJwk, jws, { origin: env.NODE_ID });
    expect(ok.ok).toBe(true);
    // One altered byte in the record, and the receipt no longer fits it.
    const tampered = `${jws.slice(0, 30)}${jws[30] === "A" ? "B" : "A"}${jws.slice(31)}`;
    expect((await verifyReceipt(receipt, nodeJwk, tampered)).ok).toBe(false);
    // Without ?proof the receipt has no proof members.
    const plain = await admit("platform");
    expect(plain.receipt).not.toHaveProperty("inclusionProof");
    expect(plain.receipt.leafHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("serves inclusion proofs by index and by leaf hash, against the latest or a signed size", async () => {
    const a = await admit("platform");
    const byIndex = await json<LogInclusion>(`/v1/log/inclusion?index=${a.receipt.logIndex}`);
    const byHash = await json<LogInclusion>(`/v1/log/inclusion?leafHash=${a.receipt.leafHash}`);
    expect(byHash).toEqual(byIndex);
    expect(byIndex.leafHash).toBe(a.receipt.leafHash);
    const jws = await coordinator().get<string>(`/v1/records/${a.receipt.recordId}`);
    if (!jws.ok) throw new Error("no record");
    expect((await verifyReceipt(byIndex, nodeJwk, jws.data)).ok).toBe(true);
    // Against an earlier signed size that contains the leaf.
    const at = await json<LogInclusion>(`/v1/log/inclusion?index=0&treeSize=${byIndex.treeSize}`);
    expect(at.treeSize).toBe(byIndex.treeSize);
    await expectProblem(await nodeFetch(`${BASE}/v1/log/inclusion?index=999999`), 404, "not_found");
    await expectProblem(await nodeFetch(`${BASE}/v1/log/inclusion?index=0&treeSize=3`), 404, "not_found");
    await expectProblem(
      await nodeFetch(`${BASE}/v1/log/inclusion?index=0&leafHash=${a.receipt.leafHash}`),
      400,
      "bad_request",
    );
    await expectProblem(
      await nodeFetch(`${BASE}/v1/log/consistency?first=5&second=999999`),
      400,
      "bad_request",
    );
  });
});

describe("append-only in the database", () => {
  for (const sql of [
    "UPDATE log_leaves SET kind = 'x' WHERE idx = 0",
    "DELETE FROM log_leaves WHERE idx = 0",
    "UPDATE log_nodes SET idx = idx WHERE level = 1",
    "DELETE FROM log_nodes",
    "UPDATE log_checkpoints SET jws = 'x'",
    "DELETE FROM log_checkpoints",
  ]) {
    it(`refuses: ${sql}`, async () => {
      await expect(env.DB.prepare(sql).run()).rejects.toThrow(/append-only/);
    });
  }
});

describe("entries", () => {
  it("are for participants only", async () => {
    await expectProblem(await nodeFetch(`${BASE}/v1/log/entries`), 401, "unauthenticated");
  });

  it("show authorities every replicated kind, and platforms only the registry and their own records", async () => {
    const sub = await nl.client.write<{ receipt: WriteReceipt }>("/v1/submissions", "submission.create", {
      items: [pdqItem(randomPdq(r))],
    });
    if (!sub.ok) throw new Error("submit failed");
    const idx = sub.data.receipt.logIndex;
    const asDe = await de.client.get<LogEntriesPage>(`/v1/log/entries?start=${idx}&limit=1`);
    expect(asDe.ok && asDe.data.entries[0]).toMatchObject({ index: idx, kind: "submission.create" });
    expect(asDe.ok && asDe.data.entries[0]?.jws).toBeTruthy();
    const asPlatform = await platform.client.get<LogEntriesPage>(`/v1/log/entries?start=0&limit=500`);
    if (!asPlatform.ok) throw new Error(JSON.stringify(asPlatform.problem));
    const hidden = asPlatform.data.entries.find((e) => e.index === idx)!;
    expect(hidden).toEqual({
      index: idx,
      kind: "submission.create",
      leafHash: sub.data.receipt.leafHash,
      withheld: "not readable by a platform",
    });
    const own = asPlatform.data.entries.find((e) => e.index === platform.receipt.logIndex)!;
    expect(own.jws).toBeTruthy();
  });
});

describe("withheld leaves", () => {
  it("the kinds the log withholds are exactly the kinds no peer receives", () => {
    for (const kind of Object.keys(RECORD_SCHEMAS))
      expect(isNodeLocalKind(kind), kind).toBe(!isReplicatedKind(kind));
  });

  it("log a node-local record by a commitment to its kind and digest, which its receipt and entry prove", async () => {
    const p = await signalPlatform("Platform with a withheld record");
    const enc = await generateEncKeyPair();
    const jws = await signWrite(
      { participantId: p.id, privateJwk: p.key.privateJwk as JWK },
      env.NODE_ID,
      "signal.enckey.set",
      { participantId: p.id, jwk: enc.publicJwk },
    );
    const res = await nodeFetch(`${BASE}/v1/signals/enc-keys?proof=1`, {
      method: "POST",
      headers: { "content-type": "application/jose" },
      body: jws,
    });
    expect(res.status).toBe(201);
    const receipt = (await res.json()) as WriteReceipt & {
      treeSize: number;
      inclusionProof: string[];
      checkpoint: string;
    };
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", utf8.encode(jws)));
    expect(receipt.leafHash).toBe(toHex(await withheldLeafHash("signal.enckey.set", digest)));
    expect(receipt.leafHash).not.toBe(toHex(await hashLeaf(utf8.encode(jws))));
    expect((await verifyWriteReceipt(receipt, nodeJwk, jws, { origin: env.NODE_ID })).ok).toBe(true);
    // Served to whom its read policy allows (the coordinator), its leaf being the withheld form…
    const entry = (await allEntries()).find((e) => e.index === receipt.logIndex)!;
    expect(entry).toEqual({
      index: receipt.logIndex,
      kind: "signal.enckey.set",
      leafHash: receipt.leafHash,
      jws,
    });
    // …and withheld from anyone else, with the digest its leaf commits to.
    const asOther = await platform.client.get<LogEntriesPage>(
      `/v1/log/entries?start=${receipt.logIndex}&limit=1`,
    );
    if (!asOther.ok) throw new Error(JSON.stringify(asOther.problem));
    expect(asOther.data.entries[0]).toEqual({
      index: receipt.logIndex,
      kind: "signal.enckey.set",
      leafHash: receipt.leafHash,
      withheld: "not readable by a platform",
      jwsSha256: toHex(digest),
    });
  });
});
