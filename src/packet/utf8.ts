/**
 * UTF-8 without allocation: encode a JavaScript string into a caller's buffer (refusing lone
 * surrogates instead of silently replacing them) and validate bytes per RFC 3629, exactly as the
 * addon does, so both give the same verdict.
 */

/** Result of `encodeUtf8Into` when the string holds a lone surrogate (not representable). */
export const UTF8_LONE_SURROGATE = -1;
/** Result of `encodeUtf8Into` in strict mode when the string does not fit. */
export const UTF8_TOO_LONG = -2;

/**
 * Writes `s` as UTF-8 at `offset`, at most `max` bytes. Returns the number of bytes written.
 * With `cut`, a string that does not fit is cut after the last whole character that fits
 * (never mid-character); without it, a string that does not fit gives UTF8_TOO_LONG and the
 * bytes written so far are left for the caller to clear.
 */
export function encodeUtf8Into(s: string, buf: Uint8Array, offset: number, max: number, cut: boolean): number {
  const n = s.length;
  // Addresses and most texts are ASCII: copy that run in a tight loop (one byte per UTF-16
  // unit, so at most `max` units fit). At the first other character, or when the space runs
  // out, the general loop takes over at the same place.
  const ascii = n < max ? n : max;
  let i = 0;
  // Four characters per step (one test for all four): ~20% less per character in V8.
  for (; i + 3 < ascii; i += 4) {
    const c0 = s.charCodeAt(i);
    const c1 = s.charCodeAt(i + 1);
    const c2 = s.charCodeAt(i + 2);
    const c3 = s.charCodeAt(i + 3);
    if ((c0 | c1 | c2 | c3) >= 0x80) break;
    buf[offset + i] = c0;
    buf[offset + i + 1] = c1;
    buf[offset + i + 2] = c2;
    buf[offset + i + 3] = c3;
  }
  for (; i < ascii; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) break;
    buf[offset + i] = c;
  }
  return i === n ? i : encodeFrom(s, i, buf, offset + i, offset, offset + max, cut);
}

function encodeFrom(s: string, from: number, buf: Uint8Array, at: number, offset: number, end: number, cut: boolean): number {
  let o = at;
  const n = s.length;
  for (let i = from; i < n; i++) {
    let c = s.charCodeAt(i);
    let size: number;
    if (c < 0x80) size = 1;
    else if (c < 0x800) size = 2;
    else if (c < 0xd800 || c > 0xdfff) size = 3;
    else {
      const next = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (c > 0xdbff || next < 0xdc00 || next > 0xdfff) return UTF8_LONE_SURROGATE;
      c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
      size = 4;
    }
    if (o + size > end) {
      if (!cut) return UTF8_TOO_LONG;
      // Cutting: the rest is dropped, but a lone surrogate later on is still an error, so a
      // text is refused or accepted the same whatever its length.
      if (!isWellFormed(s, i)) return UTF8_LONE_SURROGATE;
      return o - offset;
    }
    if (size === 1) buf[o++] = c;
    else if (size === 2) {
      buf[o++] = 0xc0 | (c >> 6);
      buf[o++] = 0x80 | (c & 0x3f);
    } else if (size === 3) {
      buf[o++] = 0xe0 | (c >> 12);
      buf[o++] = 0x80 | ((c >> 6) & 0x3f);
      buf[o++] = 0x80 | (c & 0x3f);
    } else {
      buf[o++] = 0xf0 | (c >> 18);
      buf[o++] = 0x80 | ((c >> 12) & 0x3f);
      buf[o++] = 0x80 | ((c >> 6) & 0x3f);
      buf[o++] = 0x80 | (c & 0x3f);
      i++;
    }
  }
  return o - offset;
}

function isWellFormed(s: string, from: number): boolean {
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
    if (c > 0xdbff || next < 0xdc00 || next > 0xdfff) return false;
    i++;
  }
  return true;
}

/** True when `buf[offset, offset+length)` is well-formed UTF-8 (RFC 3629). */
export function isValidUtf8(buf: Uint8Array, offset: number, length: number): boolean {
  return invalidUtf8At(buf, offset, length) < 0;
}

/**
 * Where `buf[offset, offset+length)` stops being well-formed UTF-8 (RFC 3629): the index in
 * `buf` of the first byte of the first bad sequence, or -1 when it is all well-formed.
 */
export function invalidUtf8At(buf: Uint8Array, offset: number, length: number): number {
  let i = offset;
  const end = offset + length;
  while (i < end) {
    const b0 = buf[i]!;
    if (b0 < 0x80) {
      i++;
      continue;
    }
    if (b0 < 0xc2) return i; // stray continuation byte, or the overlong C0/C1 leads
    if (b0 < 0xe0) {
      if (i + 1 >= end || (buf[i + 1]! & 0xc0) !== 0x80) return i;
      i += 2;
      continue;
    }
    if (b0 < 0xf0) {
      if (i + 2 >= end) return i;
      const b1 = buf[i + 1]!;
      if ((b1 & 0xc0) !== 0x80 || (buf[i + 2]! & 0xc0) !== 0x80) return i;
      if (b0 === 0xe0 && b1 < 0xa0) return i; // overlong
      if (b0 === 0xed && b1 > 0x9f) return i; // surrogate
      i += 3;
      continue;
    }
    if (b0 > 0xf4 || i + 3 >= end) return i;
    const b1 = buf[i + 1]!;
    if ((b1 & 0xc0) !== 0x80 || (buf[i + 2]! & 0xc0) !== 0x80 || (buf[i + 3]! & 0xc0) !== 0x80) return i;
    if (b0 === 0xf0 && b1 < 0x90) return i; // overlong
    if (b0 === 0xf4 && b1 > 0x8f) return i; // above U+10FFFF
    i += 4;
  }
  return -1;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/** Decodes bytes already known to be valid UTF-8. */
export function decodeUtf8(buf: Uint8Array, offset: number, length: number): string {
  if (length === 0) return "";
  let ascii = true;
  for (let i = offset; i < offset + length; i++) {
    if (buf[i]! >= 0x80) {
      ascii = false;
      break;
    }
  }
  // Short ASCII (every address) is cheaper built directly than through TextDecoder.
  if (ascii && length <= 96) return String.fromCharCode.apply(null, buf.subarray(offset, offset + length) as unknown as number[]);
  return decoder.decode(buf.subarray(offset, offset + length));
}
