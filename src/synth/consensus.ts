/**
 * The consensus of a domain (docs/synth.md, "Consensus of a domain"), computed when it is read
 * from the per-address sums of its addresses.
 *
 * Nothing here runs per packet: a class's Σw and Σw·δ are the sums of its addresses' (already
 * compensated) sums, so keeping separate running sums per class and per domain would only
 * repeat, on every add and every expiry, work that a read can do once. A read walks the
 * addresses in use (at most maxAddresses), adds each one's sum and compensation terms into the
 * class and domain totals with Neumaier's summation (so the totals are as exact as the
 * per-address sums: adding x and −x gives exactly 0), then derives signs and votes.
 */
import type { AddressTable } from "./addresses.js";
import type { ResolvedConfig } from "./config.js";
import type { AddressSums } from "./estimates.js";
import { ALERT_EPSILON, signOf } from "./sums.js";
import { zeroedArrays } from "../util/zeroed.js";
import type { ClassEstimate, DomainConsensus } from "./types.js";

export class ConsensusReader {
  private readonly config: ResolvedConfig;
  private readonly names: AddressTable;
  private readonly sums: AddressSums;
  /** scratch per class, for one read: [Σw, comp, Σw·δ, comp], live and weighted contribution counts */
  private readonly clsAcc: Float64Array;
  private readonly clsCount: Int32Array;
  private readonly clsWCount: Int32Array;
  private readonly domAcc = new Float64Array(4);

  constructor(config: ResolvedConfig, names: AddressTable, sums: AddressSums) {
    const A = config.maxAddresses;
    this.config = config;
    this.names = names;
    this.sums = sums;
    [this.clsAcc, this.clsCount, this.clsWCount] = zeroedArrays(["f64", A * 4], ["i32", A], ["i32", A]); // one buffer (src/util/zeroed.ts says why)
  }

  /** The consensus of domain d, or undefined when none of its addresses has a live contribution. */
  read(d: number): DomainConsensus | undefined {
    const names = this.names;
    const sums = this.sums;
    const aAcc = sums.aAcc;
    const clsAcc = this.clsAcc;
    const dom = this.domAcc;
    dom.fill(0);
    for (let cl = 0; cl < names.clsHigh; cl++) {
      if (names.clsDomain[cl] !== d) continue;
      clsAcc.fill(0, cl * 4, cl * 4 + 4);
      this.clsCount[cl] = 0;
      this.clsWCount[cl] = 0;
    }
    let live = 0;
    let weighted = 0;
    for (let a = 0; a < names.high; a++) {
      if (names.aInUse[a] !== 1 || sums.aCount[a] === 0) continue;
      const cl = names.aClass[a]!;
      if (names.clsDomain[cl] !== d) continue;
      live += sums.aCount[a]!;
      this.clsCount[cl]! += sums.aCount[a]!;
      if (sums.aWCount[a] === 0) continue; // its sums are exactly 0
      weighted++;
      this.clsWCount[cl]! += sums.aWCount[a]!;
      const ai = a * 6;
      for (let j = 0; j < 4; j++) {
        // Σw's and Σw·δ's sum and compensation terms (aAcc[ai..ai+3]) into [Σ, comp, Σ, comp].
        const x = aAcc[ai + j]!;
        const at = (j >> 1) * 2;
        neumaier(clsAcc, cl * 4 + at, x);
        neumaier(dom, at, x);
      }
    }
    if (live === 0) return undefined;

    const W = weighted > 0 ? dom[0]! + dom[1]! : 0;
    const e = weighted > 0 ? (dom[2]! + dom[3]!) / W : null;
    const direction = e === null ? 0 : signOf(e);
    const strength = e === null ? 0 : Math.min(1, Math.abs(e));
    const perClass: ClassEstimate[] = [];
    let pos = 0;
    let neg = 0;
    let zero = 0;
    for (let cl = 0; cl < names.clsHigh; cl++) {
      if (names.clsRefs[cl] === 0 || names.clsDomain[cl] !== d || this.clsCount[cl] === 0) continue;
      const ci = cl * 4;
      const cw = this.clsWCount[cl]! > 0;
      const CW = cw ? clsAcc[ci]! + clsAcc[ci + 1]! : 0;
      const ce = cw ? (clsAcc[ci + 2]! + clsAcc[ci + 3]!) / CW : null;
      const sign = ce === null ? 0 : signOf(ce);
      if (ce !== null) {
        if (sign === 1) pos++;
        else if (sign === -1) neg++;
        else zero++;
      }
      perClass.push({ problemClass: names.clsName[cl]!, estimate: ce, weight: CW, packets: this.clsCount[cl]!, sign });
    }
    perClass.sort((x, y) => (x.problemClass < y.problemClass ? -1 : x.problemClass > y.problemClass ? 1 : 0));
    return {
      domain: names.domName[d]!,
      direction,
      votes: direction === 1 ? pos : direction === -1 ? neg : zero,
      classes: perClass.length,
      decided: pos + neg + zero,
      strength,
      // Strictly above, as the reference NATS router decides (3 of 5 agreeing is not an alert),
      // rounding errors of the sums aside.
      alert: e !== null && strength - this.config.alertThreshold > ALERT_EPSILON,
      estimate: e,
      weight: W,
      perClass,
    };
  }
}

/** Neumaier's compensated addition of x into the pair (acc[i] = sum, acc[i + 1] = compensation). */
function neumaier(acc: Float64Array, i: number, x: number): void {
  const s = acc[i]!;
  const t = s + x;
  acc[i + 1] = acc[i + 1]! + (Math.abs(s) >= Math.abs(x) ? s - t + x : x - t + s);
  acc[i] = t;
}
