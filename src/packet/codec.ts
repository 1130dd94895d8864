/**
 * The packet codec API. Callers own every buffer; nothing here allocates per packet on the
 * success path (errors and the `decodePacket` convenience do). Each operation uses the faster
 * backend for it, measured by bench/codec.js (see BENCHMARKS.md).
 */
import type { CodecBackend } from "./backend.js";
import { PacketError, Verdict, verdictCode } from "./errors.js";
import { fallbackBackend, lastFailedField, verifyPacket as explainFallback } from "./fallback.js";
import { PACKET_SIZE, UNPACK_STRIDE } from "./layout.js";
import { nativeBackend, nativeStatus } from "./native.js";
import { readPacket } from "./read.js";
import type { Packet, PacketFields } from "./types.js";
import { encodeList, encodeOne } from "./write.js";

function checkBuffer(buf: unknown, what: string): asserts buf is Uint8Array {
  if (!(buf instanceof Uint8Array)) throw new PacketError("ERR_PACKET_TYPE", `${what}: expected a Uint8Array or Buffer`);
}

function checkBounds(buf: Uint8Array, offset: number, count: number, what: string): void {
  if (!Number.isInteger(offset) || offset < 0 || !Number.isInteger(count) || count < 0 || offset + count * PACKET_SIZE > buf.length) {
    throw new PacketError(
      "ERR_OUT_OF_BOUNDS",
      `${what}: Out of bounds: ${count} packet(s) of ${PACKET_SIZE} bytes at offset ${offset} do not fit in ${buf.length} bytes`,
    );
  }
}

function wholePackets(buf: Uint8Array, what: string): number {
  if (buf.length % PACKET_SIZE !== 0)
    throw new PacketError("ERR_PACKET_LENGTH", `${what}: ${buf.length} bytes is not a whole number of ${PACKET_SIZE}-byte packets`);
  return buf.length / PACKET_SIZE;
}

/** The error for a packet whose verdict is not OK: code from the verdict, field from the TS checks. */
export function verdictError(buf: Uint8Array, offset: number, verdict: number, index?: number): PacketError {
  const code = verdictCode(verdict);
  if (code === "OK") throw new RangeError("verdictError called for a valid packet");
  // Re-run the TypeScript checks only to name the field; they reach the same verdict.
  const field = explainFallback(buf, offset) === verdict ? lastFailedField : undefined;
  const where = index === undefined ? "" : `packet ${index}: `;
  return new PacketError(code, `${where}${REASONS[code]}${field === undefined ? "" : ` (field ${field})`}`, { field, index });
}

const REASONS: Record<Exclude<ReturnType<typeof verdictCode>, "OK">, string> = {
  ERR_PACKET_LENGTH: "not 512 bytes",
  ERR_PACKET_CRC: "CRC-32C mismatch: the packet is corrupt",
  ERR_PACKET_MAGIC: "bad magic: not a qis-edge packet",
  ERR_PACKET_VERSION: "unknown packet format version",
  ERR_PACKET_FLAGS: "unknown flag bits set",
  ERR_PACKET_OVERSIZE: "a length field exceeds its bound",
  ERR_PACKET_RESERVED: "a reserved or padding byte is not zero",
  ERR_PACKET_NOT_FINITE: "a number is NaN or infinite",
  ERR_PACKET_RANGE: "a number is out of its range",
  ERR_PACKET_UTF8: "invalid UTF-8",
  ERR_PACKET_ADDRESS_HASH: "address_hash does not match the address",
};

/**
 * Below this many packets an unpack is cheaper in JavaScript than the fixed cost of a Node-API
 * call (measured crossover 3-4 packets, BENCHMARKS.md).
 */
export const UNPACK_NATIVE_FROM = 4;

export interface CodecOps {
  /** the backend that packs and seals a single `encode` (the JavaScript stage is shared) */
  sealOne: CodecBackend;
  /** the same for `encodeBatch` */
  sealBatch: CodecBackend;
  verifyOne: CodecBackend;
  verifyBatch: CodecBackend;
  /** unpack of fewer than UNPACK_NATIVE_FROM packets */
  unpackFew: CodecBackend;
  unpackBatch: CodecBackend;
  crc32c: CodecBackend;
}

/** The packet codec over a chosen backend per operation. */
export class PacketCodec {
  constructor(readonly ops: CodecOps) {}

  /** A codec that uses one backend for everything (tests, benchmarks). */
  static using(backend: CodecBackend): PacketCodec {
    return new PacketCodec({
      sealOne: backend,
      sealBatch: backend,
      verifyOne: backend,
      verifyBatch: backend,
      unpackFew: backend,
      unpackBatch: backend,
      crc32c: backend,
    });
  }

  /** Encodes one packet into buf[offset, offset+512). */
  encode(fields: PacketFields, buf: Uint8Array, offset = 0): void {
    checkBuffer(buf, "encode");
    checkBounds(buf, offset, 1, "encode");
    encodeOne(this.ops.sealOne, fields, buf, offset);
  }

  /**
   * Encodes list.length packets back to back from `offset`; the first bad one throws (with its
   * index), after the packets before it were written and sealed, and leaves its slot zeroed.
   */
  encodeBatch(list: readonly PacketFields[], buf: Uint8Array, offset = 0): void {
    checkBuffer(buf, "encodeBatch");
    checkBounds(buf, offset, list.length, "encodeBatch");
    encodeList(this.ops.sealBatch, list, buf, offset);
  }

  /** The verdict number of the packet at `offset` (0 = valid); never throws for bytes in bounds. */
  verdict(buf: Uint8Array, offset = 0): number {
    checkBuffer(buf, "verdict");
    checkBounds(buf, offset, 1, "verdict");
    return this.ops.verifyOne.verifyOne(buf, offset);
  }

  /**
   * Throws a PacketError unless the packet is valid. Without `offset`, `buf` must be exactly
   * one packet (ERR_PACKET_LENGTH otherwise); with it, the 512 bytes at `offset`.
   */
  verify(buf: Uint8Array, offset?: number): void {
    checkBuffer(buf, "verify");
    if (offset === undefined && buf.length !== PACKET_SIZE)
      throw new PacketError("ERR_PACKET_LENGTH", `expected exactly ${PACKET_SIZE} bytes, got ${buf.length}`);
    const at = offset ?? 0;
    checkBounds(buf, at, 1, "verify");
    const v = this.ops.verifyOne.verifyOne(buf, at);
    if (v !== Verdict.OK) throw verdictError(buf, at, v);
  }

  /**
   * Verifies a batch (buf.length a multiple of 512). Each packet's verdict goes into `codes`
   * (caller-owned, at least one byte per packet); returns how many are valid.
   */
  verifyBatch(buf: Uint8Array, codes: Uint8Array): number {
    checkBuffer(buf, "verifyBatch");
    const count = wholePackets(buf, "verifyBatch");
    if (!(codes instanceof Uint8Array) || codes.length < count)
      throw new PacketError("ERR_OUT_OF_BOUNDS", `verifyBatch: codes must be a Uint8Array of at least ${count} bytes`);
    return this.ops.verifyBatch.verify(buf, 0, count, codes);
  }

  /** Numeric fields of `count` verified packets at `offset` into `out` (UNPACK_STRIDE per packet). */
  unpack(buf: Uint8Array, offset: number, count: number, out: Float64Array): void {
    checkBuffer(buf, "unpack");
    checkBounds(buf, offset, count, "unpack");
    if (!(out instanceof Float64Array) || out.length < count * UNPACK_STRIDE)
      throw new PacketError("ERR_OUT_OF_BOUNDS", `unpack: out must be a Float64Array of at least ${count * UNPACK_STRIDE} numbers`);
    (count < UNPACK_NATIVE_FROM ? this.ops.unpackFew : this.ops.unpackBatch).unpack(buf, offset, count, out);
  }

  /** Verifies and decodes one packet into a fresh object (same length rules as `verify`). */
  decode(buf: Uint8Array, offset?: number): Packet {
    this.verify(buf, offset);
    return readPacket(buf, offset ?? 0);
  }

  crc32c(buf: Uint8Array, offset = 0, length = buf.length - offset, seed = 0): number {
    checkBuffer(buf, "crc32c");
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > buf.length)
      throw new PacketError("ERR_OUT_OF_BOUNDS", `crc32c: Out of bounds: ${length} bytes at ${offset} in ${buf.length}`);
    return this.ops.crc32c.crc32c(buf, offset, length, seed >>> 0);
  }
}

export const backends: { native: CodecBackend | null; fallback: CodecBackend } = {
  native: nativeBackend,
  fallback: fallbackBackend,
};

/**
 * The default codec: per operation, the faster backend as measured by bench/codec.js
 * (BENCHMARKS.md, "Faster backend per codec operation"). Native wins everything but an
 * unpack of a few packets, where the fixed cost of a Node-API call exceeds the work.
 */
function defaultOps(native: CodecBackend | null): CodecOps {
  const fast = native ?? fallbackBackend;
  return {
    sealOne: fast,
    sealBatch: fast,
    verifyOne: fast,
    verifyBatch: fast,
    unpackFew: fallbackBackend,
    unpackBatch: fast,
    crc32c: fast,
  };
}

export const codec: PacketCodec = new PacketCodec(defaultOps(nativeBackend));

export function codecInfo(): { native: boolean; reason: string; crc: string; ops: Record<keyof CodecOps, string> } {
  const ops = Object.fromEntries(Object.entries(codec.ops).map(([op, b]) => [op, (b as CodecBackend).name])) as Record<
    keyof CodecOps,
    string
  >;
  return { native: nativeStatus.loaded, reason: nativeStatus.reason, crc: nativeStatus.crc || "table (TypeScript)", ops };
}
