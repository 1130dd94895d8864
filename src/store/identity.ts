/**
 * The identity index: node_id + seq (packet bytes 32..55: seq, then node_id) → slot, as an
 * open-addressing hash table in one Int32Array (linear probing over a power of two ≥ 2 ×
 * capacity buckets, so at most half full; backward-shift deletion, so no tombstones and no
 * rebuilds). A bucket is two words, [hash, slot + 1] (0 = empty), so a probe touches one
 * cache line and only a full hash match reads the slot, to compare the 24 identity bytes.
 * Each slot's hash is also kept in `slotHash` so that removal finds the bucket without
 * reading the packet.
 */
import { OFFSETS, PACKET_SIZE } from "../packet/layout.js";
import { staysInShift } from "../util/hash.js";
import { finish, mixWord, pow2AtLeast, word } from "./hash.js";
import { PendingRun } from "./pending.js";
import { zeroedArrays } from "../util/zeroed.js";

/** Identity bytes: seq (8) at 32, node_id (16) at 40, contiguous. */
const ID_AT = OFFSETS.seq;
const ID_LEN = 24;

export class IdentityIndex {
  // table, mask, slotHash and seed are read by the store's C path (src/store/native.ts).
  /** buckets × [hash, slot + 1] */
  readonly table: Int32Array;
  /** bucket mask */
  readonly mask: number;
  readonly slotHash: Int32Array;
  readonly seed: number;
  readonly #data: Uint8Array;
  readonly #run: PendingRun;

  /** `run`: the store's pending run (slots whose bytes are still in the batch); none by default. */
  constructor(capacity: number, data: Uint8Array, seed: number, run: PendingRun = new PendingRun(data)) {
    const size = pow2AtLeast(capacity * 2);
    [this.table, this.slotHash] = zeroedArrays(["i32", size * 2], ["i32", capacity]); // src/util/zeroed.ts says why
    this.mask = size - 1;
    this.#data = data;
    this.seed = seed;
    this.#run = run;
  }

  /** Bytes of the index (for stats). */
  get bytes(): number {
    return this.table.byteLength + this.slotHash.byteLength;
  }

  /**
   * The hash of the identity of the packet at `o` in `b`; `b32`, when not null, is an
   * Int32Array over the same bytes (on a little-endian host, `b` 4-byte aligned), read when
   * `o` is 4-aligned: 6 loads instead of 24.
   */
  hashPacket(b: Uint8Array, o: number, b32: Int32Array | null = null): number {
    if (b32 !== null && (o & 3) === 0) {
      const i = (o + ID_AT) >>> 2;
      let h = this.seed;
      h = mixWord(h, b32[i]!);
      h = mixWord(h, b32[i + 1]!);
      h = mixWord(h, b32[i + 2]!);
      h = mixWord(h, b32[i + 3]!);
      h = mixWord(h, b32[i + 4]!);
      h = mixWord(h, b32[i + 5]!);
      return finish(h, ID_LEN);
    }
    let h = this.seed;
    h = mixWord(h, word(b, o + ID_AT));
    h = mixWord(h, word(b, o + ID_AT + 4));
    h = mixWord(h, word(b, o + ID_AT + 8));
    h = mixWord(h, word(b, o + ID_AT + 12));
    h = mixWord(h, word(b, o + ID_AT + 16));
    h = mixWord(h, word(b, o + ID_AT + 20));
    return finish(h, ID_LEN);
  }

  /** The slot holding the identity of the packet at `o` in `b` (whose hash is `h`), or -1. */
  find(h: number, b: Uint8Array, o: number): number {
    const table = this.table;
    const mask = this.mask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const e = table[2 * i + 1]!;
      if (e === 0) return -1;
      if (table[2 * i] === h && this.#same(e - 1, b, o)) return e - 1;
    }
  }

  /** Whether `slot` holds the identity of the packet at `o` in `b` (a slot of the pending run is still in the batch). */
  #same(slot: number, b: Uint8Array, o: number): boolean {
    const run = this.#run;
    if (run.has(slot)) return sameBytes(run.src, run.offsetOf(slot) + ID_AT, b, o + ID_AT);
    return sameBytes(this.#data, slot * PACKET_SIZE + ID_AT, b, o + ID_AT);
  }

  /** Adds `slot`, whose identity hash is `h` and which is not indexed yet. */
  add(slot: number, h: number): void {
    const table = this.table;
    const mask = this.mask;
    this.slotHash[slot] = h;
    let i = h & mask;
    while (table[2 * i + 1] !== 0) i = (i + 1) & mask;
    table[2 * i] = h;
    table[2 * i + 1] = slot + 1;
  }

  remove(slot: number): void {
    const table = this.table;
    const mask = this.mask;
    const target = slot + 1;
    let i = this.slotHash[slot]! & mask;
    for (;;) {
      const e = table[2 * i + 1]!;
      if (e === target) break;
      if (e === 0) return; // not indexed (cannot happen for a live slot)
      i = (i + 1) & mask;
    }
    // Backward shift: move later entries of the run into the hole unless they must stay.
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const e = table[2 * j + 1]!;
      if (e === 0) break;
      const hj = table[2 * j]!;
      if (!staysInShift(hj & mask, i, j)) {
        table[2 * i] = hj;
        table[2 * i + 1] = e;
        i = j;
      }
    }
    table[2 * i] = 0;
    table[2 * i + 1] = 0;
  }
}

function sameBytes(a: Uint8Array, ao: number, b: Uint8Array, bo: number): boolean {
  for (let k = 0; k < ID_LEN; k++) if (a[ao + k] !== b[bo + k]) return false;
  return true;
}
