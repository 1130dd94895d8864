/**
 * A 4-ary min-heap of the slots that can expire (ttl_s ≠ 0), keyed by expiry time, in
 * preallocated typed arrays: `slots` and `keys` side by side (a node's four children share a
 * cache line of keys), `pos` each slot's index (-1 when not in the heap), so that a slot
 * reused or freed early is removed in O(log₄ n). Sweeping pops only what has expired:
 * O(expired × log n). A slot's key is the store's `expiry[slot]`; after changing it for a
 * slot in the heap, call `update(slot)`.
 */
export class ExpiryHeap {
  readonly #slots: Int32Array;
  /** keys[i] is the expiry of slots[i]; keys[0] the earliest (read directly by the store) */
  readonly keys: Float64Array;
  readonly #pos: Int32Array;
  readonly #expiry: Float64Array;
  size = 0;

  /** `expiry`: the store's per-slot expiry times, where `push` reads a slot's key. */
  constructor(capacity: number, expiry: Float64Array) {
    this.#slots = new Int32Array(capacity);
    this.keys = new Float64Array(capacity);
    this.#pos = new Int32Array(capacity).fill(-1);
    this.#expiry = expiry;
  }

  get bytes(): number {
    return this.#slots.byteLength + this.keys.byteLength + this.#pos.byteLength;
  }

  /** The slot that expires first (the heap must not be empty). */
  top(): number {
    return this.#slots[0]!;
  }

  /** Expiry time of the slot that expires first (Infinity when empty). */
  topKey(): number {
    return this.size > 0 ? this.keys[0]! : Infinity;
  }

  /** Adds `slot` with its current expiry as key (read here: a double argument would be boxed). */
  push(slot: number): void {
    this.#up(this.size++, slot);
  }

  has(slot: number): boolean {
    return this.#pos[slot]! >= 0;
  }

  /** `slot`, in the heap, has a new key (its expiry changed): moves it up or down. */
  update(slot: number): void {
    const i = this.#pos[slot]!;
    if (i > 0 && this.keys[(i - 1) >> 2]! > this.#expiry[slot]!) this.#up(i, slot);
    else this.#down(i, slot);
  }

  remove(slot: number): void {
    const i = this.#pos[slot]!;
    if (i < 0) return;
    this.#pos[slot] = -1;
    const last = --this.size;
    if (i === last) return;
    const moved = this.#slots[last]!;
    if (i > 0 && this.keys[(i - 1) >> 2]! > this.keys[last]!) this.#up(i, moved);
    else this.#down(i, moved);
  }

  /**
   * Puts `slot` (key: its expiry) at the hole `i`, moving it up. Keys are read from the
   * arrays, never passed: a double argument to a call V8 does not inline is a heap allocation.
   */
  #up(i: number, slot: number): void {
    const slots = this.#slots;
    const keys = this.keys;
    const pos = this.#pos;
    const key = this.#expiry[slot]!;
    while (i > 0) {
      const p = (i - 1) >> 2;
      const pk = keys[p]!;
      if (pk <= key) break;
      const ps = slots[p]!;
      slots[i] = ps;
      keys[i] = pk;
      pos[ps] = i;
      i = p;
    }
    slots[i] = slot;
    keys[i] = key;
    pos[slot] = i;
  }

  /** Puts `slot` (key: its expiry) at the hole `i`, moving it down. */
  #down(i: number, slot: number): void {
    const slots = this.#slots;
    const keys = this.keys;
    const pos = this.#pos;
    const key = this.#expiry[slot]!;
    const n = this.size;
    for (;;) {
      const first = 4 * i + 1;
      if (first >= n) break;
      let c = first;
      let ck = keys[first]!;
      const end = first + 4 < n ? first + 4 : n;
      for (let j = first + 1; j < end; j++) {
        const jk = keys[j]!;
        if (jk < ck) {
          c = j;
          ck = jk;
        }
      }
      if (ck >= key) break;
      const cs = slots[c]!;
      slots[i] = cs;
      keys[i] = ck;
      pos[cs] = i;
      i = c;
    }
    slots[i] = slot;
    keys[i] = key;
    pos[slot] = i;
  }
}
