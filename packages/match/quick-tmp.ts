import { PdqIndex, bruteForceMatch, formatPdqHex, packEntries } from "@eusn/match";
let st = 42 >>> 0;
function rnd() { st = (st + 0x6d2b79f5) >>> 0; let t = st; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return (t ^ (t >>> 14)) >>> 0; }
const N = Number(process.argv[2] ?? 1_000_000);
const w = new Uint32Array(8);
const entries = [];
for (let i = 0; i < N; i++) { for (let k = 0; k < 8; k++) w[k] = rnd(); entries.push({ id: Buffer.from("hsh_" + i.toString(36).padStart(22, "0")).toString("latin1"), hash: Buffer.from(formatPdqHex(w)).toString("latin1") }); }
const qs: string[] = [];
for (let i = 0; i < 1000; i++) { const e = entries[(rnd() % N)]!; const h = e.hash.split(""); for (let f = 0; f < 20; f++) { const p = rnd() % 64; h[p] = (parseInt(h[p]!, 16) ^ (1 << (rnd() % 4))).toString(16); } qs.push(h.join("")); }
(globalThis as unknown as {gc: () => void}).gc();
let t = performance.now();
const r = PdqIndex.build(entries);
if (!r.ok) throw new Error("x");
const idx = r.value;
console.log("build", (performance.now() - t).toFixed(0), "ms", "memoryBytes", (idx.memoryBytes() / 2 ** 20).toFixed(1), "MiB");
for (const T of [31, 40, 47, 48, 52]) for (const strat of ["mih", "scan", "auto"] as const) {
  const qn = strat === "scan" ? 100 : 1000;
  t = performance.now();
  const res = idx.query(qs.slice(0, qn), { threshold: T, strategy: strat });
  const el = performance.now() - t;
  if (!res.ok) throw new Error("q");
  const hits = res.value.reduce((a, b) => a + b.length, 0);
  console.log(T, strat, (el / qn).toFixed(3), "ms/q", "hits", hits, JSON.stringify(idx.lastQueryStats));
}
const packed = packEntries(entries); if (!packed.ok) throw 1;
t = performance.now(); const bf = bruteForceMatch(packed.value, qs.slice(0, 20), 31); console.log("bf", ((performance.now() - t) / 20).toFixed(2), "ms/q");
const a = idx.query(qs.slice(0, 20), { threshold: 31 }); console.log(JSON.stringify(a.ok && a.value) === JSON.stringify(bf.ok && bf.value));
