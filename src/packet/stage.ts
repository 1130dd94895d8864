/**
 * Encoding, first half: validate a PacketFields and write it into a fixed 216-byte staging
 * record (numbers as typed-array elements, strings as slots of a StringTable). The second half,
 * packing records into 512-byte packets and sealing them, is the backend's `encode`: C in the
 * addon, pack.ts in TypeScript. Both read the same records, so their bytes can only differ if
 * a packer is wrong, which the equivalence tests would see. Staging costs ~4 typed-array
 * stores per field and no byte shuffling; the slow parts of a per-byte JavaScript writer
 * (splitting numbers into bytes, copying characters, zero-filling 512 bytes) move to the packer.
 */
import { PacketError, type PacketErrorCode } from "./errors.js";
import { ADDRESS_MAX, CONCLUSION_MAX, CONTEXT_MAX, FLAG_SIGNED, FLAGS_KNOWN, ID_SIZE, KEY_ID_SIZE, SIGNATURE_SIZE, U64_MAX_SAFE } from "./layout.js";
import { StringTable } from "./intern.js";
import type { PacketFields } from "./types.js";
import { encodeUtf8Into, UTF8_LONE_SURROGATE } from "./utf8.js";

/**
 * Record layout, in bytes (native/encode.h has the same numbers; the loader compares them):
 * f64 timestamp_ms @0, f64 seq @8, u32 flags | hops << 16 | context_len << 24 @16,
 * u32 address slot @20, u32 conclusion slot @24, u32 ttl_s @28, u32 n_observations @32,
 * f32 outcome_delta @36, f32 confidence @40, (zero) @44, node_id @48, context_hash @64,
 * f32 context[16] @80, key_id @144, signature @152 (both read only when SIGNED).
 */
export const STAGE = {
  size: 216,
  timestamp_ms: 0,
  seq: 8,
  head: 16,
  address_slot: 20,
  conclusion_slot: 24,
  ttl_s: 28,
  n_observations: 32,
  outcome_delta: 36,
  confidence: 40,
  node_id: 48,
  context_hash: 64,
  context: 80,
  key_id: 144,
  signature: 152,
} as const;
/** Records per staging area: the batch loop hands the packer this many at a time (27 KiB: stays in L1; one Node-API call per 128 packets). */
export const STAGE_RECORDS = 128;
const W = STAGE.size / 4;
const D = STAGE.size / 8;

const U32_MAX = 0xffff_ffff;
/** Each packet may bring two new strings (address, conclusion). */
export const SLOTS_PER_PACKET = 2;
/** The smallest double that rounds to an infinite f32 (2^128 - 2^103): below it in magnitude, Math.fround is finite. */
const F32_OVERFLOW = 2 ** 128 - 2 ** 103;

/** One staging area: records plus the string table they point into. */
export class Staging {
  readonly bytes = new Uint8Array(STAGE_RECORDS * STAGE.size);
  readonly i32 = new Int32Array(this.bytes.buffer);
  readonly f32 = new Float32Array(this.bytes.buffer);
  readonly f64 = new Float64Array(this.bytes.buffer);
  readonly table = new StringTable();
  /** In use by an encode call (a getter of the caller's object could start another one). */
  busy = false;
  /** The record stageList was on when it threw. */
  at = 0;
}

export class FieldFault {
  constructor(
    readonly code: PacketErrorCode,
    readonly field: string,
    readonly reason: string,
  ) {}
}

/** The PacketError for a FieldFault (anything else is rethrown as it is). */
export function fieldError(e: unknown, index: number | undefined): unknown {
  if (!(e instanceof FieldFault)) return e;
  const where = index === undefined ? "" : `packet ${index}: `;
  return new PacketError(e.code, `${where}${e.field}: ${e.reason}`, { field: e.field, index });
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
// order as always: type, then finiteness, then range). No closure, no allocation, and no double
// passed to a call (that would box it).

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
  const field = `context[${i}]`;
  if (typeof v !== "number") throw new FieldFault("ERR_PACKET_TYPE", field, `expected a number, got ${describe(v)}`);
  if (!Number.isFinite(v)) throw new FieldFault("ERR_PACKET_NOT_FINITE", field, `expected a finite number, got ${v}`);
  // A finite double beyond the f32 range would be stored as Infinity: refuse it here.
  throw new FieldFault("ERR_PACKET_RANGE", field, `${v} is outside the f32 range`);
}

function bytesFault(v: unknown, field: string, size: number): never {
  throw new FieldFault("ERR_PACKET_TYPE", field, `expected ${size} bytes, got ${describe(v)}`);
}

const probe = new Uint8Array(ADDRESS_MAX);

function textFault(v: unknown, slot: number, field: string, max: number): never {
  if (typeof v !== "string") throw new FieldFault("ERR_PACKET_TYPE", field, `expected a string, got ${describe(v)}`);
  // An address that is too long is OVERSIZE even when a lone surrogate follows the 96th byte
  // (the order the checks always had): ask the strict encoder which it meets first.
  if (slot === UTF8_LONE_SURROGATE && (max !== ADDRESS_MAX || encodeUtf8Into(v, probe, 0, ADDRESS_MAX, false) === UTF8_LONE_SURROGATE))
    throw new FieldFault("ERR_PACKET_UTF8", field, "contains a lone UTF-16 surrogate");
  throw new FieldFault("ERR_PACKET_OVERSIZE", field, `longer than ${max} bytes of UTF-8`);
}

/** The value of hex digit `c` (a char code), or -1. */
function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x57 : -1;
}

/**
 * A 16-byte id (nodeId, contextHash) given as 32 hex digits, either case, as the CLI, the docs
 * and packetToJson show it, written as the four words its bytes would give. Off the hot path:
 * reached only when the id is not 16 bytes, so a wrong value of any kind ends here too.
 */
function stageHexId(v: unknown, field: string, w: Int32Array, at: number): void {
  if (typeof v !== "string") throw new FieldFault("ERR_PACKET_TYPE", field, `expected ${ID_SIZE} bytes or ${2 * ID_SIZE} hex digits, got ${describe(v)}`);
  if (v.length !== 2 * ID_SIZE)
    throw new FieldFault("ERR_PACKET_TYPE", field, `expected ${2 * ID_SIZE} hex digits (${ID_SIZE} bytes), got ${v.length} characters: ${describe(v)}`);
  for (let k = 0; k < ID_SIZE / 4; k++) {
    let word = 0;
    for (let j = 0; j < 4; j++) {
      const i = 2 * (4 * k + j);
      const hi = hexDigit(v.charCodeAt(i));
      const lo = hexDigit(v.charCodeAt(i + 1));
      if (hi < 0 || lo < 0) {
        const bad = hi < 0 ? i : i + 1;
        throw new FieldFault("ERR_PACKET_TYPE", field, `expected ${2 * ID_SIZE} hex digits, got ${describe(v)}: character ${bad} ${JSON.stringify(v[bad])} is not 0-9, a-f or A-F`);
      }
      word |= ((hi << 4) | lo) << (8 * j);
    }
    w[at + k] = word;
  }
}

function bytes(v: unknown, field: string, size: number): Uint8Array {
  if (v instanceof Uint8Array && v.length === size) return v;
  return bytesFault(v, field, size);
}

/** The signed case (rare, kept out of stageList): key id and signature as given, else zero. */
function stageSignature(p: PacketFields, st: Staging, r: number): void {
  const at = r * STAGE.size;
  st.bytes.fill(0, at + STAGE.key_id, at + STAGE.signature + SIGNATURE_SIZE);
  if (p.keyId !== undefined) st.bytes.set(bytes(p.keyId, "keyId", KEY_ID_SIZE), at + STAGE.key_id);
  if (p.signature !== undefined) st.bytes.set(bytes(p.signature, "signature", SIGNATURE_SIZE), at + STAGE.signature);
}

function zeroOrAbsent(v: unknown, field: string, size: number): void {
  if (v === undefined) return;
  const b = bytes(v, field, size);
  for (let i = 0; i < size; i++) {
    if (b[i] !== 0) throw new FieldFault("ERR_PACKET_RESERVED", field, "must be zero unless the SIGNED flag is set");
  }
}

/**
 * Validates list[from], list[from + 1], ... and writes them into records 0, 1, ... of `st`,
 * interning their strings in st.table, until `count` are staged or the table has fewer than
 * 2 free slots (each packet may add 2 strings). Returns how many were staged. On a bad packet
 * throws a FieldFault naming its first bad field, in the order of the PacketFields interface;
 * st.at is then its record number. One loop for a whole chunk: the stager is too big for
 * TurboFan to inline, so a call per packet would pay the call and reload the views.
 */
export function stageList(list: readonly PacketFields[], from: number, count: number, st: Staging): number {
  const w = st.i32;
  const f = st.f32;
  const d = st.f64;
  const table = st.table;
  let r = 0;
  for (; r < count && table.free >= SLOTS_PER_PACKET; r++) {
    const p = list[from + r]!;
    st.at = r;
    if (p === null || typeof p !== "object") throw new FieldFault("ERR_PACKET_TYPE", "fields", `expected an object, got ${describe(p)}`);
    const at = r * W;

    let flags = 0;
    if (p.flags !== undefined) {
      flags = p.flags;
      if (!(typeof flags === "number" && Number.isInteger(flags) && flags >= 0 && flags <= 0xffff)) integerFault(flags, "flags", 0xffff);
    }
    if ((flags & ~FLAGS_KNOWN) !== 0)
      throw new FieldFault("ERR_PACKET_FLAGS", "flags", `unknown flag bits 0x${(flags & ~FLAGS_KNOWN).toString(16)}`);
    let hops = 0;
    if (p.hops !== undefined) {
      hops = p.hops;
      if (!(typeof hops === "number" && Number.isInteger(hops) && hops >= 0 && hops <= 255)) integerFault(hops, "hops", 255);
    }
    const ts = p.timestampMs;
    if (!(typeof ts === "number" && Number.isInteger(ts) && ts >= 0 && ts <= U64_MAX_SAFE)) integerFault(ts, "timestampMs", U64_MAX_SAFE);
    d[r * D] = ts;
    const ttl = p.ttlS;
    if (!(typeof ttl === "number" && Number.isInteger(ttl) && ttl >= 0 && ttl <= U32_MAX)) integerFault(ttl, "ttlS", U32_MAX);
    w[at + 7] = ttl;
    const nObs = p.nObservations;
    if (!(typeof nObs === "number" && Number.isInteger(nObs) && nObs >= 0 && nObs <= U32_MAX)) integerFault(nObs, "nObservations", U32_MAX);
    w[at + 8] = nObs;
    // NaN fails both comparisons, and the bounds are finite, so so does +-Infinity.
    const delta = p.outcomeDelta;
    if (!(typeof delta === "number" && delta >= -1 && delta <= 1)) realFault(delta, "outcomeDelta", -1, 1);
    f[at + 9] = delta;
    const confidence = p.confidence;
    if (!(typeof confidence === "number" && confidence >= 0 && confidence <= 1)) realFault(confidence, "confidence", 0, 1);
    f[at + 10] = confidence;
    const seq = p.seq;
    if (!(typeof seq === "number" && Number.isInteger(seq) && seq >= 0 && seq <= U64_MAX_SAFE)) integerFault(seq, "seq", U64_MAX_SAFE);
    d[r * D + 1] = seq;

    // 16-byte ids as four words, written out here: TurboFan does not inline a helper into a
    // function this size, and the call would cost more than the copy.
    const id = p.nodeId;
    if (id instanceof Uint8Array && id.length === ID_SIZE) {
      w[at + 12] = id[0]! | (id[1]! << 8) | (id[2]! << 16) | (id[3]! << 24);
      w[at + 13] = id[4]! | (id[5]! << 8) | (id[6]! << 16) | (id[7]! << 24);
      w[at + 14] = id[8]! | (id[9]! << 8) | (id[10]! << 16) | (id[11]! << 24);
      w[at + 15] = id[12]! | (id[13]! << 8) | (id[14]! << 16) | (id[15]! << 24);
    } else stageHexId(id, "nodeId", w, at + 12);
    const h = p.contextHash;
    if (h === undefined) {
      w[at + 16] = 0;
      w[at + 17] = 0;
      w[at + 18] = 0;
      w[at + 19] = 0;
    } else if (h instanceof Uint8Array && h.length === ID_SIZE) {
      w[at + 16] = h[0]! | (h[1]! << 8) | (h[2]! << 16) | (h[3]! << 24);
      w[at + 17] = h[4]! | (h[5]! << 8) | (h[6]! << 16) | (h[7]! << 24);
      w[at + 18] = h[8]! | (h[9]! << 8) | (h[10]! << 16) | (h[11]! << 24);
      w[at + 19] = h[12]! | (h[13]! << 8) | (h[14]! << 16) | (h[15]! << 24);
    } else stageHexId(h, "contextHash", w, at + 16);

    const address = p.address;
    const slot = typeof address === "string" ? table.intern(address) : -3;
    if (slot < 0) textFault(address, slot, "address", ADDRESS_MAX);
    const addressLen = table.length(slot);
    if (addressLen === 0) throw new FieldFault("ERR_PACKET_RANGE", "address", "must not be empty");
    if (addressLen > ADDRESS_MAX) throw new FieldFault("ERR_PACKET_OVERSIZE", "address", `longer than ${ADDRESS_MAX} bytes of UTF-8`);
    w[at + 5] = slot;

    let contextLen = 0;
    const ctx = p.context;
    if (ctx !== undefined) {
      if (ctx === null || typeof ctx !== "object" || typeof ctx.length !== "number")
        throw new FieldFault("ERR_PACKET_TYPE", "context", `expected an array of numbers, got ${describe(ctx)}`);
      contextLen = ctx.length;
      if (contextLen > CONTEXT_MAX) throw new FieldFault("ERR_PACKET_OVERSIZE", "context", `at most ${CONTEXT_MAX} values, got ${contextLen}`);
      for (let i = 0; i < contextLen; i++) {
        const v = ctx[i];
        // Same as Number.isFinite(Math.fround(v)) without the rounding; NaN fails both tests.
        if (!(typeof v === "number" && v > -F32_OVERFLOW && v < F32_OVERFLOW)) contextFault(v, i);
        f[at + 20 + i] = v as number;
      }
    }

    let conclusionSlot = 0;
    const conclusion = p.conclusion;
    if (conclusion !== undefined) {
      conclusionSlot = typeof conclusion === "string" ? table.intern(conclusion) : -3;
      if (conclusionSlot < 0) textFault(conclusion, conclusionSlot, "conclusion", CONCLUSION_MAX);
    }
    w[at + 6] = conclusionSlot;

    if ((flags & FLAG_SIGNED) !== 0) stageSignature(p, st, r);
    else {
      zeroOrAbsent(p.keyId, "keyId", KEY_ID_SIZE);
      zeroOrAbsent(p.signature, "signature", SIGNATURE_SIZE);
    }
    w[at + 4] = flags | (hops << 16) | (contextLen << 24);
    w[at + 11] = 0;
  }
  return r;
}
