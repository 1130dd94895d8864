/** The store's building blocks against naive models: the expiry heap and the identity table. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { OFFSETS, PACKET_SIZE } from "../../src/packet/index.js";
import { ExpiryHeap } from "../../src/util/heap.js";
import { backwardShiftDelete } from "../../src/store/hash.js";
import { IdentityIndex } from "../../src/store/identity.js";
import { copyIsExact, copyPacket, f64View } from "../../src/store/copy.js";

describe("ExpiryHeap", () => {
  it("always has the earliest expiry on top, through pushes and removals anywhere", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(5, 60),
        // mostly pushes, so the heap gets three levels deep; few distinct keys, so ties happen
        fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }).map((x) => x < 7), fc.integer({ min: 0, max: 1_000_000 }), fc.integer({ min: 0, max: 30 })), {
          minLength: 50,
          maxLength: 300,
        }),
        (capacity, ops) => {
          const expiry = new Float64Array(capacity);
          const heap = new ExpiryHeap(capacity, expiry);
          const model = new Map<number, number>();
          for (const [push, slotPick, key] of ops) {
            const slot = slotPick % capacity;
            if (push && !model.has(slot)) {
              expiry[slot] = key;
              heap.push(slot);
              model.set(slot, key);
            } else if (push && key % 2 === 0) {
              // re-key a slot in the heap
              expiry[slot] = key;
              heap.update(slot);
              model.set(slot, key);
            } else {
              heap.remove(slot);
              model.delete(slot);
            }
            expect(heap.size).toBe(model.size);
            expect(heap.has(slot)).toBe(model.has(slot));
            const min = Math.min(...model.values());
            expect(heap.topKey()).toBe(model.size === 0 ? Infinity : min);
            if (model.size > 0) expect(model.get(heap.top())).toBe(min);
          }
          // Draining pops in key order.
          const drained: number[] = [];
          while (heap.size > 0) {
            drained.push(heap.topKey());
            heap.remove(heap.top());
          }
          expect(drained).toEqual([...model.values()].sort((a, b) => a - b));
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("IdentityIndex", () => {
  it("finds exactly the indexed identities through adds and removals in a tiny, wrapping table", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 9 })), { maxLength: 150 }),
        (capacity, ops) => {
          const data = Buffer.alloc(capacity * PACKET_SIZE);
          const index = new IdentityIndex(capacity, data, 12345);
          const probe = Buffer.alloc(PACKET_SIZE);
          const slotOf = new Map<number, number>(); // seq -> slot
          const seqIn = new Map<number, number>(); // slot -> seq
          for (const [slotPick, seq] of ops) {
            const slot = slotPick % capacity;
            if (seqIn.has(slot)) {
              index.remove(slot);
              slotOf.delete(seqIn.get(slot)!);
              seqIn.delete(slot);
            } else if (!slotOf.has(seq)) {
              data.writeUIntLE(seq, slot * PACKET_SIZE + OFFSETS.seq, 6);
              index.add(slot, index.hashPacket(data, slot * PACKET_SIZE));
              slotOf.set(seq, slot);
              seqIn.set(slot, seq);
            }
            for (let q = 0; q <= 9; q++) {
              probe.writeUIntLE(q, OFFSETS.seq, 6);
              expect(index.find(index.hashPacket(probe, 0), probe, 0)).toBe(slotOf.get(q) ?? -1);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("backwardShiftDelete", () => {
  it("keeps every remaining key reachable from its home, wrapping around the end", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 30 })), { maxLength: 100 }), (ops) => {
        const mask = 7;
        const table = new Int32Array(8);
        const home = (e: number) => (e * 5 + 6) & mask; // clusters near the end, so runs wrap
        const present = new Set<number>();
        const find = (e: number) => {
          for (let i = home(e), n = 0; n < 8; i = (i + 1) & mask, n++) {
            if (table[i] === 0) return -1;
            if (table[i] === e) return i;
          }
          return -1;
        };
        for (const [add, e] of ops) {
          if (add && !present.has(e) && present.size < 7) {
            let i = home(e);
            while (table[i] !== 0) i = (i + 1) & mask;
            table[i] = e;
            present.add(e);
          } else if (!add && present.has(e)) {
            backwardShiftDelete(table, mask, find(e), home);
            present.delete(e);
          }
          for (let e2 = 1; e2 <= 30; e2++) expect(find(e2) >= 0).toBe(present.has(e2));
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("copyPacket", () => {
  it("copies every bit pattern exactly, aligned or not", () => {
    expect(copyIsExact()).toBe(true);
    const src = Buffer.alloc(3 * PACKET_SIZE + 8);
    for (let i = 0; i < src.length; i++) src[i] = (i * 167 + 13) & 0xff;
    for (let i = 0; i < src.length; i += 8) src.writeUInt32LE(0x7ff40000 + i, i + 4); // signalling NaNs
    const dst = Buffer.alloc(2 * PACKET_SIZE + 8);
    for (const [so, d] of [[0, 0], [PACKET_SIZE, PACKET_SIZE], [3, 8], [8, 5]] as const) {
      copyPacket(src, f64View(src), so, dst, f64View(dst), d);
      expect(Buffer.compare(dst.subarray(d, d + PACKET_SIZE), src.subarray(so, so + PACKET_SIZE))).toBe(0);
    }
  });
});
