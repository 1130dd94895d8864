/**
 * 32-bit hashing shared by the store's and the synthesis engine's open-addressing tables: the
 * MurmurHash3 word mix and finalizer. Both modules seed their tables per instance (a random
 * 32-bit seed), so that a peer cannot choose identities, addresses or node ids that pile up in
 * one probe run without knowing the seed.
 */
import { randomBytes } from "./random.js";

/** The smallest power of two ≥ n (n ≥ 1): a table's size. */
export function pow2AtLeast(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * In a backward-shift deletion from a linear-probing table (the hole at `hole`, a later entry of
 * the run at `j`, whose home cell is `home`): whether that entry stays where it is, i.e. its home
 * lies cyclically in (hole, j], so that moving it into the hole would put it before its home.
 */
export function staysInShift(home: number, hole: number, j: number): boolean {
  return hole <= j ? hole < home && home <= j : hole < home || home <= j;
}

/** A random 32-bit seed (per table owner, at construction). */
export function randomSeed(): number {
  return randomBytes(4).readInt32LE(0);
}

/** One MurmurHash3 (x86_32) block step: mixes word `k` into the running hash `h`. */
export function mixWord(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** The MurmurHash3 finalizer (fmix32): a bijection of 32-bit ints with full avalanche. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
