/**
 * The packet store (docs/store.md): a fixed-capacity ring of 512-byte slots with an identity
 * index, an address index, an expiry order and, optionally, a file that mirrors the slots.
 *
 * This file is the public class: argument checks, the closed and busy guards, and the reads.
 * The state, the sweep and the insert path (TypeScript, or C through native.ts) are ring.ts;
 * file mode's loading and record staging are mirror.ts; the query walks are query.ts; the
 * public types are types.ts.
 */
import { writeU64 } from "../packet/bytes.js";
import { OFFSETS, PACKET_SIZE } from "../packet/layout.js";
import { PacketView } from "../packet/read.js";
import { f64View } from "./copy.js";
import { StoreError } from "./errors.js";
import { randomSeed } from "./hash.js";
import { StoreMirror } from "./mirror.js";
import type { StoreParts } from "./native.js";
import { QueryRunner } from "./query.js";
import { StoreRing } from "./ring.js";
import {
  type InsertStatus,
  MAX_CAPACITY,
  type PacketStoreOptions,
  type QueryResult,
  type QueryStrategy,
  type QueryVisitor,
  type StoredPacket,
  type StorePattern,
  type StoreStats,
} from "./types.js";

export class PacketStore {
  readonly capacity: number;
  /** the state and the insert path (ring.ts) */
  readonly #ring: StoreRing;
  /** file mode: loading and record staging (mirror.ts); null in memory */
  readonly #mirror: StoreMirror | null;
  /** the query walks (query.ts); its `busy` is set while a visitor runs */
  readonly #queries: QueryRunner;
  /**
   * How queries walk the store. "auto" (default) merges the per-address lists for an exact
   * address, and for k ≤ 32 matching addresses holding m live packets when m × (k + 2) < 2 × size;
   * otherwise it scans. "merge" merges whenever k ≤ 32 (more: scan); "scan" always scans.
   * Same results either way; only speed differs.
   */
  queryStrategy: QueryStrategy = "auto";
  #closed = false;
  /** get / lookup: the identity bytes of the packet asked for, where a packet has them */
  readonly #idScratch = new Uint8Array(OFFSETS.node_id + 16);

  constructor(options: PacketStoreOptions) {
    if (typeof options !== "object" || options === null) throw argument("options must be an object");
    const { capacity, now, file, syncWrites, queryStrategy, native, seed: givenSeed } = options;
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_CAPACITY)
      throw new StoreError("ERR_STORE_CAPACITY", `capacity ${String(capacity)}: expected an integer in 1..${MAX_CAPACITY}`);
    if (now !== undefined && typeof now !== "function") throw argument("now must be a function returning ms since the epoch");
    if (file !== undefined && (typeof file !== "string" || file === "")) throw argument("file must be a non-empty path");
    if (syncWrites !== undefined && typeof syncWrites !== "boolean") throw argument("syncWrites must be a boolean");
    if (queryStrategy !== undefined && queryStrategy !== "auto" && queryStrategy !== "merge" && queryStrategy !== "scan")
      throw argument('queryStrategy must be "auto", "merge" or "scan"');
    if (native !== undefined && typeof native !== "boolean") throw argument("native must be a boolean");
    if (givenSeed !== undefined && !(Number.isInteger(givenSeed) && givenSeed >= -(2 ** 31) && givenSeed < 2 ** 31))
      throw argument("seed must be a 32-bit signed integer");
    if (queryStrategy !== undefined) this.queryStrategy = queryStrategy;
    this.capacity = capacity;
    // insertBatch runs in C in memory mode only: file mode stages each stored packet's record.
    const ring = new StoreRing(capacity, givenSeed ?? randomSeed(), now ?? Date.now, file === undefined && native !== false);
    this.#ring = ring;
    this.#queries = new QueryRunner(capacity, ring.data, ring.data64, ring.cursorOf, ring.addrs);
    this.#mirror = file === undefined ? null : StoreMirror.open(file, ring, syncWrites === true);
    ring.file = this.#mirror;
  }

  // -------------------------------------------------------------------------------------------
  // Inserting

  /**
   * Stores one packet: `buf[offset, offset + 512)`. The caller has verified it (the network
   * layer verifies whole batches with the native codec before inserting); pass
   * `verified = false` to have the store verify it first. Returns an InsertStatus. Allocates
   * nothing but what the clock returns (Date.now boxes its number) and, on the first call
   * with a given buffer, two typed-array views of it.
   */
  insert(buf: Uint8Array, offset = 0, verified = true): InsertStatus {
    this.#writable();
    if (!(buf instanceof Uint8Array)) throw argument("insert: buf must be a Uint8Array or Buffer");
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + PACKET_SIZE > buf.length)
      throw argument(`insert: offset ${String(offset)}: no 512-byte packet there in a buffer of ${buf.length} bytes`);
    return this.#ring.insert(buf, offset, verified);
  }

  /**
   * Stores `count` packets from `buf` (default: all whole packets in it), in order. Without
   * `codes` they are verified first with `codec.verifyBatch`; with `codes` (the caller's
   * verdicts from its own `verifyBatch`, one byte per packet, 0 = valid) they are trusted.
   * Invalid packets are counted and skipped. `statuses`, when given, receives each packet's
   * InsertStatus. Returns how many were stored.
   */
  insertBatch(buf: Uint8Array, count?: number, codes?: Uint8Array, statuses?: Uint8Array): number {
    this.#writable();
    if (!(buf instanceof Uint8Array)) throw argument("insertBatch: buf must be a Uint8Array or Buffer");
    const n = count ?? Math.floor(buf.length / PACKET_SIZE);
    if (!Number.isSafeInteger(n) || n < 0 || n * PACKET_SIZE > buf.length)
      throw argument(`insertBatch: count ${String(count)}: expected 0..${Math.floor(buf.length / PACKET_SIZE)} packets of a ${buf.length}-byte buffer`);
    if (codes !== undefined && (!(codes instanceof Uint8Array) || codes.length < n))
      throw argument(`insertBatch: codes must be a Uint8Array of at least ${n} verdicts`);
    if (statuses !== undefined && (!(statuses instanceof Uint8Array) || statuses.length < n))
      throw argument(`insertBatch: statuses must be a Uint8Array of at least ${n} bytes`);
    return this.#ring.insertBatch(buf, n, codes, statuses);
  }

  /** Whether insertBatch runs in C (memory mode, the addon loaded, `native` not false). */
  get usesNative(): boolean {
    return this.#ring.usesNative;
  }

  /**
   * For comparing the two insert paths (test/store/native.test.ts, `qis-edge selftest`): the
   * state the C path binds, and the store's scalars in its regs layout. Not for other uses.
   */
  comparableState(): { parts: StoreParts; regs: Float64Array } {
    return this.#ring.comparableState();
  }

  // -------------------------------------------------------------------------------------------
  // Expiry

  /**
   * Frees every packet whose expiry time is ≤ `now` (default: the store's clock) and returns
   * how many: O(1) per expired packet (O(log capacity) for one out of ttl order). Every other
   * public method does this first, so an expired packet is never returned; calling it yourself
   * only frees slots earlier.
   */
  sweep(now?: number): number {
    this.#writable();
    if (now !== undefined && typeof now !== "number") throw argument("sweep: now must be a number");
    const ring = this.#ring;
    ring.clock[0] = now ?? ring.readClock();
    return ring.sweep();
  }

  // -------------------------------------------------------------------------------------------
  // Reading

  /**
   * Visits the live packets with cursor > `since` whose address matches `pattern` (null: all),
   * in cursor order, at most `limit` of them (Infinity: no limit). Bad patterns throw the
   * address module's AddressError.
   */
  query(pattern: StorePattern, since: number, limit: number, visit: QueryVisitor): QueryResult {
    if (typeof visit !== "function") throw argument("query: visit must be a function");
    return this.#query(pattern, since, limit, visit, null, null, 0, null);
  }

  /**
   * `query`, copying the packets back to back into `out` from `outOffset` (as the network layer
   * sends them), at most as many as fit; `cursors[i]`, when given, receives the i-th packet's
   * cursor.
   */
  queryInto(pattern: StorePattern, since: number, limit: number, out: Uint8Array, outOffset = 0, cursors?: Float64Array): QueryResult {
    if (!(out instanceof Uint8Array)) throw argument("queryInto: out must be a Uint8Array or Buffer");
    if (!Number.isSafeInteger(outOffset) || outOffset < 0 || outOffset > out.length)
      throw argument(`queryInto: outOffset ${String(outOffset)} is outside a buffer of ${out.length} bytes`);
    if (cursors !== undefined && !(cursors instanceof Float64Array)) throw argument("queryInto: cursors must be a Float64Array");
    let fit = Math.floor((out.length - outOffset) / PACKET_SIZE);
    if (cursors !== undefined) fit = Math.min(fit, cursors.length);
    return this.#query(pattern, since, Math.min(limit, fit), null, out, f64View(out), outOffset, cursors ?? null, limit);
  }

  /** Every live packet with cursor > `since`, in cursor order (`query(null, since, Infinity, visit)`). */
  forEach(visit: QueryVisitor, since = 0): QueryResult {
    return this.query(null, since, Infinity, visit);
  }

  /** `query` into fresh copies: convenient, allocates per packet (tools and tests, not hot paths). */
  collect(pattern: StorePattern = null, since = 0, limit = Infinity): StoredPacket[] {
    const out: StoredPacket[] = [];
    this.query(pattern, since, limit, (buf, offset, cursor) => {
      out.push({ cursor, packet: Buffer.from(buf.subarray(offset, offset + PACKET_SIZE)) });
    });
    return out;
  }

  /**
   * The live packet with this node id (16 bytes) and seq, as a PacketView onto its slot (`view`
   * re-pointed when given), or undefined. The view is valid until the store next changes.
   */
  get(nodeId: Uint8Array, seq: number, view?: PacketView): PacketView | undefined {
    const slot = this.#find(nodeId, seq);
    return slot < 0 ? undefined : (view ?? new PacketView()).at(this.#ring.data, slot * PACKET_SIZE);
  }

  /** The cursor of the live packet with this node id and seq, or 0. */
  lookup(nodeId: Uint8Array, seq: number): number {
    const slot = this.#find(nodeId, seq);
    return slot < 0 ? 0 : this.#ring.cursorOf[slot]!;
  }

  /** The live packet with this cursor as a PacketView onto its slot, or undefined. */
  read(cursor: number, view?: PacketView): PacketView | undefined {
    this.#writable();
    if (!Number.isSafeInteger(cursor)) throw argument("read: cursor must be an integer");
    this.#ring.tick();
    const ring = this.#ring;
    if (cursor < 1 || cursor > ring.cursor) return undefined;
    const slot = (cursor - 1) % this.capacity;
    if (ring.cursorOf[slot] !== cursor) return undefined;
    return (view ?? new PacketView()).at(ring.data, slot * PACKET_SIZE);
  }

  #find(nodeId: Uint8Array, seq: number): number {
    this.#writable();
    if (!(nodeId instanceof Uint8Array) || nodeId.length !== 16) throw argument("nodeId must be 16 bytes");
    if (!Number.isSafeInteger(seq) || seq < 0) throw argument("seq must be an integer in 0..2^53-1");
    this.#ring.tick();
    const k = this.#idScratch;
    writeU64(k, OFFSETS.seq, seq);
    k.set(nodeId, OFFSETS.node_id);
    const ids = this.#ring.ids;
    return ids.find(ids.hashPacket(k, 0), k, 0);
  }

  #query(
    pattern: StorePattern,
    since: number,
    limit: number,
    visit: QueryVisitor | null,
    out: Uint8Array | null,
    out64: Float64Array | null,
    outOffset: number,
    cursors: Float64Array | null,
    askedLimit = limit,
  ): QueryResult {
    this.#writable();
    if (!Number.isSafeInteger(since) || since < 0) throw argument(`query: since ${String(since)}: expected a cursor, an integer ≥ 0`);
    if (!(Number.isSafeInteger(askedLimit) && askedLimit >= 0) && askedLimit !== Infinity)
      throw argument(`query: limit ${String(askedLimit)}: expected an integer ≥ 0 or Infinity`);
    const pat = typeof pattern === "string" ? this.#queries.compile(pattern) : pattern;
    if (pat !== null && (typeof pat !== "object" || typeof pat.matchBytes !== "function"))
      throw argument("query: pattern must be a string, a compiled AddressPattern or null");
    this.#ring.tick();
    const { cursor: cur, size } = this.#ring;
    if (limit === 0) return { count: 0, next: Math.min(since, cur) };
    if (since >= cur || size === 0) return { count: 0, next: cur };

    return this.#queries.run(pat, since, limit, visit, out, out64, outOffset, cursors, size, cur, this.queryStrategy);
  }

  // -------------------------------------------------------------------------------------------
  // State

  /** Live packets (expired ones leave at the next operation or sweep). */
  get size(): number {
    return this.#ring.size;
  }

  /** The cursor of the last stored packet; 0 before the first. */
  get cursor(): number {
    return this.#ring.cursor;
  }

  get closed(): boolean {
    return this.#closed;
  }

  stats(): StoreStats {
    this.#writable();
    const r = this.#ring;
    r.tick();
    const m = this.#mirror;
    return {
      capacity: this.capacity,
      size: r.size,
      cursor: r.cursor,
      addresses: r.addrs.liveCount,
      stored: r.stored,
      duplicates: r.duplicates,
      expired: r.expired,
      expiredOnArrival: r.expiredOnArrival,
      evicted: r.evicted,
      invalid: r.invalid,
      corruptOnLoad: m === null ? 0 : m.corruptOnLoad,
      loaded: m === null ? 0 : m.loaded,
      slotBytes: r.data.length,
      indexBytes: this.indexBytes,
      file: m === null ? null : m.file.path,
    };
  }

  /** Bytes of metadata and indexes beside the slot buffer; fixed at construction. */
  get indexBytes(): number {
    return this.#ring.indexBytes + this.#queries.bytes;
  }

  /** File mode: fdatasync the store file (no-op in memory). */
  sync(): void {
    this.#writable();
    if (this.#mirror !== null) this.#mirror.file.sync();
  }

  /** Closes the file (file mode); every later call but `close` throws ERR_STORE_CLOSED. */
  close(): void {
    if (this.#closed) return;
    if (this.#queries.busy) throw new StoreError("ERR_STORE_BUSY", "close: called from a query visitor");
    this.#closed = true;
    if (this.#mirror !== null) this.#mirror.close();
  }

  #writable(): void {
    if (this.#closed) throw new StoreError("ERR_STORE_CLOSED", "the packet store is closed");
    if (this.#queries.busy) throw new StoreError("ERR_STORE_BUSY", "the packet store was called from a query visitor");
  }
}

function argument(message: string): StoreError {
  return new StoreError("ERR_STORE_ARGUMENT", message);
}
