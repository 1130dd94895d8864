/**
 * Zeroed typed arrays for preallocated tables (the store's indexes, the synthesis engine's),
 * carved out of large shared ArrayBuffers, each 8-byte aligned.
 *
 * Why not one `new Int32Array(n)` each: V8 takes an ArrayBuffer's memory from calloc. glibc
 * serves a calloc below its mmap threshold from the heap and clears it with memset, the heap's
 * unused top pad (128 KiB) included, and it raises that threshold at run time to the largest
 * block freed so far (the bundle's source, read at start-up, takes it to ~350 KiB). So each
 * 256 KiB index array of a 65,536-slot store was ~140 KiB resident before the first packet
 * arrived, ~3 MiB in all (measured with an LD_PRELOAD calloc log and /proc/PID/pagemap;
 * docs/devices.md, "Idle memory"). A CHUNK-sized block is above that threshold, so glibc maps
 * it: zero pages, resident only when written. Tables live as long as their owner and are never
 * freed one by one; a chunk goes when no array in it is reachable.
 */
export type ArrayKind = "i32" | "f64" | "u8";
type ArrayOf<K extends ArrayKind> = K extends "f64" ? Float64Array : K extends "u8" ? Uint8Array : Int32Array;
type Arrays<S extends readonly (readonly [ArrayKind, number])[]> = { -readonly [I in keyof S]: ArrayOf<S[I][0]> };

const BYTES: Record<ArrayKind, number> = { i32: 4, f64: 8, u8: 1 };
/** Bytes per shared block: above glibc's dynamic mmap threshold in practice (it is capped at 32 MiB on 64-bit, 16 MiB on 32-bit, but only a freed block that large raises it so far). */
const CHUNK = 4 << 20;

let chunk: ArrayBuffer | null = null;
let used = 0;

/** `zeroedArrays(["i32", n], ["f64", m])` → [Int32Array(n), Float64Array(m)], zero-filled. */
export function zeroedArrays<const S extends readonly (readonly [ArrayKind, number])[]>(...spec: S): Arrays<S> {
  const offsets: number[] = [];
  let total = 0;
  for (const [kind, length] of spec) {
    offsets.push(total);
    total += (length * BYTES[kind] + 7) & ~7;
  }
  let buffer: ArrayBuffer;
  let base: number;
  if (total > CHUNK / 2) {
    buffer = new ArrayBuffer(total); // big enough to be mapped on its own
    base = 0;
  } else {
    if (chunk === null || used + total > CHUNK) {
      chunk = new ArrayBuffer(CHUNK);
      used = 0;
    }
    buffer = chunk;
    base = used;
    used += total;
  }
  return spec.map(([kind, length], i) => {
    const at = base + offsets[i]!;
    return kind === "f64" ? new Float64Array(buffer, at, length) : kind === "u8" ? new Uint8Array(buffer, at, length) : new Int32Array(buffer, at, length);
  }) as Arrays<S>;
}
