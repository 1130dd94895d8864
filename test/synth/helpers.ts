/** Shared by the synthesis tests: packet building, node ids, a settable clock. */
import { codec, FLAG_SYNTHESIZED, PACKET_SIZE, PacketView, type PacketFields } from "../../src/packet/index.js";
import { SynthEngine, SynthError, type SynthConfig } from "../../src/synth/index.js";
import { catchError } from "../catch-error.js";

export const T0 = 1_795_000_000_000;

/** A 16-byte node id whose every byte is `b` (distinct b, distinct nodes). */
export function nodeId(b: number): Uint8Array {
  return new Uint8Array(16).fill(b);
}
export const OWN = nodeId(0xee);

export interface Pkt {
  address: string;
  node: number;
  seq: number;
  delta: number;
  confidence: number;
  n: number;
  ts?: number;
  ttlS?: number;
  hops?: number;
  synth?: boolean;
}

export function fieldsOf(p: Pkt): PacketFields {
  return {
    flags: p.synth ? FLAG_SYNTHESIZED : 0,
    hops: p.hops ?? (p.synth ? 1 : 0),
    timestampMs: p.ts ?? T0,
    ttlS: p.ttlS ?? 3600,
    nObservations: p.n,
    outcomeDelta: p.delta,
    confidence: p.confidence,
    seq: p.seq,
    nodeId: nodeId(p.node),
    address: p.address,
  };
}

/** One encoded (sealed, valid) packet. */
export function packet(p: Pkt): Uint8Array {
  const b = new Uint8Array(PACKET_SIZE);
  codec.encode(fieldsOf(p), b, 0);
  return b;
}

export function view(p: Pkt): PacketView {
  return new PacketView(packet(p), 0);
}

/** A clock the test sets; starts at T0. */
export class Clock {
  t = T0;
  readonly now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

/** An engine on a test clock; own id OWN unless overridden. */
export function engine(extra: Partial<SynthConfig> = {}, clock = new Clock()): { e: SynthEngine; clock: Clock } {
  return { e: new SynthEngine({ nodeId: OWN, now: clock.now, ...extra }), clock };
}

/** w = confidence × ln(1 + n), with the confidence as the packet stores it (f32). */
export function weight(confidence: number, n: number): number {
  return Math.fround(confidence) * Math.log1p(n);
}

export const catchSynthError = (fn: () => unknown): SynthError => catchError(fn, SynthError);
