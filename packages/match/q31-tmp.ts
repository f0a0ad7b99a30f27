import { PdqIndex } from "@eusn/match";

function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}
const rnd = prng(1);
const N = 1_000_000;
const buf = Buffer.alloc(32);
const hex = () => {
  for (let i = 0; i < 8; i++) buf.writeUInt32BE(rnd(), i * 4);
  return buf.toString("hex");
};
const entries = Array.from({ length: N }, (_, i) => ({
  id: Buffer.from(`hsh_01J${String(i).padStart(23, "0")}`, "latin1").toString("latin1"),
  hash: hex(),
}));
const idx = PdqIndex.build(entries);
if (!idx.ok) throw 1;
const index = idx.value;
const qs = Array.from({ length: 1000 }, (_, i) => (i % 2 ? entries[rnd() % N]!.hash : hex()));
const T = Number(process.argv[2] ?? 31);
const reps = Number(process.argv[3] ?? 7);
const times: number[] = [];
if (process.env.SKIPQ === "1") {
  const t = performance.now();
  for (const e of entries.slice(0, 40000)) index.add(e.id + "y", e.hash);
  console.log("add us", (((performance.now() - t) * 1000) / 40000).toFixed(2));
  process.exit(0);
}
for (let r = 0; r < reps; r++) {
  const t = performance.now();
  index.query(qs, { threshold: T });
  times.push(performance.now() - t);
}

times.sort((a, b) => a - b);
console.log(
  "T",
  T,
  "batch1000 ms: min",
  times[0]!.toFixed(0),
  "median",
  times[reps >> 1]!.toFixed(0),
  JSON.stringify(index.lastQueryStats),
);
const t = performance.now();
for (const e of entries.slice(0, 20000)) index.add(e.id + "x", e.hash);
console.log("add us", (((performance.now() - t) * 1000) / 20000).toFixed(2));
