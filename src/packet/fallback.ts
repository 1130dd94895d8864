/**
 * The TypeScript implementation of the codec backend: the reference the addon is tested
 * against byte for byte, and what runs where no addon could be built or loaded.
 */
import type { CodecBackend } from "./backend.js";
import { isZero, readF32, readU16, readU32, readU64, writeU32 } from "./bytes.js";
import { crc32c } from "./crc32c.js";
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

/**
 * The field the last failing `verifyPacket` call blamed. A module-level slot rather than a
 * returned object keeps the hot path allocation-free; only error reporting reads it.
 */
export let lastFailedField = "";

function fail(verdict: number, field: string): number {
  lastFailedField = field;
  return verdict;
}

/** Runs the checks of docs/packet.md "Verification" (2..11) in order; returns the verdict. */
export function verifyPacket(b: Uint8Array, o: number): number {
  if (crc32c(b, o, CRC_COVERED, 0) !== readU32(b, o + F.crc32c)) return fail(Verdict.CRC, "crc32c");
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

  if (!isZero(b, o + F.reserved0, o + F.address)) return fail(Verdict.RESERVED, "reserved0");
  if (!isZero(b, o + F.address + addressLen, o + F.context)) return fail(Verdict.RESERVED, "address");
  if (!isZero(b, o + F.context + contextLen * 4, o + F.conclusion)) return fail(Verdict.RESERVED, "context");
  if (!isZero(b, o + F.conclusion + conclusionLen, o + F.key_id)) return fail(Verdict.RESERVED, "conclusion");
  if ((flags & FLAG_SIGNED) === 0) {
    if (!isZero(b, o + F.key_id, o + F.signature)) return fail(Verdict.RESERVED, "key_id");
    if (!isZero(b, o + F.signature, o + F.reserved1)) return fail(Verdict.RESERVED, "signature");
  }
  if (!isZero(b, o + F.reserved1, o + F.crc32c)) return fail(Verdict.RESERVED, "reserved1");

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
  if (readU64(b, o + F.timestamp_ms) > U64_MAX_SAFE) return fail(Verdict.RANGE, "timestamp_ms");
  if (readU64(b, o + F.seq) > U64_MAX_SAFE) return fail(Verdict.RANGE, "seq");

  if (!isValidUtf8(b, o + F.address, addressLen)) return fail(Verdict.UTF8, "address");
  if (!isValidUtf8(b, o + F.conclusion, conclusionLen)) return fail(Verdict.UTF8, "conclusion");

  murmur3x86_128(b, o + F.address, addressLen, hashScratch, 0);
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
    for (let i = 0, o = offset; i < count; i++, o += PACKET_SIZE) {
      murmur3x86_128(buf, o + F.address, buf[o + F.address_len]!, buf, o + F.address_hash);
      writeU32(buf, o + F.crc32c, crc32c(buf, o, CRC_COVERED, 0));
    }
  },
  verify(buf, offset, count, codes) {
    let valid = 0;
    for (let i = 0, o = offset; i < count; i++, o += PACKET_SIZE) {
      const v = verifyPacket(buf, o);
      codes[i] = v;
      if (v === Verdict.OK) valid++;
    }
    return valid;
  },
  verifyOne: verifyPacket,
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
