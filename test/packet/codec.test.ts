import { describe, expect, it } from "vitest";
import {
  CONCLUSION_MAX,
  FLAG_SIGNED,
  OFFSETS as F,
  PACKET_SIZE,
  PacketError,
  PacketView,
  UNPACK_STRIDE,
  Verdict,
  type PacketErrorCode,
  type PacketFields,
} from "../../src/packet/index.js";
import { isValidUtf8 } from "../../src/packet/utf8.js";
import { catchError } from "../catch-error.js";
import { suites } from "./backends.js";

const base = (): PacketFields => ({
  timestampMs: 1_795_000_000_000,
  ttlS: 3600,
  nObservations: 42,
  outcomeDelta: 0.18,
  confidence: 0.87,
  seq: 7,
  nodeId: Buffer.alloc(16, 0xab),
  address: "qis.hvac.energy-anomaly",
});

function codeOf(fn: () => unknown): { code: PacketErrorCode; field: string | undefined; index: number | undefined } {
  const e = catchError(fn, PacketError);
  return { code: e.code, field: e.field, index: e.index };
}

describe.each(suites)("packet codec, %s backend", (_name, codec) => {
  const encoded = (f: PacketFields): Buffer => {
    const b = Buffer.alloc(PACKET_SIZE);
    codec.encode(f, b);
    return b;
  };

  describe("encode refuses bad fields with a code and the field", () => {
    const cases: [string, Partial<Record<keyof PacketFields, unknown>>, PacketErrorCode, string][] = [
      ["delta NaN", { outcomeDelta: NaN }, "ERR_PACKET_NOT_FINITE", "outcomeDelta"],
      ["delta Infinity", { outcomeDelta: Infinity }, "ERR_PACKET_NOT_FINITE", "outcomeDelta"],
      ["delta 1.5", { outcomeDelta: 1.5 }, "ERR_PACKET_RANGE", "outcomeDelta"],
      ["delta as a string", { outcomeDelta: "0.1" }, "ERR_PACKET_TYPE", "outcomeDelta"],
      ["confidence -0.01", { confidence: -0.01 }, "ERR_PACKET_RANGE", "confidence"],
      ["confidence missing", { confidence: undefined }, "ERR_PACKET_TYPE", "confidence"],
      ["n fractional", { nObservations: 1.5 }, "ERR_PACKET_RANGE", "nObservations"],
      ["n 2^32", { nObservations: 2 ** 32 }, "ERR_PACKET_RANGE", "nObservations"],
      ["n negative", { nObservations: -1 }, "ERR_PACKET_RANGE", "nObservations"],
      ["timestamp 2^53", { timestampMs: 2 ** 53 }, "ERR_PACKET_RANGE", "timestampMs"],
      ["seq NaN", { seq: NaN }, "ERR_PACKET_NOT_FINITE", "seq"],
      ["ttl -1", { ttlS: -1 }, "ERR_PACKET_RANGE", "ttlS"],
      ["hops 256", { hops: 256 }, "ERR_PACKET_RANGE", "hops"],
      ["unknown flag", { flags: 0x10 }, "ERR_PACKET_FLAGS", "flags"],
      ["node id 15 bytes", { nodeId: Buffer.alloc(15) }, "ERR_PACKET_TYPE", "nodeId"],
      ["node id 31 hex digits", { nodeId: "a".repeat(31) }, "ERR_PACKET_TYPE", "nodeId"],
      ["node id 34 hex digits", { nodeId: "ab".repeat(17) }, "ERR_PACKET_TYPE", "nodeId"],
      ["node id with a non-hex digit", { nodeId: `${"ab".repeat(15)}ag` }, "ERR_PACKET_TYPE", "nodeId"],
      ["node id a number", { nodeId: 42 }, "ERR_PACKET_TYPE", "nodeId"],
      ["context hash 32 characters, one not hex", { contextHash: `x${"0".repeat(31)}` }, "ERR_PACKET_TYPE", "contextHash"],
      ["context hash 17 bytes", { contextHash: Buffer.alloc(17) }, "ERR_PACKET_TYPE", "contextHash"],
      ["empty address", { address: "" }, "ERR_PACKET_RANGE", "address"],
      ["97-byte address", { address: `qis.${"a".repeat(93)}` }, "ERR_PACKET_OVERSIZE", "address"],
      ["address with a lone surrogate", { address: "qis.a.\ud800" }, "ERR_PACKET_UTF8", "address"],
      ["address not a string", { address: 42 }, "ERR_PACKET_TYPE", "address"],
      ["17 context values", { context: new Array(17).fill(0) }, "ERR_PACKET_OVERSIZE", "context"],
      ["context NaN", { context: [0, NaN] }, "ERR_PACKET_NOT_FINITE", "context[1]"],
      ["context beyond f32", { context: [1e39] }, "ERR_PACKET_RANGE", "context[0]"],
      ["context not an array", { context: 5 }, "ERR_PACKET_TYPE", "context"],
      ["conclusion lone surrogate", { conclusion: "ok \udc00" }, "ERR_PACKET_UTF8", "conclusion"],
      ["conclusion lone surrogate past the cut", { conclusion: `${"x".repeat(200)}\ud83d` }, "ERR_PACKET_UTF8", "conclusion"],
      ["signature without SIGNED", { signature: Buffer.alloc(64, 1) }, "ERR_PACKET_RESERVED", "signature"],
      ["key id wrong size with SIGNED", { flags: FLAG_SIGNED, keyId: Buffer.alloc(4) }, "ERR_PACKET_TYPE", "keyId"],
    ];
    it.each(cases)("%s", (_label, patch, code, field) => {
      const buf = Buffer.alloc(PACKET_SIZE, 0xee);
      const fields = { ...base(), ...patch } as PacketFields;
      expect(codeOf(() => codec.encode(fields, buf))).toEqual({ code, field, index: undefined });
      // nothing half-written is left in the caller's slot
      expect(buf.equals(Buffer.alloc(PACKET_SIZE))).toBe(true);
    });

    it("a non-object", () => {
      expect(codeOf(() => codec.encode(null as unknown as PacketFields, Buffer.alloc(512))).code).toBe("ERR_PACKET_TYPE");
    });
  });

  it("zero signature bytes without SIGNED are accepted, so a decoded packet re-encodes", () => {
    const p = codec.decode(encoded(base()));
    expect(encoded(p).equals(encoded(base()))).toBe(true);
  });

  describe("bounds and lengths", () => {
    it("decode of every length but 512 is ERR_PACKET_LENGTH", () => {
      const good = encoded(base());
      for (const n of [0, 1, 4, 256, 508, 511, 513, 1024]) {
        const b = Buffer.alloc(n);
        good.copy(b, 0, 0, Math.min(n, 512));
        expect(codeOf(() => codec.decode(b)).code).toBe("ERR_PACKET_LENGTH");
      }
    });

    it("reads and writes outside the buffer are ERR_OUT_OF_BOUNDS", () => {
      const b = Buffer.alloc(1024);
      expect(codeOf(() => codec.encode(base(), b, 513)).code).toBe("ERR_OUT_OF_BOUNDS");
      expect(codeOf(() => codec.encode(base(), b, -1)).code).toBe("ERR_OUT_OF_BOUNDS");
      expect(codeOf(() => codec.encode(base(), b, 0.5)).code).toBe("ERR_OUT_OF_BOUNDS");
      expect(codeOf(() => codec.verdict(b, 600)).code).toBe("ERR_OUT_OF_BOUNDS");
      expect(codeOf(() => codec.decode(b, 1000)).code).toBe("ERR_OUT_OF_BOUNDS");
      expect(codeOf(() => codec.unpack(b, 0, 3, new Float64Array(33))).code).toBe("ERR_OUT_OF_BOUNDS");
      expect(codeOf(() => codec.unpack(b, 0, 2, new Float64Array(21))).code).toBe("ERR_OUT_OF_BOUNDS");
      expect(codeOf(() => codec.encodeBatch([base(), base(), base()], b)).code).toBe("ERR_OUT_OF_BOUNDS");
      expect(codeOf(() => codec.crc32c(b, 1000, 100)).code).toBe("ERR_OUT_OF_BOUNDS");
      expect(codeOf(() => codec.verifyBatch(Buffer.alloc(1000), new Uint8Array(2))).code).toBe("ERR_PACKET_LENGTH");
      expect(codeOf(() => codec.verifyBatch(b, new Uint8Array(1))).code).toBe("ERR_OUT_OF_BOUNDS");
    });

    it("a packet at an offset inside a larger, unaligned view", () => {
      const backing = Buffer.alloc(3 * 512 + 3);
      const view = backing.subarray(3); // byteOffset 3: nothing may assume alignment
      codec.encode(base(), view, 512);
      expect(codec.verdict(view, 512)).toBe(Verdict.OK);
      expect(view.subarray(512, 1024).equals(encoded(base()))).toBe(true);
      expect(codec.decode(view, 512).address).toBe("qis.hvac.energy-anomaly");
    });
  });

  it("every single-byte change is caught as ERR_PACKET_CRC", () => {
    const good = encoded({ ...base(), context: [0.1, 0.2], conclusion: "summary" });
    for (let i = 0; i < PACKET_SIZE; i++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const b = Buffer.from(good);
        b[i]! ^= mask;
        expect(codec.verdict(b), `byte ${i} ^ ${mask}`).toBe(Verdict.CRC);
      }
    }
  });

  it("cuts a long conclusion on a code-point boundary, for every character width and position", () => {
    const chars = ["a", "é", "€", "😀"]; // 1, 2, 3 and 4 bytes of UTF-8
    for (const c of chars) {
      for (let prefix = CONCLUSION_MAX - 8; prefix <= CONCLUSION_MAX; prefix++) {
        const text = "x".repeat(prefix) + c.repeat(4);
        const b = encoded({ ...base(), conclusion: text });
        const len = b[F.conclusion_len]!;
        const full = Buffer.from(text);
        expect(len).toBeLessThanOrEqual(CONCLUSION_MAX);
        expect(isValidUtf8(b, F.conclusion, len)).toBe(true);
        // the longest whole-character prefix that fits
        const expected = Buffer.from(Array.from(text).reduce((acc, ch) => (Buffer.byteLength(acc + ch) <= CONCLUSION_MAX ? acc + ch : acc), ""));
        expect(b.subarray(F.conclusion, F.conclusion + len).equals(expected)).toBe(true);
        expect(full.subarray(0, len).equals(expected)).toBe(true);
        expect(codec.decode(b).conclusion).toBe(expected.toString());
      }
    }
  });

  describe("batches", () => {
    const list = Array.from({ length: 100 }, (_, i) => ({
      ...base(),
      seq: i,
      outcomeDelta: (i % 21) / 10 - 1,
      confidence: (i % 11) / 10,
      nObservations: i * 3,
      timestampMs: 1_795_000_000_000 + i,
      address: i % 2 ? "qis.hvac.energy-anomaly" : "qis.iot.predictive-maintenance.bearing-wear",
      context: Array.from({ length: i % 17 }, (_, k) => k / 8),
      conclusion: "é".repeat(i),
    }));

    it("encodeBatch gives the same bytes as encoding one by one", () => {
      const batch = Buffer.alloc(100 * 512);
      codec.encodeBatch(list, batch);
      for (let i = 0; i < 100; i++) expect(batch.subarray(i * 512, (i + 1) * 512).equals(encoded(list[i]!))).toBe(true);
    });

    it("verifyBatch reports each packet's verdict at its index", () => {
      const batch = Buffer.alloc(100 * 512);
      codec.encodeBatch(list, batch);
      batch[5 * 512 + 40]! ^= 1; // CRC
      batch[77 * 512 + 511]! ^= 1; // CRC field itself
      const codes = new Uint8Array(100).fill(0xff);
      expect(codec.verifyBatch(batch, codes)).toBe(98);
      for (let i = 0; i < 100; i++) expect(codes[i]).toBe(i === 5 || i === 77 ? Verdict.CRC : Verdict.OK);
    });

    it("a bad packet in a batch throws with its index and leaves its slot zeroed", () => {
      const bad = [...list.slice(0, 3), { ...base(), confidence: 2 }];
      const err = codeOf(() => codec.encodeBatch(bad, Buffer.alloc(4 * 512)));
      expect(err).toEqual({ code: "ERR_PACKET_RANGE", field: "confidence", index: 3 });
    });

    it("unpack gives every numeric field exactly", () => {
      const batch = Buffer.alloc(100 * 512);
      codec.encodeBatch(list, batch);
      const out = new Float64Array(100 * UNPACK_STRIDE);
      codec.unpack(batch, 0, 100, out);
      const view = new PacketView();
      for (let i = 0; i < 100; i++) {
        const f = list[i]!;
        const row = Array.from(out.subarray(i * UNPACK_STRIDE, (i + 1) * UNPACK_STRIDE));
        expect(row).toEqual([
          0, 0, f.timestampMs, f.ttlS, f.nObservations, Math.fround(f.outcomeDelta), Math.fround(f.confidence), f.seq,
          Buffer.byteLength(f.address), f.context.length, Math.min(2 * i, 172), // "é" is 2 bytes: cut at 172
        ]);
        view.at(batch, i * 512);
        expect([view.outcomeDelta, view.confidence, view.seq, view.timestampMs, view.address]).toEqual([
          Math.fround(f.outcomeDelta), Math.fround(f.confidence), f.seq, f.timestampMs, f.address,
        ]);
      }
    });
  });

  it("crc32c chains like zlib.crc32", () => {
    const data = Buffer.from("123456789");
    expect(codec.crc32c(data)).toBe(0xe3069283);
    expect(codec.crc32c(data, 4, 5, codec.crc32c(data, 0, 4))).toBe(0xe3069283);
    expect(codec.crc32c(Buffer.alloc(0))).toBe(0);
  });
});
