/**
 * src/util/zeroed.ts: typed arrays carved from shared zeroed blocks. Each must be zero, 8-byte
 * aligned (Float64Array views need it), disjoint from every other, and as long as asked.
 */
import { describe, expect, it } from "vitest";
import { zeroedArrays } from "../../src/util/zeroed.js";

describe("zeroedArrays", () => {
  it("gives the kinds and lengths asked for, zero-filled and 8-byte aligned", () => {
    const [a, b, c, d] = zeroedArrays(["i32", 5], ["f64", 3], ["u8", 7], ["i32", 0]);
    expect(a).toBeInstanceOf(Int32Array);
    expect(b).toBeInstanceOf(Float64Array);
    expect(c).toBeInstanceOf(Uint8Array);
    expect([a.length, b.length, c.length, d.length]).toEqual([5, 3, 7, 0]);
    for (const x of [a, b, c]) {
      expect(x.byteOffset % 8).toBe(0);
      expect([...x].every((v) => v === 0)).toBe(true);
    }
  });

  it("no two arrays share a byte, within one call and across calls", () => {
    const arrays = [...zeroedArrays(["u8", 13], ["i32", 3], ["f64", 2]), ...zeroedArrays(["u8", 1], ["u8", 9])];
    for (const [i, x] of arrays.entries()) new Uint8Array(x.buffer, x.byteOffset, x.byteLength).fill(i + 1);
    for (const [i, x] of arrays.entries()) expect(new Uint8Array(x.buffer, x.byteOffset, x.byteLength).every((v) => v === i + 1)).toBe(true);
  });

  it("a table larger than half a block gets a buffer of its own, of exactly its size", () => {
    const [big] = zeroedArrays(["f64", 300_000]);
    expect(big.byteOffset).toBe(0);
    expect(big.buffer.byteLength).toBe(300_000 * 8);
    const [small1] = zeroedArrays(["i32", 10]);
    const [small2] = zeroedArrays(["i32", 10]);
    expect(small1.buffer).toBe(small2.buffer); // both from the shared block
  });
});
