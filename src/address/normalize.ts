import { AddressError, AddressErrorCode, quote, typeName } from "./errors.js";
import { MAX_TOKEN_BYTES } from "./grammar.js";
import { findTextFault, textRule } from "../util/text.js";

// Every character of General Category M (Mn, Mc, Me): after NFKD these are the accents split
// off their base letters, so dropping them turns `Café` into `cafe` instead of `caf-`.
const COMBINING_MARKS = /\p{M}/gu;
// `-` itself is outside the class, so a run such as ` - ` or `--` becomes a single `-`.
const OUTSIDE_TOKEN_CHARS = /[^a-z0-9_]+/g;
const EDGE_SEPARATORS = /^[-_]+|[-_]+$/g;

/**
 * Turns free text into one address token, the same on every device: NFKD, drop combining
 * marks, lower-case (String#toLowerCase, which ignores the locale, so `I` is `i` even under a
 * Turkish locale), every run outside [a-z0-9_] becomes `-`, trim `-`/`_` at both ends.
 * Text holding a control character (tab and newline included) or a lone surrogate is refused.
 * Throws rather than truncating: a cut token could make two problem types share an address.
 */
export function normalizeToken(raw: string): string {
  return normalizePart(raw, undefined);
}

/** `normalizeToken` reporting `tokenIndex` for the position the part takes in an address. */
export function normalizePart(raw: unknown, tokenIndex: number | undefined): string {
  const where = tokenIndex === undefined ? "" : `token ${tokenIndex} `;
  const index = tokenIndex === undefined ? {} : { tokenIndex };
  if (typeof raw !== "string") {
    const message = `${where}${quote(raw)} has type ${typeName(raw)}: expected a string`;
    throw new AddressError(AddressErrorCode.TYPE, message, { input: raw, ...index });
  }
  // Before normalising, which would turn a NUL or a newline into a quiet `-`.
  const fault = findTextFault(raw, "identifier");
  if (fault !== null) {
    const code = fault.kind === "control" ? AddressErrorCode.CONTROL_CHAR : AddressErrorCode.LONE_SURROGATE;
    throw new AddressError(code, `${where}${quote(raw)} contains ${fault.what}: expected text with ${textRule("identifier")}`, { input: raw, ...index });
  }
  const token = raw
    .normalize("NFKD")
    .replace(COMBINING_MARKS, "")
    .toLowerCase()
    .replace(OUTSIDE_TOKEN_CHARS, "-")
    .replace(EDGE_SEPARATORS, "");
  if (token.length === 0) {
    throw new AddressError(
      AddressErrorCode.EMPTY_TOKEN,
      `${where}${quote(raw)} normalises to an empty token: expected at least one of [a-z0-9]`,
      { input: raw, token, ...index },
    );
  }
  // The token is ASCII now, so its length in UTF-16 units is its length in bytes.
  if (token.length > MAX_TOKEN_BYTES) {
    throw new AddressError(
      AddressErrorCode.TOKEN,
      `${where}${quote(raw)} normalises to ${quote(token)}, ${token.length} bytes: ` +
        `expected at most ${MAX_TOKEN_BYTES} (tokens are never truncated, so that problem types cannot collide)`,
      { input: raw, token, ...index },
    );
  }
  return token;
}
