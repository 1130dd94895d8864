/**
 * Signed packets in the agent (docs/security.md, "Signed packets"): signs this node's packets
 * when `security.signing.keyFile` is set, and checks signatures at trust boundaries. The agent
 * loads this module only when one of `security.signing`, `security.trust`,
 * `security.requireSigned` or `security.alertsRequireSigned` is configured.
 *
 * Which packets are verified (a packet the codec refused is never looked at):
 *  - at a trust boundary (catch-up from another node's store, an uplink, a plain link, a legacy
 *    link): every signed packet; a live packet on a CURVE link from a configured peer is not,
 *    since the link already authenticates who sent it;
 *  - on an address matching `requireSigned`: every packet, on every link; an unsigned one is
 *    refused there;
 *  - with `alertsRequireSigned`: every packet, on every link, since each may reach synthesis;
 *    only the validly signed ones do (the rest are stored and relayed, not synthesized).
 * A refused packet gets the code SIGNATURE_REFUSED in the batch's codes (the store skips it),
 * is counted per peer and reported as ERR_PACKET_SIGNATURE.
 */
import { compilePattern, type AddressPattern } from "../address/index.js";
import { QisError } from "../errors.js";
import { codec } from "../packet/codec.js";
import { PacketError } from "../packet/errors.js";
import { OFFSETS, PACKET_SIZE } from "../packet/layout.js";
import { finishSigned, prepareSigned, signedBytes } from "../packet/signature.js";
import type { Logger } from "../agent/log.js";
import { sign } from "./ed25519.js";
import { loadOrCreateSigningKey, type SigningKey } from "./signing-key.js";
import { readTrustFile, TrustStore, type TrustEntry } from "./trust.js";
import { PacketVerifier, SigVerdict, type SigVerdictValue } from "./verifier.js";

/** The code the store sees for a packet refused here (peer.ts's ADDRESS_MISMATCH is 255). */
export const SIGNATURE_REFUSED = 254;

export interface PacketSecurityConfig {
  signing: { keyFile: string | null };
  trust: { keys: TrustEntry[]; file: string | null };
  requireSigned: string[];
  alertsRequireSigned: boolean;
  verifyCacheSize: number;
}

export interface SignatureCounters {
  /** signed packets whose signature was checked and valid */
  verified: number;
  /** unsigned packets looked at (kept unless requireSigned refused them) */
  unsigned: number;
  /** refused: unsigned on a requireSigned pattern */
  refusedUnsigned: number;
  /** refused: the signature does not match the bytes */
  badSignature: number;
  /** refused: the key_id is in no trust entry */
  unknownKey: number;
  /** refused: the key may not sign for that node id */
  keyNotAllowed: number;
  /** kept out of synthesis by alertsRequireSigned (stored all the same) */
  notSynthesized: number;
}

export interface SignatureStats {
  /** this node's key id (hex) when it signs its packets; null: it does not */
  signingKeyId: string | null;
  signed: number;
  trustedKeys: number;
  verifications: number;
  cacheHits: number;
  perPeer: Record<string, SignatureCounters>;
}

const newCounters = (): SignatureCounters => ({ verified: 0, unsigned: 0, refusedUnsigned: 0, badSignature: 0, unknownKey: 0, keyNotAllowed: 0, notSynthesized: 0 });

export interface PacketSecurityOptions {
  nodeId: Buffer;
  logger: Logger;
  /** reports an ERR_PACKET_SIGNATURE (the agent's "error" event) */
  onError(err: QisError, source: string): void;
  /** most packets one check() call is given (sizes synthOk) */
  maxBatch: number;
}

export class PacketSecurity {
  readonly signingKey: SigningKey | null;
  readonly verifier: PacketVerifier;
  /** whether anything is ever verified (trust, requireSigned or alertsRequireSigned configured) */
  readonly verifying: boolean;
  /** per packet of the last check(): 1 = may reach synthesis */
  readonly synthOk: Uint8Array;
  signed = 0;
  readonly #required: AddressPattern[];
  readonly #alertsRequireSigned: boolean;
  readonly #counters = new Map<string, SignatureCounters>();
  readonly #log: Logger;
  readonly #onError: PacketSecurityOptions["onError"];
  readonly #crc = (b: Uint8Array, o: number, n: number, seed: number): number => codec.crc32c(b, o, n, seed);

  constructor(c: PacketSecurityConfig, o: PacketSecurityOptions) {
    this.#log = o.logger;
    this.#onError = o.onError;
    this.signingKey = null;
    if (c.signing.keyFile !== null) {
      const { key, created } = loadOrCreateSigningKey(c.signing.keyFile);
      if (created) o.logger.info("signing key created", { file: c.signing.keyFile, publicKey: key.publicKeyHex, keyId: key.keyIdHex });
      this.signingKey = key;
    }
    const trust = new TrustStore(c.trust.keys);
    if (c.trust.file !== null) for (const e of readTrustFile(c.trust.file)) trust.add(e);
    const configured = trust.size > 0;
    // Our own packets come back (catch-up from a peer holding them): our key speaks for us.
    if (this.signingKey !== null) trust.add({ publicKey: this.signingKey.publicKeyHex, nodeIds: [o.nodeId.toString("hex")], name: "self" });
    this.#required = c.requireSigned.map((p) => compilePattern(p));
    this.#alertsRequireSigned = c.alertsRequireSigned;
    this.verifying = configured || this.#required.length > 0 || c.alertsRequireSigned;
    // An agent that only signs never verifies: no cache for it.
    this.verifier = new PacketVerifier(trust, this.verifying ? c.verifyCacheSize : 0);
    this.synthOk = new Uint8Array(o.maxBatch).fill(1);
  }

  /** Signs the (sealed, valid) packet at b[o] with this node's key; a no-op without one. */
  sign(b: Uint8Array, o: number): void {
    const key = this.signingKey;
    if (key === null) return;
    prepareSigned(b, o, key.keyId);
    finishSigned(b, o, sign(signedBytes(b, o), key.privateKey), this.#crc);
    this.signed++;
  }

  /**
   * Checks `count` packets from `source` (codes[i] 0: the codec found it valid). `boundary`: they
   * came by catch-up, an uplink, a plain or a legacy link. Refused ones get SIGNATURE_REFUSED;
   * synthOk[i] says whether packet i may reach synthesis. Returns how many were refused.
   */
  check(source: string, boundary: boolean, packets: Uint8Array, count: number, codes: Uint8Array): number {
    const ok = this.synthOk;
    if (!this.verifying) return 0;
    let counters: SignatureCounters | undefined;
    let refused = 0;
    let first = -1;
    let firstVerdict: SigVerdictValue = SigVerdict.VALID;
    let firstRequired = "";
    for (let i = 0; i < count; i++) {
      ok[i] = 1;
      if (codes[i] !== 0) continue;
      const o = i * PACKET_SIZE;
      const required = this.#requiredPattern(packets, o);
      if (!boundary && required === null && !this.#alertsRequireSigned) continue;
      counters ??= this.#countersOf(source);
      const v = this.verifier.verdict(packets, o);
      if (v === SigVerdict.VALID) {
        counters.verified++;
        continue;
      }
      if (v === SigVerdict.UNSIGNED) {
        counters.unsigned++;
        if (required === null) {
          if (this.#alertsRequireSigned) {
            ok[i] = 0;
            counters.notSynthesized++;
          }
          continue;
        }
        counters.refusedUnsigned++;
      } else if (v === SigVerdict.BAD_SIGNATURE) counters.badSignature++;
      else if (v === SigVerdict.UNKNOWN_KEY) counters.unknownKey++;
      else counters.keyNotAllowed++;
      codes[i] = SIGNATURE_REFUSED;
      ok[i] = 0;
      if (refused++ === 0) {
        first = i;
        firstVerdict = v;
        firstRequired = required?.pattern ?? "";
      }
    }
    if (refused > 0) this.#report(source, packets, first, firstVerdict, firstRequired, refused, count);
    return refused;
  }

  #requiredPattern(b: Uint8Array, o: number): AddressPattern | null {
    const req = this.#required;
    for (let k = 0; k < req.length; k++) if (req[k]!.matchBytes(b, o + OFFSETS.address, b[o + OFFSETS.address_len]!)) return req[k]!;
    return null;
  }

  #countersOf(source: string): SignatureCounters {
    let c = this.#counters.get(source);
    if (c === undefined) this.#counters.set(source, (c = newCounters()));
    return c;
  }

  #report(source: string, b: Uint8Array, i: number, v: SigVerdictValue, pattern: string, refused: number, count: number): void {
    const o = i * PACKET_SIZE;
    const why = v === SigVerdict.UNSIGNED ? `${this.verifier.describe(b, o, v)} on ${pattern} (security.requireSigned)` : this.verifier.describe(b, o, v);
    this.#log.warn("signature refused", { peer: source, code: "ERR_PACKET_SIGNATURE", reason: why, packets: refused });
    const field = v === SigVerdict.BAD_SIGNATURE ? "signature" : v === SigVerdict.UNSIGNED ? "flags" : "key_id";
    this.#onError(new PacketError("ERR_PACKET_SIGNATURE", `${source}: ${refused} of ${count} packets refused (first: ${why})`, { field, index: i }), source);
  }

  stats(): SignatureStats {
    return {
      signingKeyId: this.signingKey?.keyIdHex ?? null,
      signed: this.signed,
      trustedKeys: this.verifier.trust.size,
      verifications: this.verifier.verifications,
      cacheHits: this.verifier.hits,
      perPeer: Object.fromEntries([...this.#counters].map(([k, v]) => [k, { ...v }])),
    };
  }
}
