/**
 * Random operation sequences against a reference model made of a Map and arrays: inserts
 * (random and duplicate identities, random TTLs and sender clocks, some invalid), batches,
 * clock moves, sweeps, queries with random patterns / since / limit (each under every query
 * strategy), and in file mode
 * reopening and torn records.
 */
import { closeSync, openSync, readSync, writeSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { codec, OFFSETS, PACKET_SIZE } from "../../src/packet/index.js";
import { InsertStatus, PacketStore, RECORD_SIZE, recordPosition } from "../../src/store/index.js";
import { fields, T0, tempDirs, type Spec } from "./helpers.js";

const tempDir = tempDirs();

// ---------------------------------------------------------------------------------------------
// The reference model: deliberately naive.

const ADDRESSES = [
  "qis.hvac.energy",
  "qis.hvac.energy-anomaly",
  "qis.hvac.energy.more",
  "qis.iot.pump.x",
  "qis.a.b",
  "qis.a.b.c.d",
  "qis.a.bb",
  // more addresses under one pattern than a query merges (32), so that it scans
  ...Array.from({ length: 40 }, (_, i) => `qis.gen.a${i}`),
];
const PATTERNS: (string | null)[] = [
  null,
  "qis.hvac.energy",
  "qis.hvac.energy-anomaly",
  "qis.a.b",
  "qis.hvac.*",
  "qis.hvac.>",
  "qis.>",
  "qis.*.b",
  "qis.a.>",
  "qis.*.energy",
  "qis.*.*.x",
  "qis.a.b.>",
  "qis.*.*.*.d",
  "qis.nothing.here",
  "qis.gen.*",
  "qis.gen.a3",
  "qis.*.a1",
];

/** Split-based NATS matching, independent of the address module. */
function referenceMatch(pattern: string, address: string): boolean {
  const p = pattern.split(".");
  const a = address.split(".");
  const tail = p[p.length - 1] === ">";
  const fixed = tail ? p.slice(0, -1) : p;
  if (tail ? a.length <= fixed.length : a.length !== fixed.length) return false;
  return fixed.every((t, i) => t === "*" || t === a[i]);
}

interface MPacket {
  cursor: number;
  key: string;
  address: string;
  expiry: number;
  bytes: Buffer;
}

class Model {
  cursor = 0;
  /** live packets by cursor */
  live = new Map<number, MPacket>();
  /** what the file holds, by cursor: every stored packet not yet overwritten (expired ones too) */
  file = new Map<number, MPacket>();
  constructor(readonly capacity: number) {}

  sweep(now: number): void {
    for (const [c, p] of this.live) if (p.expiry <= now) this.live.delete(c);
  }

  insert(spec: Spec, bytes: Buffer, now: number, valid: boolean): InsertStatus {
    this.sweep(now);
    if (!valid) return InsertStatus.INVALID;
    const expiry = spec.ttl === 0 ? Infinity : spec.ts! + spec.ttl! * 1000;
    if (expiry <= now) return InsertStatus.EXPIRED;
    const key = `${spec.node}:${spec.seq}`;
    for (const p of this.live.values()) if (p.key === key) return InsertStatus.DUPLICATE;
    const cursor = ++this.cursor;
    this.live.delete(cursor - this.capacity);
    this.file.delete(cursor - this.capacity);
    const p = { cursor, key, address: spec.address!, expiry, bytes: Buffer.from(bytes) };
    this.live.set(cursor, p);
    this.file.set(cursor, p);
    return InsertStatus.STORED;
  }

  query(pattern: string | null, since: number, limit: number, now: number): { cursors: number[]; next: number } {
    this.sweep(now);
    if (limit === 0) return { cursors: [], next: Math.min(since, this.cursor) };
    const all = [...this.live.values()]
      .filter((p) => p.cursor > since && (pattern === null || referenceMatch(pattern, p.address)))
      .map((p) => p.cursor)
      .sort((a, b) => a - b);
    const cursors = all.slice(0, limit);
    return { cursors, next: all.length >= limit ? cursors[cursors.length - 1]! : this.cursor };
  }

  /** After reopening: the file's unexpired records, the cursor after the newest record. */
  reopen(now: number): void {
    this.live = new Map([...this.file].filter(([, p]) => p.expiry > now));
    this.cursor = Math.max(0, ...this.file.keys());
  }
}

// ---------------------------------------------------------------------------------------------
// Operations

type Op =
  | { kind: "insert"; spec: Spec; valid: boolean }
  | { kind: "batch"; specs: { spec: Spec; valid: boolean }[] }
  | { kind: "advance"; ms: number }
  | { kind: "sweep" }
  | { kind: "query"; pattern: string | null; sinceBack: number; limit: number; into: boolean }
  | { kind: "reopen" }
  | { kind: "tear"; pick: number; at: number; len: number; fill: number };

const spec = fc.record({
  node: fc.integer({ min: 0, max: 3 }),
  seq: fc.integer({ min: 0, max: 40 }),
  address: fc.constantFrom(...ADDRESSES),
  tsOffset: fc.integer({ min: -8_000, max: 4_000 }),
  ttl: fc.constantFrom(0, 0, 1, 2, 5, 10),
});
const specValid = fc.record({ s: spec, valid: fc.boolean().map((b) => b || Math.random() < 0.8) }); // mostly valid

function opArb(fileMode: boolean, maxBatch = 6): fc.Arbitrary<Op> {
  const ops: fc.Arbitrary<Op>[] = [
    specValid.map(({ s, valid }) => ({ kind: "insert" as const, spec: s as unknown as Spec, valid })),
    fc.array(specValid, { minLength: 1, maxLength: maxBatch }).map((l) => ({ kind: "batch" as const, specs: l.map(({ s, valid }) => ({ spec: s as unknown as Spec, valid })) })),
    fc.integer({ min: 0, max: 6_000 }).map((ms) => ({ kind: "advance" as const, ms })),
    fc.constant({ kind: "sweep" as const }),
    fc.record({
      kind: fc.constant("query" as const),
      pattern: fc.constantFrom(...PATTERNS),
      sinceBack: fc.integer({ min: -2, max: 15 }),
      limit: fc.constantFrom(0, 1, 2, 3, 5, Infinity),
      into: fc.boolean(),
    }),
  ];
  if (fileMode) {
    ops.push(fc.constant({ kind: "reopen" as const }));
    ops.push(
      fc.record({
        kind: fc.constant("tear" as const),
        pick: fc.nat(),
        at: fc.integer({ min: 0, max: RECORD_SIZE - 1 }),
        len: fc.integer({ min: 1, max: 64 }),
        fill: fc.integer({ min: 1, max: 255 }),
      }),
    );
  }
  return fc.oneof(...ops);
}

/** A packet from a generated spec (ts relative to the clock); `valid` false makes it version 2. */
function encode(raw: Spec & { tsOffset?: number }, now: number, valid: boolean): { spec: Spec; bytes: Buffer } {
  const s: Spec = { node: raw.node!, seq: raw.seq, address: raw.address!, ts: now + (raw.tsOffset ?? 0), ttl: raw.ttl! };
  const bytes = Buffer.alloc(PACKET_SIZE);
  codec.encode(fields(s), bytes);
  if (!valid) {
    bytes[3] = 2;
    bytes.writeUInt32LE(codec.crc32c(bytes, 0, 508), OFFSETS.crc32c);
  }
  return { spec: s, bytes };
}

function run(capacity: number, ops: Op[], fileMode: boolean): void {
  let now = T0;
  const clock = () => now;
  const path = fileMode ? join(tempDir(), "p.qis") : undefined;
  const open = () => new PacketStore(path === undefined ? { capacity, now: clock } : { capacity, now: clock, file: path });
  let store = open();
  const model = new Model(capacity);
  try {
    for (const op of ops) {
      switch (op.kind) {
        case "insert": {
          const { spec: s, bytes } = encode(op.spec, now, op.valid);
          const got = store.insert(bytes, 0, false);
          expect(got).toBe(model.insert(s, bytes, now, op.valid));
          break;
        }
        case "batch": {
          const enc = op.specs.map((x) => encode(x.spec, now, x.valid));
          const buf = Buffer.concat(enc.map((e) => e.bytes));
          const statuses = new Uint8Array(enc.length);
          const stored = store.insertBatch(buf, enc.length, undefined, statuses);
          const expected = enc.map((e, i) => model.insert(e.spec, e.bytes, now, op.specs[i]!.valid));
          expect([...statuses]).toEqual(expected);
          expect(stored).toBe(expected.filter((x) => x === InsertStatus.STORED).length);
          break;
        }
        case "advance":
          now += op.ms;
          break;
        case "sweep":
          store.sweep();
          model.sweep(now);
          break;
        case "query": {
          const since = Math.max(0, model.cursor - op.sinceBack);
          const want = model.query(op.pattern, since, op.limit, now);
          for (const strategy of ["auto", "merge", "scan"] as const) {
            store.queryStrategy = strategy;
            if (op.into) {
              const n = op.limit === Infinity ? capacity : op.limit;
              const out = Buffer.alloc(n * PACKET_SIZE);
              const cursors = new Float64Array(n);
              const r = store.queryInto(op.pattern, since, op.limit, out, 0, cursors);
              expect(r.next).toBe(want.next);
              expect([...cursors.subarray(0, r.count)]).toEqual(want.cursors);
              for (let i = 0; i < r.count; i++) {
                expect(Buffer.compare(out.subarray(i * PACKET_SIZE, (i + 1) * PACKET_SIZE), model.live.get(want.cursors[i]!)!.bytes)).toBe(0);
              }
            } else {
              const got: number[] = [];
              const r = store.query(op.pattern, since, op.limit, (buf, offset, cursor) => {
                got.push(cursor);
                expect(Buffer.compare(buf.subarray(offset, offset + PACKET_SIZE), model.live.get(cursor)!.bytes)).toBe(0);
              });
              expect(got).toEqual(want.cursors);
              expect(r).toEqual({ count: want.cursors.length, next: want.next });
            }
          }
          store.queryStrategy = "auto";
          break;
        }
        case "reopen":
          store.close();
          store = open();
          model.reopen(now);
          expect(store.stats().corruptOnLoad).toBe(0);
          break;
        case "tear": {
          const inFile = [...model.file.keys()];
          if (inFile.length === 0) break;
          const victim = inFile[op.pick % inFile.length]!;
          store.close();
          // Damage part of its record (XOR with a non-zero byte, so every touched byte changes).
          const pos = recordPosition((victim - 1) % capacity) + op.at;
          const len = Math.min(op.len, RECORD_SIZE - op.at);
          const fd = openSync(path!, "r+");
          const b = Buffer.alloc(len);
          readSync(fd, b, 0, len, pos);
          for (let i = 0; i < len; i++) b[i] = b[i]! ^ op.fill;
          writeSync(fd, b, 0, len, pos);
          closeSync(fd);
          model.file.delete(victim);
          store = open();
          model.reopen(now);
          expect(store.stats().corruptOnLoad).toBe(1);
          break;
        }
      }
      // Invariants after every operation (the store sweeps on access; so does the model).
      model.sweep(now);
      const st = store.stats();
      expect(st.size).toBeLessThanOrEqual(capacity);
      expect(st.size).toBe(model.live.size);
      expect(st.cursor).toBe(model.cursor);
      const all = store.collect();
      expect(all.map((p) => p.cursor)).toEqual([...model.live.keys()].sort((a, b) => a - b));
      const ids = all.map((p) => p.packet.toString("hex", OFFSETS.seq, OFFSETS.node_id + 16));
      expect(new Set(ids).size).toBe(ids.length);
    }
  } finally {
    store.close();
  }
}

describe("store against a reference model", () => {
  it("in memory", () => {
    fc.assert(
      fc.property(fc.constantFrom(1, 2, 3, 5, 8, 12), fc.array(opArb(false), { maxLength: 80 }), (capacity, ops) => run(capacity, ops, false)),
      { numRuns: 500 },
    );
  });

  it("in memory, bigger stores and batches", () => {
    fc.assert(
      fc.property(fc.constantFrom(40, 150), fc.array(opArb(false, 40), { minLength: 20, maxLength: 60 }), (capacity, ops) => run(capacity, ops, false)),
      { numRuns: 40 },
    );
  }, 60_000);

  it("file-backed, with reopening and torn records", () => {
    fc.assert(
      fc.property(fc.constantFrom(1, 2, 4, 7, 10), fc.array(opArb(true), { maxLength: 50 }), (capacity, ops) => run(capacity, ops, true)),
      { numRuns: 200 },
    );
  }, 60_000);
});
