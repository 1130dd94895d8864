/** The readers and writers of both framings, in process: any chunking, resync after bad input. */
import { describe, expect, it } from "vitest";
import { CborReader, CborWriter, cborDecoder, NdjsonReader, NdjsonWriter, type MessageSink } from "../../src/stdio/framing.js";
import { frame, rawFrame } from "./helpers.js";

type Got = { ok: unknown; n: number } | { bad: string; n: number };

function collect(): { sink: MessageSink; got: Got[] } {
  const got: Got[] = [];
  return { got, sink: { message: (v, n) => got.push({ ok: v, n }), bad: (code, _r, n) => got.push({ bad: code, n }) } };
}

/** Feeds `bytes` cut into pieces of `size` bytes. */
function feed(reader: { push(b: Buffer): void; end(): void }, bytes: Buffer, size: number): void {
  for (let p = 0; p < bytes.length; p += size) reader.push(bytes.subarray(p, p + size));
  reader.end();
}

describe("ndjson reader", () => {
  const input = Buffer.concat([
    Buffer.from('{"a":1}\n\n  \r\n{"b":"é€𝄞"}\r\n{bad\n'),
    Buffer.from(`{"c":"${"x".repeat(200)}"}\n`), // oversize with max 100
    Buffer.from('[1]\n{"d":2}'), // the last line has no newline
  ]);
  const expected: Got[] = [
    { ok: { a: 1 }, n: 1 },
    { ok: { b: "é€𝄞" }, n: 4 },
    { bad: "ERR_STDIO_SYNTAX", n: 5 },
    { bad: "ERR_STDIO_OVERSIZE", n: 6 },
    { ok: [1], n: 7 },
    { ok: { d: 2 }, n: 8 },
  ];

  for (const size of [1, 2, 3, 7, 64, 100_000]) {
    it(`gives the same messages and line numbers whatever the chunking (${size}-byte chunks)`, () => {
      const { sink, got } = collect();
      feed(new NdjsonReader(sink, 100), input, size);
      expect(got).toEqual(expected);
    });
  }
});

describe("cbor reader", () => {
  const good = (v: unknown) => frame("cbor", v);
  const input = Buffer.concat([
    good({ a: 1 }),
    rawFrame(Buffer.from([0xff, 0x00])), // not CBOR
    rawFrame(Buffer.alloc(0)), // empty
    rawFrame(Buffer.alloc(300, 0x61), 300), // oversize (max 100): discarded
    good({ b: "é€" }),
    rawFrame(Buffer.concat([good({ c: 1 }).subarray(4), Buffer.from([0x01])])), // trailing bytes
    rawFrame(Buffer.from([0x1b, 0, 0, 0, 1, 0, 0, 0, 0])), // a uint64: decodes as a number
    good([1, 2]),
  ]);
  const expected: Got[] = [
    { ok: { a: 1 }, n: 1 },
    { bad: "ERR_STDIO_SYNTAX", n: 2 },
    { bad: "ERR_STDIO_SYNTAX", n: 3 },
    { bad: "ERR_STDIO_OVERSIZE", n: 4 },
    { ok: { b: "é€" }, n: 5 },
    { bad: "ERR_STDIO_SYNTAX", n: 6 },
    { ok: 4294967296, n: 7 },
    { ok: [1, 2], n: 8 },
  ];
  for (const size of [1, 3, 5, 64, 100_000]) {
    it(`gives the same messages and frame numbers whatever the chunking (${size}-byte chunks)`, () => {
      const { sink, got } = collect();
      feed(new CborReader(sink, 100), input, size);
      expect(got).toEqual(expected);
    });
  }

  it("reports input that ends inside a frame", () => {
    const { sink, got } = collect();
    const r = new CborReader(sink);
    r.push(good({ a: 1 }).subarray(0, 6));
    r.end();
    expect(got).toEqual([{ bad: "ERR_STDIO_SYNTAX", n: 1 }]);
  });
});

describe("writers", () => {
  it("ndjson: one line per message, one chunk per take", () => {
    const w = new NdjsonWriter();
    w.add({ event: "ack", id: 1 });
    w.addJson('{"event":"ack","id":2}');
    expect(w.take()).toBe('{"event":"ack","id":1}\n{"event":"ack","id":2}\n');
    expect(w.take()).toBeNull();
  });

  it("cbor: the hand-encoded observe ack decodes like the generic one, integers beyond 32 bits as integers", () => {
    const w = new CborWriter();
    const cases: [string | number | undefined, number, number][] = [
      [undefined, 3, 1],
      [7, 1838369733106688, 70_000],
      [-300, 2 ** 32, 23],
      ["id-é€", 24, 256],
      ["x".repeat(256), 65_535, 65_536],
    ];
    for (const [id, seq, cursor] of cases) w.addObserveAck(id, "qis.hvac.energy-anomaly", seq, cursor);
    w.add({ event: "error", code: "X" });
    const b = w.take()!;
    const out: unknown[] = [];
    for (let p = 0; p < b.length; ) {
      const n = b.readUInt32BE(p);
      out.push(cborDecoder.decode(b.subarray(p + 4, p + 4 + n)));
      p += 4 + n;
    }
    expect(out).toEqual([
      ...cases.map(([id, seq, cursor]) => ({ event: "ack", op: "observe", ...(id === undefined ? {} : { id }), address: "qis.hvac.energy-anomaly", seq, cursor })),
      { event: "error", code: "X" },
    ]);
    // seq 1838369733106688 is a CBOR uint64 (0x1b), not a float
    expect(b.includes(Buffer.from([0x63, 0x73, 0x65, 0x71, 0x1b]))).toBe(true);
  });
});
