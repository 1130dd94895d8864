/**
 * The packet store: a fixed-capacity ring of 512-byte slots in one off-heap buffer, with an
 * identity index, an address index, an expiry order and, optionally, a file that mirrors the
 * slots (docs/store.md). Nothing grows with traffic and the insert path allocates nothing per
 * packet. Public types: types.ts; query walks: query.ts; insertBatch's deferred copies: pending.ts.
 */
import { readU32, readU64, writeU64 } from "../packet/bytes.js";
import { codec } from "../packet/codec.js";
import { OFFSETS, PACKET_SIZE } from "../packet/layout.js";
import { PacketView } from "../packet/read.js";
import { ExpiryQueue } from "../util/expiry.js";
import { AddressIndex } from "./addresses.js";
import { copyPacket, f64View, i32View } from "./copy.js";
import { StoreError } from "./errors.js";
import { StoreFile } from "./file.js";
import { RECORD, RECORD_SIZE, writeRecordHeader } from "./format.js";
import { randomSeed } from "./hash.js";
import { IdentityIndex } from "./identity.js";
import {
  NATIVE_STORE,
  NativeInsert,
  R_CLOCK,
  R_CURSOR,
  R_DUPLICATES,
  R_EVICTED,
  R_EXPIRED,
  R_EXPIRED_ON_ARRIVAL,
  R_HEAD,
  R_INVALID,
  R_SIZE,
  R_STORED,
  REGS_LENGTH,
  type StoreParts,
} from "./native.js";
import { PendingRun } from "./pending.js";
import { QueryRunner } from "./query.js";
import {
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
import { zeroedArrays } from "../util/zeroed.js";

/** Records staged before one positioned write (file mode). */
const RUN_RECORDS = 64;
/** Packets verified per codec.verifyBatch call in insertBatch. */
const VERIFY_CHUNK = 1024;

const TTL_AT = OFFSETS.ttl_s;
const TS_AT = OFFSETS.timestamp_ms;

export class PacketStore {
  readonly capacity: number;
  readonly #data: Buffer;
  readonly #data64: Float64Array | null;
  readonly #data32: Int32Array | null;
  /** insertBatch: the packets indexed but not yet copied (one native copy per run of consecutive slots) */
  readonly #run: PendingRun;
  /** whether #insertOne leaves its copy to the pending run (insertBatch in memory mode) */
  #defer = false;
  /** per slot: cursor of the packet in it, 0 when empty */
  readonly #cursorOf: Float64Array;
  /** per slot: expiry time in ms, Infinity for ttl 0 */
  readonly #expiry: Float64Array;
  readonly #ids: IdentityIndex;
  readonly #addrs: AddressIndex;
  /** the slots that can expire (ttl ≠ 0), by (expiry, cursor): per-ttl sorted lists, a heap for the rest */
  readonly #queue: ExpiryQueue;
  /** the query walks (query.ts); its `busy` is set while a visitor runs */
  readonly #queries: QueryRunner;
  readonly #now: () => number;
  /**
   * The clock reading of the current operation. Kept in a Float64Array so that hot paths read
   * it unboxed: a double passed to or returned from a function V8 does not inline is
   * allocated as a HeapNumber.
   */
  readonly #clock = new Float64Array(1);
  readonly #file: StoreFile | null;
  readonly #syncWrites: boolean;
  /** insertBatch's C path (memory mode with the addon, unless `native: false`), else null */
  readonly #native: NativeInsert | null = null;
  /**
   * How queries walk the store. "auto" (default) merges the per-address lists for an exact
   * address, and for k ≤ 32 matching addresses holding m live packets when m × (k + 2) < 2 × size;
   * otherwise it scans. "merge" merges whenever k ≤ 32 (more: scan); "scan" always scans.
   * Same results either way; only speed differs.
   */
  queryStrategy: QueryStrategy = "auto";
  #cursor = 0;
  #head = 0;
  #size = 0;
  #closed = false;

  #stored = 0;
  #duplicates = 0;
  #expired = 0;
  #expiredOnArrival = 0;
  #evicted = 0;
  #invalid = 0;
  #corruptOnLoad = 0;
  #loaded = 0;

  // Scratch, all allocated here.
  readonly #codes = new Uint8Array(VERIFY_CHUNK);
  readonly #idScratch = new Uint8Array(OFFSETS.node_id + 16);
  readonly #records: Buffer | null;
  readonly #records64: Float64Array | null;
  #pendingSlot = 0;
  #pendingCount = 0;
  /** the last source buffer and its Float64 view, so repeated inserts from one buffer allocate nothing */
  #src: Uint8Array | null = null;
  #src64: Float64Array | null = null;
  #src32: Int32Array | null = null;

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
    this.#now = now ?? Date.now;
    this.#syncWrites = syncWrites === true;
    // Off the V8 heap, its own ArrayBuffer (Buffer.alloc of more than 4 kB never pools): 8-byte aligned.
    // Buffer.alloc gets zeroed pages from the OS (calloc): they become resident only when a
    // slot is first written, so an idle agent does not pay for its whole store at start.
    this.#data = Buffer.alloc(capacity * PACKET_SIZE);
    this.#data64 = f64View(this.#data);
    this.#data32 = i32View(this.#data);
    this.#run = new PendingRun(this.#data);
    [this.#cursorOf, this.#expiry] = zeroedArrays(["f64", capacity], ["f64", capacity]); // src/util/zeroed.ts says why
    const seed = givenSeed ?? randomSeed();
    this.#ids = new IdentityIndex(capacity, this.#data, seed, this.#run);
    this.#addrs = new AddressIndex(capacity, this.#data, seed ^ 0x5bd1e995, this.#run);
    this.#queue = new ExpiryQueue(capacity, this.#expiry, this.#cursorOf);
    this.#queries = new QueryRunner(capacity, this.#data, this.#data64, this.#cursorOf, this.#addrs);
    if (file === undefined) {
      this.#file = null;
      this.#records = null;
      this.#records64 = null;
      if (native !== false && NATIVE_STORE) this.#native = new NativeInsert(this.#parts());
      return;
    }
    this.#records = Buffer.alloc(Math.min(RUN_RECORDS, capacity) * RECORD_SIZE);
    this.#records64 = f64View(this.#records);
    this.#file = StoreFile.open(file, capacity);
    try {
      this.#load(this.#file);
    } catch (e) {
      this.#file.close();
      throw e;
    }
  }

  /** Rebuilds the indexes from the file's records, oldest first. */
  #load(file: StoreFile): void {
    const cap = this.capacity;
    const cursorOf = this.#cursorOf;
    const { maxCursor, corrupt, slots, damaged } = file.load(this.#data, this.#data64, cursorOf);
    this.#corruptOnLoad = corrupt;
    this.#cursor = maxCursor;
    this.#head = maxCursor % cap;
    const now = this.#now();
    const data = this.#data;
    // Oldest first: the slots from the ring's head on, then those before it.
    const n = slots.length;
    let start = 0;
    while (start < n && slots[start]! < this.#head) start++;
    for (let k = 0; k < n; k++) {
      const slot = slots[(start + k) % n]!;
      const o = slot * PACKET_SIZE;
      const expiry = expiryOf(data, o);
      this.#expiry[slot] = expiry;
      if (expiry <= now) {
        cursorOf[slot] = 0;
        this.#expired++;
        continue;
      }
      const h = this.#ids.hashPacket(data, o);
      if (this.#ids.find(h, data, o) >= 0) {
        // Two intact records with one identity cannot come from this store: keep the older.
        cursorOf[slot] = 0;
        damaged.push(slot);
        this.#corruptOnLoad++;
        continue;
      }
      this.#index(slot, h);
      this.#loaded++;
    }
    for (const slot of damaged) file.clear(slot);
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
    this.#clock[0] = this.#now();
    this.#sweep();
    if (!verified && codec.verdict(buf, offset) !== 0) {
      this.#invalid++;
      return InsertStatus.INVALID;
    }
    const status = this.#insertOne(buf, this.#viewOf(buf), offset);
    if (this.#file !== null && status === InsertStatus.STORED) this.#flush(true);
    return status;
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
    this.#clock[0] = this.#now();
    if (this.#native !== null) return this.#insertBatchNative(this.#native, buf, n, codes, statuses);
    this.#sweep();
    const b64 = this.#viewOf(buf);
    let stored = 0;
    // In memory, runs of consecutive packets stored into consecutive slots are copied once each
    // (pending.ts); in file mode every packet is copied at once (its record is staged from its slot).
    const run = this.#run;
    run.src = buf;
    run.src32 = this.#src32;
    this.#defer = this.#file === null;
    try {
      for (let start = 0; start < n; start += VERIFY_CHUNK) {
        const m = Math.min(VERIFY_CHUNK, n - start);
        const verdicts = this.#verdicts(buf, start, m, codes);
        const base = codes !== undefined ? start : 0;
        for (let i = 0; i < m; i++) {
          let status: InsertStatus;
          if (verdicts[base + i] !== 0) {
            this.#invalid++;
            status = InsertStatus.INVALID;
          } else {
            status = this.#insertOne(buf, b64, (start + i) * PACKET_SIZE);
            if (status === InsertStatus.STORED) stored++;
          }
          if (statuses !== undefined) statuses[start + i] = status;
        }
      }
    } finally {
      this.#flushRun();
      this.#defer = false;
      run.src = this.#data;
      run.src32 = null;
    }
    if (this.#file !== null && stored > 0) this.#flush(true);
    return stored;
  }

  /**
   * insertBatch in C (native/store.c): the sweep, then chunks of up to VERIFY_CHUNK packets
   * (verified here first unless `codes` came with them). The store's scalars go into the
   * binding's regs once, and come back once.
   */
  #insertBatchNative(native: NativeInsert, buf: Uint8Array, n: number, codes: Uint8Array | undefined, statuses: Uint8Array | undefined): number {
    const R = native.regs;
    this.#saveScalars(R);
    let stored = 0;
    try {
      let start = 0;
      do {
        const m = Math.min(VERIFY_CHUNK, n - start);
        const verdicts = this.#verdicts(buf, start, m, codes);
        const base = codes !== undefined ? start : 0;
        // The first call sweeps (even for an empty batch, as the TypeScript path does).
        stored += native.run(buf, start * PACKET_SIZE, m, start === 0, verdicts, base, statuses ?? null, start);
        start += VERIFY_CHUNK;
      } while (start < n);
    } finally {
      this.#loadScalars(R);
    }
    return stored;
  }

  /**
   * The verdicts of insertBatch's packets start .. start + m − 1: the caller's `codes` (indexed
   * from `start`), else the codec's, written into #codes (indexed from 0).
   */
  #verdicts(buf: Uint8Array, start: number, m: number, codes: Uint8Array | undefined): Uint8Array {
    if (codes !== undefined) return codes;
    if (m > 0) codec.verifyBatch(start === 0 && m * PACKET_SIZE === buf.length ? buf : buf.subarray(start * PACKET_SIZE, (start + m) * PACKET_SIZE), this.#codes);
    return this.#codes;
  }

  /** The store's own scalars into the C path's regs (src/store/native.ts R_*). */
  #saveScalars(R: Float64Array): void {
    R[R_CLOCK] = this.#clock[0]!;
    R[R_CURSOR] = this.#cursor;
    R[R_HEAD] = this.#head;
    R[R_SIZE] = this.#size;
    R[R_STORED] = this.#stored;
    R[R_DUPLICATES] = this.#duplicates;
    R[R_EXPIRED] = this.#expired;
    R[R_EXPIRED_ON_ARRIVAL] = this.#expiredOnArrival;
    R[R_EVICTED] = this.#evicted;
    R[R_INVALID] = this.#invalid;
  }

  #loadScalars(R: Float64Array): void {
    this.#cursor = R[R_CURSOR]!;
    this.#head = R[R_HEAD]! | 0;
    this.#size = R[R_SIZE]! | 0;
    this.#stored = R[R_STORED]!;
    this.#duplicates = R[R_DUPLICATES]!;
    this.#expired = R[R_EXPIRED]!;
    this.#expiredOnArrival = R[R_EXPIRED_ON_ARRIVAL]!;
    this.#evicted = R[R_EVICTED]!;
    this.#invalid = R[R_INVALID]!;
  }

  #parts(): StoreParts {
    return { capacity: this.capacity, data: this.#data, ids: this.#ids, addrs: this.#addrs, queue: this.#queue };
  }

  /** Whether insertBatch runs in C (memory mode, the addon loaded, `native` not false). */
  get usesNative(): boolean {
    return this.#native !== null;
  }

  /**
   * For comparing the two insert paths (test/store/native.test.ts, `qis-edge selftest`): the
   * state the C path binds, and the store's scalars in its regs layout. Not for other uses.
   */
  comparableState(): { parts: StoreParts; regs: Float64Array } {
    const regs = new Float64Array(REGS_LENGTH);
    this.#saveScalars(regs);
    regs[R_CLOCK] = 0; // the clock of the last call is not state
    return { parts: this.#parts(), regs };
  }

  /** Stores one packet (`#viewOf(b)` called); the clock reading is in #clock. */
  #insertOne(b: Uint8Array, b64: Float64Array | null, o: number): InsertStatus {
    // expiryOf(), written out: a double returned by a call V8 does not inline is boxed.
    const tt = o + TTL_AT;
    const ttl = (b[tt]! | (b[tt + 1]! << 8) | (b[tt + 2]! << 16) | (b[tt + 3]! << 24)) >>> 0;
    let expiry = Infinity;
    if (ttl !== 0) {
      const ts = o + TS_AT;
      const lo = (b[ts]! | (b[ts + 1]! << 8) | (b[ts + 2]! << 16) | (b[ts + 3]! << 24)) >>> 0;
      const hi = (b[ts + 4]! | (b[ts + 5]! << 8) | (b[ts + 6]! << 16) | (b[ts + 7]! << 24)) >>> 0;
      expiry = hi * 0x1_0000_0000 + lo + ttl * 1000;
    }
    if (expiry <= this.#clock[0]!) {
      this.#expiredOnArrival++;
      return InsertStatus.EXPIRED;
    }
    const ids = this.#ids;
    const h = ids.hashPacket(b, o, this.#src32);
    if (ids.find(h, b, o) >= 0) {
      this.#duplicates++;
      return InsertStatus.DUPLICATE;
    }
    const slot = this.#head;
    const queue = this.#queue;
    if (this.#cursorOf[slot] !== 0) {
      // Expired packets were swept before this call: whatever is here is live, and the oldest.
      this.#evicted++;
      this.#ids.remove(slot);
      this.#addrs.remove(slot);
      if (this.#expiry[slot] !== Infinity) queue.remove(slot);
      this.#size--;
    }
    if (this.#defer) this.#pend(slot, o);
    else copyPacket(b, b64, o, this.#data, this.#data64, slot * PACKET_SIZE);
    const cursor = ++this.#cursor;
    this.#cursorOf[slot] = cursor;
    this.#expiry[slot] = expiry;
    ids.add(slot, h);
    this.#addrs.append(slot, b, this.#src32, o);
    // The newest cursor, and (within a ttl) almost always the latest expiry: O(1) at a list's tail.
    if (expiry !== Infinity) queue.insert(slot, ttl);
    this.#size++;
    this.#stored++;
    this.#head = slot + 1 === this.capacity ? 0 : slot + 1;
    if (this.#file !== null) this.#stage(slot, cursor);
    return InsertStatus.STORED;
  }

  /** Adds the packet at `o` of the batch, going into `slot`, to the pending run (a new run when it does not follow on). */
  #pend(slot: number, o: number): void {
    const run = this.#run;
    if (run.length > 0 && slot === run.slot + run.length && o === run.srcOffset + run.length * PACKET_SIZE) run.length++;
    else {
      this.#flushRun();
      run.slot = slot;
      run.srcOffset = o;
      run.length = 1;
    }
  }

  /** Copies the pending run into its slots: one native copy (a view per run, none per packet). */
  #flushRun(): void {
    const run = this.#run;
    const n = run.length;
    if (n === 0) return;
    run.length = 0;
    const from = run.srcOffset;
    if (n === 1) copyPacket(run.src, this.#src64, from, this.#data, this.#data64, run.slot * PACKET_SIZE);
    else this.#data.set(run.src.subarray(from, from + n * PACKET_SIZE), run.slot * PACKET_SIZE);
  }

  /** Indexes `slot` (empty until now), whose packet, cursor and expiry are in place. */
  #index(slot: number, h: number): void {
    this.#ids.add(slot, h);
    this.#addrs.append(slot, this.#data, this.#data32, slot * PACKET_SIZE);
    if (this.#expiry[slot] !== Infinity) this.#queue.insert(slot, readU32(this.#data, slot * PACKET_SIZE + TTL_AT));
    this.#size++;
  }

  /** Frees a live slot: out of every index. Its bytes stay until the slot is reused. */
  #release(slot: number): void {
    this.#ids.remove(slot);
    this.#addrs.remove(slot);
    if (this.#expiry[slot] !== Infinity) this.#queue.remove(slot); // before the cursor (its order) goes
    this.#cursorOf[slot] = 0;
    this.#size--;
  }

  /** Caches Float64 and Int32 views of the source buffer (made once per buffer) and returns the former. */
  #viewOf(buf: Uint8Array): Float64Array | null {
    if (buf !== this.#src) {
      this.#src = buf;
      this.#src64 = f64View(buf);
      this.#src32 = i32View(buf);
    }
    return this.#src64;
  }

  /** File mode: puts the record of `slot` in the run to write; consecutive slots go in one write. */
  #stage(slot: number, cursor: number): void {
    const records = this.#records!;
    if (this.#pendingCount > 0 && (slot !== this.#pendingSlot + this.#pendingCount || this.#pendingCount * RECORD_SIZE === records.length)) this.#flush(false);
    if (this.#pendingCount === 0) this.#pendingSlot = slot;
    const r = this.#pendingCount++ * RECORD_SIZE;
    copyPacket(this.#data, this.#data64, slot * PACKET_SIZE, records, this.#records64, r + RECORD.packet);
    writeRecordHeader(records, r, cursor);
  }

  #flush(end: boolean): void {
    const n = this.#pendingCount;
    if (n > 0) {
      this.#pendingCount = 0;
      this.#file!.write(this.#records!, n * RECORD_SIZE, this.#pendingSlot);
    }
    if (end && this.#syncWrites) this.#file!.sync();
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
    this.#clock[0] = now ?? this.#now();
    return this.#sweep();
  }

  /** Reads the clock and frees what has expired (every public method starts with this). */
  #tick(): void {
    this.#clock[0] = this.#now();
    this.#sweep();
  }

  /** Frees every packet whose expiry is ≤ the current clock reading. */
  #sweep(): number {
    const queue = this.#queue;
    const now = this.#clock[0]!;
    let n = 0;
    while (queue.nextExp <= now) {
      this.#release(queue.nextSlot);
      this.#expired++;
      n++;
    }
    return n;
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
    return slot < 0 ? undefined : (view ?? new PacketView()).at(this.#data, slot * PACKET_SIZE);
  }

  /** The cursor of the live packet with this node id and seq, or 0. */
  lookup(nodeId: Uint8Array, seq: number): number {
    const slot = this.#find(nodeId, seq);
    return slot < 0 ? 0 : this.#cursorOf[slot]!;
  }

  /** The live packet with this cursor as a PacketView onto its slot, or undefined. */
  read(cursor: number, view?: PacketView): PacketView | undefined {
    this.#writable();
    if (!Number.isSafeInteger(cursor)) throw argument("read: cursor must be an integer");
    this.#tick();
    if (cursor < 1 || cursor > this.#cursor) return undefined;
    const slot = (cursor - 1) % this.capacity;
    if (this.#cursorOf[slot] !== cursor) return undefined;
    return (view ?? new PacketView()).at(this.#data, slot * PACKET_SIZE);
  }

  #find(nodeId: Uint8Array, seq: number): number {
    this.#writable();
    if (!(nodeId instanceof Uint8Array) || nodeId.length !== 16) throw argument("nodeId must be 16 bytes");
    if (!Number.isSafeInteger(seq) || seq < 0) throw argument("seq must be an integer in 0..2^53-1");
    this.#tick();
    const k = this.#idScratch;
    writeU64(k, OFFSETS.seq, seq);
    k.set(nodeId, OFFSETS.node_id);
    return this.#ids.find(this.#ids.hashPacket(k, 0), k, 0);
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
    this.#tick();
    const cur = this.#cursor;
    if (limit === 0) return { count: 0, next: Math.min(since, cur) };
    if (since >= cur || this.#size === 0) return { count: 0, next: cur };

    return this.#queries.run(pat, since, limit, visit, out, out64, outOffset, cursors, this.#size, cur, this.queryStrategy);
  }

  // -------------------------------------------------------------------------------------------
  // State

  /** Live packets (expired ones leave at the next operation or sweep). */
  get size(): number {
    return this.#size;
  }

  /** The cursor of the last stored packet; 0 before the first. */
  get cursor(): number {
    return this.#cursor;
  }

  get closed(): boolean {
    return this.#closed;
  }

  stats(): StoreStats {
    this.#writable();
    this.#tick();
    return {
      capacity: this.capacity,
      size: this.#size,
      cursor: this.#cursor,
      addresses: this.#addrs.liveCount,
      stored: this.#stored,
      duplicates: this.#duplicates,
      expired: this.#expired,
      expiredOnArrival: this.#expiredOnArrival,
      evicted: this.#evicted,
      invalid: this.#invalid,
      corruptOnLoad: this.#corruptOnLoad,
      loaded: this.#loaded,
      slotBytes: this.#data.length,
      indexBytes: this.indexBytes,
      file: this.#file === null ? null : this.#file.path,
    };
  }

  /** Bytes of metadata and indexes beside the slot buffer; fixed at construction. */
  get indexBytes(): number {
    return (
      this.#cursorOf.byteLength +
      this.#expiry.byteLength +
      this.#ids.bytes +
      this.#addrs.bytes +
      this.#queue.bytes +
      this.#queries.bytes
    );
  }

  /** File mode: fdatasync the store file (no-op in memory). */
  sync(): void {
    this.#writable();
    if (this.#file !== null) this.#file.sync();
  }

  /** Closes the file (file mode); every later call but `close` throws ERR_STORE_CLOSED. */
  close(): void {
    if (this.#closed) return;
    if (this.#queries.busy) throw new StoreError("ERR_STORE_BUSY", "close: called from a query visitor");
    this.#closed = true;
    if (this.#file !== null) {
      try {
        this.#flush(false);
      } finally {
        this.#file.close();
      }
    }
  }

  #writable(): void {
    if (this.#closed) throw new StoreError("ERR_STORE_CLOSED", "the packet store is closed");
    if (this.#queries.busy) throw new StoreError("ERR_STORE_BUSY", "the packet store was called from a query visitor");
  }
}

/** When the packet at b[o] expires: timestamp_ms + ttl_s × 1000, or Infinity for ttl 0 (expired once ≤ now). */
export function expiryOf(b: Uint8Array, o: number): number {
  const ttl = readU32(b, o + TTL_AT);
  return ttl === 0 ? Infinity : readU64(b, o + TS_AT) + ttl * 1000;
}

function argument(message: string): StoreError {
  return new StoreError("ERR_STORE_ARGUMENT", message);
}
