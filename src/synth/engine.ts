/**
 * The local synthesis engine (docs/synth.md): per-address estimates updated in O(1) per packet
 * with compensated sums, exact removal of expired contributions, per-domain consensus over
 * problem classes, and synthesized packets emitted under loop-safety rules.
 *
 * This file is the public class and the per-packet decision (the order of the input rules);
 * the state lives in one table per concern, each a class whose typed arrays are allocated at
 * construction and sized by the configuration:
 *   contributions.ts  live contributions, expiry order, (node, seq) index, per-address lists
 *   addresses.ts      address / class / domain interning
 *   nodes.ts          node interning and the per-address node entries the echo rules read
 *   estimates.ts      per-address compensated sums, hop histogram, window (sums.ts: the arithmetic)
 *   consensus.ts      per-class and per-domain sums and vote counts
 *   emission.ts       the emission rule, held-back addresses, onEmit / drain queue
 * The steady-state `add` path allocates nothing: the tables are reached through fields set in
 * the constructor (monomorphic), and only ints and typed arrays cross calls (a double argument
 * to a call V8 does not inline is boxed; shared doubles live in T).
 */
import { FLAG_SYNTHESIZED, OFFSETS as F, PACKET_SIZE, type PacketView } from "../packet/index.js";
import { AddressTable, i32 } from "./addresses.js";
import { resolveConfig, type ResolvedConfig, type SynthConfig } from "./config.js";
import { ConsensusSums, ST_NONE } from "./consensus.js";
import { Contributions } from "./contributions.js";
import { Emitter } from "./emission.js";
import { describeValue, SynthError, SynthErrorCode } from "./errors.js";
import { AddressSums } from "./estimates.js";
import { NodeTable, PairTable } from "./nodes.js";
import { MIN_WEIGHT } from "./sums.js";
import { AddOutcome, type AddressEstimate, type DomainConsensus, type SynthCounters, type SynthSnapshot } from "./types.js";

export { MIN_WEIGHT, SIGN_EPSILON } from "./sums.js";

const NEVER = Float64Array.of(Infinity);
/** ln(1 + n) for n < LOG1P_TABLE, the same doubles as Math.log1p (a C call) */
const LOG1P_TABLE = 4096;
const LOG1P = Float64Array.from({ length: LOG1P_TABLE }, (_, n) => Math.log1p(n));
const TWO32 = 4294967296;

function argError(key: string, expected: string, found: unknown): SynthError {
  const f = describeValue(found);
  return new SynthError(SynthErrorCode.ARGUMENT, `${key}: expected ${expected}, found ${f}`, { key, expected, found: f });
}

export class SynthEngine {
  readonly config: ResolvedConfig;
  private readonly clock: () => number;
  private readonly own0: number;
  private readonly own1: number;
  private readonly own2: number;
  private readonly own3: number;
  private busy = false;
  /**
   * Doubles shared between the hot methods: a double passed as an argument to a call V8 does
   * not inline is boxed (a heap allocation), one kept in a Float64Array is not.
   * 0 now (the clock reading of the current add/sweep), 1 next arrival order, 2 seq of the packet being added.
   */
  private readonly T = new Float64Array(3);
  private dvBuf: Uint8Array | null = null;
  private dv: DataView = new DataView(new ArrayBuffer(0));

  private readonly store: Contributions;
  private readonly names: AddressTable;
  private readonly nodes: NodeTable;
  private readonly pairs: PairTable;
  private readonly sums: AddressSums;
  private readonly cons: ConsensusSums;
  private readonly out: Emitter;

  private readonly c: SynthCounters = {
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

  constructor(config: SynthConfig) {
    const cfg = resolveConfig(config);
    this.config = cfg;
    this.clock = cfg.now;
    const id = cfg.nodeId;
    this.own0 = i32(id, 0);
    this.own1 = i32(id, 4);
    this.own2 = i32(id, 8);
    this.own3 = i32(id, 12);
    // seeds the table hashes, so that peers cannot aim collisions at one engine's tables
    const seed = (Math.random() * 0x1_0000_0000) | 0;
    const A = cfg.maxAddresses;
    this.store = new Contributions(cfg.maxContributions, A, seed, this.T);
    this.sums = new AddressSums(cfg, this.store);
    this.names = new AddressTable(A, seed, this.sums.aCount);
    this.nodes = new NodeTable(cfg.maxNodes, seed);
    this.pairs = new PairTable(A, cfg.maxNodesPerAddress);
    this.cons = new ConsensusSums(cfg, this.store.cF, this.names);
    this.out = new Emitter(cfg, this.T, this.c, this.names, this.sums, this.pairs);
  }

  // ===========================================================================================
  // Input

  /** Counts one verified packet (see AddOutcome for what can happen to it). Sweeps expiries first. */
  add(view: PacketView): AddOutcome {
    return this.addAt(view.buf, view.offset);
  }

  /** `add` for the verified packet at buf[offset, offset + 512). */
  addAt(buf: Uint8Array, offset: number): AddOutcome {
    if (this.busy) throw this.reentrant("add");
    if (!(buf instanceof Uint8Array)) throw argError("buf", "a Uint8Array", buf);
    if (!((offset | 0) === offset && offset >= 0 && offset + PACKET_SIZE <= buf.length))
      throw argError("offset", `an integer offset of a whole packet inside ${buf.length} bytes`, offset);
    this.readClock();
    this.busy = true;
    try {
      this.sweepTo();
      const r = this.ingest(buf, this.dataView(buf), offset);
      this.out.flush();
      return r;
    } finally {
      this.busy = false;
    }
  }

  /** Adds `count` verified packets at buf[offset + i·512]; one clock reading for the batch. Returns how many were ADDED. */
  addBatch(buf: Uint8Array, offset: number, count: number): number {
    if (this.busy) throw this.reentrant("addBatch");
    if (!(buf instanceof Uint8Array)) throw argError("buf", "a Uint8Array", buf);
    if (!(Number.isInteger(count) && count >= 0 && Number.isInteger(offset) && offset >= 0 && offset + count * PACKET_SIZE <= buf.length))
      throw argError("count", `whole packets inside the buffer from offset ${String(offset)}`, count);
    this.readClock();
    this.busy = true;
    let added = 0;
    try {
      this.sweepTo();
      const dv = this.dataView(buf);
      for (let i = 0; i < count; i++) if (this.ingest(buf, dv, offset + i * PACKET_SIZE) === AddOutcome.ADDED) added++;
      this.out.flush();
      return added;
    } finally {
      this.busy = false;
    }
  }

  /**
   * Removes every contribution with expiry ≤ now (default: the clock), then runs the emission
   * checks that are due (changed addresses, and those held back by minIntervalMs). Returns how
   * many contributions expired. `add` does this itself; call it periodically (e.g. every
   * second) so that expiries and held-back emissions happen without traffic too.
   */
  sweep(now?: number): number {
    if (this.busy) throw this.reentrant("sweep");
    if (now === undefined) this.readClock();
    else if (typeof now !== "number" || !Number.isFinite(now)) throw argError("now", "a finite number of ms", now);
    else this.T[0] = now;
    this.busy = true;
    try {
      const n = this.sweepTo();
      this.out.flush();
      return n;
    } finally {
      this.busy = false;
    }
  }

  /**
   * A DataView over the caller's buffer, kept while the same buffer comes back (a batch buffer,
   * a store slab, a reused receive buffer): a new buffer costs one DataView object.
   */
  private dataView(b: Uint8Array): DataView {
    if (b !== this.dvBuf) {
      this.dvBuf = b;
      this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    }
    return this.dv;
  }

  /** Reads the clock into T[0] (not returned: a returned double may be boxed). */
  private readClock(): void {
    const now = this.clock();
    if (typeof now !== "number" || !Number.isFinite(now)) throw argError("config.now()", "a finite number of ms", now);
    this.T[0] = now;
  }

  private reentrant(what: string): SynthError {
    return new SynthError(SynthErrorCode.REENTRANT, `${what}() called from inside onEmit: publish the packet, and feed packets back from outside the callback`);
  }

  /**
   * One packet through the input rules (docs/synth.md, "Inputs": the first that applies
   * decides, and every outcome but ADDED changes nothing), then its commit to every table.
   */
  private ingest(b: Uint8Array, dv: DataView, o: number): AddOutcome {
    const now = this.T[0]!;
    const c = this.c;
    c.offered++;
    const synth = (b[o + F.flags]! & FLAG_SYNTHESIZED) !== 0;
    const n0 = dv.getInt32(o + F.node_id, true);
    const n1 = dv.getInt32(o + F.node_id + 4, true);
    const n2 = dv.getInt32(o + F.node_id + 8, true);
    const n3 = dv.getInt32(o + F.node_id + 12, true);
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
    const ts = dv.getUint32(o + F.timestamp_ms + 4, true) * TWO32 + dv.getUint32(o + F.timestamp_ms, true);
    const ttl = dv.getUint32(o + F.ttl_s, true);
    // NEVER[0], not the literal Infinity: a phi of a constant and a computed double is boxed.
    const exp = ttl === 0 ? NEVER[0]! : ts + ttl * 1000;
    if (exp <= now) {
      c.stale++;
      return AddOutcome.STALE;
    }
    const h0 = dv.getInt32(o + F.address_hash, true);
    const h1 = dv.getInt32(o + F.address_hash + 4, true);
    const h2 = dv.getInt32(o + F.address_hash + 8, true);
    const h3 = dv.getInt32(o + F.address_hash + 12, true);
    const names = this.names;
    let a = names.find(h0, h1, h2, h3);
    if (a >= 0 && !names.same(a, b, dv, o)) {
      c.addressCollisions++;
      return AddOutcome.ADDRESS_COLLISION;
    }
    const store = this.store;
    const pairs = this.pairs;
    let g = this.nodes.find(n0, n1, n2, n3);
    const seqLo = dv.getInt32(o + F.seq, true); // int32 (no boxing); the hash only mixes its bits
    const seq = (dv.getInt32(o + F.seq + 4, true) >>> 0) * TWO32 + (seqLo >>> 0);
    this.T[2] = seq;
    let e = -1;
    if (g >= 0) {
      if (store.findSeen(g, seqLo) >= 0) {
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
          const sts = store.cF[s * 8 + 4]!;
          if (ts < sts || (ts === sts && seq <= store.cF[s * 8 + 7]!)) {
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
    if (g < 0) g = this.nodes.intern(n0, n1, n2, n3);
    if (e < 0) e = pairs.insert(a, g);

    // Commit the contribution.
    const slot = store.take();
    const n = dv.getUint32(o + F.n_observations, true);
    const delta = dv.getFloat32(o + F.outcome_delta, true);
    let w = dv.getFloat32(o + F.confidence, true) * (n < LOG1P_TABLE ? LOG1P[n]! : Math.log1p(n));
    if (w < MIN_WEIGHT) w = 0;
    const wd = w * delta;
    const cF = store.cF;
    const cI = store.cI;
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
    const q = store.expiry;
    q.exp[slot] = exp;
    q.ord[slot] = this.T[1]!++;
    store.link(slot, a, g, seqLo, ttl);
    this.nodes.nRef[g]!++;
    if (synth) pairs.pSynth[e] = slot;
    else pairs.pRaw[e]!++;
    this.sums.add(slot, a);
    this.cons.add(slot, a);
    this.out.markDirty(a);
    c.added++;
    if (replaced >= 0) {
      this.removeSlot(replaced);
      c.superseded++;
    }
    if (store.live > store.cap) {
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
    if (names.newClass >= 0) this.cons.clsState[names.newClass] = ST_NONE;
    this.out.forget(a);
    this.sums.aMaxHops[a] = -1;
    this.store.aHead[a] = -1;
    return a;
  }

  /** Removes a live contribution exactly (expiry, early drop, or replacement). */
  private removeSlot(slot: number): void {
    const store = this.store;
    const cI = store.cI;
    const a = cI[slot * 8]!;
    const e = cI[slot * 8 + 1]!;
    const g = cI[slot * 8 + 2]!;
    store.unlink(slot, a);
    this.pairs.release(a, e, slot, cI[slot * 8 + 7] === 1);
    this.nodes.release(g);
    this.sums.remove(slot, a);
    this.cons.remove(slot, a);
    this.out.markDirty(a);
    store.free(slot);
    if (this.sums.aCount[a] === 0) this.names.emptied(a);
  }

  private sweepTo(): number {
    const now = this.T[0]!;
    let n = 0;
    const q = this.store.expiry;
    while (q.nextExp <= now) {
      this.removeSlot(q.nextSlot);
      n++;
    }
    this.c.expired += n;
    return n;
  }

  // ===========================================================================================
  // Output and reads (each read sweeps to the clock first, unless called from inside onEmit)

  /** Synthesized packets waiting for drain() (always 0 with onEmit). */
  get pending(): number {
    return this.out.qLen;
  }

  /**
   * Encodes up to `max` queued synthesized packets (oldest first) into buf at offset,
   * offset + 512, …, with `codec.encode`, and returns how many it wrote. Each takes its seq now
   * (from nextSeq, or the engine's counter). Without onEmit only.
   */
  drain(buf: Uint8Array, offset = 0, max = Infinity): number {
    if (this.busy) throw this.reentrant("drain");
    if (!(buf instanceof Uint8Array)) throw argError("buf", "a Uint8Array", buf);
    if (!(Number.isInteger(offset) && offset >= 0 && offset <= buf.length)) throw argError("offset", `an integer in 0..${buf.length}`, offset);
    if (!(max === Infinity || (Number.isInteger(max) && max >= 0))) throw argError("max", "a non-negative integer or Infinity", max);
    const room = Math.floor((buf.length - offset) / PACKET_SIZE);
    return this.out.drain(buf, offset, Math.min(this.out.qLen, room, max));
  }

  private readSweep(): number {
    this.readClock();
    const now = this.T[0]!;
    if (!this.busy) this.sweep(now);
    return now;
  }

  /** The estimate of one address, or undefined when it has no live contribution. */
  estimate(address: string): AddressEstimate | undefined {
    this.readSweep();
    const a = this.names.byName.get(address);
    if (a === undefined || this.sums.aCount[a] === 0) return undefined;
    return this.sums.read(a, this.names, this.store.aHead, this.pairs.aNodes[a]!);
  }

  /** The consensus of one domain, or undefined when it has no live contribution. */
  consensus(domain: string): DomainConsensus | undefined {
    this.readSweep();
    const d = this.names.domainByName.get(domain);
    if (d === undefined || this.cons.domCount[d] === 0) return undefined;
    return this.cons.read(d, this.names);
  }

  /** Every address and domain with a live contribution, and the counters (for display). */
  snapshot(): SynthSnapshot {
    const now = this.readSweep();
    const names = this.names;
    const addresses: AddressEstimate[] = [];
    for (let a = 0; a < names.high; a++)
      if (names.aInUse[a] === 1 && this.sums.aCount[a]! > 0) addresses.push(this.sums.read(a, names, this.store.aHead, this.pairs.aNodes[a]!));
    addresses.sort((x, y) => (x.address < y.address ? -1 : x.address > y.address ? 1 : 0));
    const domains: DomainConsensus[] = [];
    for (let d = 0; d < names.domHigh; d++) if (names.domRefs[d]! > 0 && this.cons.domCount[d]! > 0) domains.push(this.cons.read(d, names));
    domains.sort((x, y) => (x.domain < y.domain ? -1 : x.domain > y.domain ? 1 : 0));
    return { atMs: now, live: this.store.live, capacity: this.store.cap, addresses, domains, counters: this.counters };
  }

  /** A copy of the counters. */
  get counters(): SynthCounters {
    return { ...this.c };
  }

  /** Live contributions now (without sweeping). */
  get live(): number {
    return this.store.live;
  }

  /** Bytes held by the engine's typed arrays (everything sized by the configuration). */
  get footprintBytes(): number {
    const store = this.store;
    let n = store.bytes + this.names.bytes + this.nodes.bytes;
    // every typed array of the engine and its tables, once (tables share some: T, cF, aCount, …),
    // not the caller's buffer it keeps a DataView on
    const counted = new Set<ArrayBufferView>();
    for (const part of [this, store, this.names, this.nodes, this.pairs, this.sums, this.cons, this.out])
      for (const v of Object.values(part))
        if (ArrayBuffer.isView(v) && v !== this.dv && v !== this.dvBuf && !counted.has(v)) {
          counted.add(v);
          n += v.byteLength;
        }
    return n;
  }
}
