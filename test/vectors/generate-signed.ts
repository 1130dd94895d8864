/**
 * Writes test/vectors/signed.json: signed packets (docs/packet.md, "Signed packets") with the
 * keys that made them and the verdict each must get. Committed; rerun only when the signed
 * layout changes on purpose (`npx vite-node test/vectors/generate-signed.ts`) and review the
 * diff. Ed25519 is deterministic: the same seed and bytes always give the same signature.
 *
 * Every vector is a codec-valid packet (CRC re-sealed after any change), so that the signature
 * check, not the CRC, is what judges it:
 *  - valid: the `minimal` vector of valid.json signed by key A, which may sign for its node id;
 *  - tampered-body: valid, then confidence changed (bytes 28..31), CRC re-sealed;
 *  - tampered-signature: valid, then one bit of the signature flipped, CRC re-sealed;
 *  - unknown-key: the same packet signed by key B, which is in no trust entry;
 *  - flag-without-signature: SIGNED set and A's key id filled, the signature slot left zero;
 *  - key-not-allowed: a packet of another node id signed by A;
 *  - unsigned: the minimal packet as it is.
 */
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { backends, OFFSETS as F, PacketCodec, PACKET_SIZE, type PacketFields } from "../../src/packet/index.js";
import { finishSigned, prepareSigned, signedBytes } from "../../src/packet/signature.js";
import { keyIdOf, privateKeyFromSeed, rawPublicKey, sign } from "../../src/security/ed25519.js";

const codec = PacketCodec.using(backends.fallback);
const crc = (b: Uint8Array, o: number, n: number, s: number): number => codec.crc32c(b, o, n, s);
const seedOf = (name: string): Buffer => createHash("sha256").update(`qis-edge test signing key ${name}`).digest();

const keys = Object.fromEntries(
  ["A", "B"].map((name) => {
    const seed = seedOf(name);
    const pub = rawPublicKey(privateKeyFromSeed(seed));
    return [name, { seed: seed.toString("hex"), publicKey: pub.toString("hex"), keyId: keyIdOf(pub).toString("hex") }];
  }),
) as Record<"A" | "B", { seed: string; publicKey: string; keyId: string }>;

const NODE = "0123456789abcdef0123456789abcdef";
const OTHER = "fedcba9876543210fedcba9876543210";
const fields = (nodeId: string): PacketFields => ({
  timestampMs: 1795000000000,
  ttlS: 3600,
  nObservations: 42,
  outcomeDelta: 0.18,
  confidence: 0.87,
  seq: 1,
  nodeId,
  address: "qis.hvac.energy-anomaly",
});

function packet(nodeId: string): Buffer {
  const b = Buffer.alloc(PACKET_SIZE);
  codec.encode(fields(nodeId), b);
  return b;
}

function signed(nodeId: string, key: "A" | "B"): Buffer {
  const b = packet(nodeId);
  prepareSigned(b, 0, Buffer.from(keys[key].keyId, "hex"));
  finishSigned(b, 0, sign(signedBytes(b, 0), privateKeyFromSeed(Buffer.from(keys[key].seed, "hex"))), crc);
  return b;
}

const reseal = (b: Buffer): Buffer => {
  b.writeUInt32LE(codec.crc32c(b, 0, F.crc32c), F.crc32c);
  return b;
};

const valid = signed(NODE, "A");
const tamperedBody = reseal(Buffer.from(valid));
tamperedBody.writeFloatLE(0.5, F.confidence);
reseal(tamperedBody);
const tamperedSignature = Buffer.from(valid);
tamperedSignature[F.signature + 17]! ^= 0x04;
reseal(tamperedSignature);
const flagOnly = packet(NODE);
prepareSigned(flagOnly, 0, Buffer.from(keys.A.keyId, "hex"));
reseal(flagOnly);

const vectors = [
  { name: "valid", verdict: "valid", hex: valid },
  { name: "tampered-body", verdict: "bad signature", hex: tamperedBody },
  { name: "tampered-signature", verdict: "bad signature", hex: tamperedSignature },
  { name: "unknown-key", verdict: "unknown key", hex: signed(NODE, "B") },
  { name: "flag-without-signature", verdict: "bad signature", hex: flagOnly },
  { name: "key-not-allowed", verdict: "key not allowed for this node id", hex: signed(OTHER, "A") },
  { name: "unsigned", verdict: "unsigned", hex: packet(NODE) },
].map((v) => ({ ...v, hex: v.hex.toString("hex") }));

const out = {
  note: "Signed packets (docs/packet.md). Keys: seed = SHA-256 of 'qis-edge test signing key <name>'; keyId = SHA-256(publicKey)[0..8]. Trust: key A for node " + NODE + " only; key B is trusted by no one.",
  keys,
  trust: { keys: [{ publicKey: keys.A.publicKey, nodeIds: [NODE], name: "A" }] },
  vectors,
};
writeFileSync(new URL("./signed.json", import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
console.log(`wrote ${vectors.length} signed vectors`);
