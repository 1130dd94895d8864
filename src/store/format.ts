/**
 * The store file format (docs/store.md "File format"): a 64-byte file header, then one
 * 528-byte record per ring slot, record i at FILE_HEADER_SIZE + i × RECORD_SIZE. A record is a
 * 16-byte record header followed by the 512-byte packet exactly as stored. All integers
 * little-endian.
 */
import { readU32, readU64, writeU32, writeU64 } from "../packet/bytes.js";
import { crc32c } from "../packet/crc32c.js";
import { OFFSETS, PACKET_SIZE } from "../packet/layout.js";

/** "QISSTORE" */
export const FILE_MAGIC = [0x51, 0x49, 0x53, 0x53, 0x54, 0x4f, 0x52, 0x45] as const;
/** The 8 bytes that open a file of this format: which kind of file it is (the store's, an uplink outbox's). */
export type FileMagic = readonly number[];
export const FILE_VERSION = 1;
export const FILE_HEADER_SIZE = 64;
export const RECORD_HEADER_SIZE = 16;
export const RECORD_SIZE = RECORD_HEADER_SIZE + PACKET_SIZE;

/** Offsets in the file header. */
export const FILE_HEADER = {
  magic: 0,
  version: 8,
  headerSize: 12,
  recordSize: 16,
  packetSize: 20,
  capacity: 24,
  reserved: 28,
  crc32c: 60,
} as const;

/** Offsets in a record (the packet follows the 16-byte record header). */
export const RECORD = {
  cursor: 0,
  reserved: 8,
  crc32c: 12,
  packet: RECORD_HEADER_SIZE,
} as const;

/** The largest cursor: cursors are u64 in the file but JavaScript numbers in memory. */
export const MAX_CURSOR = Number.MAX_SAFE_INTEGER;

export function fileSize(capacity: number): number {
  return FILE_HEADER_SIZE + capacity * RECORD_SIZE;
}

export function recordPosition(slot: number): number {
  return FILE_HEADER_SIZE + slot * RECORD_SIZE;
}

export function encodeFileHeader(capacity: number, magic: FileMagic = FILE_MAGIC): Buffer {
  const b = Buffer.alloc(FILE_HEADER_SIZE);
  for (let i = 0; i < magic.length; i++) b[i] = magic[i]!;
  writeU32(b, FILE_HEADER.version, FILE_VERSION);
  writeU32(b, FILE_HEADER.headerSize, FILE_HEADER_SIZE);
  writeU32(b, FILE_HEADER.recordSize, RECORD_SIZE);
  writeU32(b, FILE_HEADER.packetSize, PACKET_SIZE);
  writeU32(b, FILE_HEADER.capacity, capacity);
  writeU32(b, FILE_HEADER.crc32c, crc32c(b, 0, FILE_HEADER.crc32c, 0));
  return b;
}

/** What is wrong with a file header, or null when it is a version-1 header for `capacity`. */
export function checkFileHeader(
  b: Uint8Array,
  capacity: number,
  magic: FileMagic = FILE_MAGIC,
): { reason: "bad-magic" | "header-crc" | "unsupported-version" | "record-size" | "capacity-mismatch"; message: string } | null {
  for (let i = 0; i < magic.length; i++) {
    if (b[i] !== magic[i]) return { reason: "bad-magic", message: `not a qis-edge ${magic === FILE_MAGIC ? "store" : Buffer.from(magic).toString("latin1")} file (bad magic)` };
  }
  if (crc32c(b, 0, FILE_HEADER.crc32c, 0) !== readU32(b, FILE_HEADER.crc32c))
    return { reason: "header-crc", message: "file header is corrupt (CRC-32C mismatch)" };
  const version = readU32(b, FILE_HEADER.version);
  if (version !== FILE_VERSION)
    return { reason: "unsupported-version", message: `store file format version ${version}; this build reads version ${FILE_VERSION}` };
  const headerSize = readU32(b, FILE_HEADER.headerSize);
  const recordSize = readU32(b, FILE_HEADER.recordSize);
  const packetSize = readU32(b, FILE_HEADER.packetSize);
  if (headerSize !== FILE_HEADER_SIZE || recordSize !== RECORD_SIZE || packetSize !== PACKET_SIZE)
    return {
      reason: "record-size",
      message: `header/record/packet sizes ${headerSize}/${recordSize}/${packetSize}; expected ${FILE_HEADER_SIZE}/${RECORD_SIZE}/${PACKET_SIZE}`,
    };
  const fileCapacity = readU32(b, FILE_HEADER.capacity);
  if (fileCapacity !== capacity)
    return {
      reason: "capacity-mismatch",
      message: `the file holds a store of capacity ${fileCapacity} but capacity ${capacity} is configured`,
    };
  return null;
}

/** CRC-32C binding a record header to its packet: bytes 0..11 of the header, then the packet's own CRC-32C field. */
export function recordCrc(header: Uint8Array, headerOffset: number, packet: Uint8Array, packetOffset: number): number {
  return crc32c(packet, packetOffset + OFFSETS.crc32c, 4, crc32c(header, headerOffset, RECORD.crc32c, 0));
}

/** Writes the 16-byte record header at `o` for a packet already at `o + 16`. */
export function writeRecordHeader(b: Uint8Array, o: number, cursor: number): void {
  writeU64(b, o + RECORD.cursor, cursor);
  writeU32(b, o + RECORD.reserved, 0);
  writeU32(b, o + RECORD.crc32c, recordCrc(b, o, b, o + RECORD.packet));
}

/**
 * The cursor of the record at `o` (its packet at `o + 16`) when its header is intact and
 * bound to the packet's CRC, else -1. Whether the packet itself is valid is checked apart.
 */
export function recordCursor(b: Uint8Array, o: number): number {
  if (readU32(b, o + RECORD.reserved) !== 0) return -1;
  if (recordCrc(b, o, b, o + RECORD.packet) !== readU32(b, o + RECORD.crc32c)) return -1;
  const cursor = readU64(b, o + RECORD.cursor);
  return cursor >= 1 && cursor <= MAX_CURSOR ? cursor : -1;
}

export function isAllZero(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
}
