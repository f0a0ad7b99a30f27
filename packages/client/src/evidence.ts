// Case files on the authority's side (docs/evidence.md): everything that touches the material or
// its key happens here, on the authority's machine (CLI, browser, or a Worker), with WebCrypto and
// jose. A case file is encrypted with a fresh 256-bit content key in the EUSNCF01 format (AES-256-GCM
// in the STREAM construction, chunk by chunk), the key is wrapped as a JWE (ECDH-ES+A256KW) for
// each recipient's registered key, the ciphertext is uploaded in parts and the case file signed.
// The node receives ciphertext, its SHA-256, and wrapped keys; never the material or a key.
import type {
  CaseFileContext,
  CaseFileOpens,
  CaseFileView,
  EvidenceEncKeyView,
  EvidenceMediaClass,
  UploadView,
  WrappedContentKey,
  WriteReceipt,
} from "@eusn/protocol";
import {
  ciphertextSize,
  EVIDENCE_CHUNK_BYTES,
  EVIDENCE_CONTEXT_MAX_BYTES,
  EVIDENCE_HEADER_BYTES,
  EVIDENCE_MAGIC,
  EVIDENCE_TAG_BYTES,
  EVIDENCE_WRAP_ALG,
  EVIDENCE_WRAP_ENC,
  EVIDENCE_WRAP_TYP,
} from "@eusn/protocol/plain";
import { CompactEncrypt, calculateJwkThumbprint, compactDecrypt, importJWK, type JWK } from "jose";
import type { EusnClient, Result } from "./client.ts";
import { b64url, type EncKeyPair, fromB64url, generateEncKeyPair } from "./signals.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

export function hex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource)));
}

// ---- the EUSNCF01 format ---------------------------------------------------------------------

/** A fresh 256-bit content key: one per case file, never reused. */
export function generateContentKey(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(32));
}

/** The 24-byte header: magic, chunk size (u32 BE), a random 7-byte nonce prefix, 5 zero bytes. */
export function caseFileHeader(chunkSize = EVIDENCE_CHUNK_BYTES): Uint8Array {
  const h = new Uint8Array(EVIDENCE_HEADER_BYTES);
  h.set(enc.encode(EVIDENCE_MAGIC), 0);
  new DataView(h.buffer).setUint32(8, chunkSize);
  h.set(crypto.getRandomValues(new Uint8Array(7)), 12);
  return h;
}

function chunkNonce(header: Uint8Array, index: number, last: boolean): Uint8Array {
  const n = new Uint8Array(12);
  n.set(header.subarray(12, 19), 0);
  new DataView(n.buffer).setUint32(7, index);
  n[11] = last ? 1 : 0;
  return n;
}

async function aesKey(key: Uint8Array, usage: "encrypt" | "decrypt"): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", key as BufferSource, { name: "AES-GCM" }, false, [usage]);
}

/**
 * Encrypts a plaintext that arrives in pieces (a large video read from disk) chunk by chunk,
 * yielding the header and then each sealed chunk. `plainSize` must be the exact total.
 */
export async function* encryptStream(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  plainSize: number,
  key: Uint8Array,
  chunkSize = EVIDENCE_CHUNK_BYTES,
): AsyncGenerator<Uint8Array> {
  const header = caseFileHeader(chunkSize);
  const k = await aesKey(key, "encrypt");
  yield header;
  const chunks = Math.max(1, Math.ceil(plainSize / chunkSize));
  let index = 0;
  let seen = 0;
  const seal = async (plain: Uint8Array, last: boolean) =>
    new Uint8Array(
      await crypto.subtle.encrypt(
        {
          name: "AES-GCM",
          iv: chunkNonce(header, index++, last) as BufferSource,
          additionalData: header as BufferSource,
        },
        k,
        plain as BufferSource,
      ),
    );
  // Pieces are gathered until a whole chunk is there; a chunk is sealed from a view, and only the
  // remainder (less than a chunk) is copied, so a large input is not copied over and over.
  const pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const take = (n: number): Uint8Array => {
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const head = pending[0]!;
      const k = Math.min(head.byteLength, n - at);
      out.set(head.subarray(0, k), at);
      at += k;
      if (k === head.byteLength) pending.shift();
      else pending[0] = head.subarray(k);
    }
    pendingBytes -= n;
    return out;
  };
  for await (const piece of source) {
    seen += piece.byteLength;
    if (seen > plainSize) throw new Error(`the plaintext is longer than the declared ${plainSize} bytes`);
    pending.push(piece);
    pendingBytes += piece.byteLength;
    while (pendingBytes >= chunkSize && index < chunks - 1) yield await seal(take(chunkSize), false);
  }
  if (seen !== plainSize) throw new Error(`the plaintext has ${seen} bytes, not the declared ${plainSize}`);
  yield await seal(take(pendingBytes), true);
}

/** The plaintext envelope: u32 BE length of the JSON context, the context, then the file. */
export function envelopeHead(context: CaseFileContext): Uint8Array {
  const json = enc.encode(JSON.stringify(context));
  if (json.byteLength > EVIDENCE_CONTEXT_MAX_BYTES)
    throw new Error(`the context is ${json.byteLength} bytes; at most ${EVIDENCE_CONTEXT_MAX_BYTES}`);
  const out = new Uint8Array(4 + json.byteLength);
  new DataView(out.buffer).setUint32(0, json.byteLength);
  out.set(json, 4);
  return out;
}

export type EncryptedCaseFile = { ciphertext: Uint8Array; key: Uint8Array; sha256: string };

/** Encrypts a file held in memory (an image, a short video) with its context under a fresh key. */
export async function encryptCaseFile(
  file: Uint8Array,
  context: CaseFileContext,
  opts: { key?: Uint8Array; chunkSize?: number } = {},
): Promise<EncryptedCaseFile> {
  const key = opts.key ?? generateContentKey();
  const head = envelopeHead(context);
  const chunkSize = opts.chunkSize ?? EVIDENCE_CHUNK_BYTES;
  const plainSize = head.byteLength + file.byteLength;
  const out = new Uint8Array(ciphertextSize(plainSize, chunkSize));
  let at = 0;
  for await (const part of encryptStream([head, file], plainSize, key, chunkSize)) {
    out.set(part, at);
    at += part.byteLength;
  }
  return { ciphertext: out, key, sha256: await sha256Hex(out) };
}

/** Decrypts an EUSNCF01 ciphertext; throws on any change to it (a tag, the order, the end). */
export async function decryptCaseFile(
  ciphertext: Uint8Array,
  key: Uint8Array,
): Promise<{ context: CaseFileContext; file: Uint8Array }> {
  if (ciphertext.byteLength < EVIDENCE_HEADER_BYTES + EVIDENCE_TAG_BYTES) throw new Error("too short");
  const header = ciphertext.subarray(0, EVIDENCE_HEADER_BYTES);
  if (dec.decode(header.subarray(0, 8)) !== EVIDENCE_MAGIC) throw new Error(`not ${EVIDENCE_MAGIC}`);
  const chunkSize = new DataView(header.buffer, header.byteOffset).getUint32(8);
  const k = await aesKey(key, "decrypt");
  const body = ciphertext.subarray(EVIDENCE_HEADER_BYTES);
  const sealed = chunkSize + EVIDENCE_TAG_BYTES;
  const chunks = Math.max(1, Math.ceil(body.byteLength / sealed));
  const plain = new Uint8Array(body.byteLength - chunks * EVIDENCE_TAG_BYTES);
  let at = 0;
  for (let i = 0; i < chunks; i++) {
    const c = body.subarray(i * sealed, Math.min(body.byteLength, (i + 1) * sealed));
    const p = new Uint8Array(
      await crypto.subtle.decrypt(
        {
          name: "AES-GCM",
          iv: chunkNonce(header, i, i === chunks - 1) as BufferSource,
          additionalData: header as BufferSource,
        },
        k,
        c as BufferSource,
      ),
    );
    plain.set(p, at);
    at += p.byteLength;
  }
  const len = new DataView(plain.buffer).getUint32(0);
  const context = JSON.parse(dec.decode(plain.subarray(4, 4 + len))) as CaseFileContext;
  return { context, file: plain.subarray(4 + len) };
}

// ---- wrapping --------------------------------------------------------------------------------

/** What a wrap holds: the content key, bound to its recipient and to the ciphertext's SHA-256. */
type ContentKeyPlaintext = {
  typ: typeof EVIDENCE_WRAP_TYP;
  participantId: string;
  sha256: string;
  key: string;
};

/** Wraps a content key for one recipient's registered encryption key. */
export async function wrapContentKey(
  key: Uint8Array,
  sha256: string,
  recipient: { participantId: string; jwk: JWK },
): Promise<WrappedContentKey> {
  const { kty, crv, x, y } = recipient.jwk;
  const kid = await calculateJwkThumbprint({ kty, crv, x, y } as JWK, "sha256");
  const plaintext: ContentKeyPlaintext = {
    typ: EVIDENCE_WRAP_TYP,
    participantId: recipient.participantId,
    sha256,
    key: b64url(key),
  };
  const jwe = await new CompactEncrypt(enc.encode(JSON.stringify(plaintext)))
    .setProtectedHeader({ alg: EVIDENCE_WRAP_ALG, enc: EVIDENCE_WRAP_ENC, typ: EVIDENCE_WRAP_TYP, kid })
    .encrypt(await importJWK({ kty, crv, x, y } as JWK, EVIDENCE_WRAP_ALG));
  return { participantId: recipient.participantId, kid, jwe };
}

/** Opens a wrap with the recipient's private key; checks it is for this recipient and this ciphertext. */
export async function unwrapContentKey(
  jwe: string,
  encPrivateJwk: JWK,
  expect: { participantId: string; sha256: string },
): Promise<Uint8Array> {
  const { plaintext } = await compactDecrypt(jwe, await importJWK(encPrivateJwk, EVIDENCE_WRAP_ALG), {
    keyManagementAlgorithms: [EVIDENCE_WRAP_ALG],
    contentEncryptionAlgorithms: [EVIDENCE_WRAP_ENC],
  });
  const p = JSON.parse(dec.decode(plaintext)) as ContentKeyPlaintext;
  if (p.typ !== EVIDENCE_WRAP_TYP || p.participantId !== expect.participantId || p.sha256 !== expect.sha256)
    throw new Error("the wrapped key is not for this recipient and this ciphertext");
  const key = fromB64url(p.key);
  if (key.byteLength !== 32) throw new Error("the wrapped key is not 256 bits");
  return key;
}

// ---- the node's endpoints --------------------------------------------------------------------

/** Generates a key-wrapping key pair and registers its public half (POST /v1/evidence/keys). */
export async function registerEvidenceKey(
  client: EusnClient,
  pair?: EncKeyPair,
): Promise<{ pair: EncKeyPair; result: Result<WriteReceipt> }> {
  const p = pair ?? (await generateEncKeyPair());
  const result = await client.write<WriteReceipt>("/v1/evidence/keys", "evidence.enckey.set", {
    participantId: client.participantId,
    jwk: p.publicJwk,
  });
  return { pair: p, result };
}

export async function evidenceKeys(client: EusnClient): Promise<EvidenceEncKeyView[]> {
  const res = await client.get<{ encKeys: EvidenceEncKeyView[] }>("/v1/evidence/keys");
  if (!res.ok)
    throw new Error(`GET /v1/evidence/keys: ${res.status} ${res.problem.detail ?? res.problem.title}`);
  return res.data.encKeys;
}

/**
 * Whom a case file goes to: every active authority with a registered key (of `memberStates` when
 * given), the named coordinators, and the submitter itself (it re-wraps later).
 */
export function chooseRecipients(
  keys: readonly EvidenceEncKeyView[],
  me: string,
  opts: { memberStates?: readonly string[] | undefined; coordinators?: readonly string[] | undefined } = {},
): EvidenceEncKeyView[] {
  return keys.filter(
    (k) =>
      k.participantId === me ||
      (k.role === "authority" && (!opts.memberStates || opts.memberStates.includes(k.memberState ?? ""))) ||
      (k.role === "coordinator" && (opts.coordinators ?? []).includes(k.participantId)),
  );
}

export type Progress = { phase: "encrypt" | "upload" | "complete" | "sign"; done: number; total: number };

/** Where an upload stands, so an interrupted one resumes (the CLI keeps it beside the file). */
export type UploadState = { uploadId: string; partSize: number; parts: number; received: number[] };

/** Reads bytes [start, end) of the ciphertext (from memory, or from a file for a large video). */
export type CiphertextSource = {
  size: number;
  sha256: string;
  read(start: number, end: number): Promise<Uint8Array>;
};

export const memorySource = (ciphertext: Uint8Array, sha256: string): CiphertextSource => ({
  size: ciphertext.byteLength,
  sha256,
  read: async (start, end) => ciphertext.subarray(start, end),
});

/**
 * Uploads a ciphertext in parts and completes the upload; resumes `resume` (an earlier upload's
 * id) by sending only the parts the node has not received.
 */
export async function uploadCiphertext(
  client: EusnClient,
  o: {
    submissionId: string;
    mediaClass: EvidenceMediaClass;
    source: CiphertextSource;
    resume?: string | undefined;
    onProgress?: ((p: Progress) => void) | undefined;
    onState?: ((s: UploadState) => void) | undefined;
  },
): Promise<UploadView> {
  let view: UploadView;
  if (o.resume) {
    const res = await client.get<UploadView>(`/v1/evidence/uploads/${o.resume}`);
    if (!res.ok)
      throw new Error(`resume ${o.resume}: ${res.status} ${res.problem.detail ?? res.problem.title}`);
    view = res.data;
  } else {
    const res = await client.postJson<UploadView>("/v1/evidence/uploads", {
      submissionId: o.submissionId,
      mediaClass: o.mediaClass,
      size: o.source.size,
      sha256: o.source.sha256,
    });
    if (!res.ok) throw new Error(`upload: ${res.status} ${res.problem.detail ?? res.problem.title}`);
    view = res.data;
  }
  const received = new Set(view.received);
  const state = (): UploadState => ({
    uploadId: view.uploadId,
    partSize: view.partSize,
    parts: view.parts,
    received: [...received].sort((a, b) => a - b),
  });
  o.onState?.(state());
  for (let n = 1; n <= view.parts; n++) {
    if (!received.has(n) && view.status === "open") {
      const start = (n - 1) * view.partSize;
      const bytes = await o.source.read(start, Math.min(o.source.size, start + view.partSize));
      const res = await client.get<UploadView>(`/v1/evidence/uploads/${view.uploadId}/parts/${n}`, {
        method: "PUT",
        headers: { "content-type": "application/octet-stream" },
        body: bytes as BodyInit,
      });
      if (!res.ok) throw new Error(`part ${n}: ${res.status} ${res.problem.detail ?? res.problem.title}`);
      received.add(n);
      o.onState?.(state());
    }
    o.onProgress?.({
      phase: "upload",
      done: Math.min(o.source.size, n * view.partSize),
      total: o.source.size,
    });
  }
  o.onProgress?.({ phase: "complete", done: 0, total: 1 });
  const done = await client.postJson<UploadView>(`/v1/evidence/uploads/${view.uploadId}/complete`, {});
  if (!done.ok) throw new Error(`complete: ${done.status} ${done.problem.detail ?? done.problem.title}`);
  return done.data;
}

export type AttachOptions = {
  submissionId: string;
  mediaClass: EvidenceMediaClass;
  /** Restrict to these member states' authorities (required for TLP:RED entries). */
  memberStates?: string[] | undefined;
  /** Coordinators to include (none by default). */
  coordinators?: string[] | undefined;
  onProgress?: ((p: Progress) => void) | undefined;
};

/**
 * Wraps the content key for the recipients, uploads the ciphertext and signs the case file.
 * The ciphertext was encrypted beforehand (encryptCaseFile, or the CLI's file-to-file stream).
 */
export async function attachEncrypted(
  client: EusnClient,
  encrypted: { key: Uint8Array; source: CiphertextSource },
  o: AttachOptions & { resume?: string | undefined; onState?: ((s: UploadState) => void) | undefined },
): Promise<{ caseFileId: string; sha256: string; recipients: string[]; receipt: WriteReceipt }> {
  const keys = chooseRecipients(await evidenceKeys(client), client.participantId, o);
  if (!keys.some((k) => k.participantId === client.participantId))
    throw new Error("register your encryption key first (eusn evidence keygen / registerEvidenceKey)");
  const sha256 = encrypted.source.sha256;
  const recipients = await Promise.all(
    keys.map((k) =>
      wrapContentKey(encrypted.key, sha256, { participantId: k.participantId, jwk: k.jwk as JWK }),
    ),
  );
  await uploadCiphertext(client, { ...o, source: encrypted.source });
  o.onProgress?.({ phase: "sign", done: 0, total: 1 });
  const res = await client.write<WriteReceipt & { caseFileId: string }>("/v1/evidence", "evidence.create", {
    submissionId: o.submissionId,
    mediaClass: o.mediaClass,
    ciphertext: { sha256, size: encrypted.source.size },
    ...(o.memberStates ? { memberStates: o.memberStates } : {}),
    recipients,
  });
  if (!res.ok) throw new Error(`case file: ${res.status} ${res.problem.detail ?? res.problem.title}`);
  return {
    caseFileId: res.data.caseFileId,
    sha256,
    recipients: keys.map((k) => k.participantId),
    receipt: res.data,
  };
}

/** Encrypts `file` with its context here, then attaches it (attachEncrypted). */
export async function attachCaseFile(
  client: EusnClient,
  file: Uint8Array,
  context: CaseFileContext,
  o: AttachOptions,
) {
  const e = await encryptCaseFile(file, context);
  return attachEncrypted(client, { key: e.key, source: memorySource(e.ciphertext, e.sha256) }, o);
}

export async function getCaseFile(client: EusnClient, id: string): Promise<Result<CaseFileView>> {
  return client.get<CaseFileView>(`/v1/evidence/${id}`);
}

/**
 * Downloads the ciphertext (audited by the node that holds it) and checks its SHA-256 against the
 * signed one. A case file replicated from another node names that node's URL: the token is then
 * signed for the origin node (its `aud`), which checks the reader's wrap itself.
 */
export async function downloadCiphertext(client: EusnClient, view: CaseFileView): Promise<Uint8Array> {
  const elsewhere = /^https?:\/\//.test(view.contentUrl) && view.originNode !== client.nodeId;
  const res = await client.fetchRaw(view.contentUrl, {}, elsewhere ? view.originNode : client.nodeId);
  if (!res.ok) throw new Error(`download: ${res.status} ${await res.text()}`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  const got = await sha256Hex(bytes);
  if (got !== view.sha256)
    throw new Error(`the ciphertext's SHA-256 is ${got}, not the signed ${view.sha256}`);
  return bytes;
}

/** Fetches, checks and decrypts a case file with your encryption private key. */
export async function openCaseFile(
  client: EusnClient,
  id: string,
  encPrivateJwk: JWK,
): Promise<{ view: CaseFileView; context: CaseFileContext; file: Uint8Array }> {
  const res = await getCaseFile(client, id);
  if (!res.ok) throw new Error(`case file ${id}: ${res.status} ${res.problem.detail ?? res.problem.title}`);
  const view = res.data;
  const key = await unwrapContentKey(view.wrapped.jwe, encPrivateJwk, {
    participantId: client.participantId,
    sha256: view.sha256,
  });
  const ciphertext = await downloadCiphertext(client, view);
  return { view, ...(await decryptCaseFile(ciphertext, key)) };
}

/** Who opened your case file (its submitter). */
export async function caseFileOpens(client: EusnClient, id: string): Promise<Result<CaseFileOpens>> {
  return client.get<CaseFileOpens>(`/v1/evidence/${id}/opens`);
}

/**
 * Re-wraps a case file of yours for every recipient whose wrap is under a replaced key (or for
 * `more` recipients): opens your own wrap, wraps again to their current keys, signs the re-wrap.
 */
export async function rewrapCaseFile(
  client: EusnClient,
  id: string,
  encPrivateJwk: JWK,
  more: string[] = [],
): Promise<{ rewrapped: string[]; result: Result<WriteReceipt> | null }> {
  const res = await getCaseFile(client, id);
  if (!res.ok) throw new Error(`case file ${id}: ${res.status} ${res.problem.detail ?? res.problem.title}`);
  const view = res.data;
  const key = await unwrapContentKey(view.wrapped.jwe, encPrivateJwk, {
    participantId: client.participantId,
    sha256: view.sha256,
  });
  const stale = (view.recipients ?? []).filter((r) => !r.current).map((r) => r.participantId);
  const wanted = new Set([...stale, ...more]);
  const keys = (await evidenceKeys(client)).filter((k) => wanted.has(k.participantId));
  if (keys.length === 0) return { rewrapped: [], result: null };
  const recipients = await Promise.all(
    keys.map((k) => wrapContentKey(key, view.sha256, { participantId: k.participantId, jwk: k.jwk as JWK })),
  );
  const result = await client.write<WriteReceipt>(`/v1/evidence/${id}/wraps`, "evidence.rewrap", {
    caseFileId: id,
    recipients,
  });
  return { rewrapped: keys.map((k) => k.participantId), result };
}
