/**
 * The arithmetic shared by the per-address estimates and the per-domain consensus: Neumaier
 * compensated sums and the sign tolerance (docs/synth.md, "Precision"). Kept apart so that both
 * tables, and the reference in the tests, agree on the same two constants.
 */

/** Estimates within ±SIGN_EPSILON of 0 have sign 0 (compensated sums may leave ~1e-30 where the exact value is 0). */
export const SIGN_EPSILON = 1e-12;
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

export function signOf(e: number): -1 | 0 | 1 {
  return e > SIGN_EPSILON ? 1 : e < -SIGN_EPSILON ? -1 : 0;
}
