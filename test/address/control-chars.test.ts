/**
 * Free text with a control character (C0, DEL, C1) or a lone surrogate never becomes an address
 * token: it used to be folded into a `-`, so "hv\0ac" gave qis.hv-ac. Refused with its own
 * code, the part's token index and the raw input.
 */
import { describe, expect, it } from "vitest";
import { buildAddress, normalizeToken } from "../../src/address/index.js";
import { catchAddressError, errorFields } from "./catch-error.js";

describe("control characters and lone surrogates in free text", () => {
  it.each([
    ["NUL", "hv\u0000ac", 2, "U+0000"],
    ["tab", "energy\tanomaly", 6, "U+0009"],
    ["line feed", "energy anomaly\n", 14, "U+000A"],
    ["carriage return", "\renergy", 0, "U+000D"],
    ["escape", "\u001b[31mred", 0, "U+001B"],
    ["unit separator", "a\u001fb", 1, "U+001F"],
    ["DEL", "a\u007fb", 1, "U+007F"],
    ["C1 next line", "a\u0085b", 1, "U+0085"],
    ["C1 last", "a\u009fb", 1, "U+009F"],
  ])("%s is ERR_ADDRESS_CONTROL_CHAR", (_label, raw, index, codePoint) => {
    const e = catchAddressError(() => normalizeToken(raw));
    expect(errorFields(e)).toEqual({ code: "ERR_ADDRESS_CONTROL_CHAR", input: raw });
    expect(e.message).toContain(`the control character ${codePoint} at index ${index}`);
  });

  it.each([
    ["a lone high surrogate", "hv\ud800ac", 2],
    ["a lone low surrogate", "\udc00hvac", 0],
    ["a high surrogate at the end", "hvac\ud83d", 4],
    ["two high surrogates", "a\ud83d\ud83d\ude00", 1],
  ])("%s is ERR_ADDRESS_LONE_SURROGATE", (_label, raw, index) => {
    const e = catchAddressError(() => normalizeToken(raw));
    expect(errorFields(e)).toEqual({ code: "ERR_ADDRESS_LONE_SURROGATE", input: raw });
    expect(e.message).toContain(`at index ${index}`);
  });

  it("buildAddress names the part: domain 1, problem class 2, extra 3 + i", () => {
    expect(errorFields(catchAddressError(() => buildAddress("hv\u0000ac", "energy-anomaly")))).toEqual({
      code: "ERR_ADDRESS_CONTROL_CHAR",
      input: "hv\u0000ac",
      tokenIndex: 1,
    });
    expect(errorFields(catchAddressError(() => buildAddress("hvac", "energy\nanomaly")))).toEqual({
      code: "ERR_ADDRESS_CONTROL_CHAR",
      input: "energy\nanomaly",
      tokenIndex: 2,
    });
    expect(errorFields(catchAddressError(() => buildAddress("hvac", "x", ["ok", "b\ud800"])))).toEqual({
      code: "ERR_ADDRESS_LONE_SURROGATE",
      input: "b\ud800",
      tokenIndex: 4,
    });
  });

  it("letters, spaces and punctuation still normalise as documented; paired surrogates are text", () => {
    expect(buildAddress("HVAC", "Energy Anomaly")).toBe("qis.hvac.energy-anomaly");
    expect(normalizeToken("energy\u00a0anomaly")).toBe("energy-anomaly");
    expect(normalizeToken("energy \u2028 anomaly")).toBe("energy-anomaly"); // LINE SEPARATOR is a space (Zl), not a control
    expect(normalizeToken("bearing 😀 wear")).toBe("bearing-wear");
    expect(normalizeToken("a\ufffdb")).toBe("a-b"); // U+FFFD is a character: bad bytes are refused where they are decoded
  });
});
