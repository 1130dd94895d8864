/**
 * The interning table of addresses, and of the problem classes and domains they roll up into
 * (docs/synth.md, "Address lookup"). The hot path looks an address up by its 16-byte hash and
 * compares its bytes as 32-bit words; only an address's first sight decodes and parses its text
 * (and builds a string per new class/domain). Ids are dense, at most maxAddresses of each kind,
 * and an address whose contributions have all gone keeps its id until a new address needs one.
 */
import { parseAddress } from "../address/index.js";
import { OFFSETS as F } from "../packet/index.js";
import { IdTable, mix4 } from "./idtable.js";
import { zeroedArrays } from "../util/zeroed.js";

const ADDRESS_WORDS = 24;
const utf8 = new TextDecoder("utf-8", { fatal: false });

/** A little-endian int32 from bytes (first sight of an address; the hot path reads words through PacketWords). */
export function i32(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24);
}

export class AddressTable {
  private readonly maxA: number;
  private readonly seed: number;
  readonly table: IdTable;
  readonly byName = new Map<string, number>();
  readonly aStr: string[];
  /** the address bytes as little-endian int32 words (24 per address; padding is zero) */
  readonly aWords: Int32Array;
  readonly aLen: Uint8Array;
  readonly aHash: Int32Array;
  readonly aClass: Int32Array;
  readonly aInUse: Uint8Array;
  high = 0;
  /** addresses whose live count fell to 0: reclaimed (lazily) when a new address needs an id */
  readonly emptyStack: Int32Array;
  readonly aEmptyListed: Uint8Array;
  emptyTop = 0;
  /** live contributions per address (the estimates' count): an id is reclaimed only at 0 */
  private readonly aCount: Int32Array;

  // problem classes and domains (at most maxAddresses of each), reference-counted by addresses
  private readonly classByKey = new Map<string, number>();
  readonly clsName: string[];
  readonly clsDomain: Int32Array;
  readonly clsRefs: Int32Array;
  private readonly freeClasses: Int32Array;
  private freeClassTop = 0;
  clsHigh = 0;
  readonly domainByName = new Map<string, number>();
  readonly domName: string[];
  readonly domRefs: Int32Array;
  private readonly freeDomains: Int32Array;
  private freeDomainTop = 0;
  domHigh = 0;

  constructor(maxAddresses: number, seed: number, aCount: Int32Array) {
    const A = maxAddresses;
    this.maxA = A;
    this.seed = seed;
    this.aCount = aCount;
    this.table = new IdTable(A);
    this.aStr = new Array<string>(A).fill("");
    [this.aWords, this.aHash, this.aClass, this.emptyStack, this.clsDomain, this.clsRefs, this.freeClasses, this.domRefs, this.freeDomains, this.aLen, this.aInUse, this.aEmptyListed] = zeroedArrays(
      ["i32", A * ADDRESS_WORDS], ["i32", A * 4], ["i32", A], ["i32", A], ["i32", A], ["i32", A], ["i32", A], ["i32", A], ["i32", A], ["u8", A], ["u8", A], ["u8", A],
    ); // one buffer (src/util/zeroed.ts says why)
    this.clsName = new Array<string>(A).fill("");
    this.domName = new Array<string>(A).fill("");
  }

  /** The id of the address with this 16-byte hash, or -1. */
  find(h0: number, h1: number, h2: number, h3: number): number {
    const t = this.table;
    const cells = t.cells;
    const mask = t.mask;
    const hw = this.aHash;
    const h = mix4(this.seed, h0, h1, h2, h3);
    let i = h & mask;
    for (;;) {
      const a = cells[2 * i]! - 1; // stored as id + 1, 0 = empty
      if (a < 0) return -1;
      const k = a << 2;
      if (cells[2 * i + 1] === h && hw[k] === h0 && hw[k + 1] === h1 && hw[k + 2] === h2 && hw[k + 3] === h3) return a;
      i = (i + 1) & mask;
    }
  }

  /**
   * Whether a packet carries the bytes of address a (false: a hash collision): its address_len
   * `len`, and its address as little-endian words `w32[wi..]` (PacketWords), zero padding included.
   */
  same(a: number, len: number, w32: Int32Array, wi: number): boolean {
    if (this.aLen[a] !== len) return false;
    const words = this.aWords;
    const base = a * ADDRESS_WORDS;
    const n = (len + 3) >> 2;
    for (let j = 0; j < n; j++) if (words[base + j] !== w32[wi + j]) return false;
    return true;
  }

  /**
   * A new address id for the packet at o, or -1 (every id holds live contributions), or -2 (not
   * a valid address). First sight only: allocates. The caller resets the other
   * tables' per-address state of the id (it may be a reused one).
   */
  intern(b: Uint8Array, o: number, h0: number, h1: number, h2: number, h3: number): number {
    const len = b[o + F.address_len]!;
    const str = utf8.decode(b.subarray(o + F.address, o + F.address + len));
    let tokens: string[];
    try {
      tokens = parseAddress(str);
    } catch {
      return -2;
    }
    let a = -1;
    if (this.high < this.maxA) a = this.high++;
    else {
      while (this.emptyTop > 0) {
        const x = this.emptyStack[--this.emptyTop]!;
        this.aEmptyListed[x] = 0;
        if (this.aInUse[x] === 1 && this.aCount[x] === 0) {
          this.release(x);
          a = x;
          break;
        }
      }
      if (a < 0) return -1;
    }
    const domain = tokens[1]!;
    const problemClass = tokens[2]!;
    let d = this.domainByName.get(domain);
    if (d === undefined) {
      d = this.freeDomainTop > 0 ? this.freeDomains[--this.freeDomainTop]! : this.domHigh++;
      this.domainByName.set(domain, d);
      this.domName[d] = domain;
      this.domRefs[d] = 0;
    }
    const key = `${domain}.${problemClass}`;
    let cl = this.classByKey.get(key);
    if (cl === undefined) {
      cl = this.freeClassTop > 0 ? this.freeClasses[--this.freeClassTop]! : this.clsHigh++;
      this.classByKey.set(key, cl);
      this.clsName[cl] = problemClass;
      this.clsDomain[cl] = d;
      this.clsRefs[cl] = 0;
      this.domRefs[d]!++;
    }
    this.clsRefs[cl]!++;
    this.aInUse[a] = 1;
    this.aStr[a] = str;
    this.aClass[a] = cl;
    this.aLen[a] = len;
    for (let j = 0; j < ADDRESS_WORDS; j++) this.aWords[a * ADDRESS_WORDS + j] = j < (len + 3) >> 2 ? i32(b, o + F.address + 4 * j) : 0;
    const k = a << 2;
    this.aHash[k] = h0;
    this.aHash[k + 1] = h1;
    this.aHash[k + 2] = h2;
    this.aHash[k + 3] = h3;
    this.table.insert(mix4(this.seed, h0, h1, h2, h3), a);
    this.byName.set(str, a);
    return a;
  }

  /** Forgets an address with no live contribution (its id is about to be reused), and its class/domain when unreferenced. */
  private release(a: number): void {
    const k = a << 2;
    this.table.remove(mix4(this.seed, this.aHash[k]!, this.aHash[k + 1]!, this.aHash[k + 2]!, this.aHash[k + 3]!), a);
    this.byName.delete(this.aStr[a]!);
    this.aInUse[a] = 0;
    const cl = this.aClass[a]!;
    if (--this.clsRefs[cl]! === 0) {
      const d = this.clsDomain[cl]!;
      this.classByKey.delete(`${this.domName[d]!}.${this.clsName[cl]!}`);
      this.freeClasses[this.freeClassTop++] = cl;
      if (--this.domRefs[d]! === 0) {
        this.domainByName.delete(this.domName[d]!);
        this.freeDomains[this.freeDomainTop++] = d;
      }
    }
  }

  /** Notes that address a has no live contribution left (a candidate for reuse). */
  emptied(a: number): void {
    if (this.aEmptyListed[a] === 0) {
      this.aEmptyListed[a] = 1;
      this.emptyStack[this.emptyTop++] = a;
    }
  }

  get bytes(): number {
    return this.table.bytes;
  }
}
