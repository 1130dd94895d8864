/**
 * What `config check` and `run` find before starting an agent that signs or verifies
 * (src/agent/preflight.ts calls this only then): a signing key file that exists but is not an
 * Ed25519 key, or cannot be created; a trust file that cannot be read or holds a bad entry; an
 * inline trusted key that is 64 hex digits but not a public key.
 */
import { existsSync, statSync } from "node:fs";
import { dirname } from "node:path";
import type { QisError } from "../errors.js";
import type { AgentConfig } from "../agent/config.js";
import { publicKeyObject } from "./ed25519.js";
import { readSigningKey } from "./signing-key.js";
import { readTrustFile } from "./trust.js";

type Add = (path: string, expected: string, found: string) => void;

const isDir = (p: string): boolean => existsSync(p) && statSync(p).isDirectory();

export function signingProblems(s: AgentConfig["security"], stateDir: string, add: Add): void {
  const keyFile = s.signing.keyFile;
  if (keyFile !== null) {
    if (!existsSync(keyFile)) {
      if (!isDir(dirname(keyFile)) && dirname(keyFile) !== stateDir) add("/security/signing/keyFile", "a signing key file, or a path where one can be created", `${keyFile}, whose directory ${dirname(keyFile)} does not exist`);
    } else {
      try {
        readSigningKey(keyFile);
      } catch (e) {
        add("/security/signing/keyFile", "a readable Ed25519 signing key file (qis-edge keygen --signing writes one)", (e as QisError).message);
      }
    }
  }
  if (s.trust.file !== null) {
    try {
      readTrustFile(s.trust.file);
    } catch (e) {
      add("/security/trust/file", 'a readable trust file: { "keys": [ { "publicKey", "nodeIds" } ] }', (e as QisError).message);
    }
  }
  s.trust.keys.forEach((k, i) => {
    try {
      publicKeyObject(Buffer.from(k.publicKey, "hex"));
    } catch (e) {
      add(`/security/trust/keys/${i}/publicKey`, "an Ed25519 public key", (e as QisError).message);
    }
  });
}
