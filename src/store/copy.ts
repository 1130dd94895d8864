/**
 * Copying one 512-byte packet between buffers without allocating. V8 has no allocation-free
 * copy between two Uint8Arrays (`set(src.subarray(...))` and, on Node 20, `Buffer#copy` both
 * make a view object per call), so when both ends are 8-byte aligned the copy is 64 Float64
 * loads and stores through cached views. A Float64 load/store copies the bits as they are, NaN
 * payloads included, on the engines and CPUs we know; `copyIsExact()` checks that once, on this
 * engine and CPU, and otherwise every copy takes the `set(subarray)` path.
 *
 * The check runs at the first aligned copy, not at load: it has to run the loop until V8
 * optimises it, and waking the optimising compiler during start-up costs an idle agent about
 * 5 MiB of resident memory (docs/devices.md, "Idle memory") for nothing until packets flow.
 */
import { LITTLE_ENDIAN_HOST } from "../packet/bytes.js";
import { PACKET_SIZE } from "../packet/layout.js";

const WORDS = PACKET_SIZE / 8;

/** 1: the Float64 copy is exact here, -1: it is not, 0: not checked yet */
let exact = 0;

/** Whether the Float64 copy keeps every bit pattern on this engine and CPU (checked on first call). */
export function copyIsExact(): boolean {
  if (exact === 0) exact = selfTest() ? 1 : -1;
  return exact > 0;
}

/** A Float64Array over `buf` when it is 8-byte aligned (copyPacket uses it only if copyIsExact()), else null. */
export function f64View(buf: Uint8Array): Float64Array | null {
  if ((buf.byteOffset & 7) !== 0) return null;
  return new Float64Array(buf.buffer, buf.byteOffset, buf.length >>> 3);
}

/** An Int32Array over `buf` on a little-endian host when `buf` is 4-byte aligned, else null (word reads in wire order). */
export function i32View(buf: Uint8Array): Int32Array | null {
  if (!LITTLE_ENDIAN_HOST || (buf.byteOffset & 3) !== 0) return null;
  return new Int32Array(buf.buffer, buf.byteOffset, buf.length >>> 2);
}

/** Copies 512 bytes `src[so..]` → `dst[d..]`; pass each buffer's `f64View` (or null). */
export function copyPacket(src: Uint8Array, src64: Float64Array | null, so: number, dst: Uint8Array, dst64: Float64Array | null, d: number): void {
  if (src64 !== null && dst64 !== null && ((so | d) & 7) === 0 && (exact > 0 || copyIsExact())) copyWords(src64, so, dst64, d);
  else dst.set(src.subarray(so, so + PACKET_SIZE), d);
}

/** The Float64 copy of 512 bytes src64[so..] → dst64[d..] (byte offsets, multiples of 8). */
function copyWords(src64: Float64Array, so: number, dst64: Float64Array, d: number): void {
  // Unrolled by 8: about a third faster than the plain loop in V8.
  let a = so >>> 3;
  let b = d >>> 3;
  const end = a + WORDS;
  while (a < end) {
    dst64[b] = src64[a]!;
    dst64[b + 1] = src64[a + 1]!;
    dst64[b + 2] = src64[a + 2]!;
    dst64[b + 3] = src64[a + 3]!;
    dst64[b + 4] = src64[a + 4]!;
    dst64[b + 5] = src64[a + 5]!;
    dst64[b + 6] = src64[a + 6]!;
    dst64[b + 7] = src64[a + 7]!;
    a += 8;
    b += 8;
  }
}

function selfTest(): boolean {
  // Every NaN flavour (signalling, quiet, negative, with payloads, V8's hole pattern) and
  // ordinary doubles, copied by the loop above both before and after it is optimised.
  const n = 64 * 8;
  const src = new Uint8Array(n * 8);
  const view = new DataView(src.buffer);
  const hi = [0x7ff00000, 0x7ff40000, 0x7ff7ffff, 0x7ff80000, 0x7fffffff, 0xfff00000, 0xfff7ffff, 0xfff80000, 0xffffffff, 0x3ff00000, 0];
  for (let i = 0; i < n; i++) {
    view.setUint32(i * 8 + 4, hi[i % hi.length]!, true);
    view.setUint32(i * 8, i % 3 === 0 ? 1 : i % 3 === 1 ? 0xffffffff : (i * 2654435761) >>> 0, true);
  }
  const dst = new Uint8Array(src.length);
  const s64 = new Float64Array(src.buffer);
  const d64 = new Float64Array(dst.buffer);
  for (let round = 0; round < 300; round++) {
    for (let k = 0; k < 8; k++) copyWords(s64, k * PACKET_SIZE, d64, k * PACKET_SIZE);
  }
  for (let i = 0; i < src.length; i++) if (src[i] !== dst[i]) return false;
  return true;
}
