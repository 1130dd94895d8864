import { AddressError, AddressErrorCode, quote, typeName } from "./errors.js";
import { findSyntaxProblem, MAX_DEPTH, NATS_DIALECT, ROOT_TOKEN, type Dialect } from "./grammar.js";
import { normalizePart } from "./normalize.js";

/** Largest `extra` accepted by `buildAddress`: `qis`, domain and problem class take 3 of the 8 tokens. */
export const MAX_EXTRA_TOKENS = MAX_DEPTH - 3;

/**
 * Builds `qis.<domain>.<problemClass>[.<extra>...]` from free text, normalising each part
 * with `normalizeToken`. Parts are normalised left to right, then the whole is validated, so a
 * bad part is reported with its token index (domain 1, problem class 2, extra[i] 3 + i).
 */
export function buildAddress(
  domain: string,
  problemClass: string,
  extra: readonly string[] = [],
): string {
  if (!Array.isArray(extra)) {
    const message = `extra tokens ${quote(extra)} have type ${typeName(extra)}: expected an array of strings`;
    throw new AddressError(AddressErrorCode.TYPE, message, { input: extra });
  }
  const parts: unknown[] = [domain, problemClass, ...extra];
  const tokens = [ROOT_TOKEN];
  for (let i = 0; i < parts.length; i++) tokens.push(normalizePart(parts[i], i + 1));
  const address = tokens.join(".");
  assertSyntax(address, NATS_DIALECT, false);
  return address;
}

/** Validates an address exactly as given (no normalisation) and returns its tokens. */
export function parseAddress(address: string): string[] {
  assertSyntax(address, NATS_DIALECT, false);
  return address.split(".");
}

/** True for a valid address; never throws. Allocates nothing, so it suits a hot path. */
export function isValidAddress(value: unknown): value is string {
  return typeof value === "string" && findSyntaxProblem(value, NATS_DIALECT, false) === null;
}

/** Throws the AddressError describing the first problem of `input`, if any. */
export function assertSyntax(input: unknown, dialect: Dialect, allowWildcards: boolean): asserts input is string {
  const what = allowWildcards ? "pattern" : dialect === NATS_DIALECT ? "address" : "topic";
  if (typeof input !== "string") {
    const message = `${what} ${quote(input)} has type ${typeName(input)}: expected a string`;
    throw new AddressError(AddressErrorCode.TYPE, message, { input });
  }
  const problem = findSyntaxProblem(input, dialect, allowWildcards);
  if (problem === null) return;
  const { code, message, token, tokenIndex } = problem;
  throw new AddressError(code, message, {
    input,
    ...(token === undefined ? {} : { token }),
    ...(tokenIndex === undefined ? {} : { tokenIndex }),
  });
}
