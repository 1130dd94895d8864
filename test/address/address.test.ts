import { describe, expect, it } from "vitest";
import { AddressError, buildAddress, isValidAddress, parseAddress } from "../../src/address/index.js";
import { QisError } from "../../src/errors.js";
import { catchAddressError, errorFields } from "./catch-error.js";

const x32 = "x".repeat(32);

describe("buildAddress", () => {
  it.each<[string, string, string[], string]>([
    ["HVAC", "Energy Anomaly", [], "qis.hvac.energy-anomaly"],
    ["IoT", "Predictive Maintenance", ["Bearing Wear"], "qis.iot.predictive-maintenance.bearing-wear"],
    ["hvac", "energy_anomaly", [], "qis.hvac.energy_anomaly"],
    ["Café", "Crème", ["Zone 2", "dp0_1"], "qis.cafe.creme.zone-2.dp0_1"],
    ["a", "b", ["c", "d", "e", "f", "g"], "qis.a.b.c.d.e.f.g"], // 8 tokens, the maximum
    ["qis", "qis", [], "qis.qis.qis"],
  ])("(%j, %j, %j) → %j", (domain, problemClass, extra, expected) => {
    expect(buildAddress(domain, problemClass, extra)).toBe(expected);
  });

  it("treats extra as optional", () => {
    expect(buildAddress("hvac", "energy anomaly")).toBe("qis.hvac.energy-anomaly");
  });

  it("reports a bad part with its position in the address", () => {
    expect(errorFields(catchAddressError(() => buildAddress("!!", "x")))).toEqual({
      code: "ERR_ADDRESS_EMPTY_TOKEN",
      input: "!!",
      token: "",
      tokenIndex: 1,
    });
    expect(errorFields(catchAddressError(() => buildAddress("hvac", "  ")))).toEqual({
      code: "ERR_ADDRESS_EMPTY_TOKEN",
      input: "  ",
      token: "",
      tokenIndex: 2,
    });
    const long = `${x32} y`;
    const error = catchAddressError(() => buildAddress("hvac", "x", ["ok", long]));
    expect(errorFields(error)).toEqual({ code: "ERR_ADDRESS_TOKEN", input: long, token: `${x32}-y`, tokenIndex: 4 });
    expect(error.message).toMatch(/^token 4 "x{32} y" normalises to "x{32}-y", 34 bytes: expected at most 32/);
  });

  it("refuses more than 8 tokens", () => {
    const error = catchAddressError(() => buildAddress("a", "b", ["c", "d", "e", "f", "g", "h"]));
    expect(errorFields(error)).toEqual({ code: "ERR_ADDRESS_DEPTH", input: "qis.a.b.c.d.e.f.g.h" });
    expect(error.message).toBe(`"qis.a.b.c.d.e.f.g.h" has 9 tokens: expected 3..8 tokens, "qis" included`);
  });

  it("refuses a result over 96 bytes", () => {
    const error = catchAddressError(() => buildAddress(x32, x32, [x32]));
    expect(errorFields(error)).toEqual({ code: "ERR_ADDRESS_TOO_LONG", input: `qis.${x32}.${x32}.${x32}` });
    expect(error.message).toBe(`"qis.${x32}.${x32}.${x32}" is 102 bytes: expected at most 96 UTF-8 bytes`);
  });

  it("refuses non-strings", () => {
    expect(errorFields(catchAddressError(() => buildAddress(1 as unknown as string, "x")))).toEqual({
      code: "ERR_ADDRESS_TYPE",
      input: 1,
      tokenIndex: 1,
    });
    expect(errorFields(catchAddressError(() => buildAddress("a", "b", ["c", null as unknown as string])))).toEqual({
      code: "ERR_ADDRESS_TYPE",
      input: null,
      tokenIndex: 4,
    });
    expect(errorFields(catchAddressError(() => buildAddress("a", "b", "c" as unknown as string[])))).toEqual({
      code: "ERR_ADDRESS_TYPE",
      input: "c",
    });
  });
});

describe("parseAddress and isValidAddress", () => {
  it.each<[string, string[]]>([
    ["qis.hvac.energy-anomaly", ["qis", "hvac", "energy-anomaly"]],
    ["qis.iot.predictive-maintenance.bearing-wear", ["qis", "iot", "predictive-maintenance", "bearing-wear"]],
    ["qis.a.b.c.d.e.f.g", ["qis", "a", "b", "c", "d", "e", "f", "g"]],
    ["qis.0.9", ["qis", "0", "9"]],
    ["qis.a--b.c__d", ["qis", "a--b", "c__d"]], // valid, though normalisation never produces `--`
    [`qis.${x32}.${x32}.${"y".repeat(26)}`, ["qis", x32, x32, "y".repeat(26)]], // exactly 96 bytes
  ])("accepts %j", (address, tokens) => {
    expect(parseAddress(address)).toEqual(tokens);
    expect(isValidAddress(address)).toBe(true);
  });

  // [input, code, token, tokenIndex]: one row per way to fail, each code at least once.
  it.each<[string, string, string | undefined, number | undefined]>([
    ["", "ERR_ADDRESS_EMPTY_TOKEN", "", 0],
    [".qis.a.b", "ERR_ADDRESS_EMPTY_TOKEN", "", 0],
    ["qis..a", "ERR_ADDRESS_EMPTY_TOKEN", "", 1],
    ["qis.a.b.", "ERR_ADDRESS_EMPTY_TOKEN", "", 3],
    ["QIS.hvac.x", "ERR_ADDRESS_PREFIX", "QIS", 0],
    ["qi.hvac.x", "ERR_ADDRESS_PREFIX", "qi", 0],
    ["qisx.hvac.x", "ERR_ADDRESS_PREFIX", "qisx", 0],
    ["*.hvac.x", "ERR_ADDRESS_PREFIX", "*", 0],
    ["qis.hvac.Bad!", "ERR_ADDRESS_TOKEN", "Bad!", 2],
    ["qis.hvac.energy anomaly", "ERR_ADDRESS_TOKEN", "energy anomaly", 2],
    ["qis.caf\u00e9.x", "ERR_ADDRESS_TOKEN", "caf\u00e9", 1],
    ["qis.a+b.x", "ERR_ADDRESS_TOKEN", "a+b", 1],
    ["qis.a#.x", "ERR_ADDRESS_TOKEN", "a#", 1],
    ["qis.a/b.x", "ERR_ADDRESS_TOKEN", "a/b", 1],
    ["qis.$sys.x", "ERR_ADDRESS_TOKEN", "$sys", 1],
    ["qis.ab*.x", "ERR_ADDRESS_TOKEN", "ab*", 1],
    ["qis.+.x", "ERR_ADDRESS_TOKEN", "+", 1],
    ["qis.-a.x", "ERR_ADDRESS_TOKEN", "-a", 1],
    ["qis.a_.x", "ERR_ADDRESS_TOKEN", "a_", 1],
    ["qis._.x", "ERR_ADDRESS_TOKEN", "_", 1],
    [`qis.${x32}y.x`, "ERR_ADDRESS_TOKEN", `${x32}y`, 1],
    ["qis.hvac.*", "ERR_ADDRESS_WILDCARD", "*", 2],
    ["qis.hvac.>", "ERR_ADDRESS_WILDCARD", ">", 2],
    ["qis", "ERR_ADDRESS_DEPTH", undefined, undefined],
    ["qis.hvac", "ERR_ADDRESS_DEPTH", undefined, undefined],
    ["qis.a.b.c.d.e.f.g.h", "ERR_ADDRESS_DEPTH", undefined, undefined],
    [`qis.${x32}.${x32}.${"y".repeat(27)}`, "ERR_ADDRESS_TOO_LONG", undefined, undefined],
    // 94 characters but 100 UTF-8 bytes: the limit is on bytes, checked before the tokens.
    [`qis.${x32}.${x32}.${"é".repeat(6)}${"y".repeat(18)}`, "ERR_ADDRESS_TOO_LONG", undefined, undefined],
  ])("refuses %j with %s", (input, code, token, tokenIndex) => {
    const error = catchAddressError(() => parseAddress(input));
    const expected: Record<string, unknown> = { code, input };
    if (token !== undefined) expected["token"] = token;
    if (tokenIndex !== undefined) expected["tokenIndex"] = tokenIndex;
    expect(errorFields(error)).toEqual(expected);
    expect(isValidAddress(input)).toBe(false);
  });

  it("checks in a fixed order: length, then tokens left to right, then depth", () => {
    expect(catchAddressError(() => parseAddress(`Q.${"!".repeat(100)}`)).code).toBe("ERR_ADDRESS_TOO_LONG");
    expect(catchAddressError(() => parseAddress("Q.B!")).code).toBe("ERR_ADDRESS_PREFIX");
    expect(errorFields(catchAddressError(() => parseAddress("qis.a.B.c.d.e.f.g.h.i")))).toMatchObject({
      code: "ERR_ADDRESS_TOKEN",
      tokenIndex: 2,
    });
  });

  it("names the offending token and what was expected", () => {
    expect(catchAddressError(() => parseAddress("qis.hvac.Bad!")).message).toBe(
      `token 2 "Bad!" in "qis.hvac.Bad!": character "B" is not allowed; ` +
        "expected 1..32 of [a-z0-9_-], starting and ending with [a-z0-9]",
    );
    expect(catchAddressError(() => parseAddress("qis.-a.x")).message).toBe(
      `token 1 "-a" in "qis.-a.x": starts with "-"; expected 1..32 of [a-z0-9_-], starting and ending with [a-z0-9]`,
    );
    expect(catchAddressError(() => parseAddress(`qis.${x32}y.x`)).message).toBe(
      `token 1 "${x32}y" in "qis.${x32}y.x": 33 bytes is too long; ` +
        "expected 1..32 of [a-z0-9_-], starting and ending with [a-z0-9]",
    );
    expect(catchAddressError(() => parseAddress("QIS.a.b")).message).toBe(
      `token 0 "QIS" in "QIS.a.b": expected "qis" as the first token`,
    );
    expect(catchAddressError(() => parseAddress("qis.a.*")).message).toBe(
      `token 2 "*" in "qis.a.*": wildcards are only allowed in patterns (compilePattern); ` +
        "expected 1..32 of [a-z0-9_-], starting and ending with [a-z0-9]",
    );
    expect(catchAddressError(() => parseAddress("qis.hvac")).message).toBe(
      `"qis.hvac" has 2 tokens: expected 3..8 tokens, "qis" included`,
    );
  });

  it("names a character outside the BMP whole", () => {
    const error = catchAddressError(() => parseAddress("qis.a\u{1F525}.b"));
    expect(error.message).toMatch(/^token 1 "a🔥" .*character "🔥" is not allowed/);
  });

  it("refuses non-strings with ERR_ADDRESS_TYPE, and isValidAddress says false", () => {
    for (const value of [undefined, null, 42, ["qis", "a", "b"], Object.create(null) as object]) {
      expect(errorFields(catchAddressError(() => parseAddress(value as unknown as string)))).toEqual({
        code: "ERR_ADDRESS_TYPE",
        input: value,
      });
      expect(isValidAddress(value)).toBe(false);
    }
  });

  it("throws an AddressError that is a QisError with a stable name", () => {
    const error = catchAddressError(() => parseAddress("qis"));
    expect(error).toBeInstanceOf(QisError);
    expect(error).toBeInstanceOf(AddressError);
    expect(error.name).toBe("AddressError");
    expect("token" in error).toBe(false);
  });
});
