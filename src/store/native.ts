/**
 * The store's in-memory insert path in C (native/store.c), on the store's own state.
 *
 * As with synthesis (src/synth/native.ts), the C works in place on the typed arrays of the
 * store and its indexes (identity.ts, addresses.ts, src/util/expiry.ts), bound once in the
 * order of native/store.h, so that TypeScript (single inserts, queries, file mode, reopening)
 * and C (insertBatch in memory) take turns on one state. The scalars travel in `regs`: the
 * store copies its own in and out around a call (ring.ts #insertBatchNative), and this file those of
 * the indexes. Fields of the indexes that this file reads are therefore not private.
 *
 * Both paths give the same bytes; test/store/native.test.ts compares every array and scalar
 * after random streams.
 */
import { QisError } from "../errors.js";
import { assertBoundLayout, boundDifference, nativeStore } from "../packet/native.js";
import type { ExpiryQueue } from "../util/expiry.js";
import type { AddressIndex } from "./addresses.js";
import type { IdentityIndex } from "./identity.js";

/** native/store.h: QS_COUNT, QS_D_COUNT, QS_R_COUNT */
const ARRAYS = 29;
const DIMS = 7;
const REGS = 23;

/** regs (native/store.h enum qis_store_reg): the store's own scalars, which ring.ts copies */
export const R_CLOCK = 0;
export const R_CURSOR = 1;
export const R_HEAD = 2;
export const R_SIZE = 3;
export const R_STORED = 4;
export const R_DUPLICATES = 5;
export const R_EXPIRED = 6;
export const R_EXPIRED_ON_ARRIVAL = 7;
export const R_EVICTED = 8;
export const R_INVALID = 9;
// the indexes' scalars, copied here
const R_A_FREE_TOP = 10;
const R_A_HIGH_ID = 11;
const R_A_LIVE_COUNT = 12;
const R_A_GENERATION = 13;
/** the expiry queue's 7 scalars (ExpiryQueue.saveScalars), 14..20 */
const R_Q_COUNT = 14;
const R_H_SIZE = 20;
// 21, 22: what the last run did (stored, expired by its sweep); the store counts these itself

if (nativeStore !== null) assertBoundLayout("store", nativeStore.layout, { arrays: ARRAYS, dims: DIMS, regs: REGS });

/** regs: the scalars, then what a call reports */
export const REGS_LENGTH = REGS;

/** Whether the C path is available (the addon is loaded and not disabled by QIS_EDGE_NO_NATIVE=1). */
export const NATIVE_STORE = nativeStore !== null;

/** What the C works on: the store's slot buffer and indexes. */
export interface StoreParts {
  capacity: number;
  data: Uint8Array;
  ids: IdentityIndex;
  addrs: AddressIndex;
  queue: ExpiryQueue;
}

export class NativeInsert {
  /** the store's and the indexes' scalars around a call (R_* above), and what it reports */
  readonly regs = new Float64Array(REGS);
  private readonly parts: StoreParts;
  private readonly handle: object;

  constructor(parts: StoreParts) {
    if (nativeStore === null) throw new QisError("ERR_NATIVE_UNAVAILABLE", "the native addon is not loaded");
    this.parts = parts;
    this.handle = nativeStore.bind([...boundArrays(parts), this.regs], bindingDims(parts));
  }

  /**
   * With the store's own scalars in regs (the caller wrote them): sweeps first when `sweep`,
   * then stores packets i < count at buf[offset + i·512] whose codes[codesOffset + i] is 0,
   * writing each one's InsertStatus to statuses[statusesOffset + i] (statuses not null).
   * Returns how many it stored; the store's scalars are in regs after it.
   */
  run(
    buf: Uint8Array, offset: number, count: number, sweep: boolean,
    codes: Uint8Array, codesOffset: number, statuses: Uint8Array | null, statusesOffset: number,
  ): number {
    saveIndexScalars(this.parts, this.regs);
    const n = nativeStore!.run(this.handle, buf, offset, count, sweep ? 1 : 0, codes, codesOffset, statuses, statusesOffset);
    loadIndexScalars(this.parts, this.regs);
    return n;
  }
}

/** The store's dimensions for the C (native/store.h enum qis_store_dim, in order). */
export function bindingDims({ capacity, ids, addrs }: StoreParts): Int32Array {
  return Int32Array.of(capacity, ids.seed, ids.mask, addrs.seed, addrs.mask, addrs.recordIds, addrs.frontShift);
}

/** The arrays the C works on, in the order of native/store.h enum qis_store_array (regs, the last, apart). */
export function boundArrays({ data, ids, addrs: a, queue: q }: StoreParts): (Int32Array | Float64Array | Uint8Array)[] {
  const h = q.heap;
  return [
    data,
    ids.table, ids.slotHash,
    a.slotAddr, a.prev, a.next, a.head, a.tail, a.count, a.live, a.livePos,
    a.idHash, a.hashWords, a.records, a.free, a.table, a.front,
    q.exp, q.ord, q.links, q.qTtl, q.qHead, q.qTail, q.qHeadExp, q.qHeadOrd,
    h.keys, h.slots, h.pos,
  ];
}

/**
 * Where two stores' bound states first differ, or undefined when they are equal to the bit:
 * every bound array byte for byte, then the regs (`rx`, `ry`: each store's scalars as
 * PacketStore#comparableState gives them).
 */
export function partsDifference(x: StoreParts, rx: Float64Array, y: StoreParts, ry: Float64Array): string | undefined {
  saveIndexScalars(x, rx);
  saveIndexScalars(y, ry);
  // Up to the per-call reports, which only the C path writes.
  return boundDifference("native/store.h", boundArrays(x), boundArrays(y), rx, ry, R_H_SIZE + 1);
}

function saveIndexScalars({ addrs, queue: q }: StoreParts, R: Float64Array): void {
  R[R_A_FREE_TOP] = addrs.freeTop;
  R[R_A_HIGH_ID] = addrs.highId;
  R[R_A_LIVE_COUNT] = addrs.liveCount;
  R[R_A_GENERATION] = addrs.generation;
  q.saveScalars(R, R_Q_COUNT);
}

function loadIndexScalars({ addrs, queue: q }: StoreParts, R: Float64Array): void {
  addrs.freeTop = R[R_A_FREE_TOP]! | 0;
  addrs.highId = R[R_A_HIGH_ID]! | 0;
  addrs.liveCount = R[R_A_LIVE_COUNT]! | 0;
  addrs.generation = R[R_A_GENERATION]!;
  q.loadScalars(R, R_Q_COUNT);
}
