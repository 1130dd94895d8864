/**
 * Per problem class and per domain running state of the consensus (docs/synth.md, "Consensus
 * of a domain"): compensated Σw and Σw·δ of each class and domain, and per domain how many of
 * its classes are live and of each sign, so that a consensus read is O(1) plus the listing of
 * its classes. A class's sign is recomputed whenever its sums change, and the domain's vote
 * counts adjusted: O(1) per contribution.
 */
import type { AddressTable } from "./addresses.js";
import type { ResolvedConfig } from "./config.js";
import { nadd, signOf } from "./sums.js";
import type { ClassEstimate, DomainConsensus } from "./types.js";

/** clsState: no live contribution / live but Σw = 0; otherwise the sign −1, 0, +1. */
export const ST_NONE = 3;
const ST_UNDECIDED = 2;

export class ConsensusSums {
  /** [Σw, comp, Σw·d, comp] per class and per domain */
  private readonly clsAcc: Float64Array;
  private readonly clsCount: Int32Array;
  private readonly clsWCount: Int32Array;
  readonly clsState: Int8Array;
  private readonly domAcc: Float64Array;
  readonly domCount: Int32Array;
  private readonly domWCount: Int32Array;
  /** classes of the domain by state: with a live contribution; decided with sign +1, −1, 0 */
  private readonly domLive: Int32Array;
  private readonly domPos: Int32Array;
  private readonly domNeg: Int32Array;
  private readonly domZero: Int32Array;
  private readonly cF: Float64Array;
  private readonly aClass: Int32Array;
  private readonly clsDomain: Int32Array;
  private readonly config: ResolvedConfig;

  constructor(config: ResolvedConfig, cF: Float64Array, names: AddressTable) {
    const A = config.maxAddresses;
    this.clsAcc = new Float64Array(A * 4);
    this.clsCount = new Int32Array(A);
    this.clsWCount = new Int32Array(A);
    this.clsState = new Int8Array(A).fill(ST_NONE);
    this.domAcc = new Float64Array(A * 4);
    this.domCount = new Int32Array(A);
    this.domWCount = new Int32Array(A);
    this.domLive = new Int32Array(A);
    this.domPos = new Int32Array(A);
    this.domNeg = new Int32Array(A);
    this.domZero = new Int32Array(A);
    this.cF = cF;
    this.aClass = names.aClass;
    this.clsDomain = names.clsDomain;
    this.config = config;
  }

  /** Adds contribution `slot` (its record written) to the class and domain of address a. */
  add(slot: number, a: number): void {
    const cl = this.aClass[a]!;
    const d = this.clsDomain[cl]!;
    this.clsCount[cl]!++;
    this.domCount[d]!++;
    if (this.cF[slot * 8]! > 0) {
      this.clsWCount[cl]!++;
      this.domWCount[d]!++;
      nadd(this.clsAcc, cl * 4, this.cF, slot * 8, 2, 1); // w, w·δ
      nadd(this.domAcc, d * 4, this.cF, slot * 8, 2, 1);
    }
    this.updateClassState(cl, d);
  }

  /** Subtracts contribution `slot` from the class and domain of address a, exactly. */
  remove(slot: number, a: number): void {
    const cl = this.aClass[a]!;
    const d = this.clsDomain[cl]!;
    this.clsCount[cl]!--;
    this.domCount[d]!--;
    if (this.cF[slot * 8]! > 0) {
      // Reset to exactly 0 with the last weighted contribution, as for an address.
      if (--this.clsWCount[cl]! === 0) this.clsAcc.fill(0, cl * 4, cl * 4 + 4);
      else nadd(this.clsAcc, cl * 4, this.cF, slot * 8, 2, -1);
      if (--this.domWCount[d]! === 0) this.domAcc.fill(0, d * 4, d * 4 + 4);
      else nadd(this.domAcc, d * 4, this.cF, slot * 8, 2, -1);
    }
    this.updateClassState(cl, d);
  }

  private classStateOf(cl: number): number {
    if (this.clsCount[cl] === 0) return ST_NONE;
    if (this.clsWCount[cl] === 0) return ST_UNDECIDED;
    const i = cl * 4;
    const acc = this.clsAcc;
    return signOf((acc[i + 2]! + acc[i + 3]!) / (acc[i]! + acc[i + 1]!));
  }

  private updateClassState(cl: number, d: number): void {
    const prev = this.clsState[cl]!;
    const next = this.classStateOf(cl);
    if (prev === next) return;
    this.clsState[cl] = next;
    this.countState(d, prev, -1);
    this.countState(d, next, 1);
  }

  private countState(d: number, state: number, by: number): void {
    if (state === ST_NONE) return;
    this.domLive[d]! += by;
    if (state === 1) this.domPos[d]! += by;
    else if (state === -1) this.domNeg[d]! += by;
    else if (state === 0) this.domZero[d]! += by;
  }

  /** The read of domain d (it has a live contribution). */
  read(d: number, names: AddressTable): DomainConsensus {
    const i = d * 4;
    const acc = this.domAcc;
    const weighted = this.domWCount[d]! > 0;
    const W = weighted ? acc[i]! + acc[i + 1]! : 0;
    const e = weighted ? (acc[i + 2]! + acc[i + 3]!) / W : null;
    const direction = e === null ? 0 : signOf(e);
    const strength = e === null ? 0 : Math.min(1, Math.abs(e));
    const perClass: ClassEstimate[] = [];
    for (let cl = 0; cl < names.clsHigh; cl++) {
      if (names.clsRefs[cl] === 0 || names.clsDomain[cl] !== d || this.clsCount[cl] === 0) continue;
      const ci = cl * 4;
      const cw = this.clsWCount[cl]! > 0;
      const CW = cw ? this.clsAcc[ci]! + this.clsAcc[ci + 1]! : 0;
      const ce = cw ? (this.clsAcc[ci + 2]! + this.clsAcc[ci + 3]!) / CW : null;
      perClass.push({ problemClass: names.clsName[cl]!, estimate: ce, weight: CW, packets: this.clsCount[cl]!, sign: ce === null ? 0 : signOf(ce) });
    }
    perClass.sort((x, y) => (x.problemClass < y.problemClass ? -1 : x.problemClass > y.problemClass ? 1 : 0));
    return {
      domain: names.domName[d]!,
      direction,
      votes: direction === 1 ? this.domPos[d]! : direction === -1 ? this.domNeg[d]! : this.domZero[d]!,
      classes: this.domLive[d]!,
      decided: this.domPos[d]! + this.domNeg[d]! + this.domZero[d]!,
      strength,
      alert: e !== null && strength >= this.config.alertThreshold,
      estimate: e,
      weight: W,
      perClass,
    };
  }
}
