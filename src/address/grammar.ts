import { AddressErrorCode, quote } from "./errors.js";

/** The grammar of a semantic address; docs/address.md explains each limit. */
export const ROOT_TOKEN = "qis";
export const MAX_TOKEN_BYTES = 32;
export const MIN_DEPTH = 3;
export const MAX_DEPTH = 8;
/** The packet's `address` field is 96 bytes (docs/packet.md). */
export const MAX_ADDRESS_BYTES = 96;

const EXPECTED_TOKEN = `expected 1..${MAX_TOKEN_BYTES} of [a-z0-9_-], starting and ending with [a-z0-9]`;

/** [a-z0-9]: allowed anywhere in a token, and the only characters allowed at its ends. */
export function isEdgeCode(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39);
}

/** [a-z0-9_-]. */
export function isTokenCode(c: number): boolean {
  return isEdgeCode(c) || c === 0x5f || c === 0x2d;
}

/**
 * The same grammar is spelled two ways: NATS/ZeroMQ (`.`, `*`, `>`) and MQTT (`/`, `+`, `#`).
 * Validating MQTT topics directly, rather than after replacing `/` by `.`, matters: a topic
 * level `a.b` must be refused, not silently become two tokens.
 */
export interface Dialect {
  readonly separator: string;
  readonly separatorCode: number;
  readonly one: string;
  readonly tail: string;
}

export const NATS_DIALECT: Dialect = { separator: ".", separatorCode: 0x2e, one: "*", tail: ">" };
export const MQTT_DIALECT: Dialect = { separator: "/", separatorCode: 0x2f, one: "+", tail: "#" };

export interface SyntaxProblem {
  readonly code: AddressErrorCode;
  readonly message: string;
  readonly token?: string;
  readonly tokenIndex?: number;
}

/** UTF-8 length as TextEncoder would encode it (a lone surrogate becomes U+FFFD, 3 bytes). */
export function utf8ByteLength(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && isLowSurrogate(s.charCodeAt(i + 1))) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/**
 * Checks an address (or, with `allowWildcards`, a pattern) and describes the first problem, or
 * returns null. Checks run in a fixed order so a given input always gets the same code: total
 * length, then each token left to right, then depth. Allocates nothing for a valid input, so
 * `isValidAddress` can call it on a hot path.
 */
export function findSyntaxProblem(
  input: string,
  dialect: Dialect,
  allowWildcards: boolean,
): SyntaxProblem | null {
  const bytes = utf8ByteLength(input);
  if (bytes > MAX_ADDRESS_BYTES) {
    return {
      code: AddressErrorCode.TOO_LONG,
      message: `${quote(input)} is ${bytes} bytes: expected at most ${MAX_ADDRESS_BYTES} UTF-8 bytes`,
    };
  }
  let tokenIndex = 0;
  let start = 0;
  let endsWithTail = false;
  for (let i = 0; i <= input.length; i++) {
    if (i < input.length && input.charCodeAt(i) !== dialect.separatorCode) continue;
    const fault = findTokenFault(input, start, i, tokenIndex, dialect, allowWildcards);
    if (fault !== null) {
      const token = input.slice(start, i);
      const message = `token ${tokenIndex} ${quote(token)} in ${quote(input)}: ${fault.what}`;
      return { code: fault.code, message, token, tokenIndex };
    }
    endsWithTail = i - start === 1 && input[start] === dialect.tail;
    tokenIndex++;
    start = i + 1;
  }
  // A trailing `>` stands for at least one token, so `qis.>` (2 tokens) can still match an
  // address of depth 3; a pattern that could match no valid address is refused.
  const minDepth = endsWithTail ? MIN_DEPTH - 1 : MIN_DEPTH;
  if (tokenIndex < minDepth || tokenIndex > MAX_DEPTH) {
    const expected = endsWithTail
      ? `expected ${minDepth}..${MAX_DEPTH} tokens, the trailing "${dialect.tail}" included`
      : `expected ${MIN_DEPTH}..${MAX_DEPTH} tokens, "${ROOT_TOKEN}" included`;
    return {
      code: AddressErrorCode.DEPTH,
      message: `${quote(input)} has ${tokenIndex} token${tokenIndex === 1 ? "" : "s"}: ${expected}`,
    };
  }
  return null;
}

/** What is wrong with one token: the caller adds the token, its index and the input. */
interface TokenFault {
  readonly code: AddressErrorCode;
  readonly what: string;
}

function findTokenFault(
  input: string,
  start: number,
  end: number,
  tokenIndex: number,
  dialect: Dialect,
  allowWildcards: boolean,
): TokenFault | null {
  const { TOKEN, EMPTY_TOKEN, PREFIX, WILDCARD, PATTERN_WILDCARD } = AddressErrorCode;
  const length = end - start;
  if (length === 0) return { code: EMPTY_TOKEN, what: EXPECTED_TOKEN };
  if (tokenIndex === 0) {
    const isRoot = length === ROOT_TOKEN.length && input.startsWith(ROOT_TOKEN, start);
    return isRoot ? null : { code: PREFIX, what: `expected "${ROOT_TOKEN}" as the first token` };
  }
  const first = input[start];
  if (length === 1 && (first === dialect.one || first === dialect.tail)) {
    if (!allowWildcards) {
      return { code: WILDCARD, what: `wildcards are only allowed in patterns (compilePattern); ${EXPECTED_TOKEN}` };
    }
    if (first === dialect.tail && end !== input.length) {
      return { code: PATTERN_WILDCARD, what: `"${dialect.tail}" is only allowed as the last token` };
    }
    return null;
  }
  for (let i = start; i < end; i++) {
    const c = input.charCodeAt(i);
    if (isTokenCode(c)) continue;
    const ch = String.fromCodePoint(input.codePointAt(i) ?? c);
    if (allowWildcards && (ch === dialect.one || ch === dialect.tail)) {
      const expected = `expected a lone "${dialect.one}" or "${dialect.tail}", or a literal token`;
      return { code: PATTERN_WILDCARD, what: `"${ch}" must be a whole token; ${expected}` };
    }
    return { code: TOKEN, what: `character ${quote(ch)} is not allowed; ${EXPECTED_TOKEN}` };
  }
  if (length > MAX_TOKEN_BYTES) return { code: TOKEN, what: `${length} bytes is too long; ${EXPECTED_TOKEN}` };
  if (!isEdgeCode(input.charCodeAt(start))) {
    return { code: TOKEN, what: `starts with ${quote(first)}; ${EXPECTED_TOKEN}` };
  }
  if (!isEdgeCode(input.charCodeAt(end - 1))) {
    return { code: TOKEN, what: `ends with ${quote(input[end - 1])}; ${EXPECTED_TOKEN}` };
  }
  return null;
}
