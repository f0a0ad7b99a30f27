// GET /v1/baseline/export: the baseline as a plain hash list (csv `type,value,id` or jsonl) that an
// existing matcher can bulk-load. Resumable: the cursor is the change-feed position at which each
// entry entered the baseline, so new entries only ever land after the last page a client read.
// See docs/taxii.md "Hash-list export".
import { EXPORT_CONTENT_TYPES, type ExportLine, ExportQuery } from "@eusn/protocol";
import { createRoute, z } from "@hono/zod-openapi";
import { access } from "../auth/access.ts";
import { nowIso } from "../lib/encoding.ts";
import { bearerSecurity, problems, type RouteContext, router } from "../lib/hono.ts";
import { baselineVersion, exportRows } from "../store/changes.ts";
import { frameCountsOf, type StoredVideo, videosOf } from "../store/videos.ts";

/** Video frames per jsonl page at most (about 100 bytes each as JSON), past the first entry. */
const VIDEO_FRAMES_PER_PAGE = 50_000;

const app = router();
const participants = ["coordinator", "authority", "platform"] as const;

export const exportBaselineRoute = createRoute({
  method: "get",
  path: "/v1/baseline/export",
  tags: ["baseline"],
  summary: "The baseline as a hash list for bulk loading (csv `type,value,id` or jsonl), resumable",
  description:
    "csv: a header line `type,value,id`, then one line per hash (type pdq|md5|sha256|vpdq, lower-case hex value, entry id; a vpdq value names a video by the SHA-256 of its frames, whose hashes are in jsonl). jsonl: one JSON object per line ({type, value, id, quality, state, tlp, expiresAt}, and `video` with the frames for vpdq; a page ends early at 50,000 video frames). Pages in the order entries entered the baseline; pass `X-EUSN-Next` as `after` for the next page while `X-EUSN-More` is true, and keep it to fetch only newer inclusions later. Removals are not in the export: reload in full, or follow /v1/reversals or the TAXII feed.",
  security: bearerSecurity,
  middleware: [access(participants)] as const,
  request: { query: ExportQuery },
  responses: {
    200: {
      description: "One page of the hash list; headers X-EUSN-Next, X-EUSN-More, X-EUSN-Baseline-Version",
      content: {
        [EXPORT_CONTENT_TYPES.csv]: { schema: z.string() },
        [EXPORT_CONTENT_TYPES.jsonl]: { schema: z.string() },
      },
    },
    ...problems(400, 401, 403),
  },
});
export async function exportBaseline(c: RouteContext<typeof exportBaselineRoute>) {
  const { format, after, limit } = c.req.valid("query");
  const version = await baselineVersion(c.var.db);
  const rows = await exportRows(c.var.db, after, limit, nowIso());
  let more = rows.length > limit;
  let shown = rows.slice(0, limit);
  // jsonl carries video entries' frames: a page ends early once it holds VIDEO_FRAMES_PER_PAGE
  // frames (at least one entry), so a page of 10,800-frame videos stays a few MB.
  const videos =
    format === "jsonl" && shown.some((r) => r.signal_type === "vpdq")
      ? await (async () => {
          const counts = await frameCountsOf(
            c.var.db,
            shown.filter((r) => r.signal_type === "vpdq").map((r) => r.id),
          );
          let frames = 0;
          const cut = shown.findIndex((r, i) => {
            frames += counts.get(r.id) ?? 0;
            return i > 0 && frames > VIDEO_FRAMES_PER_PAGE;
          });
          if (cut > 0) {
            shown = shown.slice(0, cut);
            more = true;
          }
          return videosOf(
            c.var.db,
            shown.filter((r) => r.signal_type === "vpdq").map((r) => r.id),
          );
        })()
      : new Map<string, StoredVideo>();
  const next = shown.length > 0 ? shown[shown.length - 1]!.pos : after;
  let body: string;
  if (format === "csv") {
    // Hex values and ids never contain commas, quotes or line breaks: no quoting needed.
    body = `type,value,id\n${shown.map((r) => `${r.signal_type},${r.value},${r.id}\n`).join("")}`;
  } else {
    body = shown
      .map((r) => {
        const line: ExportLine = {
          type: r.signal_type,
          value: r.value,
          id: r.id,
          quality: r.quality,
          state: r.baseline_state,
          tlp: r.tlp,
          expiresAt: r.expires_at,
        };
        const v = videos.get(r.id);
        if (v)
          line.video = { frameCount: v.frameCount, durationSeconds: v.durationSeconds, frames: v.frames };
        return `${JSON.stringify(line)}\n`;
      })
      .join("");
  }
  const headers: Record<string, string> = {
    "content-type": EXPORT_CONTENT_TYPES[format],
    "x-eusn-next": String(next),
    "x-eusn-more": String(more),
    "x-eusn-baseline-version": String(version),
    "cache-control": "no-store",
  };
  if (more) {
    const url = new URL(c.req.url);
    url.searchParams.set("after", String(next));
    headers.link = `<${url.pathname}${url.search}>; rel="next"`;
  }
  return c.body(body, 200, headers);
}
app.openapi(exportBaselineRoute, exportBaseline);

export default app;
