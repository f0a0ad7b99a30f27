// Optional WebAssembly kernels: the linear scan's inner loop and the candidate check of probing,
// with i64.popcnt (one POPCNT instruction per 64 bits) instead of JS's SWAR popcount. Measured
// several times faster than the JS loops for the scan and about a third less CPU for probing
// (bench/match-index.ts); JS stays the default and the fallback, with identical answers (tested).
//
// Workers refuse WebAssembly.compile() of bytes at runtime: a Worker must import the module
// precompiled (wrangler's CompiledWasm rule; the bytes are in ../wasm/scan.wasm, which a unit test
// keeps identical to scanKernelBytes()) and pass it as `scanModule`. Node may compile the bytes.
//
// The module is assembled here rather than checked in from a toolchain because it is three small
// functions and this keeps it reviewable: every instruction is spelled out below.

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

// scan4_early / scan4_full (lo, hi, n, q, t, out, outCap) -> hits, all i32: the scan's inner loop
// for four queries at once. lo/hi point at n entries of 16 bytes (words 0-3 and 4-7 of each hash,
// as PdqIndex stores them), q at the four queries' 32 bytes each in the same word order, out at
// room for outCap (slot * 4 + query, distance) i32 pairs; slots are relative to lo. Each entry is
// loaded once for the four and the loop's own work is shared: measured about twice as fast per
// (entry, query) as one query at a time (0.65 vs 1.5 ns early exit, 1.45 vs 2.8 ns branch-free).
//   scan4_early: adds the second half only when the first 128 bits are within t (best for small t).
//   scan4_full:  adds 192 bits for every entry and the last 64 only when those are within t (best
//                from T ~ 46, where enough entries pass the first half that mispredicted branches
//                would dominate; 192 bits of a random pair are within 63 about once in a million, so
//                its one branch is predictable). Before, it added all 256 bits without a branch:
//                the check after three words measured 1.4-1.6x faster at T = 52-63 (1.45 -> 0.9 ns).
// A 128-bit SIMD form (v128 XOR, i8x16.popcnt, pairwise widening adds) measured slower than
// i64.popcnt on the x86 benchmark VM (2.9 vs 2.3 ns per entry branch-free, one query): without
// AVX-512 the engine spells i8x16.popcnt as a table lookup, and the horizontal sum costs more.
// Parameters 0..6; locals: 7 s (slot), 8 o (byte offset), 9 d, 10 hits (i32); 11-14 the entry's
// four i64; 15-30 the queries' 16 i64.
const [LO, HI, N, Q, T, OUT, OUT_CAP, S, O, D, HITS] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
const E = [11, 12, 13, 14];
const QJ = (j: number, k: number) => 15 + j * 4 + k;

function kernel4(early: boolean): number[] {
  const pop = (e: number[], j: number, k: number) => [...e, ...get(QJ(j, k)), I64_XOR, I64_POPCNT];
  const entryWord = (k: number) =>
    early && k >= 2 ? [...get(HI), ...get(O), I32_ADD, ...i64load((k - 2) * 8)] : get(E[k]!);
  const emit4 = (j: number) => [
    ...get(D),
    ...get(T),
    I32_LE_U,
    ...get(HITS),
    ...get(OUT_CAP),
    I32_LT_U,
    I32_AND,
    ...IF,
    ...[...get(OUT), ...get(HITS), ...i32const(3), I32_SHL, I32_ADD],
    ...[...get(S), ...i32const(2), I32_SHL, ...i32const(j), I32_ADD, ...i32store(0)],
    ...[...get(OUT), ...get(HITS), ...i32const(3), I32_SHL, I32_ADD, ...get(D), ...i32store(4)],
    ...[...get(HITS), ...i32const(1), I32_ADD, ...set(HITS)],
    END,
  ];
  // `head` summed for the query (i64), then `rest` added and the hit emitted only when `head` is
  // already within t.
  const checkThen = (head: number[], rest: number[], j: number) => [
    ...head,
    I32_WRAP_I64,
    ...tee(D),
    ...get(T),
    I32_LE_U,
    ...IF,
    ...rest,
    I32_WRAP_I64,
    ...get(D),
    I32_ADD,
    ...set(D),
    ...emit4(j),
    END,
  ];
  const perQuery = (j: number) => {
    const first = [...pop(entryWord(0), j, 0), ...pop(entryWord(1), j, 1), I64_ADD];
    if (early) return checkThen(first, [...pop(entryWord(2), j, 2), ...pop(entryWord(3), j, 3), I64_ADD], j);
    // The full form's check comes after three words: 192 bits of a random pair are within T <= 63
    // about once in a million, so the branch is as predictable as none and the fourth word is
    // read only for near matches.
    return checkThen([...first, ...pop(entryWord(2), j, 2), I64_ADD], pop(entryWord(3), j, 3), j);
  };
  const loadEntry = [
    ...[...get(LO), ...get(O), I32_ADD, ...i64load(0), ...set(E[0]!)],
    ...[...get(LO), ...get(O), I32_ADD, ...i64load(8), ...set(E[1]!)],
    ...(early
      ? []
      : [
          ...[...get(HI), ...get(O), I32_ADD, ...i64load(0), ...set(E[2]!)],
          ...[...get(HI), ...get(O), I32_ADD, ...i64load(8), ...set(E[3]!)],
        ]),
  ];
  const loadQueries: number[] = [];
  for (let j = 0; j < 4; j++)
    for (let k = 0; k < 4; k++) loadQueries.push(...get(Q), ...i64load(j * 32 + k * 8), ...set(QJ(j, k)));
  const body = [
    2,
    4,
    I32,
    20,
    I64,
    ...loadQueries,
    ...BLOCK,
    ...LOOP,
    ...[...get(S), ...get(N), I32_GE_U, BR_IF, 1],
    ...loadEntry,
    ...perQuery(0),
    ...perQuery(1),
    ...perQuery(2),
    ...perQuery(3),
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

// check_pairs(slots, tags, n, queries, lo, hi, t, outSlots, outTags) -> hits: the candidate check of
// multi-index probing. Pair i is (slots[i] (i32), tags[i] (u16: query position << 4 | band)); the
// query's 32 bytes are at queries + (tag >> 4) * 32. A pair within t is written to
// outSlots[hits] = distance << 24 | slot (slots are < 2^24, distances <= 256) and
// outTags[hits] = tag. outSlots/outTags may be the scratch arrays the pairs were sorted through.
const [P_SLOTS, P_TAGS, P_N, P_QUERIES, P_LO, P_HI, P_T, P_OUT_SLOTS, P_OUT_TAGS] = [
  0, 1, 2, 3, 4, 5, 6, 7, 8,
];
// Locals: 9 i, 10 slot byte offset (slot * 16), 11 query address, 12 d, 13 hits, 14 tag, 15 slot.
const [C_I, C_SO, C_QO, C_D, C_HITS, C_TAG, C_SLOT] = [9, 10, 11, 12, 13, 14, 15];
const i32load = (offset: number) => [0x28, 2, offset];
const i32load16u = (offset: number) => [0x2f, 1, offset];
const i32store16 = (offset: number) => [0x3b, 1, offset];
const I32_SHR_U = 0x76;
const I32_OR = 0x72;

const pairPopcnt = (base: number, offset: number, qOffset: number) => [
  ...get(base),
  ...get(C_SO),
  I32_ADD,
  ...i64load(offset),
  ...get(C_QO),
  ...i64load(qOffset),
  I64_XOR,
  I64_POPCNT,
];

function checkPairs(): number[] {
  const body = [
    1,
    7,
    I32, // locals: 7 x i32
    ...BLOCK,
    ...LOOP,
    ...[...get(C_I), ...get(P_N), I32_GE_U, BR_IF, 1],
    // slot = slots[i]; so = slot << 4; tag = tags[i]; qo = queries + (tag >> 4 << 5)
    ...[...get(P_SLOTS), ...get(C_I), ...i32const(2), I32_SHL, I32_ADD, ...i32load(0), ...tee(C_SLOT)],
    ...[...i32const(4), I32_SHL, ...set(C_SO)],
    ...[...get(P_TAGS), ...get(C_I), ...i32const(1), I32_SHL, I32_ADD, ...i32load16u(0), ...tee(C_TAG)],
    ...[...i32const(4), I32_SHR_U, ...i32const(5), I32_SHL, ...get(P_QUERIES), I32_ADD, ...set(C_QO)],
    // d = popcnt(lo ^ q[0..16]); the second half only when the first is within t.
    ...[...pairPopcnt(P_LO, 0, 0), ...pairPopcnt(P_LO, 8, 8), I64_ADD, I32_WRAP_I64, ...tee(C_D)],
    ...[...get(P_T), I32_LE_U, ...IF],
    ...[...pairPopcnt(P_HI, 0, 16), ...pairPopcnt(P_HI, 8, 24), I64_ADD, I32_WRAP_I64, ...get(C_D), I32_ADD],
    ...[...tee(C_D), ...get(P_T), I32_LE_U, ...IF],
    // outSlots[hits] = d << 24 | slot; outTags[hits] = tag; hits++
    ...[...get(P_OUT_SLOTS), ...get(C_HITS), ...i32const(2), I32_SHL, I32_ADD],
    ...[...get(C_D), ...i32const(24), I32_SHL, ...get(C_SLOT), I32_OR, ...i32store(0)],
    ...[
      ...get(P_OUT_TAGS),
      ...get(C_HITS),
      ...i32const(1),
      I32_SHL,
      I32_ADD,
      ...get(C_TAG),
      ...i32store16(0),
    ],
    ...[...get(C_HITS), ...i32const(1), I32_ADD, ...set(C_HITS)],
    END,
    END,
    ...[...get(C_I), ...i32const(1), I32_ADD, ...set(C_I)],
    BR,
    0,
    END,
    END,
    ...get(C_HITS),
    END,
  ];
  return [...uleb(body.length), ...body];
}

let cached: Uint8Array<ArrayBuffer> | undefined;

/** The kernel module's bytes: imports memory "env"."mem"; exports scan4_early, scan4_full, check_pairs. */
export function scanKernelBytes(): Uint8Array<ArrayBuffer> {
  if (cached !== undefined) return cached.slice();
  const scanType = [0x60, 7, I32, I32, I32, I32, I32, I32, I32, 1, I32];
  const checkType = [0x60, 9, I32, I32, I32, I32, I32, I32, I32, I32, I32, 1, I32];
  cached = new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0],
    ...section(1, [2, ...scanType, ...checkType]),
    ...section(2, [1, ...name("env"), ...name("mem"), 0x02, 0x00, 1]), // memory, min 1 page
    ...section(3, [3, 0, 0, 1]),
    ...section(7, [
      3,
      ...[...name("scan4_early"), 0x00, 0],
      ...[...name("scan4_full"), 0x00, 1],
      ...[...name("check_pairs"), 0x00, 2],
    ]),
    ...section(10, [3, ...kernel4(true), ...kernel4(false), ...checkPairs()]),
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
type CheckFn = (
  slots: number,
  tags: number,
  n: number,
  queries: number,
  lo: number,
  hi: number,
  t: number,
  outSlots: number,
  outTags: number,
) => number;

/** Sizes of the candidate-pair buffers the probe path shares with the kernel. */
export interface PairSpace {
  /** Pairs per buffer. */
  pairs: number;
  /** Queries per probe batch (their words are copied next to the pairs). */
  queries: number;
}

/**
 * Hash storage inside a WebAssembly.Memory plus the kernel instance bound to it. Layout (bytes):
 * [lo: capacity x 16][hi: capacity x 16][query: 32][out: outCap x 8]
 * [pair slots: P x 4][pair tags: P x 2][scratch slots: P x 4][scratch tags: P x 2][queries: Q x 32]
 * with P pairs and Q queries per probe batch (`PairSpace`): 3 MiB for 256k pairs.
 */
export class WasmScanner {
  readonly memory: WebAssembly.Memory;
  readonly lo: Uint32Array;
  readonly hi: Uint32Array;
  readonly capacity: number;
  /** Candidate pairs of a probe batch and their sort scratch, in wasm memory (see probe()). */
  readonly pairSlot: Int32Array;
  readonly pairTag: Uint16Array;
  readonly tmpSlot: Int32Array;
  readonly tmpTag: Uint16Array;
  /** The probe batch's query words, 8 per query position. */
  readonly queries: Uint32Array;
  private readonly early4: KernelFn;
  private readonly full4: KernelFn;
  private readonly check: CheckFn;
  private readonly qAt: number;
  private readonly outAt: number;
  private readonly outCap: number;
  private readonly query: Uint32Array;
  private readonly out: Int32Array;
  private readonly at: { slots: number; tags: number; tmpSlots: number; tmpTags: number; queries: number };

  constructor(module: WebAssembly.Module, capacity: number, outCap: number, space: PairSpace) {
    const P = space.pairs;
    const pairsAt = capacity * 32 + 128 + outCap * 8;
    this.at = {
      slots: pairsAt,
      tags: pairsAt + P * 4,
      tmpSlots: pairsAt + P * 6,
      tmpTags: pairsAt + P * 10,
      queries: pairsAt + P * 12,
    };
    const bytes = this.at.queries + space.queries * 32;
    this.memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / 65536) });
    const exports = new WebAssembly.Instance(module, { env: { mem: this.memory } }).exports;
    this.early4 = exports.scan4_early as KernelFn;
    this.full4 = exports.scan4_full as KernelFn;
    this.check = exports.check_pairs as CheckFn;
    this.capacity = capacity;
    const buf = this.memory.buffer;
    this.lo = new Uint32Array(buf, 0, capacity * 4);
    this.hi = new Uint32Array(buf, capacity * 16, capacity * 4);
    this.qAt = capacity * 32;
    this.outAt = this.qAt + 128;
    this.outCap = outCap;
    this.query = new Uint32Array(buf, this.qAt, 32);
    this.out = new Int32Array(buf, this.outAt, outCap * 2);
    this.pairSlot = new Int32Array(buf, this.at.slots, P);
    this.pairTag = new Uint16Array(buf, this.at.tags, P);
    this.tmpSlot = new Int32Array(buf, this.at.tmpSlots, P);
    this.tmpTag = new Uint16Array(buf, this.at.tmpTags, P);
    this.queries = new Uint32Array(buf, this.at.queries, space.queries * 8);
  }

  /**
   * Loads up to four queries (word offsets `qo` into `q`) for the following scan() calls; a
   * group of fewer repeats its last query, whose hits scan() then drops.
   */
  setQueries(q: Uint32Array, qo: readonly number[]): void {
    for (let j = 0; j < 4; j++) {
      const from = qo[Math.min(j, qo.length - 1)]!;
      for (let k = 0; k < 8; k++) this.query[j * 8 + k] = q[from + k]!;
    }
  }

  /**
   * Entries from..to-1 (to - from <= outCap / 4) within `t` of each loaded query: pushes
   * (slot, distance) of the live ones to that query's output arrays (`slots[j]`, `dists[j]` for the
   * j-th query loaded; `count` of them are real).
   */
  scan(
    from: number,
    to: number,
    t: number,
    early: boolean,
    alive: Uint32Array,
    count: number,
    slots: number[][],
    dists: number[][],
  ) {
    const fn = early ? this.early4 : this.full4;
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
      const v = out[2 * k]!;
      const j = v & 3;
      if (j >= count) continue;
      const s = from + (v >>> 2);
      if (((alive[s >>> 5]! >>> (s & 31)) & 1) === 0) continue;
      slots[j]!.push(s);
      dists[j]!.push(out[2 * k + 1]!);
    }
  }

  /**
   * Checks the first `n` pairs of `pairSlot`/`pairTag` against the queries in `queries` (by the
   * position in the tag) and writes those within `t` to `tmpSlot` (distance << 24 | slot) and
   * `tmpTag`. Returns how many. Liveness and the first-band rule are the caller's.
   */
  checkPairs(n: number, t: number): number {
    const a = this.at;
    return this.check(a.slots, a.tags, n, a.queries, 0, this.capacity * 16, t, a.tmpSlots, a.tmpTags);
  }
}
