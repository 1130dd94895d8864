/**
 * The live contributions: one record per counted packet, in slots allocated at construction,
 * with the indexes the engine needs to find and remove them in O(1): the expiry order, the
 * (node, seq) table for the duplicate check, and a doubly linked list per address (walked only
 * to recompute a window bound, docs/synth.md "The estimate of an address").
 *
 * Slots are 0..cap: one more than maxContributions, because a new contribution is inserted
 * before the one expiring first is dropped, so that it can be that one.
 */
import { ExpiryQueue } from "../util/expiry.js";
import { IdTable, mix2 } from "./idtable.js";
import { zeroedArrays } from "../util/zeroed.js";

export class Contributions {
  /** maxContributions: above this many live contributions the one expiring first is dropped */
  readonly cap: number;
  /**
   * Per contribution, one cache line of numbers and half of one of ints (stride 8):
   * cF: 0 w, 1 w·δ, 2 w·δ², 3 n, 4 timestamp, 5 expiry, 6 (spare), 7 seq;
   * cI: 0 address, 1 node-table entry, 2 node, 3 hash of (node, seq), 4 prev, 5 next (address list), 6 hops, 7 synthesized.
   * The numbers a removal subtracts (w, w·δ, w·δ²) are stored, so the removal is exact.
   */
  readonly cF: Float64Array;
  readonly cI: Int32Array;
  /** freed slots (a stack), and the slots never used yet: high..cap (nothing to fill at construction) */
  readonly freeSlots: Int32Array;
  freeTop = 0;
  high = 0;
  /** which live contribution expires first */
  readonly expiry: ExpiryQueue;
  /** live contributions by (node, seq) */
  readonly seen: IdTable;
  /** first contribution of each address's list (-1: none) */
  readonly aHead: Int32Array;
  live = 0;
  /** the engine's shared doubles (T[2]: the seq of the packet being added; see SynthEngine.T) */
  private readonly T: Float64Array;
  private readonly seed: number;

  constructor(maxContributions: number, maxAddresses: number, seed: number, T: Float64Array) {
    const C = maxContributions + 1;
    this.cap = maxContributions;
    // aHead: set to -1 when an address id is given out (SynthCore.internAddress)
    [this.cF, this.cI, this.freeSlots, this.aHead] = zeroedArrays(["f64", C * 8], ["i32", C * 8], ["i32", C], ["i32", maxAddresses]); // one buffer (src/util/zeroed.ts says why)
    this.expiry = new ExpiryQueue(C);
    // Room for twice the contributions (a load of 1/4 at most, 1/8 when half full): the probes of
    // the duplicate check and of the removal's backward shift end at the first or second cell, so
    // their exits are predicted (docs/decisions.md, synthesis). Costs 16 bytes per contribution.
    this.seen = new IdTable(2 * C - 1);
    this.T = T;
    this.seed = seed;
  }

  /**
   * The hash of (node, low word of seq) in the (node, seq) table, from the node's hash
   * (NodeTable.hash), not its id: it is known before the node is looked up, so that the C path
   * can fetch the cell a few packets ahead. Computed once per packet, given to findSeen and link.
   */
  seenHash(nodeHash: number, seqLo: number): number {
    return mix2(this.seed, nodeHash, seqLo);
  }

  /** The live contribution with node g and seq (in T[2]: a double argument would be boxed) whose seenHash is h, or -1. */
  findSeen(h: number, g: number): number {
    const seq = this.T[2]!;
    const t = this.seen;
    const cells = t.cells;
    const mask = t.mask;
    let i = h & mask;
    for (;;) {
      const s = cells[2 * i]! - 1; // stored as id + 1, 0 = empty
      if (s < 0) return -1;
      if (cells[2 * i + 1] === h && this.cI[s * 8 + 2] === g && this.cF[s * 8 + 7] === seq) return s;
      i = (i + 1) & mask;
    }
  }

  /** A free slot (there is always one: at most cap + 1 are live, briefly). */
  take(): number {
    return this.freeTop > 0 ? this.freeSlots[--this.freeTop]! : this.high++;
  }

  /**
   * Indexes a slot whose record (cF, cI 0..2 and 6..7, expiry.exp/ord) is written: in the expiry
   * order under its ttl, by (node, seq) (`home`: its seenHash), and at the head of address a's list.
   */
  link(slot: number, a: number, home: number, ttl: number): void {
    this.expiry.insert(slot, ttl);
    const cI = this.cI;
    cI[slot * 8 + 3] = home;
    this.seen.insert(home, slot);
    const head = this.aHead[a]!;
    cI[slot * 8 + 4] = -1;
    cI[slot * 8 + 5] = head;
    if (head >= 0) cI[head * 8 + 4] = slot;
    this.aHead[a] = slot;
    this.live++;
  }

  /** Takes a slot out of every index (its record stays readable until free(), for the sums to subtract). */
  unlink(slot: number, a: number): void {
    const cI = this.cI;
    this.expiry.remove(slot);
    this.seen.remove(cI[slot * 8 + 3]!, slot);
    const prev = cI[slot * 8 + 4]!;
    const next = cI[slot * 8 + 5]!;
    if (prev >= 0) cI[prev * 8 + 5] = next;
    else this.aHead[a] = next;
    if (next >= 0) cI[next * 8 + 4] = prev;
    this.live--;
  }

  free(slot: number): void {
    this.freeSlots[this.freeTop++] = slot;
  }

  get bytes(): number {
    return this.expiry.bytes + this.seen.bytes;
  }
}
