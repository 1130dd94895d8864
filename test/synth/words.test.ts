/**
 * The engine reads packet words through typed arrays over the caller's buffer when the packet
 * is 4-byte aligned, and through an aligned scratch copy otherwise (src/synth/words.ts). Both
 * paths must see the same packets: same outcomes, same estimates, same collisions detected.
 */
import { describe, expect, it } from "vitest";
import { OFFSETS, PACKET_SIZE } from "../../src/packet/index.js";
import { AddOutcome } from "../../src/synth/index.js";
import { engine, packet, T0, type Pkt } from "./helpers.js";

const A = "qis.hvac.energy-anomaly";
const B = "qis.iot.pm.bearing-wear";

function stream(): Pkt[] {
  const out: Pkt[] = [];
  for (let i = 0; i < 40; i++)
    out.push({ address: i % 3 === 0 ? B : A, node: 1 + (i % 5), seq: i >> 1, delta: Math.sin(i) * 0.9, confidence: 0.3 + (i % 7) / 10, n: 1 + i * 37, ts: T0 + i, synth: i % 9 === 4, hops: i % 9 === 4 ? 1 : 0 });
  out[10] = out[9]!; // an exact copy: DUPLICATE
  return out;
}

/** The stream packed at `pad` bytes into one buffer whose own byteOffset is `shift`. */
function packed(pkts: Pkt[], shift: number, pad: number): { buf: Uint8Array; at: (i: number) => number } {
  const raw = new Uint8Array(shift + pad + pkts.length * PACKET_SIZE);
  const buf = raw.subarray(shift);
  pkts.forEach((p, i) => buf.set(packet(p), pad + i * PACKET_SIZE));
  return { buf, at: (i) => pad + i * PACKET_SIZE };
}

describe("packet word reads", () => {
  it("give the same results for aligned and unaligned packets, one by one and in batches", () => {
    const pkts = stream();
    const results = [];
    for (const [shift, pad] of [[0, 0], [1, 0], [0, 3], [2, 2]] as const) {
      const { e } = engine();
      const { buf, at } = packed(pkts, shift, pad);
      const outcomes = pkts.slice(0, 20).map((_, i) => e.addAt(buf, at(i)));
      const added = e.addBatch(buf, at(20), 20);
      results.push({ outcomes, added, a: e.estimate(A), b: e.estimate(B), counters: e.counters });
    }
    expect(results[0]!.outcomes).toContain(AddOutcome.DUPLICATE);
    for (const r of results.slice(1)) expect(r).toEqual(results[0]);
  });

  it("detect an address collision on the unaligned path too", () => {
    const { e } = engine();
    const p = packet({ address: A, node: 1, seq: 1, delta: 0.5, confidence: 1, n: 1 });
    const q = packet({ address: "qis.hvac.energy-anomalx", node: 2, seq: 1, delta: 0.5, confidence: 1, n: 1 });
    q.set(p.subarray(OFFSETS.address_hash, OFFSETS.address_hash + 16), OFFSETS.address_hash); // same hash, other bytes
    const buf = new Uint8Array(1 + 2 * PACKET_SIZE);
    buf.set(p, 1);
    buf.set(q, 1 + PACKET_SIZE);
    expect(e.addAt(buf, 1)).toBe(AddOutcome.ADDED);
    expect(e.addAt(buf, 1 + PACKET_SIZE)).toBe(AddOutcome.ADDRESS_COLLISION);
  });
});
