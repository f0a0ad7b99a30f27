// Unit tests for @eusn/vpdq and the full-resolution path of @eusn/pdq it hashes with: every frame
// of the seven sample videos against the reference's output (read from ../shared/vpdq-vectors),
// the same answers for the same pictures in other containers, codecs, frame rates, sizes and
// pixel formats (variants made here with ffmpeg), the reference's comparison for every pair, and
// the pure parts (frame selection, timestamps, the text format) on their edge cases.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { hammingDistance, type PdqHex, type PixelBuffer, pdqHash, thresholdDct } from "@eusn/pdq";
import {
  formatFeature,
  formatVpdq,
  frameModulus,
  frameTimestamp,
  hashFrame,
  matchVpdq,
  parseVpdq,
  toFixedLikeC,
  type VpdqFeature,
} from "@eusn/vpdq";
import { hashVideoFile, probeVideo } from "@eusn/vpdq/ffmpeg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spectrum } from "../../packages/pdq/src/core.ts";
import { frameSpectrumJs } from "../../packages/pdq/src/frame.ts";
import { frameSpectrumWasm } from "../../packages/pdq/src/frame-wasm.ts";
import { lumaPlane } from "../../packages/pdq/src/luma.ts";
import {
  concat,
  expectedLines,
  expectedMatches,
  ffmpegAsync,
  haveFfmpeg,
  haveVectors,
  type Mode,
  probeEntry,
  sampleNames,
  syntheticFrames,
  VIDEOS,
} from "../helpers/vpdq.ts";

/** Hashing videos takes seconds; on a machine shared with other heavy work, over a minute. */
const VIDEO_TIMEOUT = 300_000;

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "eusn-vpdq-"));
  tempDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

async function hashLines(
  file: string,
  secondsPerHash: number,
  transport: "fifo" | "stdout" = "fifo",
): Promise<string[]> {
  const r = await hashVideoFile(file, { secondsPerHash, transport });
  if (!r.ok) throw new Error(`${file}: ${r.error.code}: ${r.error.message}`);
  return r.value.features.map(formatFeature);
}

/** A deterministic pseudo-random picture with structure (blocks plus noise). */
function picture(width: number, height: number, channels: 1 | 2 | 3 | 4, seed: number): Uint8Array {
  const out = new Uint8Array(width * height * channels);
  let s = seed >>> 0 || 1;
  const next = (): number => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  const cells = Array.from({ length: 64 }, () => next() & 0xff);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const cell = cells[(Math.floor((y * 8) / height) * 8 + Math.floor((x * 8) / width)) % 64]!;
      for (let c = 0; c < channels; c++)
        out[(y * width + x) * channels + c] = (cell + (next() & 31) + c * 40) & 0xff;
    }
  }
  return out;
}

describe("@eusn/pdq at full resolution ({ resample: false }): the streamed filters equal the full-plane one", () => {
  // Both streamed filters (frame.ts in JS, frame-wasm.ts in WebAssembly) must give the very
  // float32 grid the straightforward pipeline (core.ts on the whole luma plane) gives: box
  // windows from 1 to 30, odd sizes, the 64×64 skip, the smallest hashable sides, every channel
  // layout and 16-bit samples (JS only: the WebAssembly kernels take 8-bit RGB).
  const sizes: Array<[number, number]> = [
    [5, 5],
    [5, 9],
    [9, 5],
    [6, 200],
    [200, 6],
    [63, 64],
    [64, 63],
    [64, 64],
    [65, 64],
    [127, 128],
    [128, 127],
    [129, 130],
    [255, 257],
    [479, 719],
    [513, 300],
    [1000, 7],
    [1281, 721],
    [1920, 1080],
    [3840, 2160],
  ];
  it.each(sizes)("%i×%i RGB: the same DCT bit for bit, the same quality", (width, height) => {
    const pixels: PixelBuffer = {
      width,
      height,
      channels: 3,
      data: picture(width, height, 3, width * 7919 + height),
    };
    const full = spectrum(lumaPlane(pixels, false));
    const expected = { quality: full.quality, dct: full.dct === null ? null : Array.from(full.dct) };
    const plain = (s: { quality: number; dct: Float32Array | null }) => ({
      quality: s.quality,
      dct: s.dct === null ? null : Array.from(s.dct),
    });
    expect(plain(frameSpectrumJs(pixels))).toEqual(expected);
    if (width >= 5 && height >= 5 && !(width === 64 && height === 64)) {
      const wasm = frameSpectrumWasm(pixels);
      expect(wasm).not.toBeNull(); // Node compiles the kernels: this must not fall back silently
      expect(plain(wasm!)).toEqual(expected);
    }
    const hashed = pdqHash(pixels, { resample: false });
    if (!hashed.ok) throw new Error(hashed.error.message);
    if (full.dct) expect(hashed.value.hex).toBe(thresholdDct(full.dct).hex);
  });

  it.each([1, 2, 4] as const)("%i-channel and 16-bit buffers too (JS)", (channels) => {
    const data8 = picture(301, 97, channels, channels);
    for (const data of [data8, Uint16Array.from(data8, (v) => v * 257 + (v & 1))]) {
      const pixels: PixelBuffer = { width: 301, height: 97, channels, data };
      expect(Array.from(frameSpectrumJs(pixels).dct!)).toEqual(
        Array.from(spectrum(lumaPlane(pixels, false)).dct!),
      );
      expect(frameSpectrumWasm(pixels)).toBeNull();
    }
  });

  it("a very wide frame (a row window of 128) gives the same DCT from both", () => {
    const pixels: PixelBuffer = { width: 16_257, height: 6, channels: 3, data: picture(16_257, 6, 3, 3) };
    const full = Array.from(spectrum(lumaPlane(pixels, false)).dct!);
    expect(Array.from(frameSpectrumWasm(pixels)!.dct!)).toEqual(full);
    expect(Array.from(frameSpectrumJs(pixels).dct!)).toEqual(full);
  });

  it("under 5 px a side gives no spectrum (the still-image rule), and vPDQ refuses the frame", () => {
    const pixels: PixelBuffer = { width: 4, height: 600, channels: 3, data: picture(4, 600, 3, 1) };
    expect(frameSpectrumJs(pixels)).toEqual({ dct: null, quality: 0 });
    const r = hashFrame(0, 30, pixels);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe("too_small");
  });

  it("the still-image path is unchanged: over 512 px it resamples (and so differs by some bits)", () => {
    const pixels: PixelBuffer = { width: 1280, height: 720, channels: 3, data: picture(1280, 720, 3, 5) };
    const still = pdqHash(pixels);
    const explicit = pdqHash(pixels, { resample: true });
    const frame = pdqHash(pixels, { resample: false });
    if (!still.ok || !explicit.ok || !frame.ok) throw new Error("hash failed");
    expect(explicit.value).toEqual(still.value);
    expect(still.value.hex).toBe(thresholdDct(spectrum(lumaPlane(pixels)).dct!).hex);
    expect(hammingDistance(still.value.hex, frame.value.hex)).toBeGreaterThan(0);
  });
});

describe("frame selection, timestamps and the text format", () => {
  it("frameModulus is trunc(S × fps), at least 1", () => {
    expect(frameModulus(1, 30)).toBe(30);
    expect(frameModulus(1, 30000 / 1001)).toBe(29);
    expect(frameModulus(1, 25)).toBe(25);
    expect(frameModulus(0.5, 25)).toBe(12);
    expect(frameModulus(2.5, 30000 / 1001)).toBe(74);
    expect(frameModulus(0, 30)).toBe(1);
    expect(frameModulus(1, 0.5)).toBe(1);
  });

  it("timestamps are frameNumber / fps in float32, printed with 3 decimals", () => {
    expect(frameTimestamp(29, 30000 / 1001)).toBe(Math.fround(29 / Math.fround(30000 / 1001)));
    expect(toFixedLikeC(frameTimestamp(29, 30000 / 1001), 3)).toBe("0.968");
    expect(toFixedLikeC(frameTimestamp(30, 30), 3)).toBe("1.000");
  });

  it("decimals are rounded as C's printf does: exact binary ties go to the even digit", () => {
    // Number.prototype.toFixed rounds these ties up (0.13, 0.063, 13, 3).
    expect(toFixedLikeC(0.125, 2)).toBe("0.12");
    expect(toFixedLikeC(0.375, 2)).toBe("0.38");
    expect(toFixedLikeC(0.0625, 3)).toBe("0.062");
    expect(toFixedLikeC(12.5, 0)).toBe("12");
    expect(toFixedLikeC(2.5, 0)).toBe("2");
    expect(toFixedLikeC(13.5, 0)).toBe("14");
    expect(toFixedLikeC(1.005, 2)).toBe("1.00"); // not a tie in binary: below 1.005
    expect(toFixedLikeC(200 / 3, 2)).toBe("66.67");
    expect(toFixedLikeC(100, 2)).toBe("100.00");
    expect(toFixedLikeC(0, 3)).toBe("0.000");
  });

  const hash = "d".repeat(64) as PdqHex;
  it("parseVpdq reads what formatVpdq writes, skipping blank and # lines (CRLF too)", () => {
    const features: VpdqFeature[] = [
      { frameNumber: 0, quality: 100, hash, timestamp: 0 },
      { frameNumber: 29, quality: 7, hash, timestamp: frameTimestamp(29, 30000 / 1001) },
    ];
    const text = formatVpdq(features);
    expect(text).toBe(`0,100,${hash},0.000\n29,7,${hash},0.968\n`);
    const parsed = parseVpdq(`# some/video.mp4\r\n\r\n${text.replaceAll("\n", "\r\n")}`);
    expect(parsed.ok).toBe(true);
    if (parsed.ok) {
      expect(parsed.value.map((f) => [f.frameNumber, f.quality, f.hash])).toEqual([
        [0, 100, hash],
        [29, 7, hash],
      ]);
      expect(parsed.value[1]!.timestamp).toBe(0.968);
    }
    const upper = parseVpdq(`3,50,${"D".repeat(64)},0.100`);
    expect(upper.ok && upper.value[0]!.hash).toBe(hash);
  });

  it.each([
    ["", "empty", "no frame lines"],
    ["# only a header\n", "empty", "no frame lines"],
    [`0,100,${hash}`, "bad_line", "line 1: expected frameNumber,quality,pdqHex,timestamp, got 3 field(s)"],
    [`0,100,${hash},0.000,extra`, "bad_line", "got 5 field(s)"],
    [`x,100,${hash},0.000`, "bad_line", "line 1: frame number is not a whole number"],
    [`-1,100,${hash},0.000`, "bad_line", "frame number"],
    [`0,101,${hash},0.000`, "bad_line", "quality is not a whole number 0-100"],
    [`0,1.5,${hash},0.000`, "bad_line", "quality"],
    [`0,100,${hash}0,0.000`, "bad_line", "the hash is not 64 hex digits"],
    [`0,100,${"g".repeat(64)},0.000`, "bad_line", "the hash is not 64 hex digits"],
    [`0,100,${hash},-1`, "bad_line", "timestamp"],
    [`0,100,${hash},0.000\n1,100,${hash},NaN`, "bad_line", "line 2: timestamp is not a non-negative decimal"],
  ])("parseVpdq refuses %j (%s)", (text, code, message) => {
    const r = parseVpdq(text);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe(code);
      expect(r.error.message).toContain(message);
    }
  });
});

describe("matchVpdq: the reference's comparison", () => {
  const base = "0".repeat(64) as PdqHex;
  /** `base` with its lowest n bits set: at Hamming distance n from it. */
  const flipped = (n: number): PdqHex => {
    const bits = BigInt(2) ** BigInt(n) - BigInt(1);
    return bits.toString(16).padStart(64, "0") as PdqHex;
  };
  const f = (hash: PdqHex, quality = 100) => ({ hash, quality });

  it("a frame matches at distance ≤ D (the reference README and python-threatexchange), not D + 1", () => {
    expect(hammingDistance(base, flipped(31))).toBe(31);
    const at31 = matchVpdq([f(base)], [f(flipped(31))]);
    expect([at31.queryMatchPercent, at31.targetMatchPercent]).toEqual([100, 100]);
    const at32 = matchVpdq([f(base)], [f(flipped(32))]);
    expect([at32.queryMatchPercent, at32.targetMatchPercent]).toEqual([0, 0]);
    expect(matchVpdq([f(base)], [f(flipped(32))], { distance: 32 }).queryMatchPercent).toBe(100);
  });

  it("frames below the quality tolerance are left out on both sides; none left gives 0, 0", () => {
    const m = matchVpdq([f(base), f(flipped(200), 49)], [f(base), f(flipped(100), 10)]);
    expect([m.queryMatchPercent, m.targetMatchPercent, m.queryFrames, m.targetFrames]).toEqual([
      100, 100, 1, 1,
    ]);
    const lowered = matchVpdq([f(base), f(flipped(200), 49)], [f(base)], { quality: 0 });
    expect(lowered.queryMatchPercent).toBe(50);
    const none = matchVpdq([f(base, 49)], [f(base)]);
    expect([none.queryMatchPercent, none.targetMatchPercent, none.queryFrames]).toEqual([0, 0, 0]);
  });

  it("duplicate hashes count once (a bag of unique hashes); one good copy is enough", () => {
    const m = matchVpdq([f(base), f(base), f(base), f(flipped(128))], [f(base)]);
    expect([m.queryMatchPercent, m.targetMatchPercent, m.queryFrames]).toEqual([50, 100, 2]);
    const lowFirst = matchVpdq([f(flipped(128), 10), f(flipped(128), 90)], [f(flipped(128))]);
    expect([lowFirst.queryFrames, lowFirst.queryMatchPercent]).toEqual([1, 100]);
  });

  it("order is ignored and the two percentages are each side's own share", () => {
    const q = [f(base), f(flipped(100)), f(flipped(200))];
    const t = [f(flipped(201)), f(base)];
    const m = matchVpdq(q, t);
    expect(toFixedLikeC(m.queryMatchPercent, 2)).toBe("66.67");
    expect(m.targetMatchPercent).toBe(100);
    expect(matchVpdq([...q].reverse(), [...t].reverse())).toEqual(m);
  });

  it.skipIf(!haveVectors)("every ordered pair of the sample videos gives the reference's percentages", () => {
    const rows = expectedMatches();
    expect(rows).toHaveLength(49);
    for (const row of rows) {
      const load = (name: string) => {
        const r = parseVpdq(expectedLines(name, "every-second").join("\n"));
        if (!r.ok) throw new Error(r.error.message);
        return r.value;
      };
      const m = matchVpdq(load(row.query), load(row.target), { distance: 31, quality: 50 });
      expect(
        `${row.query},${row.target},${toFixedLikeC(m.queryMatchPercent, 2)},${toFixedLikeC(m.targetMatchPercent, 2)}`,
      ).toBe(`${row.query},${row.target},${row.queryPercent},${row.targetPercent}`);
    }
  });
});

// The video tests run concurrently: each is a wait on an ffmpeg decode (another process) beside
// hashing in this one, so one test's decode overlaps another's hashing.
describe("reference vectors: every frame of the seven sample videos (read from ../shared/vpdq-vectors)", {
  timeout: VIDEO_TIMEOUT,
  concurrent: true,
}, () => {
  if (!haveVectors || !haveFfmpeg) {
    it.skip(`SKIPPED: ${haveVectors ? "ffmpeg/ffprobe are not installed" : "../shared/vpdq-vectors not found"}, so vPDQ conformance was not checked`, () => {});
    return;
  }
  const names = sampleNames();
  it("has the seven sample videos", () => {
    expect(names).toHaveLength(7);
  });
  const cases = names.flatMap((name) =>
    (
      [
        ["every-second", 1],
        ["every-frame", 0],
      ] as const
    ).map(([mode, seconds]) => ({ name, mode: mode as Mode, seconds })),
  );
  it.each(cases)(
    "$name, $mode: every line (frame, quality, hash, timestamp) equals the reference",
    async ({ name, mode, seconds }) => {
      const got = await hashLines(path.join(VIDEOS, `${name}.mp4`), seconds);
      expect(got).toEqual(expectedLines(name, mode));
    },
  );
});

describe("the same pictures in other containers, codecs, frame rates, sizes and pixel formats", {
  timeout: VIDEO_TIMEOUT,
  concurrent: true,
}, () => {
  if (!haveVectors || !haveFfmpeg) {
    it.skip("SKIPPED: needs ffmpeg and ../shared/vpdq-vectors", () => {});
    return;
  }
  const doorknob = path.join(VIDEOS, "doorknob-hd-no-bar.mp4");
  const pattern = path.join(VIDEOS, "pattern-sd-grey-bar.mp4");
  let dir = "";
  beforeAll(() => {
    dir = tempDir();
  });

  it("frames read from ffmpeg's stdout (where no named pipe can be made) give the same lines", async () => {
    expect(await hashLines(doorknob, 0, "stdout")).toEqual(
      expectedLines("doorknob-hd-no-bar", "every-frame"),
    );
    expect(await hashLines(pattern, 1, "stdout")).toEqual(
      expectedLines("pattern-sd-grey-bar", "every-second"),
    );
  });

  // The same H.264 bitstream in another container decodes to the same frames: the reference's hashes.
  it.each([
    ["Matroska", "mkv"],
    ["QuickTime", "mov"],
    ["MPEG-TS", "ts"],
  ])("%s (stream copied) gives the reference's lines", async (_label, ext) => {
    const file = path.join(dir, `pattern.${ext}`);
    await ffmpegAsync(["-i", pattern, "-map", "0:v:0", "-c", "copy", file]);
    expect(await hashLines(file, 1)).toEqual(expectedLines("pattern-sd-grey-bar", "every-second"));
  });

  it("another codec (FFV1, lossless from the decoded YUV) gives the reference's lines", async () => {
    const file = path.join(dir, "pattern-ffv1.mkv");
    await ffmpegAsync(["-i", pattern, "-map", "0:v:0", "-c:v", "ffv1", "-pix_fmt", "yuv420p", file]);
    expect(await hashLines(file, 1)).toEqual(expectedLines("pattern-sd-grey-bar", "every-second"));
  });

  it("colour tags are ignored, as by the reference's swscale: a stream tagged BT.709 hashes as untagged", async () => {
    const file = path.join(dir, "doorknob-bt709.mp4");
    const tags = "h264_metadata=matrix_coefficients=1:colour_primaries=1:transfer_characteristics=1";
    await ffmpegAsync(["-i", doorknob, "-map", "0:v:0", "-c", "copy", "-bsf:v", tags, file]);
    expect(probeEntry(file, "color_space")).toBe("bt709");
    expect(await hashLines(file, 0)).toEqual(expectedLines("doorknob-hd-no-bar", "every-frame"));
  });

  it("rotation metadata is ignored, as by the reference: the decoded picture is hashed", async () => {
    const file = path.join(dir, "doorknob-rotated.mp4");
    await ffmpegAsync(["-i", doorknob, "-map", "0:v:0", "-c", "copy", "-metadata:s:v:0", "rotate=90", file]);
    expect(await hashLines(file, 1)).toEqual(expectedLines("doorknob-hd-no-bar", "every-second"));
  });

  // Retimed copies: the frames (so hashes and qualities) are the reference's every-frame lines;
  // which frames are picked and their timestamps follow the rule with the file's own frame rate.
  it.each([
    ["25", 1.2, 25],
    ["29.97", 1.001, 29],
  ])("%s fps: frames n % trunc(fps) == 0, timestamps n / fps", async (_label, scale, modulus) => {
    const file = path.join(dir, `doorknob-${modulus}.mp4`);
    await ffmpegAsync(["-itsscale", String(scale), "-i", doorknob, "-map", "0:v:0", "-c", "copy", file]);
    const probe = await probeVideo(file);
    if (!probe.ok) throw new Error(probe.error.message);
    expect(frameModulus(1, probe.value.frameRate)).toBe(modulus);
    const reference = expectedLines("doorknob-hd-no-bar", "every-frame").map((l) => l.split(","));
    const expected = reference
      .filter(([n]) => Number(n) % modulus === 0)
      .map(
        ([n, q, h]) => `${n},${q},${h},${toFixedLikeC(frameTimestamp(Number(n), probe.value.frameRate), 3)}`,
      );
    expect(await hashLines(file, 1)).toEqual(expected);
  });

  // Videos made here from RGB frames the test knows exactly, losslessly: the expected features
  // are those frames hashed directly, numbered by the rule.
  const frames = syntheticFrames(101, 67, 30);
  it.each([
    ["FFV1 bgr0 in Matroska, 25 fps", "syn.mkv", ["-c:v", "ffv1", "-pix_fmt", "bgr0"], "25"],
    ["FFV1 gbrp in Matroska, 29.97 fps", "syn-gbrp.mkv", ["-c:v", "ffv1", "-pix_fmt", "gbrp"], "30000/1001"],
    ["PNG rgb24 in QuickTime", "syn.mov", ["-c:v", "png", "-pix_fmt", "rgb24"], "25"],
    ["H.264 RGB lossless in MP4, 29.97 fps", "syn.mp4", ["-c:v", "libx264rgb", "-qp", "0"], "30000/1001"],
    ["Ut Video gbrp in AVI", "syn.avi", ["-c:v", "utvideo", "-pix_fmt", "gbrp"], "25"],
  ])("101×67 (odd sides), %s", async (_label, name, codec, rate) => {
    const file = path.join(dir, name);
    await ffmpegAsync(
      ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "101x67", "-r", rate, "-i", "pipe:0", ...codec, file],
      concat(frames),
    );
    const probe = await probeVideo(file);
    if (!probe.ok) throw new Error(probe.error.message);
    expect(probe.value.frameRateText).toBe(rate.includes("/") ? rate : `${rate}/1`);
    const modulus = frameModulus(0.5, probe.value.frameRate);
    expect(modulus).toBe(rate === "25" ? 12 : 14);
    const expected = frames.flatMap((data, n) => {
      if (n % modulus !== 0) return [];
      const r = hashFrame(n, probe.value.frameRate, { width: 101, height: 67, channels: 3, data });
      if (!r.ok) throw new Error(r.error.message);
      return [formatFeature(r.value)];
    });
    expect(expected).toHaveLength(3);
    expect(await hashLines(file, 0.5)).toEqual(expected);
  });

  it("a greyscale video (FFV1 gray) hashes as R = G = B = Y", async () => {
    const grey = frames.map((f) => {
      const g = new Uint8Array(f.length / 3);
      for (let i = 0; i < g.length; i++)
        g[i] = Math.floor((f[i * 3]! * 3 + f[i * 3 + 1]! * 5 + f[i * 3 + 2]!) / 9);
      return g;
    });
    const file = path.join(dir, "syn-gray.mkv");
    await ffmpegAsync(
      [
        "-f",
        "rawvideo",
        "-pix_fmt",
        "gray",
        "-s",
        "101x67",
        "-r",
        "25",
        "-i",
        "pipe:0",
        "-c:v",
        "ffv1",
        file,
      ],
      concat(grey),
    );
    const expected = grey.flatMap((g, n) => {
      if (n % 25 !== 0) return [];
      const r = hashFrame(n, 25, { width: 101, height: 67, channels: 1, data: g });
      if (!r.ok) throw new Error(r.error.message);
      return [formatFeature(r.value)];
    });
    expect(await hashLines(file, 1)).toEqual(expected);
  });
});
