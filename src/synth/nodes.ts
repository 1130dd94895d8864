/**
 * The nodes: the interning table of node ids with a live contribution (bounded by maxNodes),
 * and per address the table of its contributing nodes (bounded by maxNodesPerAddress), which
 * is what the echo and double-counting rules read (docs/synth.md, "Loop safety"): per
 * (address, node) entry, how many of the node's raw packets are counted and which of its
 * summaries is (at most one), so that "raw evidence shadows summaries" and "summaries
 * supersede" are O(1) checks, and `nodes` is exact.
 */
import { IdTable, mix4 } from "./idtable.js";
import { pow2AtLeast, staysInShift } from "../util/hash.js";
import { zeroedArrays } from "../util/zeroed.js";

/** Node ids (16 bytes, four int32 words) with a live contribution, reference-counted by contributions. */
export class NodeTable {
  private readonly seed: number;
  readonly table: IdTable;
  readonly nWords: Int32Array;
  /** live contributions per node: the node is forgotten at 0 */
  readonly nRef: Int32Array;
  readonly freeNodes: Int32Array;
  freeTop = 0;
  high = 0;

  constructor(maxNodes: number, seed: number) {
    this.seed = seed;
    this.table = new IdTable(maxNodes);
    [this.nWords, this.nRef, this.freeNodes] = zeroedArrays(["i32", maxNodes * 4], ["i32", maxNodes], ["i32", maxNodes]); // one buffer (src/util/zeroed.ts says why)
  }

  get size(): number {
    return this.table.size;
  }

  /** The hash of a node id in the table (computed once per packet, given to find and intern). */
  hash(n0: number, n1: number, n2: number, n3: number): number {
    return mix4(this.seed, n0, n1, n2, n3);
  }

  /** The id of this node (h: its hash), or -1. */
  find(h: number, n0: number, n1: number, n2: number, n3: number): number {
    const t = this.table;
    const cells = t.cells;
    const mask = t.mask;
    const nw = this.nWords;
    let i = h & mask;
    for (;;) {
      const g = cells[2 * i]! - 1; // stored as id + 1, 0 = empty
      if (g < 0) return -1;
      const k = g << 2;
      if (cells[2 * i + 1] === h && nw[k] === n0 && nw[k + 1] === n1 && nw[k + 2] === n2 && nw[k + 3] === n3) return g;
      i = (i + 1) & mask;
    }
  }

  intern(h: number, n0: number, n1: number, n2: number, n3: number): number {
    const g = this.freeTop > 0 ? this.freeNodes[--this.freeTop]! : this.high++;
    this.table.insert(h, g);
    const k = g << 2;
    this.nWords[k] = n0;
    this.nWords[k + 1] = n1;
    this.nWords[k + 2] = n2;
    this.nWords[k + 3] = n3;
    this.nRef[g] = 0;
    return g;
  }

  /** One contribution of node g left; forgets the node after its last one. */
  release(g: number): void {
    if (--this.nRef[g]! !== 0) return;
    const k = g << 2;
    this.table.remove(mix4(this.seed, this.nWords[k]!, this.nWords[k + 1]!, this.nWords[k + 2]!, this.nWords[k + 3]!), g);
    this.freeNodes[this.freeTop++] = g;
  }

  get bytes(): number {
    return this.table.bytes;
  }
}

/**
 * Per address, maxNodesPerAddress entries (address a owns a·P .. a·P + P − 1), each a node with
 * live contributions to the address: pRaw of its raw packets counted, pSynth the slot of its
 * counted summary (-1: none). The rules keep one of the two at zero/-1: the live contributions
 * of a (node, address) are either the node's raw packets or one summary of it, never both.
 * Node g's entry at address a is found through the address's index: H cells (a power of two, at
 * least 2·P), each an entry + 1 (0: empty), g's at the first cell from g mod H that holds it
 * (linear probing). Node ids are small and dense (freed ones are reused first), so the first
 * cell is g's in practice: a lookup takes the same steps whatever the number of nodes.
 */
export class PairTable {
  readonly P: number;
  /** index cells per address */
  readonly H: number;
  readonly pIndex: Int32Array;
  readonly pNode: Int32Array;
  readonly pRaw: Int32Array;
  readonly pSynth: Int32Array;
  /** distinct nodes per address (the estimate's `nodes`) */
  readonly aNodes: Int32Array;
  readonly aPairHigh: Int32Array;

  constructor(maxAddresses: number, perAddress: number) {
    const A = maxAddresses;
    this.P = perAddress;
    const H = (this.H = pow2AtLeast(2 * perAddress));
    // Not filled with -1: entries at or above an address's aPairHigh are never read before
    // insert() writes them, and untouched pages stay out of an idle agent's RSS.
    [this.pNode, this.pRaw, this.pSynth, this.aNodes, this.aPairHigh, this.pIndex] = zeroedArrays(
      ["i32", A * perAddress], ["i32", A * perAddress], ["i32", A * perAddress], ["i32", A], ["i32", A], ["i32", A * H],
    ); // one buffer (src/util/zeroed.ts says why)
  }

  /** The entry of node g at address a, or -1. */
  find(a: number, g: number): number {
    const mask = this.H - 1;
    const cells = a * this.H;
    const index = this.pIndex;
    let i = g & mask;
    for (;;) {
      const k = index[cells + i]! - 1;
      if (k < 0 || this.pNode[k] === g) return k;
      i = (i + 1) & mask;
    }
  }

  /** A new entry for node g at address a (the caller checked there is room: aNodes[a] < P). */
  insert(a: number, g: number): number {
    const base = a * this.P;
    const high = this.aPairHigh[a]!;
    let k = base;
    const end = base + high;
    while (k < end && this.pNode[k]! >= 0) k++;
    if (k === end) this.aPairHigh[a] = high + 1;
    this.pNode[k] = g;
    this.pRaw[k] = 0;
    this.pSynth[k] = -1;
    this.aNodes[a]!++;
    const mask = this.H - 1;
    const cells = a * this.H;
    let i = g & mask;
    while (this.pIndex[cells + i] !== 0) i = (i + 1) & mask;
    this.pIndex[cells + i] = k + 1;
    return k;
  }

  /** Takes entry e (node g, at address a) out of the index: backward shift, no tombstones. */
  private unindex(a: number, e: number, g: number): void {
    const mask = this.H - 1;
    const cells = a * this.H;
    const index = this.pIndex;
    let hole = g & mask;
    while (index[cells + hole] !== e + 1) hole = (hole + 1) & mask;
    for (let j = (hole + 1) & mask; ; j = (j + 1) & mask) {
      const v = index[cells + j]!;
      if (v === 0) break;
      if (staysInShift(this.pNode[v - 1]! & mask, hole, j)) continue;
      index[cells + hole] = v;
      hole = j;
    }
    index[cells + hole] = 0;
  }

  /**
   * Contribution `slot` of entry e (address a) left; `synth` whether it was a summary. Frees the
   * entry when it holds nothing any more.
   */
  release(a: number, e: number, slot: number, synth: boolean): void {
    if (synth) {
      // A summary being replaced: the entry already points at its successor.
      if (this.pSynth[e] === slot) this.pSynth[e] = -1;
    } else this.pRaw[e]!--;
    if (this.pRaw[e] === 0 && this.pSynth[e]! < 0) {
      this.unindex(a, e, this.pNode[e]!);
      this.pNode[e] = -1;
      this.aNodes[a]!--;
      const base = a * this.P;
      let high = this.aPairHigh[a]!;
      while (high > 0 && this.pNode[base + high - 1]! < 0) high--;
      this.aPairHigh[a] = high;
    }
  }
}
