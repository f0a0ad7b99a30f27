// Optional WebAssembly scan kernel: the linear scan's inner loop with i64.popcnt (one POPCNT
// instruction per 64 bits) instead of JS's SWAR popcount. Measured several times faster than the JS
// loop (bench/match-index.ts); JS stays the default and the fallback.
//
// Workers refuse WebAssembly.compile() of bytes at runtime: a Worker must import the module
// precompiled (wrangler's CompiledWasm rule; the bytes are in ../wasm/scan.wasm, which a unit test
// keeps identical to scanKernelBytes()) and pass it as `scanModule`. Node may compile the bytes.
//
// The module is assembled here rather than checked in from a toolchain because it is two small
// functions and this keeps it reviewable: every instruction is spelled out below.
//
// Both functions: (lo, hi, n, q, t, out, outCap) -> hits, all i32. lo/hi point at n entries of 16
// bytes (words 0-3 and 4-7 of each hash, as PdqIndex stores them), q at the query's 32 bytes in the
// same word order, out at room for outCap (slot, distance) i32 pairs; slots are relative to lo.
//   scan_early: skips the second half when the first 128 bits already exceed t (best for small t).
//   scan_full:  always adds all 256 bits, branch-free until the compare (best when many entries
//               pass the first half, i.e. large t, where mispredicted branches would dominate).

const I32 = 0x7f;
const I64 = 0x7e;

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
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
const name = (s: string) => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];

// Instructions used (opcodes from the WebAssembly core spec, section 5.4).
const get = (i: number) => [0x20, i];
const set = (i: number) => [0x21, i];
const tee = (i: number) => [0x22, i];
const i64load = (offset: number) => [0x29, 3, offset]; // align 2^3
const i32store = (offset: number) => [0x36, 2, offset]; // align 2^2
const i32const = (v: number) => [0x41, v]; // only small non-negative constants (< 64) here
const I32_ADD = 0x6a;
const I32_SHL = 0x74;
const I32_AND = 0x71;
const I32_GE_U = 0x4f;
const I32_LE_U = 0x4d;
const I32_LT_U = 0x49;
const I64_XOR = 0x85;
const I64_POPCNT = 0x7b;
const I64_ADD = 0x7c;
const I32_WRAP_I64 = 0xa7;
const BLOCK = [0x02, 0x40];
const LOOP = [0x03, 0x40];
const IF = [0x04, 0x40];
const END = 0x0b;
const BR = 0x0c;
const BR_IF = 0x0d;

// Parameters 0..6: lo hi n q t out outCap. Locals: 7 s (slot), 8 o (byte offset), 9 d, 10 hits,
// 11..14 the query as four i64.
const [LO, HI, N, Q, T, OUT, OUT_CAP, S, O, D, HITS, Q0, Q1, Q2, Q3] = [
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
];

/** popcount(mem[base + o + offset] ^ q) as i64 on the stack. */
const popcntAt = (base: number, offset: number, q: number) => [
  ...get(base),
  ...get(O),
  I32_ADD,
  ...i64load(offset),
  ...get(q),
  I64_XOR,
  I64_POPCNT,
];

/** if (d <= t && hits < outCap) { out[hits] = (s, d); hits++ } */
const emit = [
  ...get(D),
  ...get(T),
  I32_LE_U,
  ...get(HITS),
  ...get(OUT_CAP),
  I32_LT_U,
  I32_AND,
  ...IF,
  ...[...get(OUT), ...get(HITS), ...i32const(3), I32_SHL, I32_ADD, ...get(S), ...i32store(0)],
  ...[...get(OUT), ...get(HITS), ...i32const(3), I32_SHL, I32_ADD, ...get(D), ...i32store(4)],
  ...[...get(HITS), ...i32const(1), I32_ADD, ...set(HITS)],
  END,
];

function kernel(early: boolean): number[] {
  const firstHalf = [...popcntAt(LO, 0, Q0), ...popcntAt(LO, 8, Q1), I64_ADD];
  const secondHalf = [...popcntAt(HI, 0, Q2), ...popcntAt(HI, 8, Q3), I64_ADD];
  const compare = early
    ? [
        ...firstHalf,
        I32_WRAP_I64,
        ...tee(D),
        ...get(T),
        I32_LE_U,
        ...IF,
        ...secondHalf,
        I32_WRAP_I64,
        ...get(D),
        I32_ADD,
        ...set(D),
        ...emit,
        END,
      ]
    : [...firstHalf, ...secondHalf, I64_ADD, I32_WRAP_I64, ...set(D), ...emit];
  const body = [
    2,
    4,
    I32,
    4,
    I64, // locals: 4 x i32, 4 x i64
    ...[...get(Q), ...i64load(0), ...set(Q0)],
    ...[...get(Q), ...i64load(8), ...set(Q1)],
    ...[...get(Q), ...i64load(16), ...set(Q2)],
    ...[...get(Q), ...i64load(24), ...set(Q3)],
    ...BLOCK,
    ...LOOP,
    ...[...get(S), ...get(N), I32_GE_U, BR_IF, 1],
    ...compare,
    ...[...get(S), ...i32const(1), I32_ADD, ...set(S)],
    ...[...get(O), ...i32const(16), I32_ADD, ...set(O)],
    BR,
    0,
    END,
    END,
    ...get(HITS),
    END,
  ];
  return [...uleb(body.length), ...body];
}

let cached: Uint8Array<ArrayBuffer> | undefined;

/** The kernel module's bytes: imports memory "env"."mem", exports scan_early and scan_full. */
export function scanKernelBytes(): Uint8Array<ArrayBuffer> {
  if (cached !== undefined) return cached.slice();
  const fnType = [0x60, 7, I32, I32, I32, I32, I32, I32, I32, 1, I32];
  cached = new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0],
    ...section(1, [1, ...fnType]),
    ...section(2, [1, ...name("env"), ...name("mem"), 0x02, 0x00, 1]), // memory, min 1 page
    ...section(3, [2, 0, 0]),
    ...section(7, [2, ...name("scan_early"), 0x00, 0, ...name("scan_full"), 0x00, 1]),
    ...section(10, [2, ...kernel(true), ...kernel(false)]),
  ]);
  return cached.slice();
}

type KernelFn = (
  lo: number,
  hi: number,
  n: number,
  q: number,
  t: number,
  out: number,
  outCap: number,
) => number;

/**
 * Hash storage inside a WebAssembly.Memory plus the kernel instance bound to it. Layout (bytes):
 * [lo: capacity x 16][hi: capacity x 16][query: 32][out: outCap x 8].
 */
export class WasmScanner {
  readonly memory: WebAssembly.Memory;
  readonly lo: Uint32Array;
  readonly hi: Uint32Array;
  readonly capacity: number;
  private readonly early: KernelFn;
  private readonly full: KernelFn;
  private readonly qAt: number;
  private readonly outAt: number;
  private readonly outCap: number;
  private readonly query: Uint32Array;
  private readonly out: Int32Array;

  constructor(module: WebAssembly.Module, capacity: number, outCap: number) {
    const bytes = capacity * 32 + 32 + outCap * 8;
    this.memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / 65536) });
    const exports = new WebAssembly.Instance(module, { env: { mem: this.memory } }).exports;
    this.early = exports.scan_early as KernelFn;
    this.full = exports.scan_full as KernelFn;
    this.capacity = capacity;
    this.lo = new Uint32Array(this.memory.buffer, 0, capacity * 4);
    this.hi = new Uint32Array(this.memory.buffer, capacity * 16, capacity * 4);
    this.qAt = capacity * 32;
    this.outAt = this.qAt + 32;
    this.outCap = outCap;
    this.query = new Uint32Array(this.memory.buffer, this.qAt, 8);
    this.out = new Int32Array(this.memory.buffer, this.outAt, outCap * 2);
  }

  /** Loads the query at word offset `qo` of `q` for the following scan() calls. */
  setQuery(q: Uint32Array, qo: number): void {
    for (let k = 0; k < 8; k++) this.query[k] = q[qo + k]!;
  }

  /**
   * Entries from..to-1 (to - from <= outCap) within `t` of the loaded query: pushes (slot, distance)
   * of the live ones to the output arrays.
   */
  scan(
    from: number,
    to: number,
    t: number,
    early: boolean,
    alive: Uint32Array,
    slots: number[],
    dists: number[],
  ) {
    const fn = early ? this.early : this.full;
    const hits = fn(
      from * 16,
      this.capacity * 16 + from * 16,
      to - from,
      this.qAt,
      t,
      this.outAt,
      this.outCap,
    );
    const out = this.out;
    for (let k = 0; k < hits; k++) {
      const s = from + out[2 * k]!;
      if (((alive[s >>> 5]! >>> (s & 31)) & 1) === 0) continue;
      slots.push(s);
      dists.push(out[2 * k + 1]!);
    }
  }
}
