/** Per-address estimates: hand-computed examples, the input rules and every bound. */
import { describe, expect, it } from "vitest";
import { OFFSETS, PACKET_SIZE, PacketView } from "../../src/packet/index.js";
import { AddOutcome, MIN_WEIGHT } from "../../src/synth/index.js";
import { engine, packet, T0, view, weight } from "./helpers.js";

const A = "qis.hvac.energy-anomaly";
const L2 = Math.log(2); // ln 2 = 0.6931471805599453

describe("per-address estimate, by hand", () => {
  it("3 nodes' packets for one address", () => {
    const { e } = engine();
    // node 1: δ = 0.5,  c = 1,    n = 1 → w = 1 × ln(1 + 1) = ln 2
    // node 2: δ = −0.25, c = 0.5, n = 3 → w = 0.5 × ln(1 + 3) = 0.5 × 2 ln 2 = ln 2
    // node 3: δ = 1,    c = 0.75, n = 0 → w = 0.75 × ln 1 = 0: a packet, no weight
    // node 1 again: δ = 0.25, c = 1, n = 1 → w = ln 2
    expect(e.add(view({ address: A, node: 1, seq: 1, delta: 0.5, confidence: 1, n: 1, ts: T0 }))).toBe(AddOutcome.ADDED);
    expect(e.add(view({ address: A, node: 2, seq: 1, delta: -0.25, confidence: 0.5, n: 3, ts: T0 + 100 }))).toBe(AddOutcome.ADDED);
    expect(e.add(view({ address: A, node: 3, seq: 1, delta: 1, confidence: 0.75, n: 0, ts: T0 + 200 }))).toBe(AddOutcome.ADDED);
    expect(e.add(view({ address: A, node: 1, seq: 2, delta: 0.25, confidence: 1, n: 1, ts: T0 + 300 }))).toBe(AddOutcome.ADDED);
    expect(weight(1, 1)).toBe(L2);
    expect(weight(0.5, 3)).toBe(L2);
    expect(weight(0.75, 0)).toBe(0);

    const est = e.estimate(A)!;
    // Σw = 3 ln 2; Σw·δ = ln 2 × (0.5 − 0.25 + 0 + 0.25) = 0.5 ln 2 (the weightless packet adds nothing)
    // estimate = 0.5 ln 2 / 3 ln 2 = 1/6
    expect(est.weight).toBeCloseTo(3 * L2, 15);
    expect(est.estimate).toBeCloseTo(1 / 6, 15);
    expect(est.packets).toBe(4);
    expect(est.nodes).toBe(3);
    expect(est.observations).toBe(1 + 3 + 0 + 1);
    expect(est.synthesized).toBe(0);
    expect(est.windowStartMs).toBe(T0);
    expect(est.windowEndMs).toBe(T0 + 300);
    expect(est.maxHops).toBe(0);
    expect(est.domain).toBe("hvac");
    expect(est.problemClass).toBe("energy-anomaly");
    // σ² = Σw·δ²/Σw − e² = (0.25 + 0.0625 + 0.0625)/3 − 1/36 = 0.125 − 0.02777… = 0.097222…
    const sigma = Math.sqrt(0.125 - 1 / 36);
    expect(est.spread).toBeCloseTo(sigma, 12);
    // confidence = (1 − exp(−Σw/k)) × (1 − σ), k = 10: (1 − e^−0.2079…) × (1 − 0.3118…) = 0.18775 × 0.68820 = 0.12921
    expect(est.confidence).toBeCloseTo((1 - Math.exp((-3 * L2) / 10)) * (1 - sigma), 12);
    expect(est.confidence).toBeCloseTo(0.129207, 6);
  });

  it("only weightless contributions: counted as packets, estimate null, confidence 0", () => {
    const { e } = engine();
    e.add(view({ address: A, node: 1, seq: 1, delta: 0.5, confidence: 0, n: 100 }));
    e.add(view({ address: A, node: 2, seq: 1, delta: -0.5, confidence: 0.9, n: 0 }));
    const est = e.estimate(A)!;
    expect(est).toMatchObject({ estimate: null, weight: 0, packets: 2, nodes: 2, observations: 100, spread: null, confidence: 0 });
    // A weight below MIN_WEIGHT (2^-30) counts as 0 too: confidence 1e-9 at n = 1 gives w ≈ 6.9e-10.
    e.add(view({ address: A, node: 3, seq: 1, delta: 1, confidence: 1e-9, n: 1 }));
    expect(weight(1e-9, 1)).toBeLessThan(MIN_WEIGHT);
    expect(e.estimate(A)!.estimate).toBeNull();
    expect(e.estimate("qis.hvac.unknown")).toBeUndefined();
  });

  it("deeper addresses are estimated on their own and roll up into their problem class", () => {
    const { e } = engine();
    e.add(view({ address: "qis.iot.pm.bearing-wear", node: 1, seq: 1, delta: 1, confidence: 1, n: 1 }));
    e.add(view({ address: "qis.iot.pm", node: 1, seq: 2, delta: -1, confidence: 1, n: 1 }));
    expect(e.estimate("qis.iot.pm.bearing-wear")!.estimate).toBe(1);
    expect(e.estimate("qis.iot.pm")!.estimate).toBe(-1);
    const c = e.consensus("iot")!;
    expect(c.perClass).toEqual([{ problemClass: "pm", estimate: 0, weight: 2 * L2, packets: 2, sign: 0 }]);
  });
});

describe("what add() does with a packet", () => {
  it("refuses duplicates (same node id and seq) while the first is live", () => {
    const { e, clock } = engine();
    const p = packet({ address: A, node: 1, seq: 7, delta: 0.5, confidence: 1, n: 1, ttlS: 1 });
    expect(e.addAt(p, 0)).toBe(AddOutcome.ADDED);
    expect(e.addAt(p, 0)).toBe(AddOutcome.DUPLICATE);
    // the same node and seq for another address is the same packet: a duplicate too
    expect(e.add(view({ address: "qis.hvac.other", node: 1, seq: 7, delta: 0.5, confidence: 1, n: 1 }))).toBe(AddOutcome.DUPLICATE);
    expect(e.counters.duplicates).toBe(2);
    expect(e.estimate(A)!.packets).toBe(1);
    // once expired, the same bytes are stale, not a duplicate
    clock.advance(1000);
    expect(e.addAt(p, 0)).toBe(AddOutcome.STALE);
  });

  it("refuses packets already expired on arrival, and hops above maxHops", () => {
    const { e, clock } = engine({ maxHops: 2 });
    clock.t = T0 + 10_000;
    expect(e.add(view({ address: A, node: 1, seq: 1, delta: 0.5, confidence: 1, n: 1, ts: T0, ttlS: 10 }))).toBe(AddOutcome.STALE);
    expect(e.add(view({ address: A, node: 1, seq: 2, delta: 0.5, confidence: 1, n: 1, ts: T0, ttlS: 11 }))).toBe(AddOutcome.ADDED);
    expect(e.add(view({ address: A, node: 1, seq: 3, delta: 0.5, confidence: 1, n: 1, ts: T0, ttlS: 0 }))).toBe(AddOutcome.ADDED);
    expect(e.add(view({ address: A, node: 2, seq: 1, delta: 0.5, confidence: 1, n: 1, synth: true, hops: 3 }))).toBe(AddOutcome.HOP_LIMIT);
    expect(e.add(view({ address: A, node: 2, seq: 2, delta: 0.5, confidence: 1, n: 1, synth: true, hops: 2 }))).toBe(AddOutcome.ADDED);
    expect(e.counters).toMatchObject({ stale: 1, hopRefused: 1, added: 3 });
  });

  it("refuses an address that breaks the grammar, and a MurmurHash3 collision", () => {
    const { e } = engine();
    expect(e.add(view({ address: "qis.hvac", node: 1, seq: 1, delta: 0.5, confidence: 1, n: 1 }))).toBe(AddOutcome.ADDRESS_INVALID);
    expect(e.add(view({ address: "QIS.hvac.x", node: 1, seq: 2, delta: 0.5, confidence: 1, n: 1 }))).toBe(AddOutcome.ADDRESS_INVALID);
    expect(e.add(view({ address: A, node: 1, seq: 3, delta: 0.5, confidence: 1, n: 1 }))).toBe(AddOutcome.ADDED);
    // A packet whose address_hash is A's but whose address is another (the engine trusts the
    // caller's verification, so this stands for a real hash collision): refused, A untouched.
    const other = packet({ address: "qis.hvac.energy-anomalz", node: 1, seq: 4, delta: -1, confidence: 1, n: 1 });
    const a = packet({ address: A, node: 1, seq: 5, delta: -1, confidence: 1, n: 1 });
    other.set(a.subarray(OFFSETS.address_hash, OFFSETS.address_hash + 16), OFFSETS.address_hash);
    expect(e.addAt(other, 0)).toBe(AddOutcome.ADDRESS_COLLISION);
    expect(e.counters).toMatchObject({ addressesInvalid: 2, addressCollisions: 1 });
    expect(e.estimate(A)!.estimate).toBe(0.5);
  });

  it("reads packets anywhere in a batch buffer, through a view or an offset", () => {
    const { e } = engine();
    const batch = new Uint8Array(3 * PACKET_SIZE);
    batch.set(packet({ address: A, node: 1, seq: 1, delta: 1, confidence: 1, n: 1 }), 0);
    batch.set(packet({ address: A, node: 2, seq: 1, delta: -1, confidence: 1, n: 1 }), PACKET_SIZE);
    batch.set(packet({ address: A, node: 3, seq: 1, delta: 0.5, confidence: 1, n: 1 }), 2 * PACKET_SIZE);
    expect(e.addBatch(batch, 0, 2)).toBe(2);
    expect(e.add(new PacketView().at(batch, 2 * PACKET_SIZE))).toBe(AddOutcome.ADDED);
    expect(e.estimate(A)!.estimate).toBeCloseTo(0.5 / 3, 15);
    expect(e.counters.offered).toBe(3);
  });
});

describe("loop safety: echo, shadowing, superseding", () => {
  it("never feeds this node's own synthesized packets back (selfIgnored)", () => {
    const { e } = engine();
    e.add(view({ address: A, node: 1, seq: 1, delta: 0.5, confidence: 1, n: 1 }));
    const before = e.estimate(A);
    // OWN is nodeId(0xee): its synthesized packet comes back through a peer
    expect(e.add(view({ address: A, node: 0xee, seq: 1, delta: -1, confidence: 1, n: 1000, synth: true, hops: 1 }))).toBe(AddOutcome.SELF);
    expect(e.estimate(A)).toEqual(before);
    expect(e.counters.selfIgnored).toBe(1);
    // its own raw observations do count
    expect(e.add(view({ address: A, node: 0xee, seq: 2, delta: -1, confidence: 1, n: 1 }))).toBe(AddOutcome.ADDED);
    expect(e.estimate(A)!.estimate).toBeCloseTo(-0.25, 15);
  });

  it("ignores X's summary for an address while X's raw packets for it are counted (shadowed)", () => {
    const { e } = engine();
    e.add(view({ address: A, node: 1, seq: 1, delta: 0.5, confidence: 1, n: 1 }));
    expect(e.add(view({ address: A, node: 1, seq: 2, delta: -1, confidence: 1, n: 500, synth: true, hops: 1 }))).toBe(AddOutcome.SHADOWED);
    // for another address, X's summary counts
    expect(e.add(view({ address: "qis.hvac.chiller", node: 1, seq: 3, delta: -1, confidence: 1, n: 1, synth: true, hops: 1 }))).toBe(AddOutcome.ADDED);
    expect(e.estimate(A)!.estimate).toBe(0.5);
    expect(e.counters.shadowed).toBe(1);
  });

  it("keeps one summary per node and address: a newer one replaces it, an older one is ignored", () => {
    const { e } = engine();
    e.add(view({ address: A, node: 9, seq: 10, delta: 0.5, confidence: 1, n: 1, synth: true, ts: T0 }));
    expect(e.add(view({ address: A, node: 9, seq: 11, delta: -0.5, confidence: 1, n: 1, synth: true, ts: T0 + 1 }))).toBe(AddOutcome.ADDED);
    let est = e.estimate(A)!;
    expect([est.estimate, est.packets, est.synthesized, est.nodes]).toEqual([-0.5, 1, 1, 1]);
    // older timestamp: outdated
    expect(e.add(view({ address: A, node: 9, seq: 12, delta: 1, confidence: 1, n: 1, synth: true, ts: T0 }))).toBe(AddOutcome.OUTDATED);
    // same timestamp, lower seq: outdated; same timestamp, higher seq: replaces
    expect(e.add(view({ address: A, node: 9, seq: 5, delta: 1, confidence: 1, n: 1, synth: true, ts: T0 + 1 }))).toBe(AddOutcome.OUTDATED);
    expect(e.add(view({ address: A, node: 9, seq: 13, delta: 1, confidence: 1, n: 1, synth: true, ts: T0 + 1 }))).toBe(AddOutcome.ADDED);
    expect(e.estimate(A)!.estimate).toBe(1);
    // X's raw evidence then replaces its summary
    expect(e.add(view({ address: A, node: 9, seq: 14, delta: 0.25, confidence: 1, n: 1 }))).toBe(AddOutcome.ADDED);
    est = e.estimate(A)!;
    expect([est.estimate, est.packets, est.synthesized]).toEqual([0.25, 1, 0]);
    expect(e.counters.superseded).toBe(2 + 2 + 1); // 2 replaced + 2 outdated + 1 replaced by raw
  });
});

describe("bounds", () => {
  it("maxNodesPerAddress: a further node is refused until a slot frees", () => {
    const { e, clock } = engine({ maxNodesPerAddress: 2, minContributors: 1 });
    e.add(view({ address: A, node: 1, seq: 1, delta: 1, confidence: 1, n: 1, ttlS: 1 }));
    e.add(view({ address: A, node: 2, seq: 1, delta: 1, confidence: 1, n: 1, ttlS: 5 }));
    expect(e.add(view({ address: A, node: 3, seq: 1, delta: -1, confidence: 1, n: 1, ttlS: 5 }))).toBe(AddOutcome.NODE_REFUSED);
    // node 1 may add more; another address takes node 3
    expect(e.add(view({ address: A, node: 1, seq: 2, delta: 1, confidence: 1, n: 1, ttlS: 1 }))).toBe(AddOutcome.ADDED);
    expect(e.add(view({ address: "qis.hvac.chiller", node: 3, seq: 2, delta: -1, confidence: 1, n: 1 }))).toBe(AddOutcome.ADDED);
    clock.advance(1000); // node 1's contributions to A expire: its slot frees
    expect(e.add(view({ address: A, node: 3, seq: 3, delta: -1, confidence: 1, n: 1, ts: clock.t }))).toBe(AddOutcome.ADDED);
    expect(e.estimate(A)!.nodes).toBe(2);
    expect(e.counters.nodesRefused).toBe(1);
  });

  it("maxNodes: nodes with a live contribution anywhere", () => {
    const { e } = engine({ maxNodes: 2 });
    e.add(view({ address: A, node: 1, seq: 1, delta: 1, confidence: 1, n: 1 }));
    e.add(view({ address: "qis.hvac.chiller", node: 2, seq: 1, delta: 1, confidence: 1, n: 1 }));
    expect(e.add(view({ address: A, node: 3, seq: 1, delta: 1, confidence: 1, n: 1 }))).toBe(AddOutcome.NODE_REFUSED);
  });

  it("maxAddresses: a new address is refused while every address holds a live contribution", () => {
    const { e, clock } = engine({ maxAddresses: 1 });
    e.add(view({ address: A, node: 1, seq: 1, delta: 1, confidence: 1, n: 1, ttlS: 1 }));
    expect(e.add(view({ address: "qis.hvac.chiller", node: 1, seq: 2, delta: 1, confidence: 1, n: 1 }))).toBe(AddOutcome.ADDRESS_REFUSED);
    clock.advance(1000);
    expect(e.add(view({ address: "qis.hvac.chiller", node: 1, seq: 3, delta: -1, confidence: 1, n: 1, ts: clock.t }))).toBe(AddOutcome.ADDED);
    expect(e.estimate(A)).toBeUndefined();
    expect(e.estimate("qis.hvac.chiller")!.estimate).toBe(-1);
    expect(e.counters.addressesRefused).toBe(1);
    expect(e.consensus("hvac")!.perClass.map((c) => c.problemClass)).toEqual(["chiller"]);
  });

  it("maxContributions: the contribution expiring first is dropped early (possibly the new one)", () => {
    const { e } = engine({ maxContributions: 2, minContributors: 1 });
    e.add(view({ address: A, node: 1, seq: 1, delta: 1, confidence: 1, n: 1, ttlS: 10 }));
    e.add(view({ address: A, node: 2, seq: 1, delta: 0.5, confidence: 1, n: 1, ttlS: 20 }));
    // full: the new one (ttl 30) stays, node 1's (ttl 10) goes
    e.add(view({ address: A, node: 3, seq: 1, delta: -1, confidence: 1, n: 1, ttlS: 30 }));
    let est = e.estimate(A)!;
    expect([est.packets, est.estimate]).toEqual([2, -0.25]);
    // full: a new one expiring first (ttl 5) is itself dropped at once
    expect(e.add(view({ address: A, node: 4, seq: 1, delta: 1, confidence: 1, n: 1, ttlS: 5 }))).toBe(AddOutcome.ADDED);
    est = e.estimate(A)!;
    expect([est.packets, est.estimate, est.nodes]).toEqual([2, -0.25, 2]);
    // never-expiring contributions go last; among equal expiries the oldest goes first
    e.add(view({ address: A, node: 5, seq: 1, delta: 1, confidence: 1, n: 1, ttlS: 0 }));
    e.add(view({ address: A, node: 6, seq: 1, delta: 1, confidence: 1, n: 1, ttlS: 0 }));
    e.add(view({ address: A, node: 7, seq: 1, delta: -1, confidence: 1, n: 1, ttlS: 0 }));
    est = e.estimate(A)!;
    expect([est.packets, est.estimate]).toEqual([2, 0]); // nodes 6 and 7 remain
    expect(e.counters).toMatchObject({ added: 7, droppedEarly: 5, expired: 0 });
  });

  it("allocates its arrays at construction: footprint reported", () => {
    const { e } = engine({ maxContributions: 1000, maxAddresses: 16, maxNodes: 64, maxNodesPerAddress: 8 });
    const bytes = e.footprintBytes;
    expect(bytes).toBeGreaterThan(1000 * 100);
    expect(bytes).toBeLessThan(1000 * 200 + 64 * 1024);
    // the caller's buffer is not the engine's memory, and nothing grows
    const big = new Uint8Array(2048 * PACKET_SIZE);
    big.set(packet({ address: A, node: 1, seq: 1, delta: 1, confidence: 1, n: 1 }), 0);
    e.addAt(big, 0);
    expect(e.footprintBytes).toBe(bytes);
  });
});
