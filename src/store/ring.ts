/**
 * The packet store's state and its insert path (docs/store.md, "Inserting"): the ring of 512-byte
 * slots in one off-heap buffer, the identity and address indexes, the expiry order, the
 * counters, the sweep, and the per-packet insert in TypeScript. `insertBatch` runs in C when the
 * addon is loaded (native.ts binds this state; native/store.c mirrors #insertOne and #sweep step
 * for step). PacketStore (store.ts) wraps this with argument checks, the closed and busy guards
 * and the reads; file mode stages each stored packet's record through a StoreMirror (mirror.ts).
 *
 * Nothing grows with traffic and the insert path allocates nothing per packet. Fields that
 * PacketStore, its reads and the mirror use are public (readonly where only this file writes
 * them); the rest is private.
 */
import { readU32, readU64 } from "../packet/bytes.js";
import { codec } from "../packet/codec.js";
import { OFFSETS, PACKET_SIZE } from "../packet/layout.js";
import { ExpiryQueue } from "../util/expiry.js";
import { zeroedArrays } from "../util/zeroed.js";
import { AddressIndex } from "./addresses.js";
import { copyPacket, f64View, i32View } from "./copy.js";
import { IdentityIndex } from "./identity.js";
import type { StoreMirror } from "./mirror.js";
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
import { InsertStatus } from "./types.js";

/** Packets verified per codec.verifyBatch call in insertBatch. */
const VERIFY_CHUNK = 1024;

const TTL_AT = OFFSETS.ttl_s;
const TS_AT = OFFSETS.timestamp_ms;

export class StoreRing {
  readonly capacity: number;
  readonly data: Buffer;
  readonly data64: Float64Array | null;
  readonly data32: Int32Array | null;
  /** per slot: cursor of the packet in it, 0 when empty */
  readonly cursorOf: Float64Array;
  /** per slot: expiry time in ms, Infinity for ttl 0 */
  readonly expiry: Float64Array;
  readonly ids: IdentityIndex;
  readonly addrs: AddressIndex;
  /** the slots that can expire (ttl ≠ 0), by (expiry, cursor): per-ttl sorted lists, a heap for the rest */
  readonly queue: ExpiryQueue;
  /**
   * The clock reading of the current operation. Kept in a Float64Array so that hot paths read
   * it unboxed: a double passed to or returned from a function V8 does not inline is
   * allocated as a HeapNumber.
   */
  readonly clock = new Float64Array(1);
  /** file mode: where stored packets' records go (set once by PacketStore after loading); null in memory */
  file: StoreMirror | null = null;

  cursor = 0;
  head = 0;
  size = 0;
  stored = 0;
  duplicates = 0;
  expired = 0;
  expiredOnArrival = 0;
  evicted = 0;
  invalid = 0;

  readonly #now: () => number;
  /** insertBatch: the packets indexed but not yet copied (one native copy per run of consecutive slots) */
  readonly #run: PendingRun;
  /** whether #insertOne leaves its copy to the pending run (insertBatch in memory mode) */
  #defer = false;
  /** insertBatch's C path (memory mode with the addon, unless `native: false`), else null */
  readonly #native: NativeInsert | null = null;
  // Scratch, all allocated here.
  readonly #codes = new Uint8Array(VERIFY_CHUNK);
  /** the last source buffer and its Float64 view, so repeated inserts from one buffer allocate nothing */
  #src: Uint8Array | null = null;
  #src64: Float64Array | null = null;
  #src32: Int32Array | null = null;

  /** `native`: whether insertBatch may run in C (the caller passes false in file mode). */
  constructor(capacity: number, seed: number, now: () => number, native: boolean) {
    this.capacity = capacity;
    this.#now = now;
    // Off the V8 heap, its own ArrayBuffer (Buffer.alloc of more than 4 kB never pools): 8-byte aligned.
    // Buffer.alloc gets zeroed pages from the OS (calloc): they become resident only when a
    // slot is first written, so an idle agent does not pay for its whole store at start.
    this.data = Buffer.alloc(capacity * PACKET_SIZE);
    this.data64 = f64View(this.data);
    this.data32 = i32View(this.data);
    this.#run = new PendingRun(this.data);
    [this.cursorOf, this.expiry] = zeroedArrays(["f64", capacity], ["f64", capacity]); // src/util/zeroed.ts says why
    this.ids = new IdentityIndex(capacity, this.data, seed, this.#run);
    this.addrs = new AddressIndex(capacity, this.data, seed ^ 0x5bd1e995, this.#run);
    this.queue = new ExpiryQueue(capacity, this.expiry, this.cursorOf);
    if (native && NATIVE_STORE) this.#native = new NativeInsert(this.parts());
  }

  // -------------------------------------------------------------------------------------------
  // Inserting

  /** PacketStore#insert after its argument checks: the clock, the sweep, the packet, its record. */
  insert(buf: Uint8Array, offset: number, verified: boolean): InsertStatus {
    this.clock[0] = this.#now();
    this.sweep();
    if (!verified && codec.verdict(buf, offset) !== 0) {
      this.invalid++;
      return InsertStatus.INVALID;
    }
    const status = this.#insertOne(buf, this.#viewOf(buf), offset);
    if (this.file !== null && status === InsertStatus.STORED) this.file.flush(true);
    return status;
  }

  /** PacketStore#insertBatch after its argument checks: `n` packets, in C when it can. */
  insertBatch(buf: Uint8Array, n: number, codes: Uint8Array | undefined, statuses: Uint8Array | undefined): number {
    this.clock[0] = this.#now();
    if (this.#native !== null) return this.#insertBatchNative(this.#native, buf, n, codes, statuses);
    this.sweep();
    const b64 = this.#viewOf(buf);
    let stored = 0;
    // In memory, runs of consecutive packets stored into consecutive slots are copied once each
    // (pending.ts); in file mode every packet is copied at once (its record is staged from its slot).
    const run = this.#run;
    run.src = buf;
    run.src32 = this.#src32;
    this.#defer = this.file === null;
    try {
      for (let start = 0; start < n; start += VERIFY_CHUNK) {
        const m = Math.min(VERIFY_CHUNK, n - start);
        const verdicts = this.#verdicts(buf, start, m, codes);
        const base = codes !== undefined ? start : 0;
        for (let i = 0; i < m; i++) {
          let status: InsertStatus;
          if (verdicts[base + i] !== 0) {
            this.invalid++;
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
      run.src = this.data;
      run.src32 = null;
    }
    if (this.file !== null && stored > 0) this.file.flush(true);
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

  /** Stores one packet (`#viewOf(b)` called); the clock reading is in `clock`. */
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
    if (expiry <= this.clock[0]!) {
      this.expiredOnArrival++;
      return InsertStatus.EXPIRED;
    }
    const ids = this.ids;
    const h = ids.hashPacket(b, o, this.#src32);
    if (ids.find(h, b, o) >= 0) {
      this.duplicates++;
      return InsertStatus.DUPLICATE;
    }
    const slot = this.head;
    const queue = this.queue;
    if (this.cursorOf[slot] !== 0) {
      // Expired packets were swept before this call: whatever is here is live, and the oldest.
      this.evicted++;
      this.ids.remove(slot);
      this.addrs.remove(slot);
      if (this.expiry[slot] !== Infinity) queue.remove(slot);
      this.size--;
    }
    if (this.#defer) this.#pend(slot, o);
    else copyPacket(b, b64, o, this.data, this.data64, slot * PACKET_SIZE);
    const cursor = ++this.cursor;
    this.cursorOf[slot] = cursor;
    this.expiry[slot] = expiry;
    ids.add(slot, h);
    this.addrs.append(slot, b, this.#src32, o);
    // The newest cursor, and (within a ttl) almost always the latest expiry: O(1) at a list's tail.
    if (expiry !== Infinity) queue.insert(slot, ttl);
    this.size++;
    this.stored++;
    this.head = slot + 1 === this.capacity ? 0 : slot + 1;
    if (this.file !== null) this.file.stage(slot, cursor);
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
    if (n === 1) copyPacket(run.src, this.#src64, from, this.data, this.data64, run.slot * PACKET_SIZE);
    else this.data.set(run.src.subarray(from, from + n * PACKET_SIZE), run.slot * PACKET_SIZE);
  }

  /** Indexes `slot` (empty until now), whose packet, cursor and expiry are in place (reopening a file). */
  index(slot: number, h: number): void {
    this.ids.add(slot, h);
    this.addrs.append(slot, this.data, this.data32, slot * PACKET_SIZE);
    if (this.expiry[slot] !== Infinity) this.queue.insert(slot, readU32(this.data, slot * PACKET_SIZE + TTL_AT));
    this.size++;
  }

  /** Frees a live slot: out of every index. Its bytes stay until the slot is reused. */
  #release(slot: number): void {
    this.ids.remove(slot);
    this.addrs.remove(slot);
    if (this.expiry[slot] !== Infinity) this.queue.remove(slot); // before the cursor (its order) goes
    this.cursorOf[slot] = 0;
    this.size--;
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

  // -------------------------------------------------------------------------------------------
  // Expiry

  /** The clock reading, not kept (reopening a file compares expiries with it). */
  readClock(): number {
    return this.#now();
  }

  /** Reads the clock and frees what has expired (every public method of PacketStore starts with this). */
  tick(): void {
    this.clock[0] = this.#now();
    this.sweep();
  }

  /** Frees every packet whose expiry is ≤ the current clock reading; how many. */
  sweep(): number {
    const queue = this.queue;
    const now = this.clock[0]!;
    let n = 0;
    while (queue.nextExp <= now) {
      this.#release(queue.nextSlot);
      this.expired++;
      n++;
    }
    return n;
  }

  // -------------------------------------------------------------------------------------------
  // The C path's view of this state

  /** The store's own scalars into the C path's regs (src/store/native.ts R_*). */
  #saveScalars(R: Float64Array): void {
    R[R_CLOCK] = this.clock[0]!;
    R[R_CURSOR] = this.cursor;
    R[R_HEAD] = this.head;
    R[R_SIZE] = this.size;
    R[R_STORED] = this.stored;
    R[R_DUPLICATES] = this.duplicates;
    R[R_EXPIRED] = this.expired;
    R[R_EXPIRED_ON_ARRIVAL] = this.expiredOnArrival;
    R[R_EVICTED] = this.evicted;
    R[R_INVALID] = this.invalid;
  }

  #loadScalars(R: Float64Array): void {
    this.cursor = R[R_CURSOR]!;
    this.head = R[R_HEAD]! | 0;
    this.size = R[R_SIZE]! | 0;
    this.stored = R[R_STORED]!;
    this.duplicates = R[R_DUPLICATES]!;
    this.expired = R[R_EXPIRED]!;
    this.expiredOnArrival = R[R_EXPIRED_ON_ARRIVAL]!;
    this.evicted = R[R_EVICTED]!;
    this.invalid = R[R_INVALID]!;
  }

  parts(): StoreParts {
    return { capacity: this.capacity, data: this.data, ids: this.ids, addrs: this.addrs, queue: this.queue };
  }

  /** Whether insertBatch runs in C. */
  get usesNative(): boolean {
    return this.#native !== null;
  }

  /** PacketStore#comparableState: the bound state, and the scalars in the regs layout. */
  comparableState(): { parts: StoreParts; regs: Float64Array } {
    const regs = new Float64Array(REGS_LENGTH);
    this.#saveScalars(regs);
    regs[R_CLOCK] = 0; // the clock of the last call is not state
    return { parts: this.parts(), regs };
  }

  /** Bytes of the per-slot metadata and the indexes (the slot buffer apart); fixed at construction. */
  get indexBytes(): number {
    return this.cursorOf.byteLength + this.expiry.byteLength + this.ids.bytes + this.addrs.bytes + this.queue.bytes;
  }
}

/** When the packet at b[o] expires: timestamp_ms + ttl_s × 1000, or Infinity for ttl 0 (expired once ≤ now). */
export function expiryOf(b: Uint8Array, o: number): number {
  const ttl = readU32(b, o + TTL_AT);
  return ttl === 0 ? Infinity : readU64(b, o + TS_AT) + ttl * 1000;
}
