/**
 * The file behind a file-backed store: opening and validating it, reading every record back
 * into the slot buffer, and positioned writes of runs of records (docs/store.md "File format").
 * Every failure to open or read is an ERR_STORE_FILE naming the path and the reason; a failure
 * to write or sync later is ERR_STORE_IO.
 */
import { closeSync, fdatasyncSync, fstatSync, ftruncateSync, openSync, readSync, writeSync } from "node:fs";
import { codec } from "../packet/codec.js";
import { PACKET_SIZE } from "../packet/layout.js";
import { copyPacket } from "./copy.js";
import { StoreError, type StoreFileProblem } from "./errors.js";
import {
  checkFileHeader,
  encodeFileHeader,
  FILE_HEADER_SIZE,
  fileSize,
  isAllZero,
  RECORD,
  RECORD_SIZE,
  recordCursor,
  recordPosition,
  type FileMagic,
  FILE_MAGIC,
} from "./format.js";

/**
 * Records read per read() call while loading (~1 MiB, freed after loading): few calls, so that
 * even a large file's load stays too short to wake V8's optimising compiler (each read also
 * runs Node's argument checks).
 */
const READ_RECORDS = 2048;
/** Packets verified per verifyBatch() call while loading. */
const VERIFY_PACKETS = 4096;
const ZERO_RECORD = Buffer.alloc(RECORD_SIZE);

export interface LoadResult {
  /** the highest cursor of an intact record (0 when none): the store continues after it */
  maxCursor: number;
  /** records that were neither empty nor intact: torn, garbage, failing verification, or stale */
  corrupt: number;
  /** the slots holding an intact record (their cursors are set), in slot order */
  slots: Int32Array;
  /** the slots whose record is corrupt (to be cleared in the file) */
  damaged: number[];
}

function fileError(path: string, reason: StoreFileProblem, message: string, cause?: unknown): StoreError {
  return new StoreError("ERR_STORE_FILE", `store file ${JSON.stringify(path)}: ${message}`, { path, reason, cause });
}

export class StoreFile {
  readonly path: string;
  readonly capacity: number;
  /** true when this open created the file (or initialised an empty one) */
  readonly created: boolean;
  #fd: number;
  #size: number;

  private constructor(path: string, capacity: number, fd: number, size: number, created: boolean) {
    this.path = path;
    this.capacity = capacity;
    this.#fd = fd;
    this.#size = size;
    this.created = created;
  }

  /**
   * Opens `path` for a store of `capacity` slots, creating it when missing (an existing empty
   * file is initialised too). Refuses anything that is not a version-1 store file of exactly
   * this capacity. `magic` tells which kind of file of this format it is: an uplink outbox
   * (src/link/uplink/outbox.ts) is the same ring of CRC-guarded records under its own magic,
   * so that neither can be opened as the other.
   */
  static open(path: string, capacity: number, magic: FileMagic = FILE_MAGIC): StoreFile {
    let fd: number;
    try {
      fd = openSync(path, "r+");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw fileError(path, "open-failed", `cannot open: ${(e as Error).message}`, e);
      try {
        fd = openSync(path, "wx+");
      } catch (e2) {
        throw fileError(path, "open-failed", `cannot create: ${(e2 as Error).message}`, e2);
      }
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw fileError(path, "not-a-file", "not a regular file");
      if (st.size === 0) {
        try {
          writeAll(fd, encodeFileHeader(capacity, magic), FILE_HEADER_SIZE, 0);
          ftruncateSync(fd, fileSize(capacity));
          fdatasyncSync(fd);
        } catch (e) {
          throw fileError(path, "init-failed", `cannot initialise: ${(e as Error).message}`, e);
        }
        return new StoreFile(path, capacity, fd, fileSize(capacity), true);
      }
      if (st.size < FILE_HEADER_SIZE)
        throw fileError(path, "truncated-header", `${st.size} bytes: shorter than the ${FILE_HEADER_SIZE}-byte file header`);
      const header = Buffer.alloc(FILE_HEADER_SIZE);
      readAll(path, fd, header, FILE_HEADER_SIZE, 0);
      const problem = checkFileHeader(header, capacity, magic);
      if (problem !== null) throw fileError(path, problem.reason, problem.message);
      return new StoreFile(path, capacity, fd, st.size, false);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  /**
   * Reads every record into `data` (slot i → data[i × 512]) and `cursors` (0 = empty). A record
   * counts when its header CRC binds it to its packet, its cursor belongs to its slot
   * ((cursor − 1) mod capacity = slot), its packet passes full verification, and its cursor is
   * among the newest `capacity` ones; anything else that is not all zero is corrupt. Records
   * past the end of a short file are empty, a partial last record is corrupt unless all zero;
   * the file is then extended to its full size.
   */
  load(data: Buffer, data64: Float64Array | null, cursors: Float64Array): LoadResult {
    const cap = this.capacity;
    // Every later pass walks only the slots found here, never the whole capacity: on a new or
    // mostly empty file, loops over every slot would run hot enough to wake V8's optimising
    // compiler at start-up, ~5 MiB of an idle agent's memory (docs/devices.md, "Idle memory").
    const found = new Int32Array(cap);
    let nFound = 0;
    const damaged: number[] = [];
    const chunk = Buffer.alloc(Math.min(READ_RECORDS, cap) * RECORD_SIZE);
    const chunk64 = new Float64Array(chunk.buffer, chunk.byteOffset, chunk.length >>> 3);
    const zero = Buffer.alloc(chunk.length);
    for (let first = 0; first < cap; first += READ_RECORDS) {
      const n = Math.min(READ_RECORDS, cap - first);
      const pos = recordPosition(first);
      if (pos >= this.#size) break;
      const want = Math.min(n * RECORD_SIZE, this.#size - pos);
      const got = readAll(this.path, this.#fd, chunk, want, pos);
      // Never written (a sparse or new file): one memcmp for the whole chunk.
      if (got === chunk.length ? chunk.equals(zero) : chunk.compare(zero, 0, got, 0, got) === 0) continue;
      for (let i = 0; i < n; i++) {
        const slot = first + i;
        const o = i * RECORD_SIZE;
        if (o >= got) break;
        const avail = Math.min(RECORD_SIZE, got - o);
        if (isAllZero(chunk, o, o + avail)) continue;
        const cursor = avail === RECORD_SIZE ? recordCursor(chunk, o) : -1;
        if (cursor < 0 || (cursor - 1) % cap !== slot) {
          damaged.push(slot);
          continue;
        }
        copyPacket(chunk, chunk64, o + RECORD.packet, data, data64, slot * PACKET_SIZE);
        cursors[slot] = cursor;
        found[nFound++] = slot;
      }
    }
    // Full packet verification, in batches over the slot buffer where records were found.
    const codes = new Uint8Array(Math.min(VERIFY_PACKETS, cap));
    let kept = 0;
    for (let j = 0; j < nFound; ) {
      const first = found[j]! - (found[j]! % VERIFY_PACKETS);
      const n = Math.min(VERIFY_PACKETS, cap - first);
      codec.verifyBatch(data.subarray(first * PACKET_SIZE, (first + n) * PACKET_SIZE), codes);
      for (; j < nFound && found[j]! < first + n; j++) {
        const slot = found[j]!;
        if (codes[slot - first] === 0) found[kept++] = slot;
        else {
          cursors[slot] = 0;
          damaged.push(slot);
        }
      }
    }
    nFound = kept;
    // Only the newest `capacity` cursors can coexist; an older one is a stale leftover.
    let maxCursor = 0;
    for (let j = 0; j < nFound; j++) if (cursors[found[j]!]! > maxCursor) maxCursor = cursors[found[j]!]!;
    kept = 0;
    for (let j = 0; j < nFound; j++) {
      const slot = found[j]!;
      if (cursors[slot]! <= maxCursor - cap) {
        cursors[slot] = 0;
        damaged.push(slot);
      } else found[kept++] = slot;
    }
    if (this.#size < fileSize(cap)) {
      try {
        ftruncateSync(this.#fd, fileSize(cap));
        this.#size = fileSize(cap);
      } catch (e) {
        throw new StoreError("ERR_STORE_IO", `store file ${JSON.stringify(this.path)}: cannot extend: ${(e as Error).message}`, { path: this.path, cause: e });
      }
    }
    return { maxCursor, corrupt: damaged.length, slots: found.subarray(0, kept), damaged };
  }

  /** Reads `count` consecutive records from slot `slot` into `buf` (the caller checks them: recordCursor). */
  read(buf: Uint8Array, count: number, slot: number): void {
    readAll(this.path, this.#fd, buf, count * RECORD_SIZE, recordPosition(slot));
  }

  /** Writes `length` bytes of consecutive records from `buf` at slot `slot`. */
  write(buf: Uint8Array, length: number, slot: number): void {
    try {
      writeAll(this.#fd, buf, length, recordPosition(slot));
    } catch (e) {
      throw new StoreError("ERR_STORE_IO", `store file ${JSON.stringify(this.path)}: write failed: ${(e as Error).message}`, { path: this.path, cause: e });
    }
  }

  /** Overwrites a record with zeros (an empty slot). */
  clear(slot: number): void {
    this.write(ZERO_RECORD, RECORD_SIZE, slot);
  }

  /** fdatasync: everything written so far survives a power loss once this returns. */
  sync(): void {
    try {
      fdatasyncSync(this.#fd);
    } catch (e) {
      throw new StoreError("ERR_STORE_IO", `store file ${JSON.stringify(this.path)}: sync failed: ${(e as Error).message}`, { path: this.path, cause: e });
    }
  }

  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    closeSync(fd);
  }
}

function writeAll(fd: number, buf: Uint8Array, length: number, position: number): void {
  let done = 0;
  while (done < length) done += writeSync(fd, buf, done, length - done, position + done);
}

/** Reads up to `length` bytes at `position`; returns how many (fewer only at end of file). */
function readAll(path: string, fd: number, buf: Uint8Array, length: number, position: number): number {
  let done = 0;
  try {
    while (done < length) {
      const n = readSync(fd, buf, done, length - done, position + done);
      if (n === 0) break;
      done += n;
    }
  } catch (e) {
    throw fileError(path, "read-failed", `read failed: ${(e as Error).message}`, e);
  }
  return done;
}
