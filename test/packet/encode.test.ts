/**
 * The staged encode path (stage.ts -> CodecBackend.encode): chunking, the string table's
 * cache and resets, errors in the middle of a batch, re-entrancy, the old writeFields, the
 * padding-skipping CRC and the fallback verifier's address-hash cache. Every case runs on
 * both backends and compares with the other and with one-by-one encoding.
 */
import { describe, expect, it } from "vitest";
import { backends, FLAG_SIGNED, OFFSETS as F, PACKET_SIZE, PacketCodec, PacketError, Verdict, type PacketFields } from "../../src/packet/index.js";
import { crc32c, crc32cPacketWords } from "../../src/packet/crc32c.js";
import { STAGE, STAGE_RECORDS } from "../../src/packet/stage.js";
import { SLOT_SIZE } from "../../src/packet/intern.js";
import { writeFields } from "../../src/packet/write.js";
import { catchError } from "../catch-error.js";
import { suites } from "./backends.js";

const node = (n: number): Uint8Array => Uint8Array.from({ length: 16 }, (_, i) => (n * 31 + i * 7) & 0xff);
const ADDRESSES = ["qis.hvac.energy-anomaly", "qis.iot.predictive-maintenance.bearing-wear", "qis.grid.ü.straße", "qis.a"];
const CONCLUSIONS = ["replace filter within 10 days", "振動が増加: ベアリング交換を推奨", "💧 ⚠️", "x".repeat(200)];

/** Varied packets over a few repeated strings, like bench/lib/packets.js. */
function traffic(n: number, distinct = false): PacketFields[] {
  return Array.from({ length: n }, (_, i) => {
    const p: PacketFields = {
      flags: i % 7 === 0 ? 2 : 0,
      hops: i % 7 === 0 ? 1 + (i % 3) : 0,
      timestampMs: 1_760_000_000_000 + i * 37,
      ttlS: [0, 300, 3600][i % 3]!,
      nObservations: (i * 7919) % 50_000,
      outcomeDelta: ((i % 41) - 20) / 20,
      confidence: (i % 11) / 10,
      seq: 2 ** 40 + i,
      nodeId: node(i % 5),
      address: distinct ? `qis.test.addr-${i}` : ADDRESSES[i % ADDRESSES.length]!,
    };
    if (i % 5 < 2) {
      p.contextHash = node(i);
      p.context = Array.from({ length: 1 + (i % 16) }, (_, k) => (k - 8) * 12.5 + i / 1000);
    }
    if (i % 3 === 0) p.conclusion = distinct ? `conclusion ${i} é` : CONCLUSIONS[i % CONCLUSIONS.length]!;
    if (i % 13 === 0) {
      p.flags = FLAG_SIGNED;
      p.keyId = node(i).subarray(0, 8);
      p.signature = new Uint8Array(64).fill(i & 0xff);
    }
    return p;
  });
}

function oneByOne(codec: PacketCodec, list: PacketFields[]): Buffer {
  const b = Buffer.alloc(list.length * PACKET_SIZE);
  for (let i = 0; i < list.length; i++) codec.encode(list[i]!, b, i * PACKET_SIZE);
  return b;
}

const fallback = PacketCodec.using(backends.fallback);

describe.each(suites)("staged encode, %s backend", (_name, codec) => {
  it("a batch of several chunks equals one-by-one encoding and the fallback's bytes, and verifies", () => {
    const list = traffic(3 * STAGE_RECORDS + 17);
    const batch = Buffer.alloc(list.length * PACKET_SIZE);
    codec.encodeBatch(list, batch);
    expect(batch.equals(oneByOne(codec, list))).toBe(true);
    expect(batch.equals(oneByOne(fallback, list))).toBe(true);
    const codes = new Uint8Array(list.length);
    expect(codec.verifyBatch(batch, codes)).toBe(list.length);
    expect(fallback.verifyBatch(batch, codes)).toBe(list.length);
    const p = codec.decode(batch, 6 * PACKET_SIZE);
    expect([p.address, p.conclusion]).toEqual([list[6]!.address, list[6]!.conclusion]);
    expect(codec.decode(batch, 3 * PACKET_SIZE).conclusion).toBe("x".repeat(172)); // cut to 172 bytes
  });

  it("more distinct strings than the string table holds: it is flushed and reset mid-batch", () => {
    const list = traffic(700, true);
    const batch = Buffer.alloc(list.length * PACKET_SIZE);
    codec.encodeBatch(list, batch);
    expect(batch.equals(oneByOne(fallback, list))).toBe(true);
    for (const i of [0, 254, 255, 256, 511, 699]) {
      const p = codec.decode(batch, i * PACKET_SIZE);
      expect(p.address).toBe(list[i]!.address);
      expect(p.conclusion).toBe(list[i]!.conclusion ?? "");
    }
  });

  it("a bad packet after a flushed chunk: the packets before it are sealed, its slot is zero, the rest untouched", () => {
    const list = traffic(STAGE_RECORDS + 40);
    const bad = STAGE_RECORDS + 20;
    list[bad] = { ...list[bad]!, confidence: 2 };
    const batch = Buffer.alloc(list.length * PACKET_SIZE, 0xee);
    const e = catchError(() => codec.encodeBatch(list, batch), PacketError);
    expect([e.code, e.field, e.index]).toEqual(["ERR_PACKET_RANGE", "confidence", bad]);
    for (let i = 0; i < bad; i++) expect(codec.verdict(batch, i * PACKET_SIZE)).toBe(Verdict.OK);
    expect(batch.subarray(bad * PACKET_SIZE, (bad + 1) * PACKET_SIZE).equals(Buffer.alloc(PACKET_SIZE))).toBe(true);
    expect(batch.subarray((bad + 1) * PACKET_SIZE).every((x) => x === 0xee)).toBe(true);
  });

  it("a getter that encodes another packet while this one is staged does not disturb it", () => {
    const [a, b] = traffic(2);
    const inner = Buffer.alloc(PACKET_SIZE);
    const tricky = { ...a! };
    Object.defineProperty(tricky, "address", {
      get: () => {
        codec.encode(b!, inner);
        return a!.address;
      },
    });
    const out = Buffer.alloc(PACKET_SIZE);
    codec.encode(tricky, out);
    expect(out.equals(oneByOne(fallback, [a!]))).toBe(true);
    expect(inner.equals(oneByOne(fallback, [b!]))).toBe(true);
  });

  it("an address past 96 bytes is OVERSIZE even with a lone surrogate after byte 96; before it, UTF8", () => {
    const code = (address: string): string => catchError(() => codec.encode({ ...traffic(1)[0]!, address }, Buffer.alloc(PACKET_SIZE)), PacketError).code;
    expect(code(`qis.${"a".repeat(100)}\ud800`)).toBe("ERR_PACKET_OVERSIZE");
    expect(code(`qis.${"a".repeat(10)}\ud800${"b".repeat(100)}`)).toBe("ERR_PACKET_UTF8");
  });
});

describe("writeFields (the old two-step API)", () => {
  it("writes every field but the CRC; sealing then gives encode's bytes", () => {
    for (const f of traffic(30)) {
      const b = Buffer.alloc(PACKET_SIZE, 0xee);
      writeFields(f, b, 0);
      expect(b.readUInt32LE(F.crc32c)).toBe(0);
      backends.fallback.seal(b, 0, 1);
      expect(b.equals(oneByOne(fallback, [f]))).toBe(true);
    }
  });
});

describe("fallback internals", () => {
  it("the padding-skipping packet CRC equals the plain CRC for every length and the signed case", () => {
    const w = new Int32Array(PACKET_SIZE / 4);
    const b = new Uint8Array(w.buffer);
    let seed = 7;
    const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
    for (let alen = 0; alen <= 96; alen += 5)
      for (let clen = 0; clen <= 16; clen += 3)
        for (let tlen = 0; tlen <= 172; tlen += 19)
          for (const signed of [false, true]) {
            b.fill(0);
            for (let i = 0; i < 96 + alen; i++) b[i] = rnd();
            for (let i = 192; i < 192 + 4 * clen; i++) b[i] = rnd();
            for (let i = 256; i < 256 + tlen; i++) b[i] = rnd();
            if (signed) for (let i = 428; i < 500; i++) b[i] = rnd();
            expect(crc32cPacketWords(w, 0, alen, clen, tlen, signed) >>> 0).toBe(crc32c(b, 0, 508, 0));
          }
  });

  it("the verifier's address-hash cache still catches a wrong hash for a cached address", () => {
    const [a] = traffic(1);
    const good = oneByOne(fallback, [a!]);
    expect(fallback.verdict(good)).toBe(Verdict.OK); // now cached
    const bad = Buffer.from(good);
    bad[F.address_hash + 5]! ^= 1;
    bad.writeUInt32LE(crc32c(bad, 0, F.crc32c), F.crc32c);
    expect(fallback.verdict(bad)).toBe(Verdict.ADDRESS_HASH);
    // Same length, different address, the cached one's hash: refused too.
    const other = oneByOne(fallback, [{ ...a!, address: a!.address.replace("h", "k") }]);
    good.copy(other, F.address_hash, F.address_hash, F.address_hash + 16);
    other.writeUInt32LE(crc32c(other, 0, F.crc32c), F.crc32c);
    expect(fallback.verdict(other)).toBe(Verdict.ADDRESS_HASH);
  });
});

describe.skipIf(backends.native === null)("native encode argument checks", () => {
  it("a record whose slot number is past the string table is refused, not read", () => {
    const records = new Uint8Array(STAGE.size);
    const slots = new Uint8Array(4 * SLOT_SIZE);
    new DataView(records.buffer).setUint32(STAGE.address_slot, 4, true);
    expect(() => backends.native!.encode(new Uint8Array(PACKET_SIZE), 0, 1, records, slots)).toThrow(RangeError);
    expect(() => backends.native!.encode(new Uint8Array(PACKET_SIZE), 0, 2, records, slots)).toThrow(RangeError);
  });
});
