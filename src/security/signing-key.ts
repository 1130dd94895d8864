/**
 * The agent's Ed25519 signing key (docs/security.md, "Signed packets"). The file holds the
 * private key as PEM PKCS#8 ("-----BEGIN PRIVATE KEY-----", what `openssl genpkey -algorithm
 * ed25519` writes too), mode 0600; FILE.pub beside it holds the raw public key as 64 hex digits,
 * the form `security.trust` takes. Like the CURVE key, a configured file that does not exist is
 * created on first start, and an existing file is never overwritten.
 */
import { closeSync, existsSync, openSync, readFileSync, writeFileSync, writeSync } from "node:fs";
import { createPrivateKey, type KeyObject } from "node:crypto";
import { QisError } from "../errors.js";
import { generateSigningKey, keyIdOf, rawPublicKey } from "./ed25519.js";

export class SigningKeyError extends QisError {}

export interface SigningKey {
  privateKey: KeyObject;
  /** raw 32-byte public key */
  publicKey: Buffer;
  /** 64 hex digits: what a peer puts in security.trust */
  publicKeyHex: string;
  /** the 8-byte key_id every packet it signs carries */
  keyId: Buffer;
  keyIdHex: string;
}

function describe(privateKey: KeyObject): SigningKey {
  const publicKey = rawPublicKey(privateKey);
  const keyId = keyIdOf(publicKey);
  return { privateKey, publicKey, publicKeyHex: publicKey.toString("hex"), keyId, keyIdHex: keyId.toString("hex") };
}

/** Reads a signing key file. ERR_KEY_FILE: unreadable; ERR_KEY_INVALID: not an Ed25519 private key. */
export function readSigningKey(file: string): SigningKey {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (cause) {
    throw new SigningKeyError("ERR_KEY_FILE", `cannot read the signing key file ${file}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`, { cause });
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: text, format: "pem" });
  } catch (cause) {
    throw new SigningKeyError("ERR_KEY_INVALID", `${file} does not hold a PEM private key (-----BEGIN PRIVATE KEY-----): ${(cause as Error).message}`, { cause });
  }
  if (key.asymmetricKeyType !== "ed25519")
    throw new SigningKeyError("ERR_KEY_INVALID", `${file} holds a ${key.asymmetricKeyType ?? "unknown"} key; a signing key is Ed25519 (qis-edge keygen --signing FILE)`);
  return describe(key);
}

/**
 * Writes a new signing key to `file` (mode 0600, created exclusively) and its public key to
 * FILE.pub. ERR_KEY_EXISTS when `file` exists.
 */
export function writeNewSigningKey(file: string): SigningKey {
  const key = describe(generateSigningKey());
  let fd: number;
  try {
    fd = openSync(file, "wx", 0o600);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === "EEXIST") throw new SigningKeyError("ERR_KEY_EXISTS", `${file} exists: a key file is never overwritten (move it away first)`, { cause });
    throw new SigningKeyError("ERR_KEY_FILE", `cannot create the signing key file ${file}: ${code ?? String(cause)}`, { cause });
  }
  try {
    writeSync(fd, key.privateKey.export({ format: "pem", type: "pkcs8" }) as string);
  } finally {
    closeSync(fd);
  }
  try {
    writeFileSync(`${file}.pub`, `${key.publicKeyHex}\n`, { mode: 0o644 });
  } catch (cause) {
    throw new SigningKeyError("ERR_KEY_FILE", `cannot write ${file}.pub: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`, { cause });
  }
  return key;
}

/** The configured key: read, or created when the file does not exist yet (first start). */
export function loadOrCreateSigningKey(file: string): { key: SigningKey; created: boolean } {
  if (existsSync(file)) return { key: readSigningKey(file), created: false };
  return { key: writeNewSigningKey(file), created: true };
}
