/**
 * File mode's side of the store (docs/store.md, "File mode"): rebuilding the ring from the
 * file's records when it opens, and staging the record of each stored packet so that runs of
 * consecutive slots go to the file in one positioned write. The file itself (opening,
 * validating, reading, writing) is file.ts; the record layout is format.ts.
 */
import { PACKET_SIZE } from "../packet/layout.js";
import { copyPacket, f64View } from "./copy.js";
import { StoreFile } from "./file.js";
import { RECORD, RECORD_SIZE, writeRecordHeader } from "./format.js";
import { expiryOf, type StoreRing } from "./ring.js";

/** Records staged before one positioned write. */
const RUN_RECORDS = 64;

export class StoreMirror {
  readonly file: StoreFile;
  /** records that were neither empty nor intact when the file was opened (file.ts), and duplicates among them */
  corruptOnLoad = 0;
  /** live packets read back when the file was opened */
  loaded = 0;
  readonly #data: Buffer;
  readonly #data64: Float64Array | null;
  readonly #syncWrites: boolean;
  readonly #records: Buffer;
  readonly #records64: Float64Array | null;
  #pendingSlot = 0;
  #pendingCount = 0;

  /** Opens (or creates) the file for `ring` and rebuilds the ring from it; ERR_STORE_FILE when it cannot. */
  static open(path: string, ring: StoreRing, syncWrites: boolean): StoreMirror {
    const records = Buffer.alloc(Math.min(RUN_RECORDS, ring.capacity) * RECORD_SIZE);
    const file = StoreFile.open(path, ring.capacity);
    const mirror = new StoreMirror(file, ring, records, syncWrites);
    try {
      mirror.#load(ring);
    } catch (e) {
      file.close();
      throw e;
    }
    return mirror;
  }

  private constructor(file: StoreFile, ring: StoreRing, records: Buffer, syncWrites: boolean) {
    this.file = file;
    this.#data = ring.data;
    this.#data64 = ring.data64;
    this.#records = records;
    this.#records64 = f64View(records);
    this.#syncWrites = syncWrites;
  }

  /** Rebuilds the ring's indexes from the file's records, oldest first. */
  #load(ring: StoreRing): void {
    const file = this.file;
    const cap = ring.capacity;
    const cursorOf = ring.cursorOf;
    const data = ring.data;
    const { maxCursor, corrupt, slots, damaged } = file.load(data, ring.data64, cursorOf);
    this.corruptOnLoad = corrupt;
    ring.cursor = maxCursor;
    ring.head = maxCursor % cap;
    const now = ring.readClock();
    // Oldest first: the slots from the ring's head on, then those before it.
    const n = slots.length;
    let start = 0;
    while (start < n && slots[start]! < ring.head) start++;
    for (let k = 0; k < n; k++) {
      const slot = slots[(start + k) % n]!;
      const o = slot * PACKET_SIZE;
      const expiry = expiryOf(data, o);
      ring.expiry[slot] = expiry;
      if (expiry <= now) {
        cursorOf[slot] = 0;
        ring.expired++;
        continue;
      }
      const h = ring.ids.hashPacket(data, o);
      if (ring.ids.find(h, data, o) >= 0) {
        // Two intact records with one identity cannot come from this store: keep the older.
        cursorOf[slot] = 0;
        damaged.push(slot);
        this.corruptOnLoad++;
        continue;
      }
      ring.index(slot, h);
      this.loaded++;
    }
    for (const slot of damaged) file.clear(slot);
  }

  /** Puts the record of `slot` in the run to write; consecutive slots go in one write. */
  stage(slot: number, cursor: number): void {
    const records = this.#records;
    if (this.#pendingCount > 0 && (slot !== this.#pendingSlot + this.#pendingCount || this.#pendingCount * RECORD_SIZE === records.length)) this.flush(false);
    if (this.#pendingCount === 0) this.#pendingSlot = slot;
    const r = this.#pendingCount++ * RECORD_SIZE;
    copyPacket(this.#data, this.#data64, slot * PACKET_SIZE, records, this.#records64, r + RECORD.packet);
    writeRecordHeader(records, r, cursor);
  }

  /** Writes the staged run; at the `end` of an insert call, also fdatasyncs when syncWrites is set. */
  flush(end: boolean): void {
    const n = this.#pendingCount;
    if (n > 0) {
      this.#pendingCount = 0;
      this.file.write(this.#records, n * RECORD_SIZE, this.#pendingSlot);
    }
    if (end && this.#syncWrites) this.file.sync();
  }

  /** Writes what is staged, then closes the file (even when the write fails). */
  close(): void {
    try {
      this.flush(false);
    } finally {
      this.file.close();
    }
  }
}
