/**
 * Hashing for the store's open-addressing tables: a MurmurHash3-style 32-bit mix of a few
 * words under a per-store random seed (the mix itself is shared: src/util/hash.ts), so that a
 * peer cannot choose identities or addresses that pile up in one probe run without knowing the
 * seed.
 */
import { fmix32, staysInShift } from "../util/hash.js";

export { mixWord, pow2AtLeast, randomSeed } from "../util/hash.js";

/** MurmurHash3's last step: the length, then the finalizer. */
export function finish(h: number, length: number): number {
  return fmix32(h ^ length);
}

/** Little-endian u32 at `o` as a signed 32-bit integer (byte loads: any alignment, any host). */
export function word(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24);
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
    if (!staysInShift(home(e), i, j)) {
      table[i] = e;
      i = j;
    }
  }
  table[i] = 0;
}
