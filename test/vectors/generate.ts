/**
 * Writes test/vectors/valid.json and invalid.json. The vectors are committed and the tests read
 * them; rerun this only when the format changes on purpose (`npx vite-node test/vectors/generate.ts`),
 * and review the diff: a changed byte is a wire-format change.
 *
 * Valid vectors are encoded with the TypeScript backend; CRC-32C and the address hash were
 * checked against independent implementations (see test/packet/primitives.test.ts).
 * Invalid vectors are a valid packet with one mutation, CRC re-sealed so that the intended
 * check (not the CRC) is the one that fails.
 */
import { writeFileSync } from "node:fs";
import { backends, FLAG_LEGACY, FLAG_SIGNED, FLAG_SYNTHESIZED, OFFSETS as F, PacketCodec, PACKET_SIZE, type PacketFields } from "../../src/packet/index.js";
import { crc32c } from "../../src/packet/crc32c.js";
import { fieldsToJson, type FieldsJson } from "./json-fields.js";

const codec = PacketCodec.using(backends.fallback);
const id = (hex: string): Uint8Array => Buffer.from(hex.repeat(32 / hex.length), "hex");

const valid: { name: string; note: string; fields: FieldsJson; conclusionAfterCut?: string; hex: string }[] = [];

function addValid(name: string, note: string, fields: PacketFields, conclusionAfterCut?: string): Buffer {
  const buf = Buffer.alloc(PACKET_SIZE);
  codec.encode(fields, buf);
  const entry: (typeof valid)[number] = { name, note, fields: fieldsToJson(fields), hex: buf.toString("hex") };
  if (conclusionAfterCut !== undefined) entry.conclusionAfterCut = conclusionAfterCut;
  valid.push(entry);
  return buf;
}

const minimal = addValid("minimal", "the observation of the README example, fixed identity and time", {
  timestampMs: 1_795_000_000_000,
  ttlS: 3600,
  nObservations: 42,
  outcomeDelta: 0.18,
  confidence: 0.87,
  seq: 1,
  nodeId: id("0123456789abcdef"),
  address: "qis.hvac.energy-anomaly",
});

addValid("full", "every optional field, synthesized, multi-byte UTF-8 in the conclusion", {
  flags: FLAG_SYNTHESIZED,
  hops: 3,
  timestampMs: 1_795_000_123_456,
  ttlS: 86_400,
  nObservations: 1_000_000,
  outcomeDelta: -0.4375,
  confidence: 0.999,
  seq: 9_007_199_254_740_991 - 7,
  nodeId: id("fedcba9876543210"),
  address: "qis.iot.predictive-maintenance.bearing-wear.dm0_4",
  contextHash: id("a5"),
  context: [0, 1, -1, 0.5, -0.25, 3.4028234663852886e38, -1.401298464324817e-45, 1e-3, 7, 8, 9, 10, 11, 12, 13, 14],
  conclusion: "Bearing wear ↑ on pump 3 (Ø 40 mm) — schedule inspection ✓",
});

addValid("signed", "SIGNED flag with a key id and signature (not checked by the packet layer)", {
  flags: FLAG_SIGNED,
  timestampMs: 1_795_000_000_001,
  ttlS: 60,
  nObservations: 1,
  outcomeDelta: 1,
  confidence: 1,
  seq: 0,
  nodeId: id("11"),
  address: "qis.hvac.energy-anomaly",
  keyId: Buffer.from("c0ffee0123456789", "hex"),
  signature: Buffer.alloc(64, 0x5a),
});

addValid("extremes", "every number at its bound, a 96-byte address, ttl 0 (never expires)", {
  flags: FLAG_LEGACY,
  hops: 255,
  timestampMs: 9_007_199_254_740_991,
  ttlS: 0,
  nObservations: 0xffff_ffff,
  outcomeDelta: -1,
  confidence: 0,
  seq: 9_007_199_254_740_991,
  nodeId: id("ff"),
  address: `qis.${"a".repeat(30)}.${"b".repeat(30)}.${"c".repeat(28)}`,
});

// 170 ASCII bytes, then a 4-byte emoji that would straddle byte 172: the cut keeps 170 bytes.
const cutText = `${"x".repeat(170)}😀 and more`;
addValid("conclusion-cut", "a conclusion longer than 172 bytes, cut before a 4-byte character", {
  timestampMs: 1_795_000_000_002,
  ttlS: 3600,
  nObservations: 5,
  outcomeDelta: 0,
  confidence: 0.5,
  seq: 2,
  nodeId: id("22"),
  address: "qis.hvac.energy-anomaly",
  conclusion: cutText,
}, "x".repeat(170));

// ---- invalid vectors ----
const invalid: { name: string; code: string; field?: string; hex: string }[] = [];

function mutated(name: string, code: string, field: string | undefined, mutate: (b: Buffer) => void, reseal = true): void {
  const b = Buffer.from(minimal);
  mutate(b);
  if (reseal) b.writeUInt32LE(crc32c(b, 0, F.crc32c), F.crc32c);
  const entry: (typeof invalid)[number] = { name, code, hex: b.toString("hex") };
  if (field !== undefined) entry.field = field;
  invalid.push(entry);
}

invalid.push({ name: "empty", code: "ERR_PACKET_LENGTH", hex: "" });
invalid.push({ name: "short-511", code: "ERR_PACKET_LENGTH", hex: minimal.subarray(0, 511).toString("hex") });
invalid.push({ name: "long-513", code: "ERR_PACKET_LENGTH", hex: `${minimal.toString("hex")}00` });
mutated("crc-flipped-byte", "ERR_PACKET_CRC", "crc32c", (b) => (b[100]! ^= 0x01), false);
mutated("crc-field-changed", "ERR_PACKET_CRC", "crc32c", (b) => (b[F.crc32c]! ^= 0x80), false);
mutated("magic", "ERR_PACKET_MAGIC", "magic", (b) => (b[0] = 0x58));
mutated("version-2", "ERR_PACKET_VERSION", "magic", (b) => (b[3] = 2));
mutated("version-0", "ERR_PACKET_VERSION", "magic", (b) => (b[3] = 0));
mutated("flags-unknown-bit", "ERR_PACKET_FLAGS", "flags", (b) => b.writeUInt16LE(0x0008, F.flags));
mutated("flags-high-bit", "ERR_PACKET_FLAGS", "flags", (b) => b.writeUInt16LE(0x8000, F.flags));
mutated("address-len-97", "ERR_PACKET_OVERSIZE", "address_len", (b) => (b[F.address_len] = 97));
mutated("context-len-17", "ERR_PACKET_OVERSIZE", "context_len", (b) => (b[F.context_len] = 17));
mutated("conclusion-len-173", "ERR_PACKET_OVERSIZE", "conclusion_len", (b) => (b[F.conclusion_len] = 173));
mutated("reserved0", "ERR_PACKET_RESERVED", "reserved0", (b) => (b[F.reserved0 + 5] = 1));
mutated("reserved1", "ERR_PACKET_RESERVED", "reserved1", (b) => (b[F.reserved1] = 0x80));
mutated("address-padding", "ERR_PACKET_RESERVED", "address", (b) => (b[F.address + 95] = 0x20));
mutated("context-padding", "ERR_PACKET_RESERVED", "context", (b) => (b[F.context + 63] = 1));
mutated("conclusion-padding", "ERR_PACKET_RESERVED", "conclusion", (b) => (b[F.conclusion] = 0x41));
mutated("key-id-unsigned", "ERR_PACKET_RESERVED", "key_id", (b) => (b[F.key_id] = 1));
mutated("signature-unsigned", "ERR_PACKET_RESERVED", "signature", (b) => (b[F.signature + 63] = 1));
mutated("delta-nan", "ERR_PACKET_NOT_FINITE", "outcome_delta", (b) => b.writeUInt32LE(0x7fc00000, F.outcome_delta));
mutated("confidence-inf", "ERR_PACKET_NOT_FINITE", "confidence", (b) => b.writeFloatLE(Infinity, F.confidence));
mutated("context-neg-inf", "ERR_PACKET_NOT_FINITE", "context", (b) => {
  b[F.context_len] = 2;
  b.writeFloatLE(0.5, F.context);
  b.writeFloatLE(-Infinity, F.context + 4);
});
mutated("address-len-0", "ERR_PACKET_RANGE", "address_len", (b) => {
  b.fill(0, F.address, F.context);
  b[F.address_len] = 0;
});
mutated("delta-above-1", "ERR_PACKET_RANGE", "outcome_delta", (b) => b.writeFloatLE(1.0000001, F.outcome_delta));
mutated("delta-below-minus-1", "ERR_PACKET_RANGE", "outcome_delta", (b) => b.writeFloatLE(-2, F.outcome_delta));
mutated("confidence-negative", "ERR_PACKET_RANGE", "confidence", (b) => b.writeFloatLE(-0.1, F.confidence));
mutated("timestamp-2^53", "ERR_PACKET_RANGE", "timestamp_ms", (b) => b.writeBigUInt64LE(2n ** 53n, F.timestamp_ms));
mutated("seq-2^64-1", "ERR_PACKET_RANGE", "seq", (b) => b.writeBigUInt64LE(2n ** 64n - 1n, F.seq));
const setAddress = (b: Buffer, bytes: number[]): void => {
  b.fill(0, F.address, F.context);
  Buffer.from(bytes).copy(b, F.address);
  b[F.address_len] = bytes.length;
};
const ascii = (s: string): number[] => [...Buffer.from(s)];
mutated("address-overlong-slash", "ERR_PACKET_UTF8", "address", (b) => setAddress(b, [...ascii("qis.a."), 0xc0, 0xaf]));
mutated("address-surrogate", "ERR_PACKET_UTF8", "address", (b) => setAddress(b, [...ascii("qis.a."), 0xed, 0xa0, 0x80]));
mutated("address-above-10ffff", "ERR_PACKET_UTF8", "address", (b) => setAddress(b, [...ascii("qis.a."), 0xf4, 0x90, 0x80, 0x80]));
mutated("address-stray-continuation", "ERR_PACKET_UTF8", "address", (b) => setAddress(b, [...ascii("qis.a."), 0x80]));
mutated("conclusion-truncated-sequence", "ERR_PACKET_UTF8", "conclusion", (b) => {
  b[F.conclusion] = 0x41;
  b[F.conclusion + 1] = 0xe2;
  b[F.conclusion + 2] = 0x82;
  b[F.conclusion_len] = 3;
});
mutated("conclusion-byte-f5", "ERR_PACKET_UTF8", "conclusion", (b) => {
  b[F.conclusion] = 0xf5;
  b[F.conclusion_len] = 1;
});
mutated("address-hash", "ERR_PACKET_ADDRESS_HASH", "address_hash", (b) => (b[F.address_hash + 15]! ^= 0x01));
mutated("address-changed-hash-kept", "ERR_PACKET_ADDRESS_HASH", "address_hash", (b) => (b[F.address + 4] = 0x67 /* g */));

const header = "generated by test/vectors/generate.ts; docs/packet.md is the specification";
writeFileSync(new URL("./valid.json", import.meta.url), `${JSON.stringify({ comment: header, vectors: valid }, null, 2)}\n`);
writeFileSync(new URL("./invalid.json", import.meta.url), `${JSON.stringify({ comment: header, vectors: invalid }, null, 2)}\n`);
console.log(`${valid.length} valid, ${invalid.length} invalid vectors written`);
