/**
 * Validates a PacketFields and writes every field except address_hash and crc32c (the backend's
 * `seal` fills those). Shared by both backends, so their bytes can only differ in the seal.
 */
import { writeF32, writeU16, writeU32, writeU64 } from "./bytes.js";
import { PacketError, type PacketErrorCode } from "./errors.js";
import {
  ADDRESS_MAX,
  CONCLUSION_MAX,
  CONTEXT_MAX,
  FLAG_SIGNED,
  FLAGS_KNOWN,
  ID_SIZE,
  KEY_ID_SIZE,
  MAGIC,
  OFFSETS as F,
  PACKET_SIZE,
  SIGNATURE_SIZE,
  U64_MAX_SAFE,
  VERSION,
} from "./layout.js";
import type { PacketFields } from "./types.js";
import { encodeUtf8Into, UTF8_LONE_SURROGATE, UTF8_TOO_LONG } from "./utf8.js";

const U32_MAX = 0xffff_ffff;

class FieldFault {
  constructor(
    readonly code: PacketErrorCode,
    readonly field: string,
    readonly reason: string,
  ) {}
}

function describe(v: unknown): string {
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (v === null) return "null";
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  return typeof v;
}

function integer(v: unknown, field: string, max: number): number {
  if (typeof v !== "number") throw new FieldFault("ERR_PACKET_TYPE", field, `expected an integer, got ${describe(v)}`);
  if (!Number.isFinite(v)) throw new FieldFault("ERR_PACKET_NOT_FINITE", field, `expected a finite integer, got ${v}`);
  if (!Number.isInteger(v) || v < 0 || v > max)
    throw new FieldFault("ERR_PACKET_RANGE", field, `expected an integer in 0..${max}, got ${v}`);
  return v;
}

function real(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== "number") throw new FieldFault("ERR_PACKET_TYPE", field, `expected a number, got ${describe(v)}`);
  if (!Number.isFinite(v)) throw new FieldFault("ERR_PACKET_NOT_FINITE", field, `expected a finite number, got ${v}`);
  if (!(v >= min && v <= max)) throw new FieldFault("ERR_PACKET_RANGE", field, `expected ${min}..${max}, got ${v}`);
  return v;
}

function bytes(v: unknown, field: string, size: number): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== size)
    throw new FieldFault("ERR_PACKET_TYPE", field, `expected ${size} bytes, got ${describe(v)}`);
  return v;
}

function zeroOrAbsent(v: unknown, field: string, size: number): void {
  if (v === undefined) return;
  const b = bytes(v, field, size);
  for (let i = 0; i < size; i++) {
    if (b[i] !== 0) throw new FieldFault("ERR_PACKET_RESERVED", field, "must be zero unless the SIGNED flag is set");
  }
}

function text(v: unknown, field: string, buf: Uint8Array, at: number, max: number, cut: boolean): number {
  if (typeof v !== "string") throw new FieldFault("ERR_PACKET_TYPE", field, `expected a string, got ${describe(v)}`);
  const n = encodeUtf8Into(v, buf, at, max, cut);
  if (n === UTF8_LONE_SURROGATE) throw new FieldFault("ERR_PACKET_UTF8", field, "contains a lone UTF-16 surrogate");
  if (n === UTF8_TOO_LONG) throw new FieldFault("ERR_PACKET_OVERSIZE", field, `longer than ${max} bytes of UTF-8`);
  return n;
}

function writeAll(p: PacketFields, b: Uint8Array, o: number): void {
  b[o] = MAGIC[0];
  b[o + 1] = MAGIC[1];
  b[o + 2] = MAGIC[2];
  b[o + 3] = VERSION;

  const flags = p.flags === undefined ? 0 : integer(p.flags, "flags", 0xffff);
  if ((flags & ~FLAGS_KNOWN) !== 0)
    throw new FieldFault("ERR_PACKET_FLAGS", "flags", `unknown flag bits 0x${(flags & ~FLAGS_KNOWN).toString(16)}`);
  writeU16(b, o + F.flags, flags);
  b[o + F.hops] = p.hops === undefined ? 0 : integer(p.hops, "hops", 255);
  writeU64(b, o + F.timestamp_ms, integer(p.timestampMs, "timestampMs", U64_MAX_SAFE));
  writeU32(b, o + F.ttl_s, integer(p.ttlS, "ttlS", U32_MAX));
  writeU32(b, o + F.n_observations, integer(p.nObservations, "nObservations", U32_MAX));
  writeF32(b, o + F.outcome_delta, real(p.outcomeDelta, "outcomeDelta", -1, 1));
  writeF32(b, o + F.confidence, real(p.confidence, "confidence", 0, 1));
  writeU64(b, o + F.seq, integer(p.seq, "seq", U64_MAX_SAFE));
  b.set(bytes(p.nodeId, "nodeId", ID_SIZE), o + F.node_id);
  if (p.contextHash !== undefined) b.set(bytes(p.contextHash, "contextHash", ID_SIZE), o + F.context_hash);

  const addressLen = text(p.address, "address", b, o + F.address, ADDRESS_MAX, false);
  if (addressLen === 0) throw new FieldFault("ERR_PACKET_RANGE", "address", "must not be empty");
  b[o + F.address_len] = addressLen;

  const ctx = p.context;
  if (ctx !== undefined) {
    if (ctx === null || typeof ctx !== "object" || typeof ctx.length !== "number")
      throw new FieldFault("ERR_PACKET_TYPE", "context", `expected an array of numbers, got ${describe(ctx)}`);
    if (ctx.length > CONTEXT_MAX)
      throw new FieldFault("ERR_PACKET_OVERSIZE", "context", `at most ${CONTEXT_MAX} values, got ${ctx.length}`);
    for (let i = 0; i < ctx.length; i++) {
      const v = real(ctx[i], `context[${i}]`, -Infinity, Infinity);
      // A finite double beyond the f32 range would be stored as Infinity: refuse it here.
      if (!Number.isFinite(Math.fround(v)))
        throw new FieldFault("ERR_PACKET_RANGE", `context[${i}]`, `${v} is outside the f32 range`);
      writeF32(b, o + F.context + i * 4, v);
    }
    b[o + F.context_len] = ctx.length;
  }

  if (p.conclusion !== undefined)
    b[o + F.conclusion_len] = text(p.conclusion, "conclusion", b, o + F.conclusion, CONCLUSION_MAX, true);

  if ((flags & FLAG_SIGNED) !== 0) {
    if (p.keyId !== undefined) b.set(bytes(p.keyId, "keyId", KEY_ID_SIZE), o + F.key_id);
    if (p.signature !== undefined) b.set(bytes(p.signature, "signature", SIGNATURE_SIZE), o + F.signature);
  } else {
    zeroOrAbsent(p.keyId, "keyId", KEY_ID_SIZE);
    zeroOrAbsent(p.signature, "signature", SIGNATURE_SIZE);
  }
}

/**
 * Writes one packet's fields at `offset` (the caller checked the bounds). On a bad field the
 * slot is zeroed again, so no half-written packet is left behind, and a PacketError names it.
 */
export function writeFields(p: PacketFields, b: Uint8Array, o: number, index?: number): void {
  b.fill(0, o, o + PACKET_SIZE);
  try {
    if (p === null || typeof p !== "object") throw new FieldFault("ERR_PACKET_TYPE", "fields", `expected an object, got ${describe(p)}`);
    writeAll(p, b, o);
  } catch (e) {
    b.fill(0, o, o + PACKET_SIZE);
    if (e instanceof FieldFault) {
      const where = index === undefined ? "" : `packet ${index}: `;
      throw new PacketError(e.code, `${where}${e.field}: ${e.reason}`, { field: e.field, index });
    }
    throw e;
  }
}
