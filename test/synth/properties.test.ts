/**
 * Property tests: random sequences of packets and clock moves, the engine against the
 * straightforward reference (reference.ts) after every step.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { codec, FLAG_SYNTHESIZED, PACKET_SIZE, type PacketFields } from "../../src/packet/index.js";
import { AddOutcome, SynthEngine, type SynthPacket } from "../../src/synth/index.js";
import { NATIVE_SYNTH } from "../../src/synth/native.js";
import { Clock, nodeId } from "./helpers.js";
import { Reference, type RefConfig, type RefEmission, type RefPacket } from "./reference.js";

const OWN = 0xee;
/** SYNTH_FC_RUNS=<n> runs the property tests longer (default 300 random runs). */
const RUNS = Number(process.env.SYNTH_FC_RUNS ?? 300);
const ADDRESSES = [
  "qis.hvac.energy-anomaly",
  "qis.hvac.chiller",
  "qis.hvac.chiller.efficiency-drift",
  "qis.iot.pm.bearing-wear",
  "qis.iot.pm",
  "qis.iot.belt-slip",
];
const OUTCOME_NAME = Object.fromEntries(Object.entries(AddOutcome).map(([k, v]) => [v, k]));

type Step =
  | { kind: "add"; p: Omit<RefPacket, "ts"> & { age: number } }
  | { kind: "advance"; ms: number }
  | { kind: "sweep" }
  | { kind: "echo" };

const f32 = (x: number): number => Math.fround(x);
const deltaArb = fc
  .oneof(fc.constantFrom(-1, -0.5, -0.25, 0, 0.1, 0.25, 0.5, 0.75, 1), fc.float({ min: -1, max: 1, noNaN: true }))
  .map((x) => (Object.is(x, -0) ? 0 : f32(x)));
// The packet stores f32: the reference gets the values as the engine reads them back.
const confArb = fc.oneof(fc.constantFrom(0, 0.25, 0.5, 0.9, 1), fc.float({ min: 0, max: 1, noNaN: true })).map(f32);
const nArb = fc.oneof(fc.constantFrom(0, 1, 2, 7, 100, 0xffffffff), fc.nat({ max: 5000 }));

const stepArb = (maxHops: number): fc.Arbitrary<Step> =>
  fc.oneof(
    {
      weight: 8,
      arbitrary: fc.record({
        address: fc.constantFrom(...ADDRESSES),
        node: fc.oneof({ weight: 9, arbitrary: fc.integer({ min: 1, max: 5 }) }, { weight: 1, arbitrary: fc.constant(OWN) }),
        seq: fc.nat({ max: 30 }),
        synth: fc.boolean(),
        hops: fc.integer({ min: 0, max: maxHops + 1 }),
        age: fc.integer({ min: -500, max: 4000 }),
        ttlS: fc.constantFrom(0, 1, 2, 3, 5),
        delta: deltaArb,
        confidence: confArb,
        n: nArb,
      }).map((p) => ({ kind: "add" as const, p })),
    },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: 3000 }).map((ms) => ({ kind: "advance" as const, ms })) },
    { weight: 1, arbitrary: fc.constant({ kind: "sweep" as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: "echo" as const }) },
  );

const configArb = fc.record({
  maxAddresses: fc.constantFrom(2, 3, 64),
  maxContributions: fc.constantFrom(1, 3, 8, 1000),
  maxNodes: fc.constantFrom(2, 100),
  maxNodesPerAddress: fc.constantFrom(2, 3, 32),
  maxHops: fc.constantFrom(0, 1, 3),
  alertThreshold: fc.constantFrom(0.6, 0.3),
  confidenceScale: fc.constantFrom(10, 1),
  minDelta: fc.constantFrom(0, 0.05, 0.3),
  minIntervalMs: fc.constantFrom(0, 1000, 2500),
  minContributors: fc.constantFrom(1, 2),
});

function near(actual: number | null | undefined, expected: number | null | undefined, tol: number, what: string): void {
  if (expected === null || expected === undefined || actual === null || actual === undefined) {
    expect(actual, what).toBe(expected);
    return;
  }
  if (!(Math.abs(actual - expected) <= tol)) expect.fail(`${what}: ${actual} vs reference ${expected} (tolerance ${tol})`);
}

function run(native: boolean, cfgIn: Omit<RefConfig, "own">, steps: Step[]): void {
  const cfg: RefConfig = { ...cfgIn, own: OWN, minContributors: Math.min(cfgIn.minContributors, cfgIn.maxNodesPerAddress) };
  const clock = new Clock();
  const got: SynthPacket[] = [];
  const engine = new SynthEngine({
    nodeId: nodeId(OWN),
    now: clock.now,
    maxAddresses: cfg.maxAddresses,
    maxContributions: cfg.maxContributions,
    maxNodes: cfg.maxNodes,
    maxNodesPerAddress: cfg.maxNodesPerAddress,
    maxHops: cfg.maxHops,
    alertThreshold: cfg.alertThreshold,
    confidenceScale: cfg.confidenceScale,
    minDelta: cfg.minDelta,
    minIntervalMs: cfg.minIntervalMs,
    minContributors: cfg.minContributors,
    onEmit: (p) => got.push({ ...p }),
    native,
  });
  const ref = new Reference(cfg);
  // Emissions are compared only while no address id is reclaimed (the engine then forgets the
  // reclaimed address's emission history; the reference never does).
  const compareEmissions = cfg.maxAddresses >= ADDRESSES.length;
  const buf = new Uint8Array(PACKET_SIZE);
  let lastOwn: SynthPacket | undefined;
  let lastSeq = -1;
  let offered = 0;
  let outdated = 0;

  for (const [i, step] of steps.entries()) {
    const at = `step ${i} (${step.kind})`;
    let expected: RefEmission[] = [];
    const before = engine.snapshot();
    if (step.kind === "add") {
      const p: RefPacket = { ...step.p, ts: clock.t - step.p.age };
      const fields: PacketFields = {
        flags: p.synth ? FLAG_SYNTHESIZED : 0,
        hops: p.hops,
        timestampMs: p.ts,
        ttlS: p.ttlS,
        nObservations: p.n,
        outcomeDelta: p.delta,
        confidence: p.confidence,
        seq: p.seq,
        nodeId: nodeId(p.node),
        address: p.address,
      };
      codec.encode(fields, buf, 0);
      offered++;
      const outcome = engine.addAt(buf, 0);
      if (outcome === AddOutcome.OUTDATED) outdated++;
      const r = ref.add(p, clock.t);
      expect(OUTCOME_NAME[outcome], at).toBe(r.outcome);
      expected = r.emissions;
    } else if (step.kind === "echo") {
      if (lastOwn === undefined) continue;
      // This node's own synthesized packet comes back (via a peer): ignored, and nothing changes.
      codec.encode(lastOwn, buf, 0);
      offered++;
      const outcome = engine.addAt(buf, 0);
      expect(outcome, at).toBe(AddOutcome.SELF);
      const p: RefPacket = {
        address: lastOwn.address,
        node: OWN,
        seq: lastOwn.seq,
        synth: true,
        hops: lastOwn.hops,
        ts: lastOwn.timestampMs,
        ttlS: lastOwn.ttlS,
        delta: f32(lastOwn.outcomeDelta),
        confidence: f32(lastOwn.confidence),
        n: lastOwn.nObservations,
      };
      const r = ref.add(p, clock.t);
      expect(r.outcome, at).toBe("SELF");
      expected = r.emissions;
      // Same clock, so only the self packet could have changed anything: it did not.
      expect(engine.snapshot().addresses, at).toEqual(before.addresses);
    } else {
      if (step.kind === "advance") clock.advance(step.ms);
      engine.sweep();
      expected = ref.sweepStep(clock.t);
    }

    // Emitted packets: never past maxHops; seq strictly increasing; same as the reference.
    for (const p of got) {
      expect(p.hops, at).toBeLessThanOrEqual(cfg.maxHops);
      expect(p.hops, at).toBeGreaterThanOrEqual(1);
      expect(p.flags, at).toBe(FLAG_SYNTHESIZED);
      expect(p.seq, at).toBeGreaterThan(lastSeq);
      lastSeq = p.seq;
      lastOwn = p;
    }
    if (compareEmissions) {
      const g = [...got].sort((x, y) => (x.address < y.address ? -1 : 1));
      const x = [...expected].sort((p, q) => (p.address < q.address ? -1 : 1));
      expect(g.map((p) => p.address), `${at}: emitted addresses`).toEqual(x.map((p) => p.address));
      for (const [k, p] of g.entries()) {
        const q = x[k]!;
        expect(p.hops, at).toBe(q.hops);
        near(p.outcomeDelta, q.delta, 1e-9, `${at} ${p.address} emitted delta`);
        near(p.confidence, q.confidence, 1e-6, `${at} ${p.address} emitted confidence`);
        expect(p.nObservations, at).toBe(q.nObservations);
        expect(p.timestampMs, at).toBe(q.timestampMs);
      }
    }
    got.length = 0;

    // Every estimate, count, window and consensus.
    const snap = engine.snapshot();
    expect(snap.addresses.map((a) => a.address), `${at}: addresses`).toEqual(ref.addresses());
    expect(snap.live, at).toBe(ref.live.length);
    for (const a of snap.addresses) {
      const r = ref.estimate(a.address)!;
      const w = `${at} ${a.address}`;
      near(a.estimate, r.estimate, 1e-9, `${w} estimate`);
      near(a.weight, r.weight, 1e-9 * Math.max(1, r.weight), `${w} weight`);
      expect(a.packets, w).toBe(r.packets);
      expect(a.synthesized, w).toBe(r.synthesized);
      expect(a.observations, w).toBe(r.observations);
      expect(a.nodes, w).toBe(r.nodes);
      expect(a.windowStartMs, w).toBe(r.windowStartMs);
      expect(a.windowEndMs, w).toBe(r.windowEndMs);
      expect(a.maxHops, w).toBe(r.maxHops);
      near(a.confidence, r.confidence, 1e-6, `${w} confidence`);
      expect(engine.estimate(a.address), w).toEqual(a);
    }
    expect(snap.domains.map((d) => d.domain), `${at}: domains`).toEqual(ref.domains());
    for (const d of snap.domains) {
      const r = ref.consensus(d.domain)!;
      const w = `${at} domain ${d.domain}`;
      near(d.estimate, r.estimate, 1e-9, `${w} estimate`);
      near(d.weight, r.weight, 1e-9 * Math.max(1, r.weight), `${w} weight`);
      near(d.strength, r.strength, 1e-9, `${w} strength`);
      expect(d.direction, w).toBe(r.direction);
      expect(d.votes, w).toBe(r.votes);
      expect(d.classes, w).toBe(r.classes);
      expect(d.decided, w).toBe(r.decided);
      expect(d.alert, w).toBe(r.alert);
    }
    const c = snap.counters;
    const k = ref.counters;
    // every offered packet has exactly one fate
    expect(c.offered, at).toBe(offered);
    expect(
      c.added + c.selfIgnored + c.hopRefused + c.stale + c.duplicates + c.shadowed + c.nodesRefused + c.addressesRefused + c.addressesInvalid + c.addressCollisions + outdated,
      at,
    ).toBe(offered);
    const mine = {
      added: c.added,
      expired: c.expired,
      droppedEarly: c.droppedEarly,
      selfIgnored: c.selfIgnored,
      hopRefused: c.hopRefused,
      stale: c.stale,
      duplicates: c.duplicates,
      shadowed: c.shadowed,
      superseded: c.superseded,
      addressesRefused: c.addressesRefused,
      nodesRefused: c.nodesRefused,
      ...(compareEmissions ? { emitted: c.emitted, hopLimited: c.hopLimited } : {}),
    };
    const theirs = { ...k } as Record<string, number>;
    if (!compareEmissions) {
      delete theirs["emitted"];
      delete theirs["hopLimited"];
    }
    expect(mine, `${at}: counters`).toEqual(theirs);
  }
}

// Both ways of adding packets: the native addon's C path (when loaded) and the TypeScript one.
describe.each(NATIVE_SYNTH ? [true, false] : [false])("synthesis engine against the reference (native path: %s)", (native) => {
  it("estimates, counts, windows, consensus, counters and emissions agree after every step", () => {
    fc.assert(
      fc.property(
        configArb.chain((cfg) => fc.tuple(fc.constant(cfg), fc.array(stepArb(cfg.maxHops), { minLength: 1, maxLength: 80 }))),
        ([cfg, steps]) => run(native, cfg, steps),
      ),
      { numRuns: RUNS },
    );
  }, Math.max(20_000, RUNS * 60));

  it("agree on long runs with room for everything (no early drops, no refusals)", () => {
    fc.assert(
      fc.property(fc.array(stepArb(3), { minLength: 100, maxLength: 400 }), (steps) =>
        run(
          native,
          {
            maxAddresses: 64,
            maxContributions: 10_000,
            maxNodes: 100,
            maxNodesPerAddress: 32,
            maxHops: 3,
            alertThreshold: 0.6,
            confidenceScale: 10,
            minDelta: 0.05,
            minIntervalMs: 1000,
            minContributors: 2,
          },
          steps,
        ),
      ),
      { numRuns: Math.max(1, Math.round(RUNS / 12)) },
    );
  }, Math.max(20_000, RUNS * 60));
});
