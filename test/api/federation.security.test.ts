// Federation refusals (docs/federation.md): a relay (or a peer) that alters, drops, reorders or
// substitutes entries, forges or forks checkpoints, or serves records the originating
// participant's key history does not support, gets nothing stored on the pulling node; the
// refusal is reported (audit entry, pull report) and the cursor stays where it was. Also: who may
// read a node's log entries as a peer.

import { env } from "cloudflare:workers";
import { generateParticipantKey, signAccessToken, signWrite } from "@eusn/client";
import { fromHex, hashLeaf, signCheckpoint, toHex, withheldLeafHash } from "@eusn/merkle";
import { type LogEntriesPage, PEER_ACCESS_TYP, type WriteReceipt } from "@eusn/protocol";
import { importJWK, type JWK, SignJWT } from "jose";
import { beforeAll, describe, expect, it, onTestFinished } from "vitest";
import type { VerifiedWrite } from "../../workers/api/auth/verify.ts";
import { db } from "../../workers/api/lib/db.ts";
import { getKey, getParticipant } from "../../workers/api/store/participants.ts";
import { commitWrite } from "../../workers/api/store/records.ts";
import { pdqItem, randomPdq, rng } from "../helpers/hashes.ts";
import { type Admitted, admit, BASE, coordinator, expectProblem, nodeFetch } from "../helpers/node.ts";
import { signalPlatform } from "../helpers/signals.ts";
import { A_URL, B_ID, rewriteJson, type TwoNodes, twoNodes } from "../helpers/two-nodes.ts";

const A_ID = env.NODE_ID;
const r = rng(4242);
const utf8 = new TextEncoder();
let n: TwoNodes;
let nl: Admitted;
let de: Admitted;

type Page = LogEntriesPage;

async function submit(by: Admitted): Promise<WriteReceipt> {
  const res = await by.client.write<{ receipt: WriteReceipt }>("/v1/submissions", "submission.create", {
    items: [pdqItem(randomPdq(r))],
  });
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
  return res.data.receipt;
}

/** What B holds about A: records, consumed entries, cursor. */
async function stateOfB() {
  const row = await n.envB.DB.prepare("SELECT next_index, status FROM federation_peers WHERE peer_id = ?")
    .bind(A_ID)
    .first<{ next_index: number; status: string }>();
  return {
    records: await n.countB("records"),
    leaves: await n.countB("log_leaves"),
    consumed: await n.countB("federation_entries"),
    cursor: row?.next_index ?? 0,
    status: row?.status ?? "none",
  };
}

async function lastAudit(kind: string): Promise<Record<string, unknown> | undefined> {
  const row = await n.envB.DB.prepare("SELECT detail FROM audit_log WHERE kind = ? ORDER BY seq DESC LIMIT 1")
    .bind(kind)
    .first<{ detail: string }>();
  return row ? (JSON.parse(row.detail) as Record<string, unknown>) : undefined;
}

/** Flips one character inside the payload of a compact JWS (the signature then no longer fits). */
function alter(jws: string): string {
  const [h, p, s] = jws.split(".") as [string, string, string];
  const i = Math.floor(p.length / 2);
  return `${h}.${p.slice(0, i)}${p[i] === "A" ? "B" : "A"}${p.slice(i + 1)}.${s}`;
}

/** Stores a record on A as a misbehaving node would: straight into its log, no checks. */
async function logOnA(jws: string, participantId: string, kid: string): Promise<void> {
  const d = db(env.DB);
  const participant = (await getParticipant(d, participantId))!;
  const key = (await getKey(d, participantId, kid))!;
  const claims = JSON.parse(
    new TextDecoder().decode(
      Uint8Array.from(atob(jws.split(".")[1]!.replaceAll("-", "+").replaceAll("_", "/")), (c) =>
        c.charCodeAt(0),
      ),
    ),
  );
  const w = {
    kind: claims.kind,
    jws,
    jwsSha256: toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", utf8.encode(jws)))),
    claims,
    record: claims.record,
    caller: { participant, key },
  } as VerifiedWrite<"submission.create">;
  await commitWrite(d, env, w, "forged", () => []);
}

/** A's coordinator admits a participant; answers its id. */
async function coordinatorWrite(record: unknown): Promise<string> {
  const res = await coordinator().write<WriteReceipt>("/v1/participants", "participant.admit", record);
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
  return res.data.subjectId;
}

beforeAll(async () => {
  n = await twoNodes();
  nl = await admit("authority", "NL");
  de = await admit("authority", "DE");
  await submit(nl);
  expect((await n.pull()).status).toBe("ok");
});

describe("entries altered in transit are refused, and nothing of them is stored", () => {
  const cases: { name: string; edit: (page: Page) => Page }[] = [
    {
      name: "one byte of a JWS changed (its served leaf hash left as it was)",
      edit: (p) => ({ ...p, entries: p.entries.map((e, i) => (i === 1 ? { ...e, jws: alter(e.jws!) } : e)) }),
    },
    {
      name: "one byte of a JWS changed, and its leaf hash recomputed to match",
      edit: (p) => p, // replaced in beforeAll below (needs async hashing)
    },
    {
      name: "two genuine entries swapped (each still verifies)",
      edit: (p) => {
        const e = [...p.entries];
        const [a, b] = [e[0]!, e[1]!];
        e[0] = { ...b, index: a.index };
        e[1] = { ...a, index: b.index };
        return { ...p, entries: e };
      },
    },
    {
      name: "an entry dropped",
      edit: (p) => ({ ...p, entries: p.entries.filter((_, i) => i !== 0) }),
    },
    {
      name: "a body withheld that the peer serves (leaf hash of something else)",
      edit: (p) => ({
        ...p,
        entries: p.entries.map((e, i) =>
          i === 0 ? { index: e.index, kind: e.kind, leafHash: "00".repeat(32), withheld: "relay" } : e,
        ),
      }),
    },
  ];

  let forged: string;
  beforeAll(async () => {
    // A record nl really signed for A — but never sent to A, so never in A's log.
    forged = await signWrite(
      { participantId: nl.id, privateJwk: nl.key.privateJwk as JWK },
      A_ID,
      "submission.create",
      { items: [pdqItem(randomPdq(r))] },
    );
    await submit(nl);
    await submit(de);
    await submit(nl);
  });

  for (const c of cases) {
    it(c.name, async () => {
      const before = await stateOfB();
      const leafOf = async (jws: string) => toHex(await hashLeaf(utf8.encode(jws)));
      const report = await n.pull({
        tamper: async (url, res) => {
          if (url.pathname !== "/v1/log/entries") return res;
          let page = (await res.json()) as Page;
          if (c.name.startsWith("one byte of a JWS changed, and")) {
            const e = page.entries[1]!;
            const jws = alter(e.jws!);
            page = {
              ...page,
              entries: page.entries.map((x, i) => (i === 1 ? { ...x, jws, leafHash: "" } : x)),
            };
            page.entries[1]!.leafHash = await leafOf(jws);
          } else page = c.edit(page);
          return new Response(JSON.stringify(page), { status: 200, headers: res.headers });
        },
      });
      expect(report.status, JSON.stringify(report)).toBe("refused");
      expect(report.applied).toBe(0);
      expect(await stateOfB()).toEqual(before);
      expect(await lastAudit("federation.refused")).toMatchObject({ peer: A_ID });
    });
  }

  it("a validly signed record that A never logged, substituted for an entry", async () => {
    const before = await stateOfB();
    const leafHash = toHex(await hashLeaf(utf8.encode(forged)));
    const report = await n.pull({
      tamper: rewriteJson("/v1/log/entries", (body) => {
        const page = body as Page;
        return {
          ...page,
          entries: page.entries.map((e, i) => (i === 0 ? { ...e, jws: forged, leafHash } : e)),
        };
      }),
    });
    // Signed by nl, addressed to A, with its own leaf hash served: only the checkpoint catches it.
    expect(report.status, JSON.stringify(report)).toBe("refused");
    expect(await stateOfB()).toEqual(before);
  });

  it("then an honest relay gets everything through", async () => {
    const report = await n.pull();
    expect(report).toMatchObject({ status: "ok", applied: 3, more: false });
  });
});

describe("a withheld entry must prove it is node-local", () => {
  /** A relay that serves every entry of `kind` as a withheld node-local record, leaf hash untouched. */
  const asNodeLocal = (kind: string) =>
    rewriteJson("/v1/log/entries", (body) => {
      const page = body as Page;
      return {
        ...page,
        entries: page.entries.map((e) =>
          e.kind === kind
            ? {
                index: e.index,
                kind: "signal.create",
                leafHash: e.leafHash,
                withheld: "node-local record kind",
              }
            : e,
        ),
      };
    });

  const refusedAndAudited = async (kind: string) => {
    const auditsBefore = await n.countB("audit_log", "kind = 'federation.refused'");
    const before = await stateOfB();
    const report = await n.pull({ tamper: asNodeLocal(kind) });
    expect(report.status, JSON.stringify(report)).toBe("refused");
    expect(report.skipped).toEqual({});
    expect(report.reason).toMatch(/withheld/);
    expect(await stateOfB()).toEqual(before);
    expect(await n.countB("audit_log", "kind = 'federation.refused'")).toBe(auditsBefore + 1);
  };

  it("a participant's revocation served as a withheld signal is refused, audited, and then arrives", async () => {
    expect((await n.pull()).status).toBe("ok");
    const victim = await admit("platform", undefined, { name: "Platform revoked on A" });
    expect((await n.pull()).status).toBe("ok");
    const res = await coordinator().write(`/v1/participants/${victim.id}/revoke`, "participant.revoke", {
      participantId: victim.id,
      reason: "key reported stolen",
    });
    expect(res.status).toBe(201);
    await refusedAndAudited("participant.revoke");
    const statusOnB = () =>
      n.envB.DB.prepare("SELECT status FROM participants WHERE id = ?")
        .bind(victim.id)
        .first<{ status: string }>();
    expect((await statusOnB())?.status).toBe("active");
    expect((await n.pull()).status).toBe("ok");
    expect((await statusOnB())?.status).toBe("revoked");
  });

  it("a withdrawal served as a withheld signal is refused, and then arrives", async () => {
    const receipt = await submit(nl);
    expect((await n.pull()).status).toBe("ok");
    const res = await nl.client.write(
      `/v1/submissions/${receipt.subjectId}/withdraw`,
      "submission.withdraw",
      {
        submissionId: receipt.subjectId,
        reason: "submitted in error",
      },
    );
    expect(res.status, JSON.stringify(res.ok ? res.data : res.problem)).toBe(201);
    await refusedAndAudited("submission.withdraw");
    expect((await n.pull()).status).toBe("ok");
    const row = await n.envB.DB.prepare("SELECT status FROM submissions WHERE id = ?")
      .bind(receipt.subjectId)
      .first<{ status: string }>();
    expect(row?.status).toBe("withdrawn");
  });

  it("a node-local record is withheld with a commitment that verifies; a relay changing it is refused", async () => {
    expect((await n.pull()).status).toBe("ok");
    await signalPlatform("Platform with an encryption key");
    // As an authority reads it: the kind's policy withholds it from authorities, as from peers.
    const page = (await (
      await n.fetchA(`${A_URL}/v1/log/entries?start=0&limit=500`, {
        headers: { authorization: `Bearer ${await nl.client.token()}` },
      })
    ).json()) as Page;
    const local = page.entries.find((e) => e.kind === "signal.enckey.set")!;
    expect(local.jws).toBeUndefined();
    expect(local.jwsSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(local.leafHash).toBe(toHex(await withheldLeafHash(local.kind, fromHex(local.jwsSha256!)!)));
    // The relay keeps the leaf hash but names another kind, or another digest: both are refused.
    for (const edit of [
      (e: Page["entries"][number]) => ({ ...e, kind: "signal.create" }),
      (e: Page["entries"][number]) => ({ ...e, jwsSha256: "00".repeat(32) }),
      (e: Page["entries"][number]) => ({ index: e.index, kind: e.kind, leafHash: e.leafHash, withheld: "x" }),
    ]) {
      const before = await stateOfB();
      const report = await n.pull({
        tamper: rewriteJson("/v1/log/entries", (body) => {
          const p = body as Page;
          return { ...p, entries: p.entries.map((e) => (e.kind === "signal.enckey.set" ? edit(e) : e)) };
        }),
      });
      expect(report.status, JSON.stringify(report)).toBe("refused");
      expect(await stateOfB()).toEqual(before);
    }
    const honest = await n.pull();
    expect(honest.status).toBe("ok");
    expect(honest.skipped).toMatchObject({ withheld: 1 });
  });
});

describe("checkpoints that are not the peer's are refused", () => {
  it("signed with another key", async () => {
    await submit(nl);
    const before = await stateOfB();
    const other = await generateParticipantKey();
    const forgedCp = await n.pull({
      tamper: async (url, res) => {
        if (url.pathname !== "/v1/log/checkpoint") return res;
        const cp = (await res.json()) as { treeSize: number; rootHash: string; timestamp: number };
        const jws = await signCheckpoint(
          { origin: A_ID, treeSize: cp.treeSize, rootHash: cp.rootHash, timestamp: cp.timestamp },
          other.privateJwk as JWK,
          { alg: "EdDSA", kid: other.kid },
        );
        return Response.json({ ...cp, checkpoint: jws });
      },
    });
    expect(forgedCp.status).toBe("refused");
    expect(forgedCp.reason).toMatch(/checkpoint/);
    expect(await stateOfB()).toEqual(before);
  });

  it("for another origin, even with the peer's key", async () => {
    const nodeA = JSON.parse(env.NODE_PRIVATE_JWK) as JWK;
    const report = await n.pull({
      tamper: async (url, res) => {
        if (url.pathname !== "/v1/log/checkpoint") return res;
        const cp = (await res.json()) as { treeSize: number; rootHash: string; timestamp: number };
        const jws = await signCheckpoint(
          { origin: "eusn-elsewhere", treeSize: cp.treeSize, rootHash: cp.rootHash, timestamp: cp.timestamp },
          nodeA,
          { alg: "EdDSA", kid: n.peerA.jwk.kid ?? "" },
        );
        return Response.json({ ...cp, checkpoint: jws });
      },
    });
    expect(report.status).toBe("refused");
  });
});

describe("records the originating participant's key history does not support", () => {
  it("are skipped and audited when a rule fails here; the records of a signer not admitted here wait for its admission", async () => {
    await n.pull();
    // Platforms admitted with one signature on both nodes (REGISTRY_SECOND_SIGNATURE off), so
    // each admission is one record in the log this test counts.
    const vars = env as unknown as Record<string, string | undefined>;
    vars.REGISTRY_SECOND_SIGNATURE = "off";
    n.envB.REGISTRY_SECOND_SIGNATURE = "off";
    onTestFinished(() => {
      delete vars.REGISTRY_SECOND_SIGNATURE;
      delete n.envB.REGISTRY_SECOND_SIGNATURE;
    });
    // One key, two participants: a platform admitted on B, and (with the same key) on A.
    const key = await generateParticipantKey();
    const onB = await n.coordinatorB.write("/v1/participants", "participant.admit", {
      role: "platform",
      displayName: "Platform of node B",
      jwks: { keys: [key.publicJwk] },
    });
    expect(onB.status).toBe(201);
    const onA = await admit("platform", undefined, { name: "Platform of node A" });
    const aAdmission = await coordinatorWrite({
      role: "platform",
      displayName: "Same key on A",
      jwks: { keys: [key.publicJwk] },
    });
    const signed = await signWrite(
      { participantId: aAdmission, privateJwk: key.privateJwk as JWK },
      A_ID,
      "participant.key.add",
      {
        participantId: aAdmission,
        jwk: (await generateParticipantKey()).publicJwk,
      },
    );
    expect(
      (
        await nodeFetch(`${BASE}/v1/participants/${aAdmission}/keys`, {
          method: "POST",
          headers: { "content-type": "application/jose" },
          body: signed,
        })
      ).status,
    ).toBe(201);
    const before = await stateOfB();
    const report = await n.pull();
    expect(report.status, JSON.stringify(report)).toBe("ok");
    expect(report.skipped).toEqual({ conflict: 1 });
    expect(report.applied).toBe(1); // the other admission goes through
    // The key addition of the participant B refused is held, waiting for an admission B lacks.
    expect(report.pending).toBe(1);
    const after = await stateOfB();
    expect(after.records).toBe(before.records + 1);
    expect(after.cursor).toBe(before.cursor + 3);
    const skipped = await n.envB.DB.prepare(
      "SELECT detail FROM audit_log WHERE kind = 'federation.skipped' ORDER BY seq DESC LIMIT 1",
    ).all<{ detail: string }>();
    expect(skipped.results.map((x) => String(JSON.parse(x.detail).reason).split(":")[0])).toEqual([
      "conflict",
    ]);
    const held = await n.envB.DB.prepare("SELECT waiting_for FROM federation_pending").all<{
      waiting_for: string;
    }>();
    expect(held.results.map((x) => x.waiting_for)).toContain(`participant:${aAdmission}`);
    expect(onA.id).not.toBe(aAdmission);
  });

  it("are stored void, and change nothing, when signed with a key retired earlier in the origin's own log", async () => {
    await n.pull();
    // nl rotates: adds K2, retires its first key K1 — both on A, both replicated to B.
    const k2 = await generateParticipantKey();
    const added = await nl.client.write(`/v1/participants/${nl.id}/keys`, "participant.key.add", {
      participantId: nl.id,
      jwk: k2.publicJwk,
    });
    expect(added.status).toBe(201);
    const k1 = nl.key;
    const retireSigned = await signWrite(
      { participantId: nl.id, privateJwk: k2.privateJwk },
      A_ID,
      "participant.key.retire",
      {
        participantId: nl.id,
        kid: k1.kid,
      },
    );
    const retired = await nl.client.postJws(`/v1/participants/${nl.id}/keys/retire`, retireSigned);
    expect(retired.status).toBe(201);
    // A misbehaving A then logs a record signed with K1, backdated to before the retirement.
    const backdated = await signWrite(
      { participantId: nl.id, privateJwk: k1.privateJwk as JWK },
      A_ID,
      "submission.create",
      { items: [pdqItem(randomPdq(r))] },
      { iat: Math.floor(Date.now() / 1000) - 3600 },
    );
    await logOnA(backdated, nl.id, k1.kid);
    const before = await stateOfB();
    const report = await n.pull();
    expect(report.status, JSON.stringify(report)).toBe("ok");
    // Every node holds the same records: the backdated one is stored, and void everywhere.
    expect(report.applied).toBe(3);
    expect(report.skipped).toEqual({});
    const after = await stateOfB();
    expect(after.records).toBe(before.records + 3);
    expect(after.cursor).toBe(before.cursor + 3);
    const stored = await n.envB.DB.prepare(
      "SELECT a.detail, s.status FROM audit_log a JOIN records r ON r.id = a.record_id JOIN submissions s ON s.record_id = r.id WHERE r.jws = ?",
    )
      .bind(backdated)
      .first<{ detail: string; status: string }>();
    expect(stored?.status).toBe("voided");
    expect(String(JSON.parse(stored!.detail).void)).toMatch(/retirement or its signer's revocation/);
  });

  it("stop the pull when a logged record's signature does not verify with its issuer's key", async () => {
    // Signed by a stranger's key but naming de's key id: A (misbehaving) logs it anyway.
    const stranger = await generateParticipantKey();
    const bad = await signWrite(
      { participantId: de.id, privateJwk: stranger.privateJwk as JWK },
      A_ID,
      "submission.create",
      { items: [pdqItem(randomPdq(r))] },
      { header: { kid: de.key.kid } },
    );
    await logOnA(bad, de.id, de.key.kid);
    await submit(de);
    const before = await stateOfB();
    const report = await n.pull();
    expect(report.status, JSON.stringify(report)).toBe("refused");
    expect(report.reason).toMatch(/bad_signature/);
    expect(await stateOfB()).toEqual(before);
    // Refused again next time: the cursor does not move past it.
    expect((await n.pull()).status).toBe("refused");
    expect((await stateOfB()).cursor).toBe(before.cursor);
  });
});

describe("who may read log entries as a peer", () => {
  const entries = (token: string) =>
    n.fetchA(`${A_URL}/v1/log/entries?start=0&limit=1`, { headers: { authorization: `Bearer ${token}` } });
  const peerToken = async (claims: { iss?: string; aud?: string; life?: number }, key = n.nodeKeyB) =>
    new SignJWT({})
      .setProtectedHeader({ alg: "EdDSA", kid: key.kid, typ: PEER_ACCESS_TYP })
      .setIssuer(claims.iss ?? B_ID)
      .setAudience(claims.aud ?? A_ID)
      .setIssuedAt()
      .setExpirationTime(`${claims.life ?? 60}s`)
      .setJti(crypto.randomUUID())
      .sign(await importJWK(key.privateJwk, "EdDSA"));

  it("a configured peer, with its node key, addressed to this node", async () => {
    const res = await entries(await peerToken({}));
    expect(res.status).toBe(200);
    expect(((await res.json()) as Page).entries[0]?.jws).toBeTruthy();
  });

  it("a peer's reads draw on a read quota of their own (429 with Retry-After past it)", async () => {
    const saved = n.envA.RATE_LIMIT_READ;
    n.envA.RATE_LIMIT_READ = "2/min";
    try {
      for (let i = 0; i < 2; i++) expect((await entries(await peerToken({}))).status).toBe(200);
      const refused = await entries(await peerToken({}));
      await expectProblem(refused, 429, "rate_limited");
      expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
      // A refused peer token is not charged: a stranger's tokens do not spend B's quota.
      await expectProblem(
        await entries(await peerToken({}, await generateParticipantKey())),
        401,
        "invalid_token",
      );
    } finally {
      if (saved === undefined) delete n.envA.RATE_LIMIT_READ;
      else n.envA.RATE_LIMIT_READ = saved;
    }
  });

  it("not a node missing from PEERS, not another key, not another audience, not a long-lived token", async () => {
    const stranger = await generateParticipantKey();
    await expectProblem(
      await entries(await peerToken({ iss: "eusn-stranger" }, stranger)),
      401,
      "invalid_token",
    );
    await expectProblem(await entries(await peerToken({}, stranger)), 401, "invalid_token");
    await expectProblem(await entries(await peerToken({ aud: "eusn-other" })), 401, "invalid_token");
    await expectProblem(await entries(await peerToken({ life: 3600 })), 401, "invalid_token");
    // A participant token is a participant's, not a peer's: typ decides which check applies.
    const asPeerNamed = await signAccessToken(
      { participantId: nl.id, privateJwk: nl.key.privateJwk as JWK },
      A_ID,
      {
        header: { typ: PEER_ACCESS_TYP },
      },
    );
    await expectProblem(await entries(asPeerNamed), 401, "invalid_token");
  });
});

describe("forks", () => {
  it("a checkpoint for the same size with another root, signed by the peer, is a fork: reported, never followed", async () => {
    const nodeA = JSON.parse(env.NODE_PRIVATE_JWK) as JWK;
    const honest = await n.envB.DB.prepare(
      "SELECT checkpoint_size, checkpoint_jws FROM federation_peers WHERE peer_id = ?",
    )
      .bind(A_ID)
      .first<{ checkpoint_size: number; checkpoint_jws: string }>();
    const before = await stateOfB();
    const other = toHex(await hashLeaf(utf8.encode("a rewritten history")));
    const forkedJws = await signCheckpoint(
      { origin: A_ID, treeSize: honest!.checkpoint_size, rootHash: other, timestamp: Date.now() },
      nodeA,
      { alg: "EdDSA", kid: n.peerA.jwk.kid ?? "" },
    );
    const report = await n.pull({
      tamper: rewriteJson("/v1/log/checkpoint", (body) => ({
        ...(body as object),
        checkpoint: forkedJws,
        treeSize: honest!.checkpoint_size,
        rootHash: other,
      })),
    });
    expect(report.status).toBe("forked");
    const after = await stateOfB();
    expect(after).toEqual({ ...before, status: "forked" });
    const evidence = await lastAudit("federation.fork");
    expect(evidence).toMatchObject({ peer: A_ID });
    expect([evidence?.older, evidence?.newer].sort()).toEqual([honest!.checkpoint_jws, forkedJws].sort());
    // Not followed afterwards, even through an honest relay.
    const again = await n.pull();
    expect(again.status).toBe("forked");
    expect(await stateOfB()).toEqual(after);
  });

  it("a larger checkpoint whose history does not extend the last one seen is a fork too", async () => {
    // An operator who investigated resets the peer (the evidence stays in the audit log).
    await n.envB.DB.prepare("UPDATE federation_peers SET status = 'active' WHERE peer_id = ?")
      .bind(A_ID)
      .run();
    const nodeA = JSON.parse(env.NODE_PRIVATE_JWK) as JWK;
    const seen = (await n.envB.DB.prepare("SELECT checkpoint_size FROM federation_peers WHERE peer_id = ?")
      .bind(A_ID)
      .first<{ checkpoint_size: number }>())!.checkpoint_size;
    const bigger = await signCheckpoint(
      {
        origin: A_ID,
        treeSize: seen + 5,
        rootHash: toHex(await hashLeaf(utf8.encode("elsewhere"))),
        timestamp: Date.now(),
      },
      nodeA,
      { alg: "EdDSA", kid: n.peerA.jwk.kid ?? "" },
    );
    const report = await n.pull({
      tamper: rewriteJson("/v1/log/checkpoint", (body) => ({ ...(body as object), checkpoint: bigger })),
    });
    expect(report.status).toBe("forked");
    expect(report.reason).toMatch(/no consistency/);
  });
});
