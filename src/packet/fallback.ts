/**
 * The TypeScript implementation of the codec backend: the reference the addon is tested
 * against byte for byte, and what runs where no addon could be built or loaded.
 */
import type { CodecBackend } from "./backend.js";
import { isZero, LITTLE_ENDIAN_HOST, readF32, readI32, readU16, readU32, readU64, VIEW_MIN_BYTES, wordView, writeU32 } from "./bytes.js";
import { crc32c, crc32cPacketWords, crc32cWords } from "./crc32c.js";
import { Verdict } from "./errors.js";
import {
  ADDRESS_MAX,
  CONCLUSION_MAX,
  CONTEXT_MAX,
  CRC_COVERED,
  FLAG_SIGNED,
  FLAGS_KNOWN,
  MAGIC,
  OFFSETS as F,
  PACKET_SIZE,
  U64_MAX_SAFE,
  UNPACK_STRIDE,
  VERSION,
} from "./layout.js";
import { murmur3x86_128 } from "./murmur3.js";
import { packRecords } from "./pack.js";
import { isValidUtf8 } from "./utf8.js";

const hashScratch = new Uint8Array(16);
const hashWords = new Int32Array(hashScratch.buffer);
/** f32 bit patterns: the exponent field (all ones: NaN or infinite), 1.0, and -0. */
const F32_EXPONENT = 0x7f80_0000;
const F32_ONE = 0x3f80_0000;
const F32_MINUS_ZERO = 0x8000_0000 | 0;
/** High word of U64_MAX_SAFE (2^53 - 1 = 0x1FFFFF_FFFFFFFF). */
const U64_HIGH_MAX = Math.floor(U64_MAX_SAFE / 0x1_0000_0000);

/**
 * The field the last failing `verifyPacket` call blamed. A module-level slot rather than a
 * returned object keeps the hot path allocation-free; only error reporting reads it.
 */
export let lastFailedField = "";

function fail(verdict: number, field: string): number {
  lastFailedField = field;
  return verdict;
}

/** The OR of b[from, to): 0 when every byte is zero. */
function orBytes(b: Uint8Array, from: number, to: number): number {
  let acc = 0;
  let i = from;
  for (const end8 = to - 7; i < end8; i += 8) acc |= b[i]! | b[i + 1]! | b[i + 2]! | b[i + 3]! | b[i + 4]! | b[i + 5]! | b[i + 6]! | b[i + 7]!;
  for (; i < to; i++) acc |= b[i]!;
  return acc;
}

/**
 * The OR of the bytes [s, e) of the packet at word j of `w` (s, e relative to the packet, e a
 * multiple of 4): a first word masked to the bytes from s, then whole words. No byte loop: the
 * regions the verifier ORs all end on a word boundary.
 */
function orPacketWords(w: Int32Array, j: number, s: number, e: number): number {
  let k = j + (s >>> 2);
  let acc = (s & 3) === 0 ? 0 : w[k++]! & (-1 << ((s & 3) * 8));
  const end = j + (e >>> 2);
  for (const end4 = end - 3; k < end4; k += 4) acc |= w[k]! | w[k + 1]! | w[k + 2]! | w[k + 3]!;
  for (; k < end; k++) acc |= w[k]!;
  return acc;
}

/** Check 7 failed: name the first region, in the order of docs/packet.md, that is not zero. */
function reservedFault(b: Uint8Array, o: number, flags: number, addressLen: number, contextLen: number, conclusionLen: number): number {
  if (!isZero(b, o + F.reserved0, o + F.address)) return fail(Verdict.RESERVED, "reserved0");
  if (!isZero(b, o + F.address + addressLen, o + F.context)) return fail(Verdict.RESERVED, "address");
  if (!isZero(b, o + F.context + contextLen * 4, o + F.conclusion)) return fail(Verdict.RESERVED, "context");
  if (!isZero(b, o + F.conclusion + conclusionLen, o + F.key_id)) return fail(Verdict.RESERVED, "conclusion");
  if ((flags & FLAG_SIGNED) === 0) {
    if (!isZero(b, o + F.key_id, o + F.signature)) return fail(Verdict.RESERVED, "key_id");
    if (!isZero(b, o + F.signature, o + F.reserved1)) return fail(Verdict.RESERVED, "signature");
  }
  return fail(Verdict.RESERVED, "reserved1");
}

/** An aligned copy of a packet that arrived in its own small buffer, to read it as words. */
const own = new Uint8Array(PACKET_SIZE);
const ownWords = new Int32Array(own.buffer);

/**
 * Address hashes seen recently, direct-mapped: 24 address words, the length, then the 4 hash
 * words. Traffic repeats a handful of addresses, so verify compares ~9 words instead of
 * hashing; a miss hashes and replaces the entry. Length 0 (never a valid address) = empty.
 */
const HASH_CACHE = 64;
const ENTRY = 29;
const hashCache = new Int32Array(HASH_CACHE * ENTRY);

/** Whether the address at word ja (length len, zero-padded: checked) hashes to the 4 words at jh. */
function addressHashMatches(b: Uint8Array, o: number, w: Int32Array, ja: number, len: number, jh: number): boolean {
  const n = (len + 3) >>> 2;
  const e = (((w[ja]! ^ w[ja + n - 1]! ^ Math.imul(len, 0x9e3779b1)) >>> 0) % HASH_CACHE) * ENTRY;
  const c = hashCache;
  let hit = c[e + 24] === len;
  for (let i = 0; hit && i < n; i++) hit = c[e + i] === w[ja + i];
  if (!hit) {
    murmur3x86_128(b, o + F.address, len, hashScratch, 0);
    for (let i = 0; i < n; i++) c[e + i] = w[ja + i]!;
    c[e + 24] = len;
    for (let i = 0; i < 4; i++) c[e + 25 + i] = hashWords[i]!;
  }
  return c[e + 25] === w[jh] && c[e + 26] === w[jh + 1] && c[e + 27] === w[jh + 2] && c[e + 28] === w[jh + 3];
}

/**
 * Runs the checks of docs/packet.md "Verification" (2..11) in order; returns the verdict.
 * `w`, when given, is `wordView(b, o, ...)` and `base` is b.byteOffset: the CRC, the zero and
 * ASCII checks and the hash comparison then read 32-bit words. Same verdict either way.
 */
export function verifyPacket(b: Uint8Array, o: number, w?: Int32Array, base = 0): number {
  // A lone packet in its own buffer: copy it (one memcpy) where it can be read as words.
  if (w === undefined && LITTLE_ENDIAN_HOST && o === 0 && b.length === PACKET_SIZE) {
    own.set(b);
    return verifyPacket(own, 0, ownWords, 0);
  }
  const flags = readU16(b, o + F.flags);
  const addressLen = b[o + F.address_len]!;
  const contextLen = b[o + F.context_len]!;
  const conclusionLen = b[o + F.conclusion_len]!;
  const inBounds = addressLen <= ADDRESS_MAX && contextLen <= CONTEXT_MAX && conclusionLen <= CONCLUSION_MAX;

  // Every byte that must be zero, ORed together (no branch per byte); only when one is not
  // does reservedFault look for the first field at fault. Computed before the CRC (its verdict
  // still comes first): when the padding is zero, the CRC can skip it.
  let nz = 1; // lengths out of bounds: OVERSIZE (after the CRC), regions undefined
  if (inBounds && w === undefined) {
    nz = orBytes(b, o + F.reserved0, o + F.address) | orBytes(b, o + F.address + addressLen, o + F.context);
    nz |= orBytes(b, o + F.context + contextLen * 4, o + F.conclusion);
    // Unsigned, the conclusion padding, key id, signature and reserved1 are one zero run.
    if ((flags & FLAG_SIGNED) === 0) nz |= orBytes(b, o + F.conclusion + conclusionLen, o + F.crc32c);
    else nz |= orBytes(b, o + F.conclusion + conclusionLen, o + F.key_id) | orBytes(b, o + F.reserved1, o + F.crc32c);
  } else if (inBounds && w !== undefined) {
    const j = (base + o) >>> 2;
    nz = orPacketWords(w, j, F.reserved0, F.address) | orPacketWords(w, j, F.address + addressLen, F.context);
    nz |= orPacketWords(w, j, F.context + contextLen * 4, F.conclusion);
    // Unsigned, the conclusion padding, key id, signature and reserved1 are one zero run.
    if ((flags & FLAG_SIGNED) === 0) nz |= orPacketWords(w, j, F.conclusion + conclusionLen, F.crc32c);
    else nz |= orPacketWords(w, j, F.conclusion + conclusionLen, F.key_id) | orPacketWords(w, j, F.reserved1, F.crc32c);
  }

  // Compared as int32 (the CRC functions return one), so no heap number is boxed per packet.
  let crc: number;
  if (w === undefined) crc = crc32c(b, o, CRC_COVERED, 0) | 0;
  else if (nz === 0) crc = crc32cPacketWords(w, (base + o) >>> 2, addressLen, contextLen, conclusionLen, (flags & FLAG_SIGNED) !== 0);
  else crc = crc32cWords(b, w, base, o, CRC_COVERED, 0);
  if (crc !== readI32(b, o + F.crc32c)) return fail(Verdict.CRC, "crc32c");
  if (b[o] !== MAGIC[0] || b[o + 1] !== MAGIC[1] || b[o + 2] !== MAGIC[2]) return fail(Verdict.MAGIC, "magic");
  if (b[o + 3] !== VERSION) return fail(Verdict.VERSION, "magic");
  if ((flags & ~FLAGS_KNOWN) !== 0) return fail(Verdict.FLAGS, "flags");
  if (addressLen > ADDRESS_MAX) return fail(Verdict.OVERSIZE, "address_len");
  if (contextLen > CONTEXT_MAX) return fail(Verdict.OVERSIZE, "context_len");
  if (conclusionLen > CONCLUSION_MAX) return fail(Verdict.OVERSIZE, "conclusion_len");
  if (nz !== 0) return reservedFault(b, o, flags, addressLen, contextLen, conclusionLen);

  // The f32 checks on the bits (exact equivalents of the float tests): no double is made, so
  // none can be boxed however V8 inlines this function.
  const delta = readI32(b, o + F.outcome_delta);
  const confidence = readI32(b, o + F.confidence);
  if ((delta & F32_EXPONENT) === F32_EXPONENT) return fail(Verdict.NOT_FINITE, "outcome_delta");
  if ((confidence & F32_EXPONENT) === F32_EXPONENT) return fail(Verdict.NOT_FINITE, "confidence");
  for (let i = 0; i < contextLen; i++) {
    if ((readI32(b, o + F.context + i * 4) & F32_EXPONENT) === F32_EXPONENT) return fail(Verdict.NOT_FINITE, "context");
  }

  if (addressLen === 0) return fail(Verdict.RANGE, "address_len");
  // |delta| <= 1; confidence >= 0 (or -0) and <= 1.
  if ((delta & 0x7fff_ffff) > F32_ONE) return fail(Verdict.RANGE, "outcome_delta");
  if (confidence > F32_ONE || (confidence < 0 && confidence !== F32_MINUS_ZERO)) return fail(Verdict.RANGE, "confidence");
  // A u64 is above 2^53 - 1 exactly when its high word has a bit above bit 20.
  if ((readI32(b, o + F.timestamp_ms + 4) & ~U64_HIGH_MAX) !== 0) return fail(Verdict.RANGE, "timestamp_ms");
  if ((readI32(b, o + F.seq + 4) & ~U64_HIGH_MAX) !== 0) return fail(Verdict.RANGE, "seq");

  // ASCII (every address, most conclusions) is valid UTF-8: one OR pass settles it.
  // With words: whole words up to the next boundary (the padding after a length is zero).
  const j = (base + o) >>> 2;
  const addressHigh =
    w === undefined ? orBytes(b, o + F.address, o + F.address + addressLen) : orPacketWords(w, j, F.address, F.address + ((addressLen + 3) & ~3));
  if ((addressHigh & 0x80808080) !== 0 && !isValidUtf8(b, o + F.address, addressLen)) return fail(Verdict.UTF8, "address");
  const conclusionHigh =
    w === undefined ? orBytes(b, o + F.conclusion, o + F.conclusion + conclusionLen) : orPacketWords(w, j, F.conclusion, F.conclusion + ((conclusionLen + 3) & ~3));
  if ((conclusionHigh & 0x80808080) !== 0 && !isValidUtf8(b, o + F.conclusion, conclusionLen)) return fail(Verdict.UTF8, "conclusion");

  if (w !== undefined) {
    // Word compares (w exists only on a little-endian host), through the cache.
    if (!addressHashMatches(b, o, w, j + F.address / 4, addressLen, j + F.address_hash / 4)) return fail(Verdict.ADDRESS_HASH, "address_hash");
    return Verdict.OK;
  }
  murmur3x86_128(b, o + F.address, addressLen, hashScratch, 0);
  for (let i = 0; i < 16; i++) {
    if (hashScratch[i] !== b[o + F.address_hash + i]) return fail(Verdict.ADDRESS_HASH, "address_hash");
  }
  return Verdict.OK;
}

/** Int32Array / Float64Array views of the last staging area and string table seen (one each per codec; reused, so encode allocates nothing). */
let lastRecords: Uint8Array | undefined;
let recordWords: Int32Array = new Int32Array(0);
let recordF64: Float64Array = new Float64Array(0);
let lastSlots: Uint8Array | undefined;
let slotWords: Int32Array = new Int32Array(0);

export const fallbackBackend: CodecBackend = {
  name: "fallback",
  crc32c,
  murmur128(buf, offset, length, out) {
    murmur3x86_128(buf, offset, length, out, 0);
  },
  encode(buf, offset, count, records, slots) {
    if (records !== lastRecords) {
      recordWords = new Int32Array(records.buffer, records.byteOffset, records.byteLength >>> 2);
      recordF64 = new Float64Array(records.buffer, records.byteOffset, records.byteLength >>> 3);
      lastRecords = records;
    }
    if (slots !== lastSlots) {
      slotWords = new Int32Array(slots.buffer, slots.byteOffset, slots.byteLength >>> 2);
      lastSlots = slots;
    }
    packRecords(buf, offset, count, recordWords, recordF64, slotWords);
  },
  seal(buf, offset, count) {
    // 32-bit words where wordView allows (see there); a lone packet in a small array: bytes,
    // without even asking (the original loop, so a per-message seal costs what it always did).
    const w = count === 1 && buf.length < VIEW_MIN_BYTES ? undefined : wordView(buf, offset, count * PACKET_SIZE, count === 1);
    if (w === undefined) {
      for (let i = 0, o = offset; i < count; i++, o += PACKET_SIZE) {
        murmur3x86_128(buf, o + F.address, buf[o + F.address_len]!, buf, o + F.address_hash);
        writeU32(buf, o + F.crc32c, crc32c(buf, o, CRC_COVERED, 0));
      }
      return;
    }
    const base = buf.byteOffset;
    for (let i = 0, o = offset; i < count; i++, o += PACKET_SIZE) {
      murmur3x86_128(buf, o + F.address, buf[o + F.address_len]!, buf, o + F.address_hash);
      writeU32(buf, o + F.crc32c, crc32cWords(buf, w, base, o, CRC_COVERED, 0));
    }
  },
  verify(buf, offset, count, codes) {
    const w = count === 1 && buf.length < VIEW_MIN_BYTES ? undefined : wordView(buf, offset, count * PACKET_SIZE, count === 1);
    const base = buf.byteOffset;
    let valid = 0;
    for (let i = 0, o = offset; i < count; i++, o += PACKET_SIZE) {
      const v = verifyPacket(buf, o, w, base);
      codes[i] = v;
      if (v === Verdict.OK) valid++;
    }
    return valid;
  },
  verifyOne(buf, offset) {
    // Small buffers: no view (it would be made per call); verifyPacket copies a lone packet.
    if (buf.length < VIEW_MIN_BYTES) return verifyPacket(buf, offset);
    return verifyPacket(buf, offset, wordView(buf, offset, PACKET_SIZE, true), buf.byteOffset);
  },
  unpack(buf, offset, count, out) {
    for (let i = 0, o = offset, k = 0; i < count; i++, o += PACKET_SIZE, k += UNPACK_STRIDE) {
      out[k] = readU16(buf, o + F.flags);
      out[k + 1] = buf[o + F.hops]!;
      out[k + 2] = readU64(buf, o + F.timestamp_ms);
      out[k + 3] = readU32(buf, o + F.ttl_s);
      out[k + 4] = readU32(buf, o + F.n_observations);
      out[k + 5] = readF32(buf, o + F.outcome_delta);
      out[k + 6] = readF32(buf, o + F.confidence);
      out[k + 7] = readU64(buf, o + F.seq);
      out[k + 8] = buf[o + F.address_len]!;
      out[k + 9] = buf[o + F.context_len]!;
      out[k + 10] = buf[o + F.conclusion_len]!;
    }
  },
};
