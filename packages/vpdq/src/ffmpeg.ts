// Video decoding for vPDQ in Node, with FFmpeg's command-line tools as child processes (Debian's
// `ffmpeg` package: `ffprobe` for the stream facts, `ffmpeg` for the frames). The frames come out
// of ffmpeg one at a time as PPM (a tiny header with the frame's size, then packed RGB24) through
// a named pipe (or its stdout) and are hashed as they arrive; the video is never held in memory.
//
// Conformance with the reference (ThreatExchange vpdq, which calls libavformat, libavcodec and
// libswscale directly) rests on these arguments, each checked against its output:
//   -map 0:v:0               the first video stream, as the reference picks it
//   -noautorotate            the reference hashes the decoded picture; it ignores rotation metadata
//   -fps_mode passthrough    every decoded frame once, in decode-output order: no frame-rate
//                            conversion dropping or duplicating frames
//   select=not(mod(n\,M))    frame n (counted from 0 as decoded) is hashed when n % M == 0; only
//                            those frames are converted and piped
//   scale=flags=area:in_color_matrix=bt601:in_range=…,format=rgb24
//                            libswscale to RGB24 at the frame's own size with SWS_AREA and
//                            swscale's default coefficients (BT.601) and range, as the reference's
//                            sws_getContext does: it never reads the stream's colour tags, so a
//                            stream tagged BT.709 (or full range without a yuvj format) must not
//                            change the conversion here either
//   file:PATH                the path is a file, never a protocol or URL FFmpeg would open
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { closeSync, constants, mkdtempSync, openSync, readFileSync, readSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PixelBuffer, Result } from "@eusn/pdq";
import { frameModulus, type VpdqFeature } from "./features.ts";
import { hashFrame } from "./hash.ts";

export type VideoErrorCode =
  | "ffmpeg_missing"
  | "not_a_video"
  | "still_image"
  | "no_video_stream"
  | "no_frame_rate"
  | "damaged"
  | "frame_size_changed"
  | "frame_too_small"
  | "no_frames";

export interface VideoError {
  readonly code: VideoErrorCode;
  /** One line, without the file name (the caller names the file). */
  readonly message: string;
}

export interface FfmpegTools {
  /** The ffmpeg executable (default: `ffmpeg` on PATH). */
  readonly ffmpeg?: string;
  /** The ffprobe executable (default: `ffprobe` on PATH). */
  readonly ffprobe?: string;
}

export const INSTALL_HINT =
  "FFmpeg's command-line tools are needed to decode video: install them (Debian/Ubuntu: sudo apt-get install ffmpeg; macOS: brew install ffmpeg)";

export interface VideoProbe {
  /** Frames per second: the stream's avg_frame_rate, or r_frame_rate when that is 0/0. */
  readonly frameRate: number;
  /** The same as FFmpeg gives it, e.g. "30000/1001". */
  readonly frameRateText: string;
  readonly width: number;
  readonly height: number;
  /** FFmpeg's name for the stream's pixel format, e.g. yuv420p, yuvj420p, yuv420p10le. */
  readonly pixelFormat: string;
  readonly codec: string;
  /** FFmpeg's name for the container, e.g. "mov,mp4,m4a,3gp,3g2,mj2". */
  readonly container: string;
  /** The frame count the container declares, when it declares one (MP4 does, Matroska not). */
  readonly declaredFrames: number | null;
  /** Duration in seconds from the stream or the container, when known. */
  readonly duration: number | null;
}

interface ProcessOutput {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a tool to completion; null when it could not be started because it is not installed. */
function run(command: string, args: readonly string[]): Promise<ProcessOutput | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      if (stderr.length < 16_384) stderr += d;
    });
    child.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") resolve(null);
      else reject(err);
    });
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** FFmpeg names a file it could not open as `file:PATH: reason`; the caller names the file itself. */
function ffmpegReason(line: string, path: string): string {
  return line
    .replace(/^\[[^\]]* @ 0x[0-9a-f]+\] /, "")
    .replace(/^\[(error|fatal|panic)\] /, "")
    .replace(`file:${path}: `, "")
    .trim();
}

function parseRate(text: unknown): number {
  if (typeof text !== "string") return 0;
  const m = /^(\d+)\/(\d+)$/.exec(text);
  if (!m) return 0;
  const num = Number(m[1]);
  const den = Number(m[2]);
  return num > 0 && den > 0 ? num / den : 0;
}

function positiveNumber(v: unknown): number | null {
  const n = typeof v === "string" ? Number(v) : Number.NaN;
  return Number.isFinite(n) && n > 0 ? n : null;
}

/** Containers FFmpeg uses for single pictures: a still image is not a video. */
function isStillImageContainer(container: string): boolean {
  return container === "image2" || container.endsWith("_pipe");
}

/** Reads the facts about the first video stream that hashing needs. */
export async function probeVideo(
  path: string,
  tools: FfmpegTools = {},
): Promise<Result<VideoProbe, VideoError>> {
  const out = await run(tools.ffprobe ?? "ffprobe", [
    "-v",
    "error",
    "-select_streams",
    "v:0",
    "-show_entries",
    "stream=codec_name,width,height,pix_fmt,avg_frame_rate,r_frame_rate,nb_frames,duration:format=format_name,duration",
    "-of",
    "json",
    `file:${path}`,
  ]);
  if (out === null) return { ok: false, error: { code: "ffmpeg_missing", message: INSTALL_HINT } };
  if (out.code !== 0) {
    const first = out.stderr.split("\n").find((l) => l.trim() !== "") ?? `ffprobe exited with ${out.code}`;
    return {
      ok: false,
      error: { code: "not_a_video", message: `not a video: ${ffmpegReason(first, path)}` },
    };
  }
  let info: {
    streams?: Array<Record<string, unknown>>;
    format?: Record<string, unknown>;
  };
  try {
    info = JSON.parse(out.stdout);
  } catch {
    return {
      ok: false,
      error: { code: "not_a_video", message: "not a video: ffprobe gave no readable answer" },
    };
  }
  const container = String(info.format?.format_name ?? "");
  const stream = info.streams?.[0];
  if (!stream) {
    return {
      ok: false,
      error: {
        code: "no_video_stream",
        message: container ? `no video stream (a ${container} file)` : "no video stream",
      },
    };
  }
  if (isStillImageContainer(container)) {
    return {
      ok: false,
      error: {
        code: "still_image",
        message: `not a video: a still image (${String(stream.codec_name)}); hash it with --format csv`,
      },
    };
  }
  let frameRateText = String(stream.avg_frame_rate ?? "");
  let frameRate = parseRate(stream.avg_frame_rate);
  if (frameRate === 0) {
    frameRateText = String(stream.r_frame_rate ?? "");
    frameRate = parseRate(stream.r_frame_rate);
  }
  if (frameRate === 0) {
    return { ok: false, error: { code: "no_frame_rate", message: "the video stream has no frame rate" } };
  }
  const declared = positiveNumber(stream.nb_frames);
  return {
    ok: true,
    value: {
      frameRate,
      frameRateText,
      width: Number(stream.width ?? 0),
      height: Number(stream.height ?? 0),
      pixelFormat: String(stream.pix_fmt ?? ""),
      codec: String(stream.codec_name ?? ""),
      container,
      declaredFrames: declared !== null && Number.isInteger(declared) ? declared : null,
      duration: positiveNumber(stream.duration) ?? positiveNumber(info.format?.duration),
    },
  };
}

/**
 * The input range libswscale assumes when nobody tells it otherwise, which is what the reference
 * gets: full for the yuvj* formats and for grey, limited for every other YUV format. RGB input has
 * no range. Passing it explicitly stops FFmpeg's scale filter from following the stream's tag.
 */
function swscaleDefaultRange(pixelFormat: string): "pc" | "tv" | null {
  if (pixelFormat.startsWith("yuvj") || pixelFormat.startsWith("gray") || pixelFormat.startsWith("ya")) {
    return "pc";
  }
  if (/^(yuv|yuva|nv|p0|p1|p2|y2|uyv|yuyv|yvyu|v210|ayuv|vuy|xv|y4)/.test(pixelFormat)) return "tv";
  return null;
}

/**
 * The ffmpeg arguments that decode `path` and write every `modulus`-th frame as PPM to `output`
 * (`pipe:1` for stdout, or `file:` and a named pipe's path).
 */
export function ffmpegArgs(path: string, modulus: number, pixelFormat: string, output = "pipe:1"): string[] {
  const range = swscaleDefaultRange(pixelFormat);
  const scale = `scale=flags=area:in_color_matrix=bt601${range ? `:in_range=${range}` : ""}`;
  const filters = [...(modulus > 1 ? [`select=not(mod(n\\,${modulus}))`] : []), scale, "format=rgb24"];
  return [
    "-nostdin",
    "-hide_banner",
    "-loglevel",
    "level+warning",
    "-noautorotate",
    "-i",
    `file:${path}`,
    "-map",
    "0:v:0",
    "-fps_mode",
    "passthrough",
    "-vf",
    filters.join(","),
    "-f",
    "image2pipe",
    "-c:v",
    "ppm",
    "-y", // the named pipe exists already
    output,
  ];
}

/** A decoded frame as ffmpeg sent it; `pixels.data` is reused for the next frame. */
export interface DecodedFrame {
  readonly frameNumber: number;
  readonly pixels: PixelBuffer;
}

/** Parses the stream of PPM images ffmpeg's image2pipe writes: "P6\nW H\n255\n" then W·H·3 bytes. */
class PpmReader {
  private header = "";
  private lineBreaks = 0;
  private frame: Uint8Array | null = null;
  private filled = 0;
  private width = 0;
  private height = 0;
  private spare: Uint8Array | null = null;

  /** Feeds a chunk; calls `emit` for each completed frame. Returns an error message or null. */
  push(chunk: Uint8Array, emit: (width: number, height: number, data: Uint8Array) => void): string | null {
    let off = 0;
    while (off < chunk.length) {
      if (this.frame === null) {
        // The header ends at its third line break; it is a few bytes long.
        while (off < chunk.length && this.lineBreaks < 3) {
          const b = chunk[off++]!;
          this.header += String.fromCharCode(b);
          if (b === 0x0a) this.lineBreaks++;
          if (this.header.length > 40) return "unexpected output from ffmpeg (not a PPM header)";
        }
        if (this.lineBreaks < 3) continue;
        const m = /^P6\n(\d+) (\d+)\n255\n$/.exec(this.header);
        if (!m) return "unexpected output from ffmpeg (not a PPM header)";
        this.width = Number(m[1]);
        this.height = Number(m[2]);
        this.header = "";
        this.lineBreaks = 0;
        const size = this.width * this.height * 3;
        if (size === 0) return "ffmpeg sent an empty frame";
        // Reuse the previous frame's buffer: the consumer is done with it once it asks for more.
        this.frame = this.spare !== null && this.spare.length === size ? this.spare : new Uint8Array(size);
        this.filled = 0;
        continue;
      }
      const n = Math.min(chunk.length - off, this.frame.length - this.filled);
      this.frame.set(chunk.subarray(off, off + n), this.filled);
      this.filled += n;
      off += n;
      if (this.filled === this.frame.length) {
        const done = this.frame;
        this.frame = null;
        this.spare = done;
        emit(this.width, this.height, done);
      }
    }
    return null;
  }

  /** True when the stream ended between frames. */
  get clean(): boolean {
    return this.frame === null && this.header === "";
  }
}

/** Which error ends a decode: the first error-level line FFmpeg wrote, its exit status, or a cut-off frame. */
function decodeOutcome(
  stderr: string,
  code: number | null,
  path: string,
  clean: boolean,
  frames: number,
): Result<{ readonly frames: number }, VideoError> {
  const errorLine = stderr.split("\n").find((l) => /\[(error|fatal|panic)\] /.test(l));
  if (errorLine !== undefined) {
    return {
      ok: false,
      error: { code: "damaged", message: `truncated or damaged: ${ffmpegReason(errorLine, path)}` },
    };
  }
  if (code !== 0)
    return { ok: false, error: { code: "damaged", message: `ffmpeg exited with status ${code}` } };
  if (!clean)
    return { ok: false, error: { code: "damaged", message: "ffmpeg's output ended inside a frame" } };
  if (frames === 0) return { ok: false, error: { code: "no_frames", message: "no frame could be decoded" } };
  return { ok: true, value: { frames } };
}

/** Numbers the frames and refuses a change of frame size (FFmpeg restarts its filters there). */
function frameSink(
  modulus: number,
  onFrame: (frame: DecodedFrame) => VideoError | undefined,
): {
  emit(width: number, height: number, data: Uint8Array): VideoError | undefined;
  readonly frames: number;
} {
  let frames = 0;
  let size: string | null = null;
  return {
    emit(width, height, data) {
      const thisSize = `${width}×${height}`;
      if (size !== null && size !== thisSize) {
        return {
          code: "frame_size_changed",
          message: `the frame size changes mid-stream (${size} → ${thisSize}); such videos are not supported`,
        };
      }
      size = thisSize;
      return onFrame({ frameNumber: frames++ * modulus, pixels: { width, height, channels: 3, data } });
    },
    get frames() {
      return frames;
    },
  };
}

export interface DecodeOptions extends FfmpegTools {
  /**
   * How frames travel from ffmpeg: "fifo" (default where named pipes exist) or "stdout". Reading
   * a named pipe with blocking reads into one buffer cost a fifth of the CPU of Node's stream
   * reading (measured: 0.13 against 0.7 s for the 332 MB of a 120-frame 720p video).
   */
  readonly transport?: "fifo" | "stdout";
}

/**
 * Decodes `path` and calls `onFrame` for frames 0, M, 2M, … (M = `modulus`) in decode order,
 * synchronously as each arrives; reading pauses while it runs, so ffmpeg waits rather than the
 * video being buffered. `onFrame` may return an error to stop early. Any error-level message from
 * FFmpeg (a truncated file, a damaged packet) fails the video: a truncated video must not pass
 * for a whole one.
 */
export async function decodeVideo(
  path: string,
  modulus: number,
  probe: VideoProbe,
  onFrame: (frame: DecodedFrame) => VideoError | undefined,
  options: DecodeOptions = {},
): Promise<Result<{ readonly frames: number }, VideoError>> {
  if (options.transport !== "stdout" && process.platform !== "win32") {
    const viaFifo = await decodeViaFifo(path, modulus, probe, onFrame, options);
    if (viaFifo !== null) return viaFifo;
  }
  return decodeViaStdout(path, modulus, probe, onFrame, options);
}

/**
 * ffmpeg writes into a named pipe (mkfifo) that this process reads with blocking reads, 1 MiB at
 * most per call, straight into one reused buffer; ffmpeg's messages go to a file, so a chatty
 * ffmpeg can never block on a full stderr pipe while this process blocks on the frames. Returns
 * null when no named pipe can be made here (the caller then reads stdout).
 */
async function decodeViaFifo(
  path: string,
  modulus: number,
  probe: VideoProbe,
  onFrame: (frame: DecodedFrame) => VideoError | undefined,
  tools: FfmpegTools,
): Promise<Result<{ readonly frames: number }, VideoError> | null> {
  const dir = mkdtempSync(join(tmpdir(), "eusn-vpdq-"));
  try {
    const fifo = join(dir, "frames.ppm");
    if (spawnSync("mkfifo", ["-m", "600", fifo]).status !== 0) return null;
    const log = join(dir, "ffmpeg.log");
    const logFd = openSync(log, "w");
    let child: ChildProcess;
    try {
      child = spawn(tools.ffmpeg ?? "ffmpeg", ffmpegArgs(path, modulus, probe.pixelFormat, `file:${fifo}`), {
        stdio: ["ignore", "ignore", logFd],
      });
    } finally {
      closeSync(logFd);
    }
    const exited = new Promise<{ code: number | null; missing: boolean }>((resolve) => {
      child.on("error", (err: NodeJS.ErrnoException) =>
        resolve({ code: null, missing: err.code === "ENOENT" }),
      );
      child.on("exit", (code) => resolve({ code, missing: false }));
    });
    // Opening a named pipe for reading waits for a writer: done off the main thread, and if ffmpeg
    // ends without ever opening it, a writer opened and closed here releases the wait.
    const opening = open(fifo, "r");
    const first = await Promise.race([
      opening.then(() => "opened" as const),
      exited.then(() => "exited" as const),
    ]);
    if (first === "exited") await releaseReader(fifo);
    const handle = await opening;
    const sink = frameSink(modulus, onFrame);
    const reader = new PpmReader();
    let failure: VideoError | null = null;
    try {
      const chunk = new Uint8Array(1 << 20);
      for (;;) {
        const n = readSync(handle.fd, chunk, 0, chunk.length, null);
        if (n === 0) break;
        const before = sink.frames;
        const problem = reader.push(chunk.subarray(0, n), (w, h, data) => {
          if (failure === null) failure = sink.emit(w, h, data) ?? null;
        });
        if (problem !== null && failure === null) failure = { code: "damaged", message: problem };
        if (failure !== null) break;
        // Let timers (the progress bar) run between frames.
        if (sink.frames !== before) await new Promise((r) => setImmediate(r));
      }
    } finally {
      await handle.close();
    }
    if (failure !== null) child.kill();
    const { code, missing } = await exited;
    if (missing) return { ok: false, error: { code: "ffmpeg_missing", message: INSTALL_HINT } };
    if (failure !== null) return { ok: false, error: failure };
    const stderr = readFileSync(log, "utf8").slice(0, 65_536);
    return decodeOutcome(stderr, code, path, reader.clean, sink.frames);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Opens and closes a writer on `fifo` so that a reader's pending open returns. Non-blocking: until
 * the reader's open is under way there is no reader, the open fails with ENXIO, and it is retried.
 */
async function releaseReader(fifo: string): Promise<void> {
  for (;;) {
    try {
      closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENXIO") throw err;
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

/** ffmpeg writes to its stdout, read as a Node stream (where named pipes are not available). */
function decodeViaStdout(
  path: string,
  modulus: number,
  probe: VideoProbe,
  onFrame: (frame: DecodedFrame) => VideoError | undefined,
  tools: FfmpegTools,
): Promise<Result<{ readonly frames: number }, VideoError>> {
  return new Promise((resolve, reject) => {
    const child = spawn(tools.ffmpeg ?? "ffmpeg", ffmpegArgs(path, modulus, probe.pixelFormat), {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    let failure: VideoError | null = null;
    const sink = frameSink(modulus, onFrame);
    const reader = new PpmReader();
    const fail = (error: VideoError): void => {
      if (failure === null) failure = error;
      child.stdout.destroy();
      child.kill();
    };
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      if (stderr.length < 65_536) stderr += d;
    });
    child.stdout.on("data", (chunk: Buffer) => {
      if (failure !== null) return;
      const problem = reader.push(chunk, (width, height, data) => {
        if (failure !== null) return;
        const error = sink.emit(width, height, data);
        if (error) fail(error);
      });
      if (problem !== null) fail({ code: "damaged", message: problem });
    });
    child.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT")
        resolve({ ok: false, error: { code: "ffmpeg_missing", message: INSTALL_HINT } });
      else reject(err);
    });
    child.on("close", (code) => {
      if (failure !== null) resolve({ ok: false, error: failure });
      else resolve(decodeOutcome(stderr, code, path, reader.clean, sink.frames));
    });
  });
}

export interface HashVideoOptions extends DecodeOptions {
  /** One frame hashed per this many seconds (default 1); 0 hashes every frame. */
  readonly secondsPerHash?: number;
  /** Called after each frame is hashed (progress). */
  readonly onFeature?: (feature: VpdqFeature) => void;
}

export interface HashedVideo {
  readonly probe: VideoProbe;
  /** Every modulus-th decoded frame was hashed. */
  readonly modulus: number;
  readonly features: readonly VpdqFeature[];
}

/** Hashes a video file as the reference's `vpdq-hash-video -r S` does. */
export async function hashVideoFile(
  path: string,
  options: HashVideoOptions = {},
): Promise<Result<HashedVideo, VideoError>> {
  const probe = await probeVideo(path, options);
  if (!probe.ok) return probe;
  return hashProbedVideo(path, probe.value, options);
}

/** The same, for a file already probed (a caller that probes everything first, for a progress total). */
export async function hashProbedVideo(
  path: string,
  probe: VideoProbe,
  options: HashVideoOptions = {},
): Promise<Result<HashedVideo, VideoError>> {
  const modulus = frameModulus(options.secondsPerHash ?? 1, probe.frameRate);
  const features: VpdqFeature[] = [];
  const decoded = await decodeVideo(
    path,
    modulus,
    probe,
    ({ frameNumber, pixels }) => {
      const r = hashFrame(frameNumber, probe.frameRate, pixels);
      if (!r.ok) return { code: "frame_too_small", message: r.error.message };
      features.push(r.value);
      options.onFeature?.(r.value);
      return undefined;
    },
    options,
  );
  if (!decoded.ok) return decoded;
  return { ok: true, value: { probe, modulus, features } };
}

/** How many frames `hashProbedVideo` will hash, when the container says how many it holds. */
export function expectedFeatures(probe: VideoProbe, secondsPerHash: number): number | null {
  const modulus = frameModulus(secondsPerHash, probe.frameRate);
  const frames =
    probe.declaredFrames ?? (probe.duration !== null ? Math.round(probe.duration * probe.frameRate) : null);
  return frames === null ? null : Math.ceil(frames / modulus);
}
