/**
 * The local synthesis engine (docs/synth.md): per-address estimates updated in O(1) per packet
 * with compensated sums, exact removal of expired contributions, per-domain consensus over
 * problem classes, and synthesized packets emitted under loop-safety rules.
 *
 * This file is the public class: argument checks, the clock, the re-entrancy guard and the
 * reads. The per-packet decision (the order of the input rules), the commit and the exact
 * removal of a contribution are in ingest.ts; the state lives in one table per concern, each a
 * class whose typed arrays are allocated at construction and sized by the configuration:
 *   contributions.ts  live contributions, expiry order, (node, seq) index, per-address lists
 *   addresses.ts      address / class / domain interning
 *   nodes.ts          node interning and the per-address node entries the echo rules read
 *   estimates.ts      per-address compensated sums, hop histogram, window (sums.ts: the arithmetic)
 *   consensus.ts      the consensus of a domain, computed from its addresses' sums when read
 *   emission.ts       the emission rule, held-back addresses, onEmit / drain queue
 *   words.ts          typed-array word reads of the packet being added
 * The steady-state `add` path allocates nothing: the tables are reached through fields set in
 * the constructor (monomorphic), and only ints and typed arrays cross calls (a double argument
 * to a call V8 does not inline is boxed; shared doubles live in T).
 */
import { PACKET_SIZE, type PacketView } from "../packet/index.js";
import type { AddressTable } from "./addresses.js";
import { resolveConfig, type ResolvedConfig, type SynthConfig } from "./config.js";
import { ConsensusReader } from "./consensus.js";
import type { Contributions } from "./contributions.js";
import type { Emitter, HeldBack } from "./emission.js";
import { describeValue, SynthError, SynthErrorCode } from "./errors.js";
import type { AddressSums } from "./estimates.js";
import { SynthCore } from "./ingest.js";
import { checkThresholds, type SynthThresholds } from "./retune.js";
import type { PairTable } from "./nodes.js";
import { AddOutcome, type AddressEstimate, type DomainConsensus, type SynthCounters, type SynthSnapshot } from "./types.js";

export { MIN_WEIGHT, SIGN_EPSILON } from "./sums.js";

function argError(key: string, expected: string, found: unknown): SynthError {
  const f = describeValue(found);
  return new SynthError(SynthErrorCode.ARGUMENT, `${key}: expected ${expected}, found ${f}`, { key, expected, found: f });
}

export class SynthEngine {
  readonly config: ResolvedConfig;
  private readonly clock: () => number;
  private busy = false;
  /** the state and the per-packet rules (ingest.ts); the tables below are the core's, kept here for the reads */
  private readonly core: SynthCore;
  private readonly T: Float64Array;
  private readonly contributions: Contributions;
  private readonly names: AddressTable;
  private readonly pairs: PairTable;
  private readonly sums: AddressSums;
  private readonly cons: ConsensusReader;
  private readonly out: Emitter;
  private readonly c: SynthCounters;

  constructor(config: SynthConfig) {
    const cfg = resolveConfig(config);
    this.config = cfg;
    this.clock = cfg.now;
    const core = new SynthCore(cfg);
    this.core = core;
    this.T = core.T;
    this.contributions = core.contributions;
    this.names = core.names;
    this.pairs = core.pairs;
    this.sums = core.sums;
    this.out = core.out;
    this.c = core.c;
    this.cons = new ConsensusReader(cfg, this.names, this.sums);
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
      const r = this.core.sweepAndIngest(buf, offset);
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
    try {
      const added = this.core.sweepAndIngestBatch(buf, offset, count);
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
      const n = this.core.sweepTo();
      this.out.flush();
      return n;
    } finally {
      this.busy = false;
    }
  }

  /**
   * Changes the thresholds read at each emission and read (retune.ts) while the engine runs;
   * the tables and what they hold stay. Throws ERR_SYNTH_CONFIG and changes nothing when one is out of bounds.
   */
  retune(thresholds: SynthThresholds): void {
    if (this.busy) throw this.reentrant("retune");
    const t = checkThresholds(thresholds, this.config);
    Object.assign(this.config as { -readonly [K in keyof ResolvedConfig]: ResolvedConfig[K] }, t);
    this.out.setTtl(t.ttlS);
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
    return this.sums.read(a, this.names, this.contributions.aHead, this.pairs.aNodes[a]!);
  }

  /**
   * Why the address's estimate is not being emitted now (fewer nodes than minContributors, a
   * change under minDelta, minIntervalMs not elapsed, …), or null when nothing holds it back;
   * "no-contribution" when the engine holds none for it (refused, or expired). A read of the
   * emission state as the last add or sweep left it: no sweep, nothing changed.
   */
  heldBack(address: string): HeldBack | { reason: "no-contribution" } | null {
    const a = this.names.byName.get(address);
    if (a === undefined || this.names.aInUse[a] !== 1 || this.sums.aCount[a] === 0) return { reason: "no-contribution" };
    return this.out.heldBack(a);
  }

  /** The consensus of one domain, or undefined when it has no live contribution. */
  consensus(domain: string): DomainConsensus | undefined {
    this.readSweep();
    const d = this.names.domainByName.get(domain);
    return d === undefined ? undefined : this.cons.read(d);
  }

  /** Every address and domain with a live contribution, and the counters (for display). */
  snapshot(): SynthSnapshot {
    const now = this.readSweep();
    const names = this.names;
    const addresses: AddressEstimate[] = [];
    for (let a = 0; a < names.high; a++)
      if (names.aInUse[a] === 1 && this.sums.aCount[a]! > 0) addresses.push(this.sums.read(a, names, this.contributions.aHead, this.pairs.aNodes[a]!));
    addresses.sort((x, y) => (x.address < y.address ? -1 : x.address > y.address ? 1 : 0));
    const domains: DomainConsensus[] = [];
    for (let d = 0; d < names.domHigh; d++) {
      const c = names.domRefs[d]! > 0 ? this.cons.read(d) : undefined;
      if (c !== undefined) domains.push(c);
    }
    domains.sort((x, y) => (x.domain < y.domain ? -1 : x.domain > y.domain ? 1 : 0));
    return { atMs: now, live: this.contributions.live, capacity: this.contributions.cap, addresses, domains, counters: this.counters };
  }

  /** A copy of the counters. */
  get counters(): SynthCounters {
    return { ...this.c };
  }

  /** Whether packets are added by the native addon's C path (config `native`, and the addon loaded). */
  get usesNative(): boolean {
    return this.core.usesNative;
  }

  /** Addresses with a live contribution now (without sweeping: a read that changes no state). */
  get liveAddresses(): number {
    const names = this.names;
    let n = 0;
    for (let a = 0; a < names.high; a++) if (names.aInUse[a] === 1 && this.sums.aCount[a]! > 0) n++;
    return n;
  }

  /** Live contributions now (without sweeping). */
  get live(): number {
    return this.contributions.live;
  }

  /** Bytes held by the engine's typed arrays (everything sized by the configuration). */
  get footprintBytes(): number {
    const contribs = this.contributions;
    let n = contribs.bytes + this.names.bytes + this.core.nodes.bytes;
    // every typed array of the engine and its tables, once (tables share some: T, cF, aCount, …),
    // not the caller's buffer it keeps views of
    const counted = new Set<ArrayBufferView>();
    for (const part of [this.core, contribs, this.names, this.core.nodes, this.pairs, this.sums, this.cons, this.out])
      for (const v of Object.values(part))
        if (ArrayBuffer.isView(v) && !counted.has(v)) {
          counted.add(v);
          n += v.byteLength;
        }
    return n;
  }
}
