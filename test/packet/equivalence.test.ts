/**
 * Native and fallback must agree byte for byte on encode and on the verdict, for random fields
 * and for random and mutated bytes (the pattern bufferutil uses for its native/JS pair).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { backends, FLAG_SIGNED, FLAGS_KNOWN, OFFSETS as F, PACKET_SIZE, PacketCodec, UNPACK_STRIDE, type PacketFields } from "../../src/packet/index.js";

const native = backends.native;
const fallback = PacketCodec.using(backends.fallback);

const f32 = fc.float({ noNaN: true, noDefaultInfinity: true });
const fieldsArb: fc.Arbitrary<PacketFields> = fc.record({
  flags: fc.integer({ min: 0, max: FLAGS_KNOWN }),
  hops: fc.integer({ min: 0, max: 255 }),
  timestampMs: fc.maxSafeNat(),
  ttlS: fc.integer({ min: 0, max: 0xffff_ffff }),
  nObservations: fc.integer({ min: 0, max: 0xffff_ffff }),
  outcomeDelta: fc.double({ min: -1, max: 1, noNaN: true }),
  confidence: fc.double({ min: 0, max: 1, noNaN: true }),
  seq: fc.maxSafeNat(),
  nodeId: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  address: fc.string({ unit: "grapheme", minLength: 1, maxLength: 20 }).filter((s) => Buffer.byteLength(s) <= 96 && s.length > 0),
  contextHash: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  context: fc.array(f32, { maxLength: 16 }),
  conclusion: fc.string({ unit: "grapheme", maxLength: 120 }),
}).map((f) => (f.flags & FLAG_SIGNED ? { ...f, keyId: new Uint8Array(8).fill(7), signature: new Uint8Array(64).fill(9) } : f));

describe.skipIf(native === null)("native and fallback agree", () => {
  const nat = PacketCodec.using(native!);

  it("on the bytes of random packets, single and batched", () => {
    fc.assert(
      fc.property(fc.array(fieldsArb, { minLength: 1, maxLength: 8 }), (list) => {
        const a = Buffer.alloc(list.length * PACKET_SIZE);
        const b = Buffer.alloc(list.length * PACKET_SIZE);
        nat.encodeBatch(list, a);
        fallback.encodeBatch(list, b);
        expect(a.equals(b)).toBe(true);
        const one = Buffer.alloc(PACKET_SIZE);
        nat.encode(list[0]!, one);
        expect(one.equals(b.subarray(0, PACKET_SIZE))).toBe(true);
        const ua = new Float64Array(list.length * UNPACK_STRIDE);
        const ub = new Float64Array(list.length * UNPACK_STRIDE);
        nat.unpack(a, 0, list.length, ua);
        fallback.unpack(b, 0, list.length, ub);
        expect(ua).toEqual(ub);
      }),
      { numRuns: 300 },
    );
  });

  /** Mutations that keep the CRC right, so the checks after it are exercised too. */
  const mutationArb = fc.record({
    at: fc.integer({ min: 0, max: F.crc32c - 1 }),
    value: fc.integer({ min: 0, max: 255 }),
    count: fc.integer({ min: 1, max: 6 }),
    reseal: fc.boolean(),
  });

  it("on the verdict of mutated packets", () => {
    fc.assert(
      fc.property(fieldsArb, fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (fields, mutations) => {
        const b = Buffer.alloc(PACKET_SIZE);
        fallback.encode(fields, b);
        for (const m of mutations) b.fill(m.value, m.at, Math.min(m.at + m.count, F.crc32c));
        if (mutations[0]!.reseal) b.writeUInt32LE(fallback.crc32c(b, 0, F.crc32c), F.crc32c);
        expect(nat.verdict(b)).toBe(fallback.verdict(b));
      }),
      { numRuns: 3000 },
    );
  });

  it("on random bytes with a correct CRC and magic (deep checks), batched", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: PACKET_SIZE, maxLength: PACKET_SIZE }), { minLength: 1, maxLength: 16 }), (packets) => {
        const buf = Buffer.concat(packets);
        for (let i = 0; i < packets.length; i++) {
          const o = i * PACKET_SIZE;
          if (i % 2 === 0) buf.set([0x51, 0x49, 0x53, 1, i % 8, 0], o);
          buf.writeUInt32LE(fallback.crc32c(buf, o, F.crc32c), o + F.crc32c);
        }
        const ca = new Uint8Array(packets.length);
        const cb = new Uint8Array(packets.length);
        expect(nat.verifyBatch(buf, ca)).toBe(fallback.verifyBatch(buf, cb));
        expect(ca).toEqual(cb);
      }),
      { numRuns: 500 },
    );
  });

  it("on CRC-32C of random data at random offsets and seeds", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), fc.nat(), fc.nat(), fc.integer({ min: 0, max: 0xffff_ffff }), (data, a, b, seed) => {
        const offset = data.length === 0 ? 0 : a % data.length;
        const length = (data.length - offset) === 0 ? 0 : b % (data.length - offset + 1);
        expect(nat.crc32c(data, offset, length, seed)).toBe(fallback.crc32c(data, offset, length, seed));
      }),
      { numRuns: 2000 },
    );
  });

  it("on the address hash of random byte strings", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (data) => {
        const x = new Uint8Array(16);
        const y = new Uint8Array(16);
        native!.murmur128(data, 0, data.length, x);
        backends.fallback.murmur128(data, 0, data.length, y);
        expect(x).toEqual(y);
      }),
      { numRuns: 1000 },
    );
  });
});
