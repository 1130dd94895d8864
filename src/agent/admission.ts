/**
 * Which peers' packets synthesis takes (docs/security.md, "Synthesis"). The store keeps every
 * valid packet; this gate decides, before the engine, whether a packet from a peer may
 * contribute to an estimate, so that one peer cannot capture synthesis:
 *
 *  - `ttl_s` 0 (never expires) and timestamps more than `maxFutureSkewMs` ahead are refused:
 *    either would make a contribution permanent;
 *  - `n_observations` above `maxObservations` is counted as `maxObservations` (weight
 *    confidence·ln(1 + n) is capped at ln(1 + maxObservations));
 *  - addresses introduced by peers hold at most `peerAddressShare` of the engine's
 *    `maxAddresses` at once, and each peer may introduce `peerNewAddressesPerMinute`: the rest of
 *    the address slots stay free for local observations, which always pass;
 *  - one peer brings at most `peerNodesPerAddress` distinct node ids to one address, so that it
 *    cannot fill `maxNodesPerAddress` and lock honest nodes out.
 *
 * Local packets never pass through here. Memory: at most peerAddressShare·maxAddresses entries,
 * each with at most maxNodesPerAddress nodes (the engine's own bounds).
 */
import { OFFSETS, PACKET_SIZE } from "../packet/index.js";

export const RefusalReason = {
  TTL_ZERO: "ttlZero",
  FUTURE: "future",
  ADDRESSES: "addresses",
  ADDRESS_RATE: "addressRate",
  NODES: "nodesPerAddress",
} as const;
export type RefusalReason = (typeof RefusalReason)[keyof typeof RefusalReason];

export interface AdmissionCounters {
  ttlZero: number;
  future: number;
  addresses: number;
  addressRate: number;
  nodesPerAddress: number;
  /** admitted with n_observations counted as maxObservations */
  clamped: number;
}

export interface AdmissionSettings {
  maxAddresses: number;
  maxNodesPerAddress: number;
  maxObservations: number;
  maxFutureSkewMs: number;
  peerAddressShare: number;
  peerNodesPerAddress: number;
  peerNewAddressesPerMinute: number;
}

/** Verdicts of check(). */
export const ADMIT = 0;
export const ADMIT_CLAMPED = 1;
export const REFUSED = 2;

interface Entry {
  /** the address hash's four u32 words */
  h0: number;
  h1: number;
  h2: number;
  h3: number;
  /** the latest expiry of an admitted contribution (ms) */
  expiry: number;
  /** admitted nodes: four u32 words each, the peer that brought it, its latest expiry */
  nodes: number[];
  next: Entry | null;
}

interface PeerState {
  counters: AdmissionCounters;
  /** new-address tokens, refilled continuously up to peerNewAddressesPerMinute */
  tokens: number;
  refilledAt: number;
}

const NODE_STRIDE = 6; // 4 words, peer index, expiry

function u32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

export class SynthAdmission {
  readonly #s: AdmissionSettings;
  readonly #peerAddresses: number;
  readonly #peers = new Map<string, PeerState>();
  readonly #peerIndex = new Map<string, number>();
  readonly #entries = new Map<number, Entry>();
  #live = 0;

  constructor(settings: AdmissionSettings) {
    this.#s = settings;
    this.#peerAddresses = Math.max(1, Math.floor(settings.maxAddresses * settings.peerAddressShare));
  }

  /** Refusals and clamps per peer name. */
  counters(): Record<string, AdmissionCounters> {
    const out: Record<string, AdmissionCounters> = {};
    for (const [name, p] of this.#peers) out[name] = { ...p.counters };
    return out;
  }

  /** Addresses introduced by peers and still live. */
  get addresses(): number {
    return this.#live;
  }

  #peer(name: string, now: number): PeerState {
    let p = this.#peers.get(name);
    if (p === undefined) {
      p = { counters: { ttlZero: 0, future: 0, addresses: 0, addressRate: 0, nodesPerAddress: 0, clamped: 0 }, tokens: this.#s.peerNewAddressesPerMinute, refilledAt: now };
      this.#peers.set(name, p);
      this.#peerIndex.set(name, this.#peerIndex.size);
    }
    return p;
  }

  /**
   * The verdict on the verified packet at buf[o]: ADMIT, ADMIT_CLAMPED (synthesize it with
   * n_observations = maxObservations) or REFUSED (counted under its reason).
   */
  check(peer: string, buf: Uint8Array, o: number, now: number): number {
    const p = this.#peer(peer, now);
    const ttl = u32(buf, o + OFFSETS.ttl_s);
    if (ttl === 0) {
      p.counters.ttlZero++;
      return REFUSED;
    }
    const ts = u32(buf, o + OFFSETS.timestamp_ms + 4) * 0x1_0000_0000 + u32(buf, o + OFFSETS.timestamp_ms);
    if (ts > now + this.#s.maxFutureSkewMs) {
      p.counters.future++;
      return REFUSED;
    }
    const expiry = ts + ttl * 1000;
    const h = o + OFFSETS.address_hash;
    const h0 = u32(buf, h);
    const h1 = u32(buf, h + 4);
    const h2 = u32(buf, h + 8);
    const h3 = u32(buf, h + 12);
    let e = this.#find(h0, h1, h2, h3);
    if (e !== null && e.expiry <= now) {
      this.#remove(e);
      e = null;
    }
    const peerIndex = this.#peerIndex.get(peer)!;
    const n = o + OFFSETS.node_id;
    const n0 = u32(buf, n);
    const n1 = u32(buf, n + 4);
    const n2 = u32(buf, n + 8);
    const n3 = u32(buf, n + 12);
    if (e === null) {
      if (this.#live >= this.#peerAddresses) {
        p.counters.addresses++;
        return REFUSED;
      }
      const rate = this.#s.peerNewAddressesPerMinute;
      p.tokens = Math.min(rate, p.tokens + ((now - p.refilledAt) * rate) / 60_000);
      p.refilledAt = now;
      if (p.tokens < 1) {
        p.counters.addressRate++;
        return REFUSED;
      }
      p.tokens--;
      e = { h0, h1, h2, h3, expiry, nodes: [], next: null };
      this.#insert(e);
    } else if (!this.#admitNode(e, peerIndex, n0, n1, n2, n3, expiry, now)) {
      p.counters.nodesPerAddress++;
      return REFUSED;
    }
    if (e.nodes.length === 0) e.nodes.push(n0, n1, n2, n3, peerIndex, expiry);
    if (expiry > e.expiry) e.expiry = expiry;
    if (u32(buf, o + OFFSETS.n_observations) > this.#s.maxObservations) {
      p.counters.clamped++;
      return ADMIT_CLAMPED;
    }
    return ADMIT;
  }

  /** A node already admitted to the address passes; a new one if its peer has room (expired nodes leave first). */
  #admitNode(e: Entry, peer: number, n0: number, n1: number, n2: number, n3: number, expiry: number, now: number): boolean {
    const nodes = e.nodes;
    let mine = 0;
    for (let i = 0; i < nodes.length; ) {
      if (nodes[i] === n0 && nodes[i + 1] === n1 && nodes[i + 2] === n2 && nodes[i + 3] === n3) {
        if (expiry > nodes[i + 5]!) nodes[i + 5] = expiry;
        return true;
      }
      if (nodes[i + 5]! <= now) {
        nodes.splice(i, NODE_STRIDE);
        continue;
      }
      if (nodes[i + 4] === peer) mine++;
      i += NODE_STRIDE;
    }
    if (mine >= this.#s.peerNodesPerAddress || nodes.length / NODE_STRIDE >= this.#s.maxNodesPerAddress) return false;
    nodes.push(n0, n1, n2, n3, peer, expiry);
    return true;
  }

  /** Forgets addresses whose admitted contributions have all expired (the agent's sweep). */
  sweep(now: number): void {
    for (const head of [...this.#entries.values()]) {
      for (let e: Entry | null = head; e !== null; ) {
        const next: Entry | null = e.next;
        if (e.expiry <= now) this.#remove(e);
        e = next;
      }
    }
  }

  #find(h0: number, h1: number, h2: number, h3: number): Entry | null {
    for (let e = this.#entries.get(h0) ?? null; e !== null; e = e.next) if (e.h1 === h1 && e.h2 === h2 && e.h3 === h3) return e;
    return null;
  }

  #insert(e: Entry): void {
    e.next = this.#entries.get(e.h0) ?? null;
    this.#entries.set(e.h0, e);
    this.#live++;
  }

  #remove(e: Entry): void {
    const head = this.#entries.get(e.h0)!;
    if (head === e) {
      if (e.next === null) this.#entries.delete(e.h0);
      else this.#entries.set(e.h0, e.next);
    } else {
      let prev = head;
      while (prev.next !== e) prev = prev.next!;
      prev.next = e.next;
    }
    this.#live--;
  }
}

/** Writes n_observations = max into a copy of the packet at buf[o] (synthesis reads no CRC). */
export function clampedCopy(buf: Uint8Array, o: number, max: number, out: Buffer): Buffer {
  out.set(buf.subarray(o, o + PACKET_SIZE));
  out.writeUInt32LE(max, OFFSETS.n_observations);
  return out;
}
