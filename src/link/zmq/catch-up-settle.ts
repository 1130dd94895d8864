/**
 * When a run of missed batches is over, one more catch-up. A gap is seen only through a later
 * batch or tail marker of the same address, so the last batches of a burst are lost unseen
 * when the publisher's queue is still full as its tail markers go out (over CURVE on a loaded
 * machine a 1,000-message queue takes longer to drain than the two markers' 400 ms). After
 * gaps, once no batch has come for QUIET_MS (the queue drained), or at most MAX_MS after the
 * first gap, the peer fetches what lies beyond the last cursor seen on every address it knows
 * (docs/delivery.md, "A missed batch").
 */

/**
 * The link is quiet: a receiver with a backlog takes batch after batch, so 50 ms without one
 * means the queue has drained. Shorter than the publisher's tail markers (200 ms): a burst whose
 * last batches were dropped completes 50 ms after the queue drained, not 300 or 400 ms.
 */
const QUIET_MS = 50;
const MAX_MS = 5000;

export class SettleTimer {
  readonly #fire: () => void;
  #timer: NodeJS.Timeout | null = null;
  #deadline = 0;
  #lastBatch = 0;

  constructor(fire: () => void) {
    this.#fire = fire;
  }

  /** A gap was seen. */
  gap(now: number): void {
    this.#lastBatch = now;
    if (this.#timer !== null) return;
    this.#deadline = now + MAX_MS;
    this.#wait(QUIET_MS);
  }

  /** A live batch came (cheap: called for every one). */
  batch(now: number): void {
    this.#lastBatch = now;
  }

  close(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #wait(ms: number): void {
    this.#timer = setTimeout(() => this.#check(), Math.max(1, ms));
    this.#timer.unref();
  }

  #check(): void {
    this.#timer = null;
    const now = performance.now();
    if (now - this.#lastBatch >= QUIET_MS || now >= this.#deadline) this.#fire();
    else this.#wait(Math.min(this.#lastBatch + QUIET_MS, this.#deadline) - now);
  }
}
