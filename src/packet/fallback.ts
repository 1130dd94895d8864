/**
 * The TypeScript implementation of the codec backend: the reference the addon is tested
 * against byte for byte, and what runs where no addon could be built or loaded.
 */
import type { CodecBackend } from "./backend.js";
import { isZero, readF32, readU16, readU32, readU64, VIEW_MIN_BYTES, wordView, writeU32 } from "./bytes.js";
import { crc32c, crc32cWords } from "./crc32c.js";
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
import { isValidUtf8 } from "./utf8.js";

const hashScratch = new Uint8Array(16);
const hashWords = new Int32Array(hashScratch.buffer);
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

/** orBytes through `w` = wordView(b, ...), base = b.byteOffset: bytes up to a word boundary, words, the rest. */
function orWords(b: Uint8Array, w: Int32Array, base: number, from: number, to: number): number {
  let acc = 0;
  let i = from;
  for (; i < to && ((base + i) & 3) !== 0; i++) acc |= b[i]!;
  let j = (base + i) >>> 2;
  for (const end16 = to - 15; i < end16; i += 16, j += 4) acc |= w[j]! | w[j + 1]! | w[j + 2]! | w[j + 3]!;
  for (const end4 = to - 3; i < end4; i += 4, j++) acc |= w[j]!;
  for (; i < to; i++) acc |= b[i]!;
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

/**
 * Runs the checks of docs/packet.md "Verification" (2..11) in order; returns the verdict.
 * `w`, when given, is `wordView(b, o, ...)` and `base` is b.byteOffset: the CRC, the zero and
 * ASCII checks and the hash comparison then read 32-bit words. Same verdict either way.
 */
export function verifyPacket(b: Uint8Array, o: number, w?: Int32Array, base = 0): number {
  // Compared as int32 (crc32cWords returns one), so no heap number is boxed per packet.
  const crc = w === undefined ? crc32c(b, o, CRC_COVERED, 0) | 0 : crc32cWords(b, w, base, o, CRC_COVERED, 0);
  if (crc !== (readU32(b, o + F.crc32c) | 0)) return fail(Verdict.CRC, "crc32c");
  if (b[o] !== MAGIC[0] || b[o + 1] !== MAGIC[1] || b[o + 2] !== MAGIC[2]) return fail(Verdict.MAGIC, "magic");
  if (b[o + 3] !== VERSION) return fail(Verdict.VERSION, "magic");
  const flags = readU16(b, o + F.flags);
  if ((flags & ~FLAGS_KNOWN) !== 0) return fail(Verdict.FLAGS, "flags");

  const addressLen = b[o + F.address_len]!;
  const contextLen = b[o + F.context_len]!;
  const conclusionLen = b[o + F.conclusion_len]!;
  if (addressLen > ADDRESS_MAX) return fail(Verdict.OVERSIZE, "address_len");
  if (contextLen > CONTEXT_MAX) return fail(Verdict.OVERSIZE, "context_len");
  if (conclusionLen > CONCLUSION_MAX) return fail(Verdict.OVERSIZE, "conclusion_len");

  // Every byte that must be zero, ORed together (no branch per byte); only when one is not
  // does reservedFault look for the first field at fault.
  let nz: number;
  if (w === undefined) {
    nz = orBytes(b, o + F.reserved0, o + F.address) | orBytes(b, o + F.address + addressLen, o + F.context);
    nz |= orBytes(b, o + F.context + contextLen * 4, o + F.conclusion) | orBytes(b, o + F.conclusion + conclusionLen, o + F.key_id);
    nz |= (flags & FLAG_SIGNED) === 0 ? orBytes(b, o + F.key_id, o + F.crc32c) : orBytes(b, o + F.reserved1, o + F.crc32c);
  } else {
    nz = orWords(b, w, base, o + F.reserved0, o + F.address) | orWords(b, w, base, o + F.address + addressLen, o + F.context);
    nz |= orWords(b, w, base, o + F.context + contextLen * 4, o + F.conclusion) | orWords(b, w, base, o + F.conclusion + conclusionLen, o + F.key_id);
    nz |= (flags & FLAG_SIGNED) === 0 ? orWords(b, w, base, o + F.key_id, o + F.crc32c) : orWords(b, w, base, o + F.reserved1, o + F.crc32c);
  }
  if (nz !== 0) return reservedFault(b, o, flags, addressLen, contextLen, conclusionLen);

  const delta = readF32(b, o + F.outcome_delta);
  const confidence = readF32(b, o + F.confidence);
  if (!Number.isFinite(delta)) return fail(Verdict.NOT_FINITE, "outcome_delta");
  if (!Number.isFinite(confidence)) return fail(Verdict.NOT_FINITE, "confidence");
  for (let i = 0; i < contextLen; i++) {
    if (!Number.isFinite(readF32(b, o + F.context + i * 4))) return fail(Verdict.NOT_FINITE, "context");
  }

  if (addressLen === 0) return fail(Verdict.RANGE, "address_len");
  if (!(delta >= -1 && delta <= 1)) return fail(Verdict.RANGE, "outcome_delta");
  if (!(confidence >= 0 && confidence <= 1)) return fail(Verdict.RANGE, "confidence");
  // A u64 is above 2^53 - 1 exactly when its high word is above 2^21 - 1 (tested on the word:
  // no double is built, so none is boxed).
  if (readU32(b, o + F.timestamp_ms + 4) > U64_HIGH_MAX) return fail(Verdict.RANGE, "timestamp_ms");
  if (readU32(b, o + F.seq + 4) > U64_HIGH_MAX) return fail(Verdict.RANGE, "seq");

  // ASCII (every address, most conclusions) is valid UTF-8: one OR pass settles it.
  const addressHigh = w === undefined ? orBytes(b, o + F.address, o + F.address + addressLen) : orWords(b, w, base, o + F.address, o + F.address + addressLen);
  if ((addressHigh & 0x80808080) !== 0 && !isValidUtf8(b, o + F.address, addressLen)) return fail(Verdict.UTF8, "address");
  const conclusionHigh =
    w === undefined ? orBytes(b, o + F.conclusion, o + F.conclusion + conclusionLen) : orWords(b, w, base, o + F.conclusion, o + F.conclusion + conclusionLen);
  if ((conclusionHigh & 0x80808080) !== 0 && !isValidUtf8(b, o + F.conclusion, conclusionLen)) return fail(Verdict.UTF8, "conclusion");

  murmur3x86_128(b, o + F.address, addressLen, hashScratch, 0);
  if (w !== undefined) {
    // Four word compares (w exists only on a little-endian host, where hashWords are LE too).
    const j = (base + o + F.address_hash) >>> 2;
    if (hashWords[0] !== w[j] || hashWords[1] !== w[j + 1] || hashWords[2] !== w[j + 2] || hashWords[3] !== w[j + 3])
      return fail(Verdict.ADDRESS_HASH, "address_hash");
    return Verdict.OK;
  }
  for (let i = 0; i < 16; i++) {
    if (hashScratch[i] !== b[o + F.address_hash + i]) return fail(Verdict.ADDRESS_HASH, "address_hash");
  }
  return Verdict.OK;
}

export const fallbackBackend: CodecBackend = {
  name: "fallback",
  crc32c,
  murmur128(buf, offset, length, out) {
    murmur3x86_128(buf, offset, length, out, 0);
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
