/**
 * Emission of synthesized packets (docs/synth.md, "Emission of synthesized packets"): which
 * addresses changed since the last flush, the emission rule, the addresses held back by
 * minIntervalMs, and the two ways out: the onEmit callback (one reused packet object) or the
 * drain queue (a ring of maxAddresses entries, at most one per address, coalesced in place).
 */
import { codec, FLAG_SYNTHESIZED, PACKET_SIZE, U64_MAX_SAFE } from "../packet/index.js";
import type { AddressTable } from "./addresses.js";
import type { ResolvedConfig } from "./config.js";
import { describeValue, SynthError, SynthErrorCode } from "./errors.js";
import type { AddressSums } from "./estimates.js";
import type { PairTable } from "./nodes.js";
import type { SynthCounters, SynthPacket } from "./types.js";
import { zeroedArrays } from "../util/zeroed.js";

const U32_MAX = 0xffff_ffff;

/** Why an address's estimate was not emitted (Emitter.heldBack). */
export interface HeldBack {
  /** no-weight: only weightless contributions; then the emission rule's order (docs/synth.md) */
  reason: "no-weight" | "min-contributors" | "unchanged" | "min-delta" | "max-hops" | "min-interval";
  nodes: number;
  minContributors: number;
  estimate?: number;
  lastEstimate?: number;
  minDelta?: number;
  hops?: number;
  maxHops?: number;
  sinceLastMs?: number;
  minIntervalMs?: number;
}

export class Emitter {
  private readonly config: ResolvedConfig;
  /** the engine's shared doubles: T[0] is the clock reading of the current add/sweep */
  private readonly T: Float64Array;
  private readonly c: SynthCounters;
  private readonly names: AddressTable;
  private readonly sums: AddressSums;
  private readonly aNodes: Int32Array;
  private readonly maxA: number;

  private readonly aLastE: Float64Array;
  private readonly aLastT: Float64Array;
  private readonly aEmitted: Uint8Array;
  /** the address's contributions changed since its last emission */
  readonly aChanged: Uint8Array;
  readonly aDirty: Uint8Array;
  private readonly aPending: Uint8Array;
  readonly dirtyList: Int32Array;
  dirtyCount = 0;
  private readonly pendingList: Int32Array;
  private pendingCount = 0;
  private pendingDue = Infinity;
  private seqCounter: number;
  private readonly pkt: SynthPacket;
  // drain queue (without onEmit): a ring of maxAddresses entries, one per address at most
  private readonly aQueuePos: Int32Array;
  private readonly qAddr: Int32Array;
  private readonly qStr: string[];
  private readonly qE: Float64Array;
  private readonly qConf: Float64Array;
  private readonly qN: Float64Array;
  private readonly qHops: Uint8Array;
  private readonly qTs: Float64Array;
  private qHead = 0;
  /** queued packets (the engine's `pending`) */
  qLen = 0;

  constructor(config: ResolvedConfig, T: Float64Array, counters: SynthCounters, names: AddressTable, sums: AddressSums, pairs: PairTable) {
    const A = config.maxAddresses;
    this.config = config;
    this.T = T;
    this.c = counters;
    this.names = names;
    this.sums = sums;
    this.aNodes = pairs.aNodes;
    this.maxA = A;
    [this.aLastE, this.aLastT, this.qE, this.qConf, this.qN, this.qTs, this.dirtyList, this.pendingList, this.aQueuePos, this.qAddr, this.aEmitted, this.aChanged, this.aDirty, this.aPending, this.qHops] =
      zeroedArrays(
        ["f64", A], ["f64", A], ["f64", A], ["f64", A], ["f64", A], ["f64", A], ["i32", A + 1], ["i32", A], ["i32", A], ["i32", A], ["u8", A], ["u8", A], ["u8", A], ["u8", A], ["u8", A],
      ); // one buffer (src/util/zeroed.ts says why)
    this.aQueuePos.fill(-1);
    this.seqCounter = config.seqStart;
    this.pkt = {
      flags: FLAG_SYNTHESIZED,
      hops: 1,
      timestampMs: 0,
      ttlS: config.ttlS,
      nObservations: 0,
      outcomeDelta: 0,
      confidence: 0,
      seq: 0,
      nodeId: config.nodeId,
      address: "",
    };
    this.qStr = new Array<string>(A).fill("");
  }

  /** ttl_s of the packets synthesized from now on (SynthEngine.retune). */
  setTtl(ttlS: number): void {
    this.pkt.ttlS = ttlS;
  }

  /** Address a got a new id: no emission history, and a packet still queued for the old address stays, detached from the id. */
  forget(a: number): void {
    this.aEmitted[a] = 0;
    const q = this.aQueuePos[a]!;
    if (q >= 0) {
      this.qAddr[q] = -1;
      this.aQueuePos[a] = -1;
    }
  }

  /**
   * Address a's contributions changed: check it at the next flush. Without a branch, as the C
   * (whether a is listed already changes from packet to packet): a is written past the list's
   * end when it is listed, which is harmless (the list has room for every address + 1).
   */
  markDirty(a: number): void {
    const listed = this.aDirty[a]!;
    this.aChanged[a] = 1;
    this.aDirty[a] = 1;
    this.dirtyList[this.dirtyCount] = a;
    this.dirtyCount += 1 - listed;
  }

  /** Runs the emission checks of changed addresses, then of held-back ones that are due. */
  flush(): void {
    // No double may be live across the try blocks: V8 boxes such values (an allocation).
    // check() never marks an address dirty, so the list does not grow while it is walked.
    const n = this.dirtyCount;
    const list = this.dirtyList;
    const inUse = this.names.aInUse;
    let k = 0;
    try {
      for (; k < n; k++) {
        const a = list[k]!;
        this.aDirty[a] = 0;
        if (inUse[a] === 1) this.check(a, true);
      }
    } finally {
      // Only after a throw from onEmit: keep the unchecked ones (still flagged) for the next flush.
      let kept = 0;
      for (let j = k + 1; j < n; j++) list[kept++] = list[j]!;
      this.dirtyCount = kept;
    }
    if (this.pendingCount > 0 && this.T[0]! >= this.pendingDue) {
      const m = this.pendingCount;
      this.pendingCount = 0;
      this.pendingDue = Infinity;
      let i = 0;
      try {
        for (; i < m; i++) {
          const a = this.pendingList[i]!;
          this.aPending[a] = 0;
          if (inUse[a] === 1) this.check(a, false);
        }
      } finally {
        // Only after a throw from onEmit: keep the unchecked ones for the next flush.
        for (let j = i + 1; j < m; j++) {
          const a = this.pendingList[j]!;
          this.pendingList[this.pendingCount++] = a;
          this.pendingDue = this.T[0]!;
        }
      }
    }
  }

  /**
   * The emission rule (docs/synth.md, "Emission"), in order: an estimate exists; at least
   * minContributors distinct nodes; never emitted, or changed since the last emission with
   * |estimate − last emitted estimate| ≥ minDelta; hops within
   * maxHops (else hopLimited, counted on changes only); minIntervalMs since the last emission
   * (else held back and checked again when due). Then emit.
   */
  private check(a: number, changed: boolean): void {
    const now = this.T[0]!;
    const sums = this.sums;
    if (sums.aWCount[a] === 0) return;
    if (this.aNodes[a]! < this.config.minContributors) return;
    const ai = a * 6;
    const acc = sums.aAcc;
    const e = (acc[ai + 2]! + acc[ai + 3]!) / (acc[ai]! + acc[ai + 1]!);
    const had = this.aEmitted[a] === 1;
    if (had && (this.aChanged[a] === 0 || !(Math.abs(e - this.aLastE[a]!) >= this.config.minDelta))) return;
    const hops = sums.aMaxHops[a]! + 1;
    if (hops > this.config.maxHops) {
      if (changed) this.c.hopLimited++;
      return;
    }
    if (had && now - this.aLastT[a]! < this.config.minIntervalMs) {
      if (this.aPending[a] === 0) {
        this.aPending[a] = 1;
        this.pendingList[this.pendingCount++] = a;
      }
      const due = this.aLastT[a]! + this.config.minIntervalMs;
      if (due < this.pendingDue) this.pendingDue = due;
      return;
    }
    this.emit(a, hops);
  }

  /**
   * Why check() would not emit address a now, read from the same state without changing it
   * (for a debug log line, src/agent/synth-debug.ts); null when it would emit, or did.
   * Keep in step with check().
   */
  heldBack(a: number): HeldBack | null {
    const sums = this.sums;
    const nodes = this.aNodes[a]!;
    const base = { nodes, minContributors: this.config.minContributors };
    if (sums.aWCount[a] === 0) return { reason: "no-weight", ...base };
    if (nodes < this.config.minContributors) return { reason: "min-contributors", ...base };
    const ai = a * 6;
    const acc = sums.aAcc;
    const e = (acc[ai + 2]! + acc[ai + 3]!) / (acc[ai]! + acc[ai + 1]!);
    const had = this.aEmitted[a] === 1;
    const last = { estimate: e, lastEstimate: this.aLastE[a]!, minDelta: this.config.minDelta };
    if (had && this.aChanged[a] === 0) return { reason: "unchanged", ...base, ...last };
    if (had && !(Math.abs(e - this.aLastE[a]!) >= this.config.minDelta)) return { reason: "min-delta", ...base, ...last };
    if (sums.aMaxHops[a]! + 1 > this.config.maxHops) return { reason: "max-hops", ...base, hops: sums.aMaxHops[a]! + 1, maxHops: this.config.maxHops };
    if (had && this.T[0]! - this.aLastT[a]! < this.config.minIntervalMs)
      return { reason: "min-interval", ...base, ...last, sinceLastMs: this.T[0]! - this.aLastT[a]!, minIntervalMs: this.config.minIntervalMs };
    return null;
  }

  private emit(a: number, hops: number): void {
    const now = this.T[0]!;
    const sums = this.sums;
    const ai = a * 6;
    const acc = sums.aAcc;
    const e = (acc[ai + 2]! + acc[ai + 3]!) / (acc[ai]! + acc[ai + 1]!);
    const conf = sums.confidenceOf(a);
    const nObs = Math.min(sums.aObs[a]!, U32_MAX);
    const ts = Math.min(Math.max(Math.floor(now), 0), U64_MAX_SAFE);
    const delta = e > 1 ? 1 : e < -1 ? -1 : e;
    this.aLastE[a] = e;
    this.aLastT[a] = now;
    this.aEmitted[a] = 1;
    this.aChanged[a] = 0;
    this.c.emitted++;
    const onEmit = this.config.onEmit;
    if (onEmit !== undefined) {
      const p = this.pkt;
      p.hops = hops;
      p.timestampMs = ts;
      p.nObservations = nObs;
      p.outcomeDelta = delta;
      p.confidence = conf;
      p.seq = this.takeSeq();
      p.address = this.names.aStr[a]!;
      onEmit(p);
      return;
    }
    let q = this.aQueuePos[a]!;
    if (q >= 0) this.c.coalesced++;
    else {
      const A = this.maxA;
      if (this.qLen === A) {
        const old = this.qAddr[this.qHead]!;
        if (old >= 0) this.aQueuePos[old] = -1;
        this.qHead = (this.qHead + 1) % A;
        this.qLen--;
        this.c.queueOverflow++;
      }
      q = (this.qHead + this.qLen) % A;
      this.qLen++;
      this.aQueuePos[a] = q;
      this.qAddr[q] = a;
    }
    this.qStr[q] = this.names.aStr[a]!;
    this.qE[q] = delta;
    this.qConf[q] = conf;
    this.qN[q] = nObs;
    this.qHops[q] = hops;
    this.qTs[q] = ts;
  }

  /** The seq of a packet being emitted or drained: config.nextSeq(), checked, or the engine's counter. */
  private takeSeq(): number {
    const next = this.config.nextSeq;
    if (next === undefined) {
      const s = this.seqCounter;
      if (s > U64_MAX_SAFE) throw new SynthError(SynthErrorCode.SEQ, "the engine's seq counter passed 2^53 - 1");
      this.seqCounter = s + 1;
      return s;
    }
    const s = next();
    if (typeof s !== "number" || !Number.isInteger(s) || s < 0 || s > U64_MAX_SAFE) {
      const f = describeValue(s);
      throw new SynthError(SynthErrorCode.SEQ, `config.nextSeq() returned ${f}: expected an integer in 0..2^53 - 1`, {
        key: "nextSeq",
        expected: "an integer in 0..2^53 - 1",
        found: f,
      });
    }
    return s;
  }

  /** Encodes up to k (≤ qLen, checked by the caller) queued packets, oldest first, at offset, offset + 512, … */
  drain(buf: Uint8Array, offset: number, k: number): number {
    const p = this.pkt;
    for (let i = 0; i < k; i++) {
      const q = this.qHead;
      p.hops = this.qHops[q]!;
      p.timestampMs = this.qTs[q]!;
      p.nObservations = this.qN[q]!;
      p.outcomeDelta = this.qE[q]!;
      p.confidence = this.qConf[q]!;
      p.address = this.qStr[q]!;
      p.seq = this.takeSeq();
      codec.encode(p, buf, offset + i * PACKET_SIZE);
      const a = this.qAddr[q]!;
      if (a >= 0) this.aQueuePos[a] = -1;
      this.qHead = (q + 1) % this.maxA;
      this.qLen--;
    }
    return k;
  }
}
