/**
 * Per-node sequence numbers. node id + seq identify a packet everywhere, so a restarted agent
 * must never reuse a seq that peers still hold (they would drop the new packet as a
 * duplicate). Instead of persisting a counter on every packet, a run starts at
 * start_ms × 1024: later than any seq of an earlier run as long as that run averaged fewer
 * than 1,024,000 packets per second (docs/delivery.md, "Identity").
 */
import { U64_MAX_SAFE } from "../packet/index.js";

export const SEQ_PER_MS = 1024;

export class SequenceCounter {
  #next: number;

  constructor(startMs: number = Date.now()) {
    this.#next = Math.floor(startMs) * SEQ_PER_MS;
    if (!Number.isSafeInteger(this.#next)) throw new RangeError(`sequence start ${startMs} ms is beyond 2^53 / ${SEQ_PER_MS}`);
  }

  /** The next seq (never repeats in this run). */
  next = (): number => {
    const s = this.#next;
    if (s >= U64_MAX_SAFE) throw new RangeError("sequence numbers exhausted");
    this.#next = s + 1;
    return s;
  };

  /** The seq the next call returns. */
  get peek(): number {
    return this.#next;
  }
}
