// The full-resolution (video frame) PDQ filter of frame.ts with its inner loops in WebAssembly:
// the same streamed passes and the same float32 operations in the same order, so the grid is
// bit-identical (the unit tests compare the two, and both with the full-plane pipeline of
// core.ts). WebAssembly's f32 arithmetic is IEEE single precision, as the reference's C `float`;
// JavaScript pays two conversions per Math.fround on every step of a running sum, which made the
// JS filter cost more than decoding the frame. Here the row boxes run four rows at once (scalar
// f32, independent chains), the column box four columns at a time (f32x4 SIMD; division by the
// count is a true f32 division there), and luma reads three lookup tables.
//
// The module is assembled here, every instruction spelled out, because it is a few small loops and
// no WebAssembly toolchain is needed to review or rebuild it (the match package does the same).
// Where WebAssembly cannot be compiled from bytes at run time (a Cloudflare Worker refuses it) or
// lacks SIMD, frameSpectrumWasm returns null and the caller uses the JS filter.
import { gridSpectrum, type Spectrum, sampleIndex, windowSize } from "./core.ts";
import type { PixelBuffer } from "./types.ts";

// ---- a tiny assembler (opcodes from the WebAssembly core spec 2.0, sections 5.3–5.4) ----

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}
const I32 = 0x7f;
const F32 = 0x7d;
const F64 = 0x7c;
const V128 = 0x7b;
const get = (i: number) => [0x20, ...uleb(i)];
const set = (i: number) => [0x21, ...uleb(i)];
const tee = (i: number) => [0x22, ...uleb(i)];
const i32const = (v: number) => [0x41, ...sleb(v)];
const I32_ADD = 0x6a;
const I32_SHL = 0x74;
const I32_GE_U = 0x4f;
const F32_ADD = 0x92;
const F32_SUB = 0x93;
const F64_MUL = 0xa2;
const F32_DEMOTE_F64 = 0xb6;
const F64_PROMOTE_F32 = 0xbb;
const f32load = (offset = 0) => [0x2a, 2, ...uleb(offset)];
const f32store = [0x38, 2, 0];
const f64load = [0x2b, 3, 0];
const i32load8u = (offset: number) => [0x2d, 0, ...uleb(offset)];
const v128load = [0xfd, 0x00, 0, 0];
const v128store = [0xfd, 0x0b, 0, 0];
const F32X4_SPLAT = [0xfd, 0x13];
const F32X4_ADD = [0xfd, ...uleb(0xe4)];
const F32X4_SUB = [0xfd, ...uleb(0xe5)];
const F32X4_DIV = [0xfd, ...uleb(0xe7)];
const END = 0x0b;

/** `for (k = 0; k < n; k++) body` with i32 locals k and n. */
const loop = (k: number, n: number, body: number[]) => [
  ...i32const(0),
  ...set(k),
  ...[0x02, 0x40, 0x03, 0x40], // block, loop
  ...[...get(k), ...get(n), I32_GE_U, 0x0d, 1], // br_if out
  ...body,
  ...[...get(k), ...i32const(1), I32_ADD, ...set(k)],
  ...[0x0c, 0, END, END], // br loop
];
const bump = (v: number, by: number[]) => [...get(v), ...by, I32_ADD, ...set(v)];

/** Function body: locals as [count, type] groups, then code. */
const fn = (locals: Array<[number, number]>, code: number[]) => {
  const body = [...uleb(locals.length), ...locals.flatMap(([n, t]) => [...uleb(n), t]), ...code, END];
  return [...uleb(body.length), ...body];
};

// ---- memory layout (bytes) ----
/** Luma lookup tables: 0.299f·v, 0.587f·v, 0.114f·v as float32, 256 each. */
const TABLES = 0;
/** Reciprocals 1/c as f64 for the row box (c < 128), then 128 more for the column box. */
const ROW_RECIP = 3072;
const HEAP = 8192;
/** Windows above this would overrun the reciprocal tables (sides over 16,256 px): JS handles those. */
const MAX_WINDOW = 127;

// luma(src, dst, n): n RGB24 pixels at src → float32 luma at dst.
const luma = (() => {
  const [SRC, DST, N, K] = [0, 1, 2, 3];
  const table = (channel: number) => [
    ...get(SRC),
    ...i32load8u(channel),
    ...i32const(2),
    I32_SHL,
    ...f32load(TABLES + channel * 1024),
  ];
  return fn(
    [[1, I32]],
    loop(K, N, [
      ...get(DST),
      ...table(0),
      ...table(1),
      F32_ADD,
      ...table(2),
      F32_ADD,
      ...f32store,
      ...bump(SRC, i32const(3)),
      ...bump(DST, i32const(4)),
    ]),
  );
})();

// box4(in0..in3, inStride, out0..out3, outStride, recip, p1, p2, p3, p4): the reference's running
// box filter on four lanes at once, every output written; outputs are float32(sum · (1/count) in
// double), equal to float32(sum / count) (see frame.ts).
const box4 = (() => {
  const IN = [0, 1, 2, 3];
  const IN_STRIDE = 4;
  const OUT = [5, 6, 7, 8];
  const OUT_STRIDE = 9;
  const RECIP = 10;
  const P = [11, 12, 13, 14];
  const S = [15, 16, 17, 18]; // f32 sums
  const [K, R, L, O, C] = [19, 20, 21, 22, 23]; // i32
  const Q = 24; // f64
  const lanes = [0, 1, 2, 3];
  const entering = (i: number) => [...get(IN[i]!), ...get(R), I32_ADD, ...f32load()];
  const leaving = (i: number) => [...get(IN[i]!), ...get(L), I32_ADD, ...f32load()];
  const output = (i: number) => [
    ...get(OUT[i]!),
    ...get(O),
    I32_ADD,
    ...get(S[i]!),
    F64_PROMOTE_F32,
    ...get(Q),
    F64_MUL,
    F32_DEMOTE_F64,
    ...f32store,
  ];
  const loadQ = [...get(RECIP), ...get(C), ...i32const(3), I32_SHL, I32_ADD, ...f64load, ...set(Q)];
  const countBy = (d: number) => [...get(C), ...i32const(d), I32_ADD, ...set(C)];
  const add = lanes.flatMap((i) => [...get(S[i]!), ...entering(i), F32_ADD, ...set(S[i]!)]);
  const slide = lanes.flatMap((i) => [
    ...get(S[i]!),
    ...entering(i),
    F32_ADD,
    ...leaving(i),
    F32_SUB,
    ...set(S[i]!),
  ]);
  const sub = lanes.flatMap((i) => [...get(S[i]!), ...leaving(i), F32_SUB, ...set(S[i]!)]);
  const outputs = [...lanes.flatMap(output), ...bump(O, get(OUT_STRIDE))];
  return fn(
    [
      [4, F32],
      [5, I32],
      [1, F64],
    ],
    [
      ...loop(K, P[0]!, [...add, ...bump(R, get(IN_STRIDE)), ...countBy(1)]),
      ...loop(K, P[1]!, [...add, ...bump(R, get(IN_STRIDE)), ...countBy(1), ...loadQ, ...outputs]),
      ...loadQ,
      ...loop(K, P[2]!, [...slide, ...bump(R, get(IN_STRIDE)), ...bump(L, get(IN_STRIDE)), ...outputs]),
      ...loop(K, P[3]!, [...sub, ...bump(L, get(IN_STRIDE)), ...countBy(-1), ...loadQ, ...outputs]),
    ],
  );
})();

// The column box on every column at once, four columns per f32x4; n4 = columns / 4 (rows are
// padded to a multiple of four columns).
// colAdd(sums, row, n4) and colSub(sums, row, n4): sums ±= row.
const colStep = (op: number[]) => {
  const [SUMS, ROW, N4, K] = [0, 1, 2, 3];
  return fn(
    [[1, I32]],
    loop(K, N4, [
      ...get(SUMS),
      ...get(SUMS),
      ...v128load,
      ...get(ROW),
      ...v128load,
      ...op,
      ...v128store,
      ...bump(SUMS, i32const(16)),
      ...bump(ROW, i32const(16)),
    ]),
  );
};
// colScale(sums, out, n4, count): out = sums / count.
const colScale = (() => {
  const [SUMS, OUT, N4, COUNT, K, CV] = [0, 1, 2, 3, 4, 5];
  return fn(
    [
      [1, I32],
      [1, V128],
    ],
    [
      ...get(COUNT),
      ...F32X4_SPLAT,
      ...set(CV),
      ...loop(K, N4, [
        ...get(OUT),
        ...get(SUMS),
        ...v128load,
        ...get(CV),
        ...F32X4_DIV,
        ...v128store,
        ...bump(SUMS, i32const(16)),
        ...bump(OUT, i32const(16)),
      ]),
    ],
  );
})();
// colSlide(sums, enter, leave, out, n4, count): sums = (sums + enter) − leave; out = sums / count.
const colSlide = (() => {
  const [SUMS, ENTER, LEAVE, OUT, N4, COUNT, K, CV, S] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  return fn(
    [
      [1, I32],
      [2, V128],
    ],
    [
      ...get(COUNT),
      ...F32X4_SPLAT,
      ...set(CV),
      ...loop(K, N4, [
        ...get(SUMS),
        ...get(SUMS),
        ...v128load,
        ...get(ENTER),
        ...v128load,
        ...F32X4_ADD,
        ...get(LEAVE),
        ...v128load,
        ...F32X4_SUB,
        ...tee(S),
        ...v128store,
        ...get(OUT),
        ...get(S),
        ...get(CV),
        ...F32X4_DIV,
        ...v128store,
        ...bump(SUMS, i32const(16)),
        ...bump(ENTER, i32const(16)),
        ...bump(LEAVE, i32const(16)),
        ...bump(OUT, i32const(16)),
      ]),
    ],
  );
})();

const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
const name = (s: string) => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
const functype = (params: number[], results: number[] = []) => [
  0x60,
  ...uleb(params.length),
  ...params,
  ...uleb(results.length),
  ...results,
];

const EXPORTS = ["luma", "box4", "colAdd", "colSub", "colScale", "colSlide"] as const;

/** The module's bytes: exports its memory "mem" and the six kernels. */
export function frameKernelBytes(): Uint8Array<ArrayBuffer> {
  const types = [
    functype([I32, I32, I32]), // 0: luma, colAdd, colSub
    functype(Array(15).fill(I32)), // 1: box4
    functype([I32, I32, I32, F32]), // 2: colScale
    functype([I32, I32, I32, I32, I32, F32]), // 3: colSlide
  ];
  const funcTypes = [0, 1, 0, 0, 2, 3];
  const bodies = [luma, box4, colStep(F32X4_ADD), colStep(F32X4_SUB), colScale, colSlide];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [...uleb(types.length), ...types.flat()]),
    ...section(3, [...uleb(funcTypes.length), ...funcTypes]),
    ...section(5, [1, 0x00, 1]), // memory: at least one page, grown on demand
    ...section(7, [
      ...uleb(EXPORTS.length + 1),
      ...EXPORTS.flatMap((n, i) => [...name(n), 0x00, i]),
      ...name("mem"),
      0x02,
      0,
    ]),
    ...section(10, [...uleb(bodies.length), ...bodies.flat()]),
  ]);
}

interface Kernels {
  readonly mem: WebAssembly.Memory;
  luma(src: number, dst: number, n: number): void;
  box4(...args: number[]): void;
  colAdd(sums: number, row: number, n4: number): void;
  colSub(sums: number, row: number, n4: number): void;
  colScale(sums: number, out: number, n4: number, count: number): void;
  colSlide(sums: number, enter: number, leave: number, out: number, n4: number, count: number): void;
}

let kernels: Kernels | null | undefined;

/** Compiles the module once; null where WebAssembly (with SIMD) cannot be compiled from bytes. */
function load(): Kernels | null {
  if (kernels !== undefined) return kernels;
  try {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(frameKernelBytes()), {});
    const k = instance.exports as unknown as Kernels;
    const f32 = Math.fround;
    const tables = new Float32Array(k.mem.buffer, TABLES, 768);
    for (let v = 0; v < 256; v++) {
      tables[v] = f32(0.299) * v;
      tables[256 + v] = f32(0.587) * v;
      tables[512 + v] = f32(0.114) * v;
    }
    kernels = k;
  } catch {
    kernels = null;
  }
  return kernels;
}

/** Phase lengths of the running box filter (core.ts box1D). */
function phases(length: number, window: number): [number, number, number, number] {
  const half = Math.floor((window + 2) / 2);
  return [half - 1, window - half + 1, length - window, half - 1];
}

/**
 * The 64×64 grid's spectrum for an 8-bit RGB frame of at least 5 px a side (not exactly 64×64),
 * or null when the kernels are unavailable or the frame is outside what they handle.
 */
export function frameSpectrumWasm(pixels: PixelBuffer): Spectrum | null {
  const { width, height, channels, data } = pixels;
  if (channels !== 3 || data instanceof Uint16Array) return null;
  const rowWindow = windowSize(width);
  const colWindow = windowSize(height);
  if (rowWindow > MAX_WINDOW || colWindow > MAX_WINDOW) return null;
  const k = load();
  if (k === null) return null;

  // Rows are padded to a multiple of four columns for the f32x4 column box; the padding columns
  // stay zero and are never read back.
  const w = width;
  const w4 = Math.ceil(w / 4) * 4;
  const rowBytes = w4 * 4;
  const ringRows = colWindow + 4;
  const stage = HEAP; // four RGB rows
  const lumaRows = stage + Math.ceil((4 * w * 3) / 16) * 16;
  const ring = lumaRows + 4 * rowBytes;
  const sums = ring + ringRows * rowBytes;
  const block = sums + rowBytes;
  const second = block + 4 * rowBytes;
  const kept = second + 4 * rowBytes; // the second pass's rows at the 64 sampled columns
  const columns = kept + height * 256; // the second pass's column box on those
  const end = columns + height * 256;
  const pages = Math.ceil(end / 65536);
  if (k.mem.buffer.byteLength < pages * 65536) k.mem.grow(pages - k.mem.buffer.byteLength / 65536);
  const heap = k.mem.buffer;
  new Uint8Array(heap, HEAP, end - HEAP).fill(0);
  const recips = new Float64Array(heap, ROW_RECIP, 256);
  for (let c = 1; c <= rowWindow; c++) recips[c] = 1 / c;
  for (let c = 1; c <= colWindow; c++) recips[128 + c] = 1 / c;
  const bytes = new Uint8Array(heap);
  const floats = new Float32Array(heap);
  const n4 = w4 / 4;
  const rowPhases = phases(w, rowWindow);
  const xs = Int32Array.from({ length: 64 }, (_, j) => sampleIndex(j, w));
  const ys = Int32Array.from({ length: 64 }, (_, i) => sampleIndex(i, height));

  // First pass, rows: four source rows at a time, luma then the row box into the ring.
  let produced = 0;
  const rowAt = (y: number): number => {
    while (produced <= y) {
      const n = Math.min(4, height - produced);
      bytes.set(data.subarray(produced * w * 3, (produced + n) * w * 3), stage);
      for (let r = 0; r < n; r++) k.luma(stage + r * w * 3, lumaRows + r * rowBytes, w);
      const lane = (r: number): number => Math.min(r, n - 1);
      const slot = (r: number): number => ring + ((produced + lane(r)) % ringRows) * rowBytes;
      k.box4(
        lumaRows,
        lumaRows + lane(1) * rowBytes,
        lumaRows + lane(2) * rowBytes,
        lumaRows + lane(3) * rowBytes,
        4,
        slot(0),
        slot(1),
        slot(2),
        slot(3),
        4,
        ROW_RECIP,
        ...rowPhases,
      );
      produced += n;
    }
    return ring + (y % ringRows) * rowBytes;
  };

  // First pass, columns (SIMD over columns), its output rows gathered four at a time for the
  // second pass's row box; of those only the 64 sampled columns are kept.
  let blockRows = 0;
  let secondRows = 0;
  const flush = (): void => {
    if (blockRows === 0) return;
    const lane = (r: number): number => Math.min(r, blockRows - 1);
    k.box4(
      block,
      block + lane(1) * rowBytes,
      block + lane(2) * rowBytes,
      block + lane(3) * rowBytes,
      4,
      second,
      second + lane(1) * rowBytes,
      second + lane(2) * rowBytes,
      second + lane(3) * rowBytes,
      4,
      ROW_RECIP,
      ...rowPhases,
    );
    for (let r = 0; r < blockRows; r++) {
      const from = (second + r * rowBytes) / 4;
      const to = kept / 4 + (secondRows + r) * 64;
      for (let j = 0; j < 64; j++) floats[to + j] = floats[from + xs[j]!]!;
    }
    secondRows += blockRows;
    blockRows = 0;
  };
  const next = (): number => block + blockRows * rowBytes;
  const emitted = (): void => {
    if (++blockRows === 4) flush();
  };
  const [p1, p2, p3, p4] = phases(height, colWindow);
  let entering = 0;
  let leaving = 0;
  let count = 0;
  for (let i = 0; i < p1; i++) {
    k.colAdd(sums, rowAt(entering++), n4);
    count++;
  }
  for (let i = 0; i < p2; i++) {
    k.colAdd(sums, rowAt(entering++), n4);
    k.colScale(sums, next(), n4, ++count);
    emitted();
  }
  for (let i = 0; i < p3; i++) {
    const enter = rowAt(entering++);
    k.colSlide(sums, enter, ring + (leaving++ % ringRows) * rowBytes, next(), n4, count);
    emitted();
  }
  for (let i = 0; i < p4; i++) {
    k.colSub(sums, ring + (leaving++ % ringRows) * rowBytes, n4);
    k.colScale(sums, next(), n4, --count);
    emitted();
  }
  flush();

  // Second pass, columns: the 64 kept columns, four at a time, every output written; the grid
  // takes the 64 sampled rows.
  const colPhases = phases(height, colWindow);
  for (let j = 0; j < 64; j += 4) {
    const lane = (c: number): number => 4 * (j + c);
    k.box4(
      kept + lane(0),
      kept + lane(1),
      kept + lane(2),
      kept + lane(3),
      256,
      columns + lane(0),
      columns + lane(1),
      columns + lane(2),
      columns + lane(3),
      256,
      ROW_RECIP + 1024,
      ...colPhases,
    );
  }
  const grid = new Float32Array(64 * 64);
  for (let i = 0; i < 64; i++)
    grid.set(floats.subarray(columns / 4 + ys[i]! * 64, columns / 4 + ys[i]! * 64 + 64), i * 64);
  return gridSpectrum(grid);
}
