/**
 * The packet store's public types and constants (docs/store.md): insert statuses, options,
 * query patterns, visitors and results, statistics. PacketStore is in store.ts.
 */
import type { AddressPattern } from "../address/index.js";

/** What `insert` / `insertBatch` did with a packet (also written to `insertBatch`'s `statuses`). */
export const InsertStatus = {
  /** stored, with the next cursor */
  STORED: 0,
  /** a live packet with the same node_id and seq is already stored; nothing changed */
  DUPLICATE: 1,
  /** timestamp_ms + ttl_s × 1000 is not after the store's clock; not stored */
  EXPIRED: 2,
  /** the packet failed verification (insertBatch, or insert with verified = false); not stored */
  INVALID: 3,
} as const;
export type InsertStatus = (typeof InsertStatus)[keyof typeof InsertStatus];

/** Largest capacity: 2^22 slots, a 2 GiB slot buffer. */
export const MAX_CAPACITY = 2 ** 22;

export interface PacketStoreOptions {
  /** number of 512-byte slots, 1..MAX_CAPACITY */
  capacity: number;
  /** the store's clock in ms since the Unix epoch; default Date.now */
  now?: () => number;
  /** keep the slots in this file too (created when missing) and reload them from it */
  file?: string;
  /** file mode: fdatasync after every insert / insertBatch call (default false: see docs/store.md "Durability") */
  syncWrites?: boolean;
  /** how queries walk the store (tuning and benchmarks; default "auto"): see `PacketStore.queryStrategy` */
  queryStrategy?: QueryStrategy;
  /**
   * memory mode: run insertBatch in the native addon when it is loaded (default true; false:
   * the TypeScript path). Both give the same state. File mode always runs in TypeScript.
   */
  native?: boolean;
  /**
   * the seed of the index hashes, a 32-bit signed integer (default: random per store). For
   * tests and reproducible benchmarks only: a peer that knows it can choose identities and
   * addresses that collide.
   */
  seed?: number;
}

/**
 * "merge": walk the matching addresses' own lists and merge them by cursor; "scan": walk the
 * ring in cursor order and keep the slots whose address matches; "auto" picks per query
 * (docs/store.md "Queries"). All three return the same packets.
 */
export type QueryStrategy = "auto" | "merge" | "scan";

/** A query pattern: NATS-style (`qis.hvac.*`, `qis.>`, an exact address), compiled or not; null = every packet. */
export type StorePattern = string | AddressPattern | null;

/**
 * Called once per result, in cursor order. `buf[offset, offset + 512)` is the packet in the
 * store's own slot buffer: read it (e.g. `view.at(buf, offset)`) or copy it during the call,
 * never write to it or keep it (the slot is reused). Returning `false` stops the query after
 * this packet. The visitor must not call the store (ERR_STORE_BUSY).
 */
export type QueryVisitor = (buf: Buffer, offset: number, cursor: number) => boolean | void;

export interface QueryResult {
  /** packets visited / copied */
  count: number;
  /**
   * The `since` for the next page: the last returned cursor when the page stopped early (limit
   * reached or the visitor returned false), else the store's cursor (everything up to it has
   * been looked at). Lower than the `since` given when the store's cursor is (the store was
   * reset or lost its newest records): restart from 0.
   */
  next: number;
}

export interface StoredPacket {
  cursor: number;
  /** a 512-byte copy */
  packet: Buffer;
}

export interface StoreStats {
  capacity: number;
  /** live packets */
  size: number;
  /** the cursor of the last stored packet (0 before the first) */
  cursor: number;
  /** distinct addresses among the live packets */
  addresses: number;
  /** packets stored since this store object was made (not counting those reloaded from the file) */
  stored: number;
  /** packets refused because a live packet had the same node_id + seq */
  duplicates: number;
  /** packets freed because they expired, in memory or found expired when loading the file */
  expired: number;
  /** packets refused because they had already expired when inserted */
  expiredOnArrival: number;
  /** live packets overwritten by a newer one (the ring was full) */
  evicted: number;
  /** packets refused because they failed verification */
  invalid: number;
  /** file records dropped when loading: torn, garbage, invalid packet, stale or duplicate */
  corruptOnLoad: number;
  /** packets reloaded from the file when opening */
  loaded: number;
  /** bytes of the slot buffer: capacity × 512 */
  slotBytes: number;
  /** bytes of the per-slot metadata and indexes (typed arrays, all allocated at construction) */
  indexBytes: number;
  /** the store file, when file-backed */
  file: string | null;
}

