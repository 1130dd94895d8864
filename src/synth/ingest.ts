/**
 * The engine's state and its per-packet work (docs/synth.md, "Inputs"): the input rules in
 * their order (the first that applies decides, and every outcome but ADDED changes nothing),
 * the commit of a contribution to every table, its exact removal (expiry, early drop,
 * replacement) and the sweep. SynthEngine (engine.ts) wraps this with argument checks, the
 * clock, the re-entrancy guard and the reads.
 *
 * The hot path allocates nothing and does only O(1) work per packet: words are read through
 * typed arrays (words.ts), the address, node and (node, seq) lookups are one hash probe each on
 * ints, the per-address sums are updated in place, and everything that is only read (the
 * consensus, the emission checks) is left to reads and to the flush at the end of the call.
 * Only ints and typed arrays cross calls (a double argument to a call V8 does not inline is
 * boxed; shared doubles live in T).
 */
import { FLAG_SYNTHESIZED, OFFSETS as F, PACKET_SIZE } from "../packet/index.js";
import { randomSeed } from "../util/hash.js";
import { AddressTable, i32 } from "./addresses.js";
import type { ResolvedConfig } from "./config.js";
import { Contributions } from "./contributions.js";
import { Emitter } from "./emission.js";
import { AddressSums } from "./estimates.js";
import { NATIVE_SYNTH, NativeIngest } from "./native.js";
import { NodeTable, PairTable } from "./nodes.js";
import { ln1pCount, LOG1P, LOG1P_TABLE, MIN_WEIGHT } from "./sums.js";
import { AddOutcome, type SynthCounters } from "./types.js";
import { PacketWords } from "./words.js";

const NEVER = Float64Array.of(Infinity);
const NO_PACKETS = new Uint8Array(0);
const TWO32 = 4294967296;
// Word (4-byte) indexes of the fields read through PacketWords.
const W_TS = F.timestamp_ms >> 2;
const W_TTL = F.ttl_s >> 2;
const W_NOBS = F.n_observations >> 2;
const W_DELTA = F.outcome_delta >> 2;
const W_CONF = F.confidence >> 2;
const W_SEQ = F.seq >> 2;
const W_NODE = F.node_id >> 2;
const W_HASH = F.address_hash >> 2;
const W_ADDR = F.address >> 2;

export class SynthCore {
  readonly config: ResolvedConfig;
  /**
   * Doubles shared between the hot methods: a double passed as an argument to a call V8 does
   * not inline is boxed (a heap allocation), one kept in a Float64Array is not.
   * 0 now (the clock reading of the current add/sweep), 1 next arrival order, 2 seq of the packet being added.
   */
  readonly T = new Float64Array(3);
  /** word views of the packet being added (typed arrays over the caller's buffer, or a scratch copy) */
  private readonly words = new PacketWords();
  private readonly own0: number;
  private readonly own1: number;
  private readonly own2: number;
  private readonly own3: number;
  /** the table hashes' seed */
  readonly seed: number;
  /** the C path (src/synth/native.ts), or null: this file's code does all the work */
  private readonly native: NativeIngest | null;
  readonly contributions: Contributions;
  readonly names: AddressTable;
  readonly nodes: NodeTable;
  readonly pairs: PairTable;
  readonly sums: AddressSums;
  readonly out: Emitter;
  readonly c: SynthCounters = {
    offered: 0,
    added: 0,
    expired: 0,
    droppedEarly: 0,
    selfIgnored: 0,
    hopLimited: 0,
    hopRefused: 0,
    stale: 0,
    duplicates: 0,
    shadowed: 0,
    superseded: 0,
    addressesRefused: 0,
    addressesInvalid: 0,
    addressCollisions: 0,
    nodesRefused: 0,
    emitted: 0,
    coalesced: 0,
    queueOverflow: 0,
  };

  constructor(cfg: ResolvedConfig) {
    this.config = cfg;
    const id = cfg.nodeId;
    this.own0 = i32(id, 0);
    this.own1 = i32(id, 4);
    this.own2 = i32(id, 8);
    this.own3 = i32(id, 12);
    // seeds the table hashes, so that peers cannot aim collisions at one engine's tables
    const seed = cfg.seed ?? randomSeed();
    this.seed = seed;
    const A = cfg.maxAddresses;
    this.contributions = new Contributions(cfg.maxContributions, A, seed, this.T);
    this.sums = new AddressSums(cfg, this.contributions);
    this.names = new AddressTable(A, seed, this.sums.aCount);
    this.nodes = new NodeTable(cfg.maxNodes, seed);
    this.pairs = new PairTable(A, cfg.maxNodesPerAddress);
    this.out = new Emitter(cfg, this.T, this.c, this.names, this.sums, this.pairs);
    this.native = cfg.native && NATIVE_SYNTH ? new NativeIngest(this, [this.own0, this.own1, this.own2, this.own3]) : null;
  }

  /** Whether the C path adds the packets. */
  get usesNative(): boolean {
    return this.native !== null;
  }

  /** Sweeps to T[0], then adds one packet; its outcome. */
  sweepAndIngest(b: Uint8Array, o: number): AddOutcome {
    const nat = this.native;
    if (nat === null) {
      this.sweepTo();
      return this.ingest(b, o);
    }
    if (nat.run(b, o, 1, true) === 1) return nat.outcome as AddOutcome;
    return this.ingest(b, o);
  }

  /** Sweeps to T[0], then adds `count` packets at b[o + i·512]; how many were ADDED. */
  sweepAndIngestBatch(b: Uint8Array, o: number, count: number): number {
    const nat = this.native;
    let added = 0;
    if (nat === null) {
      this.sweepTo();
      for (let i = 0; i < count; i++) if (this.ingest(b, o + i * PACKET_SIZE) === AddOutcome.ADDED) added++;
      return added;
    }
    let i = nat.run(b, o, count, true);
    added = nat.added;
    while (i < count) {
      // a packet the C left to this file (a new address), then the C again for the rest
      if (this.ingest(b, o + i * PACKET_SIZE) === AddOutcome.ADDED) added++;
      if (++i < count) {
        i += nat.run(b, o + i * PACKET_SIZE, count - i, false);
        added += nat.added;
      }
    }
    return added;
  }

  /**
   * One packet through the input rules (docs/synth.md, "Inputs": the first that applies
   * decides, and every outcome but ADDED changes nothing), then its commit to every table.
   */
  ingest(b: Uint8Array, o: number): AddOutcome {
    const now = this.T[0]!;
    const c = this.c;
    c.offered++;
    const pw = this.words;
    const wi = pw.at(b, o);
    const w32 = pw.w32;
    const synth = (b[o + F.flags]! & FLAG_SYNTHESIZED) !== 0;
    const n0 = w32[wi + W_NODE]!;
    const n1 = w32[wi + W_NODE + 1]!;
    const n2 = w32[wi + W_NODE + 2]!;
    const n3 = w32[wi + W_NODE + 3]!;
    // No echo: our own summary coming back through peers.
    if (synth && n0 === this.own0 && n1 === this.own1 && n2 === this.own2 && n3 === this.own3) {
      c.selfIgnored++;
      return AddOutcome.SELF;
    }
    const hops = b[o + F.hops]!;
    if (hops > this.config.maxHops) {
      c.hopRefused++;
      return AddOutcome.HOP_LIMIT;
    }
    const ts = (w32[wi + W_TS + 1]! >>> 0) * TWO32 + (w32[wi + W_TS]! >>> 0);
    const ttl = w32[wi + W_TTL]! >>> 0;
    // NEVER[0], not the literal Infinity: a phi of a constant and a computed double is boxed.
    const exp = ttl === 0 ? NEVER[0]! : ts + ttl * 1000;
    if (exp <= now) {
      c.stale++;
      return AddOutcome.STALE;
    }
    const h0 = w32[wi + W_HASH]!;
    const h1 = w32[wi + W_HASH + 1]!;
    const h2 = w32[wi + W_HASH + 2]!;
    const h3 = w32[wi + W_HASH + 3]!;
    const names = this.names;
    let a = names.find(h0, h1, h2, h3);
    if (a >= 0 && !names.same(a, b[o + F.address_len]!, w32, wi + W_ADDR)) {
      c.addressCollisions++;
      return AddOutcome.ADDRESS_COLLISION;
    }
    const contribs = this.contributions;
    const pairs = this.pairs;
    const nodeHash = this.nodes.hash(n0, n1, n2, n3);
    let g = this.nodes.find(nodeHash, n0, n1, n2, n3);
    const seqLo = w32[wi + W_SEQ]!; // int32 (no boxing); the hash only mixes its bits
    const seq = (w32[wi + W_SEQ + 1]! >>> 0) * TWO32 + (seqLo >>> 0);
    this.T[2] = seq;
    let e = -1;
    const seenHash = contribs.seenHash(nodeHash, seqLo);
    if (g >= 0) {
      if (contribs.findSeen(seenHash, g) >= 0) {
        c.duplicates++;
        return AddOutcome.DUPLICATE;
      }
      if (a >= 0) e = pairs.find(a, g);
    }
    // One voice per node and address: raw evidence shadows summaries, a newer summary supersedes.
    let replaced = -1;
    if (e >= 0) {
      const s = pairs.pSynth[e]!;
      if (synth) {
        if (pairs.pRaw[e]! > 0) {
          c.shadowed++;
          return AddOutcome.SHADOWED;
        }
        if (s >= 0) {
          const sts = contribs.cF[s * 8 + 4]!;
          if (ts < sts || (ts === sts && seq <= contribs.cF[s * 8 + 7]!)) {
            c.superseded++;
            return AddOutcome.OUTDATED;
          }
          replaced = s;
        }
      } else replaced = s; // raw evidence replaces the sender's summary (-1 when there is none)
    } else if ((g < 0 && this.nodes.size >= this.config.maxNodes) || (a >= 0 && pairs.aNodes[a]! >= pairs.P)) {
      c.nodesRefused++;
      return AddOutcome.NODE_REFUSED;
    }
    if (a < 0) {
      a = this.internAddress(b, o, h0, h1, h2, h3);
      if (a < 0) {
        if (a === -2) {
          c.addressesInvalid++;
          return AddOutcome.ADDRESS_INVALID;
        }
        c.addressesRefused++;
        return AddOutcome.ADDRESS_REFUSED;
      }
    }
    if (g < 0) {
      g = this.nodes.intern(nodeHash, n0, n1, n2, n3);
    }
    if (e < 0) e = pairs.insert(a, g);

    // Commit the contribution.
    const slot = contribs.take();
    const n = w32[wi + W_NOBS]! >>> 0;
    const f32 = pw.f32;
    const delta = f32[wi + W_DELTA]!;
    let w = f32[wi + W_CONF]! * (n < LOG1P_TABLE ? LOG1P[n]! : ln1pCount(n));
    if (w < MIN_WEIGHT) w = 0;
    const wd = w * delta;
    const cF = contribs.cF;
    const cI = contribs.cI;
    cI[slot * 8] = a;
    cI[slot * 8 + 1] = e;
    cI[slot * 8 + 2] = g;
    cF[slot * 8] = w;
    cF[slot * 8 + 1] = wd;
    cF[slot * 8 + 2] = wd * delta;
    cF[slot * 8 + 3] = n;
    cF[slot * 8 + 4] = ts;
    cF[slot * 8 + 5] = exp;
    cF[slot * 8 + 7] = seq;
    cI[slot * 8 + 6] = hops;
    cI[slot * 8 + 7] = synth ? 1 : 0;
    const q = contribs.expiry;
    q.exp[slot] = exp;
    q.ord[slot] = this.T[1]!++;
    contribs.link(slot, a, seenHash, ttl);
    this.nodes.nRef[g]!++;
    if (synth) pairs.pSynth[e] = slot;
    else pairs.pRaw[e]!++;
    this.sums.add(slot, a);
    this.out.markDirty(a);
    c.added++;
    if (replaced >= 0) {
      this.removeSlot(replaced);
      c.superseded++;
    }
    if (contribs.live > contribs.cap) {
      this.removeSlot(q.nextSlot);
      c.droppedEarly++;
    }
    return AddOutcome.ADDED;
  }

  /** A new address id (-1: refused, -2: invalid), its per-address state reset in every table (the id may be reused). */
  private internAddress(b: Uint8Array, o: number, h0: number, h1: number, h2: number, h3: number): number {
    const names = this.names;
    const a = names.intern(b, o, h0, h1, h2, h3);
    if (a < 0) return a;
    this.out.forget(a);
    this.sums.aMaxHops[a] = -1;
    this.contributions.aHead[a] = -1;
    return a;
  }

  /** Removes a live contribution exactly (expiry, early drop, or replacement). */
  removeSlot(slot: number): void {
    const contribs = this.contributions;
    const cI = contribs.cI;
    const a = cI[slot * 8]!;
    const e = cI[slot * 8 + 1]!;
    const g = cI[slot * 8 + 2]!;
    contribs.unlink(slot, a);
    this.pairs.release(a, e, slot, cI[slot * 8 + 7] === 1);
    this.nodes.release(g);
    this.sums.remove(slot, a);
    this.out.markDirty(a);
    contribs.free(slot);
    if (this.sums.aCount[a] === 0) this.names.emptied(a);
  }

  sweepTo(): number {
    const nat = this.native;
    if (nat !== null) {
      nat.run(NO_PACKETS, 0, 0, true);
      return nat.expired;
    }
    const now = this.T[0]!;
    let n = 0;
    const q = this.contributions.expiry;
    while (q.nextExp <= now) {
      this.removeSlot(q.nextSlot);
      n++;
    }
    this.c.expired += n;
    return n;
  }
}
