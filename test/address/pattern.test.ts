import { describe, expect, it } from "vitest";
import { compilePattern } from "../../src/address/index.js";
import { catchAddressError, errorFields } from "./catch-error.js";

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

describe("compilePattern: derived forms", () => {
  it.each<[string, string, string, boolean]>([
    // [pattern, literalPrefix, mqttFilter, isExact]
    ["qis.hvac.energy-anomaly", "qis.hvac.energy-anomaly", "qis/hvac/energy-anomaly", true],
    ["qis.iot.predictive-maintenance.>", "qis.iot.predictive-maintenance.", "qis/iot/predictive-maintenance/#", false],
    ["qis.*.energy-anomaly", "qis.", "qis/+/energy-anomaly", false],
    ["qis.hvac.*", "qis.hvac.", "qis/hvac/+", false],
    ["qis.hvac.*.>", "qis.hvac.", "qis/hvac/+/#", false],
    ["qis.>", "qis.", "qis/#", false],
    ["qis.*.*", "qis.", "qis/+/+", false],
    ["qis.a.*.c.*", "qis.a.", "qis/a/+/c/+", false],
  ])("%j", (pattern, literalPrefix, mqttFilter, isExact) => {
    const compiled = compilePattern(pattern);
    expect({
      pattern: compiled.pattern,
      natsSubject: compiled.natsSubject,
      literalPrefix: compiled.literalPrefix,
      mqttFilter: compiled.mqttFilter,
      isExact: compiled.isExact,
    }).toEqual({ pattern, natsSubject: pattern, literalPrefix, mqttFilter, isExact });
  });
});

describe("compilePattern: errors", () => {
  it.each<[string, string, string | undefined, number | undefined]>([
    ["qis.a.>.b", "ERR_PATTERN_WILDCARD", ">", 2],
    ["qis.>.>", "ERR_PATTERN_WILDCARD", ">", 1],
    ["qis.a.ab*", "ERR_PATTERN_WILDCARD", "ab*", 2],
    ["qis.a.*b", "ERR_PATTERN_WILDCARD", "*b", 2],
    ["qis.a.**", "ERR_PATTERN_WILDCARD", "**", 2],
    ["qis.a.>>", "ERR_PATTERN_WILDCARD", ">>", 2],
    ["qis.a.b>", "ERR_PATTERN_WILDCARD", "b>", 2],
    ["qis.a.+", "ERR_ADDRESS_TOKEN", "+", 2], // MQTT wildcards are just bad characters here
    ["qis.a.#", "ERR_ADDRESS_TOKEN", "#", 2],
    ["qis.a.B*", "ERR_ADDRESS_TOKEN", "B*", 2], // the first bad character decides
    ["*.a.b", "ERR_ADDRESS_PREFIX", "*", 0],
    [">", "ERR_ADDRESS_PREFIX", ">", 0],
    ["qis.*", "ERR_ADDRESS_DEPTH", undefined, undefined], // matches only depth 2: nothing
    ["qis", "ERR_ADDRESS_DEPTH", undefined, undefined],
    ["qis.a.b.c.d.e.f.g.>", "ERR_ADDRESS_DEPTH", undefined, undefined], // would need depth ≥ 9
    ["qis.a..>", "ERR_ADDRESS_EMPTY_TOKEN", "", 2],
    [`qis.${"x".repeat(32)}.${"x".repeat(32)}.${"x".repeat(25)}.>`, "ERR_ADDRESS_TOO_LONG", undefined, undefined],
  ])("refuses %j with %s", (pattern, code, token, tokenIndex) => {
    const expected: Record<string, unknown> = { code, input: pattern };
    if (token !== undefined) expected["token"] = token;
    if (tokenIndex !== undefined) expected["tokenIndex"] = tokenIndex;
    expect(errorFields(catchAddressError(() => compilePattern(pattern)))).toEqual(expected);
  });

  it("explains a misplaced wildcard", () => {
    expect(catchAddressError(() => compilePattern("qis.a.>.b")).message).toBe(
      `token 2 ">" in "qis.a.>.b": ">" is only allowed as the last token`,
    );
    expect(catchAddressError(() => compilePattern("qis.a.ab*")).message).toBe(
      `token 2 "ab*" in "qis.a.ab*": "*" must be a whole token; expected a lone "*" or ">", or a literal token`,
    );
    expect(catchAddressError(() => compilePattern("qis.a.b.c.d.e.f.g.>")).message).toBe(
      `"qis.a.b.c.d.e.f.g.>" has 9 tokens: expected 2..8 tokens, the trailing ">" included`,
    );
  });

  it("refuses a non-string", () => {
    expect(errorFields(catchAddressError(() => compilePattern(7 as unknown as string)))).toEqual({
      code: "ERR_ADDRESS_TYPE",
      input: 7,
    });
  });
});

describe("AddressPattern.match", () => {
  // [pattern, address, matches]
  it.each<[string, string, boolean]>([
    ["qis.hvac.energy-anomaly", "qis.hvac.energy-anomaly", true],
    // A ZeroMQ prefix filter `qis.hvac.energy` also delivers these: only the matcher decides.
    ["qis.hvac.energy", "qis.hvac.energy-anomaly", false],
    ["qis.hvac.energy", "qis.hvac.energy.more", false],
    ["qis.hvac.energy-anomaly", "qis.hvac.energy", false],
    ["qis.hvac.*", "qis.hvac.energy", true],
    ["qis.hvac.*", "qis.hvac.energy.more", false],
    ["qis.*.energy-anomaly", "qis.hvac.energy-anomaly", true],
    ["qis.*.energy-anomaly", "qis.iot.energy-anomaly", true],
    ["qis.*.energy-anomaly", "qis.hvac.energy-anomaly-2", false],
    ["qis.*.energy-anomaly", "qis.hvac.x.energy-anomaly", false],
    // `>` needs at least one token, so it never matches its parent (unlike MQTT's `#`).
    ["qis.iot.predictive-maintenance.>", "qis.iot.predictive-maintenance", false],
    ["qis.iot.predictive-maintenance.>", "qis.iot.predictive-maintenance.bearing-wear", true],
    ["qis.iot.predictive-maintenance.>", "qis.iot.predictive-maintenance.bearing-wear.dp0_1", true],
    ["qis.iot.predictive-maintenance.>", "qis.iot.predictive-maintenance-x.bearing-wear", false],
    ["qis.a.>", "qis.a", false],
    ["qis.>", "qis.a.b", true],
    ["qis.>", "qis.a.b.c.d.e.f.g", true],
    ["qis.a.b.c.d.e.f.>", "qis.a.b.c.d.e.f.g", true],
    // Matching implies a valid address: wildcards never stand for invalid tokens or depths.
    ["qis.>", "qis.a", false],
    ["qis.>", "qis.a.b.c.d.e.f.g.h", false],
    ["qis.a.>", "qis.a.b.", false],
    ["qis.a.>", "qis.a.b..c", false],
    ["qis.a.>", "qis.a.B", false],
    ["qis.a.>", `qis.a.${"x".repeat(33)}`, false],
    ["qis.a.>", "qis.a.-b", false],
    ["qis.a.>", "qis.a.b_", false],
    ["qis.*.b", "qis..b", false],
    ["qis.*.b", "qis.café.b", false],
    ["qis.*.b", "qis.*.b", false],
    ["qis.a.*", `qis.a.${"x".repeat(32)}`, true],
    ["qis.a.>", `qis.a.${"x".repeat(32)}.${"x".repeat(32)}.${"x".repeat(24)}`, true], // 96 bytes
    ["qis.a.>", `qis.a.${"x".repeat(32)}.${"x".repeat(32)}.${"x".repeat(25)}`, false], // 97 bytes
    ["qis.a.b", "QIS.a.b", false],
    ["qis.a.b", "", false],
  ])("%j vs %j → %s", (pattern, address, expected) => {
    const compiled = compilePattern(pattern);
    expect(compiled.match(address)).toBe(expected);
    expect(compiled.matchBytes(ascii(address), 0, ascii(address).length)).toBe(expected);
    if (expected) expect(address.startsWith(compiled.literalPrefix)).toBe(true);
  });

  it("returns false for a non-string rather than throwing", () => {
    expect(compilePattern("qis.>").match(undefined as unknown as string)).toBe(false);
  });
});

describe("AddressPattern.matchBytes", () => {
  it("matches an address inside a larger buffer, as in a packet's address field", () => {
    const packet = new Uint8Array(512);
    const address = ascii("qis.hvac.energy-anomaly");
    packet.set(address, 96);
    packet[95] = 0x71; // bytes around the field must not leak into the match
    packet[96 + address.length] = 0x2e;
    expect(compilePattern("qis.hvac.*").matchBytes(packet, 96, address.length)).toBe(true);
    expect(compilePattern("qis.hvac.energy-anomaly").matchBytes(packet, 96, address.length)).toBe(true);
    expect(compilePattern("qis.hvac.energy-anomaly").matchBytes(packet, 96, address.length + 1)).toBe(false);
    expect(compilePattern("qis.hvac.*").matchBytes(packet, 96, address.length - 1)).toBe(true); // "...anomal"
    expect(compilePattern("qis.hvac.*").matchBytes(packet, 95, address.length)).toBe(false);
    expect(compilePattern("qis.>").matchBytes(packet, 96, 0)).toBe(false);
  });

  it("works on a Buffer and rejects non-ASCII bytes", () => {
    expect(compilePattern("qis.*.b").matchBytes(Buffer.from("qis.a.b"), 0, 7)).toBe(true);
    expect(compilePattern("qis.*.b").matchBytes(Buffer.from("qis.é.b"), 0, 8)).toBe(false);
    expect(compilePattern("qis.*.b").matchBytes(Uint8Array.of(0x71, 0x69, 0x73, 0x2e, 0xe1, 0x2e, 0x62), 0, 7)).toBe(
      false,
    );
  });

  it.each<[number, number]>([
    [-1, 3],
    [0, 11],
    [8, 3],
    [0, -1],
    [0.5, 3],
    [Number.NaN, 3],
  ])("refuses offset %s, length %s outside a 10-byte buffer", (offset, length) => {
    const error = catchAddressError(() => compilePattern("qis.>").matchBytes(new Uint8Array(10), offset, length));
    expect(error.code).toBe("ERR_OUT_OF_BOUNDS");
  });

  it("refuses a buffer that is not a Uint8Array", () => {
    const error = catchAddressError(() => compilePattern("qis.>").matchBytes("qis.a.b" as unknown as Uint8Array, 0, 7));
    expect(error.code).toBe("ERR_ADDRESS_TYPE");
  });
});
