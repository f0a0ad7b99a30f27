// Hashing video files in the browser (vPDQ): the file is read from memory, its H.264 track taken
// out of the MP4 container here, decoded by the browser's own decoder (WebCodecs VideoDecoder),
// and each picked frame PDQ-hashed at its own size with @eusn/vpdq, the code `eusn hash --format
// vpdq` uses. Nothing about the video but its frame hashes is ever sent.
//
// The frames follow the reference's rules (docs/video.md): frames counted in the decoder's output
// order, frame n hashed when n % trunc(S × frameRate) == 0, the frame rate the stream's average
// (frames over the track's duration), timestamps n / frameRate in float32. Pixels: the decoded
// 4:2:0 planes converted to RGB here with the BT.601 limited-range matrix the reference's swscale
// call applies (nearest chroma sample, 16.16 fixed point), whatever the stream's colour tags say;
// another layout is drawn on a canvas by the browser instead. The browser's decoder and this
// conversion are not FFmpeg's: hashes may differ from the CLI's by a few bits (measured in
// docs/video.md). The CLI is the reference path.
import type { PixelBuffer } from "@eusn/pdq";
import type { VpdqFrame } from "@eusn/protocol";
import { frameModulus, hashFrame, toFixedLikeC } from "@eusn/vpdq";

export type HashedVideo = {
  file: string;
  size: number;
  width: number;
  height: number;
  frameRate: number;
  /** Frames the decoder gave (the track's samples). */
  decoded: number;
  durationSeconds: number;
  /** The hashed frames as the wire has them: [frameNumber, quality, pdqHex, timestamp]. */
  frames: VpdqFrame[];
};

// ---- MP4 (ISO BMFF, ISO/IEC 14496-12) ------------------------------------------------------------

type Box = { type: string; start: number; body: number; end: number };

function boxes(view: DataView, from: number, to: number): Box[] {
  const out: Box[] = [];
  let at = from;
  while (at + 8 <= to) {
    let size = view.getUint32(at);
    const type = String.fromCharCode(
      view.getUint8(at + 4),
      view.getUint8(at + 5),
      view.getUint8(at + 6),
      view.getUint8(at + 7),
    );
    let body = at + 8;
    if (size === 1) {
      if (at + 16 > to) break;
      size = Number(view.getBigUint64(at + 8));
      body = at + 16;
    } else if (size === 0) size = to - at;
    if (size < body - at || at + size > to) throw new Error(`the MP4 box ${type} runs past its parent`);
    out.push({ type, start: at, body, end: at + size });
    at += size;
  }
  return out;
}

const child = (view: DataView, b: Box, type: string, skip = 0) =>
  boxes(view, b.body + skip, b.end).find((x) => x.type === type);

type Track = {
  codec: string;
  description: Uint8Array;
  width: number;
  height: number;
  timescale: number;
  duration: number;
  samples: { offset: number; size: number; dts: number; cts: number; key: boolean }[];
};

/** The first video track of an MP4 file with H.264 (avc1/avc3) samples. */
export function mp4VideoTrack(buf: ArrayBuffer): Track {
  const view = new DataView(buf);
  const moov = boxes(view, 0, buf.byteLength).find((b) => b.type === "moov");
  if (!moov) throw new Error("not an MP4 file with its index (moov)");
  for (const trak of boxes(view, moov.body, moov.end).filter((b) => b.type === "trak")) {
    const mdia = child(view, trak, "mdia");
    const hdlr = mdia && child(view, mdia, "hdlr");
    if (!mdia || !hdlr || view.getUint32(hdlr.body + 8) !== 0x76696465 /* vide */) continue;
    const mdhd = child(view, mdia, "mdhd")!;
    const v1 = view.getUint8(mdhd.body) === 1;
    const timescale = view.getUint32(mdhd.body + (v1 ? 20 : 12));
    const duration = v1 ? Number(view.getBigUint64(mdhd.body + 24)) : view.getUint32(mdhd.body + 16);
    const minf = child(view, mdia, "minf");
    const stbl = minf && child(view, minf, "stbl");
    if (!stbl) throw new Error("the video track has no sample table");
    const stsd = child(view, stbl, "stsd")!;
    const entry = boxes(view, stsd.body + 8, stsd.end)[0];
    if (!entry || (entry.type !== "avc1" && entry.type !== "avc3"))
      throw new Error(
        `the browser path reads H.264 in MP4, not ${entry?.type ?? "this"}: hash it with eusn hash --format vpdq`,
      );
    // VisualSampleEntry: 6 reserved, data_reference_index, 16 bytes, width, height, then 50 more.
    const width = view.getUint16(entry.body + 24);
    const height = view.getUint16(entry.body + 26);
    const avcC = boxes(view, entry.body + 78, entry.end).find((b) => b.type === "avcC");
    if (!avcC) throw new Error("the H.264 track has no avcC configuration");
    const description = new Uint8Array(buf, avcC.body, avcC.end - avcC.body);
    const hex2 = (i: number) => description[i]!.toString(16).padStart(2, "0");
    const codec = `${entry.type}.${hex2(1)}${hex2(2)}${hex2(3)}`;

    const table = (type: string) => child(view, stbl, type);
    const stsz = table("stsz")!;
    const fixed = view.getUint32(stsz.body + 4);
    const count = view.getUint32(stsz.body + 8);
    const sizes = Array.from({ length: count }, (_, i) =>
      fixed ? fixed : view.getUint32(stsz.body + 12 + 4 * i),
    );
    const stco = table("stco");
    const co64 = table("co64");
    const chunkOffsets: number[] = [];
    if (stco)
      for (let i = 0, n = view.getUint32(stco.body + 4); i < n; i++)
        chunkOffsets.push(view.getUint32(stco.body + 8 + 4 * i));
    else if (co64)
      for (let i = 0, n = view.getUint32(co64.body + 4); i < n; i++)
        chunkOffsets.push(Number(view.getBigUint64(co64.body + 8 + 8 * i)));
    const stsc = table("stsc")!;
    const runs = Array.from({ length: view.getUint32(stsc.body + 4) }, (_, i) => ({
      first: view.getUint32(stsc.body + 8 + 12 * i),
      perChunk: view.getUint32(stsc.body + 12 + 12 * i),
    }));
    const offsets: number[] = [];
    for (let c = 0; c < chunkOffsets.length && offsets.length < count; c++) {
      const run = runs.filter((r) => r.first <= c + 1).at(-1);
      let at = chunkOffsets[c]!;
      for (let k = 0; k < (run?.perChunk ?? 0) && offsets.length < count; k++) {
        offsets.push(at);
        at += sizes[offsets.length - 1]!;
      }
    }
    const stts = table("stts")!;
    const dts: number[] = [];
    let t = 0;
    for (let i = 0, n = view.getUint32(stts.body + 4); i < n; i++) {
      const c = view.getUint32(stts.body + 8 + 8 * i);
      const d = view.getUint32(stts.body + 12 + 8 * i);
      for (let k = 0; k < c && dts.length < count; k++, t += d) dts.push(t);
    }
    const ctts = table("ctts");
    const cto = new Array<number>(count).fill(0);
    if (ctts) {
      const v = view.getUint8(ctts.body);
      for (let i = 0, s = 0, n = view.getUint32(ctts.body + 4); i < n; i++) {
        const c = view.getUint32(ctts.body + 8 + 8 * i);
        const o = v === 1 ? view.getInt32(ctts.body + 12 + 8 * i) : view.getUint32(ctts.body + 12 + 8 * i);
        for (let k = 0; k < c && s < count; k++) cto[s++] = o;
      }
    }
    const stss = table("stss");
    const keys = new Set<number>();
    if (stss)
      for (let i = 0, n = view.getUint32(stss.body + 4); i < n; i++)
        keys.add(view.getUint32(stss.body + 8 + 4 * i));
    if (offsets.length !== count || dts.length !== count)
      throw new Error("the MP4 sample table is inconsistent");
    const samples = sizes.map((size, i) => {
      if (offsets[i]! + size > buf.byteLength)
        throw new Error("the file is truncated (a sample runs past its end)");
      return {
        offset: offsets[i]!,
        size,
        dts: dts[i]!,
        cts: dts[i]! + cto[i]!,
        key: !stss || keys.has(i + 1),
      };
    });
    return { codec, description, width, height, timescale, duration, samples };
  }
  throw new Error("no video track");
}

// ---- pixels --------------------------------------------------------------------------------------

/** BT.601 limited-range YUV → RGB in 16.16 fixed point (the coefficients of libswscale's tables). */
const CY = 76309;
const CRV = 104597;
const CGU = 25675;
const CGV = 53279;
const CBU = 132201;
const clip = (x: number) => Math.max(0, Math.min(x, 255));

/** A decoded frame's pixels as RGB at its visible size. */
async function framePixels(frame: VideoFrame): Promise<PixelBuffer> {
  const { x, y, width: w, height: h } = frame.visibleRect!;
  const format = frame.format;
  if (format === "I420" || format === "NV12") {
    const size = frame.allocationSize();
    const buf = new Uint8Array(size);
    const layout = await frame.copyTo(buf);
    const [py, pu] = layout;
    const rgb = new Uint8Array(w * h * 3);
    for (let r = 0; r < h; r++) {
      const yRow = py!.offset + (r + y) * py!.stride + x;
      const cr = (r + y) >> 1;
      for (let c = 0; c < w; c++) {
        const cc = (c + x) >> 1;
        let u: number;
        let v: number;
        if (format === "I420") {
          const pv = layout[2]!;
          u = buf[pu!.offset + cr * pu!.stride + cc]!;
          v = buf[pv.offset + cr * pv.stride + cc]!;
        } else {
          u = buf[pu!.offset + cr * pu!.stride + 2 * cc]!;
          v = buf[pu!.offset + cr * pu!.stride + 2 * cc + 1]!;
        }
        const yy = (buf[yRow + c]! - 16) * CY + 32768;
        const o = (r * w + c) * 3;
        rgb[o] = clip((yy + CRV * (v - 128)) >> 16);
        rgb[o + 1] = clip((yy - CGU * (u - 128) - CGV * (v - 128)) >> 16);
        rgb[o + 2] = clip((yy + CBU * (u - 128)) >> 16);
      }
    }
    return { width: w, height: h, channels: 3, data: rgb };
  }
  const canvas = new OffscreenCanvas(w, h);
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  if (!ctx) throw new Error("no 2D canvas in this browser");
  ctx.drawImage(frame, x, y, w, h, 0, 0, w, h);
  const img = ctx.getImageData(0, 0, w, h);
  return { width: w, height: h, channels: 4, data: img.data };
}

// ---- hashing -------------------------------------------------------------------------------------

/**
 * The vPDQ frames of an MP4 (H.264) video: one frame per `secondsPerHash` seconds (0: every frame),
 * as `eusn hash --format vpdq` picks them. `progress` is told the frames decoded so far.
 */
export async function hashVideo(
  file: File,
  opts: { secondsPerHash?: number; progress?: (decoded: number, total: number) => void } = {},
): Promise<HashedVideo> {
  if (typeof VideoDecoder === "undefined")
    throw new Error(`${file.name}: this browser has no WebCodecs video decoder; hash it with the eusn CLI`);
  const buf = await file.arrayBuffer();
  let track: Track;
  try {
    track = mp4VideoTrack(buf);
  } catch (e) {
    throw new Error(`${file.name}: ${(e as Error).message}`);
  }
  const n = track.samples.length;
  if (n === 0 || track.duration === 0 || track.timescale === 0)
    throw new Error(`${file.name}: the video track is empty`);
  const config: VideoDecoderConfig = {
    codec: track.codec,
    description: track.description,
    codedWidth: track.width,
    codedHeight: track.height,
  };
  const support = await VideoDecoder.isConfigSupported(config);
  if (!support.supported)
    throw new Error(`${file.name}: this browser cannot decode ${track.codec}; hash it with the eusn CLI`);
  const frameRate = (n * track.timescale) / track.duration;
  const modulus = frameModulus(opts.secondsPerHash ?? 1, frameRate);
  const frames: VpdqFrame[] = [];
  let decoded = 0;
  let width = track.width;
  let height = track.height;
  let failure: Error | null = null;
  // Frames are hashed one after another in the order the decoder gives them.
  let hashing: Promise<void> = Promise.resolve();
  const decoder = new VideoDecoder({
    output: (frame) => {
      const number = decoded++;
      if (number % modulus !== 0 || failure) {
        frame.close();
        return;
      }
      hashing = hashing.then(async () => {
        try {
          const pixels = await framePixels(frame);
          width = pixels.width;
          height = pixels.height;
          const r = hashFrame(number, frameRate, pixels);
          if (!r.ok) throw new Error(r.error.message);
          frames.push([number, r.value.quality, r.value.hash, Number(toFixedLikeC(r.value.timestamp, 3))]);
        } catch (e) {
          failure ??= e as Error;
        } finally {
          frame.close();
        }
      });
      opts.progress?.(decoded, n);
    },
    error: (e) => {
      failure ??= new Error(e.message);
    },
  });
  decoder.configure(config);
  const bytes = new Uint8Array(buf);
  for (const s of track.samples) {
    if (failure) break;
    decoder.decode(
      new EncodedVideoChunk({
        type: s.key ? "key" : "delta",
        timestamp: Math.round((s.cts * 1e6) / track.timescale),
        data: bytes.subarray(s.offset, s.offset + s.size),
      }),
    );
    // Bounded work in flight: wait while the decoder holds many chunks or frames wait to be hashed.
    while (decoder.decodeQueueSize > 8)
      await new Promise((r) => decoder.addEventListener("dequeue", r, { once: true }));
    await hashing;
  }
  if (!failure)
    await decoder.flush().catch((e: Error) => {
      failure ??= e;
    });
  await hashing;
  if (decoder.state !== "closed") decoder.close();
  if (failure) throw new Error(`${file.name}: ${(failure as Error).message}`);
  if (decoded !== n) throw new Error(`${file.name}: the decoder gave ${decoded} of ${n} frames`);
  return {
    file: file.name,
    size: file.size,
    width,
    height,
    frameRate,
    decoded,
    durationSeconds: Number(toFixedLikeC(track.duration / track.timescale, 3)),
    frames,
  };
}

/** True for a file the pages should hash as a video (by its type, or its name when it has none). */
export const isVideoFile = (f: File) => f.type.startsWith("video/") || /\.(mp4|m4v|mov)$/i.test(f.name);
