import { describe, expect, it } from "vitest";
import { bucketToken, bucketTokenToLegacy, legacyBucket, legacyToBucketToken } from "../../src/address/index.js";
import { catchAddressError, errorFields } from "./catch-error.js";

/**
 * Expected values are what CPython 3.11 prints for "%+.1f" % (int(x * 10) / 10), with x the
 * same double as the JavaScript expression. Each row says why it is there.
 */
const PYTHON_BUCKETS: ReadonlyArray<[string, number, string, string]> = [
  ["0.18: 1.7999999999999998 truncates to 1", 0.18, "+0.1", "dp0_1"],
  ["-0.18: truncation is toward zero, not floor", -0.18, "-0.1", "dm0_1"],
  ["0.0", 0.0, "+0.0", "dp0_0"],
  ["-0.0: Python's int(-0.0) is 0, no sign", -0.0, "+0.0", "dp0_0"],
  ["-0.05: int(-0.5) is 0, so Python prints +0.0 (JS Math.trunc gives -0)", -0.05, "+0.0", "dp0_0"],
  ["-0.09999: still inside (-0.1, 0.1)", -0.09999, "+0.0", "dp0_0"],
  ["0.05", 0.05, "+0.0", "dp0_0"],
  ["0.99: 9.9 truncates to 9", 0.99, "+0.9", "dp0_9"],
  ["-0.999", -0.999, "-0.9", "dm0_9"],
  ["1.0, the upper bound", 1.0, "+1.0", "dp1_0"],
  ["-1.0, the lower bound", -1.0, "-1.0", "dm1_0"],
  ["0.1: 0.1 * 10 is exactly 1.0", 0.1, "+0.1", "dp0_1"],
  ["-0.1", -0.1, "-0.1", "dm0_1"],
  ["0.7: 0.7 * 10 is exactly 7.0 (k/10 * 10 === k for every k in -10..10)", 0.7, "+0.7", "dp0_7"],
  ["0.3", 0.3, "+0.3", "dp0_3"],
  ["0.57: 5.699999999999999 truncates to 5", 0.57, "+0.5", "dp0_5"],
  ["0.3 - 0.1 = 0.19999999999999998: lands below 0.2", 0.3 - 0.1, "+0.1", "dp0_1"],
  ["1 - 0.9 = 0.09999999999999998: lands below 0.1", 1 - 0.9, "+0.0", "dp0_0"],
  ["-(0.3 - 0.1)", -(0.3 - 0.1), "-0.1", "dm0_1"],
  ["0.1 + 0.2 = 0.30000000000000004: still 0.3", 0.1 + 0.2, "+0.3", "dp0_3"],
  ["1.1 - 0.4 = 0.7000000000000001, times 10 = 7.000000000000001", 1.1 - 0.4, "+0.7", "dp0_7"],
  ["0.7 * 3 / 3 = 0.6999999999999998: lands below 0.7", (0.7 * 3) / 3, "+0.6", "dp0_6"],
  ["f32 0.7 (a packet's outcome_delta) is 0.699999988079071", Math.fround(0.7), "+0.6", "dp0_6"],
  ["0.9999999999999999", 0.9999999999999999, "+0.9", "dp0_9"],
  ["5e-324, the smallest subnormal", 5e-324, "+0.0", "dp0_0"],
  ["-5e-324", -5e-324, "+0.0", "dp0_0"],
  ["-0.5", -0.5, "-0.5", "dm0_5"],
];

describe("outcome buckets", () => {
  it.each(PYTHON_BUCKETS)("%s", (_why, delta, legacy, token) => {
    expect(legacyBucket(delta)).toBe(legacy);
    expect(bucketToken(delta)).toBe(token);
    expect(bucketTokenToLegacy(token)).toBe(legacy);
    expect(legacyToBucketToken(legacy)).toBe(token);
  });

  it("maps the 21 buckets one-to-one", () => {
    const tokens = new Set<string>();
    for (let tenths = -10; tenths <= 10; tenths++) {
      const token = bucketToken(tenths / 10);
      tokens.add(token);
      expect(legacyToBucketToken(bucketTokenToLegacy(token))).toBe(token);
      expect(bucketTokenToLegacy(token)).toBe(legacyBucket(tenths / 10));
    }
    expect(tokens.size).toBe(21);
  });

  it("accepts the legacy -0.0 some ports print, as the canonical dp0_0", () => {
    expect(legacyToBucketToken("-0.0")).toBe("dp0_0");
  });

  it.each([[1.0000000000000002], [-1.0000000000000002], [2], [Number.NaN], [Infinity], [-Infinity]])(
    "refuses delta %s",
    (delta) => {
      const error = catchAddressError(() => bucketToken(delta));
      expect(errorFields(error)).toEqual({ code: "ERR_BUCKET_DELTA", input: delta });
      expect(catchAddressError(() => legacyBucket(delta)).code).toBe("ERR_BUCKET_DELTA");
    },
  );

  it("refuses a non-number delta", () => {
    expect(errorFields(catchAddressError(() => bucketToken("0.1" as unknown as number)))).toEqual({
      code: "ERR_ADDRESS_TYPE",
      input: "0.1",
    });
  });

  it.each([["dm0_0"], ["dp1_1"], ["dp0_10"], ["d+0.1"], ["dp0.1"], ["DP0_1"], ["dp01"], [""], ["xp0_1"], [" dp0_1"]])(
    "refuses bucket token %j",
    (token) => {
      expect(errorFields(catchAddressError(() => bucketTokenToLegacy(token)))).toEqual({
        code: "ERR_BUCKET_TOKEN",
        input: token,
        token,
      });
    },
  );

  const badLegacy = [["d+0.1"], ["0.1"], ["+0.10"], ["+1.1"], ["-2.0"], ["+.1"], ["+0,1"], [""]];
  it.each(badLegacy)("refuses legacy bucket %j", (legacy) => {
    expect(errorFields(catchAddressError(() => legacyToBucketToken(legacy)))).toEqual({
      code: "ERR_BUCKET_TOKEN",
      input: legacy,
    });
  });

  it("refuses non-string tokens", () => {
    expect(catchAddressError(() => bucketTokenToLegacy(1 as unknown as string)).code).toBe("ERR_ADDRESS_TYPE");
    expect(catchAddressError(() => legacyToBucketToken(undefined as unknown as string)).code).toBe("ERR_ADDRESS_TYPE");
  });
});
