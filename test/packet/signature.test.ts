/**
 * The signed layout (docs/packet.md, "Signed packets") through both codec backends, the signed
 * test vectors (test/vectors/signed.json), and the property that any single flipped bit of the
 * covered bytes 0..435 fails verification.
 */
import { createHash, createPublicKey, verify as cryptoVerify } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FLAG_SIGNED, OFFSETS as F, PACKET_SIZE } from "../../src/packet/index.js";
import { finishSigned, prepareSigned, SIGNED_COVERED, signedBytes } from "../../src/packet/signature.js";
import { keyIdOf, privateKeyFromSeed, sign } from "../../src/security/ed25519.js";
import { TrustStore, type TrustEntry } from "../../src/security/trust.js";
import { PacketVerifier, SIG_VERDICT_NAMES, SigVerdict } from "../../src/security/verifier.js";
import { suites } from "./backends.js";

interface Vectors {
  keys: Record<"A" | "B", { seed: string; publicKey: string; keyId: string }>;
  trust: { keys: TrustEntry[] };
  vectors: { name: string; verdict: string; hex: string }[];
}
const V = JSON.parse(readFileSync(new URL("../vectors/signed.json", import.meta.url), "utf8")) as Vectors;
const byName = (n: string): Buffer => Buffer.from(V.vectors.find((v) => v.name === n)!.hex, "hex");
const verifier = (cache = 0): PacketVerifier => new PacketVerifier(new TrustStore(V.trust.keys), cache);

describe("signed test vectors", () => {
  it("key ids are the first 8 bytes of SHA-256 of the raw public key", () => {
    for (const k of Object.values(V.keys)) {
      const pub = Buffer.from(k.publicKey, "hex");
      expect(createHash("sha256").update(pub).digest().subarray(0, 8).toString("hex")).toBe(k.keyId);
      expect(keyIdOf(pub).toString("hex")).toBe(k.keyId);
    }
  });

  it("the valid vector's signature is plain Ed25519 over bytes 0..435 (checked without our code)", () => {
    const b = byName("valid");
    expect(b.readUInt16LE(F.flags) & FLAG_SIGNED).toBe(FLAG_SIGNED);
    expect(b.subarray(F.key_id, F.key_id + 8).toString("hex")).toBe(V.keys.A.keyId);
    const spki = Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), Buffer.from(V.keys.A.publicKey, "hex")]);
    const key = createPublicKey({ key: spki, format: "der", type: "spki" });
    expect(cryptoVerify(null, b.subarray(0, 436), key, b.subarray(436, 500))).toBe(true);
    expect(cryptoVerify(null, b.subarray(0, 435), key, b.subarray(436, 500))).toBe(false);
  });

  it.each(V.vectors.map((v) => [v.name, v.verdict] as const))("%s: %s", (name, verdict) => {
    for (const cache of [0, 64]) {
      const vf = verifier(cache);
      const b = byName(name);
      expect(SIG_VERDICT_NAMES[vf.verdict(b, 0)]).toBe(verdict);
      expect(SIG_VERDICT_NAMES[vf.verdict(b, 0)]).toBe(verdict); // a cache hit says the same
    }
  });
});

describe.each(suites)("signed layout, %s backend", (_name, codec) => {
  it.each(V.vectors.map((v) => [v.name] as const))("%s is codec-valid and decodes/re-encodes to the same bytes", (name) => {
    const b = byName(name);
    expect(codec.verdict(b, 0)).toBe(0);
    const p = codec.decode(b);
    const again = Buffer.alloc(PACKET_SIZE, 0xee);
    codec.encode(p, again);
    expect(again.toString("hex")).toBe(b.toString("hex"));
  });

  it("signing the minimal packet with key A gives the valid vector byte for byte (CRC from this backend)", () => {
    const b = Buffer.from(byName("unsigned"));
    prepareSigned(b, 0, Buffer.from(V.keys.A.keyId, "hex"));
    finishSigned(b, 0, sign(signedBytes(b, 0), privateKeyFromSeed(Buffer.from(V.keys.A.seed, "hex"))), (x, o, n, s) => codec.crc32c(x, o, n, s));
    expect(b.toString("hex")).toBe(byName("valid").toString("hex"));
    expect(codec.verdict(b, 0)).toBe(0);
  });

  it("a signed packet in a batch verifies and unpacks like an unsigned one", () => {
    const batch = Buffer.concat([byName("unsigned"), byName("valid"), byName("key-not-allowed")]);
    const codes = new Uint8Array(3);
    expect(codec.verifyBatch(batch, codes)).toBe(3);
    const out = new Float64Array(33);
    codec.unpack(batch, 0, 3, out);
    expect([out[0], out[11], out[22]]).toEqual([0, FLAG_SIGNED, FLAG_SIGNED]);
  });

  it("the key id or signature without SIGNED is refused (ERR_PACKET_RESERVED)", () => {
    const b = Buffer.from(byName("valid"));
    b.writeUInt16LE(0, F.flags);
    b.writeUInt32LE(codec.crc32c(b, 0, F.crc32c), F.crc32c);
    expect(() => codec.verify(b)).toThrow(expect.objectContaining({ code: "ERR_PACKET_RESERVED", field: "key_id" }));
  });
});

describe("tampering", () => {
  it(`any single flipped bit in bytes 0..${SIGNED_COVERED - 1} fails verification (${SIGNED_COVERED * 8} flips)`, () => {
    const valid = byName("valid");
    const vf = verifier(256);
    expect(vf.verdict(valid, 0)).toBe(SigVerdict.VALID); // cached: a flipped copy must not hit it
    const b = Buffer.from(valid);
    const seen = new Map<string, number>();
    for (let bit = 0; bit < SIGNED_COVERED * 8; bit++) {
      b[bit >> 3]! ^= 1 << (bit & 7);
      const v = vf.verdict(b, 0);
      if (v === SigVerdict.VALID) throw new Error(`bit ${bit} (byte ${bit >> 3}) flipped still verifies`);
      seen.set(SIG_VERDICT_NAMES[v], (seen.get(SIG_VERDICT_NAMES[v]) ?? 0) + 1);
      b[bit >> 3]! ^= 1 << (bit & 7);
    }
    // Flipping SIGNED makes it unsigned, a key id bit an unknown key, a node id bit another node
    // (which key A may not sign for); every other bit a bad signature.
    expect(Object.fromEntries(seen)).toEqual({ unsigned: 1, "unknown key": 64, "key not allowed for this node id": 128, "bad signature": SIGNED_COVERED * 8 - 193 });
    expect(vf.verdict(valid, 0)).toBe(SigVerdict.VALID);
  });

  it("so does any flipped bit of the signature", () => {
    const vf = verifier(0);
    const b = byName("valid");
    for (let bit = 0; bit < 64 * 8; bit += 7) {
      b[F.signature + (bit >> 3)]! ^= 1 << (bit & 7);
      expect(vf.verdict(b, 0)).toBe(SigVerdict.BAD_SIGNATURE);
      b[F.signature + (bit >> 3)]! ^= 1 << (bit & 7);
    }
  });

  it("a key trusted for several node ids, and several keys for one node id (rotation)", () => {
    const trust = new TrustStore([
      { publicKey: V.keys.B.publicKey, nodeIds: ["0123456789abcdef0123456789abcdef"], name: "B-new" },
      { publicKey: V.keys.A.publicKey, nodeIds: ["0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"] },
    ]);
    const vf = new PacketVerifier(trust, 0);
    for (const n of ["valid", "unknown-key", "key-not-allowed"]) expect(vf.verdict(byName(n), 0)).toBe(SigVerdict.VALID);
    expect(vf.describe(byName("unknown-key"), 0, SigVerdict.VALID)).toMatch(/by key B-new for node 0123/);
  });
});
