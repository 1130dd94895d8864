/**
 * Hashing for the store's open-addressing tables: a MurmurHash3-style 32-bit mix of a few
 * words under a per-store random seed (the mix itself is shared: src/util/hash.ts), so that a
 * peer cannot choose identities or addresses that pile up in one probe run without knowing the
 * seed.
 */
import { fmix32 } from "../util/hash.js";

export { mixWord, randomSeed } from "../util/hash.js";

/** MurmurHash3's last step: the length, then the finalizer. */
export function finish(h: number, length: number): number {
  return fmix32(h ^ length);
}

/** Little-endian u32 at `o` as a signed 32-bit integer (byte loads: any alignment, any host). */
export function word(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24);
}

/** The smallest power of two ≥ n (n ≥ 1). */
export function pow2AtLeast(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * Backward-shift deletion in a linear-probing table of `mask + 1` entries (0 = empty): empties
 * position `i` and moves later entries of the same run back so that no probe sequence is
 * broken. `home(entry)` is the entry's home position. No tombstones, so the table never
 * needs a rebuild.
 */
export function backwardShiftDelete(table: Int32Array, mask: number, i: number, home: (entry: number) => number): void {
  let j = i;
  for (;;) {
    j = (j + 1) & mask;
    const e = table[j]!;
    if (e === 0) break;
    const k = home(e);
    // The entry at j may move to the hole at i unless its home lies cyclically in (i, j].
    const stays = i <= j ? i < k && k <= j : i < k || k <= j;
    if (!stays) {
      table[i] = e;
      i = j;
    }
  }
  table[i] = 0;
}
