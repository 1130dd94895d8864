import { QisError } from "../errors.js";

/**
 * Every code the synthesis engine throws (docs/synth.md, "Errors"). Stable: callers and tests
 * branch on them; messages are for people and may change.
 */
export const SynthErrorCode = {
  /** A configuration key is missing, of the wrong type or out of range; `key`, `expected`, `found` say which. */
  CONFIG: "ERR_SYNTH_CONFIG",
  /** A method argument is wrong (not a Uint8Array, offset out of bounds, not an integer...). */
  ARGUMENT: "ERR_SYNTH_ARGUMENT",
  /** `add`, `sweep` or `drain` was called from inside the engine's own `onEmit` callback. */
  REENTRANT: "ERR_SYNTH_REENTRANT",
  /** The caller's `nextSeq()` returned something that is not an integer in 0..2^53 - 1. */
  SEQ: "ERR_SYNTH_SEQ",
} as const;

export type SynthErrorCode = (typeof SynthErrorCode)[keyof typeof SynthErrorCode];

export interface SynthErrorDetail {
  /** the configuration key or argument at fault */
  key?: string | undefined;
  /** what was expected, in words */
  expected?: string | undefined;
  /** what was found, as text */
  found?: string | undefined;
  cause?: unknown;
}

export class SynthError extends QisError {
  declare readonly code: SynthErrorCode;
  readonly key: string | undefined;
  readonly expected: string | undefined;
  readonly found: string | undefined;

  constructor(code: SynthErrorCode, message: string, detail: SynthErrorDetail = {}) {
    super(code, message, detail.cause === undefined ? undefined : { cause: detail.cause });
    this.key = detail.key;
    this.expected = detail.expected;
    this.found = detail.found;
  }
}

/** A short, one-line description of any value for an error message. */
export function describeValue(v: unknown): string {
  if (v === undefined) return "undefined";
  if (v === null) return "null";
  if (typeof v === "number") return Object.is(v, -0) ? "-0" : String(v);
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === "boolean" || typeof v === "bigint") return `${typeof v} ${String(v)}`;
  if (typeof v === "function") return "a function";
  if (v instanceof Uint8Array) return `a Uint8Array of ${v.length} bytes`;
  if (Array.isArray(v)) return `an array of ${v.length}`;
  return typeof v;
}
