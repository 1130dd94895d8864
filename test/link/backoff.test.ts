import { describe, expect, it } from "vitest";
import { Backoff } from "../../src/link/uplink/backoff.js";

describe("Backoff", () => {
  it("doubles from minMs up to maxMs, each delay in the upper half of its step, and starts over after reset()", () => {
    const lo = new Backoff(100, 1000, () => 0);
    const hi = new Backoff(100, 1000, () => 0.999999);
    const low = Array.from({ length: 7 }, () => lo.next());
    const high = Array.from({ length: 7 }, () => hi.next());
    expect(low).toEqual([50, 100, 200, 400, 500, 500, 500]);
    expect(high).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
    lo.reset();
    expect(lo.next()).toBe(50);
  });

  it("spreads a fleet: delays of one step differ from client to client", () => {
    const delays = new Set(Array.from({ length: 50 }, () => new Backoff(1000, 30_000).next()));
    expect(delays.size).toBeGreaterThan(20);
    for (const d of delays) expect(d).toBeGreaterThanOrEqual(500);
  });

  it("never overflows after many attempts", () => {
    const b = new Backoff(500, 30_000, () => 1);
    for (let i = 0; i < 10_000; i++) b.next();
    expect(b.next()).toBe(30_000);
  });
});
