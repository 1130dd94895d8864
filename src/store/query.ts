/**
 * The store's query walks (docs/store.md, "How a query runs"): which distinct addresses match
 * (an exact pattern through the address table, a wildcard by `matchBytes` once per distinct
 * address, cached across pages), then the packets in cursor order by a merge of the matching
 * addresses' lists or by a scan of the ring. PacketStore checks the arguments, sweeps, and
 * calls `run`; this class only reads the store's arrays. `busy` is set while a visitor or a
 * copy runs, so that the store refuses calls from a visitor (ERR_STORE_BUSY).
 */
import { compilePattern, type AddressPattern } from "../address/index.js";
import { OFFSETS, PACKET_SIZE } from "../packet/layout.js";
import { murmur3x86_128 } from "../packet/murmur3.js";
import type { AddressIndex } from "./addresses.js";
import { copyPacket } from "./copy.js";
import type { QueryResult, QueryStrategy, QueryVisitor } from "./types.js";

/**
 * Query strategy (docs/store.md "Queries"). Measured (BENCHMARKS.md, "Query strategy"): a merge
 * of k lists costs about 14 + 2.6 k ns per result (the visit, pointer chasing, a linear pick
 * among k heads), a scan about 5.5 ns per slot of the window plus 9 ns per result. So merge
 * when k ≤ MERGE_MAX and m × (k + 2) < 2 × size (m = live packets of the matching addresses);
 * otherwise scan the ring with a per-address match flag.
 */
const MERGE_MAX = 32;

const ADDR_AT = OFFSETS.address;
const LEN_AT = OFFSETS.address_len;

export class QueryRunner {
  /** a visitor (or a copy) is running */
  busy = false;
  /** per address id: whether it matches the cached pattern */
  readonly match: Uint8Array;
  readonly #capacity: number;
  readonly #data: Buffer;
  readonly #data64: Float64Array | null;
  readonly #cursorOf: Float64Array;
  readonly #addrs: AddressIndex;
  /** the pattern `match` was computed for, and the address generation then (a cache across pages) */
  #matchFor: AddressPattern | null = null;
  #matchGeneration = -1;
  /** the last pattern string and its compiled form */
  #patternText = "";
  #patternCompiled: AddressPattern | null = null;
  readonly #heads = new Int32Array(MERGE_MAX);
  readonly #addrScratch = new Uint8Array(128);

  constructor(capacity: number, data: Buffer, data64: Float64Array | null, cursorOf: Float64Array, addrs: AddressIndex) {
    this.#capacity = capacity;
    this.#data = data;
    this.#data64 = data64;
    this.#cursorOf = cursorOf;
    this.#addrs = addrs;
    this.match = new Uint8Array(capacity);
  }

  get bytes(): number {
    return this.match.byteLength;
  }

  /**
   * The packets with cursor > since matching `pat` (null: all), at most `limit`, to `visit` or
   * copied into `out`; `size` and `cur` are the store's live count and cursor (since < cur).
   */
  run(
    pat: AddressPattern | null,
    since: number,
    limit: number,
    visit: QueryVisitor | null,
    out: Uint8Array | null,
    out64: Float64Array | null,
    outOffset: number,
    cursors: Float64Array | null,
    size: number,
    cur: number,
    strategy: QueryStrategy,
  ): QueryResult {
    const data = this.#data;
    const addrs = this.#addrs;
    const match = this.match;
    const heads = this.#heads;
    // Which distinct addresses match: k of them, holding m live packets.
    let k = 0;
    let m = 0;
    if (pat === null) {
      k = addrs.liveCount;
      m = size;
    } else if (pat.isExact && strategy !== "scan") {
      const id = this.#exactId(pat.pattern);
      if (id >= 0) {
        heads[0] = id;
        k = 1;
        m = addrs.count[id]!;
      }
    } else {
      const live = addrs.live;
      const n = addrs.liveCount;
      if (pat !== this.#matchFor || addrs.generation !== this.#matchGeneration) {
        // Decide once per distinct address; kept while no address comes or goes, so the next
        // page of the same query skips this.
        for (let j = 0; j < n; j++) {
          const id = live[j]!;
          const o = addrs.head[id]! * PACKET_SIZE;
          match[id] = pat.matchBytes(data, o + ADDR_AT, data[o + LEN_AT]!) ? 1 : 0;
        }
        this.#matchFor = pat;
        this.#matchGeneration = addrs.generation;
      }
      for (let j = 0; j < n; j++) {
        const id = live[j]!;
        if (match[id] === 1) {
          if (k < MERGE_MAX) heads[k] = id;
          k++;
          m += addrs.count[id]!;
        }
      }
    }
    if (k === 0) return { count: 0, next: cur };

    // An exact pattern (k = 1) always walks its one list: O(results). The exact lookup path
    // sets no match flags, so it must merge; a forced scan took the flag path above.
    const merge =
      pat !== null &&
      k <= MERGE_MAX &&
      (strategy === "merge" || (strategy === "auto" && (k === 1 || m * (k + 2) < 2 * size)));
    let count = 0;
    let last = 0;
    let stopped = false;
    const cursorOf = this.#cursorOf;
    const data64 = this.#data64;
    this.busy = true;
    try {
      if (merge) {
        // Position each matching list at its first cursor > since, then merge by cursor.
        for (let j = 0; j < k; j++) heads[j] = this.#firstAfter(heads[j]!, since);
        const next = addrs.next;
        for (;;) {
          let best = -1;
          let bestCursor = Infinity;
          for (let j = 0; j < k; j++) {
            const s = heads[j]!;
            if (s >= 0 && cursorOf[s]! < bestCursor) {
              best = j;
              bestCursor = cursorOf[s]!;
            }
          }
          if (best < 0) break;
          const slot = heads[best]!;
          heads[best] = next[slot]!;
          count++;
          last = bestCursor;
          if (visit !== null) {
            if (visit(data, slot * PACKET_SIZE, bestCursor) === false) stopped = true;
          } else {
            copyPacket(data, data64, slot * PACKET_SIZE, out!, out64, outOffset + (count - 1) * PACKET_SIZE);
            if (cursors !== null) cursors[count - 1] = bestCursor;
          }
          if (stopped || count === limit) {
            stopped = true;
            break;
          }
        }
      } else {
        // Scan the ring from the slot of cursor since + 1 (or the oldest) to the newest.
        const cap = this.#capacity;
        const slotAddr = addrs.slotAddr;
        const all = pat === null;
        let c = Math.max(since, cur - cap) + 1;
        let slot = (c - 1) % cap;
        for (; c <= cur; c++) {
          if (cursorOf[slot] === c && (all || match[slotAddr[slot]! - 1] === 1)) {
            count++;
            last = c;
            if (visit !== null) {
              if (visit(data, slot * PACKET_SIZE, c) === false) stopped = true;
            } else {
              copyPacket(data, data64, slot * PACKET_SIZE, out!, out64, outOffset + (count - 1) * PACKET_SIZE);
              if (cursors !== null) cursors[count - 1] = c;
            }
            if (stopped || count === limit) {
              stopped = true;
              break;
            }
          }
          if (++slot === cap) slot = 0;
        }
      }
    } finally {
      this.busy = false;
    }
    return { count, next: stopped ? last : cur };
  }

  /** compilePattern, remembering the last string (a client paging sends the same one). */
  compile(pattern: string): AddressPattern {
    if (pattern !== this.#patternText || this.#patternCompiled === null) {
      const compiled = compilePattern(pattern); // throws AddressError for a bad pattern
      this.#patternText = pattern;
      this.#patternCompiled = compiled;
    }
    return this.#patternCompiled;
  }

  /** The first slot of address `id` with cursor > since, or -1: O(1) when resuming a page, else O(min(before, after)). */
  #firstAfter(id: number, since: number): number {
    const addrs = this.#addrs;
    const cursorOf = this.#cursorOf;
    const next = addrs.next;
    const prev = addrs.prev;
    if (since >= 1) {
      const s = (since - 1) % this.#capacity;
      if (cursorOf[s] === since && addrs.slotAddr[s] === id + 1) return next[s]!;
    }
    let a = addrs.head[id]!;
    let b = addrs.tail[id]!;
    if (cursorOf[a]! > since) return a;
    if (cursorOf[b]! <= since) return -1;
    // cursorOf[a] ≤ since < cursorOf[b]: close in from both ends.
    for (;;) {
      a = next[a]!;
      if (cursorOf[a]! > since) return a;
      b = prev[b]!;
      if (cursorOf[b]! <= since) return next[b]!;
    }
  }

  /** The address id of an exact (wildcard-free, hence ASCII) pattern, or -1. */
  #exactId(address: string): number {
    const s = this.#addrScratch;
    const len = address.length;
    for (let i = 0; i < len; i++) s[i] = address.charCodeAt(i);
    murmur3x86_128(s, 0, len, s, 112);
    return this.#addrs.lookup(s, 112, s, 0, len);
  }
}
