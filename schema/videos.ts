// Video (vPDQ) submissions: the frame hashes of each video entry, beside its `submissions` row.
import { customType, integer, real, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** A BLOB as a Uint8Array (D1 may hand BLOBs back as ArrayBuffer or as an array of numbers). */
const bytes = customType<{ data: Uint8Array; driverData: ArrayBuffer | number[] | Uint8Array }>({
  dataType: () => "blob",
  toDriver: (value) => value.slice().buffer as ArrayBuffer,
  fromDriver: (value) =>
    value instanceof Uint8Array
      ? value
      : Array.isArray(value)
        ? Uint8Array.from(value)
        : new Uint8Array(value as ArrayBuffer),
});

/**
 * One row per video entry, keyed to its submission. The frames are one packed BLOB
 * (workers/api/lib/vpdq-frames.ts), not a row per frame: a video's frames are written once, in
 * the submission's batch, and only ever read whole (by the match shard and the scorer), never
 * queried one by one. A row per frame would take 540 statements for a 10,800-frame video at D1's
 * 100 bound parameters, and 10,800 index entries; the BLOB is one statement and one row of
 * 45 bytes a frame (486 KB at most, under D1's 2 MB row limit). The hashes come first, so the
 * shard reads only them (`substr(frames, 1, 32 * frame_count)`). The signed record that carried
 * the frames stays in `records`, byte for byte.
 */
export const submissionVideos = sqliteTable("submission_videos", {
  submissionId: text("submission_id").primaryKey(),
  frameCount: integer("frame_count").notNull(),
  durationSeconds: real("duration_seconds").notNull(),
  frames: bytes("frames").notNull(),
});
