// `npm run bench:vpdq-hash`: vPDQ hashing of the sample videos (../shared/vpdq-vectors/videos) as
// `eusn hash --format vpdq` does it (ffprobe, then ffmpeg decoding into the PDQ hasher), one frame
// a second and every frame: frames hashed per second end to end, and where the time goes. The
// decoder's cost is the CPU time of the ffmpeg process (decoding, conversion to RGB24, writing the
// frames to the pipe), read from /proc/self/stat's counters of finished children; the PDQ step's
// cost is the CPU time spent in hashFrame (process.cpuUsage around each call). CPU time, not wall
// time, so that other work on a shared machine inflates neither much. The two run at once
// (separate processes), so the wall time is less than their sum.
// Usage: tsx bench/vpdq-hash.ts [--rounds N] [--only NAME]
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { frameModulus, hashFrame } from "@eusn/vpdq";
import { decodeVideo, probeVideo } from "@eusn/vpdq/ffmpeg";

const repoRoot = path.resolve(import.meta.dirname, "..");
const videosDir = path.resolve(repoRoot, "../shared/vpdq-vectors/videos");

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}
const rounds = Number(arg("--rounds") ?? 3);
const only = arg("--only");
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error("usage: tsx bench/vpdq-hash.ts [--rounds N] [--only NAME]");
  process.exit(2);
}
if (!existsSync(videosDir)) {
  console.error(`${videosDir} not found: the sample videos live in ../shared/vpdq-vectors`);
  process.exit(1);
}

const TICKS = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

/** CPU seconds of this process's finished, waited-for children (cutime + cstime). */
function childrenCpu(): number {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // After the command name: state is field 3 of the whole line, cutime 16 and cstime 17.
  return (Number(fields[16 - 3]) + Number(fields[17 - 3])) / TICKS;
}

interface Run {
  readonly decoded: number;
  readonly hashed: number;
  readonly pixels: number;
  readonly wallMs: number;
  readonly probeCpuMs: number;
  readonly ffmpegCpuMs: number;
  readonly pdqMs: number;
  /** This process's other CPU: reading frames from the pipe, probing, bookkeeping. */
  readonly nodeMs: number;
}

async function once(file: string, secondsPerHash: number): Promise<Run> {
  const t0 = performance.now();
  const own0 = process.cpuUsage();
  const c0 = childrenCpu();
  const probe = await probeVideo(file);
  if (!probe.ok) throw new Error(`${file}: ${probe.error.message}`);
  const c1 = childrenCpu();
  const modulus = frameModulus(secondsPerHash, probe.value.frameRate);
  let pdqMs = 0;
  let hashed = 0;
  let pixels = 0;
  const decoded = await decodeVideo(file, modulus, probe.value, ({ frameNumber, pixels: frame }) => {
    const a = process.cpuUsage();
    const r = hashFrame(frameNumber, probe.value.frameRate, frame);
    const b = process.cpuUsage(a);
    pdqMs += (b.user + b.system) / 1000;
    if (!r.ok) return { code: "frame_too_small", message: r.error.message };
    hashed++;
    pixels += frame.width * frame.height;
    return undefined;
  });
  const wallMs = performance.now() - t0;
  const own = process.cpuUsage(own0);
  if (!decoded.ok) throw new Error(`${file}: ${decoded.error.message}`);
  const c2 = childrenCpu();
  return {
    decoded: probe.value.declaredFrames ?? Number.NaN,
    hashed,
    pixels,
    wallMs,
    probeCpuMs: (c1 - c0) * 1000,
    ffmpegCpuMs: (c2 - c1) * 1000,
    pdqMs,
    nodeMs: (own.user + own.system) / 1000 - pdqMs,
  };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The median of each figure over the rounds. */
function medianRun(runs: Run[]): Run {
  const pick = (k: keyof Run) => median(runs.map((r) => r[k]));
  return {
    decoded: runs[0]!.decoded,
    hashed: runs[0]!.hashed,
    pixels: runs[0]!.pixels,
    wallMs: pick("wallMs"),
    probeCpuMs: pick("probeCpuMs"),
    ffmpegCpuMs: pick("ffmpegCpuMs"),
    pdqMs: pick("pdqMs"),
    nodeMs: pick("nodeMs"),
  };
}

function row(label: string, r: Run): string {
  const size = r.hashed > 0 ? `${(r.pixels / r.hashed / 1e6).toFixed(2)}` : "-";
  return [
    label.padEnd(34),
    String(r.decoded).padStart(5),
    String(r.hashed).padStart(5),
    size.padStart(6),
    (r.hashed / (r.wallMs / 1000)).toFixed(1).padStart(8),
    (r.decoded / (r.wallMs / 1000)).toFixed(1).padStart(8),
    (r.ffmpegCpuMs / r.decoded).toFixed(2).padStart(8),
    (r.pdqMs / Math.max(r.hashed, 1)).toFixed(2).padStart(8),
    `${r.ffmpegCpuMs.toFixed(0).padStart(6)} / ${r.pdqMs.toFixed(0).padStart(6)}`,
    (r.pdqMs / r.ffmpegCpuMs).toFixed(2).padStart(6),
    (r.nodeMs / Math.max(r.hashed, 1)).toFixed(2).padStart(8),
  ].join(" ");
}

const names = readdirSync(videosDir)
  .filter((f) => f.endsWith(".mp4") && (only === undefined || f.includes(only)))
  .sort();
const cpu = os.cpus()[0]?.model ?? "unknown CPU";
const version = execFileSync("ffmpeg", ["-version"], { encoding: "utf8" }).split("\n")[0];
console.log(
  `vPDQ hash bench: Node ${process.version}, ${version}, ${cpu}, ${os.availableParallelism()} cores, ` +
    `load ${os.loadavg()[0]!.toFixed(1)}, median of ${rounds} rounds`,
);
console.log(
  [
    "video, mode".padEnd(34),
    "dec".padStart(5),
    "hash".padStart(5),
    "Mpx".padStart(6),
    "hashed/s".padStart(8),
    "decod/s".padStart(8),
    "ffmpeg".padStart(8),
    "PDQ".padStart(8),
    " ffmpeg / PDQ ms",
    "PDQ/ff".padStart(6),
    "other".padStart(8),
  ].join(" "),
);
console.log(
  `${"".padEnd(34)} ${"".padStart(5)} ${"".padStart(5)} ${"/frame".padStart(6)} ${"wall".padStart(8)} ${"wall".padStart(8)} ${"ms/dec".padStart(8)} ${"ms/hash".padStart(8)}  total CPU               ${"ms/hash".padStart(8)}`,
);
for (const [mode, seconds] of [
  ["1 frame/s", 1],
  ["every frame", 0],
] as const) {
  const totals: Run[] = [];
  for (const name of names) {
    const file = path.join(videosDir, name);
    await once(file, seconds); // warm-up: page cache, JIT
    const runs: Run[] = [];
    for (let i = 0; i < rounds; i++) runs.push(await once(file, seconds));
    const m = medianRun(runs);
    totals.push(m);
    console.log(row(`${name.replace(/\.mp4$/, "")}, ${mode}`, m));
  }
  const sum = (k: keyof Run) => totals.reduce((n, r) => n + r[k], 0);
  console.log(
    row(`ALL ${names.length} videos, ${mode}`, {
      decoded: sum("decoded"),
      hashed: sum("hashed"),
      pixels: sum("pixels"),
      wallMs: sum("wallMs"),
      probeCpuMs: sum("probeCpuMs"),
      ffmpegCpuMs: sum("ffmpegCpuMs"),
      pdqMs: sum("pdqMs"),
      nodeMs: sum("nodeMs"),
    }),
  );
}
console.log(
  "dec/hash: frames decoded (as the container declares) and hashed; Mpx/frame: hashed frame size; hashed/s and" +
    " decod/s: frames per wall-clock second end to end (probe included); ffmpeg ms/dec: ffmpeg's CPU per decoded" +
    " frame; PDQ ms/hash: hashFrame's CPU per hashed frame; PDQ/ff: PDQ CPU over ffmpeg CPU (target ≤ 1);" +
    " other ms/hash: the rest of this process's CPU (reading the frames from the pipe, probing) per hashed frame.",
);
