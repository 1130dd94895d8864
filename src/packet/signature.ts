/**
 * The signed layout (docs/packet.md, "Signed packets"): which bytes an Ed25519 signature covers
 * and how a signature is written into a packet. No cryptography here: the signing and
 * verifying themselves are src/security/ (node:crypto, loaded only when configured), so that
 * this module costs an unsigned agent nothing.
 *
 * A signed packet is: flags bit 0 `SIGNED` set, `key_id` (offset 428, 8 bytes) = the first 8
 * bytes of SHA-256 of the signer's raw 32-byte Ed25519 public key, `signature` (offset 436, 64
 * bytes) = Ed25519 over bytes 0..435 as they stand with `SIGNED` set and `key_id` filled, and
 * the CRC-32C (offset 508) computed last, over the signature too.
 */
import { readU16, writeU16, writeU32 } from "./bytes.js";
import { CRC_COVERED, FLAG_SIGNED, KEY_ID_SIZE, OFFSETS, PACKET_SIZE, SIGNATURE_SIZE } from "./layout.js";

/** The signature covers bytes [0, SIGNED_COVERED): everything before the signature slot. */
export const SIGNED_COVERED = OFFSETS.signature;
export { KEY_ID_SIZE, SIGNATURE_SIZE };

/** Whether the packet at `o` has the SIGNED flag. */
export function isSigned(b: Uint8Array, o: number): boolean {
  return (readU16(b, o + OFFSETS.flags) & FLAG_SIGNED) !== 0;
}

/**
 * Sets SIGNED and writes `keyId` (8 bytes) into the packet at `o`: what must stand in the
 * packet before the covered bytes are signed. The signature slot is left as it is.
 */
export function prepareSigned(b: Uint8Array, o: number, keyId: Uint8Array): void {
  writeU16(b, o + OFFSETS.flags, readU16(b, o + OFFSETS.flags) | FLAG_SIGNED);
  b.set(keyId.subarray(0, KEY_ID_SIZE), o + OFFSETS.key_id);
}

/** The bytes a signature covers, as a view into `b` (no copy). */
export function signedBytes(b: Uint8Array, o: number): Uint8Array {
  return b.subarray(o, o + SIGNED_COVERED);
}

/** The signature slot, as a view into `b`. */
export function signatureBytes(b: Uint8Array, o: number): Uint8Array {
  return b.subarray(o + OFFSETS.signature, o + OFFSETS.signature + SIGNATURE_SIZE);
}

/** The key id slot, as a view into `b`. */
export function keyIdBytes(b: Uint8Array, o: number): Uint8Array {
  return b.subarray(o + OFFSETS.key_id, o + OFFSETS.key_id + KEY_ID_SIZE);
}

/**
 * Writes `signature` (64 bytes) and reseals the CRC with `crc32c` (a codec's, so either
 * backend): the last step of signing.
 */
export function finishSigned(
  b: Uint8Array,
  o: number,
  signature: Uint8Array,
  crc32c: (buf: Uint8Array, offset: number, length: number, seed: number) => number,
): void {
  if (signature.length !== SIGNATURE_SIZE) throw new RangeError(`an Ed25519 signature is ${SIGNATURE_SIZE} bytes, got ${signature.length}`);
  b.set(signature, o + OFFSETS.signature);
  writeU32(b, o + OFFSETS.crc32c, crc32c(b, o, CRC_COVERED, 0));
}

/** Whether [o, o + 512) is inside `b`. */
export function holdsPacket(b: Uint8Array, o: number): boolean {
  return Number.isInteger(o) && o >= 0 && o + PACKET_SIZE <= b.length;
}
