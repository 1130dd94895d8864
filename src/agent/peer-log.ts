/**
 * Peer connection lines at info (docs/operations.md, "Logs"): "peer up", "peer down" and
 * "peer unreachable", each with the peer's name and endpoint, rate-limited per peer so that a
 * flapping or absent peer cannot flood the log:
 *   - unreachable: the first failed connection attempt after start or after a "peer down",
 *     then at most one line per UNREACHABLE_REPEAT_MS while it stays unreachable, with the
 *     attempts made since the previous line;
 *   - up/down: at most STATE_LINES per STATE_WINDOW_MS per peer; the lines left out are
 *     counted and the next line written says how many (`suppressed`).
 */
import type { Logger } from "./log.js";

export const UNREACHABLE_REPEAT_MS = 60_000;
export const STATE_WINDOW_MS = 60_000;
export const STATE_LINES = 10;

interface PeerLogState {
  up: boolean;
  /** a "peer unreachable" line was written since the last up/down (or start) */
  unreachableSaid: boolean;
  lastUnreachableAt: number;
  attempts: number;
  windowStart: number;
  linesInWindow: number;
  suppressed: number;
  since: number;
}

export class PeerLog {
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #peers = new Map<string, PeerLogState>();

  constructor(log: Logger, now: () => number = Date.now) {
    this.#log = log;
    this.#now = now;
  }

  #state(name: string): PeerLogState {
    let s = this.#peers.get(name);
    if (s === undefined) {
      s = { up: false, unreachableSaid: false, lastUnreachableAt: 0, attempts: 0, windowStart: 0, linesInWindow: 0, suppressed: 0, since: this.#now() };
      this.#peers.set(name, s);
    }
    return s;
  }

  /** The connection to the peer came up (up) or went down. */
  state(name: string, endpoint: string, up: boolean): void {
    const s = this.#state(name);
    s.up = up;
    s.unreachableSaid = false;
    s.attempts = 0;
    s.since = this.#now();
    if (!this.#log.enabled("info")) return;
    const now = this.#now();
    if (now - s.windowStart >= STATE_WINDOW_MS) {
      s.windowStart = now;
      s.linesInWindow = 0;
    }
    if (s.linesInWindow >= STATE_LINES) {
      s.suppressed++;
      return;
    }
    s.linesInWindow++;
    const suppressed = s.suppressed > 0 ? s.suppressed : undefined;
    s.suppressed = 0;
    this.#log.info(up ? "peer up" : "peer down", { peer: name, endpoint, suppressed });
  }

  /** A connection attempt to the peer failed; ZeroMQ retries in `retryMs`. */
  unreachable(name: string, endpoint: string, retryMs: number): void {
    const s = this.#state(name);
    if (s.up) return;
    s.attempts++;
    const now = this.#now();
    if (s.unreachableSaid && now - s.lastUnreachableAt < UNREACHABLE_REPEAT_MS) return;
    if (!this.#log.enabled("info")) return;
    this.#log.info("peer unreachable", { peer: name, endpoint, attempts: s.attempts, sinceS: Math.round((now - s.since) / 1000), retryMs });
    s.unreachableSaid = true;
    s.lastUnreachableAt = now;
    s.attempts = 0;
  }
}
