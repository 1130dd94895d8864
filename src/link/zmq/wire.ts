/**
 * The frames qis-edge agents exchange over ZeroMQ (docs/delivery.md, "Wire").
 *
 * Live traffic (PUB → SUB), one message per batch of packets that share one address:
 *   frame 0  the address, UTF-8: what SUB prefix filters see
 *   frame 1  a 24-byte batch header (below)
 *   frame 2  k × 512 bytes of packets (absent in a tail marker)
 *
 * Store queries (DEALER → ROUTER, the ROUTER adds/strips the peer identity):
 *   request  [query header 24 B][pattern UTF-8]
 *   reply    [reply header 32 B][k × 512 packet bytes]      (k may be 0: the frame is then empty)
 *   error    [error header 12 B][code UTF-8][message UTF-8]
 *
 * All integers little-endian like the packet; cursors are the publisher's store cursors (safe
 * integers, carried as f64).
 */
import { QisError } from "../../errors.js";

/** "QZ" then the wire version. A peer speaking another version is refused, not guessed at. */
const MAGIC0 = 0x51;
const MAGIC1 = 0x5a;
export const WIRE_VERSION = 1;

export const Kind = {
  /** a batch of packets on one address */
  BATCH: 1,
  /** no packets: "the last batch on this address ended at cursor prev" (sent when idle) */
  TAIL: 2,
  QUERY: 3,
  REPLY: 4,
  ERROR: 5,
} as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

export class WireError extends QisError {}

/**
 * Batch / tail header (24 bytes):
 *   0  u8[2] "QZ"   2  u8 version   3  u8 kind (BATCH | TAIL)
 *   4  u32 epoch: the publisher's random id for this run; a change means it restarted
 *   8  f64 prev: store cursor of the last packet of the previous batch on this address (0 = none)
 *  16  f64 last: store cursor of the last packet in this batch (for TAIL: equal to prev)
 */
export const BATCH_HEADER_SIZE = 24;

export interface BatchHeader {
  kind: number;
  epoch: number;
  prev: number;
  last: number;
}

function writeMagic(b: Buffer, kind: Kind): void {
  b[0] = MAGIC0;
  b[1] = MAGIC1;
  b[2] = WIRE_VERSION;
  b[3] = kind;
}

function checkMagic(b: Uint8Array, size: number, what: string): number {
  if (b.length !== size) throw new WireError("ERR_WIRE_HEADER", `${what} header is ${b.length} bytes: expected ${size}`);
  if (b[0] !== MAGIC0 || b[1] !== MAGIC1) throw new WireError("ERR_WIRE_HEADER", `${what} header does not start with "QZ"`);
  if (b[2] !== WIRE_VERSION) throw new WireError("ERR_WIRE_VERSION", `${what} header has wire version ${b[2]}: this agent speaks ${WIRE_VERSION}`);
  return b[3]!;
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function cursorAt(dv: DataView, at: number, what: string): number {
  const v = dv.getFloat64(at, true);
  if (!Number.isSafeInteger(v) || v < 0) throw new WireError("ERR_WIRE_HEADER", `${what} is ${v}: expected a cursor (a safe integer ≥ 0)`);
  return v;
}

export function encodeBatchHeader(kind: Kind, epoch: number, prev: number, last: number): Buffer {
  const b = Buffer.allocUnsafe(BATCH_HEADER_SIZE);
  writeMagic(b, kind);
  b.writeUInt32LE(epoch >>> 0, 4);
  b.writeDoubleLE(prev, 8);
  b.writeDoubleLE(last, 16);
  return b;
}

/** Parses a batch/tail header into `out` (reused by the caller). Throws WireError. */
export function decodeBatchHeader(b: Uint8Array, out: BatchHeader): BatchHeader {
  const kind = checkMagic(b, BATCH_HEADER_SIZE, "batch");
  if (kind !== Kind.BATCH && kind !== Kind.TAIL) throw new WireError("ERR_WIRE_KIND", `batch header has kind ${kind}: expected ${Kind.BATCH} or ${Kind.TAIL}`);
  const dv = view(b);
  out.kind = kind;
  out.epoch = dv.getUint32(4, true);
  out.prev = cursorAt(dv, 8, "prev");
  out.last = cursorAt(dv, 16, "last");
  if (out.last < out.prev) throw new WireError("ERR_WIRE_HEADER", `batch header: last ${out.last} < prev ${out.prev}`);
  return out;
}

/**
 * Query header (24 bytes):
 *   0  "QZ" version kind=QUERY   4  u32 request id   8  f64 since (exclusive cursor)
 *  16  u32 limit (packets)      20  u32 reserved (0)
 */
export const QUERY_HEADER_SIZE = 24;
/** Longest pattern accepted in a query (an address is at most 96 bytes; patterns are no longer). */
export const QUERY_PATTERN_MAX = 96;

export interface QueryRequest {
  id: number;
  since: number;
  limit: number;
  pattern: string;
}

export function encodeQuery(id: number, since: number, limit: number, pattern: string): [Buffer, Buffer] {
  const b = Buffer.alloc(QUERY_HEADER_SIZE);
  writeMagic(b, Kind.QUERY);
  b.writeUInt32LE(id >>> 0, 4);
  b.writeDoubleLE(since, 8);
  b.writeUInt32LE(limit >>> 0, 16);
  return [b, Buffer.from(pattern, "utf8")];
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Parses a query's frames (without the ROUTER identity). Throws WireError. */
export function decodeQuery(frames: readonly Uint8Array[]): QueryRequest {
  if (frames.length !== 2) throw new WireError("ERR_WIRE_FRAMES", `a query has 2 frames (header, pattern): got ${frames.length}`);
  const [h, p] = frames as [Uint8Array, Uint8Array];
  const kind = checkMagic(h, QUERY_HEADER_SIZE, "query");
  if (kind !== Kind.QUERY) throw new WireError("ERR_WIRE_KIND", `query header has kind ${kind}: expected ${Kind.QUERY}`);
  const dv = view(h);
  const id = dv.getUint32(4, true);
  const since = cursorAt(dv, 8, "since");
  const limit = dv.getUint32(16, true);
  if (limit === 0) throw new WireError("ERR_WIRE_QUERY", "query limit is 0: expected 1 or more packets");
  if (p.length === 0 || p.length > QUERY_PATTERN_MAX)
    throw new WireError("ERR_WIRE_QUERY", `query pattern is ${p.length} bytes: expected 1..${QUERY_PATTERN_MAX}`);
  let pattern: string;
  try {
    pattern = utf8.decode(p);
  } catch (cause) {
    throw new WireError("ERR_WIRE_QUERY", "query pattern is not valid UTF-8", { cause });
  }
  return { id, since, limit, pattern };
}

/**
 * Reply header (32 bytes):
 *   0  "QZ" version kind=REPLY   4  u32 request id   8  u32 epoch of the answering store's agent
 *  12  u32 count (packets in frame 1)   16  f64 next: the `since` for the next page
 *  24  f64 head: the store's cursor when answering (next < head: more pages may follow)
 */
export const REPLY_HEADER_SIZE = 32;

export interface QueryReply {
  id: number;
  epoch: number;
  count: number;
  next: number;
  head: number;
}

export function encodeReply(id: number, epoch: number, count: number, next: number, head: number): Buffer {
  const b = Buffer.allocUnsafe(REPLY_HEADER_SIZE);
  writeMagic(b, Kind.REPLY);
  b.writeUInt32LE(id >>> 0, 4);
  b.writeUInt32LE(epoch >>> 0, 8);
  b.writeUInt32LE(count >>> 0, 12);
  b.writeDoubleLE(next, 16);
  b.writeDoubleLE(head, 24);
  return b;
}

/** Error header (12 bytes): "QZ" version kind=ERROR, u32 request id, u32 reserved. */
export const ERROR_HEADER_SIZE = 12;

export function encodeError(id: number, code: string, message: string): [Buffer, Buffer, Buffer] {
  const b = Buffer.alloc(ERROR_HEADER_SIZE);
  writeMagic(b, Kind.ERROR);
  b.writeUInt32LE(id >>> 0, 4);
  return [b, Buffer.from(code, "utf8"), Buffer.from(message, "utf8")];
}

export type Answer = { ok: true; reply: QueryReply; packets: Uint8Array } | { ok: false; id: number; code: string; message: string };

/** Parses a reply or an error (frames without the DEALER's empty envelope; there is none). */
export function decodeAnswer(frames: readonly Uint8Array[]): Answer {
  const h = frames[0];
  if (h === undefined || h.length < 4) throw new WireError("ERR_WIRE_FRAMES", "an answer starts with a header frame");
  if (h[3] === Kind.ERROR) {
    checkMagic(h, ERROR_HEADER_SIZE, "error");
    if (frames.length !== 3) throw new WireError("ERR_WIRE_FRAMES", `an error answer has 3 frames: got ${frames.length}`);
    return { ok: false, id: view(h).getUint32(4, true), code: Buffer.from(frames[1]!).toString("utf8"), message: Buffer.from(frames[2]!).toString("utf8") };
  }
  const kind = checkMagic(h, REPLY_HEADER_SIZE, "reply");
  if (kind !== Kind.REPLY) throw new WireError("ERR_WIRE_KIND", `answer header has kind ${kind}: expected ${Kind.REPLY} or ${Kind.ERROR}`);
  if (frames.length !== 2) throw new WireError("ERR_WIRE_FRAMES", `a reply has 2 frames: got ${frames.length}`);
  const dv = view(h);
  const reply: QueryReply = {
    id: dv.getUint32(4, true),
    epoch: dv.getUint32(8, true),
    count: dv.getUint32(12, true),
    next: cursorAt(dv, 16, "next"),
    head: cursorAt(dv, 24, "head"),
  };
  const packets = frames[1]!;
  if (packets.length !== reply.count * 512)
    throw new WireError("ERR_WIRE_FRAMES", `reply announces ${reply.count} packets but carries ${packets.length} bytes`);
  return { ok: true, reply, packets };
}
