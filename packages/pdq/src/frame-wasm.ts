// The full-resolution (video frame) PDQ filter of frame.ts with its loops in WebAssembly SIMD:
// the same streamed passes and the same float32 operations in the same order within every running
// sum, so the grid is bit-identical (the unit tests compare it with the JS filter and with the
// full-plane pipeline of core.ts). WebAssembly's f32 arithmetic is IEEE single precision, like the
// reference's C `float`, where JavaScript pays two conversions for each Math.fround; and f32x4
// runs four independent running sums per instruction:
//   - luma four pixels at a time (the products 0.299f·R etc. in f32, summed in the reference's order);
//   - the row boxes on four rows at once, their rows interleaved (a 4×4 transpose) so each step's
//     four lanes are the four rows' samples at one column;
//   - the column box on four adjacent columns per step, and the second pass's column box on four
//     of the 64 kept columns, which a row of 64 already holds side by side.
// Division by the window count is f32x4.div: the reference's float sum / int count, exactly.
//
// The module is assembled here, every instruction spelled out, because it is a few small loops and
// no WebAssembly toolchain is needed to review or rebuild it (packages/match does the same). Where
// WebAssembly cannot be compiled from bytes at run time (a Cloudflare Worker refuses it) or lacks
// SIMD, frameSpectrumWasm returns null and the caller uses the JS filter.
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
const V128 = 0x7b;
const get = (i: number) => [0x20, ...uleb(i)];
const set = (i: number) => [0x21, ...uleb(i)];
const tee = (i: number) => [0x22, ...uleb(i)];
const i32const = (v: number) => [0x41, ...sleb(v)];
const I32_ADD = 0x6a;
const I32_SUB = 0x6b;
const I32_GE_U = 0x4f;
const F32_CONVERT_I32_U = 0xb3;
const f32store = [0x38, 2, 0];
const END = 0x0b;
const simd = (op: number, ...immediates: number[]) => [0xfd, ...uleb(op), ...immediates];
const v128load = (offset = 0) => simd(0x00, 0, ...uleb(offset));
const v128store = (offset = 0) => simd(0x0b, 0, ...uleb(offset));
const v128const = (bytes: Uint8Array) => simd(0x0c, ...bytes);
/** i8x16.shuffle of two vectors, picking four f32 lanes (0–3 the first vector, 4–7 the second). */
const shuffleF32 = (lanes: [number, number, number, number]) =>
  simd(0x0d, ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]));
const F32X4_SPLAT = simd(0x13);
const f32x4ExtractLane = (lane: number) => simd(0x1f, lane);
const F32X4_ADD = simd(0xe4);
const F32X4_SUB = simd(0xe5);
const F32X4_MUL = simd(0xe6);
const F32X4_DIV = simd(0xe7);
const F32X4_CONVERT_I32X4_U = simd(0xfb);

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

const splatF32 = (v: number) => v128const(new Uint8Array(Float32Array.of(v, v, v, v).buffer));

// lumaRows(src, dst, n4): 4·n4 RGB24 pixels at src → float32 luma at dst, four pixels a step:
// float32(float32(0.299f·R + 0.587f·G) + 0.114f·B), each product rounded to float32, as the
// reference computes it. A step loads 16 bytes and uses 12, so up to 4 bytes past the last pixel
// are read (and their lanes, past the row's end, are never used).
const lumaRows = (() => {
  const [SRC, DST, N4, K, V] = [0, 1, 2, 3, 4];
  const zero = v128const(new Uint8Array(16));
  /** Channel c of the four pixels as u32 lanes: bytes 3p + c, zero-extended (indices ≥ 16 pick zeros). */
  const channel = (c: number) => [
    ...get(V),
    ...zero,
    ...simd(0x0d, ...[0, 1, 2, 3].flatMap((p) => [3 * p + c, 16, 16, 16])),
    ...F32X4_CONVERT_I32X4_U,
  ];
  return fn(
    [
      [1, I32],
      [1, V128],
    ],
    loop(K, N4, [
      ...get(SRC),
      ...v128load(),
      ...set(V),
      ...get(DST),
      ...channel(0),
      ...splatF32(0.299),
      ...F32X4_MUL,
      ...channel(1),
      ...splatF32(0.587),
      ...F32X4_MUL,
      ...F32X4_ADD,
      ...channel(2),
      ...splatF32(0.114),
      ...F32X4_MUL,
      ...F32X4_ADD,
      ...v128store(),
      ...bump(SRC, i32const(12)),
      ...bump(DST, i32const(16)),
    ]),
  );
})();

// transpose4(r0, r1, r2, r3, dst, n4): four rows of 4·n4 floats → interleaved, dst[4x + r] = r_r[x],
// a 4×4 tile per step.
const transpose4 = (() => {
  const R = [0, 1, 2, 3];
  const [DST, N4, K, A, B, C, D, T0, T1, T2, T3] = [4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14];
  const rows = [A, B, C, D];
  return fn(
    [
      [1, I32],
      [8, V128],
    ],
    loop(K, N4, [
      ...R.flatMap((r) => [...get(R[r]!), ...v128load(), ...set(rows[r]!)]),
      ...[...get(A), ...get(B), ...shuffleF32([0, 4, 1, 5]), ...set(T0)], // a0 b0 a1 b1
      ...[...get(A), ...get(B), ...shuffleF32([2, 6, 3, 7]), ...set(T1)], // a2 b2 a3 b3
      ...[...get(C), ...get(D), ...shuffleF32([0, 4, 1, 5]), ...set(T2)], // c0 d0 c1 d1
      ...[...get(C), ...get(D), ...shuffleF32([2, 6, 3, 7]), ...set(T3)], // c2 d2 c3 d3
      ...[...get(DST), ...get(T0), ...get(T2), ...shuffleF32([0, 1, 4, 5]), ...v128store(0)],
      ...[...get(DST), ...get(T0), ...get(T2), ...shuffleF32([2, 3, 6, 7]), ...v128store(16)],
      ...[...get(DST), ...get(T1), ...get(T3), ...shuffleF32([0, 1, 4, 5]), ...v128store(32)],
      ...[...get(DST), ...get(T1), ...get(T3), ...shuffleF32([2, 3, 6, 7]), ...v128store(48)],
      ...R.flatMap((r) => bump(R[r]!, i32const(16))),
      ...bump(DST, i32const(64)),
    ]),
  );
})();

// The reference's running box filter on four interleaved lanes at once (four rows, or four
// columns), f32x4: lane l of step x is at in + x·inStride. Outputs are sum / count in f32 (a true
// division, as the reference's float sum / int count).
//   boxV(in, inStride, out, outStride, p1, p2, p3, p4): outputs interleaved, out + x·outStride.
//   boxS(in, inStride, out0, out1, out2, out3, outStride, p1, p2, p3, p4): lane l's output to
//     out_l + x·outStride (back to four separate rows).
const box = (scatter: boolean) => {
  const IN = 0;
  const IN_STRIDE = 1;
  const OUT = scatter ? [2, 3, 4, 5] : [2];
  const OUT_STRIDE = OUT.at(-1)! + 1;
  const P = [0, 1, 2, 3].map((i) => OUT_STRIDE + 1 + i);
  const [K, R, L, O, C] = [0, 1, 2, 3, 4].map((i) => P[3]! + 1 + i);
  const [S, CV, T] = [0, 1, 2].map((i) => C! + 1 + i);
  const at = (pos: number) => [...get(IN), ...get(pos), I32_ADD, ...v128load()];
  const countVector = [...get(C!), F32_CONVERT_I32_U, ...F32X4_SPLAT, ...set(CV!)];
  const count = (d: number) => [...get(C!), ...i32const(1), d > 0 ? I32_ADD : I32_SUB, ...set(C!)];
  const output = scatter
    ? [
        ...[...get(S!), ...get(CV!), ...F32X4_DIV, ...set(T!)],
        ...[0, 1, 2, 3].flatMap((l) => [
          ...get(OUT[l]!),
          ...get(O!),
          I32_ADD,
          ...get(T!),
          ...f32x4ExtractLane(l),
          ...f32store,
        ]),
        ...bump(O!, get(OUT_STRIDE)),
      ]
    : [
        ...[...get(OUT[0]!), ...get(O!), I32_ADD, ...get(S!), ...get(CV!), ...F32X4_DIV, ...v128store()],
        ...bump(O!, get(OUT_STRIDE)),
      ];
  const add = [...get(S!), ...at(R!), ...F32X4_ADD, ...set(S!)];
  const slide = [...get(S!), ...at(R!), ...F32X4_ADD, ...at(L!), ...F32X4_SUB, ...set(S!)];
  const sub = [...get(S!), ...at(L!), ...F32X4_SUB, ...set(S!)];
  return fn(
    [
      [5, I32],
      [3, V128],
    ],
    [
      ...loop(K!, P[0]!, [...add, ...bump(R!, get(IN_STRIDE)), ...count(1)]),
      ...loop(K!, P[1]!, [...add, ...bump(R!, get(IN_STRIDE)), ...count(1), ...countVector, ...output]),
      ...countVector,
      ...loop(K!, P[2]!, [...slide, ...bump(R!, get(IN_STRIDE)), ...bump(L!, get(IN_STRIDE)), ...output]),
      ...loop(K!, P[3]!, [...sub, ...bump(L!, get(IN_STRIDE)), ...count(-1), ...countVector, ...output]),
    ],
  );
};

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
      ...v128load(),
      ...get(ROW),
      ...v128load(),
      ...op,
      ...v128store(),
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
      F32_CONVERT_I32_U,
      ...F32X4_SPLAT,
      ...set(CV),
      ...loop(K, N4, [
        ...get(OUT),
        ...get(SUMS),
        ...v128load(),
        ...get(CV),
        ...F32X4_DIV,
        ...v128store(),
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
      F32_CONVERT_I32_U,
      ...F32X4_SPLAT,
      ...set(CV),
      ...loop(K, N4, [
        ...get(SUMS),
        ...get(SUMS),
        ...v128load(),
        ...get(ENTER),
        ...v128load(),
        ...F32X4_ADD,
        ...get(LEAVE),
        ...v128load(),
        ...F32X4_SUB,
        ...tee(S),
        ...v128store(),
        ...get(OUT),
        ...get(S),
        ...get(CV),
        ...F32X4_DIV,
        ...v128store(),
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

const EXPORTS = [
  "lumaRows",
  "transpose4",
  "boxV",
  "boxS",
  "colAdd",
  "colSub",
  "colScale",
  "colSlide",
] as const;

/** The module's bytes: exports its memory "mem" and the eight kernels (all parameters i32). */
export function frameKernelBytes(): Uint8Array<ArrayBuffer> {
  const arity = [3, 6, 8, 11, 3, 3, 4, 6];
  const types = [...new Set(arity)];
  const bodies = [
    lumaRows,
    transpose4,
    box(false),
    box(true),
    colStep(F32X4_ADD),
    colStep(F32X4_SUB),
    colScale,
    colSlide,
  ];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [...uleb(types.length), ...types.flatMap((n) => functype(Array(n).fill(I32)))]),
    ...section(3, [...uleb(arity.length), ...arity.map((n) => types.indexOf(n))]),
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

type Kernel = (...args: number[]) => void;
type Kernels = { readonly mem: WebAssembly.Memory } & { readonly [K in (typeof EXPORTS)[number]]: Kernel };

let kernels: Kernels | null | undefined;

/** Compiles the module once; null where WebAssembly (with SIMD) cannot be compiled from bytes. */
function load(): Kernels | null {
  if (kernels === undefined) {
    try {
      kernels = new WebAssembly.Instance(new WebAssembly.Module(frameKernelBytes()), {})
        .exports as unknown as Kernels;
    } catch {
      kernels = null;
    }
  }
  return kernels;
}

/** Phase lengths of the running box filter (core.ts box1D). */
function phases(length: number, window: number): [number, number, number, number] {
  const half = Math.floor((window + 2) / 2);
  return [half - 1, window - half + 1, length - window, half - 1];
}

const HEAP = 1024;

/**
 * The 64×64 grid's spectrum for an 8-bit RGB frame of at least 5 px a side (not exactly 64×64),
 * or null where the kernels are unavailable.
 */
export function frameSpectrumWasm(pixels: PixelBuffer): Spectrum | null {
  const { width, height, channels, data } = pixels;
  if (channels !== 3 || data instanceof Uint16Array) return null;
  const k = load();
  if (k === null) return null;
  const rowWindow = windowSize(width);
  const colWindow = windowSize(height);

  // Rows are padded to a multiple of four columns for the f32x4 steps; what lands in the padding
  // is never read back into a sampled value.
  const w = width;
  const n4 = Math.ceil(w / 4);
  const rowBytes = n4 * 16;
  const ringRows = colWindow + 4;
  const stage = HEAP; // four RGB rows, plus slack for lumaRows' last 16-byte load
  const lumaRows = stage + Math.ceil((4 * w * 3 + 16) / 16) * 16;
  const lumaInterleaved = lumaRows + 4 * rowBytes;
  const ring = lumaInterleaved + 4 * rowBytes;
  const sums = ring + ringRows * rowBytes;
  const block = sums + rowBytes;
  const blockInterleaved = block + 4 * rowBytes;
  const second = blockInterleaved + 4 * rowBytes;
  const kept = second + 4 * rowBytes; // the second pass's rows at the 64 sampled columns
  const columns = kept + height * 256; // the second pass's column box on those
  const end = columns + height * 256;
  const have = k.mem.buffer.byteLength / 65536;
  const need = Math.ceil(end / 65536);
  if (need > have) k.mem.grow(need - have);
  const bytes = new Uint8Array(k.mem.buffer);
  const floats = new Float32Array(k.mem.buffer);
  bytes.fill(0, HEAP, end);
  const rowPhases = phases(w, rowWindow);
  const xs = Int32Array.from({ length: 64 }, (_, j) => sampleIndex(j, w));
  const ys = Int32Array.from({ length: 64 }, (_, i) => sampleIndex(i, height));

  // First pass, rows: four source rows at a time: luma, interleaved, the row box (four rows as
  // the four lanes) back into separate rows of the ring, which holds the rows the column box
  // still needs (from the one leaving to the newest block).
  let produced = 0;
  const rowAt = (y: number): number => {
    while (produced <= y) {
      const n = Math.min(4, height - produced);
      bytes.set(data.subarray(produced * w * 3, (produced + n) * w * 3), stage);
      for (let r = 0; r < n; r++) k.lumaRows(stage + r * w * 3, lumaRows + r * rowBytes, n4);
      // A partial block repeats its last row in the spare lanes: the same values, written twice.
      const lane = (r: number): number => Math.min(r, n - 1);
      const slot = (r: number): number => ring + ((produced + lane(r)) % ringRows) * rowBytes;
      k.transpose4(
        lumaRows,
        lumaRows + lane(1) * rowBytes,
        lumaRows + lane(2) * rowBytes,
        lumaRows + lane(3) * rowBytes,
        lumaInterleaved,
        n4,
      );
      k.boxS(lumaInterleaved, 16, slot(0), slot(1), slot(2), slot(3), 4, ...rowPhases);
      produced += n;
    }
    return ring + (y % ringRows) * rowBytes;
  };

  // First pass, columns (four columns per step), its output rows gathered four at a time for the
  // second pass's row box; of those rows only the 64 sampled columns are kept.
  let blockRows = 0;
  let keptRows = 0;
  const flush = (): void => {
    if (blockRows === 0) return;
    const lane = (r: number): number => Math.min(r, blockRows - 1);
    k.transpose4(
      block,
      block + lane(1) * rowBytes,
      block + lane(2) * rowBytes,
      block + lane(3) * rowBytes,
      blockInterleaved,
      n4,
    );
    k.boxV(blockInterleaved, 16, second, 16, ...rowPhases);
    for (let r = 0; r < blockRows; r++) {
      const to = kept / 4 + (keptRows + r) * 64;
      for (let j = 0; j < 64; j++) floats[to + j] = floats[second / 4 + xs[j]! * 4 + r]!;
    }
    keptRows += blockRows;
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

  // Second pass, columns: the 64 kept columns, four adjacent ones as the lanes (already
  // interleaved in a row of 64), every output written; the grid takes the 64 sampled rows.
  const colPhases = phases(height, colWindow);
  for (let j = 0; j < 64; j += 4) k.boxV(kept + 4 * j, 256, columns + 4 * j, 256, ...colPhases);
  const grid = new Float32Array(64 * 64);
  for (let i = 0; i < 64; i++) {
    const from = columns / 4 + ys[i]! * 64;
    grid.set(floats.subarray(from, from + 64), i * 64);
  }
  return gridSpectrum(grid);
}
