/**
 * The slot array of a fixed-capacity hash table of dense ids (int32 ≥ 0), open addressing with
 * linear probing and deletion by backward shift (no tombstones, so probe lengths stay short
 * over millions of inserts and deletes). Keys live with their owner (the engine's per-id typed
 * arrays): the owner probes `ids` from `home & mask`, compares its own keys, and gives the home
 * again to `insert` and `remove`. The table has at least twice as many slots as ids it may hold,
 * so it is never more than half full. Nothing here allocates after construction.
 */
export class IdTable {
  readonly mask: number;
  readonly ids: Int32Array;
  private readonly homes: Int32Array;
  private count = 0;

  constructor(capacity: number) {
    let size = 8;
    while (size < capacity * 2) size *= 2;
    this.mask = size - 1;
    this.ids = new Int32Array(size).fill(-1);
    this.homes = new Int32Array(size);
  }

  get size(): number {
    return this.count;
  }

  get bytes(): number {
    return this.ids.byteLength + this.homes.byteLength;
  }

  /** Adds `id` (absent) whose key hashes to `home`. */
  insert(home: number, id: number): void {
    const ids = this.ids;
    const mask = this.mask;
    const h = home & mask;
    let i = h;
    while (ids[i]! >= 0) i = (i + 1) & mask;
    ids[i] = id;
    this.homes[i] = h;
    this.count++;
  }

  /** Removes `id` (present) whose key hashes to `home`. */
  remove(home: number, id: number): void {
    const ids = this.ids;
    const homes = this.homes;
    const mask = this.mask;
    let hole = home & mask;
    while (ids[hole] !== id) hole = (hole + 1) & mask;
    // Backward shift: move later entries of the cluster into the hole unless their home lies
    // cyclically in (hole, j].
    let j = hole;
    for (;;) {
      j = (j + 1) & mask;
      const v = ids[j]!;
      if (v < 0) break;
      const h = homes[j]!;
      if (hole <= j ? h > hole && h <= j : h > hole || h <= j) continue;
      ids[hole] = v;
      homes[hole] = h;
      hole = j;
    }
    ids[hole] = -1;
    this.count--;
  }
}

/** A 32-bit mix (the murmur3 finalizer) of a seeded combination of up to four words. */
export function mix4(seed: number, w0: number, w1: number, w2: number, w3: number): number {
  let h = seed ^ w0 ^ Math.imul(w1, 0x9e3779b1) ^ Math.imul(w2, 0x85ebca77) ^ Math.imul(w3, 0xc2b2ae3d);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

export function mix2(seed: number, w0: number, w1: number): number {
  let h = seed ^ w0 ^ Math.imul(w1, 0x9e3779b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}
