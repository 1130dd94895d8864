import { assertSyntax } from "./address.js";
import { AddressError, AddressErrorCode, quote, typeName } from "./errors.js";
import {
  isEdgeCode,
  isTokenCode,
  MAX_ADDRESS_BYTES,
  MAX_DEPTH,
  MAX_TOKEN_BYTES,
  MIN_DEPTH,
  NATS_DIALECT,
} from "./grammar.js";

/**
 * A compiled subscription pattern: NATS syntax, `*` = exactly one token, `>` = one or more
 * trailing tokens. An exact address is a pattern too.
 */
export interface AddressPattern {
  /** The pattern as given (NATS syntax). */
  readonly pattern: string;
  /** The same pattern as a NATS subject; equal to `pattern`. */
  readonly natsSubject: string;
  /** The MQTT topic filter: `/` separators, `*` → `+`, `>` → `#`. */
  readonly mqttFilter: string;
  /**
   * The longest literal prefix, for a ZeroMQ SUB byte-prefix filter: the tokens before the
   * first wildcard with their trailing `.`, or the whole address when there is no wildcard.
   * ZeroMQ delivers everything that starts with it, so `match` must still decide.
   */
  readonly literalPrefix: string;
  /** True when the pattern has no wildcard, i.e. it matches exactly one address. */
  readonly isExact: boolean;
  /** True when `address` is a valid address that the pattern matches; never throws. */
  match(address: string): boolean;
  /**
   * `match` for an address held as ASCII bytes in `buf[offset, offset + length)`, e.g. the
   * address field of a packet. Throws only for a range outside the buffer.
   */
  matchBytes(buf: Uint8Array, offset: number, length: number): boolean;
}

export function compilePattern(pattern: string): AddressPattern {
  assertSyntax(pattern, NATS_DIALECT, true);
  return new CompiledPattern(pattern);
}

const LITERAL = 0;
const ONE = 1;
const TAIL = 2;
const DOT = 0x2e;

class CompiledPattern implements AddressPattern {
  readonly pattern: string;
  readonly natsSubject: string;
  readonly mqttFilter: string;
  readonly literalPrefix: string;
  readonly isExact: boolean;
  // Split once here so that matching walks the address by index and allocates nothing.
  readonly #kinds: Uint8Array;
  readonly #literals: readonly string[];

  constructor(pattern: string) {
    const tokens = pattern.split(".");
    this.pattern = pattern;
    this.natsSubject = pattern;
    this.#kinds = Uint8Array.from(tokens, (t) => (t === "*" ? ONE : t === ">" ? TAIL : LITERAL));
    this.#literals = tokens;
    this.mqttFilter = tokens.map((t) => (t === "*" ? "+" : t === ">" ? "#" : t)).join("/");
    const firstWildcard = this.#kinds.findIndex((kind) => kind !== LITERAL);
    this.isExact = firstWildcard === -1;
    this.literalPrefix = this.isExact ? pattern : `${tokens.slice(0, firstWildcard).join(".")}.`;
  }

  match(address: string): boolean {
    if (typeof address !== "string") return false;
    return matchSource(this.#kinds, this.#literals, address, 0, address.length);
  }

  matchBytes(buf: Uint8Array, offset: number, length: number): boolean {
    if (!(buf instanceof Uint8Array)) {
      const message = `${quote(buf)} has type ${typeName(buf)}: expected a Uint8Array`;
      throw new AddressError(AddressErrorCode.TYPE, message, { input: buf });
    }
    const inBounds =
      Number.isSafeInteger(offset) && Number.isSafeInteger(length) && offset >= 0 && length >= 0 &&
      offset + length <= buf.length;
    if (!inBounds) {
      throw new AddressError(
        AddressErrorCode.OUT_OF_BOUNDS,
        `bytes [${offset}, ${offset} + ${length}) are outside a buffer of ${buf.length} bytes`,
        { input: buf },
      );
    }
    return matchSource(this.#kinds, this.#literals, buf, offset, length);
  }
}

/** One matcher for both representations; an address is ASCII, so a char code is a byte. */
type Source = string | Uint8Array;

function codeAt(src: Source, i: number): number {
  return typeof src === "string" ? src.charCodeAt(i) : (src[i] as number);
}

/**
 * Walks the address once, token by token. Literal tokens are compared in place (a literal
 * matched as a prefix of a longer token, `energy` in `energy-anomaly`, fails on the next
 * character not being `.`); wildcard spans are checked against the token grammar, so an
 * invalid address never matches.
 */
function matchSource(
  kinds: Uint8Array,
  literals: readonly string[],
  src: Source,
  start: number,
  length: number,
): boolean {
  if (length > MAX_ADDRESS_BYTES) return false;
  const end = start + length;
  const last = kinds.length - 1;
  let pos = start;
  for (let ti = 0; ti <= last; ti++) {
    const kind = kinds[ti];
    if (kind === TAIL) return matchTail(src, pos, end, ti);
    if (kind === LITERAL) {
      const literal = literals[ti] as string;
      if (end - pos < literal.length) return false;
      for (let k = 0; k < literal.length; k++) {
        if (codeAt(src, pos + k) !== literal.charCodeAt(k)) return false;
      }
      pos += literal.length;
    } else {
      pos = scanToken(src, pos, end);
      if (pos < 0) return false;
    }
    if (ti === last) return pos === end;
    if (pos === end || codeAt(src, pos) !== DOT) return false;
    pos++;
  }
  return false;
}

/** `>`: one or more valid tokens up to the end, within the depth limit. */
function matchTail(src: Source, pos: number, end: number, tokensBefore: number): boolean {
  let depth = tokensBefore;
  for (;;) {
    const tokenEnd = scanToken(src, pos, end);
    if (tokenEnd < 0 || ++depth > MAX_DEPTH) return false;
    if (tokenEnd === end) return depth >= MIN_DEPTH;
    pos = tokenEnd + 1;
  }
}

/** The end of the valid token starting at `start` (at a `.` or `end`), or -1. */
function scanToken(src: Source, start: number, end: number): number {
  let pos = start;
  while (pos < end) {
    const c = codeAt(src, pos);
    if (c === DOT) break;
    if (!isTokenCode(c)) return -1;
    pos++;
  }
  const length = pos - start;
  if (length === 0 || length > MAX_TOKEN_BYTES) return -1;
  if (!isEdgeCode(codeAt(src, start)) || !isEdgeCode(codeAt(src, pos - 1))) return -1;
  return pos;
}
