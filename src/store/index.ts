/** The packet store: fixed-capacity ring of 512-byte slots with identity, address and expiry indexes (docs/store.md). */
export { PacketStore } from "./store.js";
export { expiryOf } from "./ring.js";
export {
  InsertStatus,
  MAX_CAPACITY,
  type PacketStoreOptions,
  type QueryResult,
  type QueryStrategy,
  type QueryVisitor,
  type StoredPacket,
  type StorePattern,
  type StoreStats,
} from "./types.js";
export { StoreError, StoreErrorCode, type StoreErrorDetail, type StoreFileProblem } from "./errors.js";
export {
  FILE_HEADER,
  FILE_HEADER_SIZE,
  FILE_MAGIC,
  FILE_VERSION,
  RECORD,
  RECORD_HEADER_SIZE,
  RECORD_SIZE,
  fileSize,
  recordPosition,
} from "./format.js";
