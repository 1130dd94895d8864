import { describe, expect, it } from "vitest";
import { AddressError, compilePattern } from "../../src/address/index.js";
import { codec, OFFSETS, PACKET_SIZE, PacketView, Verdict } from "../../src/packet/index.js";
import { InsertStatus, MAX_CAPACITY, PacketStore } from "../../src/store/index.js";
import { batch, catchStoreError, clock, identityAt, nodeId, packet, results, seqs, T0, type Spec } from "./helpers.js";

const at = (now: number) => () => now;

describe("construction", () => {
  it.each([0, -1, 1.5, NaN, Infinity, MAX_CAPACITY + 1, "10" as unknown as number])("capacity %s is ERR_STORE_CAPACITY", (capacity) => {
    expect(catchStoreError(() => new PacketStore({ capacity })).code).toBe("ERR_STORE_CAPACITY");
  });

  it("refuses bad options with ERR_STORE_ARGUMENT", () => {
    expect(catchStoreError(() => new PacketStore({ capacity: 4, now: 5 as unknown as () => number })).code).toBe("ERR_STORE_ARGUMENT");
    expect(catchStoreError(() => new PacketStore({ capacity: 4, file: "" })).code).toBe("ERR_STORE_ARGUMENT");
    expect(catchStoreError(() => new PacketStore(null as unknown as { capacity: number })).code).toBe("ERR_STORE_ARGUMENT");
    expect(catchStoreError(() => new PacketStore({ capacity: 4, queryStrategy: "fast" as "auto" })).code).toBe("ERR_STORE_ARGUMENT");
    for (const native of ["yes", 1, null])
      expect(catchStoreError(() => new PacketStore({ capacity: 4, native: native as unknown as boolean }))).toMatchObject({ code: "ERR_STORE_ARGUMENT", message: "native must be a boolean" });
    for (const seed of [1.5, 2 ** 31, -(2 ** 31) - 1, "7", NaN])
      expect(catchStoreError(() => new PacketStore({ capacity: 4, seed: seed as number }))).toMatchObject({ code: "ERR_STORE_ARGUMENT", message: "seed must be a 32-bit signed integer" });
    // The edges of the int32 range are seeds.
    expect(new PacketStore({ capacity: 4, seed: -(2 ** 31) }).size).toBe(0);
    expect(new PacketStore({ capacity: 4, seed: 2 ** 31 - 1 }).size).toBe(0);
  });

  it("starts empty with a fixed memory footprint that traffic does not change", () => {
    const store = new PacketStore({ capacity: 100, now: at(T0) });
    const s0 = store.stats();
    expect(s0).toMatchObject({ capacity: 100, size: 0, cursor: 0, addresses: 0, stored: 0, slotBytes: 100 * 512, file: null });
    const buf = batch(Array.from({ length: 1000 }, (_, i) => ({ seq: i, node: i % 7, address: `qis.a.b${i % 150}`, ttl: i % 3 })));
    expect(store.insertBatch(buf)).toBe(1000);
    const s1 = store.stats();
    expect(s1.size).toBe(100);
    expect(s1.indexBytes).toBe(s0.indexBytes);
    expect(s1.slotBytes).toBe(s0.slotBytes);
  });
});

describe("insert", () => {
  it("gives each stored packet the next cursor, from 1", () => {
    const store = new PacketStore({ capacity: 8, now: at(T0) });
    expect(store.insert(packet({ seq: 1 }))).toBe(InsertStatus.STORED);
    expect(store.insert(packet({ seq: 2 }))).toBe(InsertStatus.STORED);
    expect(store.cursor).toBe(2);
    expect(results(store)).toEqual([
      [1, "1:1", "qis.hvac.energy-anomaly"],
      [2, "1:2", "qis.hvac.energy-anomaly"],
    ]);
  });

  it("stores the bytes exactly, from any offset and alignment", () => {
    const store = new PacketStore({ capacity: 4, now: at(T0) });
    const p = packet({ seq: 9, address: "qis.x.y", delta: -0.75 });
    const raw = Buffer.alloc(3 * PACKET_SIZE + 5);
    const unaligned = raw.subarray(3); // byteOffset 3
    p.copy(unaligned, PACKET_SIZE + 1);
    expect(store.insert(unaligned, PACKET_SIZE + 1)).toBe(InsertStatus.STORED);
    const aligned = Buffer.alloc(PACKET_SIZE * 2);
    packet({ seq: 10 }).copy(aligned, PACKET_SIZE);
    expect(store.insert(aligned, PACKET_SIZE)).toBe(InsertStatus.STORED);
    const got = store.collect();
    expect(Buffer.compare(got[0]!.packet, p)).toBe(0);
    expect(Buffer.compare(got[1]!.packet, packet({ seq: 10 }))).toBe(0);
    expect(codec.verdict(got[0]!.packet)).toBe(Verdict.OK);
  });

  it("never holds more than capacity: the oldest is overwritten and counted as evicted", () => {
    const store = new PacketStore({ capacity: 5, now: at(T0) });
    for (let seq = 1; seq <= 13; seq++) {
      expect(store.insert(packet({ seq }))).toBe(InsertStatus.STORED);
      expect(store.size).toBe(Math.min(seq, 5));
    }
    expect(seqs(store)).toEqual([9, 10, 11, 12, 13]);
    expect(results(store).map((r) => r[0])).toEqual([9, 10, 11, 12, 13]);
    expect(store.stats()).toMatchObject({ size: 5, cursor: 13, stored: 13, evicted: 8, duplicates: 0 });
  });

  it("refuses a duplicate node_id + seq (whatever its content) and counts it", () => {
    const store = new PacketStore({ capacity: 8, now: at(T0) });
    expect(store.insert(packet({ node: 1, seq: 5 }))).toBe(InsertStatus.STORED);
    expect(store.insert(packet({ node: 1, seq: 5 }))).toBe(InsertStatus.DUPLICATE);
    expect(store.insert(packet({ node: 1, seq: 5, address: "qis.other.thing", delta: 0.9 }))).toBe(InsertStatus.DUPLICATE);
    expect(store.insert(packet({ node: 2, seq: 5 }))).toBe(InsertStatus.STORED);
    expect(store.insert(packet({ node: 1, seq: 6 }))).toBe(InsertStatus.STORED);
    expect(store.stats()).toMatchObject({ size: 3, cursor: 3, stored: 3, duplicates: 2 });
    expect(results(store).map((r) => r[1])).toEqual(["1:5", "2:5", "1:6"]);
  });

  it("refuses duplicates inside one batch and against the store", () => {
    const store = new PacketStore({ capacity: 8, now: at(T0) });
    store.insert(packet({ seq: 1 }));
    const statuses = new Uint8Array(5);
    const stored = store.insertBatch(batch([{ seq: 2 }, { seq: 3 }, { seq: 2 }, { seq: 1 }, { seq: 4 }]), undefined, undefined, statuses);
    expect(stored).toBe(3);
    expect([...statuses]).toEqual([0, 0, 1, 1, 0]);
    expect(seqs(store)).toEqual([1, 2, 3, 4]);
    expect(store.stats().duplicates).toBe(2);
  });

  it("accepts an identity again once its packet has been evicted", () => {
    const store = new PacketStore({ capacity: 2, now: at(T0) });
    store.insert(packet({ seq: 1 }));
    store.insert(packet({ seq: 2 }));
    expect(store.insert(packet({ seq: 1 }))).toBe(InsertStatus.DUPLICATE);
    store.insert(packet({ seq: 3 })); // evicts seq 1
    expect(store.lookup(nodeId(1), 1)).toBe(0);
    expect(store.insert(packet({ seq: 1 }))).toBe(InsertStatus.STORED); // evicts seq 2
    expect(results(store)).toEqual([
      [3, "1:3", "qis.hvac.energy-anomaly"],
      [4, "1:1", "qis.hvac.energy-anomaly"], // a refused duplicate takes no cursor
    ]);
    expect(store.stats()).toMatchObject({ evicted: 2, duplicates: 1 });
  });

  it("verifies a single packet only when told it is not verified", () => {
    const store = new PacketStore({ capacity: 4, now: at(T0) });
    const bad = packet({ seq: 1 });
    bad[20] = bad[20]! ^ 1; // CRC no longer matches
    expect(store.insert(bad, 0, false)).toBe(InsertStatus.INVALID);
    expect(store.stats()).toMatchObject({ invalid: 1, size: 0, cursor: 0 });
    expect(store.insert(packet({ seq: 1 }), 0, false)).toBe(InsertStatus.STORED);
  });

  it("refuses bad arguments with ERR_STORE_ARGUMENT", () => {
    const store = new PacketStore({ capacity: 4 });
    expect(catchStoreError(() => store.insert("x" as unknown as Uint8Array)).code).toBe("ERR_STORE_ARGUMENT");
    expect(catchStoreError(() => store.insert(Buffer.alloc(511))).code).toBe("ERR_STORE_ARGUMENT");
    expect(catchStoreError(() => store.insert(Buffer.alloc(1024), 513)).code).toBe("ERR_STORE_ARGUMENT");
    expect(catchStoreError(() => store.insert(Buffer.alloc(1024), -1)).code).toBe("ERR_STORE_ARGUMENT");
    expect(catchStoreError(() => store.insertBatch(Buffer.alloc(1024), 3)).code).toBe("ERR_STORE_ARGUMENT");
    expect(catchStoreError(() => store.insertBatch(Buffer.alloc(1024), 2, new Uint8Array(1))).code).toBe("ERR_STORE_ARGUMENT");
    expect(catchStoreError(() => store.insertBatch(Buffer.alloc(1024), 2, undefined, new Uint8Array(1))).code).toBe("ERR_STORE_ARGUMENT");
  });
});

describe("insertBatch", () => {
  /** version byte 2 with a re-sealed CRC: passes the CRC check, fails the version check */
  function version2(b: Buffer, at: number): void {
    b[at + 3] = 2;
    b.writeUInt32LE(codec.crc32c(b, at, 508), at + OFFSETS.crc32c);
  }

  it("verifies the batch, counts invalid packets and skips them", () => {
    const store = new PacketStore({ capacity: 16, now: at(T0) });
    const buf = batch(Array.from({ length: 6 }, (_, i) => ({ seq: i })));
    version2(buf, 1 * PACKET_SIZE);
    expect(codec.verdict(buf, PACKET_SIZE)).toBe(Verdict.VERSION);
    buf[4 * PACKET_SIZE + 300] = buf[4 * PACKET_SIZE + 300]! ^ 0xff; // corrupt: CRC mismatch
    const statuses = new Uint8Array(6);
    expect(store.insertBatch(buf, 6, undefined, statuses)).toBe(4);
    expect([...statuses]).toEqual([0, 3, 0, 0, 3, 0]);
    expect(seqs(store)).toEqual([0, 2, 3, 5]);
    expect(store.stats()).toMatchObject({ invalid: 2, stored: 4, cursor: 4 });
  });

  it("verifies batches larger than one verification chunk", () => {
    const store = new PacketStore({ capacity: 4000, now: at(T0) });
    const n = 2500;
    const buf = batch(Array.from({ length: n }, (_, i) => ({ seq: i, address: `qis.a.b${i % 10}` })));
    for (const i of [0, 1023, 1024, 1500, 2499]) version2(buf, i * PACKET_SIZE);
    expect(store.insertBatch(buf)).toBe(n - 5);
    expect(store.stats().invalid).toBe(5);
    const got = seqs(store);
    expect(got).toHaveLength(n - 5);
    expect(got).not.toContain(1024);
    expect(got).toContain(1025);
  });

  it("trusts verdicts the caller passes, and inserts only `count` packets", () => {
    const store = new PacketStore({ capacity: 16, now: at(T0) });
    const buf = batch([{ seq: 1 }, { seq: 2 }, { seq: 3 }, { seq: 4 }]);
    const codes = new Uint8Array([0, Verdict.CRC, 0, 0]);
    expect(store.insertBatch(buf, 3, codes)).toBe(2);
    expect(seqs(store)).toEqual([1, 3]);
    expect(store.stats().invalid).toBe(1);
  });

  it("takes whole packets of the buffer by default and a batch bigger than the store", () => {
    const store = new PacketStore({ capacity: 3, now: at(T0) });
    expect(store.insertBatch(batch(Array.from({ length: 10 }, (_, i) => ({ seq: i }))))).toBe(10);
    expect(seqs(store)).toEqual([7, 8, 9]);
    expect(store.stats()).toMatchObject({ evicted: 7, size: 3 });
  });
});

describe("TTL", () => {
  it("refuses a packet already expired on arrival (expiry ≤ now) and counts it", () => {
    const c = clock(T0 + 10_000);
    const store = new PacketStore({ capacity: 4, now: c.now });
    expect(store.insert(packet({ seq: 1, ts: T0, ttl: 10 }))).toBe(InsertStatus.EXPIRED); // expiry == now
    expect(store.insert(packet({ seq: 2, ts: T0, ttl: 11 }))).toBe(InsertStatus.STORED);
    expect(store.insert(packet({ seq: 3, ts: T0 - 86_400_000, ttl: 0 }))).toBe(InsertStatus.STORED); // ttl 0: never
    expect(store.stats()).toMatchObject({ expiredOnArrival: 1, expired: 0, size: 2, cursor: 2 });
  });

  it("never returns an expired packet, frees its slot and counts it once", () => {
    const c = clock(T0);
    const store = new PacketStore({ capacity: 4, now: c.now });
    store.insert(packet({ seq: 1, ttl: 10 }));
    store.insert(packet({ seq: 2, ttl: 0 }));
    store.insert(packet({ seq: 3, ttl: 20 }));
    c.set(T0 + 9_999);
    expect(seqs(store)).toEqual([1, 2, 3]);
    expect(store.get(nodeId(1), 1)?.seq).toBe(1);
    c.set(T0 + 10_000);
    expect(seqs(store)).toEqual([2, 3]);
    expect(store.get(nodeId(1), 1)).toBeUndefined();
    expect(store.lookup(nodeId(1), 1)).toBe(0);
    expect(store.read(1)).toBeUndefined();
    expect(seqs(store, "qis.hvac.energy-anomaly")).toEqual([2, 3]);
    expect(store.stats()).toMatchObject({ size: 2, expired: 1 });
    expect(store.stats()).toMatchObject({ size: 2, expired: 1 });
    c.set(T0 + 1e12); // ~30 years
    expect(seqs(store)).toEqual([2]);
    expect(store.stats()).toMatchObject({ size: 1, expired: 2 });
  });

  it("sweep(now) frees what expired by then and returns how many", () => {
    const c = clock(T0);
    const store = new PacketStore({ capacity: 10, now: c.now });
    store.insertBatch(batch(Array.from({ length: 10 }, (_, i) => ({ seq: i, ttl: (i % 5) + 1 }))));
    expect(store.sweep()).toBe(0);
    expect(store.sweep(T0 + 2_000)).toBe(4); // ttl 1 and 2
    expect(store.sweep(T0 + 2_000)).toBe(0);
    expect(store.size).toBe(6);
    expect(store.sweep(T0 + 5_000)).toBe(6);
    expect(store.stats()).toMatchObject({ size: 0, expired: 10, addresses: 0 });
  });

  it("a freed slot is not an eviction, and the identity can come back", () => {
    const c = clock(T0);
    const store = new PacketStore({ capacity: 2, now: c.now });
    store.insert(packet({ seq: 1, ttl: 1 }));
    store.insert(packet({ seq: 2 }));
    c.advance(1_000);
    expect(store.insert(packet({ seq: 3 }))).toBe(InsertStatus.STORED); // reuses seq 1's (freed) slot
    expect(store.stats()).toMatchObject({ evicted: 0, expired: 1 });
    expect(store.insert(packet({ seq: 1, ts: T0 + 1_000, ttl: 5 }))).toBe(InsertStatus.STORED); // evicts seq 2
    expect(seqs(store)).toEqual([3, 1]);
    expect(store.stats()).toMatchObject({ evicted: 1, expired: 1 });
  });

  it("measures TTL from the sender's timestamp: a sender clock ahead keeps a packet longer", () => {
    const c = clock(T0);
    const store = new PacketStore({ capacity: 4, now: c.now });
    store.insert(packet({ seq: 1, ts: T0 + 3_600_000, ttl: 1 })); // sender 1 h ahead
    store.insert(packet({ seq: 2, ts: T0 - 3_600_000, ttl: 3_601 })); // sender 1 h behind
    c.advance(1_000);
    expect(seqs(store)).toEqual([1]);
    c.set(T0 + 3_601_000);
    expect(seqs(store)).toEqual([]);
  });
});

describe("query", () => {
  const ADDRS = [
    "qis.hvac.energy",
    "qis.hvac.energy-anomaly",
    "qis.hvac.energy.more",
    "qis.iot.pump.energy-anomaly",
    "qis.hvac.other",
  ];

  function filled(): PacketStore {
    const store = new PacketStore({ capacity: 64, now: at(T0) });
    store.insertBatch(batch(Array.from({ length: 20 }, (_, i) => ({ seq: i, address: ADDRS[i % ADDRS.length]! }))));
    return store;
  }
  const seqsOf = (addrs: string[]) => Array.from({ length: 20 }, (_, i) => i).filter((i) => addrs.includes(ADDRS[i % ADDRS.length]!));

  it.each([
    ["qis.hvac.energy", ["qis.hvac.energy"]],
    ["qis.hvac.energy-anomaly", ["qis.hvac.energy-anomaly"]],
    ["qis.hvac.*", ["qis.hvac.energy", "qis.hvac.energy-anomaly", "qis.hvac.other"]],
    ["qis.hvac.>", ["qis.hvac.energy", "qis.hvac.energy-anomaly", "qis.hvac.energy.more", "qis.hvac.other"]],
    ["qis.*.energy-anomaly", ["qis.hvac.energy-anomaly"]],
    ["qis.*.*.energy-anomaly", ["qis.iot.pump.energy-anomaly"]],
    ["qis.>", ADDRS],
    ["qis.hvac.energy.>", ["qis.hvac.energy.more"]],
    ["qis.hvac.energ", []],
    ["qis.water.*", []],
  ])("%s returns exactly its addresses, in cursor order", (pattern, addrs) => {
    const store = filled();
    expect(seqs(store, pattern)).toEqual(seqsOf(addrs));
    const r = store.query(pattern, 0, Infinity, () => {});
    expect(r).toEqual({ count: seqsOf(addrs).length, next: 20 });
  });

  it("keeps the prefix trap shut: qis.hvac.energy never returns qis.hvac.energy-anomaly", () => {
    const store = new PacketStore({ capacity: 8, now: at(T0) });
    store.insert(packet({ seq: 1, address: "qis.hvac.energy-anomaly" }));
    store.insert(packet({ seq: 2, address: "qis.hvac.energy" }));
    store.insert(packet({ seq: 3, address: "qis.hvac.energy-anomaly" }));
    expect(results(store, "qis.hvac.energy")).toEqual([[2, "1:2", "qis.hvac.energy"]]);
    expect(seqs(store, "qis.hvac.energy-anomaly")).toEqual([1, 3]);
    expect(seqs(store, compilePattern("qis.hvac.energy"))).toEqual([2]);
  });

  it("null returns every packet, also those whose address is outside the grammar, which no pattern matches", () => {
    const store = new PacketStore({ capacity: 8, now: at(T0) });
    store.insert(packet({ seq: 1, address: "qis.a.b" }));
    store.insert(packet({ seq: 2, address: "not an address" }));
    expect(seqs(store, null)).toEqual([1, 2]);
    expect(seqs(store, "qis.>")).toEqual([1]);
  });

  it("takes a compiled pattern", () => {
    const store = filled();
    expect(seqs(store, compilePattern("qis.hvac.*"))).toEqual(seqsOf(["qis.hvac.energy", "qis.hvac.energy-anomaly", "qis.hvac.other"]));
  });

  it.each([
    ["qis.hvac.*x", "ERR_PATTERN_WILDCARD"],
    ["qis.*", "ERR_ADDRESS_DEPTH"],
    ["QIS.a.b", "ERR_ADDRESS_PREFIX"],
    ["qis.a.>.b", "ERR_PATTERN_WILDCARD"],
    ["qis..a", "ERR_ADDRESS_EMPTY_TOKEN"],
  ])("a bad pattern %s throws the address module's %s", (pattern, code) => {
    const store = filled();
    let error: unknown;
    try {
      store.query(pattern, 0, 10, () => {});
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AddressError);
    expect((error as AddressError).code).toBe(code);
  });

  it("refuses bad since / limit / visitor with ERR_STORE_ARGUMENT", () => {
    const store = filled();
    expect(catchStoreError(() => store.query(null, -1, 10, () => {})).code).toBe("ERR_STORE_ARGUMENT");
    expect(catchStoreError(() => store.query(null, 1.5, 10, () => {})).code).toBe("ERR_STORE_ARGUMENT");
    expect(catchStoreError(() => store.query(null, 0, -1, () => {})).code).toBe("ERR_STORE_ARGUMENT");
    expect(catchStoreError(() => store.query(null, 0, NaN, () => {})).code).toBe("ERR_STORE_ARGUMENT");
    expect(catchStoreError(() => store.query(null, 0, 1, null as unknown as () => void)).code).toBe("ERR_STORE_ARGUMENT");
    expect(catchStoreError(() => store.query(42 as unknown as string, 0, 1, () => {})).code).toBe("ERR_STORE_ARGUMENT");
  });

  it.each(["qis.hvac.energy", "qis.hvac.*", "qis.>", null])("pages of %s return every match exactly once, and next resumes", (pattern) => {
    const store = new PacketStore({ capacity: 500, now: at(T0) });
    store.insertBatch(batch(Array.from({ length: 300 }, (_, i) => ({ seq: i, address: ADDRS[(i * 7) % 5]! }))));
    const all = seqs(store, pattern);
    for (const limit of [1, 2, 7, 50, 1000]) {
      const paged: number[] = [];
      let since = 0;
      for (let page = 0; page < 400; page++) {
        const got: number[] = [];
        const r = store.query(pattern, since, limit, (buf, offset, cursor) => {
          expect(cursor).toBeGreaterThan(since);
          got.push(buf.readUIntLE(offset + OFFSETS.seq, 6));
        });
        expect(r.count).toBe(got.length);
        expect(r.count).toBeLessThanOrEqual(limit);
        paged.push(...got);
        if (r.count < limit) {
          expect(r.next).toBe(store.cursor);
          break;
        }
        since = r.next;
      }
      expect(paged).toEqual(all);
    }
  });

  it("returns packets inserted between pages on later pages", () => {
    const store = new PacketStore({ capacity: 100, now: at(T0) });
    store.insertBatch(batch([{ seq: 1 }, { seq: 2 }, { seq: 3 }]));
    let r = store.query("qis.hvac.energy-anomaly", 0, 2, () => {});
    expect(r).toEqual({ count: 2, next: 2 });
    store.insertBatch(batch([{ seq: 4 }, { seq: 5, address: "qis.x.y" }]));
    expect(seqs(store, "qis.hvac.energy-anomaly", r.next)).toEqual([3, 4]);
    r = store.query("qis.hvac.energy-anomaly", r.next, 10, () => {});
    expect(r).toEqual({ count: 2, next: 5 });
    expect(store.query("qis.hvac.energy-anomaly", r.next, 10, () => {})).toEqual({ count: 0, next: 5 });
  });

  it("since at or beyond the store's cursor returns nothing and the store's cursor; limit 0 returns since", () => {
    const store = filled();
    expect(store.query(null, 20, 5, () => {})).toEqual({ count: 0, next: 20 });
    expect(store.query(null, 1000, 5, () => {})).toEqual({ count: 0, next: 20 });
    expect(store.query(null, 3, 0, () => {})).toEqual({ count: 0, next: 3 });
  });

  it("resumes from a since whose packet was evicted or belongs to another address", () => {
    const store = new PacketStore({ capacity: 10, now: at(T0) });
    store.insertBatch(batch(Array.from({ length: 25 }, (_, i) => ({ seq: i, address: i % 3 === 0 ? "qis.a.b" : "qis.a.c" }))));
    // live: seq 15..24 (cursors 16..25)
    expect(seqs(store, "qis.a.b", 3)).toEqual([15, 18, 21, 24]);
    expect(seqs(store, "qis.a.b", 17)).toEqual([18, 21, 24]); // cursor 17 is seq 16, a qis.a.c packet
    expect(seqs(store, "qis.a.b", 19)).toEqual([21, 24]); // cursor 19 is seq 18, a qis.a.b packet
    expect(seqs(store, "qis.a.b", 20)).toEqual([21, 24]);
    expect(seqs(store, "qis.a.b", 25)).toEqual([]);
  });

  it.each(["auto", "merge", "scan"] as const)("%s: merges many sparse addresses and scans dense ones with the same answer", (queryStrategy) => {
    const store = new PacketStore({ capacity: 2000, now: at(T0), queryStrategy });
    // 40 addresses: qis.s.a0..a2 rare (sparse), qis.d.* common
    const specs: Spec[] = Array.from({ length: 1500 }, (_, i) => ({
      seq: i,
      address: i % 50 === 0 ? `qis.s.a${(i / 50) % 3}` : `qis.d.x${i % 37}`,
    }));
    store.insertBatch(batch(specs));
    const expected = (re: RegExp) => specs.filter((s) => re.test(s.address!)).map((s) => s.seq);
    expect(seqs(store, "qis.s.*")).toEqual(expected(/^qis\.s\./)); // 3 lists, sparse: merge
    expect(seqs(store, "qis.d.*")).toEqual(expected(/^qis\.d\./)); // 37 lists: scan
    expect(seqs(store, "qis.*.a1")).toEqual(expected(/^qis\.s\.a1$/));
    expect(seqs(store, "qis.s.*", 500, 5)).toEqual(expected(/^qis\.s\./).filter((s) => s >= 500).slice(0, 5));
    expect(seqs(store, "qis.d.*", 500, 5)).toEqual(expected(/^qis\.d\./).filter((s) => s >= 500).slice(0, 5));
  });

  it.each([31, 32, 33])("merges (or scans, beyond 32) %i matching addresses in cursor order", (n) => {
    for (const queryStrategy of ["auto", "merge", "scan"] as const) {
      const store = new PacketStore({ capacity: 200, now: at(T0), queryStrategy });
      const specs: Spec[] = Array.from({ length: 3 * n + 20 }, (_, i) => ({ seq: i, address: i < 3 * n ? `qis.e.a${(i * 7) % n}` : "qis.other.x" }));
      store.insertBatch(batch(specs));
      expect(seqs(store, "qis.e.*")).toEqual(specs.filter((x) => x.address!.startsWith("qis.e.")).map((x) => x.seq));
      expect(seqs(store, "qis.e.*", 10, 7)).toEqual(specs.filter((x) => x.address!.startsWith("qis.e.") && x.seq >= 10).map((x) => x.seq).slice(0, 7));
    }
  });

  it("stops when the visitor returns false; next is that packet's cursor", () => {
    const store = filled();
    const seen: number[] = [];
    const r = store.query("qis.hvac.*", 0, 100, (_b, _o, cursor) => {
      seen.push(cursor);
      return seen.length < 3;
    });
    expect(r).toEqual({ count: 3, next: seen[2] });
  });

  it("refuses store calls from inside a visitor (ERR_STORE_BUSY) and stays usable", () => {
    const store = filled();
    expect(
      catchStoreError(() => store.query(null, 0, 10, () => void store.insert(packet({ seq: 99 })))).code,
    ).toBe("ERR_STORE_BUSY");
    expect(catchStoreError(() => store.forEach(() => void store.query(null, 0, 1, () => {}))).code).toBe("ERR_STORE_BUSY");
    expect(store.insert(packet({ seq: 99 }))).toBe(InsertStatus.STORED);
    expect(() => store.forEach(() => { throw new Error("visitor failed"); })).toThrow("visitor failed");
    expect(store.insert(packet({ seq: 100 }))).toBe(InsertStatus.STORED);
  });

  it("the visitor sees the packet in place: readable through a PacketView", () => {
    const store = filled();
    const view = new PacketView();
    const got: string[] = [];
    store.forEach((buf, offset, cursor) => {
      view.at(buf, offset);
      got.push(`${cursor}:${view.seq}:${view.address}`);
    }, 17);
    expect(got).toEqual(["18:17:qis.hvac.energy.more", "19:18:qis.iot.pump.energy-anomaly", "20:19:qis.hvac.other"]);
  });

  it("queryInto copies the packets back to back, with their cursors, as many as fit", () => {
    const store = filled();
    const expected = store.collect("qis.hvac.*");
    const out = Buffer.alloc(4 * PACKET_SIZE + 7);
    const cursors = new Float64Array(4);
    const r = store.queryInto("qis.hvac.*", 0, 10, out, 7, cursors);
    expect(r).toEqual({ count: 4, next: expected[3]!.cursor });
    for (let i = 0; i < 4; i++) {
      expect(Buffer.compare(out.subarray(7 + i * PACKET_SIZE, 7 + (i + 1) * PACKET_SIZE), expected[i]!.packet)).toBe(0);
      expect(cursors[i]).toBe(expected[i]!.cursor);
    }
    const out2 = Buffer.alloc(100 * PACKET_SIZE);
    const r2 = store.queryInto("qis.hvac.*", r.next, 100, out2);
    expect(r2).toEqual({ count: expected.length - 4, next: 20 });
    expect(identityAt(out2, 0)).toBe(identityAt(expected[4]!.packet, 0));
    expect(store.queryInto(null, 0, 5, Buffer.alloc(100))).toEqual({ count: 0, next: 0 });
  });
});

describe("get / lookup / read", () => {
  it("find a live packet by identity or cursor", () => {
    const store = new PacketStore({ capacity: 3, now: at(T0) });
    store.insertBatch(batch([{ node: 7, seq: 100, address: "qis.a.b" }, { node: 8, seq: 2 ** 40 }]));
    const v = store.get(nodeId(7), 100);
    expect(v?.seq).toBe(100);
    expect(v?.address).toBe("qis.a.b");
    expect(store.get(nodeId(8), 2 ** 40)?.seq).toBe(2 ** 40);
    expect(store.lookup(nodeId(8), 2 ** 40)).toBe(2);
    expect(store.get(nodeId(7), 101)).toBeUndefined();
    expect(store.get(nodeId(9), 100)).toBeUndefined();
    const view = new PacketView();
    expect(store.read(1, view)).toBe(view);
    expect(view.seq).toBe(100);
    expect(store.read(0)).toBeUndefined();
    expect(store.read(3)).toBeUndefined();
    store.insertBatch(batch([{ seq: 1 }, { seq: 2 }, { seq: 3 }]));
    expect(store.read(1)).toBeUndefined();
    expect(store.get(nodeId(7), 100)).toBeUndefined();
    expect(catchStoreError(() => store.get(Buffer.alloc(15), 1)).code).toBe("ERR_STORE_ARGUMENT");
    expect(catchStoreError(() => store.get(nodeId(1), -1)).code).toBe("ERR_STORE_ARGUMENT");
  });
});

describe("close", () => {
  it("makes every later call ERR_STORE_CLOSED; closing twice is fine", () => {
    const store = new PacketStore({ capacity: 3 });
    store.close();
    store.close();
    expect(store.closed).toBe(true);
    for (const call of [
      () => store.insert(packet({ seq: 1 })),
      () => store.insertBatch(batch([{ seq: 1 }])),
      () => store.query(null, 0, 1, () => {}),
      () => store.stats(),
      () => store.sweep(),
      () => store.get(nodeId(1), 1),
      () => store.sync(),
    ]) {
      expect(catchStoreError(call).code).toBe("ERR_STORE_CLOSED");
    }
  });
});
