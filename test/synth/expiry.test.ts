/** Expiry: exact timing, the expiry order structure, and drift over a million updates. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { codec, OFFSETS as F, PACKET_SIZE } from "../../src/packet/index.js";
import { SynthEngine } from "../../src/synth/index.js";
import { ExpiryQueue, MAX_WALK, QUEUES } from "../../src/util/expiry.js";
import { Clock, engine, fieldsOf, OWN, T0, view } from "./helpers.js";

const A = "qis.hvac.energy-anomaly";

describe("expiry", () => {
  it("a contribution is removed exactly at timestamp + ttl·1000, never before", () => {
    const { e, clock } = engine();
    e.add(view({ address: A, node: 1, seq: 1, delta: 1, confidence: 1, n: 1, ts: T0, ttlS: 5 }));
    e.add(view({ address: A, node: 2, seq: 1, delta: -1, confidence: 1, n: 1, ts: T0, ttlS: 0 }));
    clock.t = T0 + 4999;
    expect(e.estimate(A)!.packets).toBe(2);
    clock.t = T0 + 4999.999;
    expect(e.estimate(A)!.packets).toBe(2);
    clock.t = T0 + 5000;
    expect(e.estimate(A)!).toMatchObject({ packets: 1, estimate: -1 });
    expect(e.counters.expired).toBe(1);
    // ttl 0 never expires
    clock.t = T0 + 1e12;
    expect(e.estimate(A)!.packets).toBe(1);
  });

  it("sweep(now) removes what is due at that time and returns how many", () => {
    const { e } = engine();
    for (let i = 0; i < 10; i++) e.add(view({ address: A, node: 1 + (i % 3), seq: i, delta: 0.5, confidence: 1, n: 1, ts: T0, ttlS: 1 + i }));
    expect(e.sweep(T0 + 3000)).toBe(3);
    expect(e.sweep(T0 + 3000)).toBe(0);
    expect(e.sweep(T0 + 10_000)).toBe(7);
    expect(e.live).toBe(0);
  });

  it("returns to exactly zero, then to exactly one contribution's value, after add/expire cycles", () => {
    const { e, clock } = engine();
    const deltas = [0.1, -0.7, 0.3333, 1, -1, 0.05];
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < deltas.length; i++) {
        e.add(view({ address: A, node: 1 + i, seq: round * 10 + i, delta: deltas[i]!, confidence: 0.37 + i / 10, n: 3 + 1000 * i, ts: clock.t, ttlS: 1 }));
      }
      clock.advance(1000);
      expect(e.estimate(A)).toBeUndefined();
    }
    e.add(view({ address: A, node: 1, seq: 9999, delta: 0.3, confidence: 0.9, n: 7, ts: clock.t }));
    const w = Math.fround(0.9) * Math.log1p(7);
    expect(e.estimate(A)!.weight).toBe(w);
    expect(e.estimate(A)!.estimate).toBe((w * Math.fround(0.3)) / w);
  });

  it("drifts less than 1e-9 from a from-scratch sum over 1,000,000 add/expire operations of mixed magnitudes", () => {
    const clock = new Clock();
    const e = new SynthEngine({ nodeId: OWN, now: clock.now, maxContributions: 8192, maxNodesPerAddress: 64 });
    // One packet, re-stamped in place for every operation (the engine trusts verified packets).
    const buf = new Uint8Array(PACKET_SIZE);
    codec.encode(fieldsOf({ address: A, node: 1, seq: 0, delta: 0, confidence: 1, n: 1 }), buf, 0);
    const dv = new DataView(buf.buffer);
    // Contributions as the engine sees them, to recompute from scratch at checkpoints.
    const OPS = 1_000_000;
    const cw = new Float64Array(OPS);
    const cwd = new Float64Array(OPS);
    const cexp = new Float64Array(OPS);
    let rnd = 12345;
    const r = (): number => ((rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0) / 4294967296);
    // Naive running sums (no compensation), to show the test has teeth.
    let naiveW = 0;
    let naiveS = 0;
    const fifo: number[][] = [[], [], []];
    const fifoAt = [0, 0, 0];
    const ttls = [1, 7, 0];
    const checkpoint = (): { maxErr: number; naiveErr: number } => {
      let W = 0;
      let S = 0;
      for (let i = 0; i < count; i++) {
        if (cexp[i]! > clock.t) {
          W += cw[i]!;
          S += cwd[i]!;
        }
      }
      const est = e.estimate(A)!;
      const ref = S / W;
      expect(Math.abs(est.weight - W)).toBeLessThanOrEqual(1e-9 * W);
      return { maxErr: Math.abs(est.estimate! - ref), naiveErr: Math.abs(naiveS / naiveW - ref) };
    };
    let count = 0;
    let worst = 0;
    let naiveWorst = 0;
    for (let i = 0; i < OPS; i++) {
      clock.t += 1;
      // expire in the naive sums what the engine expires now
      for (let k = 0; k < 2; k++) {
        const q = fifo[k]!;
        while (fifoAt[k]! < q.length && cexp[q[fifoAt[k]!]!]! <= clock.t) {
          const j = q[fifoAt[k]!++]!;
          naiveW -= cw[j]!;
          naiveS -= cwd[j]!;
        }
      }
      // Mostly big, short-lived weights (up to ln 2^32 ≈ 22); every 1000th a tiny permanent one.
      const permanent = i % 1000 === 0;
      const kind = permanent ? 2 : i % 2;
      const conf = Math.fround(permanent ? 1e-6 * (1 + r()) : 0.5 + r() / 2);
      const n = permanent ? 1 : Math.floor(r() * 4294967295);
      const delta = Math.fround(r() * 2 - 1);
      dv.setUint32(F.timestamp_ms, clock.t % 4294967296, true);
      dv.setUint32(F.timestamp_ms + 4, Math.floor(clock.t / 4294967296), true);
      dv.setUint32(F.ttl_s, ttls[kind]!, true);
      dv.setUint32(F.n_observations, n, true);
      dv.setFloat32(F.outcome_delta, delta, true);
      dv.setFloat32(F.confidence, conf, true);
      dv.setUint32(F.seq, i, true);
      buf[F.node_id] = i % 50;
      e.addAt(buf, 0);
      const w = conf * Math.log1p(n);
      cw[count] = w;
      cwd[count] = w * delta;
      cexp[count] = ttls[kind] === 0 ? Infinity : clock.t + ttls[kind]! * 1000;
      if (kind < 2) fifo[kind]!.push(count);
      count++;
      naiveW += w;
      naiveS += w * delta;
      if (i % 100_000 === 99_999) {
        const c = checkpoint();
        worst = Math.max(worst, c.maxErr);
        naiveWorst = Math.max(naiveWorst, c.naiveErr);
      }
    }
    expect(e.counters).toMatchObject({ added: OPS, droppedEarly: 0, duplicates: 0 });
    // Let every short-lived contribution expire: only the 1,000 tiny permanent ones remain
    // (W ≈ 1e-3 against ~7,000 live weights of up to 22 a moment ago).
    clock.t += 10_000;
    e.sweep();
    for (let k = 0; k < 2; k++) {
      const q = fifo[k]!;
      while (fifoAt[k]! < q.length) {
        const j = q[fifoAt[k]!++]!;
        naiveW -= cw[j]!;
        naiveS -= cwd[j]!;
      }
    }
    const end = checkpoint();
    expect(e.estimate(A)!.packets).toBe(OPS / 1000);
    expect(Math.max(worst, end.maxErr)).toBeLessThan(1e-9);
    // Without compensation the same sequence ends further than 1e-9 from the reference.
    expect(end.naiveErr).toBeGreaterThan(1e-9);
    if (process.env.SYNTH_DRIFT_LOG) console.log({ worst, end: end.maxErr, naiveWorst, naiveEnd: end.naiveErr });
  }, 60_000);
});

function insert(q: ExpiryQueue, slot: number, exp: number, order: number, ttl: number): void {
  q.exp[slot] = exp;
  q.ord[slot] = order;
  q.insert(slot, ttl);
}

describe("ExpiryQueue (expiry order)", () => {
  it("always yields the live slot with the least (expiry, order), like a sorted list", () => {
    type Op = { kind: "insert"; ttl: number; age: number } | { kind: "remove"; pick: number } | { kind: "pop" } | { kind: "tick"; ms: number };
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      { weight: 5, arbitrary: fc.record({ kind: fc.constant("insert" as const), ttl: fc.integer({ min: 0, max: QUEUES + 3 }), age: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 5000 })) }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant("remove" as const), pick: fc.nat() }) },
      { weight: 1, arbitrary: fc.constant({ kind: "pop" as const }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant("tick" as const), ms: fc.integer({ min: 0, max: 3000 }) }) },
    );
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 300 }), (ops) => {
        const cap = 64;
        const q = new ExpiryQueue(cap);
        const live: { slot: number; exp: number; order: number }[] = [];
        const free = Array.from({ length: cap }, (_, i) => cap - 1 - i);
        let now = 0;
        let order = 0;
        for (const op of ops) {
          if (op.kind === "insert") {
            if (free.length === 0) continue;
            const slot = free.pop()!;
            const exp = op.ttl === 0 ? Infinity : now - op.age + op.ttl * 1000;
            insert(q, slot, exp, order, op.ttl);
            live.push({ slot, exp, order });
            order++;
          } else if (op.kind === "remove") {
            if (live.length === 0) continue;
            const [x] = live.splice(op.pick % live.length, 1);
            q.remove(x!.slot);
            free.push(x!.slot);
          } else if (op.kind === "pop") {
            if (live.length === 0) continue;
            const slot = q.nextSlot;
            const i = live.findIndex((x) => x.slot === slot);
            live.splice(i, 1);
            q.remove(slot);
            free.push(slot);
          } else now += op.ms;
          live.sort((x, y) => (x.exp < y.exp ? -1 : x.exp > y.exp ? 1 : x.order - y.order));
          expect(q.size).toBe(live.length);
          expect(q.nextSlot).toBe(live[0]?.slot ?? -1);
          expect(q.nextExp).toBe(live[0]?.exp ?? Infinity);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("in-order expiries stay out of the fallback heap; a far out-of-order one goes to it", () => {
    const q = new ExpiryQueue(100);
    for (let i = 0; i < 50; i++) insert(q, i, 1000 + i, i, 5);
    expect(q.heapInserts).toBe(0);
    insert(q, 50, 1000 + 49 - MAX_WALK - 1, 50, 5);
    expect(q.heapInserts).toBe(1);
    insert(q, 51, 999, 51, 5);
    expect(q.nextSlot).toBe(51);
  });
});
