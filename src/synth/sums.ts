/**
 * The arithmetic shared by the per-address estimates and the per-domain consensus: Neumaier
 * compensated sums and the sign tolerance (docs/synth.md, "Precision"). Kept apart so that both
 * tables, and the reference in the tests, agree on the same two constants.
 */

/** Estimates within ±SIGN_EPSILON of 0 have sign 0 (compensated sums may leave ~1e-30 where the exact value is 0). */
export const SIGN_EPSILON = 1e-12;

/**
 * A strength must exceed the alert threshold by more than this: it is a ratio of weighted sums,
 * and 3 equal weights of 5 may come out as 0.6000000000000001, which must not alert where the
 * reference router's 3/5 = 0.6 does not.
 */
export const ALERT_EPSILON = 1e-12;
/**
 * Weights below this (2^-30 ≈ 9.3e-10: a confidence under ~1.3e-9 at n = 1) count as 0. The
 * compensated sums are accurate to about ε²·(Σ|w| ever added) in absolute terms; a floor on
 * each weight keeps that error negligible relative to any non-zero total (docs/synth.md, "Precision").
 */
export const MIN_WEIGHT = 2 ** -30;

/**
 * Neumaier's compensated addition of `sign × src[from + j]` into the pairs (acc[at + 2j] = sum,
 * acc[at + 2j + 1] = compensation) for j < n; a sum's value is acc[at] + acc[at + 1]. Each
 * step's rounding error is captured exactly (Fast2Sum with the larger operand first), so adding
 * and later subtracting the same terms leaves an error of order ε²·Σ|x| rather than n·ε·Σ|x|.
 * Only ints and arrays are passed: a double argument to a call V8 does not inline is boxed.
 */
export function nadd(acc: Float64Array, at: number, src: Float64Array, from: number, n: number, sign: number): void {
  for (let j = 0; j < n; j++) nstep(acc, at + 2 * j, sign * src[from + j]!);
}

/** nadd of three terms (w, w·δ, w·δ²: the per-address hot path), written out: no loop to run. */
export function nadd3(acc: Float64Array, at: number, src: Float64Array, from: number, sign: number): void {
  nstep(acc, at, sign * src[from]!);
  nstep(acc, at + 2, sign * src[from + 1]!);
  nstep(acc, at + 4, sign * src[from + 2]!);
}

/** One compensated step: acc[i] += x, its rounding error into acc[i + 1]. Small enough for V8 to inline. */
function nstep(acc: Float64Array, i: number, x: number): void {
  const s = acc[i]!;
  const t = s + x;
  acc[i + 1] = acc[i + 1]! + (Math.abs(s) >= Math.abs(x) ? s - t + x : x - t + s);
  acc[i] = t;
}

/** ln(1 + n) is looked up for n below this (the weight's log, per packet) */
export const LOG1P_TABLE = 4096;
/** ln(1 + n) for n < LOG1P_TABLE: Math.log1p's doubles, computed once */
export const LOG1P = Float64Array.from({ length: LOG1P_TABLE }, (_, n) => Math.log1p(n));
const POW2_NEG = Float64Array.from({ length: 33 }, (_, k) => 1 / 2 ** k);

/**
 * ln(1 + n) for an integer n in 0..2^32 − 1 (n_observations), within a few ulp of Math.log1p.
 * Beyond the table it is not Math.log1p, whose last bit depends on the libm: the C path of the
 * engine (native/synth.c ln1p_count) does these same double operations in the same order, so
 * both compute the same weight to the bit. Reduction to m = 2^k·f with f in (√½, √2], then
 * ln f = 2·atanh(s), s = (f − 1)/(f + 1), |s| < 0.172: twelve terms of the series
 * 2s·Σ s^2j/(2j + 1) leave a truncation below 1e-17.
 */
export function ln1pCount(n: number): number {
  if (n < LOG1P_TABLE) return LOG1P[n]!;
  let k = 31 - Math.clz32(n);
  let f = (n + 1) * POW2_NEG[k]!;
  if (f > 1.4142135623730951) {
    f = f * 0.5;
    k++;
  }
  const s = (f - 1) / (f + 1);
  const z = s * s;
  let p = 1 / 23;
  p = p * z + 1 / 21;
  p = p * z + 1 / 19;
  p = p * z + 1 / 17;
  p = p * z + 1 / 15;
  p = p * z + 1 / 13;
  p = p * z + 1 / 11;
  p = p * z + 1 / 9;
  p = p * z + 1 / 7;
  p = p * z + 1 / 5;
  p = p * z + 1 / 3;
  p = p * z + 1;
  return k * 0.6931471805599453 + 2 * s * p;
}

export function signOf(e: number): -1 | 0 | 1 {
  return e > SIGN_EPSILON ? 1 : e < -SIGN_EPSILON ? -1 : 0;
}
