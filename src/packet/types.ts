/** What a caller supplies to encode a packet. Optional fields default to zero / empty. */
export interface PacketFields {
  /** FLAG_* bits; default 0 */
  flags?: number;
  /** 0..255; default 0 */
  hops?: number;
  /** ms since the Unix epoch, integer 0..2^53-1 */
  timestampMs: number;
  /** seconds, integer 0..2^32-1; 0 = never expires */
  ttlS: number;
  /** integer 0..2^32-1 */
  nObservations: number;
  /** finite, -1..1 (stored as f32) */
  outcomeDelta: number;
  /** finite, 0..1 (stored as f32) */
  confidence: number;
  /** per-node sequence number, integer 0..2^53-1 */
  seq: number;
  /** 16 bytes, or the same as 32 hex digits (either case; what `inspect` and the docs show) */
  nodeId: Uint8Array | string;
  /** the semantic address, 1..96 bytes of UTF-8 */
  address: string;
  /** 16 bytes, or 32 hex digits; default all zero */
  contextHash?: Uint8Array | string;
  /** at most 16 finite values (stored as f32) */
  context?: ArrayLike<number>;
  /** UTF-8 text, cut to 172 bytes on a character boundary */
  conclusion?: string;
  /** 8 bytes; only with FLAG_SIGNED (otherwise absent or all zero) */
  keyId?: Uint8Array;
  /** 64 bytes; only with FLAG_SIGNED (otherwise absent or all zero) */
  signature?: Uint8Array;
}

/** A decoded, verified packet. Every field present; it can be passed back to encode. */
export interface Packet {
  flags: number;
  hops: number;
  timestampMs: number;
  ttlS: number;
  nObservations: number;
  outcomeDelta: number;
  confidence: number;
  seq: number;
  nodeId: Uint8Array;
  address: string;
  addressHash: Uint8Array;
  contextHash: Uint8Array;
  context: number[];
  conclusion: string;
  keyId: Uint8Array;
  signature: Uint8Array;
}
