// Participant registry: the happy paths through the real Worker and D1.

import { env } from "cloudflare:workers";
import { generateParticipantKey } from "@eusn/client";
import type { ParticipantView, WriteReceipt } from "@eusn/protocol";
import { compactVerify, importJWK, type JWK } from "jose";
import { describe, expect, it } from "vitest";
import { admit, auditLength, BASE, clientFor, coordinator, nodeFetch } from "../helpers/node.ts";

describe("participants", () => {
  it("lists the bootstrap coordinator from configuration", async () => {
    const res = await nodeFetch(`${BASE}/v1/participants`);
    expect(res.status).toBe(200);
    const { participants } = (await res.json()) as { participants: ParticipantView[] };
    const boot = participants.find((p) => p.id === env.BOOTSTRAP_COORDINATOR_ID);
    expect(boot?.role).toBe("coordinator");
    expect(boot?.admissionRecordId).toBeNull();
    expect(boot?.keys[0]?.jwk).not.toHaveProperty("d");
  });

  it("admits authorities of member states and platforms, showing only public parts", async () => {
    const nl = await admit("authority", "NL", { name: "ATKM" });
    const de = await admit("authority", "DE");
    const pl = await admit("platform", undefined, { alg: "ES256" });
    const res = await nodeFetch(`${BASE}/v1/participants?role=authority`);
    const { participants } = (await res.json()) as { participants: ParticipantView[] };
    expect(participants.map((p) => p.id).sort()).toEqual([nl.id, de.id].sort());
    const one = (await (await nodeFetch(`${BASE}/v1/participants/${nl.id}`)).json()) as ParticipantView;
    expect(one).toMatchObject({
      role: "authority",
      memberState: "NL",
      displayName: "ATKM",
      status: "active",
    });
    expect(one.keys).toHaveLength(1);
    expect(one.keys[0]!.kid).toBe(nl.key.kid);
    expect(JSON.stringify(one)).not.toContain('"d"');
    const plView = (await (await nodeFetch(`${BASE}/v1/participants/${pl.id}`)).json()) as ParticipantView;
    expect(plView.memberState).toBeNull();
    expect(plView.keys[0]!.jwk.kty).toBe("EC");
  });

  it("accepts EL as Greece and stores GR", async () => {
    const gr = await admit("authority", "EL" as "GR");
    const view = (await (await nodeFetch(`${BASE}/v1/participants/${gr.id}`)).json()) as ParticipantView;
    expect(view.memberState).toBe("GR");
  });

  it("stores the exact JWS bytes and serves them back", async () => {
    const c = coordinator();
    const key = await generateParticipantKey();
    const record = { role: "platform", displayName: "Exact bytes", jwks: { keys: [key.publicJwk] } };
    const { signWrite } = await import("@eusn/client");
    const jws = await signWrite(
      { participantId: c.participantId, privateJwk: c.privateJwk },
      env.NODE_ID,
      "participant.admit",
      record,
    );
    const res = await c.postJws<WriteReceipt>("/v1/participants", jws);
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    const stored = await c.get<string>(`/v1/records/${res.data.recordId}`);
    expect(stored.ok && stored.data).toBe(jws);
    const row = await env.DB.prepare("SELECT jws, jws_sha256 FROM records WHERE id = ?")
      .bind(res.data.recordId)
      .first<{ jws: string; jws_sha256: string }>();
    expect(row?.jws).toBe(jws);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(jws)));
    expect(row?.jws_sha256).toBe([...digest].map((b) => b.toString(16).padStart(2, "0")).join(""));
    expect(res.data.jwsSha256).toBe(row?.jws_sha256);
  });

  it("rotates keys: the new key signs, the retired key is refused, old records stay verifiable", async () => {
    const a = await admit("authority", "FR");
    const next = await generateParticipantKey("ES256");
    const add = await a.client.write<WriteReceipt>(`/v1/participants/${a.id}/keys`, "participant.key.add", {
      participantId: a.id,
      jwk: next.publicJwk,
    });
    expect(add.status).toBe(201);
    const signedByOld = add.ok ? add.data.recordId : "";
    const rotated = clientFor(a.id, next.privateJwk);
    const retire = await rotated.write(`/v1/participants/${a.id}/keys/retire`, "participant.key.retire", {
      participantId: a.id,
      kid: a.key.kid,
      reason: "scheduled rotation",
    });
    expect(retire.status).toBe(201);
    // The retired key no longer works...
    const again = await a.client.write(`/v1/participants/${a.id}/keys`, "participant.key.add", {
      participantId: a.id,
      jwk: (await generateParticipantKey()).publicJwk,
    });
    expect(again.ok ? 0 : again.problem.code).toBe("unknown_key");
    // ...but the record it signed before retirement still verifies against the key history.
    const view = (await (await nodeFetch(`${BASE}/v1/participants/${a.id}`)).json()) as ParticipantView;
    const oldKey = view.keys.find((k) => k.kid === a.key.kid)!;
    expect(oldKey.status).toBe("retired");
    expect(oldKey.retiredAt).not.toBeNull();
    const row = await env.DB.prepare("SELECT jws FROM records WHERE id = ?")
      .bind(signedByOld)
      .first<{ jws: string }>();
    const verified = await compactVerify(row!.jws, await importJWK(oldKey.jwk as JWK, "EdDSA"));
    expect(JSON.parse(new TextDecoder().decode(verified.payload)).kind).toBe("participant.key.add");
  });

  it("revokes a participant; its earlier records stay in place", async () => {
    const p = await admit("platform");
    const before = await env.DB.prepare("SELECT count(*) AS n FROM records WHERE subject_id = ?")
      .bind(p.id)
      .first<{ n: number }>();
    const res = await coordinator().write(`/v1/participants/${p.id}/revoke`, "participant.revoke", {
      participantId: p.id,
      reason: "terms of the code of conduct breached",
    });
    expect(res.status).toBe(201);
    const view = (await (await nodeFetch(`${BASE}/v1/participants/${p.id}`)).json()) as ParticipantView;
    expect(view.status).toBe("revoked");
    const after = await env.DB.prepare("SELECT count(*) AS n FROM records WHERE subject_id = ?")
      .bind(p.id)
      .first<{ n: number }>();
    expect(after!.n).toBe(before!.n + 1);
  });

  it("a second coordinator admitted by the first can admit others", async () => {
    const c2 = await admit("coordinator");
    const a = await admit("authority", "IT", { by: c2.client });
    expect(a.id).toMatch(/^par_/);
  });
});

describe("audit trail", () => {
  it("grows by exactly one entry per accepted write, in order, with the JWS hash", async () => {
    await admit("authority", "BE"); // make sure the bootstrap entry exists
    const start = await auditLength();
    // An authority's admission is two writes: the request and its countersignature.
    const receipts: WriteReceipt[] = [];
    for (const ms of ["AT", "PL", "SE"] as const) {
      const a = await admit("authority", ms);
      receipts.push(a.receipt, a.countersigned!);
    }
    expect(await auditLength()).toBe(start + 6);
    const page = await coordinator().get<{
      entries: { seq: number; kind: string; recordId: string; jwsSha256: string; actor: string }[];
      next: number | null;
    }>(`/v1/audit?after=${receipts[0]!.auditSeq - 1}&limit=2`);
    expect(page.ok).toBe(true);
    if (!page.ok) return;
    expect(page.data.entries.map((e) => e.seq)).toEqual([receipts[0]!.auditSeq, receipts[1]!.auditSeq]);
    expect(page.data.entries[0]).toMatchObject({
      kind: "participant.admit",
      recordId: receipts[0]!.recordId,
      jwsSha256: receipts[0]!.jwsSha256,
      actor: env.BOOTSTRAP_COORDINATOR_ID,
    });
    expect(page.data.next).toBe(receipts[1]!.auditSeq);
    const rest = await coordinator().get<{ entries: { seq: number }[]; next: number | null }>(
      `/v1/audit?after=${page.data.next}`,
    );
    expect(rest.ok && rest.data.entries.map((e) => e.seq)).toEqual(receipts.slice(2).map((x) => x.auditSeq));
    expect(rest.ok && rest.data.next).toBeNull();
  });

  it("pages newest first with order=desc and `before`, and filters by kind, actor and subject", async () => {
    const a = await admit("authority", "FI");
    const b = await admit("platform");
    const revoked = await coordinator().write<WriteReceipt>(
      `/v1/participants/${b.id}/revoke`,
      "participant.revoke",
      {
        participantId: b.id,
        reason: "left the network",
      },
    );
    if (!revoked.ok) throw new Error(JSON.stringify(revoked.problem));
    type Page = {
      entries: { seq: number; kind: string; subjectId: string | null; actor: string }[];
      next: number | null;
    };
    const newest = await coordinator().get<Page>("/v1/audit?order=desc&limit=2");
    if (!newest.ok) throw new Error(JSON.stringify(newest.problem));
    // The platform's admission took two signatures: the request, then the countersignature.
    expect(newest.data.entries.map((e) => e.seq)).toEqual([revoked.data.auditSeq, b.countersigned!.auditSeq]);
    expect(newest.data.next).toBe(b.countersigned!.auditSeq);
    const older = await coordinator().get<Page>(`/v1/audit?order=desc&limit=1&before=${newest.data.next}`);
    expect(older.ok && older.data.entries.map((e) => e.seq)).toEqual([b.receipt.auditSeq]);
    const byKind = await coordinator().get<Page>("/v1/audit?kind=participant.revoke&order=desc&limit=1000");
    expect(byKind.ok && byKind.data.entries.every((e) => e.kind === "participant.revoke")).toBe(true);
    expect(byKind.ok && byKind.data.entries[0]!.seq).toBe(revoked.data.auditSeq);
    const bySubject = await coordinator().get<Page>(`/v1/audit?subject=${b.id}`);
    expect(bySubject.ok && bySubject.data.entries.map((e) => e.kind)).toEqual([
      "participant.admit",
      "participant.countersign",
      "participant.revoke",
    ]);
    const byActor = await coordinator().get<Page>(`/v1/audit?actor=${a.id}`);
    expect(byActor.ok && byActor.data.entries).toEqual([]);
  });

  it("cannot be updated or deleted, even by direct SQL", async () => {
    await admit("platform");
    await expect(env.DB.prepare("UPDATE audit_log SET actor = 'x'").run()).rejects.toThrow(/append-only/);
    await expect(env.DB.prepare("DELETE FROM audit_log").run()).rejects.toThrow(/append-only/);
    await expect(env.DB.prepare("UPDATE records SET jws = 'x'").run()).rejects.toThrow(/immutable/);
  });
});

describe("node metadata", () => {
  it("publishes the node key as a JWKS with a thumbprint kid and no private part", async () => {
    const res = await nodeFetch(`${BASE}/.well-known/jwks.json`);
    expect(res.status).toBe(200);
    const { keys } = (await res.json()) as { keys: (JWK & { kid: string })[] };
    expect(keys).toHaveLength(1);
    expect(keys[0]).not.toHaveProperty("d");
    const { calculateJwkThumbprint } = await import("jose");
    expect(keys[0]!.kid).toBe(await calculateJwkThumbprint(keys[0]!, "sha256"));
  });

  it("serves an OpenAPI 3.1 document generated from the schemas, and a browsable /docs", async () => {
    const doc = (await (await nodeFetch(`${BASE}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, unknown> };
    };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        "/v1/participants",
        "/v1/participants/{id}/keys",
        "/v1/audit",
        "/.well-known/jwks.json",
      ]),
    );
    expect(doc.components.schemas).toHaveProperty("AdmitParticipantRecord");
    expect(doc.components.schemas).toHaveProperty("Problem");
    const html = await (await nodeFetch(`${BASE}/docs`)).text();
    expect(html).toContain("<h1>EUSN node API</h1>");
    expect(html).toContain("/v1/participants/{id}/revoke");
    expect(html).not.toMatch(/<script[^>]+src=/);
  });
});
