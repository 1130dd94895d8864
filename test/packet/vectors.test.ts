import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { PacketError, VERDICT_CODES } from "../../src/packet/index.js";
import { fieldsFromJson, type FieldsJson } from "../vectors/json-fields.js";
import { suites } from "./backends.js";

interface Valid {
  name: string;
  fields: FieldsJson;
  conclusionAfterCut?: string;
  hex: string;
}
interface Invalid {
  name: string;
  code: string;
  field?: string;
  hex: string;
}

const load = <T>(file: string): T[] => (JSON.parse(readFileSync(new URL(`../vectors/${file}`, import.meta.url), "utf8")) as { vectors: T[] }).vectors;
const valid = load<Valid>("valid.json");
const invalid = load<Invalid>("invalid.json");

describe.each(suites)("test vectors, %s backend", (_name, codec) => {
  it.each(valid.map((v) => [v.name, v] as const))("encodes %s to the exact bytes", (_n, v) => {
    const buf = Buffer.alloc(512, 0xee); // garbage first: encode must overwrite every byte
    codec.encode(fieldsFromJson(v.fields), buf);
    expect(buf.toString("hex")).toBe(v.hex);
  });

  it.each(valid.map((v) => [v.name, v] as const))("decodes %s back to its fields", (_n, v) => {
    const p = codec.decode(Buffer.from(v.hex, "hex"));
    const f = fieldsFromJson(v.fields);
    expect(p.address).toBe(f.address);
    expect(p.outcomeDelta).toBe(Math.fround(f.outcomeDelta));
    expect(p.confidence).toBe(Math.fround(f.confidence));
    expect(p.nObservations).toBe(f.nObservations);
    expect(p.timestampMs).toBe(f.timestampMs);
    expect(p.ttlS).toBe(f.ttlS);
    expect(p.seq).toBe(f.seq);
    expect(p.flags).toBe(f.flags ?? 0);
    expect(p.hops).toBe(f.hops ?? 0);
    expect(Buffer.from(p.nodeId).equals(Buffer.from(f.nodeId))).toBe(true);
    expect(p.context).toEqual(Array.from(f.context ?? [], (x) => Math.fround(x)));
    expect(p.conclusion).toBe(v.conclusionAfterCut ?? f.conclusion ?? "");
    expect(Buffer.from(p.contextHash).toString("hex")).toBe(f.contextHash ? Buffer.from(f.contextHash).toString("hex") : "0".repeat(32));
    if (f.signature) expect(Buffer.from(p.signature).equals(Buffer.from(f.signature))).toBe(true);
  });

  it.each(invalid.map((v) => [v.name, v] as const))("rejects %s with its code", (_n, v) => {
    const bytes = Buffer.from(v.hex, "hex");
    let error: unknown;
    try {
      codec.verify(bytes);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PacketError);
    expect((error as PacketError).code).toBe(v.code);
    if (v.field !== undefined) expect((error as PacketError).field).toBe(v.field);
    if (bytes.length === 512) expect(VERDICT_CODES[codec.verdict(bytes)]).toBe(v.code);
    expect(() => codec.decode(bytes)).toThrow(PacketError);
  });
});
