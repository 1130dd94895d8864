/**
 * The address index. Each distinct address among the live packets gets an id (0..capacity-1,
 * from a free list) and a doubly-linked list of its slots in arrival (cursor) order, threaded
 * through the per-slot arrays `prev`/`next`. Distinct addresses are found through an
 * open-addressing table keyed by the packet's 16-byte address_hash (mixed with a per-store
 * seed); a hit is confirmed on the full 16-byte hash (kept per address id) and on the
 * address_len and address bytes of the address's newest slot (recently written, so usually
 * in cache, unlike the oldest). `live` is a dense array of the ids in use, so a query visits
 * each distinct address once.
 */
import { OFFSETS, PACKET_SIZE } from "../packet/layout.js";
import { i32View } from "./copy.js";
import { backwardShiftDelete, finish, mixWord, pow2AtLeast, word } from "./hash.js";
import type { PendingRun } from "./pending.js";

const HASH_AT = OFFSETS.address_hash;
const LEN_AT = OFFSETS.address_len;
const ADDR_AT = OFFSETS.address;

export class AddressIndex {
  /** per slot: address id, -1 when the slot is empty */
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
  readonly #livePos: Int32Array;
  readonly #idHash: Int32Array;
  /** per address id: the packet's 16-byte address_hash as 4 words */
  readonly #hashWords: Int32Array;
  readonly #free: Int32Array;
  #freeTop: number;
  readonly #table: Int32Array;
  readonly #mask: number;
  readonly #data: Uint8Array;
  /** the slot buffer as 32-bit words (it is 8-byte aligned), for comparing addresses 4 bytes at a time */
  readonly #data32: Int32Array | null;
  readonly #run: PendingRun;
  readonly #seed: number;
  readonly #home: (entry: number) => number;

  constructor(capacity: number, data: Uint8Array, seed: number, run: PendingRun) {
    this.slotAddr = new Int32Array(capacity).fill(-1);
    this.prev = new Int32Array(capacity).fill(-1);
    this.next = new Int32Array(capacity).fill(-1);
    this.head = new Int32Array(capacity).fill(-1);
    this.tail = new Int32Array(capacity).fill(-1);
    this.count = new Int32Array(capacity);
    this.live = new Int32Array(capacity);
    this.#livePos = new Int32Array(capacity).fill(-1);
    this.#idHash = new Int32Array(capacity);
    this.#hashWords = new Int32Array(capacity * 4);
    this.#free = new Int32Array(capacity);
    for (let i = 0; i < capacity; i++) this.#free[i] = capacity - 1 - i; // pop gives 0, 1, 2...
    this.#freeTop = capacity;
    const size = pow2AtLeast(capacity * 2);
    this.#table = new Int32Array(size);
    this.#mask = size - 1;
    this.#data = data;
    this.#data32 = i32View(data);
    this.#run = run;
    this.#seed = seed;
    const idHash = this.#idHash;
    const mask = this.#mask;
    this.#home = (entry) => idHash[entry - 1]! & mask;
  }

  get bytes(): number {
    return (
      this.slotAddr.byteLength * 3 +
      this.head.byteLength * 6 +
      this.#hashWords.byteLength +
      this.#free.byteLength +
      this.#table.byteLength
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
    let id = this.#find(h, w0, w1, w2, w3, src, src32, o + ADDR_AT, src[o + LEN_AT]!);
    if (id < 0) id = this.#create(h, w0, w1, w2, w3);
    const tail = this.tail[id]!;
    this.slotAddr[slot] = id;
    this.prev[slot] = tail;
    this.next[slot] = -1;
    if (tail < 0) this.head[id] = slot;
    else this.next[tail] = slot;
    this.tail[id] = slot;
    this.count[id]!++;
  }

  /** Unlinks `slot`; an address left without slots is dropped. */
  remove(slot: number): void {
    const id = this.slotAddr[slot]!;
    if (id < 0) return;
    const p = this.prev[slot]!;
    const n = this.next[slot]!;
    if (p < 0) this.head[id] = n;
    else this.next[p] = n;
    if (n < 0) this.tail[id] = p;
    else this.prev[n] = p;
    this.slotAddr[slot] = -1;
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
    let h = this.#seed;
    h = mixWord(h, w0);
    h = mixWord(h, w1);
    h = mixWord(h, w2);
    h = mixWord(h, w3);
    return finish(h, 16);
  }

  /**
   * The id of the address with hash words w0..w3 and bytes `b[o, o + len)` (`b32`: an Int32
   * view of `b`, or null), or -1. A hit on the 16-byte hash is confirmed on the bytes of the
   * address's newest packet: compared a word at a time when both sides allow it (the zero
   * padding after the address included), else byte by byte.
   */
  #find(h: number, w0: number, w1: number, w2: number, w3: number, b: Uint8Array, b32: Int32Array | null, o: number, len: number): number {
    const table = this.#table;
    const mask = this.#mask;
    const words = this.#hashWords;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const e = table[i]!;
      if (e === 0) return -1;
      const id = e - 1;
      const q = id * 4;
      if (words[q] !== w0 || words[q + 1] !== w1 || words[q + 2] !== w2 || words[q + 3] !== w3) continue;
      // The newest packet of the address: in its slot, or still in the batch (pending run).
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
      if (s[r + LEN_AT] !== len) continue;
      const a = r + ADDR_AT;
      if (s32 !== null && b32 !== null && ((a | o) & 3) === 0 ? sameWords(s32, a >>> 2, b32, o >>> 2, (len + 3) >>> 2) : same(s, a, b, o, len)) return id;
    }
  }

  #create(h: number, w0: number, w1: number, w2: number, w3: number): number {
    const id = this.#free[--this.#freeTop]!;
    this.#idHash[id] = h;
    const q = id * 4;
    this.#hashWords[q] = w0;
    this.#hashWords[q + 1] = w1;
    this.#hashWords[q + 2] = w2;
    this.#hashWords[q + 3] = w3;
    const table = this.#table;
    const mask = this.#mask;
    let i = h & mask;
    while (table[i] !== 0) i = (i + 1) & mask;
    table[i] = id + 1;
    this.head[id] = -1;
    this.tail[id] = -1;
    this.count[id] = 0;
    this.#livePos[id] = this.liveCount;
    this.live[this.liveCount++] = id;
    this.generation++;
    return id;
  }

  #drop(id: number): void {
    const table = this.#table;
    const mask = this.#mask;
    const target = id + 1;
    let i = this.#idHash[id]! & mask;
    while (table[i] !== target) i = (i + 1) & mask;
    backwardShiftDelete(table, mask, i, this.#home);
    const pos = this.#livePos[id]!;
    const last = this.live[--this.liveCount]!;
    this.live[pos] = last;
    this.#livePos[last] = pos;
    this.#livePos[id] = -1;
    this.head[id] = -1;
    this.tail[id] = -1;
    this.#free[this.#freeTop++] = id;
    this.generation++;
  }
}

function sameWords(a: Int32Array, ai: number, b: Int32Array, bi: number, n: number): boolean {
  for (let k = 0; k < n; k++) if (a[ai + k] !== b[bi + k]) return false;
  return true;
}

function same(a: Uint8Array, ao: number, b: Uint8Array, bo: number, n: number): boolean {
  for (let k = 0; k < n; k++) if (a[ao + k] !== b[bo + k]) return false;
  return true;
}
