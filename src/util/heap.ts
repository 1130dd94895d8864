import { zeroedArrays } from "./zeroed.js";

/**
 * A 4-ary min-heap of slots (ints 0..capacity-1) in preallocated typed arrays, keyed by the
 * owner's per-slot key array (`keyOf[slot]`, e.g. expiry times) and, when `orderOf` is given, by
 * the owner's per-slot order on equal keys (the expiry queues give one: equal times expire in
 * arrival order). `slots` and `keys` sit side by side (a node's four children share a cache line
 * of keys) and `pos` holds each slot's index + 1 (0: not in the heap, so a new heap is all zeros
 * and its pages stay untouched until used), so a slot freed early leaves in O(log₄ n). The
 * fallback for out-of-order expiries of the ExpiryQueue (src/util/expiry.ts) that the store and
 * the synthesis engine share; native/expiry.h is its C.
 *
 * Keys are always read from the owner's arrays, never passed: a double argument to a call V8
 * does not inline is boxed (a heap allocation). After changing `keyOf[slot]` for a slot in the
 * heap, call `update(slot)`. Nothing allocates after construction.
 */
export class ExpiryHeap {
  /** slots[i]: the slot at heap index i (shared with the C synthesis path, src/synth/native.ts) */
  readonly slots: Int32Array;
  /** keys[i] is the key of the slot at heap index i; keys[0] the least (read directly by owners) */
  readonly keys: Float64Array;
  readonly pos: Int32Array;
  readonly #keyOf: Float64Array;
  readonly #orderOf: Float64Array | null;
  size = 0;

  constructor(capacity: number, keyOf: Float64Array, orderOf: Float64Array | null = null) {
    [this.keys, this.slots, this.pos] = zeroedArrays(["f64", capacity], ["i32", capacity], ["i32", capacity]); // src/util/zeroed.ts says why
    this.#keyOf = keyOf;
    this.#orderOf = orderOf;
  }

  get bytes(): number {
    return this.slots.byteLength + this.keys.byteLength + this.pos.byteLength;
  }

  /** The slot with the least key (the heap must not be empty). */
  top(): number {
    return this.slots[0]!;
  }

  /** The least key (Infinity when empty). */
  topKey(): number {
    return this.size > 0 ? this.keys[0]! : Infinity;
  }

  /** Adds `slot` (not in the heap) with its current key. */
  push(slot: number): void {
    this.#up(this.size++, slot);
  }

  has(slot: number): boolean {
    return this.pos[slot]! > 0;
  }

  /** `slot`, in the heap, has a new key: moves it up or down. */
  update(slot: number): void {
    const i = this.pos[slot]! - 1;
    if (i > 0 && this.#before(slot, this.slots[(i - 1) >> 2]!)) this.#up(i, slot);
    else this.#down(i, slot);
  }

  /** Removes `slot` if it is in the heap. */
  remove(slot: number): void {
    const i = this.pos[slot]! - 1;
    if (i < 0) return;
    this.pos[slot] = 0;
    const last = --this.size;
    if (i === last) return;
    const moved = this.slots[last]!;
    if (i > 0 && this.#before(moved, this.slots[(i - 1) >> 2]!)) this.#up(i, moved);
    else this.#down(i, moved);
  }

  /** Whether slot a goes strictly before slot b: a smaller key, or (with orders) an equal key and a smaller order. */
  #before(a: number, b: number): boolean {
    const ka = this.#keyOf[a]!;
    const kb = this.#keyOf[b]!;
    return ka < kb || (ka === kb && this.#orderOf !== null && this.#orderOf[a]! < this.#orderOf[b]!);
  }

  /** Puts `slot` at the hole `i`, moving it up. */
  #up(i: number, slot: number): void {
    const slots = this.slots;
    const keys = this.keys;
    const pos = this.pos;
    const key = this.#keyOf[slot]!;
    const ord = this.#orderOf;
    while (i > 0) {
      const p = (i - 1) >> 2;
      const pk = keys[p]!;
      const ps = slots[p]!;
      if (pk < key || (pk === key && (ord === null || ord[ps]! <= ord[slot]!))) break;
      slots[i] = ps;
      keys[i] = pk;
      pos[ps] = i + 1;
      i = p;
    }
    slots[i] = slot;
    keys[i] = key;
    pos[slot] = i + 1;
  }

  /** Puts `slot` at the hole `i`, moving it down. */
  #down(i: number, slot: number): void {
    const slots = this.slots;
    const keys = this.keys;
    const pos = this.pos;
    const key = this.#keyOf[slot]!;
    const ord = this.#orderOf;
    const n = this.size;
    for (;;) {
      const first = 4 * i + 1;
      if (first >= n) break;
      let c = first;
      let ck = keys[first]!;
      const end = first + 4 < n ? first + 4 : n;
      for (let j = first + 1; j < end; j++) {
        const jk = keys[j]!;
        if (jk < ck || (jk === ck && ord !== null && ord[slots[j]!]! < ord[slots[c]!]!)) {
          c = j;
          ck = jk;
        }
      }
      if (ck > key || (ck === key && (ord === null || ord[slots[c]!]! >= ord[slot]!))) break;
      const cs = slots[c]!;
      slots[i] = cs;
      keys[i] = ck;
      pos[cs] = i + 1;
      i = c;
    }
    slots[i] = slot;
    keys[i] = key;
    pos[slot] = i + 1;
  }
}
