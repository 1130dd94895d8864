/**
 * The flat-map CBOR fast path gives exactly what cbor-x gives (the decoder the session uses
 * otherwise), or declines: never a different value.
 */
import fc from "fast-check";
import { Encoder } from "cbor-x";
import { describe, expect, it } from "vitest";
import { decodeFlatMap } from "../../src/stdio/cbor-flat.js";
import { cborDecoder } from "../../src/stdio/framing.js";

const encoder = new Encoder({ useRecords: false });
const hex = (h: string): Buffer => Buffer.from(h.replace(/\s+/g, ""), "hex");

function both(bytes: Uint8Array): { fast: unknown; slow: unknown } {
  // Inside a larger buffer, at an odd offset: frames arrive as slices of a chunk.
  const padded = Buffer.concat([Buffer.from([0xff, 0xff, 0xff]), Buffer.from(bytes), Buffer.from([0xff])]);
  const fast = decodeFlatMap(padded, 3, 3 + bytes.length);
  let slow: unknown;
  try {
    slow = cborDecoder.decode(Buffer.from(bytes));
  } catch {
    slow = "threw";
  }
  return { fast, slow };
}

describe("decodeFlatMap", () => {
  it("decodes an observation exactly as cbor-x does", () => {
    const obs = { op: "observe", id: 7, domain: "hvac", problemClass: "energy-anomaly", outcomeDelta: 0.18, confidence: 0.87, nObservations: 42, context: [1.5, -2, 3], ok: true, none: null };
    const { fast, slow } = both(encoder.encode(obs));
    expect(fast).toEqual(obs);
    expect(fast).toEqual(slow);
  });

  it("takes every integer width and sign, and 2^53 - 1 but not beyond", () => {
    for (const v of [0, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, -1, -24, -25, -256, -257, -(2 ** 32), -(2 ** 53)]) {
      const { fast, slow } = both(encoder.encode({ v }));
      expect(fast, String(v)).toEqual({ v });
      expect(slow).toEqual({ v });
    }
    expect(decodeFlatMap(hex("a1 61 76 1b 0020000000000000"), 0, 12)).toBeUndefined(); // 2^53
  });

  it.each([
    ["a float32", "a1 61 76 fa 3e3851ec"],
    ["a float16", "a1 61 76 f9 3c00"],
    ["a byte string", "a1 61 76 41 00"],
    ["a nested map", "a1 61 76 a0"],
    ["a tag", "a1 61 76 c1 00"],
    ["a non-ASCII key", "a1 62 c3a9 00"],
    ["a non-ASCII value", "a1 61 76 62 c3a9"],
    ["an indefinite map", "bf 61 76 00 ff"],
    ["a __proto__ key", "a1 69 5f5f70726f746f5f5f a0"],
    ["trailing bytes", "a1 61 76 00 00"],
    ["a short frame", "a2 61 76 00"],
    ["an array of strings", "a1 61 76 81 61 78"],
    ["an array in an array", "a1 61 76 81 80"],
    ["undefined", "a1 61 76 f7"],
    ["not a map", "81 00"],
  ])("declines %s (cbor-x decides)", (_, h) => {
    const b = hex(h);
    expect(decodeFlatMap(b, 0, b.length)).toBeUndefined();
  });

  it("agrees with cbor-x on random flat maps, or declines", () => {
    const value = fc.oneof(
      fc.integer({ min: -(2 ** 53), max: 2 ** 53 - 1 }),
      fc.double(),
      fc.string({ maxLength: 12 }),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.oneof(fc.integer(), fc.double({ noNaN: true })), { maxLength: 17 }),
    );
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 14 }), value, { maxKeys: 12 }), (obj) => {
        const { fast, slow } = both(encoder.encode(obj));
        if (fast !== undefined) expect(fast).toEqual(slow);
      }),
      { numRuns: 2000 },
    );
  });

  it("agrees with cbor-x on mutated frames, or declines", () => {
    const base = Buffer.from(encoder.encode({ op: "observe", id: 1, domain: "hvac", problemClass: "x", outcomeDelta: 0.5, confidence: 1, nObservations: 3, context: [1, 2] }));
    fc.assert(
      fc.property(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 }), fc.nat(base.length), (at, byte, cut) => {
        const b = Buffer.from(base);
        b[at] = byte;
        const { fast, slow } = both(b.subarray(0, Math.max(1, cut)));
        if (fast !== undefined) expect(fast).toEqual(slow);
      }),
      { numRuns: 3000 },
    );
  });
});
