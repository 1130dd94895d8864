/**
 * Trusted signing keys (`security.trust`, docs/security.md "Signed packets"): each an Ed25519
 * public key and the node ids it may sign for. Several keys may sign for one node id (key
 * rotation: add the new key, move the node to it, then remove the old one). KeyObjects are made
 * once, at load, and found per packet by key_id without allocating.
 */
import { readFileSync } from "node:fs";
import type { KeyObject } from "node:crypto";
import { QisError } from "../errors.js";
import { ID_SIZE, KEY_ID_SIZE } from "../packet/layout.js";
import { keyIdOf, publicKeyObject } from "./ed25519.js";

/** One trusted key as configured: `publicKey` 64 hex digits, `nodeIds` 32 hex digits each or "*". */
export interface TrustEntry {
  publicKey: string;
  nodeIds: string[];
  /** a name for logs and `inspect` (default: the key id) */
  name?: string;
}

export interface TrustedKey {
  name: string;
  keyId: Buffer;
  keyIdHex: string;
  publicKeyHex: string;
  key: KeyObject;
  /** any node id ("*") */
  anyNode: boolean;
  /** the node ids it may sign for, 16 bytes each, back to back */
  nodeIds: Buffer;
}

export class TrustError extends QisError {}

const HEX64 = /^[0-9a-fA-F]{64}$/;
const HEX32 = /^[0-9a-fA-F]{32}$/;

/** Checks one entry of a trust list; `where` names it in the error (e.g. "trust.json: keys[2]"). */
export function parseTrustEntry(e: unknown, where: string): TrustEntry {
  const bad = (what: string): never => {
    throw new TrustError("ERR_TRUST_INVALID", `${where}: ${what}`);
  };
  if (e === null || typeof e !== "object" || Array.isArray(e)) return bad("expected an object { publicKey, nodeIds }");
  const r = e as Record<string, unknown>;
  for (const k of Object.keys(r)) if (k !== "publicKey" && k !== "nodeIds" && k !== "name") bad(`unknown key "${k}" (publicKey, nodeIds, name)`);
  if (typeof r.publicKey !== "string" || !HEX64.test(r.publicKey)) bad(`publicKey: expected 64 hex digits (a raw Ed25519 public key, as in FILE.sign.pub), got ${JSON.stringify(r.publicKey)}`);
  if (!Array.isArray(r.nodeIds) || r.nodeIds.length === 0) bad(`nodeIds: expected a non-empty list of node ids (32 hex digits) or "*", got ${JSON.stringify(r.nodeIds)}`);
  (r.nodeIds as unknown[]).forEach((n, i) => {
    if (typeof n !== "string" || (n !== "*" && !HEX32.test(n))) bad(`nodeIds[${i}]: expected a node id (32 hex digits) or "*", got ${JSON.stringify(n)}`);
  });
  if (r.name !== undefined && (typeof r.name !== "string" || r.name.length === 0)) bad(`name: expected a non-empty string, got ${JSON.stringify(r.name)}`);
  return { publicKey: r.publicKey as string, nodeIds: r.nodeIds as string[], ...(r.name !== undefined ? { name: r.name as string } : {}) };
}

/** Reads a trust file: JSON `{ "keys": [TrustEntry, …] }`. ERR_TRUST_FILE / ERR_TRUST_INVALID. */
export function readTrustFile(file: string): TrustEntry[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (cause) {
    throw new TrustError("ERR_TRUST_FILE", `cannot read the trust file ${file}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}`, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new TrustError("ERR_TRUST_FILE", `${file} is not JSON: ${(cause as Error).message}`, { cause });
  }
  const keys = json !== null && typeof json === "object" && !Array.isArray(json) ? (json as Record<string, unknown>).keys : undefined;
  if (!Array.isArray(keys)) throw new TrustError("ERR_TRUST_INVALID", `${file}: expected { "keys": [ { "publicKey": "<64 hex>", "nodeIds": ["<32 hex>" | "*"] }, … ] }`);
  return keys.map((e, i) => parseTrustEntry(e, `${file}: keys[${i}]`));
}

export class TrustStore {
  /** by the key id's first 4 bytes (little-endian u32): few keys, rarely two per bucket */
  readonly #byId = new Map<number, TrustedKey[]>();
  readonly keys: TrustedKey[] = [];

  constructor(entries: readonly TrustEntry[] = []) {
    for (const e of entries) this.add(e);
  }

  /** Adds a key, or widens the node ids of a key already there (the same key in config and file). */
  add(e: TrustEntry): TrustedKey {
    const raw = Buffer.from(e.publicKey, "hex");
    const keyId = keyIdOf(raw);
    const ids = e.nodeIds.filter((n) => n !== "*").map((n) => Buffer.from(n, "hex"));
    const existing = this.#find(keyId, 0);
    if (existing !== undefined) {
      existing.anyNode ||= e.nodeIds.includes("*");
      existing.nodeIds = Buffer.concat([existing.nodeIds, ...ids]);
      return existing;
    }
    const key: TrustedKey = {
      name: e.name ?? keyId.toString("hex"),
      keyId,
      keyIdHex: keyId.toString("hex"),
      publicKeyHex: raw.toString("hex"),
      key: publicKeyObject(raw),
      anyNode: e.nodeIds.includes("*"),
      nodeIds: Buffer.concat(ids),
    };
    const h = keyId.readUInt32LE(0);
    const bucket = this.#byId.get(h);
    if (bucket === undefined) this.#byId.set(h, [key]);
    else bucket.push(key);
    this.keys.push(key);
    return key;
  }

  get size(): number {
    return this.keys.length;
  }

  /** The trusted key whose key_id is b[o, o + 8), or undefined. */
  find(b: Uint8Array, o: number): TrustedKey | undefined {
    return this.#find(b, o);
  }

  #find(b: Uint8Array, o: number): TrustedKey | undefined {
    const h = (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
    const bucket = this.#byId.get(h);
    if (bucket === undefined) return undefined;
    for (const k of bucket) {
      let same = true;
      for (let i = 4; i < KEY_ID_SIZE; i++) if (k.keyId[i] !== b[o + i]) same = false;
      if (same) return k;
    }
    return undefined;
  }

  /** Whether `key` may sign for the node id at b[o, o + 16). */
  static allows(key: TrustedKey, b: Uint8Array, o: number): boolean {
    if (key.anyNode) return true;
    const ids = key.nodeIds;
    for (let s = 0; s < ids.length; s += ID_SIZE) {
      let same = true;
      for (let i = 0; i < ID_SIZE; i++) if (ids[s + i] !== b[o + i]) same = false;
      if (same) return true;
    }
    return false;
  }
}
