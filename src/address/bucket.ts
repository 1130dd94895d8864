import { AddressError, AddressErrorCode, quote, typeName } from "./errors.js";

/**
 * Outcome buckets, compatible with the reference Python ZeroMQ nodes, which put
 * `"d%+.1f" % (int(delta * 10) / 10)` in their topics (`d+0.1`, `d-0.3`, `d+0.0`).
 *
 * Python's int() truncates toward zero and returns an integer, which has no sign for zero, so
 * every delta in (-0.1, 0.1) gives `+0.0`: Python never prints `-0.0` here. JavaScript's
 * Math.trunc(-0.5) is -0, hence the `+ 0` below. The multiplication is the same IEEE-754
 * double operation in both languages, so float artefacts agree: 0.3 - 0.1 is
 * 0.19999999999999998 and lands in `+0.1` on both sides.
 *
 * `+` and `.` cannot appear in a token, so the token spells the sign `p`/`m` and the point `_`:
 * `+0.1` ↔ `dp0_1`, `-0.3` ↔ `dm0_3`, `+0.0` ↔ `dp0_0`, `-1.0` ↔ `dm1_0`. 21 buckets in all.
 */

const BUCKET_TOKEN = /^d([pm])(0_[0-9]|1_0)$/;
const LEGACY_BUCKET = /^([+-])(0\.[0-9]|1\.0)$/;

/** The bucket in tenths, -10..10; +0 for every delta in (-0.1, 0.1). */
function tenths(delta: unknown): number {
  if (typeof delta !== "number") {
    const message = `delta ${quote(delta)} has type ${typeName(delta)}: expected a number`;
    throw new AddressError(AddressErrorCode.TYPE, message, { input: delta });
  }
  if (!Number.isFinite(delta) || delta < -1 || delta > 1) {
    throw new AddressError(AddressErrorCode.BUCKET_DELTA, `delta ${quote(delta)}: expected a finite number in -1..1`, {
      input: delta,
    });
  }
  // `+ 0` turns -0 into +0, as Python's int() does.
  return Math.trunc(delta * 10) + 0;
}

/** `%+.1f` of tenths / 10, built from digits so no float formatting is involved. */
function formatLegacy(t: number): string {
  const magnitude = Math.abs(t);
  return `${t < 0 ? "-" : "+"}${Math.floor(magnitude / 10)}.${magnitude % 10}`;
}

function formatToken(t: number): string {
  const magnitude = Math.abs(t);
  return `d${t < 0 ? "m" : "p"}${Math.floor(magnitude / 10)}_${magnitude % 10}`;
}

/** The address token of a delta's bucket: 0.18 → `dp0_1`, -0.35 → `dm0_3`, -0.05 → `dp0_0`. */
export function bucketToken(delta: number): string {
  return formatToken(tenths(delta));
}

/** The bucket as the reference nodes print it, without their `d`: 0.18 → `+0.1`. */
export function legacyBucket(delta: number): string {
  return formatLegacy(tenths(delta));
}

/** `dp0_1` → `+0.1`. Only canonical tokens: `dm0_0` is refused, since no delta produces it. */
export function bucketTokenToLegacy(token: string): string {
  const match = typeof token === "string" ? BUCKET_TOKEN.exec(token) : null;
  if (match === null || token === "dm0_0") {
    throw bucketTokenError(token, `expected a bucket token dp0_0, dp0_1..dp1_0 or dm0_1..dm1_0`, true);
  }
  return `${match[1] === "m" ? "-" : "+"}${(match[2] ?? "").replace("_", ".")}`;
}

/**
 * `+0.1` → `dp0_1`, the inverse of `bucketTokenToLegacy`. Also accepts `-0.0` (mapped to
 * `dp0_0`): the reference formula never prints it, but a port that keeps a float's sign would.
 */
export function legacyToBucketToken(legacy: string): string {
  const match = typeof legacy === "string" ? LEGACY_BUCKET.exec(legacy) : null;
  if (match === null) {
    throw bucketTokenError(legacy, `expected a legacy bucket "%+.1f" in -1.0..+1.0, such as "+0.1" or "-0.3"`, false);
  }
  const digits = (match[2] ?? "").replace(".", "_");
  return `d${match[1] === "-" && digits !== "0_0" ? "m" : "p"}${digits}`;
}

function bucketTokenError(input: unknown, expected: string, isToken: boolean): AddressError {
  if (typeof input !== "string") {
    return new AddressError(AddressErrorCode.TYPE, `${quote(input)} has type ${typeName(input)}: expected a string`, {
      input,
    });
  }
  return new AddressError(AddressErrorCode.BUCKET_TOKEN, `${quote(input)}: ${expected}`, {
    input,
    ...(isToken ? { token: input } : {}),
  });
}
