// /v1/evidence: case files, end-to-end encrypted evidence attached to a submission (design in
// docs/evidence.md). Authorities and coordinators register key-wrapping keys; the submitting
// authority uploads the ciphertext in parts (R2 multipart, resumable), then signs the case file
// naming its SHA-256 and size and the content key wrapped per recipient; recipients fetch their
// wrap and the ciphertext (every download audited); the submitter sees who opened it and
// re-wraps for a recipient that replaced its key. A reader without a wrapped key gets 404, as
// for a case file that does not exist.

import {
  CaseFileIdParam,
  CaseFileList,
  CaseFileOpens,
  CaseFileView,
  ciphertextLimit,
  EVIDENCE_MAGIC,
  EVIDENCE_PART_BYTES,
  EvidenceEncKeyList,
  newId,
  UploadIdParam,
  UploadPartParam,
  UploadRequest,
  UploadView,
} from "@eusn/protocol";
import { createRoute, z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { evidenceUploadParts, evidenceUploads } from "../../../schema/index.ts";
import { createCaseFile, rewrapCaseFile, setEvidenceEncKey } from "../apply/evidence.ts";
import { access } from "../auth/access.ts";
import { config } from "../config.ts";
import type { Env } from "../env.ts";
import {
  bearerSecurity,
  problems,
  type RouteContext,
  receiptResponse,
  router,
  signedBody,
} from "../lib/hono.ts";
import { ApiError } from "../lib/problem.ts";
import {
  auditOpen,
  caseFileView,
  evidenceEncKeys,
  getUpload,
  opensOf,
  partCount,
  partLength,
  readableCaseFiles,
  receivedParts,
  uploadView,
} from "../store/evidence.ts";
import { getSubmission } from "../store/submissions.ts";
import { signedWrite } from "./signed-write.ts";

const app = router();
const READERS = ["authority", "coordinator"] as const;
const tags = ["evidence"];

/** The path the part uploads use; the app's 2 MiB body limit does not apply to it (each part is checked here). */
export const EVIDENCE_PART_PATH = /^\/v1\/evidence\/uploads\/[^/]+\/parts\/[^/]+$/;

const retention = (env: Env) => config(env).evidence.retentionDays;

/** Where a reader fetches the ciphertext: here, or on the node that accepted the case file. */
function contentUrl(env: Env, id: string, originNode: string): string {
  const path = `/v1/evidence/${id}/content`;
  if (originNode === env.NODE_ID) return path;
  try {
    const peer = config(env).federation.peers.find((p) => p.nodeId === originNode);
    if (peer) return `${peer.url.replace(/\/$/, "")}${path}`;
  } catch {
    // A malformed PEERS: the reader still learns the origin node from `originNode`.
  }
  return path;
}

// ---- encryption keys -------------------------------------------------------------------------

export const postEvidenceKeyRoute = createRoute({
  method: "post",
  path: "/v1/evidence/keys",
  tags,
  summary: "Set your key-wrapping public key for case files (authority, coordinator)",
  description:
    "A P-256 public key to which submitters wrap case files' content keys (JWE ECDH-ES+A256KW), the same mechanism platforms use for selector keys. Replaces the previous one: case files wrapped to the old key stay openable with the old private key until their submitters re-wrap them.",
  request: { body: signedBody("evidence.enckey.set", "SetEvidenceEncKeyRecord") },
  responses: { 201: receiptResponse, ...problems(400, 401, 403, 409, 413, 415) },
});
export const postEvidenceKey = signedWrite({ applier: setEvidenceEncKey });
app.openapi(postEvidenceKeyRoute, postEvidenceKey);

export const getEvidenceKeysRoute = createRoute({
  method: "get",
  path: "/v1/evidence/keys",
  tags,
  summary: "Active authorities' and coordinators' key-wrapping keys (authority, coordinator)",
  security: bearerSecurity,
  middleware: [access(READERS)] as const,
  responses: {
    200: {
      description: "One current key per active authority or coordinator that registered one",
      content: { "application/json": { schema: EvidenceEncKeyList } },
    },
    ...problems(401, 403),
  },
});
export async function getEvidenceKeys(c: RouteContext<typeof getEvidenceKeysRoute>) {
  return c.json({ encKeys: await evidenceEncKeys(c.var.db) }, 200);
}
app.openapi(getEvidenceKeysRoute, getEvidenceKeys);

// ---- uploads ---------------------------------------------------------------------------------

const uploadResponse = (description: string) => ({
  description,
  content: { "application/json": { schema: UploadView } },
});

export const postUploadRoute = createRoute({
  method: "post",
  path: "/v1/evidence/uploads",
  tags,
  summary: "Start uploading a case file's ciphertext (submitting authority)",
  description: `Declares the ciphertext's size and SHA-256 for one of your live submissions and opens a multipart upload: PUT the parts (every one ${EVIDENCE_PART_BYTES} bytes but the last), then POST …/complete. Ciphertexts above the class's limit (25 MB images, 500 MB videos, plus the encryption overhead) are refused (413).`,
  security: bearerSecurity,
  middleware: [access(["authority"])] as const,
  request: { body: { required: true, content: { "application/json": { schema: UploadRequest } } } },
  responses: { 201: uploadResponse("The upload is open"), ...problems(400, 401, 403, 404, 413) },
});
export async function postUpload(c: RouteContext<typeof postUploadRoute>) {
  const me = c.var.caller!.participant.id;
  const body = c.req.valid("json");
  const limit = ciphertextLimit(body.mediaClass);
  if (body.size > limit)
    throw new ApiError(
      "payload_too_large",
      `a ${body.mediaClass} case file is at most ${limit} bytes of ciphertext`,
    );
  const sub = await getSubmission(c.var.db, body.submissionId);
  if (!sub || sub.submitterId !== me || sub.status !== "live")
    throw new ApiError("not_found", `no live submission ${body.submissionId} of yours`);
  const id = newId("upload");
  const r2Key = `case-files/${id}`;
  const mpu = await c.env.EVIDENCE.createMultipartUpload(r2Key, {
    httpMetadata: { contentType: "application/octet-stream" },
  });
  const row = {
    id,
    participantId: me,
    submissionId: body.submissionId,
    mediaClass: body.mediaClass,
    size: body.size,
    sha256: body.sha256,
    partSize: EVIDENCE_PART_BYTES,
    r2Key,
    r2UploadId: mpu.uploadId,
    status: "open" as const,
    createdAt: Math.floor(Date.now() / 1000),
  };
  await c.var.db.insert(evidenceUploads).values(row);
  return c.json(await uploadView(c.var.db, row), 201);
}
app.openapi(postUploadRoute, postUpload);

export const getUploadRoute = createRoute({
  method: "get",
  path: "/v1/evidence/uploads/{id}",
  tags,
  summary: "An upload of yours: which parts arrived (to resume)",
  security: bearerSecurity,
  middleware: [access(["authority"])] as const,
  request: { params: UploadIdParam },
  responses: { 200: uploadResponse("The upload"), ...problems(401, 403, 404) },
});
export async function getUploadState(c: RouteContext<typeof getUploadRoute>) {
  const u = await getUpload(c.var.db, c.req.valid("param").id, c.var.caller!.participant.id);
  if (!u) throw new ApiError("not_found", "no such upload of yours");
  return c.json(await uploadView(c.var.db, u), 200);
}
app.openapi(getUploadRoute, getUploadState);

/** Reads exactly `expected` bytes of the body; more is 413, fewer 400 (nothing is stored). */
async function readExactly(req: Request, expected: number): Promise<Uint8Array> {
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > expected)
    throw new ApiError("payload_too_large", `this part is ${expected} bytes; the body is ${declared}`);
  if (!req.body) throw new ApiError("bad_request", `send the part's ${expected} bytes`);
  const out = new Uint8Array(expected);
  let n = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (n + value.byteLength > expected) {
      await reader.cancel();
      throw new ApiError("payload_too_large", `this part is ${expected} bytes; the body is longer`);
    }
    out.set(value, n);
    n += value.byteLength;
  }
  if (n !== expected) throw new ApiError("bad_request", `this part is ${expected} bytes; the body has ${n}`);
  return out;
}

export const putPartRoute = createRoute({
  method: "put",
  path: "/v1/evidence/uploads/{id}/parts/{n}",
  tags,
  summary: "Upload part n of a ciphertext (1-based; repeatable, so an interrupted upload resumes)",
  description:
    "The body is the part's bytes (application/octet-stream): exactly the upload's part size, the last part the remainder. A part beyond the declared size, or longer than its share, is refused (413) without being stored.",
  security: bearerSecurity,
  middleware: [access(["authority"])] as const,
  request: {
    params: UploadPartParam,
    body: {
      required: true,
      content: { "application/octet-stream": { schema: z.string().openapi({ format: "binary" }) } },
    },
  },
  responses: {
    200: uploadResponse("The part was stored"),
    ...problems(400, 401, 403, 404, 409, 413),
  },
});
export async function putPart(c: RouteContext<typeof putPartRoute>) {
  const { id, n } = c.req.valid("param");
  const u = await getUpload(c.var.db, id, c.var.caller!.participant.id);
  if (!u) throw new ApiError("not_found", "no such upload of yours");
  if (u.status !== "open") throw new ApiError("conflict", `the upload is ${u.status}`);
  const parts = partCount(u);
  if (n > parts)
    throw new ApiError(
      "payload_too_large",
      `the declared ${u.size} bytes are ${parts} parts; part ${n} is beyond them`,
    );
  const bytes = await readExactly(c.req.raw, partLength(u, n));
  const part = await c.env.EVIDENCE.resumeMultipartUpload(u.r2Key, u.r2UploadId).uploadPart(n, bytes);
  await c.var.db
    .insert(evidenceUploadParts)
    .values({ uploadId: u.id, partNumber: n, etag: part.etag, size: bytes.byteLength })
    .onConflictDoUpdate({
      target: [evidenceUploadParts.uploadId, evidenceUploadParts.partNumber],
      set: { etag: part.etag, size: bytes.byteLength },
    });
  return c.json(await uploadView(c.var.db, u), 200);
}
app.openapi(putPartRoute, putPart);

/** SHA-256 (hex) and length of an R2 object, streamed (a 500 MB video is never in memory). */
async function digestObject(bucket: R2Bucket, key: string): Promise<{ sha256: string; size: number } | null> {
  const obj = await bucket.get(key);
  if (!obj) return null;
  // workerd's streaming digest (crypto.DigestStream): hashes as the object streams through.
  const ds = new (crypto as unknown as { DigestStream: typeof DigestStream }).DigestStream("SHA-256");
  await obj.body.pipeTo(ds);
  const hex = [...new Uint8Array(await ds.digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return { sha256: hex, size: obj.size };
}

export const completeUploadRoute = createRoute({
  method: "post",
  path: "/v1/evidence/uploads/{id}/complete",
  tags,
  summary: "Join the parts and check the ciphertext against its declared SHA-256",
  description:
    "Refused (422) when the joined bytes' SHA-256 or size differ from the declaration, or they are not a case-file ciphertext (EUSNCF01): the object is deleted and the upload fails, so nothing half-written remains. Then sign the case file (POST /v1/evidence) naming the same SHA-256.",
  security: bearerSecurity,
  middleware: [access(["authority"])] as const,
  request: { params: UploadIdParam },
  responses: {
    200: uploadResponse("The ciphertext is stored and checked"),
    ...problems(401, 403, 404, 409, 422),
  },
});
export async function completeUpload(c: RouteContext<typeof completeUploadRoute>) {
  // The request carries nothing this route needs, but clients send a body (`{}`): read it before
  // answering. Left unread, it stayed on the connection, and under wrangler dev the next request
  // on that connection (the signed case file, a POST, which the dev proxy does not retry) was
  // answered 503 "Your worker restarted mid-request" without reaching the Worker.
  await c.req.raw.arrayBuffer().catch(() => undefined);
  const db = c.var.db;
  const u = await getUpload(db, c.req.valid("param").id, c.var.caller!.participant.id);
  if (!u) throw new ApiError("not_found", "no such upload of yours");
  if (u.status === "complete") return c.json(await uploadView(db, u), 200);
  if (u.status !== "open") throw new ApiError("conflict", `the upload is ${u.status}`);
  const parts = await receivedParts(db, u.id);
  const missing: number[] = [];
  for (let n = 1; n <= partCount(u); n++) if (!parts.some((p) => p.partNumber === n)) missing.push(n);
  if (missing.length > 0)
    throw new ApiError(
      "conflict",
      `parts ${missing.slice(0, 20).join(", ")}${missing.length > 20 ? ", …" : ""} have not arrived`,
    );
  const bucket = c.env.EVIDENCE;
  await bucket
    .resumeMultipartUpload(u.r2Key, u.r2UploadId)
    .complete(parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag })));
  const fail = async (detail: string): Promise<never> => {
    await bucket.delete(u.r2Key);
    await db.update(evidenceUploads).set({ status: "failed" }).where(eq(evidenceUploads.id, u.id));
    throw new ApiError("unprocessable", detail);
  };
  const head = await bucket.get(u.r2Key, { range: { offset: 0, length: EVIDENCE_MAGIC.length } });
  const magic = head ? new TextDecoder().decode(await head.arrayBuffer()) : "";
  if (magic !== EVIDENCE_MAGIC)
    await fail(
      `not a case-file ciphertext (it must start with ${EVIDENCE_MAGIC}): encrypt on your machine first`,
    );
  const got = await digestObject(bucket, u.r2Key);
  if (!got || got.size !== u.size || got.sha256 !== u.sha256)
    await fail(
      `the ciphertext's SHA-256 is ${got?.sha256} (${got?.size} bytes), not the declared ${u.sha256} (${u.size} bytes)`,
    );
  await db
    .update(evidenceUploads)
    .set({ status: "complete" })
    .where(and(eq(evidenceUploads.id, u.id), eq(evidenceUploads.status, "open")));
  return c.json(await uploadView(db, { ...u, status: "complete" }), 200);
}
app.openapi(completeUploadRoute, completeUpload);

// ---- case files ------------------------------------------------------------------------------

export const postCaseFileRoute = createRoute({
  method: "post",
  path: "/v1/evidence",
  tags,
  summary: "Attach a case file to your submission (submitting authority)",
  description:
    "Names a completed upload by its ciphertext's SHA-256 and size (refused, 422, when no completed upload of yours has them) and carries the content key wrapped (JWE ECDH-ES+A256KW, typ eusn-content-key) for each recipient: authorities (of `memberStates` when given; required for TLP:RED), coordinators only if named, never platforms, and yourself.",
  request: { body: signedBody("evidence.create", "CreateCaseFileRecord") },
  responses: {
    201: {
      description: "The case file was accepted",
      content: {
        "application/json": {
          schema: z.object({ caseFileId: z.string() }).passthrough(),
        },
      },
    },
    ...problems(400, 401, 403, 404, 409, 413, 415, 422),
  },
});
export const postCaseFile = signedWrite({
  applier: createCaseFile,
  answer: ({ receipt, plan }) => ({ body: { ...receipt, caseFileId: plan.caseFileId }, status: 201 }),
});
app.openapi(postCaseFileRoute, postCaseFile);

export const listCaseFilesRoute = createRoute({
  method: "get",
  path: "/v1/evidence",
  tags,
  summary: "Case files you can open (authority, coordinator)",
  description:
    "Those with a content key wrapped for you, while retention allows; optionally of one submission.",
  security: bearerSecurity,
  middleware: [access(READERS)] as const,
  request: {
    query: z.object({
      submissionId: z
        .string()
        .regex(/^hsh_[0-9a-z]{1,40}$/)
        .optional(),
    }),
  },
  responses: {
    200: { description: "Case files", content: { "application/json": { schema: CaseFileList } } },
    ...problems(400, 401, 403),
  },
});
export async function listCaseFiles(c: RouteContext<typeof listCaseFilesRoute>) {
  const me = c.var.caller!.participant.id;
  const { submissionId } = c.req.valid("query");
  const rows = await readableCaseFiles(c.var.db, me, retention(c.env), submissionId ? { submissionId } : {});
  const caseFiles = await Promise.all(
    rows.map((r) => caseFileView(c.var.db, r, me, contentUrl(c.env, r.cf.id, r.cf.originNode))),
  );
  return c.json({ caseFiles }, 200);
}
app.openapi(listCaseFilesRoute, listCaseFiles);

const notFound = (id: string) => new ApiError("not_found", `no case file ${id} for you`);

export const getCaseFileRoute = createRoute({
  method: "get",
  path: "/v1/evidence/{id}",
  tags,
  summary: "A case file and your wrapped content key (recipients)",
  description:
    "404 for anyone without a wrapped key, and once retention has ended, exactly as for an id that does not exist.",
  security: bearerSecurity,
  middleware: [access(READERS)] as const,
  request: { params: CaseFileIdParam },
  responses: {
    200: { description: "The case file", content: { "application/json": { schema: CaseFileView } } },
    ...problems(401, 403, 404),
  },
});
export async function getCaseFile(c: RouteContext<typeof getCaseFileRoute>) {
  const me = c.var.caller!.participant.id;
  const { id } = c.req.valid("param");
  const [r] = await readableCaseFiles(c.var.db, me, retention(c.env), { id });
  if (!r) throw notFound(id);
  return c.json(await caseFileView(c.var.db, r, me, contentUrl(c.env, id, r.cf.originNode)), 200);
}
app.openapi(getCaseFileRoute, getCaseFile);

export const getCaseFileContentRoute = createRoute({
  method: "get",
  path: "/v1/evidence/{id}/content",
  tags,
  summary: "Download a case file's ciphertext (recipients; audited)",
  description:
    "Only on the node that accepted the case file (a replica answers 404 naming the origin: fetch `contentUrl` there with a token for that node). Every download is an `evidence.open` audit entry, written before the first byte is sent.",
  security: bearerSecurity,
  middleware: [access(READERS)] as const,
  request: { params: CaseFileIdParam },
  responses: {
    200: {
      description: "The ciphertext (EUSNCF01)",
      content: { "application/octet-stream": { schema: z.string().openapi({ format: "binary" }) } },
    },
    ...problems(401, 403, 404),
  },
});
export async function getCaseFileContent(c: RouteContext<typeof getCaseFileContentRoute>) {
  const me = c.var.caller!.participant.id;
  const { id } = c.req.valid("param");
  const [r] = await readableCaseFiles(c.var.db, me, retention(c.env), { id });
  if (!r) throw notFound(id);
  if (!r.cf.r2Key)
    throw new ApiError(
      "not_found",
      `the ciphertext of ${id} is on its origin node ${r.cf.originNode}: fetch ${contentUrl(c.env, id, r.cf.originNode)} with a token for that node`,
    );
  const obj = await c.env.EVIDENCE.get(r.cf.r2Key);
  if (!obj) throw notFound(id);
  await auditOpen(c.var.db, id, me, c.env.NODE_ID);
  return c.body(obj.body, 200, {
    "content-type": "application/octet-stream",
    "content-length": String(obj.size),
    "cache-control": "no-store",
    "x-content-sha256": r.cf.sha256,
  });
}
app.openapi(getCaseFileContentRoute, getCaseFileContent);

export const getCaseFileOpensRoute = createRoute({
  method: "get",
  path: "/v1/evidence/{id}/opens",
  tags,
  summary: "Who downloaded your case file, and when (its submitter)",
  security: bearerSecurity,
  middleware: [access(READERS)] as const,
  request: { params: CaseFileIdParam },
  responses: {
    200: {
      description: "Downloads, oldest first",
      content: { "application/json": { schema: CaseFileOpens } },
    },
    ...problems(401, 403, 404),
  },
});
export async function getCaseFileOpens(c: RouteContext<typeof getCaseFileOpensRoute>) {
  const me = c.var.caller!.participant.id;
  const { id } = c.req.valid("param");
  const [r] = await readableCaseFiles(c.var.db, me, retention(c.env), { id });
  if (!r || r.cf.submitterId !== me) throw notFound(id);
  return c.json({ caseFileId: id, opens: await opensOf(c.var.db, id) }, 200);
}
app.openapi(getCaseFileOpensRoute, getCaseFileOpens);

export const postRewrapRoute = createRoute({
  method: "post",
  path: "/v1/evidence/{id}/wraps",
  tags,
  summary: "Wrap a case file's content key again (its submitter)",
  description:
    "For recipients that replaced their encryption key (their wrap is `current: false`), or for more recipients within the case file's audience. Only the submitter can: the node never holds the key.",
  request: { params: CaseFileIdParam, body: signedBody("evidence.rewrap", "RewrapCaseFileRecord") },
  responses: { 201: receiptResponse, ...problems(400, 401, 403, 404, 413, 415, 422) },
});
export const postRewrap = signedWrite({
  applier: rewrapCaseFile,
  subject: { param: "id", field: "caseFileId", detail: "the record names another case file" },
});
app.openapi(postRewrapRoute, postRewrap);

export default app;
