/**
 * A small bounded cache of the strings being encoded (addresses, conclusions): each distinct
 * string is turned into UTF-8 once, with its MurmurHash3 when it can be an address, into a
 * fixed 192-byte slot. Real traffic repeats a handful of addresses and conclusions, so per
 * packet an encode then costs one Map lookup instead of a character-by-character copy and a
 * hash. The slots are one Uint8Array that the packers (TypeScript, and C through the addon)
 * copy from: slot bytes past the string's length are zero, so a packer copies a whole field
 * (address 96 bytes, conclusion 172) and gets the zero padding with it.
 */
import { murmur3x86_128 } from "./murmur3.js";
import { CONCLUSION_MAX, ADDRESS_MAX } from "./layout.js";
import { encodeUtf8Into } from "./utf8.js";

/** Slot layout: UTF-8 bytes [0, 172), u32 byte length at 172, address hash [176, 192). */
export const SLOT_SIZE = 192;
export const SLOT_LENGTH = 172;
export const SLOT_HASH = 176;
/** Slots per table; slot 0 is the empty string (an absent conclusion). */
export const SLOTS = 256;
/** Sets of the front cache (2 strings each). */
const RECENT_BITS = 8;
const RECENT = 1 << RECENT_BITS;
/** Strings longer than this (UTF-16 units) take a slot but are not remembered: they are cut to 172 bytes anyway, and a long key would keep a big string alive. */
const CACHE_MAX_UNITS = CONCLUSION_MAX;

export class StringTable {
  readonly bytes = new Uint8Array(SLOTS * SLOT_SIZE);
  readonly words = new Int32Array(this.bytes.buffer);
  private readonly index = new Map<string, number>();
  private next = 1;
  /**
   * A 2-way set-associative cache in front of the Map, indexed by the length and two
   * characters: a hit is one or two `===` (a pointer compare when the caller reuses its string
   * objects, as traffic does with a handful of constant addresses), several times cheaper than
   * Map#get, a builtin call that hashes the key. Way 0 of a set is its most recent string.
   * "" is pre-filled: it is slot 0 and every other key misses it.
   */
  private readonly recent: string[] = new Array<string>(2 * RECENT).fill("");
  private readonly recentSlot = new Int32Array(2 * RECENT);

  /** Slots left before a reset is needed. */
  get free(): number {
    return SLOTS - this.next;
  }

  /** Forgets every string (the caller has packed everything that referred to the slots). */
  reset(): void {
    this.index.clear();
    this.next = 1;
    this.recent.fill("");
    this.recentSlot.fill(0);
  }

  /**
   * The slot holding `s` as UTF-8 cut to 172 bytes on a character boundary, or a negative
   * encodeUtf8Into result (a lone surrogate). Needs one free slot.
   */
  intern(s: string): number {
    // Kept this small so that TurboFan inlines it into the stager; misses go to `miss`.
    const n = s.length;
    const key = n === 0 ? 0 : n ^ (s.charCodeAt(n - 1) << 7) ^ (s.charCodeAt(n >>> 1) << 15);
    const set = (Math.imul(key, 0x9e3779b1) >>> (32 - RECENT_BITS)) << 1;
    if (this.recent[set] === s) return this.recentSlot[set]!;
    if (this.recent[set + 1] === s) return this.recentSlot[set + 1]!;
    return this.miss(s, set);
  }

  private miss(s: string, set: number): number {
    const hit = this.index.get(s);
    const slot = hit !== undefined ? hit : this.add(s);
    if (slot > 0 && s.length <= CACHE_MAX_UNITS) {
      const recent = this.recent;
      recent[set + 1] = recent[set]!;
      this.recentSlot[set + 1] = this.recentSlot[set]!;
      recent[set] = s;
      this.recentSlot[set] = slot;
    }
    return slot;
  }

  /** Byte length of the string in `slot`. */
  length(slot: number): number {
    return this.words[slot * (SLOT_SIZE / 4) + SLOT_LENGTH / 4]!;
  }

  private add(s: string): number {
    if (s.length === 0) return 0;
    const slot = this.next;
    const at = slot * SLOT_SIZE;
    const b = this.bytes;
    // A reused slot may hold a longer string: clear it so the padding is zero.
    b.fill(0, at, at + SLOT_SIZE);
    const n = encodeUtf8Into(s, b, at, CONCLUSION_MAX, true);
    if (n < 0) return n;
    this.words[(at + SLOT_LENGTH) >>> 2] = n;
    // Only a string that fits an address can be one; the hash is the packet's address_hash.
    if (n <= ADDRESS_MAX) murmur3x86_128(b, at, n, b, at + SLOT_HASH);
    this.next = slot + 1;
    if (s.length <= CACHE_MAX_UNITS) this.index.set(s, slot);
    return slot;
  }
}
