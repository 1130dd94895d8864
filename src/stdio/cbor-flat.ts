/**
 * A fast path for the CBOR requests supervisors send most: one flat map with ASCII text keys
 * and integer, float64, ASCII text, boolean or null values, or arrays of numbers (an
 * observation). cbor-x takes about 2 µs for such a map, most of it generic machinery. Anything
 * outside that subset (another major type, a tag, an indefinite length, float16/32 — which
 * cbor-x rounds in its own way —, a non-ASCII string, integers beyond 2^53, a "__proto__" key,
 * trailing bytes, a short frame) returns undefined and the caller decodes the frame with cbor-x,
 * so results and errors are cbor-x's in every case it handles.
 *
 * Single-threaded and not re-entrant: the cursor lives in module state, so that a decode
 * allocates only what it returns.
 */

const MAX_SAFE_HI = 0x1f_ffff; // high 32 bits of 2^53 - 1
const FAIL = Symbol("fail");
/** Strings up to this many bytes are cached, at most CACHE_SIZE of them (then the cache restarts). */
const CACHED_MAX = 64;
const CACHE_SIZE = 512;
const cache = new Map<number, string>();

let b: Uint8Array = new Uint8Array(0);
let dv = new DataView(b.buffer);
let p = 0;
let end = 0;

/** Decodes buf[start, stop) when it is in the subset above, else undefined. */
export function decodeFlatMap(buf: Uint8Array, start: number, stop: number): Record<string, unknown> | undefined {
  if (start >= stop) return undefined;
  if (buf !== b) {
    b = buf;
    dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  p = start;
  end = stop;
  const head = b[p++]!;
  if (head >> 5 !== 5) return undefined;
  const n = argument(head & 31);
  if (n < 0) return undefined;
  const out: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    if (p >= end) return undefined;
    const kh = b[p++]!;
    if (kh >> 5 !== 3) return undefined;
    const key = ascii(argument(kh & 31));
    if (key === undefined || key === "__proto__") return undefined;
    const v = value(true);
    if (v === FAIL) return undefined;
    out[key] = v;
  }
  return p === end ? out : undefined;
}

/** The argument of a head whose low 5 bits are `info`, up to 2^53 - 1, or -1. */
function argument(info: number): number {
  if (info < 24) return info;
  const at = p;
  if (info === 24) {
    if (at + 1 > end) return -1;
    p = at + 1;
    return b[at]!;
  }
  if (info === 25) {
    if (at + 2 > end) return -1;
    p = at + 2;
    return dv.getUint16(at);
  }
  if (info === 26) {
    if (at + 4 > end) return -1;
    p = at + 4;
    return dv.getUint32(at);
  }
  if (info === 27) {
    if (at + 8 > end) return -1;
    const hi = dv.getUint32(at);
    if (hi > MAX_SAFE_HI) return -1;
    p = at + 8;
    return hi * 2 ** 32 + dv.getUint32(at + 4);
  }
  return -1;
}

/**
 * An ASCII string of n bytes, from a small cache when these bytes were seen before: keys and
 * most values (domain, problem class) repeat in every request, and a fresh string must be
 * flattened and internalized again each time it is used as a property key.
 */
function ascii(n: number): string | undefined {
  const at = p;
  if (n < 0 || at + n > end) return undefined;
  let h = 0x811c9dc5 ^ n;
  for (let i = at; i < at + n; i++) {
    const c = b[i]!;
    if (c >= 0x80) return undefined;
    h = Math.imul(h ^ c, 0x01000193);
  }
  p = at + n;
  if (n > CACHED_MAX) return latin1(at, n);
  const hit = cache.get(h);
  if (hit !== undefined && sameAscii(hit, at, n)) return hit;
  const s = latin1(at, n);
  if (cache.size >= CACHE_SIZE) cache.clear();
  cache.set(h, s);
  return s;
}

function sameAscii(s: string, at: number, n: number): boolean {
  if (s.length !== n) return false;
  for (let i = 0; i < n; i++) if (s.charCodeAt(i) !== b[at + i]) return false;
  return true;
}

function latin1(at: number, n: number): string {
  return Buffer.from(b.buffer, b.byteOffset + at, n).toString("latin1");
}

/** One value of the subset; arrays (of numbers only) when `nested` is allowed. */
function value(nested: boolean): unknown {
  if (p >= end) return FAIL;
  const h = b[p++]!;
  const info = h & 31;
  switch (h >> 5) {
    case 0: {
      const v = argument(info);
      return v < 0 ? FAIL : v;
    }
    case 1: {
      const v = argument(info);
      return v < 0 ? FAIL : -1 - v;
    }
    case 3: {
      const s = ascii(argument(info));
      return s === undefined ? FAIL : s;
    }
    case 4: {
      if (!nested) return FAIL;
      const n = argument(info);
      if (n < 0 || n > end - p) return FAIL;
      const list: number[] = [];
      for (let i = 0; i < n; i++) {
        const v = value(false);
        if (typeof v !== "number") return FAIL;
        list.push(v);
      }
      return list;
    }
    case 7: {
      if (h === 0xf4) return false;
      if (h === 0xf5) return true;
      if (h === 0xf6) return null;
      if (h === 0xfb && p + 8 <= end) {
        const v = dv.getFloat64(p);
        p += 8;
        return v;
      }
      return FAIL;
    }
    default:
      return FAIL;
  }
}
