/** Domain consensus over problem classes, by hand, including the alert threshold boundary. */
import { describe, expect, it } from "vitest";
import { engine, view } from "./helpers.js";

// n = 13 gives w = 1 × ln(1 + 13) = ln 14 = 2.639057329615259, whose binary significand ends in
// three zero bits: 2L, 3L, 4L and 5L are then exact doubles, so sums of these weights are exact
// and 3L / 5L is exactly the double nearest 0.6 (the literal 0.6).
const N = 13;
const L = Math.log1p(N);

function packets(e: ReturnType<typeof engine>["e"], address: string, deltas: number[], firstNode: number): void {
  deltas.forEach((delta, i) => e.add(view({ address, node: firstNode + i, seq: firstNode + i, delta, confidence: 1, n: N })));
}

describe("domain consensus", () => {
  it("the weights are exact", () => {
    expect(L).toBe(2.639057329615259);
    expect((L + L + L) / (L + L + L + L + L)).toBe(0.6);
  });

  it("classes agreeing: strength exactly 0.6 does not alert at the default threshold 0.6 (strictly above, as the reference)", () => {
    const { e } = engine();
    // energy-anomaly: one packet δ = +1        → W = L,  Σw·δ = L,        e = 1
    // chiller:        four packets δ = +0.5    → W = 4L, Σw·δ = 4 × 0.5L = 2L, e = 0.5
    packets(e, "qis.hvac.energy-anomaly", [1], 1);
    packets(e, "qis.hvac.chiller", [0.5, 0.5, 0.5, 0.5], 10);
    const c = e.consensus("hvac")!;
    // Σ W_c·e_c = L + 2L = 3L; Σ W_c = 5L; strength = |3L| / 5L = 0.6; direction +1; both classes positive
    expect(c).toMatchObject({ domain: "hvac", direction: 1, votes: 2, classes: 2, decided: 2, strength: 0.6, alert: false, estimate: 0.6, weight: 5 * L });
    expect(c.perClass).toEqual([
      { problemClass: "chiller", estimate: 0.5, weight: 4 * L, packets: 4, sign: 1 },
      { problemClass: "energy-anomaly", estimate: 1, weight: L, packets: 1, sign: 1 },
    ]);
  });

  it("classes disagreeing: 4L at +1 against L at −1 is also 0.6, with 1 vote of 2", () => {
    const { e } = engine();
    packets(e, "qis.hvac.energy-anomaly", [1, 1, 1, 1], 1); // W = 4L, e = +1
    packets(e, "qis.hvac.chiller", [-1], 10); //                 W = L,  e = −1
    // Σ W_c·e_c = 4L − L = 3L; Σ W_c = 5L → 0.6
    const c = e.consensus("hvac")!;
    expect(c).toMatchObject({ direction: 1, votes: 1, classes: 2, decided: 2, strength: 0.6, alert: false });
  });

  it("threshold boundary: alert iff strength > threshold by more than 1e-12 (rounding of the sums)", () => {
    for (const [threshold, alert] of [
      [0.6, false],
      [0.6 - 2 ** -53, false], // the next double below 0.6: the same strength, rounded otherwise
      [0.6 - 1e-13, false],
      [0.6 - 1e-11, true],
      [0.59, true],
      [1, false],
    ] as const) {
      const { e } = engine({ alertThreshold: threshold });
      packets(e, "qis.hvac.energy-anomaly", [1, 1, 1, 1], 1);
      packets(e, "qis.hvac.chiller", [-1], 10);
      expect(e.consensus("hvac")!.strength).toBe(0.6);
      expect(e.consensus("hvac")!.alert).toBe(alert);
    }
  });

  it("a third, neutral class dilutes the strength below the threshold", () => {
    const { e } = engine();
    packets(e, "qis.hvac.energy-anomaly", [1, 1, 1, 1], 1);
    packets(e, "qis.hvac.chiller", [-1], 10);
    packets(e, "qis.hvac.filter", [0], 20); // W = L, e = 0: Σ W_c·e_c = 3L, Σ W_c = 6L → 0.5
    const c = e.consensus("hvac")!;
    expect(c).toMatchObject({ direction: 1, votes: 1, classes: 3, decided: 3, strength: 0.5, alert: false });
  });

  it("an exact tie has direction 0; its votes are the classes at 0; weightless classes are counted but undecided", () => {
    const { e } = engine();
    packets(e, "qis.hvac.energy-anomaly", [1], 1);
    packets(e, "qis.hvac.chiller", [-1], 10);
    e.add(view({ address: "qis.hvac.filter", node: 30, seq: 30, delta: 1, confidence: 1, n: 0 })); // w = 0
    const c = e.consensus("hvac")!;
    expect(c).toMatchObject({ direction: 0, votes: 0, classes: 3, decided: 2, strength: 0, alert: false, estimate: 0, weight: 2 * L });
    expect(c.perClass.find((x) => x.problemClass === "filter")).toEqual({ problemClass: "filter", estimate: null, weight: 0, packets: 1, sign: 0 });
    packets(e, "qis.hvac.damper", [0], 40);
    expect(e.consensus("hvac")!).toMatchObject({ direction: 0, votes: 1, classes: 4, decided: 3 });
  });

  it("a domain of weightless classes has no estimate and never alerts, even at threshold 0", () => {
    const { e } = engine({ alertThreshold: 0 });
    e.add(view({ address: "qis.hvac.filter", node: 30, seq: 30, delta: 1, confidence: 1, n: 0 }));
    expect(e.consensus("hvac")).toMatchObject({ direction: 0, votes: 0, classes: 1, decided: 0, strength: 0, alert: false, estimate: null, weight: 0 });
    expect(e.consensus("grid")).toBeUndefined();
  });

  it("follows expiry: the consensus changes as classes' contributions leave", () => {
    const { e, clock } = engine();
    e.add(view({ address: "qis.hvac.energy-anomaly", node: 1, seq: 1, delta: 1, confidence: 1, n: N, ttlS: 10 }));
    e.add(view({ address: "qis.hvac.chiller", node: 2, seq: 1, delta: -1, confidence: 1, n: N, ttlS: 20 }));
    expect(e.consensus("hvac")!.direction).toBe(0);
    clock.advance(10_000);
    expect(e.consensus("hvac")!).toMatchObject({ direction: -1, votes: 1, classes: 1, strength: 1, alert: true });
    clock.advance(10_000);
    expect(e.consensus("hvac")).toBeUndefined();
    expect(e.snapshot().domains).toEqual([]);
  });
});
