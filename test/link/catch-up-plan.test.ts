import { describe, expect, it } from "vitest";
import { CatchUpPlan } from "../../src/link/zmq/catch-up-plan.js";

describe("CatchUpPlan", () => {
  it("keeps missed ranges sorted and merges those that touch or overlap", () => {
    const p = new CatchUpPlan();
    expect(p.pending).toBe(false);
    p.gap(100, 164);
    p.gap(10, 20);
    p.gap(164, 200); // touches (100, 164]
    p.gap(15, 30); // overlaps (10, 20]
    p.gap(50, 50); // empty
    expect(p.pending).toBe(true);
    expect(p.take()).toEqual({ full: false, ranges: [[10, 30], [100, 200]] });
    expect(p.pending).toBe(false);
  });

  it("holds at most 32 ranges: beyond, the two with the smallest hole between them are merged", () => {
    const p = new CatchUpPlan();
    for (let i = 0; i < 32; i++) p.gap(i * 100, i * 100 + 10);
    p.gap(3115, 3120); // the 33rd: 5 after (3100, 3110], the others are 90 apart
    const { ranges } = p.take();
    expect(ranges).toHaveLength(32);
    expect(ranges.at(-2)).toEqual([3000, 3010]);
    expect(ranges.at(-1)).toEqual([3100, 3120]);
  });

  it("gives back the work of a catch-up that stopped, merged with what came meanwhile", () => {
    const p = new CatchUpPlan();
    p.needFull();
    p.gap(0, 64);
    const due = p.take();
    p.gap(60, 128);
    p.putBack(due);
    expect(p.take()).toEqual({ full: true, ranges: [[0, 128]] });
  });
});
