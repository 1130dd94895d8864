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

// The checks below are split in two: a small test of the valid case, which V8 inlines into
// writeAll, and a separate function that works out which error to throw (in the same order
// as before: type, then finiteness, then range), reached only on a bad value.

function integer(v: unknown, field: string, max: number): number {
  if (typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= max) return v;
  return integerFault(v, field, max);
}

function integerFault(v: unknown, field: string, max: number): never {
  if (typeof v !== "number") throw new FieldFault("ERR_PACKET_TYPE", field, `expected an integer, got ${describe(v)}`);
  if (!Number.isFinite(v)) throw new FieldFault("ERR_PACKET_NOT_FINITE", field, `expected a finite integer, got ${v}`);
  throw new FieldFault("ERR_PACKET_RANGE", field, `expected an integer in 0..${max}, got ${v}`);
}

function real(v: unknown, field: string, min: number, max: number): number {
  // NaN fails both comparisons; min and max are finite, so so does +-Infinity.
  if (typeof v === "number" && v >= min && v <= max) return v;
  return realFault(v, field, min, max);
}

function realFault(v: unknown, field: string, min: number, max: number): never {
  if (typeof v !== "number") throw new FieldFault("ERR_PACKET_TYPE", field, `expected a number, got ${describe(v)}`);
  if (!Number.isFinite(v)) throw new FieldFault("ERR_PACKET_NOT_FINITE", field, `expected a finite number, got ${v}`);
  throw new FieldFault("ERR_PACKET_RANGE", field, `expected ${min}..${max}, got ${v}`);
}

/** A context value: a finite number that is still finite as an f32. */
function contextValue(v: unknown, i: number): number {
  // fround of NaN or +-Infinity is not finite either, so one test covers the valid case.
  if (typeof v === "number" && Number.isFinite(Math.fround(v))) return v;
  return contextFault(v, i);
}

function contextFault(v: unknown, i: number): never {
  // The field name is built only here, never on the valid path.
  const field = `context[${i}]`;
  if (typeof v !== "number") throw new FieldFault("ERR_PACKET_TYPE", field, `expected a number, got ${describe(v)}`);
  if (!Number.isFinite(v)) throw new FieldFault("ERR_PACKET_NOT_FINITE", field, `expected a finite number, got ${v}`);
  // A finite double beyond the f32 range would be stored as Infinity: refuse it here.
  throw new FieldFault("ERR_PACKET_RANGE", field, `${v} is outside the f32 range`);
}

function bytes(v: unknown, field: string, size: number): Uint8Array {
  if (v instanceof Uint8Array && v.length === size) return v;
  throw new FieldFault("ERR_PACKET_TYPE", field, `expected ${size} bytes, got ${describe(v)}`);
}

/** Copies a 16-byte id: a plain loop is cheaper than TypedArray#set for so few bytes. */
function copy16(src: Uint8Array, b: Uint8Array, at: number): void {
  for (let i = 0; i < 16; i++) b[at + i] = src[i]!;
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
  if (n < 0) textFault(n, field, max);
  return n;
}

function textFault(n: number, field: string, max: number): never {
  if (n === UTF8_LONE_SURROGATE) throw new FieldFault("ERR_PACKET_UTF8", field, "contains a lone UTF-16 surrogate");
  throw new FieldFault("ERR_PACKET_OVERSIZE", field, `longer than ${max} bytes of UTF-8`);
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
  copy16(bytes(p.nodeId, "nodeId", ID_SIZE), b, o + F.node_id);
  const contextHash = p.contextHash;
  if (contextHash !== undefined) copy16(bytes(contextHash, "contextHash", ID_SIZE), b, o + F.context_hash);

  const addressLen = text(p.address, "address", b, o + F.address, ADDRESS_MAX, false);
  if (addressLen === 0) throw new FieldFault("ERR_PACKET_RANGE", "address", "must not be empty");
  b[o + F.address_len] = addressLen;

  const ctx = p.context;
  if (ctx !== undefined) {
    if (ctx === null || typeof ctx !== "object" || typeof ctx.length !== "number")
      throw new FieldFault("ERR_PACKET_TYPE", "context", `expected an array of numbers, got ${describe(ctx)}`);
    const n = ctx.length;
    if (n > CONTEXT_MAX) throw new FieldFault("ERR_PACKET_OVERSIZE", "context", `at most ${CONTEXT_MAX} values, got ${n}`);
    for (let i = 0, at = o + F.context; i < n; i++, at += 4) writeF32(b, at, contextValue(ctx[i], i));
    b[o + F.context_len] = n;
  }

  const conclusion = p.conclusion;
  if (conclusion !== undefined) b[o + F.conclusion_len] = text(conclusion, "conclusion", b, o + F.conclusion, CONCLUSION_MAX, true);

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
