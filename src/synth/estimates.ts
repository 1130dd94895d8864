/**
 * Per-address running state of the estimate (docs/synth.md, "The estimate of an address"):
 * compensated Σw, Σw·δ, Σw·δ², the counts, Σn, the hop histogram and the time window, each
 * updated in O(1) when a contribution is added or removed; and the reads built from them.
 * A removal subtracts exactly the stored terms that were added.
 */
import type { AddressTable } from "./addresses.js";
import type { ResolvedConfig } from "./config.js";
import type { Contributions } from "./contributions.js";
import { nadd3 } from "./sums.js";
import { zeroedArrays } from "../util/zeroed.js";
import type { AddressEstimate } from "./types.js";

export class AddressSums {
  /** [Σw, comp, Σw·d, comp, Σw·d², comp] per address */
  readonly aAcc: Float64Array;
  /** live contributions per address, those with w > 0, those that are summaries */
  readonly aCount: Int32Array;
  readonly aWCount: Int32Array;
  readonly aSynthCount: Int32Array;
  /** Σ n_observations */
  readonly aObs: Float64Array;
  /** live contributions per hops value (maxHops + 1 per address), so that a removal finds the new maximum */
  readonly hopSlots: number;
  readonly aHopHist: Int32Array;
  readonly aMaxHops: Int32Array;
  /** the window; aWinDirty: a bound left, recompute from the address's list when read */
  readonly aTsMin: Float64Array;
  readonly aTsMax: Float64Array;
  readonly aWinDirty: Uint8Array;
  private readonly cF: Float64Array;
  private readonly cI: Int32Array;
  private readonly config: ResolvedConfig;

  constructor(config: ResolvedConfig, contributions: Contributions) {
    const A = config.maxAddresses;
    const maxHops = config.maxHops;
    this.hopSlots = maxHops + 1;
    // aMaxHops: set to -1 when an address id is given out (SynthCore.internAddress)
    [this.aAcc, this.aObs, this.aTsMin, this.aTsMax, this.aCount, this.aWCount, this.aSynthCount, this.aHopHist, this.aMaxHops, this.aWinDirty] = zeroedArrays(
      ["f64", A * 6], ["f64", A], ["f64", A], ["f64", A], ["i32", A], ["i32", A], ["i32", A], ["i32", A * this.hopSlots], ["i32", A], ["u8", A],
    ); // one buffer (src/util/zeroed.ts says why)
    this.cF = contributions.cF;
    this.cI = contributions.cI;
    this.config = config;
  }

  /** Adds contribution `slot` (its record written) to address a. */
  add(slot: number, a: number): void {
    const cF = this.cF;
    const positive = cF[slot * 8]! > 0;
    const ai = a * 6;
    const acc = this.aAcc;
    const count = ++this.aCount[a]!;
    if (positive) {
      this.aWCount[a]!++;
      nadd3(acc, ai, cF, slot * 8, 1); // w, w·δ, w·δ²
    }
    if (this.cI[slot * 8 + 7] === 1) this.aSynthCount[a]!++;
    this.aObs[a]! += cF[slot * 8 + 3]!;
    const hops = this.cI[slot * 8 + 6]!;
    this.aHopHist[a * this.hopSlots + hops]!++;
    if (hops > this.aMaxHops[a]!) this.aMaxHops[a] = hops;
    const ts = cF[slot * 8 + 4]!;
    if (count === 1) {
      this.aTsMin[a] = ts;
      this.aTsMax[a] = ts;
      this.aWinDirty[a] = 0;
    } else if (this.aWinDirty[a] === 0) {
      if (ts < this.aTsMin[a]!) this.aTsMin[a] = ts;
      if (ts > this.aTsMax[a]!) this.aTsMax[a] = ts;
    }
  }

  /** Subtracts contribution `slot` from address a, exactly. */
  remove(slot: number, a: number): void {
    const cF = this.cF;
    const positive = cF[slot * 8]! > 0;
    const ai = a * 6;
    const acc = this.aAcc;
    const count = --this.aCount[a]!;
    if (positive) {
      // When no weighted contribution is left the exact sums are 0: reset rather than keep ~1e-30.
      if (--this.aWCount[a]! === 0) acc.fill(0, ai, ai + 6);
      else nadd3(acc, ai, cF, slot * 8, -1);
    }
    if (this.cI[slot * 8 + 7] === 1) this.aSynthCount[a]!--;
    this.aObs[a]! -= cF[slot * 8 + 3]!;
    const hops = this.cI[slot * 8 + 6]!;
    const hb = a * this.hopSlots;
    if (--this.aHopHist[hb + hops]! === 0 && hops === this.aMaxHops[a]) {
      let h = hops - 1;
      while (h >= 0 && this.aHopHist[hb + h] === 0) h--;
      this.aMaxHops[a] = h;
    }
    if (count === 0) this.aWinDirty[a] = 0;
    else {
      const ts = cF[slot * 8 + 4]!;
      if (ts === this.aTsMin[a] || ts === this.aTsMax[a]) this.aWinDirty[a] = 1;
    }
  }

  /** (1 − exp(−W/k)) × (1 − σ): evidence, scaled by the agreement of the contributions. */
  confidenceOf(a: number): number {
    if (this.aWCount[a] === 0) return 0;
    const ai = a * 6;
    const acc = this.aAcc;
    const W = acc[ai]! + acc[ai + 1]!;
    const e = (acc[ai + 2]! + acc[ai + 3]!) / W;
    const q = (acc[ai + 4]! + acc[ai + 5]!) / W;
    const sigma = Math.min(1, Math.sqrt(Math.max(0, q - e * e)));
    const evidence = -Math.expm1(-W / this.config.confidenceScale);
    const c = evidence * (1 - sigma);
    return c > 1 ? 1 : c < 0 ? 0 : c;
  }

  /** The read of address a (it has a live contribution); recomputes the window if a bound left. */
  read(a: number, names: AddressTable, aHead: Int32Array, nodes: number): AddressEstimate {
    const ai = a * 6;
    const acc = this.aAcc;
    const weighted = this.aWCount[a]! > 0;
    const W = weighted ? acc[ai]! + acc[ai + 1]! : 0;
    const e = weighted ? (acc[ai + 2]! + acc[ai + 3]!) / W : null;
    let spread: number | null = null;
    if (e !== null) spread = Math.min(1, Math.sqrt(Math.max(0, (acc[ai + 4]! + acc[ai + 5]!) / W - e * e)));
    if (this.aWinDirty[a] === 1) {
      let min = Infinity;
      let max = -Infinity;
      for (let s = aHead[a]!; s >= 0; s = this.cI[s * 8 + 5]!) {
        const ts = this.cF[s * 8 + 4]!;
        if (ts < min) min = ts;
        if (ts > max) max = ts;
      }
      this.aTsMin[a] = min;
      this.aTsMax[a] = max;
      this.aWinDirty[a] = 0;
    }
    const cl = names.aClass[a]!;
    return {
      address: names.aStr[a]!,
      domain: names.domName[names.clsDomain[cl]!]!,
      problemClass: names.clsName[cl]!,
      estimate: e,
      weight: W,
      packets: this.aCount[a]!,
      synthesized: this.aSynthCount[a]!,
      observations: this.aObs[a]!,
      nodes,
      windowStartMs: this.aTsMin[a]!,
      windowEndMs: this.aTsMax[a]!,
      maxHops: this.aMaxHops[a]!,
      spread,
      confidence: this.confidenceOf(a),
    };
  }
}
