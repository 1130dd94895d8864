/**
 * The agent's CURVE key pair (docs/security.md). The secret key file holds the Z85 secret key
 * on one line, mode 0600; the public key is derived from it (X25519, what libsodium's CURVE
 * uses) and also written beside it as FILE.pub. Like an SSH host key, a configured file that
 * does not exist yet is created on first start, never overwritten.
 */
import { createPrivateKey, createPublicKey } from "node:crypto";
import { closeSync, openSync, readFileSync, writeSync, writeFileSync } from "node:fs";
import * as zmq from "zeromq";
import { QisError } from "../errors.js";
import { z85Decode, z85Encode, Z85_KEY } from "../link/zmq/z85.js";
import type { CurveKeys } from "../link/zmq/socket-env.js";

export class KeyError extends QisError {}

/** PKCS#8 DER prefix of a raw 32-byte X25519 private key. */
const X25519_PKCS8 = Buffer.from("302e020100300506032b656e04220420", "hex");

/** The public key (Z85) of a Z85 secret key. */
export function publicKeyOf(secretKey: string): string {
  const raw = z85Decode(secretKey);
  if (raw === null || raw.length !== 32) throw new KeyError("ERR_KEY_INVALID", "a CURVE secret key is 40 characters of Z85");
  const priv = createPrivateKey({ key: Buffer.concat([X25519_PKCS8, raw]), format: "der", type: "pkcs8" });
  const spki = createPublicKey(priv).export({ format: "der", type: "spki" });
  return z85Encode(spki.subarray(spki.length - 32));
}

/** Reads a secret key file: one Z85 key (surrounding whitespace ignored). */
export function readKeyFile(file: string): CurveKeys {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (cause) {
    throw new KeyError("ERR_KEY_FILE", `cannot read the secret key file ${file}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`, { cause });
  }
  const secretKey = text.trim();
  if (!Z85_KEY.test(secretKey)) throw new KeyError("ERR_KEY_INVALID", `${file} does not hold a CURVE secret key (40 characters of Z85 on one line)`);
  return { secretKey, publicKey: publicKeyOf(secretKey) };
}

/**
 * Writes a new key pair: `file` (the secret key, mode 0600, created exclusively: an existing
 * file is never overwritten) and `file.pub`. Throws ERR_KEY_EXISTS when `file` exists.
 */
export function writeNewKeyFile(file: string): CurveKeys {
  const keys = zmq.curveKeyPair();
  let fd: number;
  try {
    fd = openSync(file, "wx", 0o600);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === "EEXIST") throw new KeyError("ERR_KEY_EXISTS", `${file} exists: a key file is never overwritten (move it away first)`, { cause });
    throw new KeyError("ERR_KEY_FILE", `cannot create the secret key file ${file}: ${code ?? String(cause)}`, { cause });
  }
  try {
    writeSync(fd, `${keys.secretKey}\n`);
  } finally {
    closeSync(fd);
  }
  writeFileSync(`${file}.pub`, `${keys.publicKey}\n`, { mode: 0o644 });
  return keys;
}

/** The key pair in `file`, created first when the file does not exist; `created` says which. */
export function loadOrCreateKeys(file: string): CurveKeys & { created: boolean } {
  try {
    return { ...writeNewKeyFile(file), created: true };
  } catch (err) {
    if (!(err instanceof KeyError && err.code === "ERR_KEY_EXISTS")) throw err;
  }
  return { ...readKeyFile(file), created: false };
}
