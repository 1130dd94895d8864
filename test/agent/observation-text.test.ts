/**
 * Observations from code (parseObservation, Agent.observe): control characters and lone
 * surrogates in the text fields are refused with every field at fault listed (issue 16).
 */
import { afterEach, describe, expect, it } from "vitest";
import { ObservationError, observationToFields, parseObservation } from "../../src/agent/observation.js";
import { catchError } from "../catch-error.js";
import { closeAll, startAgent } from "./harness.js";

afterEach(closeAll);

const base = { domain: "hvac", problemClass: "energy-anomaly", outcomeDelta: 0.18, confidence: 0.87, nObservations: 42 };
const paths = (e: ObservationError) => e.problems.map((p) => p.path);

describe("text fields of an observation", () => {
  it("lists every field with a control character or a lone surrogate", () => {
    const e = catchError(
      () => parseObservation({ ...base, domain: "hv\u0000ac", problemClass: "a\ud800", tokens: ["ok", "x\u007f"], conclusion: "esc \u001b" }),
      ObservationError,
    );
    expect(e.code).toBe("ERR_OBSERVATION");
    expect(paths(e)).toEqual(["/domain", "/problemClass", "/tokens/1", "/conclusion"]);
    expect(e.problems[1]!.message).toContain("a lone UTF-16 surrogate U+D800 at index 1");
    expect(e.problems[2]!.message).toContain("the control character U+007F at index 1");
  });

  it("a conclusion may hold tab, LF and CR (and any character that is text); an address part may not", () => {
    const o = parseObservation({ ...base, conclusion: "line 1\nline 2\ttab\r\n😀 ok" });
    expect(observationToFields(o, undefined, 1_795_000_000_000).conclusion).toBe("line 1\nline 2\ttab\r\n😀 ok");
    expect(paths(catchError(() => parseObservation({ ...base, domain: "hvac\n" }), ObservationError))).toEqual(["/domain"]);
    expect(paths(catchError(() => parseObservation({ ...base, conclusion: "C1 \u0085" }), ObservationError))).toEqual(["/conclusion"]);
  });

  it("observationToFields on an unchecked observation refuses with the part's path and the address error as cause", () => {
    const e = catchError(() => observationToFields({ ...base, problemClass: "x\u0000y" }), ObservationError);
    expect(paths(e)).toEqual(["/problemClass"]);
    expect((e.cause as { code: string }).code).toBe("ERR_ADDRESS_CONTROL_CHAR");
  });

  it("Agent.observe refuses, stores nothing, and goes on", async () => {
    const agent = await startAgent();
    const e = catchError(() => agent.observe({ ...base, domain: "hv\u0000ac" }), ObservationError);
    expect(paths(e)).toEqual(["/domain"]);
    expect(agent.observe(base).address).toBe("qis.hvac.energy-anomaly");
    expect(agent.store.size).toBe(1);
  });
});
