/**
 * The engine's C path (native/synth.c) against its TypeScript path (ingest.ts), bufferutil's
 * pattern: the same random streams into an engine of each, in lockstep, and after every step
 * every array of the engine's state, its scalars, counters, outcomes, reads and drained packets
 * must be equal to the bit. The streams are built to reach every rule and every table edge:
 * new, reused and refused addresses, hash collisions, refused nodes, duplicates, echoes,
 * summaries shadowed and superseded, hop limits, stale and never-expiring packets, more ttl
 * values than the expiry queue has lists and out-of-order timestamps (its heap), early drops at
 * capacity, n_observations past the log table, zero and tiny weights.
 */
import { describe, expect, it } from "vitest";
import { codec, FLAG_SYNTHESIZED, nativeStatus, OFFSETS as F, PACKET_SIZE } from "../../src/packet/index.js";
import { nativeSynth } from "../../src/packet/native.js";
import { SynthEngine, type SynthConfig } from "../../src/synth/index.js";
import type { SynthCore } from "../../src/synth/ingest.js";
import { bindingDims, boundArrays, NATIVE_SYNTH, REGS_LENGTH, stateDifference } from "../../src/synth/native.js";
import { ln1pCount, LOG1P_TABLE } from "../../src/synth/sums.js";
import { prng } from "../../src/util/prng.js";
import { Clock, nodeId, OWN, T0 } from "./helpers.js";

if (process.env.QIS_EDGE_REQUIRE_NATIVE === "1" && !NATIVE_SYNTH)
  throw new Error(`QIS_EDGE_REQUIRE_NATIVE=1 but the native synthesis path is not loaded: ${nativeStatus.reason}`);

const core = (e: SynthEngine): SynthCore => (e as unknown as { core: SynthCore }).core;

const ADDRESSES = Array.from({ length: 40 }, (_, i) => `qis.d${i % 5}.class-${i % 9}${i % 2 === 0 ? "" : `.site-${i}`}`);
const TTLS = [0, 1, 2, 3, 5, 7, 10, 20, 30, 60, 90, 120];
const CONFIDENCES = [0, 1e-10, 0.2, 0.5, 0.9, 1];
const NOBS = [0, 1, 7, 4095, 4096, 4097, 65_535, 1_000_000, 0xffff_ffff];

interface World {
  r: () => number;
  clock: Clock;
  seqs: number[];
}

/** One packet of the stream, encoded at buf[o]. */
function writePacket(w: World, buf: Uint8Array, o: number): void {
  const { r } = w;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const echo = r() < 0.03;
  const synth = echo || r() < 0.2;
  const node = echo ? -1 : Math.floor(r() * 40);
  // seqs mostly climb per node, sometimes repeat (duplicates) or go back (late packets)
  let seq = 0;
  if (node >= 0) {
    const u = r();
    seq = u < 0.1 ? Math.max(0, w.seqs[node]! - 1) : u < 0.15 ? Math.floor(r() * (w.seqs[node]! + 1)) : ++w.seqs[node]!;
  }
  codec.encode(
    {
      flags: synth ? FLAG_SYNTHESIZED : 0,
      hops: synth ? 1 + Math.floor(r() * 4) : r() < 0.05 ? 4 : 0,
      timestampMs: Math.max(0, w.clock.t - Math.floor(r() < 0.2 ? r() * 40_000 : r() * 50)),
      ttlS: pick(TTLS),
      nObservations: r() < 0.5 ? pick(NOBS) : Math.floor(r() * 10_000),
      outcomeDelta: r() < 0.1 ? 0 : r() * 2 - 1,
      confidence: r() < 0.3 ? pick(CONFIDENCES) : r(),
      seq: seq + (r() < 0.02 ? 2 ** 40 : 0),
      nodeId: node < 0 ? OWN : nodeId(node + 1),
      address: pick(ADDRESSES),
    },
    buf,
    o,
  );
  // now and then, another address's hash over these bytes: a collision for the engine
  if (r() < 0.01) {
    const other = new Uint8Array(PACKET_SIZE);
    codec.encode({ flags: 0, hops: 0, timestampMs: 0, ttlS: 1, nObservations: 1, outcomeDelta: 0, confidence: 1, seq: 0, nodeId: nodeId(1), address: pick(ADDRESSES) }, other, 0);
    buf.set(other.subarray(F.address_hash, F.address_hash + 16), o + F.address_hash);
  }
}

function expectSameState(n: SynthEngine, t: SynthEngine, where: string): void {
  const d = stateDifference(n, t);
  if (d !== undefined) expect.fail(`${where}: ${d}`);
  expect(n.counters, `${where}: counters`).toEqual(t.counters);
}

function config(clock: Clock, native: boolean, extra: Partial<SynthConfig>): SynthConfig {
  return { nodeId: OWN, now: clock.now, maxHops: 3, minContributors: 2, minDelta: 0.01, minIntervalMs: 200, native, seed: 0x5eed, ...extra };
}

describe.skipIf(!NATIVE_SYNTH)("synthesis: C path against TypeScript path", () => {
  const shapes: [string, Partial<SynthConfig>][] = [
    ["small tables (refusals, early drops, id reuse)", { maxAddresses: 12, maxContributions: 64, maxNodes: 16, maxNodesPerAddress: 5 }],
    ["roomy tables", { maxAddresses: 64, maxContributions: 4096, maxNodes: 64, maxNodesPerAddress: 32 }],
  ];
  for (const [label, extra] of shapes)
    for (const seed of [1, 2, 3])
      it(`${label}, seed ${seed}: same bytes after every step`, () => {
        const clock = new Clock();
        const w: World = { r: prng(seed * 7919), clock, seqs: new Array<number>(40).fill(0) };
        const nat = new SynthEngine(config(clock, true, extra));
        const ts = new SynthEngine(config(clock, false, extra));
        expect(core(nat).usesNative).toBe(true);
        expect(core(ts).usesNative).toBe(false);
        const buf = new Uint8Array(64 * PACKET_SIZE);
        const outN = new Uint8Array(128 * PACKET_SIZE);
        const outT = new Uint8Array(128 * PACKET_SIZE);
        for (let step = 0; step < 400; step++) {
          const where = `seed ${seed} step ${step}`;
          const u = w.r();
          if (u < 0.5) {
            const count = 1 + Math.floor(w.r() * 64);
            for (let i = 0; i < count; i++) writePacket(w, buf, i * PACKET_SIZE);
            expect(nat.addBatch(buf, 0, count), where).toBe(ts.addBatch(buf, 0, count));
          } else if (u < 0.8) {
            writePacket(w, buf, 0);
            expect(nat.addAt(buf, 0), where).toBe(ts.addAt(buf, 0));
          } else if (u < 0.9) {
            expect(nat.sweep(), where).toBe(ts.sweep());
          } else {
            const k = nat.drain(outN);
            expect(k, where).toBe(ts.drain(outT));
            expect(Buffer.from(outN.subarray(0, k * PACKET_SIZE)).equals(outT.subarray(0, k * PACKET_SIZE)), `${where}: drained`).toBe(true);
          }
          clock.advance(Math.floor(w.r() * (w.r() < 0.05 ? 60_000 : 300)));
          expectSameState(nat, ts, where);
        }
        expect(nat.snapshot()).toEqual(ts.snapshot());
        // the streams reached every rule
        const c = nat.counters;
        for (const k of ["added", "expired", "selfIgnored", "hopRefused", "stale", "duplicates", "shadowed", "superseded", "addressCollisions"] as const)
          expect(c[k], k).toBeGreaterThan(0);
        if (extra.maxContributions === 64) for (const k of ["droppedEarly", "addressesRefused", "nodesRefused"] as const) expect(c[k], k).toBeGreaterThan(0);
        expect(core(nat).contributions.expiry.heapInserts).toBeGreaterThan(0);
      });

  it("the binding refuses a wrong handle, arrays, dims, buffer or range with typed errors", () => {
    const clock = new Clock();
    const e = new SynthEngine(config(clock, true, {}));
    const nat = (core(e) as unknown as { native: { run(b: Uint8Array, o: number, c: number, s: boolean): number } }).native;
    const code = (c: string) => expect.objectContaining({ code: c });
    expect(() => nat.run(new Uint8Array(PACKET_SIZE), 1, 1, false)).toThrow(code("ERR_OUT_OF_RANGE"));
    expect(() => nat.run(new Uint8Array(PACKET_SIZE), 0, 2, false)).toThrow(code("ERR_OUT_OF_RANGE"));
    expect(() => nat.run(new Float64Array(64) as unknown as Uint8Array, 0, 1, false)).toThrow(code("ERR_INVALID_ARG_TYPE"));
    const addon = nativeSynth!;
    expect(() => addon.run({}, new Uint8Array(PACKET_SIZE), 0, 1, 0)).toThrow(code("ERR_INVALID_ARG_TYPE"));
    const arrays = [...boundArrays(core(e)), new Float64Array(REGS_LENGTH)];
    const dims = bindingDims(core(e), [0, 0, 0, 0]);
    expect(addon.bind(arrays, dims)).toBeTypeOf("object"); // what the engine binds
    expect(() => addon.bind(arrays.slice(1), dims)).toThrow(code("ERR_INVALID_ARG_TYPE"));
    expect(() => addon.bind([arrays[0]!, arrays[2]!, arrays[1]!, ...arrays.slice(3)], dims)).toThrow(code("ERR_INVALID_ARG_TYPE")); // a Float64Array where an Int32Array goes
    const short = arrays.map((a, k) => (k === arrays.length - 2 ? new Int32Array(1) : a)); // the dirty list, one element
    expect(() => addon.bind(short, dims)).toThrow(code("ERR_OUT_OF_RANGE"));
    expect(() => addon.bind(arrays, new Int32Array(dims.length))).toThrow(code("ERR_OUT_OF_RANGE")); // zero masks and hop slots
    expect(() => addon.bind(arrays, dims.subarray(1))).toThrow(code("ERR_OUT_OF_RANGE"));
  });
});

describe("ln1pCount: ln(1 + n) for the weight", () => {
  it("is Math.log1p's table below 4096 and within 2 ulp of it above", () => {
    for (let n = 0; n < LOG1P_TABLE; n++) expect(ln1pCount(n)).toBe(Math.log1p(n));
    const r = prng(99);
    for (let i = 0; i < 100_000; i++) {
      const n = i < 50_000 ? LOG1P_TABLE + i : Math.floor(r() * 2 ** 32);
      const want = Math.log1p(n);
      expect(Math.abs(ln1pCount(n) - want) / want).toBeLessThanOrEqual(2 * Number.EPSILON);
    }
    expect(ln1pCount(0xffff_ffff)).toBeCloseTo(Math.log1p(0xffff_ffff), 14);
  });

  it.skipIf(!NATIVE_SYNTH)("gives the same weight in both paths past the table (one packet each, compared in the contribution record)", () => {
    for (const n of [4096, 4097, 12_345, 2 ** 31, 0xffff_ffff]) {
      const clock = new Clock();
      const engines = [true, false].map((native) => new SynthEngine(config(clock, native, {})));
      const b = new Uint8Array(PACKET_SIZE * 2);
      // the first packet interns the address (always the TypeScript path), the second is the C's
      for (let i = 0; i < 2; i++)
        codec.encode({ flags: 0, hops: 0, timestampMs: T0, ttlS: 60, nObservations: n, outcomeDelta: 0.5, confidence: 0.75, seq: i, nodeId: nodeId(1), address: "qis.hvac.energy-anomaly" }, b, i * PACKET_SIZE);
      for (const e of engines) expect(e.addBatch(b, 0, 2)).toBe(2);
      const w = engines.map((e) => Array.from(core(e).contributions.cF.subarray(0, 16)));
      expect(w[0]).toEqual(w[1]);
      expect(w[0]![0]).toBe(Math.fround(0.75) * ln1pCount(n));
      expect(w[0]![8]).toBe(Math.fround(0.75) * ln1pCount(n));
    }
  });
});
