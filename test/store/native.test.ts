/**
 * The store's C insert path (native/store.c) against its TypeScript path (ring.ts), as for
 * synthesis (test/synth/native.test.ts): the same random streams into a store of each, in
 * lockstep, and after every step every array of the state (slots, identity and address
 * indexes, expiry queue and heap), the scalars and counters, the statuses and query results
 * must be equal to the bit. The streams reach every branch: duplicates within a batch and
 * against the store, invalid verdicts, packets expired on arrival, sweeps, eviction of the
 * oldest, addresses created and dropped (free ids reused), more live addresses than have a
 * compact record, address hashes shared by different addresses (a tampered address_hash with
 * a trusted verdict), more ttl values than the expiry queue has lists, out-of-order expiries
 * (its heap), unaligned batches, single inserts (TypeScript on both) in between, and a slot
 * buffer large enough for the C to copy with streaming stores.
 */
import { describe, expect, it } from "vitest";
import { codec, nativeStatus, OFFSETS, PACKET_SIZE } from "../../src/packet/index.js";
import { nativeStore } from "../../src/packet/native.js";
import { PacketStore } from "../../src/store/index.js";
import { bindingDims, boundArrays, NATIVE_STORE, partsDifference, REGS_LENGTH } from "../../src/store/native.js";
import { SynthEngine } from "../../src/synth/index.js";
import { prng } from "../../src/util/prng.js";
import { clock, nodeId, T0 } from "./helpers.js";

if (process.env.QIS_EDGE_REQUIRE_NATIVE === "1" && !NATIVE_STORE)
  throw new Error(`QIS_EDGE_REQUIRE_NATIVE=1 but the native store path is not loaded: ${nativeStatus.reason}`);

const TTLS = [0, 1, 2, 3, 5, 7, 10, 20, 30, 60, 90, 120];

interface Shape {
  capacity: number;
  addresses: number;
  nodes: number;
  steps: number;
  /** addresses are picked as ⌊u^skew × addresses⌋ (1: uniform) */
  skew: number;
  ttls: readonly number[];
  /** the counters of Reached this shape must reach */
  reaches: readonly (keyof Reached)[];
}

/** What the streams of one shape reached, summed over its seeds. */
interface Reached {
  stored: number;
  duplicates: number;
  invalid: number;
  expired: number;
  expiredOnArrival: number;
  evicted: number;
  heapInserts: number;
  maxAddresses: number;
}

function difference(x: PacketStore, y: PacketStore): string | undefined {
  const a = x.comparableState();
  const b = y.comparableState();
  return partsDifference(a.parts, a.regs, b.parts, b.regs);
}

/** Writes one packet of the stream at buf[o]. */
function writePacket(r: () => number, shape: Shape, now: number, seqs: number[], buf: Uint8Array, o: number): void {
  const node = Math.floor(r() * shape.nodes);
  const u = r();
  // seqs mostly climb per node, sometimes repeat (duplicates) or go back
  const seq = u < 0.1 ? Math.max(0, seqs[node]! - 1) : u < 0.15 ? Math.floor(r() * (seqs[node]! + 1)) : ++seqs[node]!;
  const a = Math.floor(r() ** shape.skew * shape.addresses);
  codec.encode(
    {
      timestampMs: Math.max(0, now - Math.floor(r() < 0.2 ? r() * 200_000 : r() * 50)),
      ttlS: shape.ttls[Math.floor(r() * shape.ttls.length)]!,
      nObservations: 1,
      outcomeDelta: 0.5,
      confidence: 0.5,
      seq: seq + (r() < 0.02 ? 2 ** 40 : 0),
      nodeId: nodeId(node + 1),
      address: `qis.d${a % 7}.class-${a}${a % 3 === 0 ? ".x" : ""}`,
    },
    buf,
    o,
  );
}

function run(shape: Shape, seed: number, reached: Reached): void {
  const r = prng(seed);
  const c = clock(T0);
  const storeSeed = (seed * 7919) | 0;
  const native = new PacketStore({ capacity: shape.capacity, now: c.now, seed: storeSeed });
  const plain = new PacketStore({ capacity: shape.capacity, now: c.now, seed: storeSeed, native: false });
  expect(native.usesNative).toBe(true);
  expect(plain.usesNative).toBe(false);
  const seqs = new Array<number>(shape.nodes).fill(0);
  const scratch = Buffer.alloc(PACKET_SIZE);
  for (let step = 0; step < shape.steps; step++) {
    c.advance(Math.floor(r() < 0.05 ? r() * 30_000 : r() * 200));
    const u = r();
    if (u < 0.08) {
      // a single insert (TypeScript in both), trusted or verified
      writePacket(r, shape, c.now(), seqs, scratch, 0);
      const verified = r() < 0.5;
      if (!verified && r() < 0.3) scratch[OFFSETS.confidence]! ^= 1; // breaks the CRC
      expect(native.insert(scratch, 0, verified), `step ${step}`).toBe(plain.insert(scratch, 0, verified));
    } else if (u < 0.1) {
      expect(native.sweep()).toBe(plain.sweep());
    } else {
      const n = Math.floor(r() * 48);
      const pad = r() < 0.2 ? 3 : 0;
      const buf = Buffer.alloc(pad + n * PACKET_SIZE);
      const codes = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const o = pad + i * PACKET_SIZE;
        const v = r();
        if (i > 0 && v < 0.05) buf.copy(buf, o, o - PACKET_SIZE, o); // the previous packet again
        else if (i > 0 && v < 0.07) {
          // the previous packet's address but for one bit of its last byte, under the same
          // address_hash (trusted: its verdict is 0), as a new identity
          buf.copy(buf, o, o - PACKET_SIZE, o);
          buf[o + OFFSETS.address + buf[o + OFFSETS.address_len]! - 1]! ^= 1 << Math.floor(r() * 8);
          buf.writeUInt32LE(++seqs[0]! + 2 ** 20, o + OFFSETS.seq);
        } else writePacket(r, shape, c.now(), seqs, buf, o);
        if (r() < 0.02) {
          // a different address under the previous packet's address_hash, trusted (its verdict is 0)
          if (i > 0) buf.copy(buf, o + OFFSETS.address_hash, o - PACKET_SIZE + OFFSETS.address_hash, o - PACKET_SIZE + OFFSETS.address_hash + 16);
        }
        if (r() < 0.04) codes[i] = 1;
      }
      const b = buf.subarray(pad);
      const verify = r() < 0.25;
      const sx = new Uint8Array(n);
      const sy = new Uint8Array(n);
      const nx = verify ? native.insertBatch(b, n, undefined, sx) : native.insertBatch(b, n, codes, sx);
      const ny = verify ? plain.insertBatch(b, n, undefined, sy) : plain.insertBatch(b, n, codes, sy);
      expect(nx, `step ${step}`).toBe(ny);
      expect([...sx], `step ${step}`).toEqual([...sy]);
    }
    const d = difference(native, plain);
    if (d !== undefined) expect.fail(`step ${step}: ${d}`);
    reached.maxAddresses = Math.max(reached.maxAddresses, native.stats().addresses);
    if (step % 64 === 0) {
      expect(native.stats()).toEqual(plain.stats());
      for (const p of [null, "qis.d1.>", "qis.*.class-3", "qis.d2.class-9.x"])
        expect(native.collect(p).map((x) => [x.cursor, x.packet.toString("hex")])).toEqual(plain.collect(p).map((x) => [x.cursor, x.packet.toString("hex")]));
    }
  }
  const stats = native.stats();
  expect(stats).toEqual(plain.stats());
  for (const k of ["stored", "duplicates", "invalid", "expired", "expiredOnArrival", "evicted"] as const) reached[k] += stats[k];
  reached.heapInserts += native.comparableState().parts.queue.heapInserts;
}

describe.skipIf(!NATIVE_STORE)("the store's C insert path against the TypeScript one", () => {
  it.each([
    [
      "a small ring, few addresses (evictions, drops and reused ids)",
      { capacity: 7, addresses: 12, nodes: 3, steps: 1500, skew: 2, ttls: TTLS, reaches: ["duplicates", "invalid", "expired", "expiredOnArrival", "evicted"] },
    ],
    [
      "a mid ring, more ttls than lists and late packets (the heap)",
      { capacity: 600, addresses: 300, nodes: 20, steps: 1200, skew: 2, ttls: TTLS, reaches: ["duplicates", "expired", "expiredOnArrival", "evicted", "heapInserts"] },
    ],
    [
      "more live addresses than have a record",
      { capacity: 6000, addresses: 60_000, nodes: 60, steps: 400, skew: 1, ttls: [0, 0, 0, 120], reaches: ["duplicates", "evicted"] },
    ],
    [
      // native/store.c copies into a slot buffer of more than 8 MiB with streaming stores (x86-64)
      "a slot buffer large enough for streaming copies",
      { capacity: 17_000, addresses: 500, nodes: 30, steps: 150, skew: 2, ttls: TTLS, reaches: ["duplicates", "expired"] },
    ],
  ] as const)("%s: equal state after every step", (_name, shape) => {
    const reached: Reached = { stored: 0, duplicates: 0, invalid: 0, expired: 0, expiredOnArrival: 0, evicted: 0, heapInserts: 0, maxAddresses: 0 };
    for (const seed of [1, 2, 3]) run(shape, seed, reached);
    // The streams did reach what they are for.
    for (const k of shape.reaches) expect(reached[k], k).toBeGreaterThan(0);
    if (shape.addresses > 4096) expect(reached.maxAddresses).toBeGreaterThan(4096);
  }, 120_000);

  it("refuses a wrong handle, arrays, dims and ranges with typed errors", () => {
    const { parts } = new PacketStore({ capacity: 4 }).comparableState();
    const bound = nativeStore!;
    const arrays = [...boundArrays(parts), new Float64Array(REGS_LENGTH)];
    const dims = bindingDims(parts);
    const typeError = (message: string) => expect.objectContaining({ code: "ERR_INVALID_ARG_TYPE", message });
    const rangeError = (message: string) => expect.objectContaining({ code: "ERR_OUT_OF_RANGE", message });
    expect(() => bound.bind(arrays.slice(1), dims)).toThrow(typeError("arrays must be an Array of the owner's typed arrays, in the order of its native header"));
    expect(() => bound.bind(arrays.map((a, i) => (i === 1 ? new Float64Array(a.length) : a)), dims)).toThrow(typeError("arrays: an element has the wrong type"));
    expect(() => bound.bind(arrays.map((a, i) => (i === 0 ? new Uint8Array(100) : a)), dims)).toThrow(rangeError("arrays: an element is shorter than the dimensions need"));
    for (const k of [0, 2, 4, 6]) {
      const bad = dims.slice();
      bad[k] = k === 6 ? 32 : k === 0 ? 0 : 6; // capacity 0, a mask that is not 2^k − 1, a front shift past 31
      expect(() => bound.bind(arrays, bad), `dim ${k}`).toThrow(rangeError("dims are not the owner's dimensions (see its native header)"));
    }
    const handle = bound.bind(arrays, dims);
    const codes = new Uint8Array(2);
    const buf = Buffer.alloc(2 * PACKET_SIZE);
    expect(() => bound.run({}, buf, 0, 0, 0, codes, 0, null, 0)).toThrow(typeError("handle must come from storeBind"));
    expect(() => bound.run(handle, buf, 1, 2, 0, codes, 0, null, 0)).toThrow(rangeError("byteOffset + count * 512 is past the end of buf"));
    expect(() => bound.run(handle, buf, 0, 2, 0, codes, 1, null, 0)).toThrow(rangeError("codesOffset + count is past the end of codes or statuses"));
    expect(() => bound.run(handle, buf, 0, 2, 0, codes, 0, new Uint8Array(2), 1)).toThrow(rangeError("codesOffset + count is past the end of codes or statuses"));
    expect(() => bound.run(handle, buf, 0, 2, 0, codes, 0, [] as unknown as Uint8Array, 0)).toThrow(typeError("statuses must be a Uint8Array or null"));
    expect(() => bound.run(handle, buf, 0, 2, 0, codes, 0, new Uint8Array(0), 0)).toThrow(rangeError("codesOffset + count is past the end of codes or statuses"));
    // A synthesis handle is not a store's.
    const synthNative = (new SynthEngine({ nodeId: nodeId(9) }) as unknown as { core: { native: { handle: object } | null } }).core.native;
    expect(synthNative).not.toBeNull();
    expect(() => bound.run(synthNative!.handle, buf, 0, 0, 0, codes, 0, null, 0)).toThrow(typeError("handle must come from storeBind"));
  });
});
