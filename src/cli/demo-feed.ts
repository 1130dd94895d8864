/**
 * The demo's synthetic sensors: one building per node, each with an HVAC energy-anomaly
 * detector and a bearing-wear monitor. Values come from a seeded PRNG, so a seed gives the same
 * sequence of observations (their timing, and so the packets' timestamps, still vary).
 *
 *   qis.hvac.energy-anomaly                       a shared "weather" wave, plus a per-building
 *                                                 drift: buildings disagree, the consensus moves
 *                                                 and its alert comes and goes
 *   qis.iot.predictive-maintenance.bearing-wear   wear growing at a per-building rate, back to
 *                                                 new when the bearing is replaced
 *
 * Every node reports to the same two addresses: that is what makes their estimates comparable.
 */
import { prng } from "../util/prng.js";

/** The observations the demo sends: what agent.observe() accepts (see `qis-edge pack --help`). */
export interface DemoObservation {
  domain: string;
  problemClass: string;
  tokens?: string[];
  outcomeDelta: number;
  confidence: number;
  nObservations: number;
  ttlS: number;
  conclusion: string;
}

export const HVAC_ADDRESS = "qis.hvac.energy-anomaly";
export const BEARING_ADDRESS = "qis.iot.predictive-maintenance.bearing-wear";

const clamp = (v: number, lo: number, hi: number): number => (v < lo ? lo : v > hi ? hi : v);
/** 3 decimals: short JSON over IPC, and readable in a packet dump */
const round3 = (v: number): number => Math.round(v * 1000) / 1000;

/** Period of the shared HVAC wave (s), its mean and amplitude: with drifts around ±0.2, the
 * consensus swings from "down" to an alert (strength > 0.6) and back about once a minute. */
const HVAC_PERIOD_S = 60;
const HVAC_MEAN = 0.3;
const HVAC_AMPLITUDE = 0.4;
/** Bearing wear at which the bearing is replaced (wear starts again from WEAR_NEW). */
const WEAR_MAX = 0.9;
const WEAR_NEW = 0.05;

export class Building {
  readonly name: string;
  readonly #rand: () => number;
  /** this building's HVAC drift, added to the shared wave */
  readonly hvacOffset: number;
  readonly #wear0: number;
  /** bearing wear per second */
  readonly #wearRate: number;
  readonly #ttlS: number;
  #spare: number | null = null;

  /**
   * @param index 0-based node index (the building is named b<index+1>)
   * @param count how many buildings: their drifts spread evenly over -0.2..+0.2 (plus jitter)
   * @param ttlS lifetime of the observations' packets: the estimates follow the last ttlS seconds
   */
  constructor(index: number, count: number, seed: number, ttlS: number) {
    this.name = `b${index + 1}`;
    // A distinct stream per building, from one seed.
    this.#rand = prng((seed ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0);
    this.#ttlS = ttlS;
    const spread = count > 1 ? index / (count - 1) - 0.5 : 0;
    this.hvacOffset = round3(0.4 * spread + (this.#rand() - 0.5) * 0.1);
    this.#wear0 = this.#rand() * 0.4;
    this.#wearRate = 0.004 + this.#rand() * 0.012;
  }

  /** A standard normal variate (Box-Muller, the second value kept for the next call). */
  #gauss(): number {
    if (this.#spare !== null) {
      const s = this.#spare;
      this.#spare = null;
      return s;
    }
    const u = 1 - this.#rand();
    const v = this.#rand();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** The next observation at `tS` seconds into the demo: 60 % HVAC, 40 % bearings. */
  next(tS: number): DemoObservation {
    return this.#rand() < 0.6 ? this.hvac(tS) : this.bearing(tS);
  }

  hvac(tS: number): DemoObservation {
    const wave = HVAC_MEAN + HVAC_AMPLITUDE * Math.sin((2 * Math.PI * tS) / HVAC_PERIOD_S);
    const delta = round3(clamp(wave + this.hvacOffset + 0.12 * this.#gauss(), -1, 1));
    return {
      domain: "hvac",
      problemClass: "energy-anomaly",
      outcomeDelta: delta,
      confidence: round3(0.55 + 0.4 * this.#rand()),
      nObservations: 5 + Math.floor(this.#rand() * 60),
      ttlS: this.#ttlS,
      conclusion: `${this.name} AHU energy ${delta >= 0 ? "+" : ""}${Math.round(delta * 40)}% vs baseline`,
    };
  }

  bearing(tS: number): DemoObservation {
    const wear = WEAR_NEW + ((this.#wear0 + this.#wearRate * tS) % (WEAR_MAX - WEAR_NEW));
    // now and then a vibration burst
    const burst = this.#rand() < 0.03 ? 0.3 : 0;
    const delta = round3(clamp(wear + burst + 0.08 * this.#gauss(), -1, 1));
    return {
      domain: "iot",
      problemClass: "predictive-maintenance",
      tokens: ["bearing-wear"],
      outcomeDelta: delta,
      confidence: round3(0.5 + 0.4 * this.#rand()),
      nObservations: 1 + Math.floor(this.#rand() * 20),
      ttlS: this.#ttlS,
      conclusion: `${this.name} pump bearing wear ${Math.round(wear * 100)}%`,
    };
  }
}

/**
 * How many observations each tick sends for a rate (per second) and a tick (ms): whole numbers
 * whose running sum follows rate × time (the fractions are carried over).
 */
export class TickCounter {
  #carry = 0;
  readonly #perTick: number;
  constructor(rate: number, tickMs: number) {
    this.#perTick = (rate * tickMs) / 1000;
  }
  next(): number {
    const total = this.#carry + this.#perTick;
    const n = Math.floor(total + 1e-9);
    this.#carry = total - n;
    return n;
  }
}
