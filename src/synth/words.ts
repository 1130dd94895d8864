/**
 * 32-bit word access to a packet for the engine's hot path.
 *
 * On a little-endian host, a packet at a 4-byte-aligned position of a 4-byte-aligned buffer is
 * read through an Int32Array and a Float32Array over the caller's buffer: plain typed-array
 * loads, no DataView calls, no per-byte assembly. The views are made once per buffer and kept
 * while the same buffer comes back (a batch buffer, a store slab, a reused receive buffer), so
 * a new buffer costs two view objects and a packet nothing. Anything else (an odd offset, a
 * big-endian host) is first copied into an aligned scratch packet, in little-endian word order,
 * and read from there. Only the word fields go through here: single bytes (flags, hops,
 * address_len, the address text on first sight) are read from the caller's buffer.
 */
import { LITTLE_ENDIAN_HOST } from "../packet/bytes.js";
import { OFFSETS as F } from "../packet/index.js";

/** Bytes copied for the slow path: every word field up to the end of the address. */
const HEAD_BYTES = F.context;

export class PacketWords {
  /** the views to read after at(): the caller's buffer, or the scratch copy */
  w32: Int32Array;
  f32: Float32Array;
  private buf: Uint8Array | null = null;
  private bufW32: Int32Array | null = null;
  private bufF32: Float32Array | null = null;
  private readonly scratch = new Uint8Array(HEAD_BYTES);
  private readonly scratch32 = new Int32Array(this.scratch.buffer);
  private readonly scratchF32 = new Float32Array(this.scratch.buffer);

  constructor() {
    this.w32 = this.scratch32;
    this.f32 = this.scratchF32;
  }

  /** Points w32/f32 at the packet `b[o..]` and returns the index of its first word in them. */
  at(b: Uint8Array, o: number): number {
    if (b !== this.buf) this.viewsOf(b);
    if (this.bufW32 !== null && (o & 3) === 0) {
      this.w32 = this.bufW32;
      this.f32 = this.bufF32!;
      return o >>> 2;
    }
    const s = this.scratch;
    if (LITTLE_ENDIAN_HOST) for (let i = 0; i < HEAD_BYTES; i++) s[i] = b[o + i]!;
    else
      for (let i = 0; i < HEAD_BYTES; i += 4) {
        s[i] = b[o + i + 3]!;
        s[i + 1] = b[o + i + 2]!;
        s[i + 2] = b[o + i + 1]!;
        s[i + 3] = b[o + i]!;
      }
    this.w32 = this.scratch32;
    this.f32 = this.scratchF32;
    return 0;
  }

  private viewsOf(b: Uint8Array): void {
    this.buf = b;
    if (LITTLE_ENDIAN_HOST && (b.byteOffset & 3) === 0) {
      this.bufW32 = new Int32Array(b.buffer, b.byteOffset, b.byteLength >>> 2);
      this.bufF32 = new Float32Array(b.buffer, b.byteOffset, b.byteLength >>> 2);
    } else {
      this.bufW32 = null;
      this.bufF32 = null;
    }
  }
}
