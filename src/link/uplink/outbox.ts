/**
 * The durable outbox of an uplink (docs/uplink.md "Guarantees"): every packet handed to an
 * uplink is written to this file before it counts as accepted, and leaves it only once the
 * broker acknowledged it. The file is the store's file format (src/store/format.ts: a header,
 * then a ring of CRC-guarded 528-byte records, record = cursor + CRC + the 512-byte packet)
 * under its own magic, opened and loaded by the store's own code (src/store/file.ts).
 *
 * Cursors number the packets appended, from 1; cursor c lives in slot (c − 1) mod capacity.
 * In memory there is only one byte of state per slot: the packets are read back from the file
 * (the page cache) when they are sent, so a large outbox costs disk, not RAM.
 *
 *   tail ≤ next ≤ head:  [tail, head) are held; [tail, next) were handed to the transport;
 *   a slot is PENDING (to send), IN_FLIGHT (sent, no verdict yet) or DONE (acknowledged).
 *
 * Acknowledged records are zeroed only from the tail, in contiguous runs (one write per ack
 * batch): an ack that overtakes an older unacknowledged packet is kept in memory, and a crash
 * before the older one is acknowledged sends both again. Duplicates, never losses; they are
 * dropped downstream by packet identity (node id, seq).
 *
 * When the ring is full the oldest record is overwritten: that packet is dropped and counted.
 */
import { PACKET_SIZE } from "../../packet/layout.js";
import { StoreError } from "../../store/errors.js";
import { StoreFile } from "../../store/file.js";
import { RECORD, RECORD_SIZE, recordCursor, writeRecordHeader } from "../../store/format.js";
import { UplinkError } from "./errors.js";

/** "QISOUTBX" */
export const OUTBOX_MAGIC = [0x51, 0x49, 0x53, 0x4f, 0x55, 0x54, 0x42, 0x58] as const;

const PENDING = 0;
const IN_FLIGHT = 1;
const DONE = 2;

/** Records staged in memory between two commits at most (a commit is one write() per run). */
const STAGE_RECORDS = 256;

export interface OutboxOptions {
  /** the uplink's name, for errors */
  name: string;
  path: string;
  /** packets held at most */
  capacity: number;
  /** fdatasync after each commit (durable on power loss) */
  sync: boolean;
}

export interface OutboxCounters {
  /** packets appended (accepted) */
  appended: number;
  /** packets acknowledged by the broker */
  acked: number;
  /** packets overwritten unacknowledged because the outbox was full */
  dropped: number;
  /** packets handed to the transport again after a failure or a reconnect */
  resent: number;
  /** records found damaged in the file (at load or read back) and skipped */
  corrupt: number;
}

/** What take() hands out: `count` packets, contiguous in `packets`, with their cursors. Reused by the next take(). */
export interface OutboxBatch {
  count: number;
  packets: Buffer;
  cursors: Float64Array;
}

export class Outbox {
  readonly name: string;
  readonly path: string;
  readonly capacity: number;
  readonly sync: boolean;
  readonly counters: OutboxCounters = { appended: 0, acked: 0, dropped: 0, resent: 0, corrupt: 0 };
  /** packets found in the file at open (resumed after a restart) */
  readonly resumed: number;
  #file: StoreFile | null;
  readonly #state: Uint8Array;
  #tail = 1;
  #next = 1;
  #head = 1;
  /** packets PENDING or IN_FLIGHT */
  #held = 0;
  #inFlight = 0;
  /** records staged at most: a commit never overwrites its own records */
  readonly #stageMax: number;
  /** packets taken once already and now PENDING again (so that a second send counts as a resend) */
  #everSent = 1;
  readonly #stage = Buffer.alloc(STAGE_RECORDS * RECORD_SIZE);
  #staged = 0;
  /** scratch for reads and zero writes */
  #records: Buffer = Buffer.alloc(0);
  #zero: Buffer = Buffer.alloc(0);
  readonly #batch: OutboxBatch = { count: 0, packets: Buffer.alloc(0), cursors: new Float64Array(0) };
  /** called when the ring overwrote unacknowledged packets (once per append that did) */
  onDrop: ((dropped: number) => void) | null = null;

  constructor(options: OutboxOptions) {
    this.name = options.name;
    this.path = options.path;
    this.capacity = options.capacity;
    this.sync = options.sync;
    this.#state = new Uint8Array(this.capacity).fill(DONE);
    this.#stageMax = Math.min(STAGE_RECORDS, this.capacity);
    try {
      this.#file = StoreFile.open(this.path, this.capacity, OUTBOX_MAGIC);
    } catch (e) {
      throw this.#fail(e, "ERR_OUTBOX_FILE", "cannot open");
    }
    try {
      this.resumed = this.#load();
    } catch (e) {
      this.#file.close();
      throw this.#fail(e, "ERR_OUTBOX_FILE", "cannot load");
    }
  }

  /** Reads back what a previous run left: every intact record is pending again, oldest first. */
  #load(): number {
    const file = this.#file!;
    if (file.created) return 0;
    const cap = this.capacity;
    // The store's loader reads, CRC-checks and verifies every record; the packet copies it makes are
    // dropped after this (the outbox reads packets from the file when it sends them).
    const cursors = new Float64Array(cap);
    const result = file.load(Buffer.alloc(cap * PACKET_SIZE), null, cursors);
    for (const slot of result.damaged) file.clear(slot);
    this.counters.corrupt += result.corrupt;
    if (result.slots.length === 0) return 0;
    let min = Infinity;
    for (const slot of result.slots) min = Math.min(min, cursors[slot]!);
    this.#tail = this.#next = this.#everSent = min;
    this.#head = result.maxCursor + 1;
    for (const slot of result.slots) this.#state[slot] = PENDING;
    this.#held = result.slots.length;
    // Records between tail and head that are missing (damaged) stay DONE: nothing to send.
    return this.#held;
  }

  #fail(e: unknown, code: "ERR_OUTBOX_FILE" | "ERR_OUTBOX_IO", what: string): UplinkError {
    const reason = e instanceof StoreError ? e.message.replace(/^store file "[^"]*": /, "") : (e as Error).message;
    return new UplinkError(code, this.name, `${this.name} outbox ${JSON.stringify(this.path)}: ${what}: ${reason}`, { cause: e });
  }

  /** Packets held (not yet acknowledged). */
  get size(): number {
    return this.#held;
  }

  /** Packets held and not in flight: what a drain still has to send. */
  get backlog(): number {
    return this.#held - this.#inFlight;
  }

  /** Packets sent and waiting for the broker's verdict. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Copies one packet into the stage; commit() writes the stage. The stage commits itself when full. */
  stage(buf: Uint8Array, offset: number): void {
    if (this.#file === null) throw new UplinkError("ERR_OUTBOX_IO", this.name, `${this.name} outbox is closed`);
    if (this.#staged === this.#stageMax) this.commit();
    const o = this.#staged * RECORD_SIZE;
    this.#stage.set(buf.subarray(offset, offset + PACKET_SIZE), o + RECORD.packet);
    this.#staged++;
  }

  get staged(): number {
    return this.#staged;
  }

  /**
   * Appends the staged packets: numbered, written (one write() per contiguous run of slots) and,
   * with `sync`, fdatasync'ed. When this returns they survive a kill -9 (and, with sync, a power
   * loss). Throws ERR_OUTBOX_IO when the file cannot be written: the staged packets are dropped
   * and not accepted.
   */
  commit(): void {
    const n = this.#staged;
    if (n === 0) return;
    this.#staged = 0;
    const cap = this.capacity;
    const first = this.#head;
    for (let i = 0; i < n; i++) writeRecordHeader(this.#stage, i * RECORD_SIZE, first + i);
    let dropped = 0;
    // Make room first: the records to be overwritten leave the ring (counted when unacknowledged).
    const over = first + n - cap - this.#tail;
    for (let k = 0; k < over; k++) {
      const slot = (this.#tail - 1) % cap;
      if (this.#state[slot] !== DONE) {
        dropped++;
        this.#settle(slot);
      }
      this.#tail++;
    }
    if (this.#next < this.#tail) this.#next = this.#tail;
    if (this.#everSent < this.#tail) this.#everSent = this.#tail;
    try {
      let i = 0;
      while (i < n) {
        const slot = (first + i - 1) % cap;
        const run = Math.min(n - i, cap - slot);
        this.#file!.write(this.#stage.subarray(i * RECORD_SIZE), run * RECORD_SIZE, slot);
        i += run;
      }
      if (this.sync) this.#file!.sync();
    } catch (e) {
      // Written or not, these records are not accepted: their slots stay DONE (a record that did
      // reach the file is sent after a restart: a duplicate at worst).
      throw this.#fail(e, "ERR_OUTBOX_IO", `${n} packet(s) not accepted`);
    } finally {
      this.#head = first + n;
    }
    for (let i = 0; i < n; i++) this.#state[(first + i - 1) % cap] = PENDING;
    this.#held += n;
    this.counters.appended += n;
    if (dropped > 0) {
      this.counters.dropped += dropped;
      this.onDrop?.(dropped);
    }
  }

  /**
   * Up to `max` packets to send, oldest first, marked IN_FLIGHT: read back from the file (one
   * read() per contiguous run) and checked against their record CRC. The batch is reused by the
   * next call.
   */
  take(max: number): OutboxBatch {
    const b = this.#batch;
    b.count = 0;
    if (this.#file === null) return b;
    if (b.cursors.length < max) {
      b.cursors = new Float64Array(max);
      b.packets = Buffer.allocUnsafe(max * PACKET_SIZE);
    }
    if (this.#records.length < max * RECORD_SIZE) this.#records = Buffer.allocUnsafe(max * RECORD_SIZE);
    const cap = this.capacity;
    while (b.count < max && this.#next < this.#head) {
      // Skip what is already DONE or IN_FLIGHT (acknowledged out of order, or sent before a release).
      const slot0 = (this.#next - 1) % cap;
      if (this.#state[slot0] !== PENDING) {
        this.#next++;
        continue;
      }
      const run = Math.min(max - b.count, this.#head - this.#next, cap - slot0);
      this.#file.read(this.#records, run, slot0);
      for (let i = 0; i < run; i++) {
        const cursor = this.#next + i;
        const slot = slot0 + i;
        if (this.#state[slot] !== PENDING) continue;
        const o = i * RECORD_SIZE;
        if (recordCursor(this.#records, o) !== cursor) {
          // The file lost it (a disk error): nothing to send; the slot is freed like an ack.
          this.counters.corrupt++;
          this.#settle(slot);
          continue;
        }
        this.#records.copy(b.packets, b.count * PACKET_SIZE, o + RECORD.packet, o + RECORD_SIZE);
        b.cursors[b.count++] = cursor;
        this.#state[slot] = IN_FLIGHT;
        this.#inFlight++;
        if (cursor < this.#everSent) this.counters.resent++;
      }
      this.#next += run;
    }
    if (this.#next > this.#everSent) this.#everSent = this.#next;
    this.#advanceTail();
    return b;
  }

  /** The broker acknowledged these packets: they leave the outbox (their records are zeroed by trim()). */
  ack(cursors: ArrayLike<number>, from = 0, to = cursors.length): void {
    if (this.#file === null) return;
    for (let i = from; i < to; i++) {
      const c = cursors[i]!;
      // Older than the tail: already overwritten (counted as dropped) or acknowledged before.
      if (c < this.#tail || c >= this.#head) continue;
      const slot = (c - 1) % this.capacity;
      if (this.#state[slot] === DONE) continue;
      this.#settle(slot);
      this.counters.acked++;
    }
  }

  /**
   * Zeroes the acknowledged records at the tail in the file. Separate from ack() so that the
   * acknowledgements of one I/O turn (a TCP read often holds many PUBACKs) cost one write.
   */
  trim(): void {
    if (this.#file !== null) this.#advanceTail();
  }

  /** These packets were not acknowledged (a publish error, a lost connection): they will be sent again. */
  release(cursors: ArrayLike<number>, from = 0, to = cursors.length): void {
    for (let i = from; i < to; i++) {
      const c = cursors[i]!;
      if (c < this.#tail || c >= this.#head) continue;
      const slot = (c - 1) % this.capacity;
      if (this.#state[slot] !== IN_FLIGHT) continue;
      this.#state[slot] = PENDING;
      this.#inFlight--;
      if (c < this.#next) this.#next = c;
    }
  }

  /** Every packet in flight is released (the connection is gone): sending restarts from the oldest. */
  releaseAll(): void {
    const cap = this.capacity;
    for (let c = this.#tail; c < this.#head; c++) {
      const slot = (c - 1) % cap;
      if (this.#state[slot] === IN_FLIGHT) {
        this.#state[slot] = PENDING;
        this.#inFlight--;
        if (c < this.#next) this.#next = c;
      }
    }
  }

  /** A held packet leaves: acknowledged, overwritten, or lost by the file. */
  #settle(slot: number): void {
    if (this.#state[slot] === IN_FLIGHT) this.#inFlight--;
    this.#state[slot] = DONE;
    this.#held--;
  }

  /** Zeroes the acknowledged records at the tail, one write per contiguous run. */
  #advanceTail(): void {
    const cap = this.capacity;
    const from = this.#tail;
    let to = from;
    while (to < this.#head && this.#state[(to - 1) % cap] === DONE) to++;
    if (to === from) return;
    this.#tail = to;
    if (this.#next < to) this.#next = to;
    try {
      for (let c = from; c < to; ) {
        const slot = (c - 1) % cap;
        const run = Math.min(to - c, cap - slot, STAGE_RECORDS);
        if (this.#zero.length < run * RECORD_SIZE) this.#zero = Buffer.alloc(STAGE_RECORDS * RECORD_SIZE);
        this.#file!.write(this.#zero, run * RECORD_SIZE, slot);
        c += run;
      }
    } catch {
      // A record left behind is sent again after a restart: a duplicate, not a loss. The next
      // write to the file reports the disk's trouble.
    }
  }

  close(): void {
    if (this.#file === null) return;
    try {
      this.#advanceTail();
      this.commit();
    } finally {
      this.#file.close();
      this.#file = null;
    }
  }
}
