/**
 * The address index's compact records and front cache (src/store/addresses.ts): packets are
 * grouped by their address bytes, never by a cache entry or a recycled id.
 */
import { describe, expect, it } from "vitest";
import { OFFSETS, PACKET_SIZE } from "../../src/packet/index.js";
import { FRONT, RECORD_IDS } from "../../src/store/addresses.js";
import { PacketStore } from "../../src/store/index.js";
import { batch, clock, packet, results, seqs, T0 } from "./helpers.js";

/** `p` with the address_hash of `from` (an inserted-as-verified packet whose hash collides with another address's). */
function withHashOf(p: Buffer, from: Buffer): Buffer {
  from.copy(p, OFFSETS.address_hash, OFFSETS.address_hash, OFFSETS.address_hash + 16);
  return p;
}

describe("address index: records and front cache", () => {
  it("keeps two addresses with one address_hash apart (same length and different length), in insert and batch", () => {
    for (const viaBatch of [false, true]) {
      const store = new PacketStore({ capacity: 16 });
      const a = packet({ seq: 1, address: "qis.a.same-len" });
      const b = withHashOf(packet({ seq: 2, address: "qis.b.same-len" }), a);
      const c = withHashOf(packet({ seq: 3, address: "qis.c.longer-one" }), a);
      const d = packet({ seq: 4, address: "qis.a.same-len" });
      const e = withHashOf(packet({ seq: 5, address: "qis.b.same-len" }), a);
      const all = [a, b, c, d, e];
      if (viaBatch) store.insertBatch(Buffer.concat(all), 5, new Uint8Array(5));
      else for (const p of all) store.insert(p);
      expect(store.stats().addresses).toBe(3);
      expect(seqs(store, "qis.a.same-len")).toEqual([1, 4]);
      expect(seqs(store, "qis.*.same-len")).toEqual([1, 2, 4, 5]);
      // (An exact query hashes its pattern, so it only finds packets whose address_hash is right.)
      expect(seqs(store, "qis.c.*")).toEqual([3]);
      expect(seqs(store, "qis.b.*")).toEqual([2, 5]);
    }
  });

  it("an address whose packets all left (evicted or expired) comes back under a fresh id, with its own packets only", () => {
    const c = clock(T0);
    const store = new PacketStore({ capacity: 4, now: c.now });
    store.insert(packet({ seq: 1, address: "qis.x.one", ttl: 1 }));
    store.insert(packet({ seq: 2, address: "qis.y.two" }));
    c.advance(1500); // seq 1 expires: qis.x.one is dropped (its id is freed)
    expect(store.stats().addresses).toBe(1);
    // The freed id goes to another address first, then the old address reappears.
    store.insert(packet({ seq: 3, address: "qis.z.three", ts: T0 + 1500 }));
    store.insert(packet({ seq: 4, address: "qis.x.one", ts: T0 + 1500 }));
    expect(seqs(store, "qis.x.one")).toEqual([4]);
    expect(seqs(store, "qis.z.three")).toEqual([3]);
    // Eviction: fill the ring so that qis.y.two leaves, then send it again.
    store.insert(packet({ seq: 5, address: "qis.z.three", ts: T0 + 1500 }));
    store.insert(packet({ seq: 6, address: "qis.z.three", ts: T0 + 1500 }));
    expect(seqs(store, "qis.y.two")).toEqual([]);
    store.insert(packet({ seq: 7, address: "qis.y.two", ts: T0 + 1500 }));
    expect(seqs(store, "qis.y.two")).toEqual([7]);
    expect(seqs(store, "qis.>")).toEqual([4, 5, 6, 7]);
    expect(store.stats().addresses).toBe(3);
  });

  it("churns through many more addresses than front-cache entries, with and without records", () => {
    // More live addresses than RECORD_IDS: the ids above it are confirmed against their slots.
    const n = RECORD_IDS + 600;
    expect(n).toBeGreaterThan(FRONT);
    const capacity = n + 100;
    const store = new PacketStore({ capacity });
    const addr = (i: number) => `qis.churn.a${i}`;
    for (let round = 0; round < 3; round++) {
      const specs = Array.from({ length: n }, (_, i) => ({ seq: round * n + i, address: addr(i) }));
      store.insertBatch(batch(specs), n, new Uint8Array(n));
    }
    // capacity n + 100: the last 3n − capacity packets are live, each address holds 2 or 3.
    expect(store.stats().addresses).toBe(n);
    for (const i of [0, 1, RECORD_IDS - 1, RECORD_IDS, n - 1]) {
      const got = results(store, addr(i)).map(([, id]) => Number(id.split(":")[1]) % n);
      expect(got.length).toBeGreaterThan(0);
      expect(new Set(got)).toEqual(new Set([i]));
    }
    expect(store.query("qis.churn.*", 0, Infinity, () => {}).count).toBe(capacity);
  });

  it("stays correct when a collision pair alternates (one front-cache entry, two ids)", () => {
    const store = new PacketStore({ capacity: 64 });
    const a = packet({ seq: 0, address: "qis.p.left" });
    const buf = Buffer.alloc(40 * PACKET_SIZE);
    for (let i = 0; i < 40; i++) {
      const p = i % 2 === 0 ? packet({ seq: i, address: "qis.p.left" }) : withHashOf(packet({ seq: i, address: "qis.p.right" }), a);
      p.copy(buf, i * PACKET_SIZE);
    }
    store.insertBatch(buf, 40, new Uint8Array(40));
    expect(seqs(store, "qis.p.left")).toEqual(Array.from({ length: 20 }, (_, k) => 2 * k));
    expect(store.stats().addresses).toBe(2);
  });
});
