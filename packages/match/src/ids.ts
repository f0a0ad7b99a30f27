// Compact map between the caller's opaque entry ids ("hsh_01J...") and dense integer slots.
//
// Why not a Map<string, number> plus a string[]: at a million entries that costs roughly 90 bytes per
// id in V8 (string header, array slot, hash-table entry) and puts a million objects in front of every
// major GC. Here the ids live as UTF-8 bytes back to back in one Uint8Array; where each one starts is
// kept as one 32-bit offset per block of 16 slots plus a 1-byte length per slot (1.25 bytes per id
// instead of 4). An open-addressing table of Int32 slots (linear probing, load <= 0.75, any size
// rather than a power of two so it is never much more than 1.33x the ids) maps id -> slot. About
// id length + 6.6 bytes per id, and nothing for the GC to trace. Lookups by id happen on add/remove
// only, never on query.

const EMPTY = -1;
/** Ids longer than this (in UTF-8 bytes) are refused: they are database keys, not documents. */
export const MAX_ID_BYTES = 256;
const BLOCK_SHIFT = 4;
const BLOCK = 1 << BLOCK_SHIFT;

const decoder = new TextDecoder();
const encoder = new TextEncoder();

export class IdTable {
  private bytes: Uint8Array;
  /** Byte offset of the first id of each block of 16 slots. */
  private blockStart: Uint32Array;
  /** UTF-8 length of each slot's id, minus 1 (ids are 1..256 bytes). */
  private lens: Uint8Array;
  private count = 0;
  private used = 0;
  private table: Int32Array;
  private live = 0;
  // One scratch buffer for encoding the id being looked up; 3 bytes per UTF-16 unit is the worst case.
  private readonly scratch = new Uint8Array(MAX_ID_BYTES * 3);
  private scratchLength = 0;
  private scratchHash = 0;

  constructor(slotCapacity: number, byteCapacity: number) {
    const slots = Math.max(BLOCK, slotCapacity);
    this.bytes = new Uint8Array(Math.max(64, byteCapacity));
    this.blockStart = new Uint32Array((slots >>> BLOCK_SHIFT) + 1);
    this.lens = new Uint8Array(slots);
    this.table = new Int32Array(tableSizeFor(slotCapacity)).fill(EMPTY);
  }

  /** Ids currently mapped. */
  get size(): number {
    return this.live;
  }

  /** Bytes of id text stored (live or not). */
  get bytesUsed(): number {
    return this.used;
  }

  /** Whether `id` is acceptable at all: non-empty and at most MAX_ID_BYTES of UTF-8. */
  static isValid(id: string): boolean {
    return id.length > 0 && id.length <= MAX_ID_BYTES && utf8Length(id) <= MAX_ID_BYTES;
  }

  /** The slot of `id`, or -1. */
  find(id: string): number {
    if (!this.encode(id)) return EMPTY;
    return this.table[this.position()]!;
  }

  /**
   * Appends `id` (valid, per isValid) as the next slot and maps it to that slot, replacing any
   * previous mapping in the same probe. Returns the previous slot of `id`, or -1; the new slot is
   * always the slot count before the call.
   */
  upsert(id: string): number {
    this.encode(id);
    const len = this.scratchLength;
    const slot = this.count;
    if (slot >= this.lens.length) this.reserve(grow(this.lens.length, slot + 1), 0);
    if (this.used + len > this.bytes.length)
      this.bytes = resizeU8(this.bytes, grow(this.bytes.length, this.used + len));
    if ((slot & (BLOCK - 1)) === 0) this.blockStart[slot >>> BLOCK_SHIFT] = this.used;
    const bytes = this.bytes;
    const scratch = this.scratch;
    const at = this.used;
    for (let k = 0; k < len; k++) bytes[at + k] = scratch[k]!;
    this.lens[slot] = len - 1;
    this.used = at + len;
    this.count = slot + 1;
    let i = this.position();
    const previous = this.table[i]!;
    if (previous === EMPTY) {
      if ((this.live + 1) * 4 > this.table.length * 3) {
        this.rehash(tableSizeFor(Math.max(this.live + 1, this.table.length)));
        i = this.position();
      }
      this.live++;
    }
    this.table[i] = slot;
    return previous;
  }

  /** Unmaps slot `s` (its bytes stay until compact()). */
  delete(s: number): void {
    const size = this.table.length;
    let i = this.homeOf(s);
    while (this.table[i] !== s) {
      if (this.table[i] === EMPTY) return;
      i = i + 1 === size ? 0 : i + 1;
    }
    // Backward-shift deletion keeps linear probing correct without tombstones in the table.
    let j = i;
    for (;;) {
      j = j + 1 === size ? 0 : j + 1;
      const t = this.table[j]!;
      if (t === EMPTY) break;
      const k = this.homeOf(t);
      const stays = i <= j ? i < k && k <= j : i < k || k <= j;
      if (stays) continue;
      this.table[i] = t;
      i = j;
    }
    this.table[i] = EMPTY;
    this.live--;
  }

  /** The id stored for slot `s`. */
  idOf(s: number): string {
    const a = this.startOf(s);
    const b = a + this.lens[s]! + 1;
    let ascii = "";
    for (let p = a; p < b; p++) {
      const c = this.bytes[p]!;
      if (c >= 0x80) return decoder.decode(this.bytes.subarray(a, b));
      ascii += String.fromCharCode(c);
    }
    return ascii;
  }

  /**
   * Drops every slot whose bit in `alive` is 0 and renumbers the rest densely in order, moving bytes
   * in place (no second copy of the pool), then rebuilds the table sized for `room` more ids, and
   * the pools with room for as many ids of the current average length. Returns the new slot count.
   */
  compact(alive: Uint32Array, room: number): number {
    // Nothing unmapped (no removal, no replaced id): every slot keeps its number and the table
    // stays right as it is. Rebuilding it would hash every id again, half of a fold's time at a
    // million ids.
    if (this.live === this.count) {
      this.makeRoom(room);
      return this.count;
    }
    let w = 0;
    let j = 0;
    let a = 0;
    const lens = this.lens;
    const bytes = this.bytes;
    for (let s = 0; s < this.count; s++) {
      const len = lens[s]! + 1;
      if (((alive[s >>> 5]! >>> (s & 31)) & 1) !== 0) {
        // A byte loop, not copyWithin: ids are short and a native call per id costs more. w < a, so
        // copying forwards never overwrites bytes still to be read.
        if (a !== w) for (let k = 0; k < len; k++) bytes[w + k] = bytes[a + k]!;
        if ((j & (BLOCK - 1)) === 0) this.blockStart[j >>> BLOCK_SHIFT] = w;
        lens[j] = len - 1;
        w += len;
        j++;
      }
      a += len;
    }
    this.count = j;
    this.used = w;
    this.live = j;
    const average = j > 0 ? w / j : 32;
    this.reserve(j + room, Math.ceil(room * average * 1.05));
    const packed = this.bytes; // reserve() may have moved the pools; the first j ids are unchanged
    const packedLens = this.lens;
    // Reuse the table when it is about the right size: compaction should not need a second copy.
    const size = tableSizeFor(j + room);
    if (size <= this.table.length && this.table.length <= size + (size >>> 3)) this.table.fill(EMPTY);
    else this.table = new Int32Array(size).fill(EMPTY);
    const table = this.table;
    const n = table.length;
    let start = 0;
    for (let s = 0; s < j; s++) {
      const end = start + packedLens[s]! + 1;
      let i = reduce(hashBytes(packed, start, end), n);
      while (table[i] !== EMPTY) i = i + 1 === n ? 0 : i + 1;
      table[i] = s;
      start = end;
    }
    return j;
  }

  /**
   * Room for `room` more ids, slots unchanged: the pools as compact() sizes them. Not the table:
   * sizing it for the room would rehash every id at nearly every fold of a growing index (it
   * grows by a 32nd a fold); upsert() grows it by a third when it fills, every nine folds or so.
   */
  makeRoom(room: number): void {
    const average = this.count > 0 ? this.used / this.count : 32;
    this.reserve(this.count + room, Math.ceil(room * average * 1.05), false);
  }

  /** Makes room for `slots` slots in total and `bytes` more bytes of id text (and `table`: ids). */
  reserve(slots: number, bytes: number, table = true): void {
    if (slots > this.lens.length) {
      const lens = new Uint8Array(slots);
      lens.set(this.lens.subarray(0, this.count));
      this.lens = lens;
      const blocks = (slots >>> BLOCK_SHIFT) + 1;
      const blockStart = new Uint32Array(blocks);
      blockStart.set(this.blockStart.subarray(0, Math.min(blocks, this.blockStart.length)));
      this.blockStart = blockStart;
    }
    if (this.used + bytes > this.bytes.length) this.bytes = resizeU8(this.bytes, this.used + bytes);
    const size = tableSizeFor(slots);
    if (table && size > this.table.length) this.rehash(size);
  }

  memoryBytes(): number {
    return (
      this.bytes.byteLength +
      this.blockStart.byteLength +
      this.lens.byteLength +
      this.table.byteLength +
      this.scratch.byteLength
    );
  }

  /** Byte offset of slot `s`'s id: its block's offset plus the lengths before it in the block. */
  private startOf(s: number): number {
    let a = this.blockStart[s >>> BLOCK_SHIFT]!;
    const lens = this.lens;
    for (let t = s & ~(BLOCK - 1); t < s; t++) a += lens[t]! + 1;
    return a;
  }

  /** Table index holding the scratch id, or the empty index where it would go. */
  private position(): number {
    const table = this.table;
    const size = table.length;
    const len = this.scratchLength;
    let i = reduce(this.scratchHash, size);
    for (;;) {
      const s = table[i]!;
      if (s === EMPTY || this.equalsScratch(s, len)) return i;
      i = i + 1 === size ? 0 : i + 1;
    }
  }

  /** Moves every mapped slot into a fresh table of `size` entries. */
  private rehash(size: number): void {
    const old = this.table;
    const table = new Int32Array(size).fill(EMPTY);
    this.table = table;
    for (let k = 0; k < old.length; k++) {
      const s = old[k]!;
      if (s === EMPTY) continue;
      let i = this.homeOf(s);
      while (table[i] !== EMPTY) i = i + 1 === size ? 0 : i + 1;
      table[i] = s;
    }
  }

  private homeOf(s: number): number {
    const a = this.startOf(s);
    return reduce(hashBytes(this.bytes, a, a + this.lens[s]! + 1), this.table.length);
  }

  private equalsScratch(s: number, len: number): boolean {
    if (this.lens[s]! + 1 !== len) return false;
    const a = this.startOf(s);
    const bytes = this.bytes;
    const scratch = this.scratch;
    // Backwards: ids of one kind share a prefix ("hsh_01J..."), so they differ soonest at the end.
    for (let k = len - 1; k >= 0; k--) if (bytes[a + k] !== scratch[k]) return false;
    return true;
  }

  /** UTF-8 of `id` into scratch, and its hash; false when it is too long to be an id. */
  private encode(id: string): boolean {
    if (id.length > MAX_ID_BYTES) return false;
    const n = id.length;
    const scratch = this.scratch;
    for (let k = 0; k < n; k++) {
      const c = id.charCodeAt(k);
      if (c >= 0x80) {
        const r = encoder.encodeInto(id, scratch);
        this.scratchLength = r.written;
        this.scratchHash = hashBytes(scratch, 0, r.written);
        return r.read === n && r.written <= MAX_ID_BYTES;
      }
      scratch[k] = c;
    }
    this.scratchLength = n;
    this.scratchHash = hashBytes(scratch, 0, n);
    return true;
  }
}

function utf8Length(s: string): number {
  let n = 0;
  for (let k = 0; k < s.length; k++) {
    const c = s.charCodeAt(k);
    // A high surrogate plus its low surrogate is 4 bytes: 2 counted here, 2 for the low one.
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c < 0xdc00 ? 2 : 3;
  }
  return n;
}

/** FNV-1a over the bytes, then the murmur3 finalizer so every bit of the hash is well mixed. */
function hashBytes(b: Uint8Array, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let p = from; p < to; p++) h = Math.imul(h ^ b[p]!, 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Maps a 32-bit hash onto 0..size-1 by multiplication, so the size need not be a power of two. */
function reduce(h: number, size: number): number {
  return Math.floor((h / 4294967296) * size);
}

/** Table size for `n` ids at load <= 0.75. */
function tableSizeFor(n: number): number {
  return Math.max(16, Math.ceil((n * 4) / 3) + 1);
}

// Modest growth (1/16): these pools are tens of MiB at a million ids and spare room is never returned.
function grow(current: number, need: number): number {
  return Math.max(need, current + Math.max(4096, current >>> 4));
}
function resizeU8(a: Uint8Array, n: number): Uint8Array {
  const b = new Uint8Array(n);
  b.set(a.subarray(0, Math.min(a.length, n)));
  return b;
}
