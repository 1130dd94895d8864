/**
 * The engine's expiry order: which live contribution expires first, by (expiry, arrival order).
 *
 * A plain heap costs O(log n) unpredictable comparisons per insert and per expiry. Real traffic
 * has few distinct ttl_s values, and within one ttl the expiries arrive almost in order (expiry
 * = timestamp + ttl, timestamps grow). So each of up to QUEUES ttl values gets a doubly linked
 * list kept sorted by (expiry, order): an insert walks back from the tail, normally 0 or 1 step.
 * A contribution whose place is more than MAX_WALK steps back (out-of-order timestamps), or
 * whose ttl finds no free list, goes into a 4-ary min-heap instead. The minimum is the least of
 * the list heads and the heap top, cached, and recomputed (O(QUEUES)) only when it leaves.
 * Every operation is exact; the fast path is O(1) with predictable branches.
 *
 * Slots are the engine's contribution slots, 0..capacity-1. Nothing allocates after construction.
 */
export const QUEUES = 8;
export const MAX_WALK = 8;

export class ExpiryQueue {
  /** expiry (Infinity: never) and arrival order of each slot: written by the caller before insert() */
  readonly exp: Float64Array;
  readonly ord: Float64Array;
  /** where a slot is: ≥ 0 its heap position; −1 − q in list q; unused slots hold anything */
  private readonly loc: Int32Array;
  private readonly next: Int32Array;
  private readonly prev: Int32Array;
  private readonly qTtl: Float64Array;
  private readonly qHead: Int32Array;
  private readonly qTail: Int32Array;
  /** each list head's (expiry, order), so that finding the minimum reads two small arrays */
  private readonly qHeadExp: Float64Array;
  private readonly qHeadOrd: Float64Array;
  private readonly heap: Int32Array;
  private readonly heapKey: Float64Array;
  private heapSize = 0;
  private count = 0;
  private lastQueue = 0;
  /** the slot expiring first and its expiry (−1 and Infinity when empty) */
  nextSlot = -1;
  nextExp = Infinity;
  /** inserts that went to the heap (diagnostics) */
  heapInserts = 0;

  constructor(capacity: number) {
    this.exp = new Float64Array(capacity);
    this.ord = new Float64Array(capacity);
    this.loc = new Int32Array(capacity);
    this.next = new Int32Array(capacity);
    this.prev = new Int32Array(capacity);
    this.qTtl = new Float64Array(QUEUES).fill(-1);
    this.qHead = new Int32Array(QUEUES).fill(-1);
    this.qTail = new Int32Array(QUEUES).fill(-1);
    this.qHeadExp = new Float64Array(QUEUES);
    this.qHeadOrd = new Float64Array(QUEUES);
    this.heap = new Int32Array(capacity);
    this.heapKey = new Float64Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  get bytes(): number {
    return (
      this.exp.byteLength +
      this.ord.byteLength +
      this.loc.byteLength +
      this.next.byteLength +
      this.prev.byteLength +
      this.heap.byteLength +
      this.heapKey.byteLength
    );
  }

  /** The list for this ttl: its own, else a free one (re-keyed), else -1. */
  private queueFor(ttl: number): number {
    const qTtl = this.qTtl;
    const last = this.lastQueue;
    if (qTtl[last] === ttl) return last;
    let free = -1;
    for (let q = 0; q < QUEUES; q++) {
      if (qTtl[q] === ttl) {
        this.lastQueue = q;
        return q;
      }
      if (free < 0 && this.qHead[q]! < 0) free = q;
    }
    if (free >= 0) {
      qTtl[free] = ttl;
      this.lastQueue = free;
    }
    return free;
  }

  /**
   * Adds `slot`, whose expiry (Infinity: never) and arrival order (larger than every order
   * present) the caller wrote into exp[slot] and ord[slot] (doubles are not passed as arguments:
   * V8 boxes them when the call is not inlined). `ttl` groups slots into lists.
   */
  insert(slot: number, ttl: number): void {
    const exp = this.exp[slot]!;
    const order = this.ord[slot]!;
    this.count++;
    const q = this.queueFor(ttl);
    if (q >= 0) {
      // Walk back from the tail past entries expiring later (order is the largest, so an equal
      // expiry goes after them).
      const expA = this.exp;
      const prevA = this.prev;
      let p = this.qTail[q]!;
      let steps = 0;
      while (p >= 0 && exp < expA[p]!) {
        if (++steps > MAX_WALK) break;
        p = prevA[p]!;
      }
      if (steps <= MAX_WALK) {
        const n = p >= 0 ? this.next[p]! : this.qHead[q]!;
        prevA[slot] = p;
        this.next[slot] = n;
        if (p >= 0) this.next[p] = slot;
        else {
          this.qHead[q] = slot;
          this.qHeadExp[q] = exp;
          this.qHeadOrd[q] = order;
        }
        if (n >= 0) prevA[n] = slot;
        else this.qTail[q] = slot;
        this.loc[slot] = -1 - q;
        if (p < 0 && exp < this.nextExp) {
          this.nextExp = exp;
          this.nextSlot = slot;
        } else if (this.nextSlot < 0) {
          this.nextExp = exp;
          this.nextSlot = slot;
        }
        return;
      }
    }
    this.heapInserts++;
    this.heapSize++;
    this.siftUp(this.heapSize - 1, slot);
    if (this.nextSlot < 0 || exp < this.nextExp) {
      this.nextExp = exp;
      this.nextSlot = slot;
    }
  }

  /** Removes a slot that is present. */
  remove(slot: number): void {
    this.count--;
    const l = this.loc[slot]!;
    if (l >= 0) this.heapRemove(l);
    else {
      const q = -1 - l;
      const p = this.prev[slot]!;
      const n = this.next[slot]!;
      if (p >= 0) this.next[p] = n;
      else {
        this.qHead[q] = n;
        if (n >= 0) {
          this.qHeadExp[q] = this.exp[n]!;
          this.qHeadOrd[q] = this.ord[n]!;
        }
      }
      if (n >= 0) this.prev[n] = p;
      else this.qTail[q] = p;
    }
    if (slot === this.nextSlot) this.recompute();
  }

  private recompute(): void {
    let m = -1;
    let mk = Infinity;
    let mo = Infinity;
    if (this.heapSize > 0) {
      m = this.heap[0]!;
      mk = this.heapKey[0]!;
      mo = this.ord[m]!;
    }
    const heads = this.qHead;
    const hk = this.qHeadExp;
    const ho = this.qHeadOrd;
    for (let q = 0; q < QUEUES; q++) {
      const h = heads[q]!;
      if (h < 0) continue;
      const k = hk[q]!;
      if (m < 0 || k < mk || (k === mk && ho[q]! < mo)) {
        m = h;
        mk = k;
        mo = ho[q]!;
      }
    }
    this.nextSlot = m;
    this.nextExp = mk;
  }

  // --- the 4-ary heap (fallback), keys inline

  private siftUp(pos: number, slot: number): void {
    const key = this.exp[slot]!;
    const heap = this.heap;
    const keys = this.heapKey;
    const loc = this.loc;
    const order = this.ord[slot]!;
    let i = pos;
    while (i > 0) {
      const p = (i - 1) >> 2;
      const pk = keys[p]!;
      if (key > pk || (key === pk && order > this.ord[heap[p]!]!)) break;
      const ps = heap[p]!;
      heap[i] = ps;
      keys[i] = pk;
      loc[ps] = i;
      i = p;
    }
    heap[i] = slot;
    keys[i] = key;
    loc[slot] = i;
  }

  private siftDown(pos: number, slot: number): void {
    const key = this.exp[slot]!;
    const heap = this.heap;
    const keys = this.heapKey;
    const loc = this.loc;
    const ord = this.ord;
    const size = this.heapSize;
    const order = ord[slot]!;
    let i = pos;
    for (;;) {
      const c = 4 * i + 1;
      if (c >= size) break;
      let m = c;
      let mk = keys[c]!;
      const end = c + 4 < size ? c + 4 : size;
      for (let j = c + 1; j < end; j++) {
        const jk = keys[j]!;
        if (jk < mk || (jk === mk && ord[heap[j]!]! < ord[heap[m]!]!)) {
          m = j;
          mk = jk;
        }
      }
      if (mk > key || (mk === key && ord[heap[m]!]! > order)) break;
      const ms = heap[m]!;
      heap[i] = ms;
      keys[i] = mk;
      loc[ms] = i;
      i = m;
    }
    heap[i] = slot;
    keys[i] = key;
    loc[slot] = i;
  }

  private heapRemove(pos: number): void {
    const n = --this.heapSize;
    if (pos === n) return;
    const last = this.heap[n]!;
    const key = this.heapKey[n]!;
    if (pos > 0) {
      const p = (pos - 1) >> 2;
      const pk = this.heapKey[p]!;
      if (key < pk || (key === pk && this.ord[last]! < this.ord[this.heap[p]!]!)) {
        this.siftUp(pos, last);
        return;
      }
    }
    this.siftDown(pos, last);
  }
}
