/**
 * Translation between qis-edge packets and the reference Python ZeroMQ nodes' wire format
 * (docs/legacy.md).
 *
 * Legacy message, two frames:
 *   topic    `qis.<domain>.d<bucket>`, bucket = `"%+.1f" % (int(delta * 10) / 10)`
 *   payload  big-endian struct `!ffidd` (outcome_delta f32, confidence f32, n_observations i32,
 *            timestamp f64 seconds, reserved f64 0.0), then UTF-8 `domain|node_id|context_hash`
 *
 * A legacy message becomes a packet `qis.<normalised domain>.<bucket token>` with FLAG_LEGACY;
 * one of ours becomes `qis.<token 1>.d<bucket>` with the struct built from its fields.
 */
import { normalizeToken, type AddressPattern } from "../../address/index.js";
import { QisError } from "../../errors.js";
import { FLAG_LEGACY, OFFSETS, PACKET_SIZE, codec, type PacketView } from "../../packet/index.js";
import { readF32 } from "../../packet/bytes.js";
import { foreignIdBytes } from "../foreign-id.js";
import { findTextFault, textRule } from "../../util/text.js";

export const LegacyErrorCode = {
  /** a legacy message that is not exactly two frames (topic, payload) */
  FRAMES: "ERR_LEGACY_FRAMES",
  /** payload shorter than the 28-byte struct, text longer than MAX_LEGACY_TEXT, not UTF-8, not `domain|node_id|context_hash`, or a control character in one of them */
  PAYLOAD: "ERR_LEGACY_PAYLOAD",
  /** topic not UTF-8, not `qis.<payload domain>.d<bucket>`, or a bucket no double near the payload's delta gives */
  TOPIC: "ERR_LEGACY_TOPIC",
  /** outcome_delta / confidence NaN, infinite or out of range; n_observations negative; timestamp negative, NaN or too large */
  VALUE: "ERR_LEGACY_VALUE",
  /** the domain cannot be normalised to an address token (empty after normalisation, over 32 bytes) */
  DOMAIN: "ERR_LEGACY_DOMAIN",
  /** (our packet → legacy) the packet's address has no domain token */
  ADDRESS: "ERR_LEGACY_ADDRESS",
  /** a programming error: bad option, buffer or offset */
  ARGUMENT: "ERR_LEGACY_ARGUMENT",
} as const;
export type LegacyErrorCode = (typeof LegacyErrorCode)[keyof typeof LegacyErrorCode];

export class LegacyError extends QisError {
  declare readonly code: LegacyErrorCode;

  constructor(code: LegacyErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** `!ffidd`: 4 + 4 + 4 + 8 + 8 bytes. */
export const LEGACY_STRUCT_SIZE = 28;
/** Longest `domain|node_id|context_hash` text accepted, in bytes. */
export const MAX_LEGACY_TEXT = 1024;
/** Default ttl_s of a translated legacy packet (legacy packets carry none). */
export const DEFAULT_LEGACY_TTL_S = 3600;

const I32_MAX = 0x7fff_ffff;
const U32_MAX = 0xffff_ffff;
const ID_SIZE = 16;
const LEGACY_BUCKET = /^([+-])(0\.[0-9]|1\.0)$/;
const utf8 = new TextDecoder("utf-8", { fatal: true });

// ---------------------------------------------------------------------------------------------
// Buckets

/** Python's `int(d * 10)` for d in -1..1, as tenths -10..10 (+0 for the whole of (-0.1, 0.1)). */
function tenthsOf(d: number): number {
  return Math.trunc(d * 10) + 0;
}

function formatTenths(t: number): string {
  const m = Math.abs(t);
  return `${t < 0 ? "-" : "+"}${Math.floor(m / 10)}.${m % 10}`;
}

function tokenOfTenths(t: number): string {
  const m = Math.abs(t);
  return `d${t < 0 ? "m" : "p"}${Math.floor(m / 10)}_${m % 10}`;
}

const f32 = new Float32Array(1);
const f32Bits = new Uint32Array(f32.buffer);

/** The f32 next to x (an f32 value, finite) towards +∞ (up) or -∞. */
function nextF32(x: number, up: boolean): number {
  if (x === 0) return up ? 2 ** -149 : -(2 ** -149);
  f32[0] = x;
  // For a positive value the next one up has bits + 1; for a negative one, bits - 1.
  f32Bits[0] = f32Bits[0]! + ((x > 0) === up ? 1 : -1);
  return f32[0]!;
}

/**
 * Whether a legacy sender could have put bucket `t` (tenths) in its topic for a payload whose
 * f32 delta is `x`: the sender buckets its double, which struct.pack then rounds to x, so any
 * double that rounds to x counts (0.7 packs as 0.699999988, whose own bucket is +0.6, yet
 * the sender's topic rightly says +0.7). The doubles rounding to x lie between the midpoints
 * to its neighbours (exact in double arithmetic); bucketing is monotonic.
 */
function bucketFits(t: number, x: number): boolean {
  const lo = Math.max(-1, (nextF32(x, false) + x) / 2);
  const hi = Math.min(1, (nextF32(x, true) + x) / 2);
  return t >= tenthsOf(lo) && t <= tenthsOf(hi);
}

/** Tenths of a canonical bucket token `dp0_1` / `dm0_3` (not `dm0_0`), or NaN. */
function tenthsOfToken(buf: Uint8Array, at: number, end: number): number {
  // d, p|m, 0|1, _, digit
  if (end - at !== 5 || buf[at] !== 0x64 || buf[at + 3] !== 0x5f) return NaN;
  const sign = buf[at + 1];
  const units = buf[at + 2]! - 0x30;
  const tenth = buf[at + 4]! - 0x30;
  if ((sign !== 0x70 && sign !== 0x6d) || tenth < 0 || tenth > 9 || (units !== 0 && (units !== 1 || tenth !== 0))) return NaN;
  const t = units * 10 + tenth;
  if (sign === 0x6d) return t === 0 ? NaN : -t;
  return t;
}

const DOT = 0x2e;

/**
 * The legacy bucket (tenths) of the packet at `offset`: the address's own bucket token when the
 * address is `qis.<domain>.<bucket token>` and the token fits the f32 delta (so a packet that
 * came from a legacy node goes back out under the topic it arrived with), else the bucket of
 * the delta. `tokenEnd` is where token 1 ends.
 */
function bucketTenthsAt(buf: Uint8Array, offset: number, delta: number, tokenEnd: number): number {
  const start = offset + OFFSETS.address;
  const end = start + buf[offset + OFFSETS.address_len]!;
  if (tokenEnd < end) {
    let i = tokenEnd + 1;
    while (i < end && buf[i] !== DOT) i++;
    if (i === end) {
      const t = tenthsOfToken(buf, tokenEnd + 1, end);
      if (!Number.isNaN(t) && bucketFits(t, delta)) return t;
    }
  }
  return tenthsOf(delta);
}

/** findDomain's result: [start, end) of the domain token in the buffer (module scratch: no allocation per packet) */
const SPAN = new Int32Array(2);

/** Finds the address's token 1 (the domain) into SPAN; false when the address has none. */
function findDomain(buf: Uint8Array, offset: number): boolean {
  const start = offset + OFFSETS.address;
  const end = start + buf[offset + OFFSETS.address_len]!;
  let i = start;
  while (i < end && buf[i] !== DOT) i++;
  const from = i + 1;
  let j = from;
  while (j < end && buf[j] !== DOT) j++;
  SPAN[0] = from;
  SPAN[1] = j;
  return i < end && j !== from;
}

/** [start, end) of the address's token 1 (the domain) in buf, or throws ERR_LEGACY_ADDRESS. */
function domainSpan(buf: Uint8Array, offset: number): [number, number] {
  if (!findDomain(buf, offset)) {
    const start = offset + OFFSETS.address;
    const end = start + buf[offset + OFFSETS.address_len]!;
    throw new LegacyError(
      LegacyErrorCode.ADDRESS,
      `address ${JSON.stringify(Buffer.from(buf.subarray(start, end)).toString("utf8"))} has no domain token: expected qis.<domain>.…`,
    );
  }
  return [SPAN[0]!, SPAN[1]!];
}

// ---------------------------------------------------------------------------------------------
// Our packet → legacy

function topicOf(view: PacketView, delta: number): string {
  const { buf, offset } = view;
  const [from, to] = domainSpan(buf, offset);
  const domain = Buffer.from(buf.buffer, buf.byteOffset + from, to - from).toString("latin1");
  return `qis.${domain}.d${formatTenths(bucketTenthsAt(buf, offset, delta, to))}`;
}

/** The legacy topic of a (verified) packet: `qis.<token 1>.d<bucket>`, e.g. `qis.hvac.d+0.1`. */
export function legacyTopicFor(view: PacketView): string {
  return topicOf(view, view.outcomeDelta);
}

/**
 * n_observations as the legacy i32 carries it: above 2^31 - 1 it is sent as 2^31 - 1. Both ways
 * out (the legacy PUB's struct and the legacy store's JSON replies) go through this, so that a
 * reference node sees one count for one packet.
 */
export function legacyCount(nObservations: number): number {
  return Math.min(nObservations, I32_MAX);
}

function hexAt(buf: Uint8Array, at: number): string {
  return Buffer.from(buf.buffer, buf.byteOffset + at, ID_SIZE).toString("hex");
}

/**
 * The legacy message for a (verified) packet: the topic and the `!ffidd` struct followed by
 * `domain|<node id, 32 hex>|<context hash, 32 hex>`. n_observations above 2^31 - 1 is sent as
 * 2^31 - 1 (the legacy field is an i32); the timestamp is timestamp_ms / 1000.
 */
export function encodeLegacy(view: PacketView): [topic: Buffer, payload: Buffer] {
  const { buf, offset } = view;
  const delta = view.outcomeDelta;
  const topic = topicOf(view, delta);
  const [from, to] = domainSpan(buf, offset);
  const text = `${Buffer.from(buf.buffer, buf.byteOffset + from, to - from).toString("latin1")}|${hexAt(buf, offset + OFFSETS.node_id)}|${hexAt(buf, offset + OFFSETS.context_hash)}`;
  const payload = Buffer.allocUnsafe(LEGACY_STRUCT_SIZE + text.length);
  payload.writeFloatBE(delta, 0);
  payload.writeFloatBE(view.confidence, 4);
  payload.writeInt32BE(legacyCount(view.nObservations), 8);
  payload.writeDoubleBE(view.timestampMs / 1000, 12);
  payload.writeDoubleBE(0, 20);
  payload.write(text, LEGACY_STRUCT_SIZE, "latin1"); // ASCII: a token and hex digits
  return [Buffer.from(topic, "latin1"), payload];
}

// ---------------------------------------------------------------------------------------------
// Legacy → our packet

function fail(code: LegacyErrorCode, message: string, cause?: unknown): never {
  throw new LegacyError(code, message, cause === undefined ? undefined : { cause });
}

function show(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 77)}...` : s);
}

function checkTtl(ttlS: unknown): number {
  if (ttlS === undefined) return DEFAULT_LEGACY_TTL_S;
  if (typeof ttlS !== "number" || !Number.isInteger(ttlS) || ttlS < 0 || ttlS > U32_MAX)
    fail(LegacyErrorCode.ARGUMENT, `ttlS ${String(ttlS)}: expected an integer in 0..2^32-1`);
  return ttlS;
}

/**
 * Translates one legacy message into a valid, CRC-sealed packet at out[offset, offset + 512).
 * Checks, in this order (the first failure is the verdict): payload size and text
 * (ERR_LEGACY_PAYLOAD), topic form (ERR_LEGACY_TOPIC), values (ERR_LEGACY_VALUE), domain
 * (ERR_LEGACY_DOMAIN), topic bucket against the delta (ERR_LEGACY_TOPIC). Throws LegacyError;
 * `out` is written only on success.
 */
export function decodeLegacy(
  topic: Uint8Array,
  payload: Uint8Array,
  out: Uint8Array,
  offset: number,
  options?: { ttlS?: number },
): void {
  if (!(topic instanceof Uint8Array) || !(payload instanceof Uint8Array))
    fail(LegacyErrorCode.ARGUMENT, "decodeLegacy: topic and payload must be Uint8Arrays");
  if (!(out instanceof Uint8Array) || !Number.isSafeInteger(offset) || offset < 0 || offset + PACKET_SIZE > out.length)
    fail(LegacyErrorCode.ARGUMENT, `decodeLegacy: no room for a ${PACKET_SIZE}-byte packet at offset ${String(offset)}`);
  const ttlS = checkTtl(options?.ttlS);

  // Payload: struct then text.
  if (payload.length < LEGACY_STRUCT_SIZE)
    fail(LegacyErrorCode.PAYLOAD, `payload is ${payload.length} bytes: expected the ${LEGACY_STRUCT_SIZE}-byte !ffidd struct then domain|node_id|context_hash`);
  if (payload.length - LEGACY_STRUCT_SIZE > MAX_LEGACY_TEXT)
    fail(LegacyErrorCode.PAYLOAD, `payload text is ${payload.length - LEGACY_STRUCT_SIZE} bytes: expected at most ${MAX_LEGACY_TEXT}`);
  let text: string;
  try {
    text = utf8.decode(payload.subarray(LEGACY_STRUCT_SIZE));
  } catch (error) {
    fail(LegacyErrorCode.PAYLOAD, "payload text is not valid UTF-8", error);
  }
  const parts = text.split("|");
  if (parts.length !== 3)
    fail(LegacyErrorCode.PAYLOAD, `payload text ${show(text)} has ${parts.length} "|"-separated fields: expected domain|node_id|context_hash`);
  const [domain, nodeText, contextText] = parts as [string, string, string];
  // A NUL or another control character is refused, not hashed or normalised into an id.
  for (const [name, field] of [["domain", domain], ["node_id", nodeText], ["context_hash", contextText]] as const) {
    const fault = findTextFault(field, "identifier");
    if (fault !== null) fail(LegacyErrorCode.PAYLOAD, `payload text field ${name} ${show(field)} contains ${fault.what}: expected ${textRule("identifier")}`);
  }

  // Topic: qis.<domain>.d<bucket>, with the payload's domain.
  let topicText: string;
  try {
    topicText = utf8.decode(topic);
  } catch (error) {
    fail(LegacyErrorCode.TOPIC, "topic is not valid UTF-8", error);
  }
  const head = `qis.${domain}.d`;
  const bucket = topicText.startsWith(head) ? LEGACY_BUCKET.exec(topicText.slice(head.length)) : null;
  if (bucket === null)
    fail(LegacyErrorCode.TOPIC, `topic ${show(topicText)}: expected ${show(`${head}<bucket>`)} with a bucket "%+.1f" in -1.0..+1.0`);
  const magnitude = bucket[2] === "1.0" ? 10 : Number(bucket[2]!.charCodeAt(2) - 0x30);
  const topicTenths = bucket[1] === "-" ? -magnitude + 0 : magnitude;

  // Values.
  const dv = new DataView(payload.buffer, payload.byteOffset, LEGACY_STRUCT_SIZE);
  const delta = dv.getFloat32(0, false);
  const confidence = dv.getFloat32(4, false);
  const nObservations = dv.getInt32(8, false);
  const ts = dv.getFloat64(12, false);
  if (!(delta >= -1 && delta <= 1)) fail(LegacyErrorCode.VALUE, `outcome_delta ${delta}: expected a finite number in -1..1`);
  if (!(confidence >= 0 && confidence <= 1)) fail(LegacyErrorCode.VALUE, `confidence ${confidence}: expected a finite number in 0..1`);
  if (nObservations < 0) fail(LegacyErrorCode.VALUE, `n_observations ${nObservations}: expected ≥ 0`);
  const timestampMs = Math.round(ts * 1000);
  const seq = Math.round(ts * 1e6);
  if (!(ts >= 0) || !Number.isSafeInteger(seq) || !Number.isSafeInteger(timestampMs))
    fail(LegacyErrorCode.VALUE, `timestamp ${ts}: expected seconds since the Unix epoch, ≥ 0, with microseconds below 2^53`);

  // Domain → token.
  let token: string;
  try {
    token = normalizeToken(domain);
  } catch (error) {
    fail(LegacyErrorCode.DOMAIN, `domain ${show(domain)} cannot be an address token: ${(error as Error).message}`, error);
  }

  if (!bucketFits(topicTenths, delta))
    fail(LegacyErrorCode.TOPIC, `topic ${show(topicText)}: bucket ${formatTenths(topicTenths)} does not fit outcome_delta ${delta}`);

  codec.encode(
    {
      flags: FLAG_LEGACY,
      hops: 0,
      timestampMs,
      ttlS,
      nObservations,
      outcomeDelta: delta,
      confidence,
      seq,
      nodeId: foreignIdBytes(nodeText),
      address: `qis.${token}.${tokenOfTenths(topicTenths)}`,
      contextHash: foreignIdBytes(contextText, true),
    },
    out,
    offset,
  );
}

// ---------------------------------------------------------------------------------------------
// Patterns → legacy SUB prefixes

/**
 * Whether a pattern can match an address made from a legacy message (always
 * `qis.<domain>.<bucket token>`, depth 3).
 */
function reachesLegacy(tokens: readonly string[]): boolean {
  if (tokens.length === 2) return tokens[1] === ">";
  if (tokens.length !== 3) return false;
  const t2 = tokens[2]!;
  if (t2 === "*" || t2 === ">") return true;
  const b = Buffer.from(t2, "latin1");
  return !Number.isNaN(tenthsOfToken(b, 0, b.length));
}

/** The legacy topic prefix one pattern needs, or null when no legacy message can match it. */
function prefixFor(pattern: AddressPattern): string | null {
  const tokens = pattern.pattern.split(".");
  if (!reachesLegacy(tokens)) return null;
  const domain = tokens[1]!;
  if (domain === "*" || domain === ">") return "qis.";
  const t2 = tokens[2];
  if (t2 === undefined || t2 === "*" || t2 === ">") return `qis.${domain}.`;
  const b = Buffer.from(t2, "latin1");
  return `qis.${domain}.d${formatTenths(tenthsOfToken(b, 0, b.length))}`;
}

/**
 * The legacy SUB prefixes for a set of our patterns: `qis.<domain>.` for a literal domain,
 * `qis.` otherwise, the whole topic (`qis.hvac.d+0.1`) for a literal bucket token. Patterns
 * no legacy-made address can match (depth other than 3, or token 2 neither a wildcard nor a
 * bucket token) give none. Deduplicated and minimal: no prefix that another one covers. The
 * subscriber must still run the pattern on each translated address.
 */
export function legacyPrefixes(patterns: readonly AddressPattern[]): string[] {
  const all = new Set<string>();
  for (const p of patterns) {
    const prefix = prefixFor(p);
    if (prefix !== null) all.add(prefix);
  }
  const sorted = [...all].sort();
  const kept: string[] = [];
  // Sorted, a prefix comes right before everything it covers.
  for (const p of sorted) if (kept.length === 0 || !p.startsWith(kept[kept.length - 1]!)) kept.push(p);
  return kept;
}

// ---------------------------------------------------------------------------------------------
// Store-server helpers

/**
 * Writes the legacy topic of the verified packet at `offset` into `scratch` (≥ 106 bytes) and
 * returns its length, allocating nothing; -1 when the address has no domain token.
 */
export function writeLegacyTopic(buf: Uint8Array, offset: number, scratch: Uint8Array): number {
  if (!findDomain(buf, offset)) return -1;
  const from = SPAN[0]!;
  const j = SPAN[1]!;
  // qis.
  scratch[0] = 0x71;
  scratch[1] = 0x69;
  scratch[2] = 0x73;
  scratch[3] = DOT;
  let n = 4;
  for (let k = from; k < j; k++) scratch[n++] = buf[k]!;
  const delta = readF32(buf, offset + OFFSETS.outcome_delta);
  const t = bucketTenthsAt(buf, offset, delta, j);
  const m = Math.abs(t);
  scratch[n++] = DOT;
  scratch[n++] = 0x64; // d
  scratch[n++] = t < 0 ? 0x2d : 0x2b;
  scratch[n++] = 0x30 + Math.floor(m / 10);
  scratch[n++] = DOT;
  scratch[n++] = 0x30 + (m % 10);
  return n;
}
