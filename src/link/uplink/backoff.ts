/**
 * Reconnect delays: exponential from `minMs`, capped at `maxMs`, each drawn at random from the
 * upper half of its step ("equal jitter"), so that a fleet that lost its broker at one moment
 * does not come back at one moment, and a first retry is never instant.
 */
export class Backoff {
  readonly minMs: number;
  readonly maxMs: number;
  #attempt = 0;
  readonly #random: () => number;

  constructor(minMs: number, maxMs: number, random: () => number = Math.random) {
    this.minMs = minMs;
    this.maxMs = Math.max(minMs, maxMs);
    this.#random = random;
  }

  /** The delay before the next attempt. */
  next(): number {
    const step = Math.min(this.maxMs, this.minMs * 2 ** Math.min(this.#attempt, 30));
    this.#attempt++;
    return Math.round(step / 2 + (this.#random() * step) / 2);
  }

  /** After a successful connection: the next failure starts over from minMs. */
  reset(): void {
    this.#attempt = 0;
  }

  get attempts(): number {
    return this.#attempt;
  }
}
