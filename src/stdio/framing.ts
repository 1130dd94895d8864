/**
 * The two framings of the stdio protocol (docs/stdio.md), input and output:
 *
 *   ndjson  one JSON object per line (LF; a CR before it is ignored as JSON whitespace)
 *   cbor    a 4-byte big-endian length, then that many bytes holding one CBOR map
 *
 * Readers take stdin chunks as they come and hand each complete message to a sink, numbered
 * from 1 (the line number in ndjson, the frame number in cbor). They never throw on bad input:
 * a message that cannot be decoded, or is longer than MAX_MESSAGE_BYTES, goes to `sink.bad`
 * and reading goes on with the next line (ndjson) or after the announced length (cbor).
 *
 * Writers collect the messages of one event-loop turn and hand them over as one chunk.
 */
import { Decoder, Encoder } from "cbor-x";
import { decodeFlatMap } from "./cbor-flat.js";
import type { Framing } from "./framings.js";
import { describeInvalidUtf8, findInvalidUtf8Cbor, findInvalidUtf8Json, invalidUtf8Problem, type InvalidUtf8 } from "./utf8-locate.js";

export { FRAMINGS, type Framing } from "./framings.js";

/** Largest request accepted, in bytes (the line without its newline, or the frame without its length). */
export const MAX_MESSAGE_BYTES = 65_536;

export interface MessageSink {
  /** a decoded message (any JSON/CBOR value: the session checks that it is an object) */
  message(value: unknown, n: number): void;
  /**
   * a message that could not be decoded, or was too long: `code` is ERR_STDIO_SYNTAX,
   * ERR_STDIO_OVERSIZE or ERR_STDIO_UTF8 (then `problems` names the field when it is known)
   */
  bad(code: "ERR_STDIO_SYNTAX" | "ERR_STDIO_OVERSIZE" | "ERR_STDIO_UTF8", reason: string, n: number, problems?: { path: string; message: string }[]): void;
}

function badUtf8(sink: MessageSink, p: InvalidUtf8, where: string, n: number): void {
  sink.bad("ERR_STDIO_UTF8", describeInvalidUtf8(p, where), n, invalidUtf8Problem(p, where));
}

export interface Reader {
  push(chunk: Buffer): void;
  /** end of input: a last line without a newline is still a message; a partial frame is an error */
  end(): void;
  /** lines (ndjson, blank ones included) or frames (cbor) read so far */
  readonly count: number;
}

const NL = 10;

function isBlank(b: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = b[i];
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}

export class NdjsonReader implements Reader {
  readonly #sink: MessageSink;
  readonly #max: number;
  /** bytes of a line whose newline has not come yet */
  #rest: Buffer[] = [];
  #restBytes = 0;
  /** discarding an oversize line up to its newline */
  #skipping = false;
  #line = 0;

  constructor(sink: MessageSink, max = MAX_MESSAGE_BYTES) {
    this.#sink = sink;
    this.#max = max;
  }

  get count(): number {
    return this.#line;
  }

  push(chunk: Buffer): void {
    let p = 0;
    const len = chunk.length;
    if (this.#skipping || this.#restBytes > 0) {
      const nl = chunk.indexOf(NL);
      if (nl < 0) {
        if (!this.#skipping) this.#keep(chunk, 0, len);
        return;
      }
      if (this.#skipping) this.#skipping = false;
      else {
        const lineBytes = this.#restBytes + nl;
        this.#rest.push(chunk.subarray(0, nl));
        const whole = Buffer.concat(this.#rest, lineBytes);
        this.#rest = [];
        this.#restBytes = 0;
        this.#one(whole, 0, lineBytes);
      }
      p = nl + 1;
    }
    for (;;) {
      const nl = chunk.indexOf(NL, p);
      if (nl < 0) break;
      this.#one(chunk, p, nl);
      p = nl + 1;
    }
    if (p < len) this.#keep(chunk, p, len);
  }

  end(): void {
    if (this.#restBytes > 0 && !this.#skipping) {
      const whole = Buffer.concat(this.#rest, this.#restBytes);
      this.#rest = [];
      this.#restBytes = 0;
      this.#one(whole, 0, whole.length);
    }
  }

  /** Keeps a line's start until its newline comes (copied: the chunk is not ours). */
  #keep(chunk: Buffer, start: number, end: number): void {
    const n = end - start;
    if (this.#restBytes + n > this.#max) {
      // Too long already: report it now (under its line number) and drop bytes up to its newline.
      this.#line++;
      this.#rest = [];
      this.#restBytes = 0;
      this.#skipping = true;
      this.#sink.bad("ERR_STDIO_OVERSIZE", `line longer than ${this.#max} bytes: discarded up to its newline`, this.#line);
      return;
    }
    this.#rest.push(Buffer.from(chunk.subarray(start, end)));
    this.#restBytes += n;
  }

  #one(b: Buffer, start: number, end: number): void {
    const n = ++this.#line;
    if (end - start > this.#max) {
      this.#sink.bad("ERR_STDIO_OVERSIZE", `line of ${end - start} bytes, longer than ${this.#max}`, n);
      return;
    }
    if (end === start || isBlank(b, start, end)) return; // a blank line is no message: not answered
    let value: unknown;
    const text = b.toString("utf8", start, end);
    // The decoder put U+FFFD for any bad bytes: only then is the line checked (it may hold a real U+FFFD).
    if (text.includes("\ufffd")) {
      const invalid = findInvalidUtf8Json(b, start, end);
      if (invalid !== null) return badUtf8(this.#sink, invalid, "line", n);
    }
    try {
      value = JSON.parse(text);
    } catch (e) {
      this.#sink.bad("ERR_STDIO_SYNTAX", `not JSON: ${(e as Error).message}`, n);
      return;
    }
    this.#sink.message(value, n);
  }
}

/**
 * CBOR input. 64-bit integers decode as numbers (a C encoder may well write a small `since` as
 * a uint64); maps with text keys as plain objects.
 */
export const cborDecoder = new Decoder({ mapsAsObjects: true, useRecords: false, int64AsNumber: true } as ConstructorParameters<typeof Decoder>[0]);
/** CBOR output: plain maps, no cbor-x record extension, so that any CBOR decoder reads it. */
export const cborEncoder = new Encoder({ useRecords: false, mapsAsObjects: true } as ConstructorParameters<typeof Encoder>[0]);

export class CborReader implements Reader {
  readonly #sink: MessageSink;
  readonly #max: number;
  /** the start of a frame whose bytes have not all come: at most 3 bytes of its length... */
  #head: Buffer | null = null;
  /** ...or, once the length is known, the whole frame (length included) being filled */
  #partial: Buffer | null = null;
  #filled = 0;
  /** bytes still to discard of an oversize frame */
  #skip = 0;
  #frame = 0;

  constructor(sink: MessageSink, max = MAX_MESSAGE_BYTES) {
    this.#sink = sink;
    this.#max = max;
  }

  get count(): number {
    return this.#frame;
  }

  push(chunk: Buffer): void {
    if (this.#skip > 0) {
      if (chunk.length <= this.#skip) {
        this.#skip -= chunk.length;
        return;
      }
      chunk = chunk.subarray(this.#skip);
      this.#skip = 0;
    }
    if (this.#partial !== null) {
      // Filling a frame whose length we know: copy only what it still needs (linear, whatever the chunking).
      const part = this.#partial;
      const n = Math.min(part.length - this.#filled, chunk.length);
      chunk.copy(part, this.#filled, 0, n);
      this.#filled += n;
      if (this.#filled < part.length) return;
      this.#partial = null;
      this.#one(part, 4, part.length);
      chunk = chunk.subarray(n);
    } else if (this.#head !== null) {
      chunk = Buffer.concat([this.#head, chunk]); // at most 3 bytes before it
      this.#head = null;
    }
    const b = chunk;
    let p = 0;
    const len = b.length;
    while (len - p >= 4) {
      const n = b.readUInt32BE(p);
      if (n > this.#max) {
        const frame = ++this.#frame;
        this.#sink.bad("ERR_STDIO_OVERSIZE", `frame of ${n} bytes, longer than ${this.#max}: its bytes are discarded`, frame);
        const have = len - p - 4;
        if (have >= n) {
          p += 4 + n;
          continue;
        }
        this.#skip = n - have;
        return;
      }
      if (len - p - 4 < n) {
        // Copied: the chunk is not ours.
        this.#partial = Buffer.allocUnsafe(4 + n);
        this.#filled = b.copy(this.#partial, 0, p, len);
        return;
      }
      this.#one(b, p + 4, p + 4 + n);
      p += 4 + n;
    }
    if (p < len) this.#head = Buffer.from(b.subarray(p));
  }

  end(): void {
    const pending = this.#partial !== null ? this.#filled : (this.#head?.length ?? 0);
    if (pending > 0) {
      const n = ++this.#frame;
      this.#sink.bad("ERR_STDIO_SYNTAX", `input ended inside a frame (${pending} bytes of it)`, n);
    }
    this.#partial = null;
    this.#head = null;
  }

  #one(b: Buffer, start: number, end: number): void {
    const n = ++this.#frame;
    if (end === start) {
      this.#sink.bad("ERR_STDIO_SYNTAX", "empty frame: expected a CBOR map", n);
      return;
    }
    let value: unknown = decodeFlatMap(b, start, end);
    if (value !== undefined) {
      this.#sink.message(value, n);
      return;
    }
    // The fast path takes ASCII text only; cbor-x would put U+FFFD for bad bytes, or misread what follows them.
    const invalid = findInvalidUtf8Cbor(b, start, end);
    if (invalid !== null) return badUtf8(this.#sink, invalid, "frame", n);
    try {
      value = cborDecoder.decode(b.subarray(start, end));
    } catch (e) {
      this.#sink.bad("ERR_STDIO_SYNTAX", `not CBOR: ${(e as Error).message}`, n);
      return;
    }
    this.#sink.message(value, n);
  }
}

export function createReader(framing: Framing, sink: MessageSink, max = MAX_MESSAGE_BYTES): Reader {
  return framing === "cbor" ? new CborReader(sink, max) : new NdjsonReader(sink, max);
}

// ---------------------------------------------------------------------------------------------
// Output

export interface Writer {
  /** appends one message */
  add(msg: object): void;
  /** bytes (ndjson: UTF-16 units, close enough) added since the last take() */
  readonly pending: number;
  /** the messages added since the last call, as one chunk, or null when there are none */
  take(): string | Buffer | null;
}

export class NdjsonWriter implements Writer {
  #out = "";

  add(msg: object): void {
    this.#out += `${JSON.stringify(msg)}\n`;
  }

  /** appends a message already serialized as one line of JSON (no newline) */
  addJson(text: string): void {
    this.#out += `${text}\n`;
  }

  get pending(): number {
    return this.#out.length;
  }

  take(): string | null {
    if (this.#out.length === 0) return null;
    const s = this.#out;
    this.#out = "";
    return s;
  }
}

/** CBOR text heads of the observe ack's fixed parts. */
const ACK_PARTS = {
  event: Buffer.from([0x65, ...Buffer.from("event"), 0x63, ...Buffer.from("ack"), 0x62, ...Buffer.from("op"), 0x67, ...Buffer.from("observe")]),
  id: Buffer.from([0x62, ...Buffer.from("id")]),
  address: Buffer.from([0x67, ...Buffer.from("address")]),
  seq: Buffer.from([0x63, ...Buffer.from("seq")]),
  cursor: Buffer.from([0x66, ...Buffer.from("cursor")]),
};

export class CborWriter implements Writer {
  #buf = Buffer.allocUnsafe(65_536);
  #pos = 0;

  add(msg: object): void {
    const bytes = cborEncoder.encode(msg) as Uint8Array;
    this.#room(4 + bytes.length);
    this.#buf.writeUInt32BE(bytes.length, this.#pos);
    this.#buf.set(bytes, this.#pos + 4);
    this.#pos += 4 + bytes.length;
  }

  /**
   * The observe ack, encoded by hand (4× faster than cbor-x for this one shape); the same
   * bytes cbor-x would write except that integers are always minimal-length CBOR integers:
   * {event: "ack", op: "observe", [id,] address, seq, cursor}.
   */
  addObserveAck(id: string | number | undefined, address: string, seq: number, cursor: number): void {
    this.#room(4 + 64 + 4 * 256 + 2 * address.length);
    const b = this.#buf;
    const start = this.#pos;
    let p = start + 4;
    b[p++] = id === undefined ? 0xa5 : 0xa6;
    p += ACK_PARTS.event.copy(b, p);
    if (id !== undefined) {
      p += ACK_PARTS.id.copy(b, p);
      if (typeof id === "number") p = id < 0 ? head(b, p, 0x20, -1 - id) : head(b, p, 0x00, id);
      else {
        const n = Buffer.byteLength(id);
        p = head(b, p, 0x60, n);
        p += b.write(id, p, "utf8");
      }
    }
    p += ACK_PARTS.address.copy(b, p);
    p = head(b, p, 0x60, address.length); // ASCII
    p += b.write(address, p, "latin1");
    p += ACK_PARTS.seq.copy(b, p);
    p = head(b, p, 0x00, seq);
    p += ACK_PARTS.cursor.copy(b, p);
    p = head(b, p, 0x00, cursor);
    b.writeUInt32BE(p - start - 4, start);
    this.#pos = p;
  }

  #room(n: number): void {
    const need = this.#pos + n;
    if (need <= this.#buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(need, this.#buf.length * 2));
    this.#buf.copy(bigger, 0, 0, this.#pos);
    this.#buf = bigger;
  }

  get pending(): number {
    return this.#pos;
  }

  take(): Buffer | null {
    if (this.#pos === 0) return null;
    const out = this.#buf.subarray(0, this.#pos);
    // The chunk now belongs to the stream; the next turn writes into a fresh buffer.
    this.#buf = Buffer.allocUnsafe(Math.max(65_536, Math.min(this.#buf.length, 1 << 20)));
    this.#pos = 0;
    return out;
  }
}

export function createWriter(framing: Framing): NdjsonWriter | CborWriter {
  return framing === "cbor" ? new CborWriter() : new NdjsonWriter();
}

/** Writes a CBOR head (major type `major`, already shifted; argument `n`, a safe integer ≥ 0) at `p`; returns the end. */
function head(b: Buffer, p: number, major: number, n: number): number {
  if (n < 24) {
    b[p] = major | n;
    return p + 1;
  }
  if (n < 0x100) {
    b[p] = major | 24;
    b[p + 1] = n;
    return p + 2;
  }
  if (n < 0x10000) {
    b[p] = major | 25;
    b.writeUInt16BE(n, p + 1);
    return p + 3;
  }
  if (n < 0x1_0000_0000) {
    b[p] = major | 26;
    b.writeUInt32BE(n, p + 1);
    return p + 5;
  }
  b[p] = major | 27;
  b.writeUInt32BE(Math.floor(n / 0x1_0000_0000), p + 1);
  b.writeUInt32BE(n >>> 0, p + 5);
  return p + 9;
}
