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

/**
 * Advancing the CRC register over runs of zero bytes. The register update is linear, so
 * running it over n zero bytes is a fixed map of the register, tabulated like one slice-by-4
 * step (4 lookups). A packet is mostly zero padding (on average ~330 of its 508 covered bytes),
 * so skipping the padding this way halves the work of a JavaScript CRC over a packet whose
 * padding is known to be zero. ZERO[k] advances over 16 << k bytes (k = 0..3: 16..128);
 * 4 and 8 zero bytes are the slice-by-8 tables' own rows. Built on first use: with the native
 * addon loaded it never is, and its ~30,000 steps at load would wake V8's optimising compiler
 * during start-up (resident memory of an idle agent, docs/devices.md).
 */
let ZERO: Uint32Array | null = null;

function buildZeroTables(): Uint32Array {
  const z = new Uint32Array(4 * 1024);
  for (let k = 0; k < 4; k++) {
    const steps = (16 << k) >>> 3;
    for (let byte = 0; byte < 4; byte++) {
      for (let v = 0; v < 256; v++) {
        let c = v << (8 * byte);
        for (let s = 0; s < steps; s++) c = zeros8(c);
        z[k * 1024 + byte * 256 + v] = c >>> 0;
      }
    }
  }
  return z;
}

/** The raw register advanced over 8 zero bytes. */
function zeros8(c: number): number {
  const t = TABLE;
  return t[1792 + (c & 0xff)]! ^ t[1536 + ((c >>> 8) & 0xff)]! ^ t[1280 + ((c >>> 16) & 0xff)]! ^ t[1024 + (c >>> 24)]!;
}

/** The raw register (no inversion) advanced over `n` zero bytes; n a multiple of 4, below 256. */
export function crcZeros(c: number, n: number): number {
  const t = TABLE;
  if ((n & 4) !== 0) c = t[768 + (c & 0xff)]! ^ t[512 + ((c >>> 8) & 0xff)]! ^ t[256 + ((c >>> 16) & 0xff)]! ^ t[c >>> 24]!;
  if ((n & 8) !== 0) c = zeros8(c);
  const z = (ZERO ??= buildZeroTables());
  for (let k = 0, bit = 16; bit <= n; k += 1024, bit <<= 1) {
    if ((n & bit) !== 0) c = z[k + (c & 0xff)]! ^ z[k + 256 + ((c >>> 8) & 0xff)]! ^ z[k + 512 + ((c >>> 16) & 0xff)]! ^ z[k + 768 + (c >>> 24)]!;
  }
  return c;
}

/**
 * The raw register advanced over the little-endian words w[j, end): slice-by-8 per pair, then
 * one slice-by-4 step when the count is odd.
 */
export function crcWords(c: number, w: Int32Array, j: number, end: number): number {
  const t = TABLE;
  for (const end2 = end - 1; j < end2; j += 2) {
    // The second word's lookups do not depend on the register: they run while the previous
    // step finishes, and the XORs are a tree, so the chain per step is 1 lookup + 3 XORs.
    const b = w[j + 1]!;
    const x = (t[768 + (b & 0xff)]! ^ t[512 + ((b >>> 8) & 0xff)]!) ^ (t[256 + ((b >>> 16) & 0xff)]! ^ t[b >>> 24]!);
    const a = c ^ w[j]!;
    c = ((t[1792 + (a & 0xff)]! ^ t[1536 + ((a >>> 8) & 0xff)]!) ^ (t[1280 + ((a >>> 16) & 0xff)]! ^ t[1024 + (a >>> 24)]!)) ^ x;
  }
  if (j < end) {
    const a = c ^ w[j]!;
    c = t[768 + (a & 0xff)]! ^ t[512 + ((a >>> 8) & 0xff)]! ^ t[256 + ((a >>> 16) & 0xff)]! ^ t[a >>> 24]!;
  }
  return c;
}

/**
 * CRC-32C of the 508 covered bytes of a packet at word `j` of `w` (an Int32Array read as
 * little-endian words) whose padding, per its lengths, is all zero (the caller knows: it just
 * wrote the packet, or it checked the padding). Only the bytes that can be non-zero are read;
 * the padding runs are skipped with crcZeros. Lengths must be within their bounds (address
 * 0..96, context 0..16, conclusion 0..172). Returns the CRC as an int32 (`>>> 0` for unsigned).
 * Word offsets: address 24..47, context 48..63, conclusion 64..106, key id + signature 107..124,
 * reserved1 125..126.
 */
export function crc32cPacketWords(w: Int32Array, j: number, addressLen: number, contextLen: number, conclusionLen: number, signed: boolean): number {
  // Each data run is read up to a whole word; the bytes it reads beyond a length are zero.
  let end = j + 24 + ((addressLen + 3) >>> 2);
  let c = crcWords(-1, w, j, end);
  c = crcZeros(c, (j + 48 - end) * 4);
  end = j + 48 + contextLen;
  c = crcWords(c, w, j + 48, end);
  c = crcZeros(c, (j + 64 - end) * 4);
  end = signed ? j + 125 : j + 64 + ((conclusionLen + 3) >>> 2);
  c = crcWords(c, w, j + 64, end);
  c = crcZeros(c, (j + 127 - end) * 4);
  return ~c;
}
