// Video entries' frames (schema/videos.ts), read whole for the scorer of POST /v1/match and for
// exports. No Hono types here.
import type { VpdqFrame } from "@eusn/protocol";
import { inArray } from "drizzle-orm";
import { submissionVideos } from "../../../schema/index.ts";
import { chunk, type Db } from "../lib/db.ts";
import { unpackFrames } from "../lib/vpdq-frames.ts";

export type StoredVideo = { frameCount: number; durationSeconds: number; frames: VpdqFrame[] };

const asBytes = (v: ArrayBuffer | number[] | Uint8Array) =>
  v instanceof Uint8Array ? v : Array.isArray(v) ? Uint8Array.from(v) : new Uint8Array(v);

/** The frames of the video entries with these match keys, by key; 20 videos per D1 query. */
export async function videosByKey(
  d1: D1Database,
  keys: readonly number[],
): Promise<Map<number, StoredVideo>> {
  const out = new Map<number, StoredVideo>();
  for (let i = 0; i < keys.length; i += 20) {
    const got = await d1
      .prepare(
        `SELECT s.match_key, v.frame_count, v.duration_seconds, v.frames
           FROM submissions s JOIN submission_videos v ON v.submission_id = s.id
          WHERE s.match_key IN (SELECT value FROM json_each(?1))`,
      )
      .bind(JSON.stringify(keys.slice(i, i + 20)))
      .all<{
        match_key: number;
        frame_count: number;
        duration_seconds: number;
        frames: ArrayBuffer | number[];
      }>();
    for (const r of got.results)
      out.set(r.match_key, {
        frameCount: r.frame_count,
        durationSeconds: r.duration_seconds,
        frames: unpackFrames(asBytes(r.frames), r.frame_count),
      });
  }
  return out;
}

/** The frames of the video entries with these submission ids, by id. */
export async function videosById(d1: D1Database, ids: readonly string[]): Promise<Map<string, StoredVideo>> {
  const out = new Map<string, StoredVideo>();
  for (let i = 0; i < ids.length; i += 20) {
    const got = await d1
      .prepare(
        `SELECT submission_id, frame_count, duration_seconds, frames FROM submission_videos
          WHERE submission_id IN (SELECT value FROM json_each(?1))`,
      )
      .bind(JSON.stringify(ids.slice(i, i + 20)))
      .all<{
        submission_id: string;
        frame_count: number;
        duration_seconds: number;
        frames: ArrayBuffer | number[];
      }>();
    for (const r of got.results)
      out.set(r.submission_id, {
        frameCount: r.frame_count,
        durationSeconds: r.duration_seconds,
        frames: unpackFrames(asBytes(r.frames), r.frame_count),
      });
  }
  return out;
}

/** The same through drizzle, for the readers that hold a `Db` (TAXII, the export). */
export async function videosOf(db: Db, ids: readonly string[]): Promise<Map<string, StoredVideo>> {
  const out = new Map<string, StoredVideo>();
  for (const part of chunk([...ids], 50)) {
    const rows = await db.select().from(submissionVideos).where(inArray(submissionVideos.submissionId, part));
    for (const r of rows)
      out.set(r.submissionId, {
        frameCount: r.frameCount,
        durationSeconds: r.durationSeconds,
        frames: unpackFrames(r.frames, r.frameCount),
      });
  }
  return out;
}

/** The frame count and duration of these video entries, by id (the submission views). */
export async function videoSizesOf(
  db: Db,
  ids: readonly string[],
): Promise<Map<string, { frameCount: number; durationSeconds: number }>> {
  const out = new Map<string, { frameCount: number; durationSeconds: number }>();
  for (const part of chunk([...ids], 90)) {
    const rows = await db
      .select({
        id: submissionVideos.submissionId,
        frameCount: submissionVideos.frameCount,
        durationSeconds: submissionVideos.durationSeconds,
      })
      .from(submissionVideos)
      .where(inArray(submissionVideos.submissionId, part));
    for (const r of rows) out.set(r.id, { frameCount: r.frameCount, durationSeconds: r.durationSeconds });
  }
  return out;
}

/** The frame counts of these video entries (a reader's page budget), by id. */
export async function frameCountsOf(db: Db, ids: readonly string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const part of chunk([...ids], 90)) {
    const rows = await db
      .select({ id: submissionVideos.submissionId, n: submissionVideos.frameCount })
      .from(submissionVideos)
      .where(inArray(submissionVideos.submissionId, part));
    for (const r of rows) out.set(r.id, r.n);
  }
  return out;
}
