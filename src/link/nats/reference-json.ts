/**
 * The reference NATS router's JSON packets (docs/uplink.md, "The reference router's JSON"), the
 * `"codec": "reference-json"` of `uplinks.nats`:
 *
 *   subject  qis.iot.<domain>.<problem_class>
 *   payload  {"agent_id", "domain", "problem_class", "conclusion", "confidence",
 *             "context_vector", "timestamp", "source_node"}, at most 512 bytes of UTF-8 JSON
 *
 * A JSON packet becomes one 512-byte outcome packet and one of ours becomes one JSON packet. The
 * reference's JSON has no outcome delta, count, sequence number or ttl: ours carry them in one
 * more member, `"qis"`, which the reference ignores and which makes ours → JSON → ours give the
 * same packet back (but for a signature), so the same packet arriving over ZeroMQ and over NATS
 * is one packet to the store.
 */
import { QisError } from "../../errors.js";
import { isValidAddress, normalizeToken } from "../../address/index.js";
import { codec, FLAG_LEGACY, FLAG_SIGNED, FLAGS_KNOWN, type Packet } from "../../packet/index.js";
import { CONTEXT_MAX } from "../../packet/layout.js";
import { shortestF32 } from "../../packet/json.js";
import { foreignIdBytes } from "../foreign-id.js";
import { findTextFault, textRule } from "../../util/text.js";

export const ReferenceJsonErrorCode = {
  /** the message is over 512 bytes (the reference's own bound) */
  SIZE: "ERR_REFERENCE_JSON_SIZE",
  /** not UTF-8, not JSON, or not a JSON object */
  SYNTAX: "ERR_REFERENCE_JSON_SYNTAX",
  /** a member missing or of the wrong type (the message names it) */
  FIELD: "ERR_REFERENCE_JSON_FIELD",
  /** a member of the right type with a value out of range (confidence, timestamp, a context value, a control character) */
  VALUE: "ERR_REFERENCE_JSON_VALUE",
  /** the subject is not qis.iot.<domain>.<problem_class> of the packet's own members, or gives no valid address */
  SUBJECT: "ERR_REFERENCE_JSON_SUBJECT",
  /** (ours → JSON) the packet's address is not qis.iot.<domain>.<problem class>…: the reference has no subject for it */
  ADDRESS: "ERR_REFERENCE_JSON_ADDRESS",
} as const;
export type ReferenceJsonErrorCode = (typeof ReferenceJsonErrorCode)[keyof typeof ReferenceJsonErrorCode];

export class ReferenceJsonError extends QisError {
  declare readonly code: ReferenceJsonErrorCode;

  constructor(code: ReferenceJsonErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** The reference's bound on a packet, in bytes of JSON. */
export const REFERENCE_JSON_MAX = 512;
/** The reference router's subjects: qis.iot.<domain>.<problem_class>. */
export const REFERENCE_PREFIX = "qis.iot.";

export interface ReferenceJsonOptions {
  /** ttl_s of a packet from a reference node (its JSON carries none) */
  ttlS: number;
  /** outcome_delta of a reference packet by its conclusion text */
  conclusions: Readonly<Record<string, number>>;
  /** outcome_delta of a reference packet whose conclusion is not in `conclusions` */
  defaultDelta: number;
}

const HEX32 = /^[0-9a-f]{32}$/i;
const ZERO_ID = "0".repeat(32);
const U32_MAX = 0xffff_ffff;
const utf8 = new TextDecoder("utf-8", { fatal: true });

function fail(code: ReferenceJsonErrorCode, message: string, cause?: unknown): never {
  throw new ReferenceJsonError(code, message, cause === undefined ? undefined : { cause });
}

function show(v: unknown): string {
  const s = typeof v === "string" ? v : JSON.stringify(v) ?? String(v);
  return JSON.stringify(s.length > 60 ? `${s.slice(0, 57)}...` : s);
}

function typeOf(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "an array" : typeof v;
}

function str(o: Record<string, unknown>, key: string, where = ""): string {
  const v = o[key];
  if (typeof v !== "string") fail(ReferenceJsonErrorCode.FIELD, `${where}${key} is ${v === undefined ? "missing" : typeOf(v)}: expected a string`);
  return v;
}

function num(o: Record<string, unknown>, key: string, where = ""): number {
  const v = o[key];
  if (typeof v !== "number") fail(ReferenceJsonErrorCode.FIELD, `${where}${key} is ${v === undefined ? "missing" : typeOf(v)}: expected a number`);
  return v;
}

function int(o: Record<string, unknown>, key: string, min: number, max: number): number {
  const v = num(o, key, "qis.");
  if (!Number.isInteger(v) || v < min || v > max) fail(ReferenceJsonErrorCode.VALUE, `qis.${key} ${v}: expected an integer in ${min}..${max}`);
  return v;
}

function identifier(o: Record<string, unknown>, key: string): string {
  const v = str(o, key);
  const fault = findTextFault(v, "identifier");
  if (v.length === 0 || fault !== null) fail(ReferenceJsonErrorCode.VALUE, `${key} ${show(v)} ${fault === null ? "is empty" : `contains ${fault.what}`}: expected ${textRule("identifier")}, not empty`);
  return v;
}

/** What the `qis` member of one of ours gives back. */
interface Extension {
  delta: number;
  n: number;
  seq: number;
  ttl: number;
  hops: number;
  flags: number;
  ctx: string;
}

function extension(v: unknown): Extension {
  if (typeof v !== "object" || v === null || Array.isArray(v)) fail(ReferenceJsonErrorCode.FIELD, `qis is ${typeOf(v)}: expected an object`);
  const o = v as Record<string, unknown>;
  if (o.v !== 1) fail(ReferenceJsonErrorCode.VALUE, `qis.v ${show(o.v)}: expected 1`);
  const delta = num(o, "delta", "qis.");
  if (!(delta >= -1 && delta <= 1)) fail(ReferenceJsonErrorCode.VALUE, `qis.delta ${delta}: expected a number in -1..1`);
  const flags = int(o, "flags", 0, 0xffff);
  // No signature travels in JSON: a packet that says it is signed cannot be one here.
  if ((flags & ~FLAGS_KNOWN) !== 0 || (flags & FLAG_SIGNED) !== 0) fail(ReferenceJsonErrorCode.VALUE, `qis.flags ${flags}: expected SYNTHESIZED (2) and LEGACY (4) bits only`);
  const ctx = o.ctx === undefined ? ZERO_ID : str(o, "ctx", "qis.");
  if (!HEX32.test(ctx)) fail(ReferenceJsonErrorCode.VALUE, `qis.ctx ${show(ctx)}: expected 32 hex digits`);
  return {
    delta,
    n: int(o, "n", 0, U32_MAX),
    seq: int(o, "seq", 0, Number.MAX_SAFE_INTEGER),
    ttl: int(o, "ttl", 0, U32_MAX),
    hops: int(o, "hops", 0, 255),
    flags,
    ctx,
  };
}

/**
 * Translates one JSON packet that came down on `subject` into a valid, CRC-sealed outcome packet
 * at out[offset, offset + 512). Checks, first failure the verdict: size (ERR_REFERENCE_JSON_SIZE),
 * JSON object (…_SYNTAX), members and their types (…_FIELD), values (…_VALUE), subject
 * (…_SUBJECT). Returns the packet's address. Throws ReferenceJsonError; `out` is written only
 * on success.
 */
export function decodeReferenceJson(subject: string, payload: Uint8Array, out: Uint8Array, offset: number, options: ReferenceJsonOptions): string {
  if (payload.length > REFERENCE_JSON_MAX) fail(ReferenceJsonErrorCode.SIZE, `${payload.length} bytes: expected at most ${REFERENCE_JSON_MAX} bytes of JSON`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8.decode(payload));
  } catch (err) {
    fail(ReferenceJsonErrorCode.SYNTAX, `not UTF-8 JSON: ${(err as Error).message}`, err);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) fail(ReferenceJsonErrorCode.SYNTAX, `the JSON is ${typeOf(parsed)}: expected an object`);
  const o = parsed as Record<string, unknown>;

  const agentId = identifier(o, "agent_id");
  const domain = str(o, "domain");
  const problemClass = str(o, "problem_class");
  const conclusion = str(o, "conclusion");
  const confidence = num(o, "confidence");
  const context = o.context_vector;
  if (!Array.isArray(context)) fail(ReferenceJsonErrorCode.FIELD, `context_vector is ${context === undefined ? "missing" : typeOf(context)}: expected an array of numbers`);
  const timestamp = num(o, "timestamp");
  identifier(o, "source_node");
  const ext = o.qis === undefined ? null : extension(o.qis);

  if (!(confidence >= 0 && confidence <= 1)) fail(ReferenceJsonErrorCode.VALUE, `confidence ${confidence}: expected a number in 0..1`);
  if (context.length > CONTEXT_MAX) fail(ReferenceJsonErrorCode.VALUE, `context_vector has ${context.length} values: an outcome packet holds at most ${CONTEXT_MAX}`);
  for (let i = 0; i < context.length; i++) {
    const v: unknown = context[i];
    if (typeof v !== "number") fail(ReferenceJsonErrorCode.FIELD, `context_vector[${i}] is ${typeOf(v)}: expected a number`);
    if (!Number.isFinite(Math.fround(v))) fail(ReferenceJsonErrorCode.VALUE, `context_vector[${i}] ${v}: expected a number within the f32 range`);
  }
  const timestampMs = Math.round(timestamp * 1000);
  const microseconds = Math.round(timestamp * 1e6);
  if (!(timestamp >= 0) || !Number.isSafeInteger(microseconds)) fail(ReferenceJsonErrorCode.VALUE, `timestamp ${timestamp}: expected seconds since the Unix epoch, ≥ 0, with microseconds below 2^53`);
  const fault = findTextFault(conclusion, "prose");
  if (fault !== null) fail(ReferenceJsonErrorCode.VALUE, `conclusion contains ${fault.what}: expected ${textRule("prose")}`);

  const expected = `${REFERENCE_PREFIX}${domain}.${problemClass}`;
  if (subject !== expected) fail(ReferenceJsonErrorCode.SUBJECT, `subject ${show(subject)}: expected ${show(expected)} (qis.iot.<domain>.<problem_class> of the packet)`);
  let address = "";
  try {
    address = subject.split(".").map(normalizeToken).join(".");
  } catch (err) {
    fail(ReferenceJsonErrorCode.SUBJECT, `subject ${show(subject)} gives no valid address: ${(err as Error).message}`, err);
  }
  if (!isValidAddress(address)) fail(ReferenceJsonErrorCode.SUBJECT, `subject ${show(subject)} gives no valid address (${show(address)}: docs/address.md)`);

  // hasOwn: a conclusion "constructor" must not find Object.prototype's.
  const delta = ext?.delta ?? (Object.hasOwn(options.conclusions, conclusion) ? options.conclusions[conclusion]! : options.defaultDelta);
  codec.encode(
    {
      flags: ext?.flags ?? FLAG_LEGACY,
      hops: ext?.hops ?? 0,
      timestampMs,
      ttlS: ext?.ttl ?? options.ttlS,
      nObservations: ext?.n ?? 1,
      outcomeDelta: delta,
      confidence,
      seq: ext?.seq ?? microseconds,
      nodeId: foreignIdBytes(agentId),
      address,
      contextHash: ext?.ctx ?? ZERO_ID,
      context: context as number[],
      conclusion,
    },
    out,
    offset,
  );
  return address;
}

/**
 * The JSON packet of a (decoded) packet of ours, at most 512 bytes: the reference's eight members
 * and `qis`. A text that does not fit loses context values from the end, then conclusion
 * characters (`shortened` tells). Throws ERR_REFERENCE_JSON_ADDRESS for an address the reference
 * has no subject for (not qis.iot.<domain>.<problem class>…).
 */
export function encodeReferenceJson(view: Packet): { json: Buffer; shortened: boolean } {
  const address = view.address;
  if (!address.startsWith(REFERENCE_PREFIX)) fail(ReferenceJsonErrorCode.ADDRESS, `address ${show(address)} is not under ${REFERENCE_PREFIX}: the reference router has no subject for it`);
  const rest = address.slice(REFERENCE_PREFIX.length);
  const dot = rest.indexOf(".");
  if (dot < 0) fail(ReferenceJsonErrorCode.ADDRESS, `address ${show(address)} has no problem class: expected qis.iot.<domain>.<problem_class>`);
  const node = Buffer.from(view.nodeId).toString("hex");
  const ctx = Buffer.from(view.contextHash).toString("hex");
  const ext: Record<string, number | string> = {
    v: 1,
    delta: shortestF32(view.outcomeDelta),
    n: view.nObservations,
    seq: view.seq,
    ttl: view.ttlS,
    hops: view.hops,
    flags: view.flags & ~FLAG_SIGNED,
  };
  if (ctx !== ZERO_ID) ext.ctx = ctx;
  const context = view.context.map(shortestF32);
  let conclusion = view.conclusion;
  let shortened = false;
  for (;;) {
    const json = Buffer.from(
      JSON.stringify({
        agent_id: node,
        domain: rest.slice(0, dot),
        problem_class: rest.slice(dot + 1),
        conclusion,
        confidence: shortestF32(view.confidence),
        context_vector: context,
        timestamp: view.timestampMs / 1000,
        source_node: node,
        qis: ext,
      }),
    );
    if (json.length <= REFERENCE_JSON_MAX) return { json, shortened };
    shortened = true;
    if (context.length > 0) context.pop();
    else conclusion = [...conclusion].slice(0, -Math.max(1, Math.ceil((json.length - REFERENCE_JSON_MAX) / 6))).join("");
  }
}
