/** The discovery beacon's bytes (src/agent/discovery/beacon.ts, docs/discovery.md): exact layout, and every malformed datagram named, never thrown. */
import { describe, expect, it } from "vitest";
import { crc32c } from "../../src/packet/crc32c.js";
import { BEACON_SIZE, decodeBeacon, encodeBeacon, type Beacon } from "../../src/agent/discovery/beacon.js";

const beacon: Beacon = {
  nodeId: Buffer.from("00112233445566778899aabbccddeeff", "hex"),
  pubPort: 5600,
  storePort: 5601,
  epoch: 0xdeadbeef,
  periodMs: 5000,
  publicKey: Buffer.alloc(32, 0xab),
};

/** A copy with one byte changed and the CRC made right again (so that the field check, not the CRC, must catch it). */
function edited(at: number, value: number, base = encodeBeacon(beacon)): Buffer {
  const b = Buffer.from(base);
  b[at] = value;
  b.writeUInt32BE(crc32c(b, 0, 64), 64);
  return b;
}

describe("discovery beacon", () => {
  it("has the documented layout, big-endian, 68 bytes", () => {
    const b = encodeBeacon(beacon);
    expect(b.length).toBe(BEACON_SIZE);
    expect(b.subarray(0, 32).toString("hex")).toBe("51495342" + "01" + "03" + "1388" + "00112233445566778899aabbccddeeff" + "15e0" + "15e1" + "deadbeef");
    expect(b.subarray(32, 64).equals(Buffer.alloc(32, 0xab))).toBe(true);
    expect(b.readUInt32BE(64)).toBe(crc32c(b, 0, 64));
    expect(decodeBeacon(b)).toEqual(beacon);
  });

  it("without a key or a store: flags 0, zeros", () => {
    const plain = { ...beacon, storePort: 0, publicKey: null };
    const b = encodeBeacon(plain);
    expect(b[5]).toBe(0);
    expect(b.subarray(26, 28).toString("hex")).toBe("0000");
    expect(b.subarray(32, 64).equals(Buffer.alloc(32))).toBe(true);
    expect(decodeBeacon(b)).toEqual(plain);
  });

  it("names what is wrong with each malformed datagram", () => {
    const good = encodeBeacon(beacon);
    expect(decodeBeacon(Buffer.alloc(0))).toBe("length");
    expect(decodeBeacon(Buffer.concat([good, Buffer.alloc(1)]))).toBe("length");
    expect(decodeBeacon(good.subarray(0, 67))).toBe("length");
    expect(decodeBeacon(edited(0, 0x52))).toBe("magic");
    expect(decodeBeacon(edited(4, 2))).toBe("version");
    const crc = Buffer.from(good);
    crc[40] = crc[40]! ^ 1;
    expect(decodeBeacon(crc)).toBe("crc");
    expect(decodeBeacon(edited(5, 0x07))).toBe("flags");
    expect(decodeBeacon(edited(6, 0xff))).toBe("period"); // 65,416 ms: over 60,000
    expect(decodeBeacon(edited(7, 0x10, edited(6, 0)))).toBe("period"); // 16 ms: under 100
    expect(decodeBeacon(encodeBeacon({ ...beacon, nodeId: Buffer.alloc(16) }))).toBe("nodeId");
    expect(decodeBeacon(edited(25, 0, edited(24, 0)))).toBe("port"); // PUB port 0
    expect(decodeBeacon(edited(5, 0x01))).toBe("port"); // a store port without its flag
    expect(decodeBeacon(edited(5, 0x02))).toBe("key"); // a key without its flag
    const keyless = encodeBeacon({ ...beacon, publicKey: null });
    expect(decodeBeacon(edited(5, 0x03, keyless))).toBe("key"); // the flag without a key
  });

  it("never throws on random bytes", () => {
    for (let i = 0; i < 2000; i++) {
      const n = i % 3 === 0 ? 68 : Math.floor(Math.random() * 100);
      const b = Buffer.from(Array.from({ length: n }, () => Math.floor(Math.random() * 256)));
      if (i % 2 === 0 && n >= 4) b.write("QISB", 0, "latin1");
      expect(typeof decodeBeacon(b)).toBe("string");
    }
  });
});
