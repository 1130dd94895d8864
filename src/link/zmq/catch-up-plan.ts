/**
 * What the next catch-up from one peer has to fetch (docs/delivery.md, "Catch-up").
 *
 * A missed batch names the cursor range it lies in: after the last cursor we saw on its address
 * (or the watermark), up to the batch header's `prev`. Fetching only those ranges makes a drop
 * cost about the packets dropped. Fetching from the watermark instead, which only a full
 * catch-up moves, re-fetched everything received live since the last one: under load, one
 * dropped batch meant a catch-up of up to the peer's whole store, arriving while the link was
 * already overloaded (bench/e2e.js, docs/decisions.md).
 */

/** At most this many separate ranges are kept; beyond, the two closest are merged. */
const MAX_RANGES = 32;

/** One catch-up's work. */
export interface CatchUpDue {
  /** from each pattern's watermark to the store's head (connect, restart, new pattern, a chain that restarted) */
  full: boolean;
  /** missed batches: cursors in (from, to], sorted, disjoint */
  ranges: Array<readonly [number, number]>;
}

export class CatchUpPlan {
  #full = false;
  #ranges: Array<[number, number]> = [];

  needFull(): void {
    this.#full = true;
  }

  /** Cursors (from, to] were missed. */
  gap(from: number, to: number): void {
    if (to <= from) return;
    const r = this.#ranges;
    let i = 0;
    while (i < r.length && r[i]![1] < from) i++;
    // Merge with every range it touches or overlaps.
    let j = i;
    while (j < r.length && r[j]![0] <= to) {
      from = Math.min(from, r[j]![0]);
      to = Math.max(to, r[j]![1]);
      j++;
    }
    r.splice(i, j - i, [from, to]);
    if (r.length > MAX_RANGES) {
      let k = 0;
      for (let m = 1; m < r.length - 1; m++) if (r[m + 1]![0] - r[m]![1] < r[k + 1]![0] - r[k]![1]) k = m;
      r.splice(k, 2, [r[k]![0], r[k + 1]![1]]);
    }
  }

  get pending(): boolean {
    return this.#full || this.#ranges.length > 0;
  }

  /** Everything due now; the plan is empty after. */
  take(): CatchUpDue {
    const due = { full: this.#full, ranges: this.#ranges };
    this.#full = false;
    this.#ranges = [];
    return due;
  }

  /** A catch-up that stopped early: its work is due again (with whatever came meanwhile). */
  putBack(due: CatchUpDue): void {
    if (due.full) this.#full = true;
    for (const [from, to] of due.ranges) this.gap(from, to);
  }

  clear(): void {
    this.take();
  }
}
