/**
 * The engine's per-packet path in C (native/synth.c), on the engine's own state.
 *
 * The C works in place on the typed arrays of the tables (ingest.ts and what it calls), bound
 * once in the order of native/synth.h, so that TypeScript and C take turns on one state: the C
 * runs the steady state, and hands back, untouched, a packet whose address the engine has not
 * interned yet (parsing it and naming its class and domain is string work), which ingest.ts
 * then adds. The tables' scalar fields (free-list tops, counts, the expiry minimum, the
 * counters) are copied into `regs` before a call and back after it: about thirty numbers, once
 * per batch. Fields of the tables that this file reads are therefore not private.
 *
 * Both paths do the same double operations in the same order (ln1pCount in sums.ts is why
 * ln(1 + n) is not Math.log1p above the table), so an engine gives the same bytes either way;
 * test/synth/native.test.ts compares every array after random streams.
 */
import { assertBoundLayout, boundDifference, nativeSynth } from "../packet/native.js";
import { QisError } from "../errors.js";
import type { SynthEngine } from "./engine.js";
import type { SynthCore } from "./ingest.js";
import { LOG1P, LOG1P_TABLE } from "./sums.js";

/** native/synth.h: SA_COUNT, SD_COUNT, R_COUNT */
const ARRAYS = 48;
const DIMS = 16;
// regs (native/synth.h enum qis_synth_reg)
const R_FREE_TOP = 12;
const R_HIGH = 13;
const R_LIVE = 14;
/** the expiry queue's 7 scalars (ExpiryQueue.saveScalars) */
const R_Q_COUNT = 15;
const R_EMPTY_TOP = 22;
const R_NODE_COUNT = 23;
const R_SEEN_COUNT = 24;
const R_NODE_FREE_TOP = 25;
const R_NODE_HIGH = 26;
const R_DIRTY_COUNT = 27;
const R_OUTCOME = 28;
const R_ADDED_NOW = 29;
const R_EXPIRED_NOW = 30;
const REGS = 31;

if (nativeSynth !== null) assertBoundLayout("synth", nativeSynth.layout, { arrays: ARRAYS, dims: DIMS, regs: REGS });

/** Whether the C path is available (the addon is loaded and not disabled by QIS_EDGE_NO_NATIVE=1). */
export const NATIVE_SYNTH = nativeSynth !== null;

/** regs: the scalars (saveScalars), then what a call reports */
export const REGS_LENGTH = REGS;

export class NativeIngest {
  private readonly core: SynthCore;
  private readonly handle: object;
  private readonly regs = new Float64Array(REGS);

  constructor(core: SynthCore, own: readonly number[]) {
    if (nativeSynth === null) throw new QisError("ERR_NATIVE_UNAVAILABLE", "the native addon is not loaded");
    this.core = core;
    this.handle = nativeSynth.bind([...boundArrays(core), this.regs], bindingDims(core, own));
  }

  /**
   * Sweeps first when `sweep`, then adds packets at buf[offset + i·512], i < count, and stops
   * before the first one ingest.ts must add. Returns how many it took; `added`, `outcome` and
   * `expired` say what became of them.
   */
  run(buf: Uint8Array, offset: number, count: number, sweep: boolean): number {
    saveScalars(this.core, this.regs);
    const n = nativeSynth!.run(this.handle, buf, offset, count, sweep ? 1 : 0);
    loadScalars(this.core, this.regs);
    return n;
  }

  /** ADDED outcomes in the last run */
  get added(): number {
    return this.regs[R_ADDED_NOW]!;
  }

  /** the AddOutcome of the last packet the last run took */
  get outcome(): number {
    return this.regs[R_OUTCOME]!;
  }

  /** contributions the last run's sweep expired */
  get expired(): number {
    return this.regs[R_EXPIRED_NOW]!;
  }
}

/** The engine's dimensions for the C (native/synth.h enum qis_synth_dim, in order); `own`: its node id as four int32 words. */
export function bindingDims(core: SynthCore, own: readonly number[]): Int32Array {
  const { contributions: contribs, names, nodes, pairs, sums } = core;
  const cfg = core.config;
  return Int32Array.of(
    core.seed, own[0]!, own[1]!, own[2]!, own[3]!, cfg.maxHops, cfg.maxNodes, pairs.P,
    sums.hopSlots, contribs.cap, cfg.maxAddresses, LOG1P_TABLE, names.table.mask, nodes.table.mask, contribs.seen.mask, pairs.H - 1,
  );
}

/** The engine's arrays the C works on, in the order of native/synth.h enum qis_synth_array (regs, the last, apart). */
export function boundArrays(core: SynthCore): (Int32Array | Float64Array | Uint8Array)[] {
  const { contributions: contribs, names, nodes, pairs, sums, out } = core;
  const q = contribs.expiry;
  const h = q.heap;
  return [
    core.T, LOG1P,
    names.table.cells, names.aHash, names.aLen, names.aWords, names.aEmptyListed, names.emptyStack,
    nodes.table.cells, nodes.nWords, nodes.nRef, nodes.freeNodes,
    pairs.pNode, pairs.pRaw, pairs.pSynth, pairs.aNodes, pairs.aPairHigh, pairs.pIndex,
    contribs.cF, contribs.cI, contribs.freeSlots, contribs.aHead, contribs.seen.cells,
    q.exp, q.ord, q.links, q.qTtl, q.qHead, q.qTail, q.qHeadExp, q.qHeadOrd,
    h.keys, h.slots, h.pos,
    sums.aAcc, sums.aCount, sums.aWCount, sums.aSynthCount, sums.aObs, sums.aHopHist, sums.aMaxHops,
    sums.aTsMin, sums.aTsMax, sums.aWinDirty,
    out.aChanged, out.aDirty, out.dirtyList,
  ];
}

/**
 * Where two engines' states first differ, or undefined when they are equal to the bit: every
 * bound array byte for byte, then the scalars and counters the C updates. How the C path is
 * compared with the TypeScript one (test/synth/native.test.ts, and `qis-edge selftest`).
 */
export function stateDifference(x: SynthEngine, y: SynthEngine): string | undefined {
  const [cx, cy] = [x, y].map((e) => (e as unknown as { core: SynthCore }).core);
  const rx = new Float64Array(REGS);
  const ry = new Float64Array(REGS);
  saveScalars(cx!, rx);
  saveScalars(cy!, ry);
  return boundDifference("native/synth.h", boundArrays(cx!), boundArrays(cy!), rx, ry, REGS);
}

/** Copies the tables' scalar fields and the counters the C updates into R (regs layout). */
function saveScalars(core: SynthCore, R: Float64Array): void {
  const { c, contributions: contribs, nodes, names, out } = core;
  const q = contribs.expiry;
  R[0] = c.offered;
  R[1] = c.added;
  R[2] = c.expired;
  R[3] = c.droppedEarly;
  R[4] = c.selfIgnored;
  R[5] = c.hopRefused;
  R[6] = c.stale;
  R[7] = c.duplicates;
  R[8] = c.shadowed;
  R[9] = c.superseded;
  R[10] = c.addressCollisions;
  R[11] = c.nodesRefused;
  R[R_FREE_TOP] = contribs.freeTop;
  R[R_HIGH] = contribs.high;
  R[R_LIVE] = contribs.live;
  q.saveScalars(R, R_Q_COUNT);
  R[R_EMPTY_TOP] = names.emptyTop;
  R[R_NODE_COUNT] = nodes.table.count;
  R[R_SEEN_COUNT] = contribs.seen.count;
  R[R_NODE_FREE_TOP] = nodes.freeTop;
  R[R_NODE_HIGH] = nodes.high;
  R[R_DIRTY_COUNT] = out.dirtyCount;
}

/** The inverse of saveScalars. */
function loadScalars(core: SynthCore, R: Float64Array): void {
  const { c, contributions: contribs, nodes, names, out } = core;
  const q = contribs.expiry;
  c.offered = R[0]!;
  c.added = R[1]!;
  c.expired = R[2]!;
  c.droppedEarly = R[3]!;
  c.selfIgnored = R[4]!;
  c.hopRefused = R[5]!;
  c.stale = R[6]!;
  c.duplicates = R[7]!;
  c.shadowed = R[8]!;
  c.superseded = R[9]!;
  c.addressCollisions = R[10]!;
  c.nodesRefused = R[11]!;
  contribs.freeTop = R[R_FREE_TOP]! | 0;
  contribs.high = R[R_HIGH]! | 0;
  contribs.live = R[R_LIVE]! | 0;
  q.loadScalars(R, R_Q_COUNT);
  names.emptyTop = R[R_EMPTY_TOP]! | 0;
  nodes.table.count = R[R_NODE_COUNT]! | 0;
  contribs.seen.count = R[R_SEEN_COUNT]! | 0;
  nodes.freeTop = R[R_NODE_FREE_TOP]! | 0;
  nodes.high = R[R_NODE_HIGH]! | 0;
  out.dirtyCount = R[R_DIRTY_COUNT]! | 0;
}
