/** A packet as plain JSON for people and tools: bytes as hex, flags by name. */
import { FLAG_LEGACY, FLAG_SIGNED, FLAG_SYNTHESIZED } from "./layout.js";
import type { Packet } from "./types.js";

export interface PacketJson {
  address: string;
  outcomeDelta: number;
  confidence: number;
  nObservations: number;
  timestampMs: number;
  /** ISO time, or null past the year 275760 (a valid u64 timestamp a Date cannot show) */
  time: string | null;
  ttlS: number;
  hops: number;
  flags: string[];
  nodeId: string;
  seq: number;
  addressHash: string;
  contextHash: string;
  context: number[];
  conclusion: string;
  keyId?: string;
  signature?: string;
}

/**
 * The shortest decimal that reads back as the same f32: a packet stores 0.18 as
 * 0.18000000715255737, and people (and `inspect`) should see 0.18 again.
 */
export function shortestF32(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  for (let digits = 1; digits <= 9; digits++) {
    const candidate = Number(x.toPrecision(digits));
    if (Math.fround(candidate) === x) return candidate;
  }
  return x;
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString("hex");

function isoTime(ms: number): string | null {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

export function flagNames(flags: number): string[] {
  const names: string[] = [];
  if (flags & FLAG_SIGNED) names.push("signed");
  if (flags & FLAG_SYNTHESIZED) names.push("synthesized");
  if (flags & FLAG_LEGACY) names.push("legacy");
  return names;
}

export function packetToJson(p: Packet): PacketJson {
  const json: PacketJson = {
    address: p.address,
    outcomeDelta: shortestF32(p.outcomeDelta),
    confidence: shortestF32(p.confidence),
    nObservations: p.nObservations,
    timestampMs: p.timestampMs,
    time: isoTime(p.timestampMs),
    ttlS: p.ttlS,
    hops: p.hops,
    flags: flagNames(p.flags),
    nodeId: hex(p.nodeId),
    seq: p.seq,
    addressHash: hex(p.addressHash),
    contextHash: hex(p.contextHash),
    context: p.context.map(shortestF32),
    conclusion: p.conclusion,
  };
  if (p.flags & FLAG_SIGNED) {
    json.keyId = hex(p.keyId);
    json.signature = hex(p.signature);
  }
  return json;
}
