/**
 * The packet layout (docs/packet.md; native/packet.h is the same table as a C struct).
 * The native loader compares these numbers with the addon's sizeof/offsetof at load.
 */
export const PACKET_SIZE = 512;
export const VERSION = 1;
/** 'Q' 'I' 'S' followed by the version byte. */
export const MAGIC = [0x51, 0x49, 0x53] as const;

export const ADDRESS_MAX = 96;
export const CONTEXT_MAX = 16;
export const CONCLUSION_MAX = 172;
export const ID_SIZE = 16;
export const KEY_ID_SIZE = 8;
export const SIGNATURE_SIZE = 64;
/** The CRC covers every byte before it. */
export const CRC_COVERED = 508;
/** 2^53 - 1: u64 fields must round-trip through a JavaScript number. */
export const U64_MAX_SAFE = Number.MAX_SAFE_INTEGER;

export const FLAG_SIGNED = 0x0001;
export const FLAG_SYNTHESIZED = 0x0002;
export const FLAG_LEGACY = 0x0004;
export const FLAGS_KNOWN = FLAG_SIGNED | FLAG_SYNTHESIZED | FLAG_LEGACY;

/** Byte offsets, named as the fields of `struct qis_packet`. */
export const OFFSETS = {
  magic: 0,
  flags: 4,
  hops: 6,
  address_len: 7,
  timestamp_ms: 8,
  ttl_s: 16,
  n_observations: 20,
  outcome_delta: 24,
  confidence: 28,
  seq: 32,
  node_id: 40,
  address_hash: 56,
  context_hash: 72,
  context_len: 88,
  conclusion_len: 89,
  reserved0: 90,
  address: 96,
  context: 192,
  conclusion: 256,
  key_id: 428,
  signature: 436,
  reserved1: 500,
  crc32c: 508,
} as const;

export type FieldName = keyof typeof OFFSETS;

export const RESERVED0_SIZE = OFFSETS.address - OFFSETS.reserved0;
export const RESERVED1_SIZE = OFFSETS.crc32c - OFFSETS.reserved1;

/** Numbers per packet written by `unpack`, in this order. */
export const UNPACK_FIELDS = [
  "flags",
  "hops",
  "timestampMs",
  "ttlS",
  "nObservations",
  "outcomeDelta",
  "confidence",
  "seq",
  "addressLength",
  "contextLength",
  "conclusionLength",
] as const;
export const UNPACK_STRIDE = UNPACK_FIELDS.length;
