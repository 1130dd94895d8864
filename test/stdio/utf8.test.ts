/**
 * Invalid UTF-8 in a request (issue 16): an ndjson line or a CBOR text string with bad bytes
 * is one ERR_STDIO_UTF8 error naming the field (a JSON pointer, the same in both framings),
 * and reading goes on with the next message. Before, Node's decoder made U+FFFD of the bytes
 * and "hv\xedac" became the address qis.hv-ac; cbor-x sometimes swallowed the bytes after them.
 */
import { Encoder } from "cbor-x";
import { describe, expect, it } from "vitest";
import { CborReader, NdjsonReader, type MessageSink } from "../../src/stdio/framing.js";
import { findInvalidUtf8Cbor, findInvalidUtf8Json } from "../../src/stdio/utf8-locate.js";
import { rawFrame } from "./helpers.js";

type Got = { ok: unknown; n: number } | { bad: string; reason: string; problems: unknown; n: number };

function collect(): { sink: MessageSink; got: Got[] } {
  const got: Got[] = [];
  return {
    got,
    sink: {
      message: (v, n) => got.push({ ok: v, n }),
      bad: (code, reason, n, problems) => got.push({ bad: code, reason, problems, n }),
    },
  };
}

const bytes = (...parts: (string | number[])[]): Buffer => Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : Buffer.from(p))));
const ED = [0xed]; // a lead byte of a 3-byte sequence, here followed by ASCII

describe("ndjson: invalid UTF-8 in a line", () => {
  it("is ERR_STDIO_UTF8 for that line, naming the field; the lines around it are read", () => {
    const { sink, got } = collect();
    const r = new NdjsonReader(sink);
    r.push(bytes('{"a":1}\n{"op":"observe","domain":"hv', ED, 'ac"}\n{"b":"\u00e9 \ufffd ok"}\n'));
    r.end();
    expect(got).toEqual([
      { ok: { a: 1 }, n: 1 },
      {
        bad: "ERR_STDIO_UTF8",
        reason: "invalid UTF-8 at byte 28 of the line (0xed), in /domain",
        problems: [{ path: "/domain", message: "is not valid UTF-8 (byte 0xed at offset 28 of the line)" }],
        n: 2,
      },
      // a real U+FFFD (EF BF BD) is text like any other
      { ok: { b: "\u00e9 \ufffd ok" }, n: 3 },
    ]);
  });

  it.each([
    ["a stray continuation byte", [0x80], "/domain"],
    ["an overlong NUL (C0 80)", [0xc0, 0x80], "/domain"],
    ["an encoded surrogate (ED A0 80)", [0xed, 0xa0, 0x80], "/domain"],
    ["above U+10FFFF (F4 90 80 80)", [0xf4, 0x90, 0x80, 0x80], "/domain"],
    ["a Latin-1 é", [0xe9], "/domain"],
  ])("%s", (_label, bad, path) => {
    const line = bytes('{"op":"observe","domain":"x', bad, '"}');
    const found = findInvalidUtf8Json(line, 0, line.length);
    expect(found).toEqual({ offset: 27, byte: bad[0], path, inKey: false });
  });

  it("names nested fields, keys and array elements; no field outside a string", () => {
    const at = (...parts: (string | number[])[]) => {
      const b = bytes(...parts);
      const f = findInvalidUtf8Json(b, 0, b.length)!;
      return [f.path, f.inKey];
    };
    expect(at('{"tokens":["ok","b', ED, '"]}')).toEqual(["/tokens/1", false]);
    expect(at('{"a":{"b/c~d":"', ED, '"}}')).toEqual(["/a/b~1c~0d", false]);
    expect(at('{"pat', [0xff], 'tern":"x"}')).toEqual(["/pat\ufffdtern", true]);
    expect(at('{"a":1', [0xff], "}")).toEqual([undefined, false]); // not JSON around it either
  });
});

const encoder = new Encoder({ useRecords: false } as ConstructorParameters<typeof Encoder>[0]);
/** A CBOR text string head + the given bytes. */
const text = (b: Buffer): Buffer => Buffer.concat([Buffer.from([0x60 | b.length]), b]);
const key = (s: string): Buffer => text(Buffer.from(s));

describe("cbor: a text string with invalid UTF-8", () => {
  const observe = Buffer.concat([
    Buffer.from([0xa3]),
    key("op"),
    key("observe"),
    key("domain"),
    text(bytes("hv", ED, "ac")),
    key("confidence"),
    Buffer.from([0xf9, 0x3c, 0x00]), // float16 1.0: off the fast path anyway
  ]);

  it("is ERR_STDIO_UTF8 for that frame, naming the field as ndjson does; the next frame is read", () => {
    const { sink, got } = collect();
    const r = new CborReader(sink);
    r.push(Buffer.concat([rawFrame(observe), rawFrame(Buffer.from(encoder.encode({ op: "flush" }) as Uint8Array))]));
    r.end();
    expect(got).toEqual([
      {
        bad: "ERR_STDIO_UTF8",
        reason: "invalid UTF-8 at byte 22 of the frame (0xed), in /domain",
        problems: [{ path: "/domain", message: "is not valid UTF-8 (byte 0xed at offset 22 of the frame)" }],
        n: 1,
      },
      { ok: { op: "flush" }, n: 2 },
    ]);
  });

  it("finds it in nested arrays and maps, indefinite strings and keys; valid text passes", () => {
    const find = (b: Buffer) => {
      const f = findInvalidUtf8Cbor(b, 0, b.length);
      return f === null ? null : [f.path, f.inKey, f.byte];
    };
    // {"tokens": ["ok", "b\xed"]}
    expect(find(Buffer.concat([Buffer.from([0xa1]), key("tokens"), Buffer.from([0x82]), key("ok"), text(bytes("b", ED))]))).toEqual(["/tokens/1", false, 0xed]);
    // {"a": {"b": "\xff"}} in indefinite-length maps
    expect(find(Buffer.concat([Buffer.from([0xbf]), key("a"), Buffer.from([0xbf]), key("b"), text(Buffer.from([0xff])), Buffer.from([0xff, 0xff])]))).toEqual(["/a/b", false, 0xff]);
    // an indefinite text string whose second chunk is bad
    expect(find(Buffer.concat([Buffer.from([0xa1]), key("c"), Buffer.from([0x7f]), key("ok"), text(Buffer.from([0x80])), Buffer.from([0xff])]))).toEqual(["/c", false, 0x80]);
    // a bad key: its member, with U+FFFD for the bytes
    expect(find(Buffer.concat([Buffer.from([0xa1]), text(bytes("pat", [0xff], "tern")), key("x")]))).toEqual(["/pat\ufffdtern", true, 0xff]);
    // a tagged string, an integer key
    expect(find(Buffer.concat([Buffer.from([0xa1, 0x01, 0xc0]), text(Buffer.from([0xc3]))]))).toEqual(["/1", false, 0xc3]);
    // all well-formed, non-ASCII included
    expect(find(Buffer.from(encoder.encode({ domain: "café", tokens: ["𝄞", "日本"], n: 1.5, b: Buffer.from([0xff]) }) as Uint8Array))).toBeNull();
    // a malformed frame is left to the decoder
    expect(find(Buffer.from([0xa2, 0x61]))).toBeNull();
  });
});
