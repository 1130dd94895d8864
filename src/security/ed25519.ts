/**
 * Ed25519 through node:crypto, required on first use only: node:crypto costs an idle agent
 * ~1 MiB of RSS (docs/devices.md, "Idle memory"), and only an agent that signs or verifies
 * packets needs it. Keys are raw 32-byte public keys outside this module and KeyObjects inside.
 */
import { createRequire } from "node:module";
import type { KeyObject } from "node:crypto";
import { QisError } from "../errors.js";

type Crypto = typeof import("node:crypto");
let crypto: Crypto | null = null;

export function nodeCrypto(): Crypto {
  crypto ??= createRequire(import.meta.url)("node:crypto") as Crypto;
  return crypto;
}

/** DER prefixes of a raw 32-byte Ed25519 public key (SPKI) and seed (PKCS#8). */
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
const PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

export const PUBLIC_KEY_SIZE = 32;

/** A public KeyObject from the raw 32 bytes. Throws ERR_TRUST_KEY when they are not a key. */
export function publicKeyObject(raw: Uint8Array): KeyObject {
  if (raw.length !== PUBLIC_KEY_SIZE) throw new QisError("ERR_TRUST_KEY", `an Ed25519 public key is ${PUBLIC_KEY_SIZE} bytes, got ${raw.length}`);
  try {
    return nodeCrypto().createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: "der", type: "spki" });
  } catch (cause) {
    throw new QisError("ERR_TRUST_KEY", `not an Ed25519 public key: ${(cause as Error).message}`, { cause });
  }
}

/** A private KeyObject from a raw 32-byte seed. */
export function privateKeyFromSeed(seed: Uint8Array): KeyObject {
  return nodeCrypto().createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: "der", type: "pkcs8" });
}

/** The raw 32 bytes of an Ed25519 public (or private: its public half) KeyObject. */
export function rawPublicKey(key: KeyObject): Buffer {
  const pub = key.type === "private" ? nodeCrypto().createPublicKey(key) : key;
  const spki = pub.export({ format: "der", type: "spki" });
  return spki.subarray(spki.length - PUBLIC_KEY_SIZE);
}

/** key_id: the first 8 bytes of SHA-256 of the raw 32-byte public key. */
export function keyIdOf(rawPublic: Uint8Array): Buffer {
  return nodeCrypto().createHash("sha256").update(rawPublic).digest().subarray(0, 8);
}

export function generateSigningKey(): KeyObject {
  return nodeCrypto().generateKeyPairSync("ed25519").privateKey;
}

export function sign(data: Uint8Array, key: KeyObject): Buffer {
  return nodeCrypto().sign(null, data, key);
}

export function verify(data: Uint8Array, key: KeyObject, signature: Uint8Array): boolean {
  return nodeCrypto().verify(null, data, key, signature);
}
