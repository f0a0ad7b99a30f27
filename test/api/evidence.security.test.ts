// Tries to break every rule the node enforces for case files (docs/evidence.md, SECURITY.md):
// plaintext or an unwrapped key reaching the node (every D1 row and every R2 object is searched),
// reading without a wrapped key (404, exactly as for an id that does not exist), a ciphertext that
// differs from the signed record, platforms and unnamed coordinators as recipients, TLP:RED
// audiences, size limits under multipart, withdrawn and expired case files before the cron, the
// purge, downloads left out of the audit trail, and re-keying. The happy path runs through
// @eusn/client exactly as the CLI and the console do.

import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import {
  attachCaseFile,
  b64url,
  caseFileOpens,
  type EncKeyPair,
  type EusnClient,
  encryptCaseFile,
  evidenceKeys,
  generateEncKeyPair,
  hex,
  memorySource,
  openCaseFile,
  registerEvidenceKey,
  rewrapCaseFile,
  signAccessToken,
  signWrite,
  uploadCiphertext,
  wrapContentKey,
} from "@eusn/client";
import {
  type CaseFileView,
  ciphertextLimit,
  EVIDENCE_PART_BYTES,
  JOSE_MEDIA_TYPE,
  type SubmitResult,
  type UploadView,
} from "@eusn/protocol";
import type { JWK } from "jose";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import worker from "../../workers/api/index.ts";
import { pdqItem, randomPdq, rng } from "../helpers/hashes.ts";
import {
  type Admitted,
  admit,
  BASE,
  coordinator,
  expectProblem,
  nodeFetch,
  snapshot,
} from "../helpers/node.ts";
import { signalPlatform } from "../helpers/signals.ts";

const DAY = 86_400_000;
const r = rng(1919);
const EVIDENCE_TABLES = ["case_files", "case_file_keys", "evidence_uploads", "evidence_upload_parts"];

let nl: Admitted;
let de: Admitted;
let fr: Admitted;
const keys = new Map<string, EncKeyPair>();
let coordinatorId: string;

const encOf = (c: EusnClient) => keys.get(c.participantId)!.privateJwk;

async function submit(by: Admitted, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await by.client.write<SubmitResult>("/v1/submissions", "submission.create", {
    items: [pdqItem(randomPdq(r), extra)],
  });
  if (!res.ok) throw new Error(JSON.stringify(res.problem));
  return res.data.submissions[0]!.id;
}

/** A recognisable "image": the marker must never appear on the node. */
function material(marker: string, size = 3000): Uint8Array {
  const out = new Uint8Array(size);
  const m = new TextEncoder().encode(marker);
  for (let i = 0; i + m.byteLength <= size; i += m.byteLength) out.set(m, i);
  return out;
}

async function bearer(by: EusnClient | null): Promise<Record<string, string>> {
  if (!by) return {};
  return {
    authorization: `Bearer ${await signAccessToken({ participantId: by.participantId, privateJwk: by.privateJwk }, env.NODE_ID)}`,
  };
}
const getAs = async (by: EusnClient | null, path: string) =>
  nodeFetch(`${BASE}${path}`, { headers: await bearer(by) });

async function postSigned(by: EusnClient, path: string, kind: string, record: unknown): Promise<Response> {
  const jws = await signWrite(
    { participantId: by.participantId, privateJwk: by.privateJwk },
    env.NODE_ID,
    kind,
    record,
  );
  return nodeFetch(`${BASE}${path}`, {
    method: "POST",
    headers: { "content-type": JOSE_MEDIA_TYPE },
    body: jws,
  });
}

async function runCron(): Promise<void> {
  const ctx = createExecutionContext();
  await worker.scheduled(
    createScheduledController({ cron: "*/15 * * * *", scheduledTime: Date.now() }),
    env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
}

/** Every row of every D1 table, as text. */
async function everyRow(): Promise<string> {
  const tables = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' AND name <> 'd1_migrations'",
  ).all<{ name: string }>();
  let out = "";
  for (const { name } of tables.results) {
    const rows = await env.DB.prepare(`SELECT * FROM "${name}"`).all();
    out += JSON.stringify(rows.results, (_k, v) => (v instanceof ArrayBuffer ? hex(new Uint8Array(v)) : v));
  }
  return out;
}

/** Every R2 object's bytes. */
async function everyObject(): Promise<{ objects: Uint8Array[]; keys: string[] }> {
  const listed = await env.EVIDENCE.list();
  const objects: Uint8Array[] = [];
  for (const o of listed.objects)
    objects.push(new Uint8Array(await (await env.EVIDENCE.get(o.key))!.arrayBuffer()));
  return { objects, keys: listed.objects.map((o) => o.key) };
}

/** Whether `needle` occurs in any of the byte arrays. */
function holds(objects: Uint8Array[], needle: Uint8Array): boolean {
  for (const hay of objects) {
    outer: for (let i = 0; i + needle.byteLength <= hay.byteLength; i++) {
      for (let j = 0; j < needle.byteLength; j++) if (hay[i + j] !== needle[j]) continue outer;
      return true;
    }
  }
  return false;
}
const digest = async (b: Uint8Array) =>
  hex(new Uint8Array(await crypto.subtle.digest("SHA-256", b as BufferSource)));
const bytes = (s: string) => new TextEncoder().encode(s);

const auditCount = async (kind: string, subject?: string) =>
  (
    await env.DB.prepare(
      `SELECT count(*) AS n FROM audit_log WHERE kind = ?1 ${subject ? "AND subject_id = ?2" : ""}`,
    )
      .bind(kind, ...(subject ? [subject] : []))
      .first<{ n: number }>()
  )?.n ?? 0;

/** Runs `send`, expects the problem, and checks that no D1 table and no R2 object changed. */
async function refused(send: () => Promise<Response>, status: number, code: string) {
  const before = {
    rows: await snapshot(EVIDENCE_TABLES),
    objects: (await env.EVIDENCE.list()).objects.length,
  };
  const problem = await expectProblem(await send(), status, code);
  expect({
    rows: await snapshot(EVIDENCE_TABLES),
    objects: (await env.EVIDENCE.list()).objects.length,
  }).toEqual(before);
  return problem;
}

beforeAll(async () => {
  nl = await admit("authority", "NL");
  de = await admit("authority", "DE");
  fr = await admit("authority", "FR");
  coordinatorId = coordinator().participantId;
  for (const c of [nl.client, de.client, fr.client, coordinator()]) {
    const { pair, result } = await registerEvidenceKey(c);
    expect(result.ok, JSON.stringify(result)).toBe(true);
    keys.set(c.participantId, pair);
  }
});

afterEach(() => {
  vi.useRealTimers();
});

describe("a case file between authorities", () => {
  it("DE opens NL's case file: decrypted on the reader's side, the hash checked, the download audited and listed for NL", async () => {
    const id = await submit(nl);
    const file = material("NL-IMAGE-BYTES-");
    const attached = await attachCaseFile(
      nl.client,
      file,
      { mediaType: "image/png", caseReference: "NL-CASE-4711", description: "found on a forum" },
      { submissionId: id, mediaClass: "image" },
    );
    // Default audience: every active authority with a key, the submitter included; no coordinator.
    expect(new Set(attached.recipients)).toEqual(new Set([nl.id, de.id, fr.id]));
    const opened = await openCaseFile(de.client, attached.caseFileId, encOf(de.client));
    expect(opened.file).toEqual(file);
    expect(opened.context.caseReference).toBe("NL-CASE-4711");
    expect(opened.view.sha256).toBe(attached.sha256);
    expect(await auditCount("evidence.open", attached.caseFileId)).toBe(1);
    const opens = await caseFileOpens(nl.client, attached.caseFileId);
    expect(opens.ok && opens.data.opens.map((o) => [o.participantId, o.memberState])).toEqual([
      [de.id, "DE"],
    ]);
    // Only the submitter sees who opened it: for DE it does not exist.
    await expectProblem(
      await getAs(de.client, `/v1/evidence/${attached.caseFileId}/opens`),
      404,
      "not_found",
    );
  });

  it("no plaintext, no context and no content key is anywhere in D1 or R2", async () => {
    const id = await submit(nl);
    const marker = `PLAINTEXT-MARKER-${Math.floor(r() * 1e9)}-`;
    const e = await encryptCaseFile(material(marker), {
      mediaType: "image/jpeg",
      description: "CONTEXT-MARKER-translation of the caption",
    });
    const { caseFileId } = await (async () => {
      const k = await evidenceKeys(nl.client);
      const recipients = await Promise.all(
        k
          .filter((x) => x.role === "authority")
          .map((x) => wrapContentKey(e.key, e.sha256, { participantId: x.participantId, jwk: x.jwk as JWK })),
      );
      await uploadCiphertext(nl.client, {
        submissionId: id,
        mediaClass: "image",
        source: memorySource(e.ciphertext, e.sha256),
      });
      const res = await nl.client.write<{ caseFileId: string }>("/v1/evidence", "evidence.create", {
        submissionId: id,
        mediaClass: "image",
        ciphertext: { sha256: e.sha256, size: e.ciphertext.byteLength },
        recipients,
      });
      expect(res.ok, JSON.stringify(res)).toBe(true);
      return res.ok ? res.data : { caseFileId: "" };
    })();
    expect(caseFileId).toMatch(/^evd_/);
    const rows = await everyRow();
    const objects = await everyObject();
    expect(objects.keys.length).toBeGreaterThan(0);
    // The ciphertext is stored exactly (its SHA-256 is the signed one) …
    expect(rows).toContain(e.sha256);
    // … and neither the material, its context, nor the key in any encoding is.
    const keyForms = [hex(e.key), b64url(e.key), btoa(String.fromCharCode(...e.key))];
    for (const needle of [marker, "CONTEXT-MARKER", ...keyForms]) {
      expect(rows.includes(needle), `D1 holds ${needle}`).toBe(false);
      expect(holds(objects.objects, bytes(needle)), `R2 holds ${needle}`).toBe(false);
    }
    expect(holds(objects.objects, e.key)).toBe(false);
  });

  it("a plaintext upload (not EUSNCF01) is refused when the upload completes, and its bytes deleted", async () => {
    const id = await submit(nl);
    const plain = material("RAW-PNG-");
    const sha = hex(new Uint8Array(await crypto.subtle.digest("SHA-256", plain as BufferSource)));
    await expect(
      uploadCiphertext(nl.client, {
        submissionId: id,
        mediaClass: "image",
        source: memorySource(plain, sha),
      }),
    ).rejects.toThrow(/422.*not a case-file ciphertext/);
    expect(holds((await everyObject()).objects, bytes("RAW-PNG-"))).toBe(false);
  });

  it("a case file record may not carry anything but the schema's fields (a key in clear is refused)", async () => {
    const id = await submit(nl);
    await refused(
      () =>
        postSigned(nl.client, "/v1/evidence", "evidence.create", {
          submissionId: id,
          mediaClass: "image",
          ciphertext: { sha256: "0".repeat(64), size: 100 },
          recipients: [{ participantId: nl.id, kid: "x", jwe: "a.b.c.d.e" }],
          contentKey: b64url(new Uint8Array(32)),
        }),
      400,
      "validation_failed",
    );
  });
});

describe("no existence oracle: without a wrapped key, 404 exactly as for a case file that does not exist", () => {
  let caseFileId: string;
  beforeAll(async () => {
    const id = await submit(nl);
    ({ caseFileId } = await attachCaseFile(
      nl.client,
      material("ONLY-NL-DE-"),
      { mediaType: "image/png" },
      {
        submissionId: id,
        mediaClass: "image",
        memberStates: ["NL", "DE"],
      },
    ));
  });

  for (const suffix of ["", "/content", "/opens"]) {
    it(`GET /v1/evidence/{id}${suffix}: FR and an unnamed coordinator get 404, as for a made-up id; nothing audited`, async () => {
      const opensBefore = await auditCount("evidence.open");
      const fake = "evd_0000000000zzzzzzzzzzzzzzzz";
      for (const who of [fr.client, coordinator()]) {
        const real = await expectProblem(
          await getAs(who, `/v1/evidence/${caseFileId}${suffix}`),
          404,
          "not_found",
        );
        const none = await expectProblem(await getAs(who, `/v1/evidence/${fake}${suffix}`), 404, "not_found");
        expect(real.detail?.replace(caseFileId, "ID")).toBe(none.detail?.replace(fake, "ID"));
      }
      expect(await auditCount("evidence.open")).toBe(opensBefore);
    });
  }

  it("a listing shows a reader only what it holds a key for", async () => {
    const frList = await fr.client.get<{ caseFiles: CaseFileView[] }>("/v1/evidence");
    expect(frList.ok && frList.data.caseFiles.some((c) => c.id === caseFileId)).toBe(false);
    const deList = await de.client.get<{ caseFiles: CaseFileView[] }>("/v1/evidence");
    expect(deList.ok && deList.data.caseFiles.some((c) => c.id === caseFileId)).toBe(true);
  });

  it("a platform is refused by its role (403), whatever the id", async () => {
    const p = await signalPlatform();
    await expectProblem(await getAs(p.client, `/v1/evidence/${caseFileId}`), 403, "forbidden");
    await expectProblem(
      await getAs(p.client, "/v1/evidence/evd_0000000000zzzzzzzzzzzzzzzz"),
      403,
      "forbidden",
    );
  });
});

describe("recipients", () => {
  async function recordFor(
    id: string,
    recipients: { participantId: string; jwk: JWK }[],
    extra: Record<string, unknown> = {},
  ) {
    const e = await encryptCaseFile(material("R-"), { mediaType: "image/png" });
    await uploadCiphertext(nl.client, {
      submissionId: id,
      mediaClass: "image",
      source: memorySource(e.ciphertext, e.sha256),
    });
    return {
      submissionId: id,
      mediaClass: "image",
      ciphertext: { sha256: e.sha256, size: e.ciphertext.byteLength },
      recipients: await Promise.all(recipients.map((x) => wrapContentKey(e.key, e.sha256, x))),
      ...extra,
    };
  }
  const pub = (id: string) => ({ participantId: id, jwk: keys.get(id)!.publicJwk as JWK });

  it("never a platform, even one with a registered encryption key", async () => {
    const p = await signalPlatform();
    const id = await submit(nl);
    const record = await recordFor(id, [pub(nl.id), { participantId: p.id, jwk: p.enc.publicJwk as JWK }]);
    const problem = await refused(
      () => postSigned(nl.client, "/v1/evidence", "evidence.create", record),
      422,
      "unprocessable",
    );
    expect(problem.detail).toMatch(/platform/);
  });

  it("a coordinator only when the submitter names it; then it can open the case file", async () => {
    const id = await submit(nl);
    const { caseFileId } = await attachCaseFile(
      nl.client,
      material("C-"),
      { mediaType: "image/png" },
      {
        submissionId: id,
        mediaClass: "image",
        coordinators: [coordinatorId],
      },
    );
    const opened = await openCaseFile(coordinator(), caseFileId, encOf(coordinator()));
    expect(opened.file).toEqual(material("C-"));
  });

  it("only the submitting authority attaches a case file to a submission", async () => {
    const id = await submit(nl);
    const e = await encryptCaseFile(material("D-"), { mediaType: "image/png" });
    await refused(
      () =>
        postSigned(de.client, "/v1/evidence", "evidence.create", {
          submissionId: id,
          mediaClass: "image",
          ciphertext: { sha256: e.sha256, size: e.ciphertext.byteLength },
          recipients: [{ participantId: de.id, kid: "k", jwe: "a.b.c.d.e" }],
        }),
      403,
      "forbidden",
    );
  });

  it("TLP:RED: member states must be named, and only their authorities may be recipients", async () => {
    const id = await submit(nl, { tlp: "red" });
    const open = await recordFor(id, [pub(nl.id), pub(de.id)]);
    await refused(() => postSigned(nl.client, "/v1/evidence", "evidence.create", open), 422, "unprocessable");
    const fenced = await recordFor(id, [pub(nl.id), pub(de.id), pub(fr.id)], { memberStates: ["NL", "DE"] });
    const problem = await refused(
      () => postSigned(nl.client, "/v1/evidence", "evidence.create", fenced),
      422,
      "unprocessable",
    );
    expect(problem.detail).toMatch(/FR/);
    const { caseFileId } = await attachCaseFile(
      nl.client,
      material("RED-"),
      { mediaType: "image/png" },
      {
        submissionId: id,
        mediaClass: "image",
        memberStates: ["NL", "DE"],
      },
    );
    expect((await openCaseFile(de.client, caseFileId, encOf(de.client))).file).toEqual(material("RED-"));
    await expectProblem(await getAs(fr.client, `/v1/evidence/${caseFileId}`), 404, "not_found");
  });

  it("a wrap for a key the recipient has not registered is refused", async () => {
    const id = await submit(nl);
    const other = await generateEncKeyPair();
    const record = await recordFor(id, [pub(nl.id), { participantId: de.id, jwk: other.publicJwk as JWK }]);
    await refused(
      () => postSigned(nl.client, "/v1/evidence", "evidence.create", record),
      422,
      "unprocessable",
    );
  });
});

describe("the ciphertext is the one the record names", () => {
  it("a record naming another SHA-256 than the uploaded bytes is refused, storing nothing", async () => {
    const id = await submit(nl);
    const e = await encryptCaseFile(material("SWAP-"), { mediaType: "image/png" });
    await uploadCiphertext(nl.client, {
      submissionId: id,
      mediaClass: "image",
      source: memorySource(e.ciphertext, e.sha256),
    });
    const decoy = await encryptCaseFile(material("DECOY-"), { mediaType: "image/png" });
    const problem = await refused(
      async () =>
        postSigned(nl.client, "/v1/evidence", "evidence.create", {
          submissionId: id,
          mediaClass: "image",
          ciphertext: { sha256: decoy.sha256, size: e.ciphertext.byteLength },
          recipients: [
            await wrapContentKey(decoy.key, decoy.sha256, {
              participantId: nl.id,
              jwk: keys.get(nl.id)!.publicJwk as JWK,
            }),
          ],
        }),
      422,
      "unprocessable",
    );
    expect(problem.detail).toMatch(/SHA-256/);
  });

  it("bytes that differ from the declared SHA-256 fail the upload: the object is deleted, nothing is half-written", async () => {
    const id = await submit(nl);
    const e = await encryptCaseFile(material("BAD-"), { mediaType: "image/png" });
    const before = (await env.EVIDENCE.list()).objects.length;
    await expect(
      uploadCiphertext(nl.client, {
        submissionId: id,
        mediaClass: "image",
        source: memorySource(e.ciphertext, "ab".repeat(32)),
      }),
    ).rejects.toThrow(/422.*SHA-256/);
    expect((await env.EVIDENCE.list()).objects.length).toBe(before);
    const row = await env.DB.prepare("SELECT status FROM evidence_uploads WHERE sha256 = ?1")
      .bind("ab".repeat(32))
      .first<{ status: string }>();
    expect(row?.status).toBe("failed");
  });
});

describe("size limits hold, also under multipart", () => {
  it("an image above 25 MB (plus encryption overhead) is refused before anything is stored", async () => {
    const id = await submit(nl);
    await refused(
      async () =>
        nodeFetch(`${BASE}/v1/evidence/uploads`, {
          method: "POST",
          headers: { "content-type": "application/json", ...(await bearer(nl.client)) },
          body: JSON.stringify({
            submissionId: id,
            mediaClass: "image",
            size: ciphertextLimit("image") + 1,
            sha256: "a".repeat(64),
          }),
        }),
      413,
      "payload_too_large",
    );
    await refused(
      async () =>
        nodeFetch(`${BASE}/v1/evidence/uploads`, {
          method: "POST",
          headers: { "content-type": "application/json", ...(await bearer(nl.client)) },
          body: JSON.stringify({
            submissionId: id,
            mediaClass: "video",
            size: ciphertextLimit("video") + 1,
            sha256: "a".repeat(64),
          }),
        }),
      413,
      "payload_too_large",
    );
  });

  it("parts beyond the declared size, or longer than their share, are refused (413) and not stored", async () => {
    const id = await submit(nl);
    const res = await nl.client.postJson<UploadView>("/v1/evidence/uploads", {
      submissionId: id,
      mediaClass: "image",
      size: 1000,
      sha256: "c".repeat(64),
    });
    expect(res.ok).toBe(true);
    const u = res.ok ? res.data : (undefined as never);
    expect(u.parts).toBe(1);
    const put = async (n: number, bytes: Uint8Array) =>
      nodeFetch(`${BASE}/v1/evidence/uploads/${u.uploadId}/parts/${n}`, {
        method: "PUT",
        headers: { "content-type": "application/octet-stream", ...(await bearer(nl.client)) },
        body: bytes as BodyInit,
      });
    await refused(() => put(2, new Uint8Array(10)), 413, "payload_too_large");
    await refused(() => put(1, new Uint8Array(1001)), 413, "payload_too_large");
    // A body larger than the 2 MiB limit of every other route reaches the part route and is refused by it.
    await refused(() => put(1, new Uint8Array(3 * 1024 * 1024)), 413, "payload_too_large");
    await refused(() => put(1, new Uint8Array(999)), 400, "bad_request");
    const state = await nl.client.get<UploadView>(`/v1/evidence/uploads/${u.uploadId}`);
    expect(state.ok && state.data.received).toEqual([]);
  });

  it("a two-part upload resumes: after part 2 alone, only part 1 is sent, and the case file opens", async () => {
    const id = await submit(nl);
    const file = material("BIG-", EVIDENCE_PART_BYTES + 300_000);
    const e = await encryptCaseFile(file, { mediaType: "image/tiff" });
    const created = await nl.client.postJson<UploadView>("/v1/evidence/uploads", {
      submissionId: id,
      mediaClass: "image",
      size: e.ciphertext.byteLength,
      sha256: e.sha256,
    });
    const u = created.ok ? created.data : (undefined as never);
    expect(u.parts).toBe(2);
    const part2 = await nodeFetch(`${BASE}/v1/evidence/uploads/${u.uploadId}/parts/2`, {
      method: "PUT",
      headers: { "content-type": "application/octet-stream", ...(await bearer(nl.client)) },
      body: e.ciphertext.subarray(EVIDENCE_PART_BYTES) as BodyInit,
    });
    expect(part2.status).toBe(200);
    const sent: number[] = [];
    const source = memorySource(e.ciphertext, e.sha256);
    const done = await uploadCiphertext(nl.client, {
      submissionId: id,
      mediaClass: "image",
      resume: u.uploadId,
      source: {
        ...source,
        read: (s, end) => {
          sent.push(s);
          return source.read(s, end);
        },
      },
    });
    expect(sent).toEqual([0]);
    expect(done.status).toBe("complete");
    const k = await evidenceKeys(nl.client);
    const res = await nl.client.write<{ caseFileId: string }>("/v1/evidence", "evidence.create", {
      submissionId: id,
      mediaClass: "image",
      ciphertext: { sha256: e.sha256, size: e.ciphertext.byteLength },
      recipients: await Promise.all(
        k
          .filter((x) => x.role === "authority")
          .map((x) => wrapContentKey(e.key, e.sha256, { participantId: x.participantId, jwk: x.jwk as JWK })),
      ),
    });
    expect(res.ok, JSON.stringify(res)).toBe(true);
    const opened = await openCaseFile(fr.client, res.ok ? res.data.caseFileId : "", encOf(fr.client));
    // Compared by digest: a deep equality of 8 MB byte by byte takes vitest minutes.
    expect(opened.file.byteLength).toBe(file.byteLength);
    expect(await digest(opened.file)).toBe(await digest(file));
  });
});

describe("retention", () => {
  it("a withdrawal ends the case file at once (keys deleted in the same batch); the cron deletes the object with a counts-only audit entry", async () => {
    const id = await submit(nl);
    const { caseFileId } = await attachCaseFile(
      nl.client,
      material("W-"),
      { mediaType: "image/png" },
      { submissionId: id, mediaClass: "image" },
    );
    const key = (await env.DB.prepare("SELECT r2_key FROM case_files WHERE id = ?1")
      .bind(caseFileId)
      .first<{ r2_key: string }>())!.r2_key;
    const w = await nl.client.write(`/v1/submissions/${id}/withdraw`, "submission.withdraw", {
      submissionId: id,
      reason: "wrong upload",
    });
    expect(w.ok, JSON.stringify(w)).toBe(true);
    await expectProblem(await getAs(de.client, `/v1/evidence/${caseFileId}`), 404, "not_found");
    await expectProblem(await getAs(de.client, `/v1/evidence/${caseFileId}/content`), 404, "not_found");
    const wraps = await env.DB.prepare("SELECT count(*) AS n FROM case_file_keys WHERE case_file_id = ?1")
      .bind(caseFileId)
      .first<{ n: number }>();
    expect(wraps?.n).toBe(0);
    expect(await env.EVIDENCE.head(key)).not.toBeNull();
    const purges = await auditCount("evidence.purge");
    await runCron();
    expect(await env.EVIDENCE.head(key)).toBeNull();
    expect(await auditCount("evidence.purge")).toBe(purges + 1);
    const entry = await env.DB.prepare(
      "SELECT detail, subject_id FROM audit_log WHERE kind = 'evidence.purge' ORDER BY seq DESC LIMIT 1",
    ).first<{ detail: string; subject_id: string | null }>();
    const detail = JSON.parse(entry!.detail) as Record<string, unknown>;
    expect(Object.values(detail).every((v) => typeof v === "number")).toBe(true);
    expect(entry!.subject_id).toBeNull();
  });

  it("a reversal by a coordinator ends it too", async () => {
    const id = await submit(nl);
    const { caseFileId } = await attachCaseFile(
      nl.client,
      material("RV-"),
      { mediaType: "image/png" },
      { submissionId: id, mediaClass: "image" },
    );
    const rv = await coordinator().write(`/v1/submissions/${id}/reverse`, "submission.reverse", {
      submissionId: id,
      reason: "court ruling",
      ground: "court_ruling",
    });
    expect(rv.ok, JSON.stringify(rv)).toBe(true);
    await expectProblem(await getAs(nl.client, `/v1/evidence/${caseFileId}`), 404, "not_found");
  });

  it("six months after the last decision it is unreachable before the cron runs; the cron then purges it", async () => {
    const id = await submit(nl);
    const { caseFileId } = await attachCaseFile(
      nl.client,
      material("T-"),
      { mediaType: "image/png" },
      { submissionId: id, mediaClass: "image" },
    );
    const concur = await de.client.write<{ subjectId: string }>(
      `/v1/submissions/${id}/assessments`,
      "assessment.create",
      {
        submissionId: id,
        verdict: "concur",
        limb: "a",
      },
    );
    expect(concur.ok).toBe(true);
    const inc = await coordinator().write(`/v1/submissions/${id}/decisions`, "baseline.decide", {
      submissionId: id,
      decision: "exclude",
      reason: "not enough",
      assessmentIds: [],
    });
    expect(inc.ok, JSON.stringify(inc)).toBe(true);
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 182 * DAY);
    expect((await getAs(de.client, `/v1/evidence/${caseFileId}`)).status).toBe(200);
    vi.setSystemTime(Date.now() + 2 * DAY);
    await expectProblem(await getAs(de.client, `/v1/evidence/${caseFileId}`), 404, "not_found");
    await runCron();
    const row = await env.DB.prepare("SELECT status, r2_key FROM case_files WHERE id = ?1")
      .bind(caseFileId)
      .first<{ status: string; r2_key: string | null }>();
    expect(row).toEqual({ status: "deleted", r2_key: null });
  });

  it("EVIDENCE_RETENTION_DAYS shortens retention (and cannot lengthen it)", async () => {
    const id = await submit(nl);
    const { caseFileId } = await attachCaseFile(
      nl.client,
      material("S-"),
      { mediaType: "image/png" },
      { submissionId: id, mediaClass: "image" },
    );
    const inc = await coordinator().write(`/v1/submissions/${id}/decisions`, "baseline.decide", {
      submissionId: id,
      decision: "exclude",
      reason: "not enough",
      assessmentIds: [],
    });
    expect(inc.ok, JSON.stringify(inc)).toBe(true);
    const was = env.EVIDENCE_RETENTION_DAYS;
    try {
      env.EVIDENCE_RETENTION_DAYS = "2";
      vi.useFakeTimers({ toFake: ["Date"] });
      vi.setSystemTime(Date.now() + 3 * DAY);
      await expectProblem(await getAs(de.client, `/v1/evidence/${caseFileId}`), 404, "not_found");
      env.EVIDENCE_RETENTION_DAYS = "400";
      vi.setSystemTime(Date.now() + 190 * DAY);
      await expectProblem(await getAs(de.client, `/v1/evidence/${caseFileId}`), 404, "not_found");
    } finally {
      if (was === undefined) delete env.EVIDENCE_RETENTION_DAYS;
      else env.EVIDENCE_RETENTION_DAYS = was;
    }
  });

  it("an expired entry's case file is unreachable from its expiry, before the cron", async () => {
    const id = await submit(nl, { expiresAt: new Date(Date.now() + 3 * DAY).toISOString() });
    const { caseFileId } = await attachCaseFile(
      nl.client,
      material("E-"),
      { mediaType: "image/png" },
      { submissionId: id, mediaClass: "image" },
    );
    expect((await getAs(de.client, `/v1/evidence/${caseFileId}`)).status).toBe(200);
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 4 * DAY);
    await expectProblem(await getAs(de.client, `/v1/evidence/${caseFileId}/content`), 404, "not_found");
  });
});

describe("re-keying", () => {
  it("when a recipient replaces its key, its wrap is stale until the submitter re-wraps; the node cannot", async () => {
    const id = await submit(nl);
    const { caseFileId } = await attachCaseFile(
      nl.client,
      material("K-"),
      { mediaType: "image/png" },
      { submissionId: id, mediaClass: "image" },
    );
    const old = keys.get(de.id)!;
    const { pair, result } = await registerEvidenceKey(de.client);
    expect(result.ok).toBe(true);
    keys.set(de.id, pair);
    const view = await de.client.get<CaseFileView>(`/v1/evidence/${caseFileId}`);
    expect(view.ok && view.data.stale).toBe(true);
    await expect(openCaseFile(de.client, caseFileId, pair.privateJwk)).rejects.toThrow();
    const nlView = await nl.client.get<CaseFileView>(`/v1/evidence/${caseFileId}`);
    expect(nlView.ok && nlView.data.recipients?.find((x) => x.participantId === de.id)?.current).toBe(false);
    // Only the submitter may re-wrap: for anyone else the case file does not exist.
    const k = await wrapContentKey(new Uint8Array(32), "0".repeat(64), {
      participantId: de.id,
      jwk: pair.publicJwk as JWK,
    });
    await refused(
      () =>
        postSigned(fr.client, `/v1/evidence/${caseFileId}/wraps`, "evidence.rewrap", {
          caseFileId,
          recipients: [k],
        }),
      404,
      "not_found",
    );
    const re = await rewrapCaseFile(nl.client, caseFileId, encOf(nl.client));
    expect(re.rewrapped).toEqual([de.id]);
    expect(re.result?.ok).toBe(true);
    expect((await openCaseFile(de.client, caseFileId, pair.privateJwk)).file).toEqual(material("K-"));
    expect(old.kid).not.toBe(pair.kid);
  });
});
