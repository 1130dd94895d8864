/**
 * Ed25519 through node:crypto. Nothing imports this module eagerly: src/security/ is reached only
 * through `import("../security/index.js")` by an agent configured to sign or verify (and by
 * `keygen` and `inspect --trust`), and in the bundle it is a sidecar, so node:crypto (~1 MiB of an
 * idle agent's RSS, docs/devices.md "Idle memory") is loaded only then. Keys are raw 32-byte
 * public keys outside this module and KeyObjects inside.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign as edSign, verify as edVerify, type KeyObject } from "node:crypto";
import { QisError } from "../errors.js";

/** DER prefixes of a raw 32-byte Ed25519 public key (SPKI) and seed (PKCS#8). */
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
const PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

export const PUBLIC_KEY_SIZE = 32;

/** A public KeyObject from the raw 32 bytes. Throws ERR_TRUST_KEY when they are not a key. */
export function publicKeyObject(raw: Uint8Array): KeyObject {
  if (raw.length !== PUBLIC_KEY_SIZE) throw new QisError("ERR_TRUST_KEY", `an Ed25519 public key is ${PUBLIC_KEY_SIZE} bytes, got ${raw.length}`);
  try {
    return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: "der", type: "spki" });
  } catch (cause) {
    throw new QisError("ERR_TRUST_KEY", `not an Ed25519 public key: ${(cause as Error).message}`, { cause });
  }
}

/** A private KeyObject from a raw 32-byte seed. */
export function privateKeyFromSeed(seed: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: "der", type: "pkcs8" });
}

/** The raw 32 bytes of an Ed25519 public (or private: its public half) KeyObject. */
export function rawPublicKey(key: KeyObject): Buffer {
  const pub = key.type === "private" ? createPublicKey(key) : key;
  const spki = pub.export({ format: "der", type: "spki" });
  return spki.subarray(spki.length - PUBLIC_KEY_SIZE);
}

/** key_id: the first 8 bytes of SHA-256 of the raw 32-byte public key. */
export function keyIdOf(rawPublic: Uint8Array): Buffer {
  return createHash("sha256").update(rawPublic).digest().subarray(0, 8);
}

export function generateSigningKey(): KeyObject {
  return generateKeyPairSync("ed25519").privateKey;
}

export function sign(data: Uint8Array, key: KeyObject): Buffer {
  return edSign(null, data, key);
}

export function verify(data: Uint8Array, key: KeyObject, signature: Uint8Array): boolean {
  return edVerify(null, data, key, signature);
}
