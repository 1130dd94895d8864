/** Synthesized packets: the emission rule, the pull and callback APIs, decoding, loop safety. */
import { describe, expect, it } from "vitest";
import { codec, FLAG_SYNTHESIZED, PACKET_SIZE } from "../../src/packet/index.js";
import { AddOutcome, SynthErrorCode, type SynthPacket } from "../../src/synth/index.js";
import { catchSynthError, engine, OWN, packet, T0, view } from "./helpers.js";

const A = "qis.hvac.energy-anomaly";
const L2 = Math.log(2);

describe("emission rule (drain mode)", () => {
  it("emits when enough nodes agree on a materially new estimate, at most once per interval", () => {
    const { e, clock } = engine(); // minContributors 2, minDelta 0.05, minIntervalMs 1000, ttlS 3600, maxHops 3
    const out = new Uint8Array(4 * PACKET_SIZE);

    // 1 node: below minContributors
    e.add(view({ address: A, node: 1, seq: 1, delta: 0.5, confidence: 1, n: 1 })); // w = ln 2
    expect(e.pending).toBe(0);
    // 2 nodes: estimate (0.5 − 0.25)·ln 2 / 2 ln 2 = 0.125 → emitted (first emission)
    e.add(view({ address: A, node: 2, seq: 1, delta: -0.25, confidence: 0.5, n: 3 })); // w = 0.5 × ln 4 = ln 2
    expect(e.pending).toBe(1);
    expect(e.counters.emitted).toBe(1);

    // +500 ms, a weightless packet: estimate unchanged (|Δ| = 0 < 0.05): nothing
    clock.advance(500);
    e.add(view({ address: A, node: 3, seq: 1, delta: 1, confidence: 0.75, n: 0 }));
    // a weighted one: estimate 1.25/3 = 0.41667, |Δ| ≥ 0.05, but only 500 ms since the last: held back
    e.add(view({ address: A, node: 3, seq: 2, delta: 1, confidence: 1, n: 1 }));
    expect(e.counters.emitted).toBe(1);

    expect(e.drain(out)).toBe(1);
    expect(e.pending).toBe(0);
    const p = codec.decode(out, 0);
    // σ² = (0.25 + 0.0625)/2 − 0.125² = 0.140625 → σ = 0.375; evidence 1 − exp(−2 ln 2 / 10)
    const conf = (1 - Math.exp((-2 * L2) / 10)) * (1 - 0.375);
    expect(p).toMatchObject({
      flags: FLAG_SYNTHESIZED,
      hops: 1,
      timestampMs: T0,
      ttlS: 3600,
      nObservations: 1 + 3,
      outcomeDelta: 0.125,
      confidence: Math.fround(conf),
      seq: 0,
      address: A,
      conclusion: "",
      context: [],
    });
    expect(Buffer.from(p.nodeId)).toEqual(Buffer.from(OWN));

    // at +1000 ms the held-back estimate is due: sweep() (or any add) emits it
    clock.advance(500);
    e.sweep();
    expect(e.drain(out, PACKET_SIZE)).toBe(1);
    const q = codec.decode(out, PACKET_SIZE);
    expect(q).toMatchObject({ hops: 1, timestampMs: T0 + 1000, nObservations: 5, seq: 1 });
    expect(q.outcomeDelta).toBe(Math.fround(1.25 / 3));
  });

  it("hops: 1 + the largest hop count among live contributions; never above maxHops (hopLimited)", () => {
    const { e } = engine({ minIntervalMs: 0 });
    const out = new Uint8Array(4 * PACKET_SIZE);
    e.add(view({ address: A, node: 1, seq: 1, delta: 0.5, confidence: 1, n: 1 }));
    e.add(view({ address: A, node: 2, seq: 1, delta: -0.5, confidence: 1, n: 1, synth: true, hops: 2 }));
    expect(e.drain(out)).toBe(1);
    expect(codec.decode(out, 0).hops).toBe(3);
    // a summary at hops 3 = maxHops: counted, but a re-synthesis would be hop 4: suppressed
    expect(e.add(view({ address: A, node: 3, seq: 1, delta: 1, confidence: 1, n: 1, synth: true, hops: 3 }))).toBe(AddOutcome.ADDED);
    expect(e.estimate(A)!.maxHops).toBe(3);
    expect(e.pending).toBe(0);
    expect(e.counters.hopLimited).toBe(1);
    // once it is gone, emission resumes
    e.add(view({ address: A, node: 3, seq: 2, delta: -1, confidence: 1, n: 1 })); // raw from node 3 replaces its summary
    expect(e.estimate(A)!.maxHops).toBe(2);
    expect(e.drain(out)).toBe(1);
    expect(codec.decode(out, 0).hops).toBe(3);
  });

  it("maxHops 0: never re-synthesizes, every would-be emission is hop-limited", () => {
    const { e } = engine({ maxHops: 0, minContributors: 1 });
    e.add(view({ address: A, node: 1, seq: 1, delta: 0.5, confidence: 1, n: 1 }));
    expect(e.add(view({ address: A, node: 2, seq: 1, delta: 0.5, confidence: 1, n: 1, synth: true, hops: 1 }))).toBe(AddOutcome.HOP_LIMIT);
    expect(e.counters).toMatchObject({ emitted: 0, hopLimited: 1, hopRefused: 1 });
  });

  it("n_observations saturates at 2^32 − 1; the estimate is clamped to −1..1", () => {
    const { e } = engine({ minContributors: 1 });
    const out = new Uint8Array(PACKET_SIZE);
    for (let i = 1; i <= 3; i++) e.add(view({ address: A, node: i, seq: i, delta: 1, confidence: 1, n: 0xffffffff, ttlS: 0 }));
    expect(e.estimate(A)!.observations).toBe(3 * 0xffffffff);
    e.drain(out);
    expect(codec.decode(out).nObservations).toBe(0xffffffff);
    expect(codec.decode(out).outcomeDelta).toBe(1);
  });

  it("drain writes what fits, oldest first, and coalesces a newer emission for the same address", () => {
    const { e } = engine({ minContributors: 1, minIntervalMs: 0, minDelta: 0 });
    e.add(view({ address: A, node: 1, seq: 1, delta: 0.5, confidence: 1, n: 1 }));
    e.add(view({ address: "qis.hvac.chiller", node: 1, seq: 2, delta: 0.5, confidence: 1, n: 1 }));
    e.add(view({ address: A, node: 2, seq: 1, delta: -0.5, confidence: 1, n: 1 }));
    expect(e.counters).toMatchObject({ emitted: 3, coalesced: 1 });
    expect(e.pending).toBe(2);
    const one = new Uint8Array(PACKET_SIZE + 100);
    expect(e.drain(one)).toBe(1);
    expect(codec.decode(one.subarray(0, PACKET_SIZE))).toMatchObject({ address: A, outcomeDelta: 0, seq: 0 });
    expect(e.drain(one, 0, 0)).toBe(0);
    expect(e.drain(one)).toBe(1);
    expect(codec.decode(one.subarray(0, PACKET_SIZE))).toMatchObject({ address: "qis.hvac.chiller", seq: 1 });
    expect(e.drain(one)).toBe(0);
    expect(catchSynthError(() => e.drain(one, PACKET_SIZE + 101)).code).toBe(SynthErrorCode.ARGUMENT);
  });

  it("an address whose contributions all expire emits nothing (no estimate to publish)", () => {
    const { e, clock } = engine({ minContributors: 1, minIntervalMs: 0 });
    e.add(view({ address: A, node: 1, seq: 1, delta: 0.5, confidence: 1, n: 1, ttlS: 1 }));
    expect(e.counters.emitted).toBe(1);
    clock.advance(1000);
    e.sweep();
    expect(e.counters.emitted).toBe(1);
  });
});

describe("callback mode", () => {
  it("onEmit gets the fields (reused object), nothing is queued, and the packet encodes", () => {
    const got: SynthPacket[] = [];
    let seq = 1000;
    const { e } = engine({ onEmit: (p) => got.push({ ...p }), nextSeq: () => seq++, ttlS: 60, minContributors: 1 });
    e.add(view({ address: A, node: 1, seq: 1, delta: -0.75, confidence: 1, n: 1 }));
    expect(e.pending).toBe(0);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ flags: FLAG_SYNTHESIZED, hops: 1, ttlS: 60, seq: 1000, outcomeDelta: -0.75, address: A, nObservations: 1 });
    const buf = new Uint8Array(PACKET_SIZE);
    codec.encode(got[0]!, buf);
    expect(codec.decode(buf)).toMatchObject({ flags: FLAG_SYNTHESIZED, seq: 1000, outcomeDelta: -0.75 });
    // the node's own packet, fed back: ignored
    expect(e.addAt(buf, 0)).toBe(AddOutcome.SELF);
    expect(e.estimate(A)!.packets).toBe(1);
  });

  it("add() from inside onEmit throws ERR_SYNTH_REENTRANT; the engine stays usable", () => {
    let inner: unknown;
    const { e } = engine({
      minContributors: 1,
      onEmit: (p) => {
        try {
          e.add(view({ address: p.address, node: 5, seq: 99, delta: 0, confidence: 1, n: 1 }));
        } catch (err) {
          inner = err;
        }
        expect(e.estimate(A)).toBeDefined(); // reads are fine (no sweep while inside)
      },
    });
    e.add(view({ address: A, node: 1, seq: 1, delta: 1, confidence: 1, n: 1 }));
    expect((inner as { code?: string }).code).toBe(SynthErrorCode.REENTRANT);
    expect(e.add(view({ address: A, node: 2, seq: 1, delta: 1, confidence: 1, n: 1 }))).toBe(AddOutcome.ADDED);
  });

  it("an exception from onEmit reaches the caller after the contribution is counted", () => {
    const { e } = engine({
      minContributors: 1,
      onEmit: () => {
        throw new Error("publish failed");
      },
    });
    expect(() => e.add(view({ address: A, node: 1, seq: 1, delta: 1, confidence: 1, n: 1 }))).toThrow("publish failed");
    expect(e.estimate(A)!.packets).toBe(1);
    expect(e.counters.emitted).toBe(1);
  });

  it("a bad nextSeq() value is ERR_SYNTH_SEQ", () => {
    const { e } = engine({ minContributors: 1, nextSeq: () => -1, onEmit: () => {} });
    const err = catchSynthError(() => e.add(view({ address: A, node: 1, seq: 1, delta: 1, confidence: 1, n: 1 })));
    expect(err).toMatchObject({ code: SynthErrorCode.SEQ, key: "nextSeq", found: "-1" });
  });
});

describe("arguments", () => {
  it("addAt checks the buffer and the offset", () => {
    const { e } = engine();
    const p = packet({ address: A, node: 1, seq: 1, delta: 1, confidence: 1, n: 1 });
    expect(catchSynthError(() => e.addAt(p, 1)).code).toBe(SynthErrorCode.ARGUMENT);
    expect(catchSynthError(() => e.addAt(p, -512)).code).toBe(SynthErrorCode.ARGUMENT);
    expect(catchSynthError(() => e.addAt([] as unknown as Uint8Array, 0)).code).toBe(SynthErrorCode.ARGUMENT);
    expect(catchSynthError(() => e.addBatch(p, 0, 2)).code).toBe(SynthErrorCode.ARGUMENT);
    expect(catchSynthError(() => e.sweep(Number.NaN)).code).toBe(SynthErrorCode.ARGUMENT);
  });

  it("a clock that returns a non-number is an ERR_SYNTH_ARGUMENT naming config.now()", () => {
    const { e } = engine({ now: () => Number.NaN });
    expect(catchSynthError(() => e.add(view({ address: A, node: 1, seq: 1, delta: 1, confidence: 1, n: 1 })))).toMatchObject({
      code: SynthErrorCode.ARGUMENT,
      key: "config.now()",
    });
  });
});
