import { describe, expect, it } from "vitest";
import { normalizeToken } from "../../src/address/index.js";
import { catchAddressError, errorFields } from "./catch-error.js";

describe("normalizeToken", () => {
  it.each([
    ["Energy Anomaly", "energy-anomaly"],
    ["energy_anomaly", "energy_anomaly"],
    ["energy-anomaly", "energy-anomaly"],
    ["HVAC", "hvac"],
    // NFKD splits accents off, and the marks are dropped.
    ["Café", "cafe"],
    ["Cafe\u0301", "cafe"], // already decomposed input gives the same token
    ["Ångström Über-Naïve", "angstrom-uber-naive"],
    ["crème brûlée", "creme-brulee"],
    // Compatibility forms fold: ligature, fullwidth letters, circled and superscript digits.
    ["ﬁlter", "filter"],
    ["ＨＶＡＣ", "hvac"],
    ["①②", "12"],
    ["m²", "m2"],
    ["½", "1-2"], // NFKD gives 1 U+2044 2; the fraction slash is outside the charset
    // Locale-independent lower-casing: İ is I + combining dot above under NFKD.
    ["İSTANBUL", "istanbul"],
    ["ISTANBUL", "istanbul"],
    ["Kelvin \u212a", "kelvin-k"], // KELVIN SIGN decomposes to K
    // No decomposition exists for these, so they act as separators.
    ["Straße", "stra-e"],
    ["Æther", "ther"],
    // Spaces of every kind, and runs of separators, collapse to one `-` (tab and newline are
    // control characters: refused, test/address/control-chars.test.ts).
    ["  energy  anomaly  ", "energy-anomaly"],
    ["energy\u00a0anomaly", "energy-anomaly"], // NBSP is NFKD-folded to a space
    ["energy\u3000anomaly", "energy-anomaly"], // ideographic space
    ["a -- b", "a-b"],
    ["a--b", "a-b"],
    ["a.b/c+d#e*f>g$h", "a-b-c-d-e-f-g-h"],
    // `_` is kept as typed, also in runs; only the ends are trimmed.
    ["a__b", "a__b"],
    ["a_-_b", "a_-_b"],
    ["__init__", "init"],
    ["-_x_-", "x"],
    ["Bearing-Wear!", "bearing-wear"],
    ["v2.1", "v2-1"],
    ["日本 energy", "energy"],
    ["x".repeat(32), "x".repeat(32)],
  ])("%j → %j", (raw, expected) => {
    expect(normalizeToken(raw)).toBe(expected);
  });

  it("is idempotent", () => {
    for (const raw of ["Energy Anomaly", "a--b", "__init__", "Café", "a_-_b"]) {
      const once = normalizeToken(raw);
      expect(normalizeToken(once)).toBe(once);
    }
  });

  it.each([[""], ["   "], ["!!!"], ["---"], ["___"], ["日本語"], ["\u0301"]])(
    "refuses %j, which normalises to nothing",
    (raw) => {
      const error = catchAddressError(() => normalizeToken(raw));
      expect(errorFields(error)).toEqual({ code: "ERR_ADDRESS_EMPTY_TOKEN", input: raw, token: "" });
    },
  );

  it("refuses a token over 32 bytes rather than truncating it", () => {
    const raw = "Predictive Maintenance Of Bearings"; // 34 bytes once normalised
    const error = catchAddressError(() => normalizeToken(raw));
    expect(errorFields(error)).toEqual({
      code: "ERR_ADDRESS_TOKEN",
      input: raw,
      token: "predictive-maintenance-of-bearings",
    });
    expect(error.message).toBe(
      `"Predictive Maintenance Of Bearings" normalises to "predictive-maintenance-of-bearings", 34 bytes: ` +
        "expected at most 32 (tokens are never truncated, so that problem types cannot collide)",
    );
  });

  it("measures the length after normalisation, not before", () => {
    expect(normalizeToken(`  ${"x".repeat(32)}  `)).toBe("x".repeat(32));
    expect(normalizeToken("Café".repeat(8))).toBe("cafe".repeat(8)); // 40 UTF-8 bytes in, 32 out
  });

  it("refuses a non-string", () => {
    const error = catchAddressError(() => normalizeToken(42 as unknown as string));
    expect(errorFields(error)).toEqual({ code: "ERR_ADDRESS_TYPE", input: 42 });
  });
});
