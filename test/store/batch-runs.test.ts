/**
 * insertBatch copies runs of consecutive stored packets once per run (src/store/pending.ts), so
 * until a run ends its slots still hold old bytes and the indexes read those packets from the
 * batch. Checked here against one `insert` per packet on the same packets: duplicates inside a
 * batch and inside one run, the same address packet after packet (its newest packet is pending),
 * expired and invalid packets breaking runs, the ring wrapping mid-batch, and unaligned batches.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PACKET_SIZE } from "../../src/packet/index.js";
import { InsertStatus, PacketStore } from "../../src/store/index.js";
import { packet, results, T0, type Spec } from "./helpers.js";

const ADDRESSES = ["qis.hvac.energy-anomaly", "qis.hvac.energy", "qis.iot.pm.bearing", "qis.site1.a1"];

describe("insertBatch with pending runs", () => {
  it("stores, refuses and indexes exactly like one insert per packet", () => {
    const spec = fc.record({
      node: fc.integer({ min: 1, max: 3 }),
      seq: fc.integer({ min: 0, max: 40 }),
      address: fc.constantFrom(...ADDRESSES),
      ttl: fc.constantFrom(0, 0, 60, 1),
      age: fc.constantFrom(0, 0, 0, 5000), // 5 s old with ttl 1: expired on arrival
    });
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.array(fc.array(fc.tuple(spec, fc.integer({ min: 0, max: 9 })), { maxLength: 25 }), { minLength: 1, maxLength: 6 }),
        fc.boolean(),
        (capacity, batches, unaligned) => {
          const now = () => T0;
          const byBatch = new PacketStore({ capacity, now });
          const bySingle = new PacketStore({ capacity, now });
          for (const list of batches) {
            const pad = unaligned ? 3 : 0;
            const buf = Buffer.alloc(pad + list.length * PACKET_SIZE);
            const codes = new Uint8Array(list.length);
            list.forEach(([s, r], i) => {
              const p: Spec = { node: s.node, seq: s.seq, address: s.address, ttl: s.ttl, ts: T0 - s.age };
              packet(p).copy(buf, pad + i * PACKET_SIZE);
              if (r === 0) codes[i] = 1; // invalid per the caller's verdict
              if (r === 1 && i > 0) buf.copy(buf, pad + i * PACKET_SIZE, pad + (i - 1) * PACKET_SIZE, pad + i * PACKET_SIZE); // exact copy of the previous one
            });
            const b = buf.subarray(pad);
            const statuses = new Uint8Array(list.length);
            const stored = byBatch.insertBatch(b, list.length, codes, statuses);
            const expected = list.map((_, i) => (codes[i] !== 0 ? InsertStatus.INVALID : bySingle.insert(b, i * PACKET_SIZE)));
            expect([...statuses]).toEqual(expected);
            expect(stored).toBe(expected.filter((x) => x === InsertStatus.STORED).length);
            expect(results(byBatch)).toEqual(results(bySingle));
            for (const a of ADDRESSES) expect(results(byBatch, a)).toEqual(results(bySingle, a));
            expect(results(byBatch, "qis.hvac.*")).toEqual(results(bySingle, "qis.hvac.*"));
            // Byte for byte: every stored packet is in its slot.
            expect(byBatch.collect().map((x) => x.packet.toString("hex"))).toEqual(bySingle.collect().map((x) => x.packet.toString("hex")));
          }
          const { file: _f1, ...s1 } = byBatch.stats();
          const { file: _f2, ...s2 } = bySingle.stats();
          expect({ ...s1, invalid: 0 }).toEqual({ ...s2, invalid: 0 });
        },
      ),
      { numRuns: 300 },
    );
  });
});
