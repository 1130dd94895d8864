import { QisError } from "../errors.js";

/**
 * Verdict numbers shared with the addon (`enum qis_verdict` in native/packet.h), in the order
 * the checks run. Index = number, value = the stable error code.
 */
export const VERDICT_CODES = [
  "OK",
  "ERR_PACKET_LENGTH",
  "ERR_PACKET_CRC",
  "ERR_PACKET_MAGIC",
  "ERR_PACKET_VERSION",
  "ERR_PACKET_FLAGS",
  "ERR_PACKET_OVERSIZE",
  "ERR_PACKET_RESERVED",
  "ERR_PACKET_NOT_FINITE",
  "ERR_PACKET_RANGE",
  "ERR_PACKET_UTF8",
  "ERR_PACKET_ADDRESS_HASH",
] as const;

export const Verdict = {
  OK: 0,
  LENGTH: 1,
  CRC: 2,
  MAGIC: 3,
  VERSION: 4,
  FLAGS: 5,
  OVERSIZE: 6,
  RESERVED: 7,
  NOT_FINITE: 8,
  RANGE: 9,
  UTF8: 10,
  ADDRESS_HASH: 11,
} as const;

export type VerdictCode = (typeof VERDICT_CODES)[number];

/** Codes a PacketError can carry: the verdicts, plus two that only the TypeScript side raises. */
export type PacketErrorCode =
  | Exclude<VerdictCode, "OK">
  /** a read or write past the end of the caller's buffer */
  | "ERR_OUT_OF_BOUNDS"
  /** encode: a field is missing or of the wrong JavaScript type */
  | "ERR_PACKET_TYPE"
  /** an agent's signature check refused it (src/security/; not a codec verdict: it needs the trusted keys) */
  | "ERR_PACKET_SIGNATURE";

export interface PacketErrorDetail {
  /** the field at fault, named as in docs/packet.md (or the input field when encoding) */
  field?: string | undefined;
  /** index of the packet in its batch */
  index?: number | undefined;
  cause?: unknown;
}

export class PacketError extends QisError {
  declare readonly code: PacketErrorCode;
  readonly field: string | undefined;
  readonly index: number | undefined;

  constructor(code: PacketErrorCode, message: string, detail: PacketErrorDetail = {}) {
    super(code, message, detail.cause === undefined ? undefined : { cause: detail.cause });
    this.field = detail.field;
    this.index = detail.index;
  }
}

export function verdictCode(verdict: number): VerdictCode {
  const code = VERDICT_CODES[verdict];
  if (code === undefined) throw new RangeError(`unknown packet verdict ${verdict}`);
  return code;
}
