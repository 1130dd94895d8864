/** What `keygen` and `inspect --trust` need from src/security/, here so that it stays in the sidecar. */
import { existsSync, readFileSync } from "node:fs";
import { QisError } from "../errors.js";
import { readSigningKey, writeNewSigningKey } from "./signing-key.js";
import { readTrustFile, TrustStore } from "./trust.js";
import { PacketVerifier, SigVerdict } from "./verifier.js";

/** The signing public key (hex) of FILE when it holds a PEM key, else null (a CURVE key file, or none). */
export function signingPublicKeyOf(file: string): string | null {
  let first = "";
  try {
    first = readFileSync(file, "utf8").trimStart();
  } catch {
    return null; // the CURVE reader then says why
  }
  return first.startsWith("-----BEGIN") ? readSigningKey(file).publicKeyHex : null;
}

/** A new signing key at FILE, its public key in hex; "check-only": only refuse (ERR_KEY_EXISTS) when FILE exists. */
export function newSigningKey(file: string, check?: "check-only"): string {
  if (check !== undefined) {
    if (existsSync(file)) throw new QisError("ERR_KEY_EXISTS", `${file} exists: a key file is never overwritten (move it away first)`);
    return "";
  }
  return writeNewSigningKey(file).publicKeyHex;
}

/** The signature verdict of a codec-valid packet against a trust file (ERR_TRUST_* when the file is bad). */
export function signatureVerdict(bytes: Uint8Array, trustFile: string): { ok: boolean; text: string } {
  const verifier = new PacketVerifier(new TrustStore(readTrustFile(trustFile)), 0);
  const v = verifier.verdict(bytes, 0);
  return { ok: v === SigVerdict.VALID || v === SigVerdict.UNSIGNED, text: verifier.describe(bytes, 0, v) };
}
