/**
 * CRC-32C (Castagnoli), slice-by-8 over a 8 KiB table: the portable path, used when the native
 * addon is absent. Same chaining semantics as zlib.crc32: pass the previous result as `seed`.
 */
const POLY = 0x82f63b78;

const TABLE = buildTable();

function buildTable(): Uint32Array {
  const t = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n]!;
    for (let k = 1; k < 8; k++) {
      c = t[c & 0xff]! ^ (c >>> 8);
      t[k * 256 + n] = c >>> 0;
    }
  }
  return t;
}

export function crc32c(buf: Uint8Array, offset = 0, length = buf.length - offset, seed = 0): number {
  const t = TABLE;
  let crc = ~seed;
  let i = offset;
  const end = offset + length;
  const end8 = end - ((end - i) & 7);
  while (i < end8) {
    const a = crc ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24));
    const b = buf[i + 4]! | (buf[i + 5]! << 8) | (buf[i + 6]! << 16) | (buf[i + 7]! << 24);
    crc =
      t[1792 + (a & 0xff)]! ^
      t[1536 + ((a >>> 8) & 0xff)]! ^
      t[1280 + ((a >>> 16) & 0xff)]! ^
      t[1024 + (a >>> 24)]! ^
      t[768 + (b & 0xff)]! ^
      t[512 + ((b >>> 8) & 0xff)]! ^
      t[256 + ((b >>> 16) & 0xff)]! ^
      t[b >>> 24]!;
    i += 8;
  }
  while (i < end) crc = t[(crc ^ buf[i++]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

/**
 * The same CRC, reading the data as little-endian 32-bit words: `words` is `wordView(buf, ...)`,
 * `base` is buf.byteOffset, and base + offset a multiple of 4. Two word loads instead of eight
 * byte loads per step (~30% faster in V8 over a packet). Returns the CRC as a signed int32
 * (`>>> 0` gives crc32c's unsigned result), which V8 never boxes.
 */
export function crc32cWords(buf: Uint8Array, words: Int32Array, base: number, offset: number, length: number, seed: number): number {
  const t = TABLE;
  let crc = ~seed;
  let j = (base + offset) >>> 2;
  const jEnd = j + (length >>> 3) * 2;
  for (; j < jEnd; j += 2) {
    const a = crc ^ words[j]!;
    const b = words[j + 1]!;
    crc =
      t[1792 + (a & 0xff)]! ^
      t[1536 + ((a >>> 8) & 0xff)]! ^
      t[1280 + ((a >>> 16) & 0xff)]! ^
      t[1024 + (a >>> 24)]! ^
      t[768 + (b & 0xff)]! ^
      t[512 + ((b >>> 8) & 0xff)]! ^
      t[256 + ((b >>> 16) & 0xff)]! ^
      t[b >>> 24]!;
  }
  const end = offset + length;
  for (let i = end - (length & 7); i < end; i++) crc = t[(crc ^ buf[i]!) & 0xff]! ^ (crc >>> 8);
  // As an int32 (the same 32 bits as crc32c's result): a small integer for V8, never boxed.
  return ~crc;
}
