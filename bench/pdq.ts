// `npm run bench:pdq`: images per second for PDQ hashing of the conformance vector images, and how
// the time splits between decoding (sharp, as `eusn hash` does it) and hashing (@eusn/pdq).
// Files are read into memory first so disk speed is not measured. Usage: tsx bench/pdq.ts [--rounds N]
import { existsSync, readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { decodeImage } from "@eusn/cli";
import { type PixelBuffer, pdqHash, pdqHashDihedral } from "@eusn/pdq";

const repoRoot = path.resolve(import.meta.dirname, "..");
const sets: Array<{ name: string; dir: string }> = [
  { name: "synthetic", dir: path.join(repoRoot, "test/fixtures/pdq/synthetic") },
  { name: "images", dir: path.resolve(repoRoot, "../shared/pdq-vectors/images") },
];

const roundsArg = process.argv.indexOf("--rounds");
const rounds = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 5;
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error("usage: tsx bench/pdq.ts [--rounds N]");
  process.exit(2);
}

interface Timing {
  images: number;
  pixels: number;
  decodeMs: number;
  hashMs: number;
  dihedralMs: number;
}

async function decodeOrThrow(bytes: Uint8Array, name: string): Promise<PixelBuffer> {
  const decoded = await decodeImage(bytes);
  if (!decoded.ok) throw new Error(`${name}: ${decoded.error.message}`);
  return decoded.value.pixels;
}

async function measure(files: Array<{ name: string; bytes: Uint8Array }>): Promise<Timing> {
  const t: Timing = { images: 0, pixels: 0, decodeMs: 0, hashMs: 0, dihedralMs: 0 };
  for (let r = 0; r < rounds; r++) {
    for (const file of files) {
      const t0 = performance.now();
      const pixels = await decodeOrThrow(file.bytes, file.name);
      const t1 = performance.now();
      const result = pdqHash(pixels);
      const t2 = performance.now();
      pdqHashDihedral(pixels);
      const t3 = performance.now();
      if (!result.ok) throw new Error(`${file.name}: ${result.error.message}`);
      t.decodeMs += t1 - t0;
      t.hashMs += t2 - t1;
      t.dihedralMs += t3 - t2;
      t.images++;
      t.pixels += pixels.width * pixels.height;
    }
  }
  return t;
}

function report(label: string, t: Timing): void {
  const total = t.decodeMs + t.hashMs;
  const perSec = (ms: number): string => (t.images / (ms / 1000)).toFixed(1).padStart(8);
  console.log(
    `${label.padEnd(10)} ${String(t.images).padStart(6)} ${(t.pixels / t.images / 1e6).toFixed(2).padStart(7)} ` +
      `${perSec(total)} ${perSec(t.hashMs)} ${perSec(t.dihedralMs)}   ` +
      `${((100 * t.decodeMs) / total).toFixed(0).padStart(3)}% / ${((100 * t.hashMs) / total).toFixed(0).padStart(3)}%` +
      `   ${(t.decodeMs / t.images).toFixed(2)} / ${(t.hashMs / t.images).toFixed(2)} ms`,
  );
}

const cpu = os.cpus()[0]?.model ?? "unknown CPU";
console.log(
  `PDQ bench: Node ${process.version}, ${cpu}, ${os.availableParallelism()} cores, ${rounds} rounds, one image at a time`,
);
console.log(
  "set        images  Mpx/img  img/s e2e  img/s hash  img/s dihedral   decode / hash share   decode / hash per image",
);
const all: Timing = { images: 0, pixels: 0, decodeMs: 0, hashMs: 0, dihedralMs: 0 };
for (const set of sets) {
  if (!existsSync(set.dir)) {
    console.log(`${set.name.padEnd(10)} skipped: ${set.dir} not found`);
    continue;
  }
  const files = readdirSync(set.dir)
    .sort()
    .map((name) => ({ name, bytes: new Uint8Array(readFileSync(path.join(set.dir, name))) }));
  // Warm-up: JIT the hasher and load sharp before anything is timed.
  for (const file of files) pdqHash(await decodeOrThrow(file.bytes, file.name));
  const t = await measure(files);
  report(set.name, t);
  for (const k of Object.keys(all) as Array<keyof Timing>) all[k] += t[k];
}
if (all.images > 0) report("all", all);
console.log(
  "e2e = decode + hash, sequential; hash = pdqHash on decoded pixels; dihedral = pdqHashDihedral (all 8 variants).",
);
