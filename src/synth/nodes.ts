/**
 * The nodes: the interning table of node ids with a live contribution (bounded by maxNodes),
 * and per address the table of its contributing nodes (bounded by maxNodesPerAddress), which
 * is what the echo and double-counting rules read (docs/synth.md, "Loop safety"): per
 * (address, node) entry, how many of the node's raw packets are counted and which of its
 * summaries is (at most one), so that "raw evidence shadows summaries" and "summaries
 * supersede" are O(1) checks, and `nodes` is exact.
 */
import { IdTable, mix4 } from "./idtable.js";
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

  /** The id of this node, or -1. */
  find(n0: number, n1: number, n2: number, n3: number): number {
    const t = this.table;
    const cells = t.cells;
    const mask = t.mask;
    const nw = this.nWords;
    const h = mix4(this.seed, n0, n1, n2, n3);
    let i = h & mask;
    for (;;) {
      const g = cells[2 * i]! - 1; // stored as id + 1, 0 = empty
      if (g < 0) return -1;
      const k = g << 2;
      if (cells[2 * i + 1] === h && nw[k] === n0 && nw[k + 1] === n1 && nw[k + 2] === n2 && nw[k + 3] === n3) return g;
      i = (i + 1) & mask;
    }
  }

  intern(n0: number, n1: number, n2: number, n3: number): number {
    const g = this.freeTop > 0 ? this.freeNodes[--this.freeTop]! : this.high++;
    this.table.insert(mix4(this.seed, n0, n1, n2, n3), g);
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
 * Lookups scan up to the highest entry in use (aPairHigh), a few entries in practice.
 */
export class PairTable {
  readonly P: number;
  readonly pNode: Int32Array;
  readonly pRaw: Int32Array;
  readonly pSynth: Int32Array;
  /** distinct nodes per address (the estimate's `nodes`) */
  readonly aNodes: Int32Array;
  readonly aPairHigh: Int32Array;

  constructor(maxAddresses: number, perAddress: number) {
    const A = maxAddresses;
    this.P = perAddress;
    // Not filled with -1: entries at or above an address's aPairHigh are never read before
    // insert() writes them, and untouched pages stay out of an idle agent's RSS.
    [this.pNode, this.pRaw, this.pSynth, this.aNodes, this.aPairHigh] = zeroedArrays(
      ["i32", A * perAddress], ["i32", A * perAddress], ["i32", A * perAddress], ["i32", A], ["i32", A],
    ); // one buffer (src/util/zeroed.ts says why)
  }

  /** The entry of node g at address a, or -1. */
  find(a: number, g: number): number {
    const base = a * this.P;
    const end = base + this.aPairHigh[a]!;
    const pNode = this.pNode;
    for (let k = base; k < end; k++) if (pNode[k] === g) return k;
    return -1;
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
    return k;
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
      this.pNode[e] = -1;
      this.aNodes[a]!--;
      const base = a * this.P;
      let high = this.aPairHigh[a]!;
      while (high > 0 && this.pNode[base + high - 1]! < 0) high--;
      this.aPairHigh[a] = high;
    }
  }
}
