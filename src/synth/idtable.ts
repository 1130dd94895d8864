/**
 * The slot array of a fixed-capacity hash table of dense ids (int32 ≥ 0), open addressing with
 * linear probing and deletion by backward shift (no tombstones, so probe lengths stay short
 * over millions of inserts and deletes). Keys live with their owner (the engine's per-id typed
 * arrays): the owner probes `cells` from `hash & mask`, compares the stored full hash and then
 * its own keys, and gives the hash again to `insert` and `remove`. The table has a power of two
 * of positions, at least 2 × (capacity − 1), so it is at most about half full (the − 1: the
 * contributions table holds maxContributions + 1 ids, and a power-of-two maxContributions
 * should not double the table for that one). Nothing here allocates after construction.
 */
import { fmix32, staysInShift } from "../util/hash.js";

export class IdTable {
  readonly mask: number;
  /**
   * Two ints per position: cells[2i] the id + 1 (0: empty, so that a new table is all zeros and
   * its pages stay untouched, not resident, until used), cells[2i + 1] the id's full 32-bit hash
   * (its home is hash & mask). An owner probing compares the hash before reading its own keys,
   * so a probe past another entry reads no record of that entry, and both halves share a cache line.
   */
  readonly cells: Int32Array;
  /** ids in the table (written by the C path too: src/synth/native.ts) */
  count = 0;

  constructor(capacity: number) {
    let size = 8;
    while (size < (capacity - 1) * 2) size *= 2;
    this.mask = size - 1;
    this.cells = new Int32Array(size * 2);
  }

  get size(): number {
    return this.count;
  }

  get bytes(): number {
    return this.cells.byteLength;
  }

  /** Adds `id` (absent) whose key hashes to `hash`. */
  insert(hash: number, id: number): void {
    const cells = this.cells;
    const mask = this.mask;
    let i = hash & mask;
    while (cells[2 * i] !== 0) i = (i + 1) & mask;
    cells[2 * i] = id + 1;
    cells[2 * i + 1] = hash;
    this.count++;
  }

  /** Removes `id` (present) whose key hashes to `hash`. */
  remove(hash: number, id: number): void {
    const cells = this.cells;
    const mask = this.mask;
    let hole = hash & mask;
    while (cells[2 * hole] !== id + 1) hole = (hole + 1) & mask;
    // Backward shift: move later entries of the cluster into the hole unless they must stay.
    let j = hole;
    for (;;) {
      j = (j + 1) & mask;
      const v = cells[2 * j]!;
      if (v === 0) break;
      const hj = cells[2 * j + 1]!;
      const h = hj & mask;
      if (staysInShift(h, hole, j)) continue;
      cells[2 * hole] = v;
      cells[2 * hole + 1] = hj;
      hole = j;
    }
    cells[2 * hole] = 0;
    this.count--;
  }
}

/** A 32-bit mix (the murmur3 finalizer, src/util/hash.ts) of a seeded combination of up to four words. */
export function mix4(seed: number, w0: number, w1: number, w2: number, w3: number): number {
  return fmix32(seed ^ w0 ^ Math.imul(w1, 0x9e3779b1) ^ Math.imul(w2, 0x85ebca77) ^ Math.imul(w3, 0xc2b2ae3d));
}

export function mix2(seed: number, w0: number, w1: number): number {
  return fmix32(seed ^ w0 ^ Math.imul(w1, 0x9e3779b1));
}
