/**
 * Little-endian field access on a plain Uint8Array, without DataView objects per buffer.
 * Floats go through one fixed scratch word. On a little-endian host (every platform Node
 * ships for but s390x) that word is a Float32Array whose bytes are copied in wire order, the
 * cheapest f32 conversion V8 compiles; elsewhere an endian-explicit DataView. Same bytes either way.
 */
const scratchF32 = new Float32Array(1);
const scratchU8 = new Uint8Array(scratchF32.buffer);
const scratch = new DataView(scratchF32.buffer);
/** True on a little-endian host: typed arrays then use the wire byte order. */
export const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function readU16(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}

export function readU32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

/**
 * The same four bytes as a signed int32: what hot paths compare with, because V8 keeps an
 * int32 unboxed even across a call it does not inline, while a u32 above 2^31 - 1 (or a
 * float) returned from such a call becomes a heap number, i.e. garbage per packet.
 */
export function readI32(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24);
}

/** u64 as a number; exact up to 2^53 - 1, and above it still > 2^53 - 1 (so range checks hold). */
export function readU64(b: Uint8Array, o: number): number {
  return readU32(b, o + 4) * 0x1_0000_0000 + readU32(b, o);
}

export function readF32(b: Uint8Array, o: number): number {
  if (!LITTLE_ENDIAN_HOST) return readF32Portable(b, o);
  scratchU8[0] = b[o]!;
  scratchU8[1] = b[o + 1]!;
  scratchU8[2] = b[o + 2]!;
  scratchU8[3] = b[o + 3]!;
  return scratchF32[0]!;
}

function readF32Portable(b: Uint8Array, o: number): number {
  scratch.setUint8(0, b[o]!);
  scratch.setUint8(1, b[o + 1]!);
  scratch.setUint8(2, b[o + 2]!);
  scratch.setUint8(3, b[o + 3]!);
  return scratch.getFloat32(0, true);
}

export function writeU16(b: Uint8Array, o: number, v: number): void {
  b[o] = v;
  b[o + 1] = v >>> 8;
}

export function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v;
  b[o + 1] = v >>> 8;
  b[o + 2] = v >>> 16;
  b[o + 3] = v >>> 24;
}

/** v must be an integer in 0..2^53 - 1. */
export function writeU64(b: Uint8Array, o: number, v: number): void {
  const hi = Math.floor(v / 0x1_0000_0000);
  writeU32(b, o, v - hi * 0x1_0000_0000);
  writeU32(b, o + 4, hi);
}

export function writeF32(b: Uint8Array, o: number, v: number): void {
  if (!LITTLE_ENDIAN_HOST) return writeF32Portable(b, o, v);
  scratchF32[0] = v;
  b[o] = scratchU8[0]!;
  b[o + 1] = scratchU8[1]!;
  b[o + 2] = scratchU8[2]!;
  b[o + 3] = scratchU8[3]!;
}

function writeF32Portable(b: Uint8Array, o: number, v: number): void {
  scratch.setFloat32(0, v, true);
  b[o] = scratch.getUint8(0);
  b[o + 1] = scratch.getUint8(1);
  b[o + 2] = scratch.getUint8(2);
  b[o + 3] = scratch.getUint8(3);
}

export function isZero(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
}

/**
 * Views made by `wordView`, held weakly (an entry dies with its key, so no caller's buffer is
 * kept alive): by the caller's Uint8Array, the one lookup a hit costs (a WeakMap#get, about
 * half the price of WeakRef#deref, which calls into the runtime, and no `.buffer` getter), and
 * by ArrayBuffer, so several views of one buffer share one Int32Array.
 */
const viewsByArray = new WeakMap<Uint8Array, Int32Array>();
const viewsByBuffer = new WeakMap<ArrayBufferLike, Int32Array>();
/** A single-packet call makes a view only for an ArrayBuffer this large (a store, a batch). */
export const VIEW_MIN_BYTES = 16 * 1024;

/**
 * An Int32Array over the whole ArrayBuffer under `b`, to read b[offset, offset + length) as
 * little-endian 32-bit words (four bytes per load instead of one): b[x] is in word
 * (b.byteOffset + x) >>> 2. Undefined where that is not possible or not worth it: a big-endian
 * host, `b.byteOffset + offset` not a multiple of 4, or, for a `single` packet, a small
 * ArrayBuffer (a fresh network message: making a view for it would allocate per packet).
 * The view is made once per ArrayBuffer and found again from then on, so a loop over a store
 * or repeated batches on one buffer allocate nothing.
 */
export function wordView(b: Uint8Array, offset: number, length: number, single: boolean): Int32Array | undefined {
  const start = b.byteOffset + offset;
  if (!LITTLE_ENDIAN_HOST || start % 4 !== 0) return undefined;
  let w = viewsByArray.get(b);
  if (w === undefined) {
    const ab = b.buffer;
    const bytes = ab.byteLength;
    if ((single && bytes < VIEW_MIN_BYTES) || bytes > 0x7fff_fff0) return undefined;
    w = viewsByBuffer.get(ab);
    if (w === undefined) {
      w = new Int32Array(ab, 0, bytes >>> 2);
      viewsByBuffer.set(ab, w);
    }
    viewsByArray.set(b, w);
  }
  // A resizable ArrayBuffer may have shrunk (or grown) under an older view: then read bytes instead.
  return start + length <= w.length * 4 ? w : undefined;
}
