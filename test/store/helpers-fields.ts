/** Packet fields for tests; no vitest import, so the crash test's child process can use it too. */
import type { PacketFields } from "../../src/packet/index.js";

export const T0 = 1_795_000_000_000;

/** A 16-byte node id from a small number. */
export function nodeId(n: number): Buffer {
  const b = Buffer.alloc(16, 0x10);
  b.writeUInt32LE(n >>> 0, 0);
  return b;
}

export interface Spec {
  node?: number;
  seq: number;
  address?: string;
  ts?: number;
  ttl?: number;
  delta?: number;
}

export function fields(s: Spec): PacketFields {
  return {
    timestampMs: s.ts ?? T0,
    ttlS: s.ttl ?? 0,
    nObservations: 1,
    outcomeDelta: s.delta ?? 0.25,
    confidence: 0.5,
    seq: s.seq,
    nodeId: nodeId(s.node ?? 1),
    address: s.address ?? "qis.hvac.energy-anomaly",
  };
}

