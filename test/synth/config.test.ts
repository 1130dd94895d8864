/** Configuration validation: ERR_SYNTH_CONFIG naming the key, what was expected and what was found. */
import { describe, expect, it } from "vitest";
import { QisError } from "../../src/errors.js";
import { SYNTH_DEFAULTS, SynthEngine, SynthError, SynthErrorCode, type SynthConfig } from "../../src/synth/index.js";
import { catchSynthError, OWN } from "./helpers.js";

const make = (c: unknown) => () => new SynthEngine(c as SynthConfig);

describe("configuration", () => {
  it("fills in the documented defaults", () => {
    const e = new SynthEngine({ nodeId: OWN });
    expect(e.config).toMatchObject(SYNTH_DEFAULTS);
    expect(SYNTH_DEFAULTS).toEqual({
      maxAddresses: 1024,
      maxContributions: 16_384,
      maxNodes: 4096,
      maxNodesPerAddress: 32,
      maxHops: 3,
      alertThreshold: 0.6,
      confidenceScale: 10,
      minDelta: 0.05,
      minIntervalMs: 1000,
      minContributors: 2,
      ttlS: 3600,
      seqStart: 0,
    });
    expect(e.config.now).toBe(Date.now);
    // the node id is copied: changing the caller's array later changes nothing
    const id = new Uint8Array(16).fill(1);
    const e2 = new SynthEngine({ nodeId: id });
    id[0] = 9;
    expect(e2.config.nodeId[0]).toBe(1);
  });

  const cases: [string, unknown, string, string][] = [
    ["not an object", null, "(config)", "null"],
    ["no node id", {}, "nodeId", "undefined"],
    ["node id of 15 bytes", { nodeId: new Uint8Array(15) }, "nodeId", "a Uint8Array of 15 bytes"],
    ["unknown key", { nodeId: OWN, maxHop: 3 }, "maxHop", "3"],
    ["maxAddresses 0", { nodeId: OWN, maxAddresses: 0 }, "maxAddresses", "0"],
    ["maxContributions fractional", { nodeId: OWN, maxContributions: 10.5 }, "maxContributions", "10.5"],
    ["maxHops 256", { nodeId: OWN, maxHops: 256 }, "maxHops", "256"],
    ["alertThreshold 1.5", { nodeId: OWN, alertThreshold: 1.5 }, "alertThreshold", "1.5"],
    ["alertThreshold NaN", { nodeId: OWN, alertThreshold: Number.NaN }, "alertThreshold", "NaN"],
    ["confidenceScale 0", { nodeId: OWN, confidenceScale: 0 }, "confidenceScale", "0"],
    ["minDelta as a string", { nodeId: OWN, minDelta: "0.1" }, "minDelta", '"0.1"'],
    ["minIntervalMs negative", { nodeId: OWN, minIntervalMs: -1 }, "minIntervalMs", "-1"],
    ["minContributors above maxNodesPerAddress", { nodeId: OWN, maxNodesPerAddress: 4, minContributors: 5 }, "minContributors", "5"],
    ["ttlS 2^32", { nodeId: OWN, ttlS: 2 ** 32 }, "ttlS", "4294967296"],
    ["now not a function", { nodeId: OWN, now: 5 }, "now", "5"],
    ["seqStart with nextSeq", { nodeId: OWN, nextSeq: () => 1, seqStart: 4 }, "seqStart", "4"],
    ["onEmit not a function", { nodeId: OWN, onEmit: "log" }, "onEmit", '"log"'],
  ];
  it.each(cases)("refuses %s", (_what, config, key, found) => {
    const err = catchSynthError(make(config));
    expect(err).toBeInstanceOf(QisError);
    expect(err.name).toBe("SynthError");
    expect(err).toMatchObject({ code: SynthErrorCode.CONFIG, key, found });
    expect(err.expected).toEqual(expect.any(String));
    expect(err.message).toContain(`config.${key}`);
  });

  it("lowers the default minContributors to maxNodesPerAddress 1", () => {
    expect(new SynthEngine({ nodeId: OWN, maxNodesPerAddress: 1 }).config.minContributors).toBe(1);
  });

  it("SynthError is a QisError with a stable code", () => {
    const err = new SynthError(SynthErrorCode.ARGUMENT, "x", { key: "k" });
    expect(err).toBeInstanceOf(QisError);
    expect(err.code).toBe("ERR_SYNTH_ARGUMENT");
  });
});
