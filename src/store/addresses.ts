/**
 * The address index. Each distinct address among the live packets gets an id (0..capacity-1,
 * from a free list) and a doubly-linked list of its slots in arrival (cursor) order, threaded
 * through the per-slot arrays `prev`/`next`. Distinct addresses are found through an
 * open-addressing table keyed by the packet's 16-byte address_hash (mixed with a per-store
 * seed); a hit is confirmed on the full 16-byte hash, the address_len and the address bytes.
 * `live` is a dense array of the ids in use, so a query visits each distinct address once.
 *
 * The confirmation used to read the address's newest slot, and the table (P buckets of 4
 * bytes, its few live entries each on its own cache line) is far larger than the caches: two
 * or three cache misses per insert. So the first RECORD_IDS ids (the free list hands out the
 * lowest ids first, so these are the ids in use unless thousands of addresses are live at
 * once) keep a compact record of their address: hash words, length and bytes, 128 bytes; and
 * a small direct-mapped front cache (FRONT entries of 4 bytes, 16 KB) maps the seeded hash to
 * the id last seen with it. An insert whose address is in the front cache and has a record
 * touches neither the table nor a slot. An id without a record is confirmed against its
 * newest slot as before.
 */
import { OFFSETS, PACKET_SIZE } from "../packet/layout.js";
import { i32View } from "./copy.js";
import { backwardShiftDelete, finish, mixWord, pow2AtLeast, word } from "./hash.js";
import type { PendingRun } from "./pending.js";
import { zeroedArrays } from "../util/zeroed.js";

const HASH_AT = OFFSETS.address_hash;
const LEN_AT = OFFSETS.address_len;
const ADDR_AT = OFFSETS.address;

/** Ids with a compact record (at most; the capacity if smaller). */
export const RECORD_IDS = 4096;
/** Words per record: address_hash (4), address_len (1), the address (24 words, 96 bytes), padding (3). */
const REC = 32;
const REC_LEN = 4;
const REC_ADDR = 5;
/** Entries of the front cache (at most; fewer for a small table), a power of two. */
export const FRONT = 4096;

export class AddressIndex {
  /** per slot: address id + 1, 0 when the slot is empty (so the array starts as untouched zero pages) */
  readonly slotAddr: Int32Array;
  /** per slot: previous / next slot of the same address in cursor order, -1 at the ends */
  readonly prev: Int32Array;
  readonly next: Int32Array;
  /** per address id: first and last slot, number of slots */
  readonly head: Int32Array;
  readonly tail: Int32Array;
  readonly count: Int32Array;
  /** dense list of the ids in use, `liveCount` long, and each id's position in it */
  readonly live: Int32Array;
  liveCount = 0;
  /** bumped whenever an address id is created or dropped (per-id facts cached elsewhere stay valid until then) */
  generation = 0;
  // The fields from here to #data are read and written by the store's C path too (src/store/native.ts).
  readonly livePos: Int32Array;
  readonly idHash: Int32Array;
  /** per address id: the packet's 16-byte address_hash as 4 words */
  readonly hashWords: Int32Array;
  /** per id below recordIds: REC words (hash words, length, the address as little-endian words, zero after the length) */
  readonly records: Int32Array;
  readonly recordIds: number;
  /** seeded hash → id + 1 of the address last seen with it (0: none); never names a dropped id */
  readonly front: Int32Array;
  readonly frontShift: number;
  readonly free: Int32Array;
  freeTop: number;
  /** ids below this have been handed out at least once */
  highId = 0;
  readonly table: Int32Array;
  readonly mask: number;
  readonly seed: number;
  readonly #data: Uint8Array;
  /** the slot buffer as 32-bit words (it is 8-byte aligned), for comparing addresses 4 bytes at a time */
  readonly #data32: Int32Array | null;
  readonly #run: PendingRun;
  readonly #home: (entry: number) => number;

  constructor(capacity: number, data: Uint8Array, seed: number, run: PendingRun) {
    // Nothing is filled: slotAddr holds id + 1 (0: empty), the other per-slot and per-id arrays
    // are written before they are read (append, #create), so all stay zero pages, not
    // resident, until used (an idle agent's memory, docs/devices.md).
    // One buffer for all of them (src/util/zeroed.ts says why).
    this.recordIds = Math.min(capacity, RECORD_IDS);
    const size = pow2AtLeast(capacity * 2);
    const front = Math.min(size, FRONT);
    [this.slotAddr, this.prev, this.next, this.head, this.tail, this.count, this.live, this.livePos, this.idHash, this.hashWords, this.records, this.free, this.table, this.front] =
      zeroedArrays(
        ["i32", capacity], ["i32", capacity], ["i32", capacity], ["i32", capacity], ["i32", capacity], ["i32", capacity], ["i32", capacity],
        ["i32", capacity], ["i32", capacity], ["i32", capacity * 4], ["i32", this.recordIds * REC], ["i32", capacity], ["i32", size], ["i32", front],
      );
    this.freeTop = 0;
    this.mask = size - 1;
    // The front cache takes the hash's top bits (the table its low ones): addresses that share
    // a probe run of the table rarely share a front entry.
    this.frontShift = 32 - Math.log2(front);
    this.#data = data;
    this.#data32 = i32View(data);
    this.#run = run;
    this.seed = seed;
    const idHash = this.idHash;
    const mask = this.mask;
    this.#home = (entry) => idHash[entry - 1]! & mask;
  }

  get bytes(): number {
    return (
      this.slotAddr.byteLength * 3 +
      this.head.byteLength * 6 +
      this.hashWords.byteLength +
      this.records.byteLength +
      this.front.byteLength +
      this.free.byteLength +
      this.table.byteLength
    );
  }

  /**
   * Links `slot` at the tail of its address's list, creating the address if new. Its packet is
   * read at `src[o..]` (`src32`: an Int32 view of `src` or null): the slot itself, or the batch
   * buffer while the slot is in the pending run.
   */
  append(slot: number, src: Uint8Array, src32: Int32Array | null, o: number): void {
    let w0: number, w1: number, w2: number, w3: number;
    if (src32 !== null && (o & 3) === 0) {
      const q = (o + HASH_AT) >>> 2;
      w0 = src32[q]!;
      w1 = src32[q + 1]!;
      w2 = src32[q + 2]!;
      w3 = src32[q + 3]!;
    } else {
      w0 = word(src, o + HASH_AT);
      w1 = word(src, o + HASH_AT + 4);
      w2 = word(src, o + HASH_AT + 8);
      w3 = word(src, o + HASH_AT + 12);
    }
    const h = this.#hash(w0, w1, w2, w3);
    const len = src[o + LEN_AT]!;
    const f = h >>> this.frontShift;
    const e = this.front[f]!;
    let id = e - 1;
    if (e === 0 || !this.#same(id, w0, w1, w2, w3, src, src32, o + ADDR_AT, len)) {
      id = this.#find(h, w0, w1, w2, w3, src, src32, o + ADDR_AT, len);
      if (id < 0) id = this.#create(h, w0, w1, w2, w3, src, o + ADDR_AT, len);
      this.front[f] = id + 1;
    }
    const tail = this.tail[id]!;
    this.slotAddr[slot] = id + 1;
    this.prev[slot] = tail;
    this.next[slot] = -1;
    if (tail < 0) this.head[id] = slot;
    else this.next[tail] = slot;
    this.tail[id] = slot;
    this.count[id]!++;
  }

  /** Unlinks `slot`; an address left without slots is dropped. */
  remove(slot: number): void {
    const id = this.slotAddr[slot]! - 1;
    if (id < 0) return;
    const p = this.prev[slot]!;
    const n = this.next[slot]!;
    if (p < 0) this.head[id] = n;
    else this.next[p] = n;
    if (n < 0) this.tail[id] = p;
    else this.prev[n] = p;
    this.slotAddr[slot] = 0;
    this.prev[slot] = -1;
    this.next[slot] = -1;
    if (--this.count[id]! === 0) this.#drop(id);
  }

  /**
   * The id of the address whose 16-byte hash is at `hashBuf[hashOff..]` and whose bytes are
   * `addr[addrOff, addrOff + len)`, or -1 (an exact query's lookup).
   */
  lookup(hashBuf: Uint8Array, hashOff: number, addr: Uint8Array, addrOff: number, len: number): number {
    const w0 = word(hashBuf, hashOff);
    const w1 = word(hashBuf, hashOff + 4);
    const w2 = word(hashBuf, hashOff + 8);
    const w3 = word(hashBuf, hashOff + 12);
    return this.#find(this.#hash(w0, w1, w2, w3), w0, w1, w2, w3, addr, null, addrOff, len);
  }

  #hash(w0: number, w1: number, w2: number, w3: number): number {
    let h = this.seed;
    h = mixWord(h, w0);
    h = mixWord(h, w1);
    h = mixWord(h, w2);
    h = mixWord(h, w3);
    return finish(h, 16);
  }

  /**
   * The id of the address with hash words w0..w3 and bytes `b[a, a + len)` (`b32`: an Int32
   * view of `b`, or null), or -1.
   */
  #find(h: number, w0: number, w1: number, w2: number, w3: number, b: Uint8Array, b32: Int32Array | null, a: number, len: number): number {
    const table = this.table;
    const mask = this.mask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const e = table[i]!;
      if (e === 0) return -1;
      if (this.#same(e - 1, w0, w1, w2, w3, b, b32, a, len)) return e - 1;
    }
  }

  /**
   * Whether address `id` (in use) has hash words w0..w3, length `len` and the bytes
   * `b[a, a + len)`: checked against its record, or, for an id without one, against the bytes
   * of its newest packet (in its slot, or still in the batch: the pending run). Bytes are
   * compared a word at a time when `b32` allows it; the zero padding after the address is not
   * compared.
   */
  #same(id: number, w0: number, w1: number, w2: number, w3: number, b: Uint8Array, b32: Int32Array | null, a: number, len: number): boolean {
    if (id < this.recordIds) {
      const rec = this.records;
      const r = id * REC;
      if (rec[r] !== w0 || rec[r + 1] !== w1 || rec[r + 2] !== w2 || rec[r + 3] !== w3 || rec[r + REC_LEN] !== len) return false;
      return sameRecord(rec, r + REC_ADDR, b, b32, a, len);
    }
    const words = this.hashWords;
    const q = id * 4;
    if (words[q] !== w0 || words[q + 1] !== w1 || words[q + 2] !== w2 || words[q + 3] !== w3) return false;
    const tail = this.tail[id]!;
    const run = this.#run;
    let s: Uint8Array = this.#data;
    let s32: Int32Array | null = this.#data32;
    let r = tail * PACKET_SIZE;
    if (run.has(tail)) {
      s = run.src;
      s32 = run.src32;
      r = run.offsetOf(tail);
    }
    if (s[r + LEN_AT] !== len) return false;
    const sa = r + ADDR_AT;
    if (s32 !== null && b32 !== null && ((sa | a) & 3) === 0) {
      const full = len >>> 2;
      if (!sameWords(s32, sa >>> 2, b32, a >>> 2, full)) return false;
      return same(s, sa + full * 4, b, a + full * 4, len & 3);
    }
    return same(s, sa, b, a, len);
  }

  #create(h: number, w0: number, w1: number, w2: number, w3: number, b: Uint8Array, a: number, len: number): number {
    // A freed id first (the most recently freed), else the lowest never used: ids stay low.
    const id = this.freeTop > 0 ? this.free[--this.freeTop]! : this.highId++;
    this.idHash[id] = h;
    const q = id * 4;
    this.hashWords[q] = w0;
    this.hashWords[q + 1] = w1;
    this.hashWords[q + 2] = w2;
    this.hashWords[q + 3] = w3;
    if (id < this.recordIds) {
      const rec = this.records;
      const r = id * REC;
      rec[r] = w0;
      rec[r + 1] = w1;
      rec[r + 2] = w2;
      rec[r + 3] = w3;
      rec[r + REC_LEN] = len;
      // The address as little-endian words, zero after `len` (whatever padding the packet has).
      for (let k = 0; k < 24; k++) {
        let v = 0;
        const at = k * 4;
        for (let j = 0; j < 4 && at + j < len; j++) v |= b[a + at + j]! << (8 * j);
        rec[r + REC_ADDR + k] = v;
      }
    }
    const table = this.table;
    const mask = this.mask;
    let i = h & mask;
    while (table[i] !== 0) i = (i + 1) & mask;
    table[i] = id + 1;
    this.head[id] = -1;
    this.tail[id] = -1;
    this.count[id] = 0;
    this.livePos[id] = this.liveCount;
    this.live[this.liveCount++] = id;
    this.generation++;
    return id;
  }

  #drop(id: number): void {
    const table = this.table;
    const mask = this.mask;
    const target = id + 1;
    const h = this.idHash[id]!;
    let i = h & mask;
    while (table[i] !== target) i = (i + 1) & mask;
    backwardShiftDelete(table, mask, i, this.#home);
    const f = h >>> this.frontShift;
    if (this.front[f] === target) this.front[f] = 0;
    const pos = this.livePos[id]!;
    const last = this.live[--this.liveCount]!;
    this.live[pos] = last;
    this.livePos[last] = pos;
    this.livePos[id] = -1;
    this.head[id] = -1;
    this.tail[id] = -1;
    this.free[this.freeTop++] = id;
    this.generation++;
  }
}

/**
 * Whether the record words `rec[r..]` (little-endian, zero after the address) hold the `len`
 * bytes `b[a, a + len)`; `b32` (an Int32 view of `b` on a little-endian host, or null) is read
 * when `a` is 4-aligned.
 */
function sameRecord(rec: Int32Array, r: number, b: Uint8Array, b32: Int32Array | null, a: number, len: number): boolean {
  const full = len >>> 2;
  const rest = len & 3;
  if (b32 !== null && (a & 3) === 0) {
    const q = a >>> 2;
    for (let k = 0; k < full; k++) if (rec[r + k] !== b32[q + k]) return false;
    // The last partial word: only its first `rest` bytes (the rest of the packet's word is padding).
    return rest === 0 || ((rec[r + full]! ^ b32[q + full]!) & ((1 << (rest * 8)) - 1)) === 0;
  }
  for (let k = 0; k < full; k++) if (rec[r + k] !== word(b, a + k * 4)) return false;
  const w = rec[r + full]!;
  const at = a + full * 4;
  for (let j = 0; j < rest; j++) if (((w >>> (8 * j)) & 0xff) !== b[at + j]) return false;
  return true;
}

function sameWords(a: Int32Array, ai: number, b: Int32Array, bi: number, n: number): boolean {
  for (let k = 0; k < n; k++) if (a[ai + k] !== b[bi + k]) return false;
  return true;
}

function same(a: Uint8Array, ao: number, b: Uint8Array, bo: number, n: number): boolean {
  for (let k = 0; k < n; k++) if (a[ao + k] !== b[bo + k]) return false;
  return true;
}
