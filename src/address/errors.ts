import { QisError } from "../errors.js";

/**
 * Every code an address-module function throws. Callers and tests branch on these; they are
 * listed with examples in docs/address.md and must not change meaning.
 */
export const AddressErrorCode = {
  /** A value that should be a string (or number, or byte array) is not. */
  TYPE: "ERR_ADDRESS_TYPE",
  /** The address or pattern is longer than 96 UTF-8 bytes. */
  TOO_LONG: "ERR_ADDRESS_TOO_LONG",
  /** A token is empty (`qis..a`, a leading or trailing separator, or free text with no [a-z0-9]). */
  EMPTY_TOKEN: "ERR_ADDRESS_EMPTY_TOKEN",
  /** The first token is not `qis`. */
  PREFIX: "ERR_ADDRESS_PREFIX",
  /** A token has a character outside [a-z0-9_-], is over 32 bytes, or starts/ends with - or _. */
  TOKEN: "ERR_ADDRESS_TOKEN",
  /** A whole-token wildcard (`*`, `>`, MQTT `+`, `#`) where a concrete address is required. */
  WILDCARD: "ERR_ADDRESS_WILDCARD",
  /** Too few or too many tokens (an address has 3..8, `qis` included). */
  DEPTH: "ERR_ADDRESS_DEPTH",
  /** A pattern uses a wildcard wrongly: `>` not last, or `*`/`>` inside a token (`ab*`). */
  PATTERN_WILDCARD: "ERR_PATTERN_WILDCARD",
  /** An outcome delta that is not finite or lies outside -1..1. */
  BUCKET_DELTA: "ERR_BUCKET_DELTA",
  /** A string that is not a canonical bucket token (`dp0_1`) or legacy bucket (`+0.1`). */
  BUCKET_TOKEN: "ERR_BUCKET_TOKEN",
  /** Free text for a token holds a control character (U+0000..U+001F, U+007F..U+009F): a caller's bug, not a separator. */
  CONTROL_CHAR: "ERR_ADDRESS_CONTROL_CHAR",
  /** Free text for a token holds a lone UTF-16 surrogate (not Unicode text: no UTF-8 form). */
  LONE_SURROGATE: "ERR_ADDRESS_LONE_SURROGATE",
  /** `matchBytes` was given an offset/length outside the buffer (same code as the packet layer). */
  OUT_OF_BOUNDS: "ERR_OUT_OF_BOUNDS",
} as const;

export type AddressErrorCode = (typeof AddressErrorCode)[keyof typeof AddressErrorCode];

export interface AddressErrorDetails {
  /** The offending value as given: an address, pattern, topic, free-text part, delta... */
  readonly input: unknown;
  /** The token at fault, when one is. */
  readonly token?: string;
  /** 0-based index of that token in the address (`qis` is 0). */
  readonly tokenIndex?: number;
  readonly cause?: unknown;
}

export class AddressError extends QisError {
  declare readonly code: AddressErrorCode;
  readonly input: unknown;
  // `declare`: with ES2022 class fields a plain declaration would create them as undefined.
  declare readonly token?: string;
  declare readonly tokenIndex?: number;

  constructor(code: AddressErrorCode, message: string, details: AddressErrorDetails) {
    super(code, message, details.cause === undefined ? undefined : { cause: details.cause });
    this.input = details.input;
    // Assigned only when present so that `"token" in err` tells whether a token is at fault.
    if (details.token !== undefined) (this as { token?: string }).token = details.token;
    if (details.tokenIndex !== undefined) (this as { tokenIndex?: number }).tokenIndex = details.tokenIndex;
  }
}

/** Quotes a string for an error message, shortened so that a message stays one line. */
export function quote(value: unknown): string {
  if (typeof value !== "string") return describe(value);
  return JSON.stringify(value.length > 120 ? `${value.slice(0, 117)}...` : value);
}

/** `typeof`, but telling null and arrays apart, for "expected a string" messages. */
export function typeName(value: unknown): string {
  if (value === null) return "null";
  return Array.isArray(value) ? "array" : typeof value;
}

function describe(value: unknown): string {
  if (typeof value === "number" && Object.is(value, -0)) return "-0";
  if (Array.isArray(value)) return "array";
  try {
    const text = String(value);
    return text.length > 120 ? `${text.slice(0, 117)}...` : text;
  } catch {
    // e.g. Object.create(null) has no toString; the message must still be built.
    return `[${typeof value}]`;
  }
}
