/**
 * Validates a PacketFields and writes every field except address_hash and crc32c (the backend's
 * `seal` fills those). Shared by both backends, so their bytes can only differ in the seal.
 */
import { LITTLE_ENDIAN_HOST, writeF32 } from "./bytes.js";
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
import { encodeUtf8Into, UTF8_LONE_SURROGATE } from "./utf8.js";

const U32_MAX = 0xffff_ffff;
const ZERO_PACKET = new Uint8Array(PACKET_SIZE);
/** f32 conversion: store the double, copy the four bytes (wire order on a little-endian host). */
const f32 = new Float32Array(1);
const f32Bytes = new Uint8Array(f32.buffer);

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

// The hot path below is written for V8: the valid case of every check is an inline test, and a
// separate function, reached only on a bad value, works out which error to throw (in the same
// order as always: type, then finiteness, then range). Checks and multi-byte writes are inline
// rather than helpers because TurboFan stops inlining helpers into a function this size: each
// helper left as a call costs a call, and passing a double (a timestamp, a float) to a call
// boxes it, one heap number per packet. No closure, no allocation.

function integerFault(v: unknown, field: string, max: number): never {
  if (typeof v !== "number") throw new FieldFault("ERR_PACKET_TYPE", field, `expected an integer, got ${describe(v)}`);
  if (!Number.isFinite(v)) throw new FieldFault("ERR_PACKET_NOT_FINITE", field, `expected a finite integer, got ${v}`);
  throw new FieldFault("ERR_PACKET_RANGE", field, `expected an integer in 0..${max}, got ${v}`);
}

function realFault(v: unknown, field: string, min: number, max: number): never {
  if (typeof v !== "number") throw new FieldFault("ERR_PACKET_TYPE", field, `expected a number, got ${describe(v)}`);
  if (!Number.isFinite(v)) throw new FieldFault("ERR_PACKET_NOT_FINITE", field, `expected a finite number, got ${v}`);
  throw new FieldFault("ERR_PACKET_RANGE", field, `expected ${min}..${max}, got ${v}`);
}

function contextFault(v: unknown, i: number): never {
  // The field name is built only here, never on the valid path.
  const field = `context[${i}]`;
  if (typeof v !== "number") throw new FieldFault("ERR_PACKET_TYPE", field, `expected a number, got ${describe(v)}`);
  if (!Number.isFinite(v)) throw new FieldFault("ERR_PACKET_NOT_FINITE", field, `expected a finite number, got ${v}`);
  // A finite double beyond the f32 range would be stored as Infinity: refuse it here.
  throw new FieldFault("ERR_PACKET_RANGE", field, `${v} is outside the f32 range`);
}

function bytesFault(v: unknown, field: string, size: number): never {
  throw new FieldFault("ERR_PACKET_TYPE", field, `expected ${size} bytes, got ${describe(v)}`);
}

function bytes(v: unknown, field: string, size: number): Uint8Array {
  if (v instanceof Uint8Array && v.length === size) return v;
  return bytesFault(v, field, size);
}

function zeroOrAbsent(v: unknown, field: string, size: number): void {
  if (v === undefined) return;
  const b = bytes(v, field, size);
  for (let i = 0; i < size; i++) {
    if (b[i] !== 0) throw new FieldFault("ERR_PACKET_RESERVED", field, "must be zero unless the SIGNED flag is set");
  }
}

function textFault(v: unknown, n: number, field: string, max: number): never {
  if (typeof v !== "string") throw new FieldFault("ERR_PACKET_TYPE", field, `expected a string, got ${describe(v)}`);
  if (n === UTF8_LONE_SURROGATE) throw new FieldFault("ERR_PACKET_UTF8", field, "contains a lone UTF-16 surrogate");
  throw new FieldFault("ERR_PACKET_OVERSIZE", field, `longer than ${max} bytes of UTF-8`);
}

/** The signed case: key id and signature are copied as given. Rare, so kept out of writeAll. */
function writeSignature(p: PacketFields, b: Uint8Array, o: number): void {
  if (p.keyId !== undefined) b.set(bytes(p.keyId, "keyId", KEY_ID_SIZE), o + F.key_id);
  if (p.signature !== undefined) b.set(bytes(p.signature, "signature", SIGNATURE_SIZE), o + F.signature);
}

function writeAll(p: PacketFields, b: Uint8Array, o: number): void {
  b[o] = MAGIC[0];
  b[o + 1] = MAGIC[1];
  b[o + 2] = MAGIC[2];
  b[o + 3] = VERSION;

  let flags = 0;
  if (p.flags !== undefined) {
    flags = p.flags;
    if (!(typeof flags === "number" && Number.isInteger(flags) && flags >= 0 && flags <= 0xffff)) integerFault(flags, "flags", 0xffff);
  }
  if ((flags & ~FLAGS_KNOWN) !== 0)
    throw new FieldFault("ERR_PACKET_FLAGS", "flags", `unknown flag bits 0x${(flags & ~FLAGS_KNOWN).toString(16)}`);
  b[o + F.flags] = flags;
  b[o + F.flags + 1] = flags >>> 8;

  if (p.hops !== undefined) {
    const hops = p.hops;
    if (!(typeof hops === "number" && Number.isInteger(hops) && hops >= 0 && hops <= 255)) integerFault(hops, "hops", 255);
    b[o + F.hops] = hops;
  }

  // u64: low word then high word, each little-endian (exact below 2^53).
  const ts = p.timestampMs;
  if (!(typeof ts === "number" && Number.isInteger(ts) && ts >= 0 && ts <= U64_MAX_SAFE)) integerFault(ts, "timestampMs", U64_MAX_SAFE);
  let hi = Math.floor(ts / 0x1_0000_0000);
  let lo = ts - hi * 0x1_0000_0000;
  let at = o + F.timestamp_ms;
  b[at] = lo;
  b[at + 1] = lo >>> 8;
  b[at + 2] = lo >>> 16;
  b[at + 3] = lo >>> 24;
  b[at + 4] = hi;
  b[at + 5] = hi >>> 8;
  b[at + 6] = hi >>> 16;
  b[at + 7] = hi >>> 24;

  const ttl = p.ttlS;
  if (!(typeof ttl === "number" && Number.isInteger(ttl) && ttl >= 0 && ttl <= U32_MAX)) integerFault(ttl, "ttlS", U32_MAX);
  at = o + F.ttl_s;
  b[at] = ttl;
  b[at + 1] = ttl >>> 8;
  b[at + 2] = ttl >>> 16;
  b[at + 3] = ttl >>> 24;

  const nObs = p.nObservations;
  if (!(typeof nObs === "number" && Number.isInteger(nObs) && nObs >= 0 && nObs <= U32_MAX)) integerFault(nObs, "nObservations", U32_MAX);
  at = o + F.n_observations;
  b[at] = nObs;
  b[at + 1] = nObs >>> 8;
  b[at + 2] = nObs >>> 16;
  b[at + 3] = nObs >>> 24;

  // NaN fails both comparisons, and the bounds are finite, so so does +-Infinity.
  const delta = p.outcomeDelta;
  if (!(typeof delta === "number" && delta >= -1 && delta <= 1)) realFault(delta, "outcomeDelta", -1, 1);
  if (LITTLE_ENDIAN_HOST) {
    f32[0] = delta;
    at = o + F.outcome_delta;
    b[at] = f32Bytes[0]!;
    b[at + 1] = f32Bytes[1]!;
    b[at + 2] = f32Bytes[2]!;
    b[at + 3] = f32Bytes[3]!;
  } else writeF32(b, o + F.outcome_delta, delta);
  const confidence = p.confidence;
  if (!(typeof confidence === "number" && confidence >= 0 && confidence <= 1)) realFault(confidence, "confidence", 0, 1);
  if (LITTLE_ENDIAN_HOST) {
    f32[0] = confidence;
    at = o + F.confidence;
    b[at] = f32Bytes[0]!;
    b[at + 1] = f32Bytes[1]!;
    b[at + 2] = f32Bytes[2]!;
    b[at + 3] = f32Bytes[3]!;
  } else writeF32(b, o + F.confidence, confidence);

  const seq = p.seq;
  if (!(typeof seq === "number" && Number.isInteger(seq) && seq >= 0 && seq <= U64_MAX_SAFE)) integerFault(seq, "seq", U64_MAX_SAFE);
  hi = Math.floor(seq / 0x1_0000_0000);
  lo = seq - hi * 0x1_0000_0000;
  at = o + F.seq;
  b[at] = lo;
  b[at + 1] = lo >>> 8;
  b[at + 2] = lo >>> 16;
  b[at + 3] = lo >>> 24;
  b[at + 4] = hi;
  b[at + 5] = hi >>> 8;
  b[at + 6] = hi >>> 16;
  b[at + 7] = hi >>> 24;

  // 16-byte ids: a plain copy is cheaper than TypedArray#set for so few bytes. Every byte is
  // read before any is written, so like `set` it is right even if the source overlaps the slot.
  let id = p.nodeId;
  if (!(id instanceof Uint8Array && id.length === ID_SIZE)) bytesFault(id, "nodeId", ID_SIZE);
  at = o + F.node_id;
  for (let pass = 0; pass < 2; pass++) {
    const w0 = id[0]! | (id[1]! << 8) | (id[2]! << 16) | (id[3]! << 24);
    const w1 = id[4]! | (id[5]! << 8) | (id[6]! << 16) | (id[7]! << 24);
    const w2 = id[8]! | (id[9]! << 8) | (id[10]! << 16) | (id[11]! << 24);
    const w3 = id[12]! | (id[13]! << 8) | (id[14]! << 16) | (id[15]! << 24);
    b[at] = w0;
    b[at + 1] = w0 >>> 8;
    b[at + 2] = w0 >>> 16;
    b[at + 3] = w0 >>> 24;
    b[at + 4] = w1;
    b[at + 5] = w1 >>> 8;
    b[at + 6] = w1 >>> 16;
    b[at + 7] = w1 >>> 24;
    b[at + 8] = w2;
    b[at + 9] = w2 >>> 8;
    b[at + 10] = w2 >>> 16;
    b[at + 11] = w2 >>> 24;
    b[at + 12] = w3;
    b[at + 13] = w3 >>> 8;
    b[at + 14] = w3 >>> 16;
    b[at + 15] = w3 >>> 24;
    // Second pass: the context hash, when given (otherwise it stays zero).
    if (pass === 1 || p.contextHash === undefined) break;
    id = p.contextHash;
    if (!(id instanceof Uint8Array && id.length === ID_SIZE)) bytesFault(id, "contextHash", ID_SIZE);
    at = o + F.context_hash;
  }

  const address = p.address;
  const addressLen = typeof address === "string" ? encodeUtf8Into(address, b, o + F.address, ADDRESS_MAX, false) : -3;
  if (addressLen < 0) textFault(address, addressLen, "address", ADDRESS_MAX);
  if (addressLen === 0) throw new FieldFault("ERR_PACKET_RANGE", "address", "must not be empty");
  b[o + F.address_len] = addressLen;

  const ctx = p.context;
  if (ctx !== undefined) {
    if (ctx === null || typeof ctx !== "object" || typeof ctx.length !== "number")
      throw new FieldFault("ERR_PACKET_TYPE", "context", `expected an array of numbers, got ${describe(ctx)}`);
    if (ctx.length > CONTEXT_MAX)
      throw new FieldFault("ERR_PACKET_OVERSIZE", "context", `at most ${CONTEXT_MAX} values, got ${ctx.length}`);
    for (let i = 0; i < ctx.length; i++) {
      const v = ctx[i];
      // fround of NaN or +-Infinity is not finite either, so one test covers the valid case.
      if (!(typeof v === "number" && Number.isFinite(Math.fround(v)))) contextFault(v, i);
      const to = o + F.context + i * 4;
      if (LITTLE_ENDIAN_HOST) {
        f32[0] = v;
        b[to] = f32Bytes[0]!;
        b[to + 1] = f32Bytes[1]!;
        b[to + 2] = f32Bytes[2]!;
        b[to + 3] = f32Bytes[3]!;
      } else writeF32(b, to, v);
    }
    b[o + F.context_len] = ctx.length;
  }

  if (p.conclusion !== undefined) {
    const conclusion = p.conclusion;
    const n = typeof conclusion === "string" ? encodeUtf8Into(conclusion, b, o + F.conclusion, CONCLUSION_MAX, true) : -3;
    if (n < 0) textFault(conclusion, n, "conclusion", CONCLUSION_MAX);
    b[o + F.conclusion_len] = n;
  }

  if ((flags & FLAG_SIGNED) !== 0) writeSignature(p, b, o);
  else {
    zeroOrAbsent(p.keyId, "keyId", KEY_ID_SIZE);
    zeroOrAbsent(p.signature, "signature", SIGNATURE_SIZE);
  }
}

/**
 * Writes one packet's fields at `offset` (the caller checked the bounds). On a bad field the
 * slot is zeroed again, so no half-written packet is left behind, and a PacketError names it.
 */
export function writeFields(p: PacketFields, b: Uint8Array, o: number, index?: number): void {
  // TypedArray#set from a zero packet: a plain copy, cheaper than fill (a runtime call, and
  // Buffer#fill adds argument parsing in JavaScript).
  b.set(ZERO_PACKET, o);
  try {
    if (p === null || typeof p !== "object") throw new FieldFault("ERR_PACKET_TYPE", "fields", `expected an object, got ${describe(p)}`);
    writeAll(p, b, o);
  } catch (e) {
    b.set(ZERO_PACKET, o);
    if (e instanceof FieldFault) {
      const where = index === undefined ? "" : `packet ${index}: `;
      throw new PacketError(e.code, `${where}${e.field}: ${e.reason}`, { field: e.field, index });
    }
    throw e;
  }
}
