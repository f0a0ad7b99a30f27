// Case files (docs/evidence.md): end-to-end encrypted evidence attached to a submission. D1 holds
// the metadata and the wrapped content keys; the ciphertext is an R2 object (binding EVIDENCE) on
// the node that accepted the case file. Nothing here is plaintext or an unwrapped key. Authority
// and coordinator encryption keys live in `signal_enc_keys` beside the platforms' (one table of
// participants' key-wrapping keys, schema/signals.ts).
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * One row per case file (signed `evidence.create` record). `r2_key` is set on the origin node while
 * the ciphertext is stored, null on replicas (the ciphertext stays on its origin) and once purged.
 * `status` becomes `deleted` when the entry is withdrawn or reversed, or its retention ends; the
 * cron then deletes the R2 object.
 */
export const caseFiles = sqliteTable(
  "case_files",
  {
    id: text("id").primaryKey(),
    recordId: text("record_id").notNull(),
    submissionId: text("submission_id").notNull(),
    submitterId: text("submitter_id").notNull(),
    originNode: text("origin_node").notNull(),
    mediaClass: text("media_class", { enum: ["image", "video"] }).notNull(),
    sha256: text("sha256").notNull(),
    size: integer("size").notNull(),
    /** JSON array of member-state codes, or null: every active authority. */
    memberStates: text("member_states"),
    r2Key: text("r2_key"),
    status: text("status", { enum: ["live", "deleted"] })
      .notNull()
      .default("live"),
    createdAt: text("created_at").notNull(),
    deletedAt: text("deleted_at"),
  },
  (t) => [
    index("case_files_submission").on(t.submissionId),
    index("case_files_status").on(t.status),
    uniqueIndex("case_files_r2_key").on(t.r2Key),
  ],
);

/** The content key of a case file wrapped (JWE) for one recipient. Deleted with the case file. */
export const caseFileKeys = sqliteTable(
  "case_file_keys",
  {
    caseFileId: text("case_file_id").notNull(),
    participantId: text("participant_id").notNull(),
    encKid: text("enc_kid").notNull(),
    jwe: text("jwe").notNull(),
    recordId: text("record_id").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.caseFileId, t.participantId] }),
    index("case_file_keys_participant").on(t.participantId),
  ],
);

/**
 * An upload in progress (node-local, no signed record): an R2 multipart upload of a ciphertext
 * whose size and SHA-256 were declared up front. `complete` once the parts are joined and the
 * object's SHA-256 checked; `used` once a signed case file names it. Open or failed uploads older
 * than a day are aborted by the cron.
 */
export const evidenceUploads = sqliteTable(
  "evidence_uploads",
  {
    id: text("id").primaryKey(),
    participantId: text("participant_id").notNull(),
    submissionId: text("submission_id").notNull(),
    mediaClass: text("media_class", { enum: ["image", "video"] }).notNull(),
    size: integer("size").notNull(),
    sha256: text("sha256").notNull(),
    partSize: integer("part_size").notNull(),
    r2Key: text("r2_key").notNull(),
    r2UploadId: text("r2_upload_id").notNull(),
    status: text("status", { enum: ["open", "complete", "used", "failed"] })
      .notNull()
      .default("open"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [
    index("evidence_uploads_owner").on(t.participantId, t.sha256),
    index("evidence_uploads_age").on(t.createdAt),
  ],
);

/** The parts of an upload received so far (R2 etags), so a client can resume from the rest. */
export const evidenceUploadParts = sqliteTable(
  "evidence_upload_parts",
  {
    uploadId: text("upload_id").notNull(),
    partNumber: integer("part_number").notNull(),
    etag: text("etag").notNull(),
    size: integer("size").notNull(),
  },
  (t) => [primaryKey({ columns: [t.uploadId, t.partNumber] })],
);
