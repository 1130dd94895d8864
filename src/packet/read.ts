/** Reading fields of a packet already verified. */
import { readF32, readU16, readU32, readU64 } from "./bytes.js";
import { OFFSETS as F } from "./layout.js";
import type { Packet } from "./types.js";
import { decodeUtf8 } from "./utf8.js";

/** A fresh Packet object (allocates; for APIs and tools, not per-packet hot paths). */
export function readPacket(b: Uint8Array, o: number): Packet {
  const contextLen = b[o + F.context_len]!;
  const context: number[] = new Array<number>(contextLen);
  for (let i = 0; i < contextLen; i++) context[i] = readF32(b, o + F.context + i * 4);
  return {
    flags: readU16(b, o + F.flags),
    hops: b[o + F.hops]!,
    timestampMs: readU64(b, o + F.timestamp_ms),
    ttlS: readU32(b, o + F.ttl_s),
    nObservations: readU32(b, o + F.n_observations),
    outcomeDelta: readF32(b, o + F.outcome_delta),
    confidence: readF32(b, o + F.confidence),
    seq: readU64(b, o + F.seq),
    nodeId: b.slice(o + F.node_id, o + F.node_id + 16),
    address: decodeUtf8(b, o + F.address, b[o + F.address_len]!),
    addressHash: b.slice(o + F.address_hash, o + F.address_hash + 16),
    contextHash: b.slice(o + F.context_hash, o + F.context_hash + 16),
    context,
    conclusion: decodeUtf8(b, o + F.conclusion, b[o + F.conclusion_len]!),
    keyId: b.slice(o + F.key_id, o + F.key_id + 8),
    signature: b.slice(o + F.signature, o + F.signature + 64),
  };
}

/**
 * A movable window onto one verified packet inside a larger buffer (a batch, a store slot).
 * Numeric getters read the bytes in place and allocate nothing; `at()` re-points it, so one
 * view serves a whole batch. Only the string getters allocate.
 */
export class PacketView {
  buf: Uint8Array;
  offset: number;

  constructor(buf: Uint8Array = new Uint8Array(0), offset = 0) {
    this.buf = buf;
    this.offset = offset;
  }

  at(buf: Uint8Array, offset: number): this {
    this.buf = buf;
    this.offset = offset;
    return this;
  }

  get flags(): number {
    return readU16(this.buf, this.offset + F.flags);
  }
  get hops(): number {
    return this.buf[this.offset + F.hops]!;
  }
  get timestampMs(): number {
    return readU64(this.buf, this.offset + F.timestamp_ms);
  }
  get ttlS(): number {
    return readU32(this.buf, this.offset + F.ttl_s);
  }
  get nObservations(): number {
    return readU32(this.buf, this.offset + F.n_observations);
  }
  get outcomeDelta(): number {
    return readF32(this.buf, this.offset + F.outcome_delta);
  }
  get confidence(): number {
    return readF32(this.buf, this.offset + F.confidence);
  }
  get seq(): number {
    return readU64(this.buf, this.offset + F.seq);
  }
  get addressLength(): number {
    return this.buf[this.offset + F.address_len]!;
  }
  /** Byte offset of the address bytes in `buf` (for allocation-free matching). */
  get addressOffset(): number {
    return this.offset + F.address;
  }
  get address(): string {
    return decodeUtf8(this.buf, this.offset + F.address, this.addressLength);
  }
  get conclusion(): string {
    return decodeUtf8(this.buf, this.offset + F.conclusion, this.buf[this.offset + F.conclusion_len]!);
  }
  /** Byte offset of the 16-byte node id in `buf`. */
  get nodeIdOffset(): number {
    return this.offset + F.node_id;
  }
  toPacket(): Packet {
    return readPacket(this.buf, this.offset);
  }
}
