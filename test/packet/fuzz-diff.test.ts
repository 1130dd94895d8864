/**
 * The differential fuzzer's smoke run (issue 19): 100,000 mutated packets through the C and
 * TypeScript paths with identical verdicts and fields, and the legacy decoder producing only
 * packets both accept. `npm run fuzz` runs it (and libFuzzer with sanitizers) for longer.
 */
import { describe, expect, it } from "vitest";
import { runDifferential } from "./fuzz-diff.js";

describe("differential fuzzing", () => {
  it("C and TypeScript agree on 100,000 mutated packets; legacy decoding yields only valid packets", () => {
    const r = runDifferential(100_000, 19);
    expect(r.mismatch).toBeNull();
    expect(r.inputs).toBe(100_000);
    // The mutations reach every check, and enough survive to exercise unpack and legacy.
    expect(Object.keys(r.verdicts).length).toBeGreaterThanOrEqual(8);
    expect(r.valid).toBeGreaterThan(1000);
    expect(r.legacyDecoded).toBeGreaterThan(500);
    expect(r.legacyDecoded).toBeLessThan(r.legacyInputs);
  }, 60_000);
});
