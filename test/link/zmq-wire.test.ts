/** The ZeroMQ frame formats: exact bytes, round trips, and a typed error for every bad header. */
import { describe, expect, it } from "vitest";
import {
  decodeAnswer,
  decodeBatchHeader,
  decodeQuery,
  encodeBatchHeader,
  encodeError,
  encodeQuery,
  encodeReply,
  Kind,
  WireError,
  type BatchHeader,
} from "../../src/link/zmq/wire.js";
import { catchError } from "../catch-error.js";

const hdr = (): BatchHeader => ({ kind: 0, epoch: 0, prev: 0, last: 0 });

describe("batch header", () => {
  it("has the documented bytes", () => {
    const b = encodeBatchHeader(Kind.BATCH, 0xdeadbeef, 7, 9);
    expect(b.toString("hex")).toBe("515a0101" + "efbeadde" + "0000000000001c40" + "0000000000002240");
    expect(decodeBatchHeader(b, hdr())).toEqual({ kind: Kind.BATCH, epoch: 0xdeadbeef, prev: 7, last: 9 });
    expect(decodeBatchHeader(encodeBatchHeader(Kind.TAIL, 1, 5, 5), hdr())).toEqual({ kind: Kind.TAIL, epoch: 1, prev: 5, last: 5 });
  });

  it.each([
    ["short", Buffer.alloc(23), "ERR_WIRE_HEADER"],
    ["bad magic", Buffer.from("515b0101" + "00".repeat(20), "hex"), "ERR_WIRE_HEADER"],
    ["other version", Buffer.from("515a0201" + "00".repeat(20), "hex"), "ERR_WIRE_VERSION"],
    ["query kind", Buffer.from("515a0103" + "00".repeat(20), "hex"), "ERR_WIRE_KIND"],
    ["NaN cursor", Buffer.concat([Buffer.from("515a010100000000", "hex"), Buffer.from("000000000000f87f", "hex"), Buffer.alloc(8)]), "ERR_WIRE_HEADER"],
    ["negative cursor", encodeBatchHeader(Kind.BATCH, 0, -1, 3), "ERR_WIRE_HEADER"],
    ["last < prev", encodeBatchHeader(Kind.BATCH, 0, 9, 3), "ERR_WIRE_HEADER"],
  ])("refuses a %s header", (_, bytes, code) => {
    expect(catchError(() => decodeBatchHeader(bytes, hdr()), WireError).code).toBe(code);
  });
});

describe("query", () => {
  it("round-trips with the documented bytes", () => {
    const [h, p] = encodeQuery(3, 100, 256, "qis.hvac.>");
    expect(h.toString("hex")).toBe("515a0103" + "03000000" + "0000000000005940" + "00010000" + "00000000");
    expect(p.toString()).toBe("qis.hvac.>");
    expect(decodeQuery([h, p])).toEqual({ id: 3, since: 100, limit: 256, pattern: "qis.hvac.>" });
  });

  it.each([
    ["one frame", [encodeQuery(1, 0, 1, "qis.>")[0]], "ERR_WIRE_FRAMES"],
    ["limit 0", encodeQuery(1, 0, 0, "qis.>"), "ERR_WIRE_QUERY"],
    ["empty pattern", encodeQuery(1, 0, 1, ""), "ERR_WIRE_QUERY"],
    ["long pattern", encodeQuery(1, 0, 1, "q".repeat(97)), "ERR_WIRE_QUERY"],
    ["bad UTF-8", [encodeQuery(1, 0, 1, "x")[0], Buffer.from([0xc3, 0x28])], "ERR_WIRE_QUERY"],
  ])("refuses %s", (_, frames, code) => {
    expect(catchError(() => decodeQuery(frames as Buffer[]), WireError).code).toBe(code);
  });
});

describe("answers", () => {
  it("a reply carries its packets; an error its code and message", () => {
    const packets = Buffer.alloc(1024, 7);
    const a = decodeAnswer([encodeReply(5, 0xabc, 2, 40, 41), packets]);
    expect(a).toEqual({ ok: true, reply: { id: 5, epoch: 0xabc, count: 2, next: 40, head: 41 }, packets });
    expect(decodeAnswer(encodeError(6, "ERR_ADDRESS_TOKEN", "bad token"))).toEqual({ ok: false, id: 6, code: "ERR_ADDRESS_TOKEN", message: "bad token" });
  });

  it("refuses a reply whose packet bytes do not match its count", () => {
    expect(catchError(() => decodeAnswer([encodeReply(5, 1, 2, 40, 41), Buffer.alloc(512)]), WireError).code).toBe("ERR_WIRE_FRAMES");
    expect(catchError(() => decodeAnswer([Buffer.alloc(2)]), WireError).code).toBe("ERR_WIRE_FRAMES");
  });
});
