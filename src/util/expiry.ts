/**
 * An expiry order: which live slot expires first, by (expiry, arrival order). Shared by the
 * packet store (its slots) and the synthesis engine (its contribution slots).
 *
 * A plain heap costs O(log n) unpredictable comparisons and cache misses per insert and per
 * expiry. Real traffic has few distinct ttl_s values, and within one ttl the expiries arrive
 * almost in order (expiry = timestamp + ttl, timestamps grow). So each of up to QUEUES ttl values
 * gets a doubly linked list kept sorted by (expiry, order): an insert walks back from the tail,
 * normally 0 or 1 step. A slot whose place is more than MAX_WALK steps back (out-of-order
 * timestamps), or whose ttl finds no free list, goes into a 4-ary min-heap (src/util/heap.ts)
 * instead. The minimum is the least of the list heads and the heap top, cached, and recomputed
 * (O(QUEUES)) only when it leaves. Every operation is exact; the fast path is O(1) with
 * predictable branches.
 *
 * Slots are the owner's, 0..capacity-1. Nothing allocates after construction.
 */
import { ExpiryHeap } from "./heap.js";
import { zeroedArrays } from "./zeroed.js";

export const QUEUES = 8;
export const MAX_WALK = 8;
/** loc[] of a slot in the fallback heap (list slots hold −1 − q) */
const IN_HEAP = 1;
const LOC = 0;
const NEXT = 1;
const PREV = 2;

export class ExpiryQueue {
  /** expiry (Infinity: never) and arrival order of each slot: written by the caller before insert() */
  readonly exp: Float64Array;
  readonly ord: Float64Array;
  /**
   * Per slot, 4 ints side by side (one cache line holds what an insert or removal touches):
   * [LOC] where the slot is (IN_HEAP, or −1 − q in list q; unused slots hold anything), [NEXT]
   * and [PREV] its list neighbours (-1: none).
   */
  readonly links: Int32Array;
  readonly qTtl: Float64Array;
  readonly qHead: Int32Array;
  readonly qTail: Int32Array;
  /** each list head's (expiry, order), so that finding the minimum reads two small arrays */
  readonly qHeadExp: Float64Array;
  readonly qHeadOrd: Float64Array;
  /** the fallback for out-of-order expiries, keyed by (exp, ord) */
  readonly heap: ExpiryHeap;
  count = 0;
  lastQueue = 0;
  /** lists ever used: 0..qHigh-1 (the others are empty and unkeyed) */
  qHigh = 0;
  /** the slot expiring first and its expiry (−1 and Infinity when empty) */
  nextSlot = -1;
  nextExp = Infinity;
  /** inserts that went to the heap (diagnostics) */
  heapInserts = 0;
  private readonly ownExp: boolean;
  private readonly ownOrd: boolean;

  /**
   * `exp` and `ord`: the owner's per-slot arrays when it keeps them anyway (the store: expiry
   * times and cursors), else allocated here.
   */
  constructor(capacity: number, exp: Float64Array | null = null, ord: Float64Array | null = null) {
    this.ownExp = exp === null;
    this.ownOrd = ord === null;
    // One buffer for all of them (src/util/zeroed.ts says why); a kept owner array takes no room.
    const [ownExp, ownOrd, links] = zeroedArrays(["f64", exp === null ? capacity : 0], ["f64", ord === null ? capacity : 0], ["i32", capacity * 4]);
    this.exp = exp ?? ownExp;
    this.ord = ord ?? ownOrd;
    this.links = links;
    this.qTtl = new Float64Array(QUEUES).fill(-1);
    this.qHead = new Int32Array(QUEUES).fill(-1);
    this.qTail = new Int32Array(QUEUES).fill(-1);
    this.qHeadExp = new Float64Array(QUEUES);
    this.qHeadOrd = new Float64Array(QUEUES);
    this.heap = new ExpiryHeap(capacity, this.exp, this.ord);
  }

  get size(): number {
    return this.count;
  }

  /** Bytes of the arrays allocated here (`exp` and `ord` included only when they are the queue's own). */
  get bytes(): number {
    return (
      (this.ownExp ? this.exp.byteLength : 0) +
      (this.ownOrd ? this.ord.byteLength : 0) +
      this.links.byteLength +
      this.heap.bytes
    );
  }

  /**
   * Its scalars into R[at, at + 7): count, lastQueue, qHigh, nextSlot, nextExp, heapInserts,
   * heap size, the order of native/expiry.h qx_load (the C paths of the store and the
   * synthesis engine take them in and out around a call).
   */
  saveScalars(R: Float64Array, at: number): void {
    R[at] = this.count;
    R[at + 1] = this.lastQueue;
    R[at + 2] = this.qHigh;
    R[at + 3] = this.nextSlot;
    R[at + 4] = this.nextExp;
    R[at + 5] = this.heapInserts;
    R[at + 6] = this.heap.size;
  }

  /** The inverse of saveScalars. */
  loadScalars(R: Float64Array, at: number): void {
    this.count = R[at]! | 0;
    this.lastQueue = R[at + 1]! | 0;
    this.qHigh = R[at + 2]! | 0;
    this.nextSlot = R[at + 3]! | 0;
    this.nextExp = R[at + 4]!;
    this.heapInserts = R[at + 5]!;
    this.heap.size = R[at + 6]! | 0;
  }

  /** The list for this ttl: its own, else a free one (re-keyed), else -1. */
  private queueFor(ttl: number): number {
    const qTtl = this.qTtl;
    const last = this.lastQueue;
    if (qTtl[last] === ttl) return last;
    // Lists are taken lowest first, so only the first qHigh can match or be free (and re-keyed).
    const high = this.qHigh;
    let free = -1;
    for (let q = 0; q < high; q++) {
      if (qTtl[q] === ttl) {
        this.lastQueue = q;
        return q;
      }
      if (free < 0 && this.qHead[q]! < 0) free = q;
    }
    if (free < 0 && high < QUEUES) {
      free = high;
      this.qHigh = high + 1;
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
      const L = this.links;
      let p = this.qTail[q]!;
      let steps = 0;
      while (p >= 0 && exp < expA[p]!) {
        if (++steps > MAX_WALK) break;
        p = L[4 * p + PREV]!;
      }
      if (steps <= MAX_WALK) {
        const n = p >= 0 ? L[4 * p + NEXT]! : this.qHead[q]!;
        L[4 * slot + PREV] = p;
        L[4 * slot + NEXT] = n;
        if (p >= 0) L[4 * p + NEXT] = slot;
        else {
          this.qHead[q] = slot;
          this.qHeadExp[q] = exp;
          this.qHeadOrd[q] = order;
        }
        if (n >= 0) L[4 * n + PREV] = slot;
        else this.qTail[q] = slot;
        L[4 * slot + LOC] = -1 - q;
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
    this.links[4 * slot + LOC] = IN_HEAP;
    this.heap.push(slot);
    if (this.nextSlot < 0 || exp < this.nextExp) {
      this.nextExp = exp;
      this.nextSlot = slot;
    }
  }

  /** Removes a slot that is present. */
  remove(slot: number): void {
    this.count--;
    const L = this.links;
    const l = L[4 * slot + LOC]!;
    if (l === IN_HEAP) this.heap.remove(slot);
    else {
      const q = -1 - l;
      const p = L[4 * slot + PREV]!;
      const n = L[4 * slot + NEXT]!;
      if (p >= 0) L[4 * p + NEXT] = n;
      else {
        this.qHead[q] = n;
        if (n >= 0) {
          this.qHeadExp[q] = this.exp[n]!;
          this.qHeadOrd[q] = this.ord[n]!;
        }
      }
      if (n >= 0) L[4 * n + PREV] = p;
      else this.qTail[q] = p;
    }
    if (slot === this.nextSlot) this.recompute();
  }

  private recompute(): void {
    let m = -1;
    let mk = Infinity;
    let mo = Infinity;
    const heap = this.heap;
    if (heap.size > 0) {
      m = heap.top();
      mk = heap.keys[0]!;
      mo = this.ord[m]!;
    }
    const heads = this.qHead;
    const hk = this.qHeadExp;
    const ho = this.qHeadOrd;
    for (let q = 0; q < this.qHigh; q++) {
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
}
