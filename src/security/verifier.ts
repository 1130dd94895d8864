/**
 * Signature verdicts of codec-valid packets against a TrustStore, with a bounded verdict cache:
 * the same packet often arrives more than once (live, by catch-up from several peers, down an
 * uplink), and an Ed25519 verify costs ~50 µs where a cache hit costs well under 1.
 *
 * The cache is direct-mapped by (node id, seq); an entry holds the packet's bytes 0..499 (all
 * that is covered, and the signature) and is a hit only when those are equal byte for byte, so
 * a packet that reuses a verified (node id, seq) with any other byte is verified afresh.
 */
import { readU32 } from "../packet/bytes.js";
import { FLAG_SIGNED, OFFSETS } from "../packet/layout.js";
import { SIGNED_COVERED, signatureBytes, signedBytes } from "../packet/signature.js";
import { verify } from "./ed25519.js";
import { TrustStore } from "./trust.js";

export const SigVerdict = {
  VALID: 0,
  UNSIGNED: 1,
  BAD_SIGNATURE: 2,
  UNKNOWN_KEY: 3,
  KEY_NOT_ALLOWED: 4,
} as const;
export type SigVerdictValue = (typeof SigVerdict)[keyof typeof SigVerdict];

export const SIG_VERDICT_NAMES = ["valid", "unsigned", "bad signature", "unknown key", "key not allowed for this node id"] as const;

/** What the cache compares: the covered bytes and the signature. */
const ENTRY = OFFSETS.reserved1;

const hex = (b: Uint8Array, o: number, n: number): string => Buffer.from(b.buffer, b.byteOffset + o, n).toString("hex");

export class PacketVerifier {
  readonly trust: TrustStore;
  readonly #mask: number;
  readonly #bytes: Buffer;
  /** verdict + 1 per entry; 0 = empty */
  readonly #verdicts: Uint8Array;
  hits = 0;
  verifications = 0;

  /** `cacheSize` entries (rounded down to a power of two; 0: no cache), 500 bytes each. */
  constructor(trust: TrustStore, cacheSize: number) {
    this.trust = trust;
    let n = 0;
    if (cacheSize > 0) {
      n = 1;
      while (n * 2 <= cacheSize) n *= 2;
    }
    this.#mask = n - 1;
    this.#bytes = Buffer.alloc(n * ENTRY);
    this.#verdicts = new Uint8Array(n);
  }

  /** The signature verdict of the codec-valid packet at b[o]. */
  verdict(b: Uint8Array, o: number): SigVerdictValue {
    if ((b[o + OFFSETS.flags]! & FLAG_SIGNED) === 0) return SigVerdict.UNSIGNED;
    const cached = this.#mask >= 0 ? this.#slot(b, o) : -1;
    if (cached >= 0 && this.#verdicts[cached] !== 0 && this.#bytes.compare(b, o, o + ENTRY, cached * ENTRY, cached * ENTRY + ENTRY) === 0) {
      this.hits++;
      return (this.#verdicts[cached]! - 1) as SigVerdictValue;
    }
    const v = this.#verify(b, o);
    if (cached >= 0) {
      this.#bytes.set(b.subarray(o, o + ENTRY), cached * ENTRY);
      this.#verdicts[cached] = v + 1;
    }
    return v;
  }

  #slot(b: Uint8Array, o: number): number {
    const h = Math.imul(readU32(b, o + OFFSETS.node_id) ^ readU32(b, o + OFFSETS.node_id + 12), 0x9e3779b1) ^ Math.imul(readU32(b, o + OFFSETS.seq), 0x85ebca6b);
    return (h ^ (h >>> 15)) & this.#mask;
  }

  #verify(b: Uint8Array, o: number): SigVerdictValue {
    const key = this.trust.find(b, o + OFFSETS.key_id);
    if (key === undefined) return SigVerdict.UNKNOWN_KEY;
    if (!TrustStore.allows(key, b, o + OFFSETS.node_id)) return SigVerdict.KEY_NOT_ALLOWED;
    this.verifications++;
    return verify(signedBytes(b, o), key.key, signatureBytes(b, o)) ? SigVerdict.VALID : SigVerdict.BAD_SIGNATURE;
  }

  /** Says what a verdict means for the packet at b[o] (for ERR_PACKET_SIGNATURE messages and `inspect`). */
  describe(b: Uint8Array, o: number, v: SigVerdictValue): string {
    const node = hex(b, o + OFFSETS.node_id, 16);
    const keyId = hex(b, o + OFFSETS.key_id, 8);
    const key = v === SigVerdict.UNSIGNED ? undefined : this.trust.find(b, o + OFFSETS.key_id);
    switch (v) {
      case SigVerdict.VALID:
        return `valid signature by key ${key?.name ?? keyId} for node ${node}`;
      case SigVerdict.UNSIGNED:
        return `unsigned packet from node ${node}`;
      case SigVerdict.BAD_SIGNATURE:
        return `bad signature: the bytes 0..${SIGNED_COVERED - 1} of node ${node}'s packet were not signed by key ${key?.name ?? keyId}`;
      case SigVerdict.UNKNOWN_KEY:
        return `unknown key: key_id ${keyId} (node ${node}) is in no security.trust entry`;
      case SigVerdict.KEY_NOT_ALLOWED:
        return `key not allowed: key ${key?.name ?? keyId} may not sign for node ${node} (its nodeIds in security.trust)`;
    }
  }
}
