/**
 * The run of packets an `insertBatch` has indexed but not yet copied into their slots.
 *
 * Copying 512 bytes per packet in JavaScript (64 Float64 loads and stores) costs about as much
 * as all the indexing of an insert, because the source batch and the slot ring are both far
 * larger than the caches. A batch mostly stores consecutive packets into consecutive slots, so
 * the store copies each such run with one `Uint8Array#set` (a native memcpy, about a third
 * cheaper per packet; it makes one view object per run, never per packet) once the run ends.
 * Until then, the slots of the run still hold their old bytes: the indexes, which compare the
 * bytes of stored packets (an identity or an address confirmed after a hash match), read a
 * slot of the run from the batch buffer instead, through `bufOf` / `offsetOf`.
 */
import { PACKET_SIZE } from "../packet/layout.js";

export class PendingRun {
  /** first slot of the run, and how many slots (0: no run; every slot reads from the slot buffer) */
  slot = 0;
  length = 0;
  /** the batch buffer, its Int32 view (null: unaligned or big-endian) and the offset of the run's first packet in it */
  src: Uint8Array;
  src32: Int32Array | null = null;
  srcOffset = 0;

  constructor(empty: Uint8Array) {
    this.src = empty;
  }

  /** Whether `slot` is in the run (its bytes are still in the batch buffer). */
  has(slot: number): boolean {
    return ((slot - this.slot) >>> 0) < this.length;
  }

  /** The offset of `slot`'s packet in `src` (the slot must be in the run). */
  offsetOf(slot: number): number {
    return this.srcOffset + (slot - this.slot) * PACKET_SIZE;
  }
}
