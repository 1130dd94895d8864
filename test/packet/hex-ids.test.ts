/**
 * A 16-byte id (nodeId, contextHash) may be given as 32 hex digits, as the CLI, the docs and
 * packetToJson show it: the same bytes as the Uint8Array form, on both backends, single and
 * batch. Anything else is ERR_PACKET_TYPE naming the field (and the packet's index in a batch).
 */
import { describe, expect, it } from "vitest";
import { PACKET_SIZE, PacketError, packetToJson, type PacketFields } from "../../src/packet/index.js";
import { writeFields } from "../../src/packet/write.js";
import { catchError } from "../catch-error.js";
import { suites } from "./backends.js";

const NODE_HEX = "0123456789abcdeffedcba9876543210";
const CTX_HEX = "00ff10ee20dd30cc40bb50aa60997088";

const fields = (nodeId: Uint8Array | string, contextHash?: Uint8Array | string): PacketFields => ({
  timestampMs: 1_795_000_000_000,
  ttlS: 3600,
  nObservations: 42,
  outcomeDelta: 0.18,
  confidence: 0.87,
  seq: 1,
  nodeId,
  address: "qis.hvac.energy-anomaly",
  ...(contextHash === undefined ? {} : { contextHash }),
});

describe.each(suites)("hex ids, %s backend", (_name, codec) => {
  const one = (f: PacketFields): Buffer => {
    const b = Buffer.alloc(PACKET_SIZE);
    codec.encode(f, b);
    return b;
  };

  it("32 hex digits (lower or upper case) give the bytes of the 16-byte form", () => {
    const bytes = one(fields(Buffer.from(NODE_HEX, "hex"), Buffer.from(CTX_HEX, "hex")));
    expect(one(fields(NODE_HEX, CTX_HEX)).equals(bytes)).toBe(true);
    expect(one(fields(NODE_HEX.toUpperCase(), CTX_HEX.toUpperCase())).equals(bytes)).toBe(true);
    const p = codec.decode(bytes);
    expect(p.nodeId).toBeInstanceOf(Uint8Array);
    expect(packetToJson(p).nodeId).toBe(NODE_HEX);
    expect(packetToJson(p).contextHash).toBe(CTX_HEX);
  });

  it("encodeBatch takes either form, mixed, and packs the same bytes", () => {
    const hexes = Array.from({ length: 300 }, (_, i) => (i * 0x9e3779b1 >>> 0).toString(16).padStart(8, "0").repeat(4));
    const asBytes = hexes.map((h, i) => fields(Buffer.from(h, "hex"), i % 2 === 0 ? Buffer.from(h, "hex") : undefined));
    const asHex = hexes.map((h, i) => fields(i % 3 === 0 ? Buffer.from(h, "hex") : h, i % 2 === 0 ? h : undefined));
    const a = Buffer.alloc(hexes.length * PACKET_SIZE);
    const b = Buffer.alloc(hexes.length * PACKET_SIZE);
    codec.encodeBatch(asBytes, a);
    codec.encodeBatch(asHex, b);
    expect(b.equals(a)).toBe(true);
    expect(codec.verifyBatch(b, new Uint8Array(hexes.length))).toBe(hexes.length);
  });

  it("a decoded packet re-encodes whether its ids are passed as bytes or as packetToJson's hex", () => {
    const bytes = one(fields(NODE_HEX, CTX_HEX));
    const p = codec.decode(bytes);
    const json = packetToJson(p);
    expect(one({ ...p, nodeId: json.nodeId, contextHash: json.contextHash }).equals(bytes)).toBe(true);
  });

  it.each([
    ["31 digits", "a".repeat(31), /expected 32 hex digits \(16 bytes\), got 31 characters/],
    ["33 digits", "a".repeat(33), /got 33 characters/],
    ["empty", "", /got 0 characters/],
    ["a non-hex digit", `${"0".repeat(30)}0g`, /character 31 "g" is not 0-9, a-f or A-F/],
    ["a space", ` ${"0".repeat(31)}`, /character 0 " " is not/],
    ["a 0x prefix", `0x${"0".repeat(30)}`, /character 1 "x" is not/],
    ["15 bytes", Buffer.alloc(15), /expected 16 bytes or 32 hex digits, got 15 bytes/],
    ["a number", 7, /expected 16 bytes or 32 hex digits, got 7/],
    ["null", null, /got null/],
  ] as const)("nodeId as %s is ERR_PACKET_TYPE naming the field", (_label, value, message) => {
    const buf = Buffer.alloc(PACKET_SIZE, 0xee);
    const e = catchError(() => codec.encode(fields(value as unknown as string), buf), PacketError);
    expect({ code: e.code, field: e.field, index: e.index }).toEqual({ code: "ERR_PACKET_TYPE", field: "nodeId", index: undefined });
    expect(e.message).toMatch(/^nodeId: /);
    expect(e.message).toMatch(message);
    expect(buf.equals(Buffer.alloc(PACKET_SIZE))).toBe(true);
  });

  it("in a batch, the bad id's packet index and field; the packets before it are sealed", () => {
    const list = [fields(NODE_HEX), fields(NODE_HEX, CTX_HEX), fields(NODE_HEX, `${CTX_HEX.slice(0, 31)}z`)];
    const buf = Buffer.alloc(3 * PACKET_SIZE);
    const e = catchError(() => codec.encodeBatch(list, buf), PacketError);
    expect({ code: e.code, field: e.field, index: e.index }).toEqual({ code: "ERR_PACKET_TYPE", field: "contextHash", index: 2 });
    expect(codec.verifyBatch(buf.subarray(0, 2 * PACKET_SIZE), new Uint8Array(2))).toBe(2);
    expect(buf.subarray(2 * PACKET_SIZE).equals(Buffer.alloc(PACKET_SIZE))).toBe(true);
  });
});

describe("writeFields (the old two-step API)", () => {
  it("takes a hex nodeId too", () => {
    const a = Buffer.alloc(PACKET_SIZE);
    const b = Buffer.alloc(PACKET_SIZE);
    writeFields(fields(Buffer.from(NODE_HEX, "hex")), a, 0);
    writeFields(fields(NODE_HEX), b, 0);
    expect(b.equals(a)).toBe(true);
  });
});
