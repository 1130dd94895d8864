/**
 * Encoding, second half, in TypeScript (the fallback's `encode`; native/encode.c is the same in
 * C): staging records (stage.ts) to sealed 512-byte packets. Each packet is built as 128 words
 * in an aligned scratch packet, so every field is one Int32Array store and the CRC reads words
 * whatever the caller's alignment, then copied out with one TypedArray#set (a memcpy). The
 * address hash comes from the string table (computed once per distinct address) and the CRC
 * skips the zero padding (crc32cPacketWords), the two costs that dominated the old seal.
 */
import { LITTLE_ENDIAN_HOST } from "./bytes.js";
import { crc32c, crc32cPacketWords } from "./crc32c.js";
import { SLOT_HASH, SLOT_LENGTH, SLOT_SIZE } from "./intern.js";
import { FLAG_SIGNED, PACKET_SIZE } from "./layout.js";
import { STAGE } from "./stage.js";

const scratch = new Int32Array(PACKET_SIZE / 4);
const scratchBytes = new Uint8Array(scratch.buffer);
const W = STAGE.size / 4;
const SW = SLOT_SIZE / 4;
/** 'Q' 'I' 'S' 1 as a little-endian word. */
const MAGIC_WORD = 0x01534951;

/**
 * Builds the packet of record `r` in the scratch words; with `seal`, also its CRC (the address
 * hash is always written: it comes with the address). `rec` is the staging area as Int32Array
 * and Float64Array, `slots` the string table's words.
 */
function build(rec: Int32Array, f64: Float64Array, r: number, slots: Int32Array, seal: boolean): void {
  const s = scratch;
  const at = r * W;
  const head = rec[at + 4]!;
  const flags = head & 0xffff;
  const contextLen = head >>> 24;
  const a = rec[at + 5]! * SW;
  const c = rec[at + 6]! * SW;
  const addressLen = slots[a + SLOT_LENGTH / 4]!;
  const conclusionLen = slots[c + SLOT_LENGTH / 4]!;
  s[0] = MAGIC_WORD;
  s[1] = (head & 0xff_ffff) | (addressLen << 24);
  // u64 fields: exact integers below 2^53, split into two words.
  const ts = f64[r * (W / 2)]!;
  const tsHi = Math.floor(ts / 0x1_0000_0000);
  s[2] = ts - tsHi * 0x1_0000_0000;
  s[3] = tsHi;
  s[4] = rec[at + 7]!; // ttl_s
  s[5] = rec[at + 8]!; // n_observations
  s[6] = rec[at + 9]!; // outcome_delta, f32 bits
  s[7] = rec[at + 10]!; // confidence, f32 bits
  const seq = f64[r * (W / 2) + 1]!;
  const seqHi = Math.floor(seq / 0x1_0000_0000);
  s[8] = seq - seqHi * 0x1_0000_0000;
  s[9] = seqHi;
  for (let i = 0; i < 4; i++) {
    s[10 + i] = rec[at + 12 + i]!; // node_id
    s[14 + i] = slots[a + SLOT_HASH / 4 + i]!; // address_hash
    s[18 + i] = rec[at + 16 + i]!; // context_hash
  }
  s[22] = contextLen | (conclusionLen << 8); // then reserved0
  s[23] = 0;
  for (let i = 0; i < 24; i++) s[24 + i] = slots[a + i]!; // address, zero-padded in its slot
  for (let i = 0; i < 16; i++) s[48 + i] = i < contextLen ? rec[at + 20 + i]! : 0;
  for (let i = 0; i < 43; i++) s[64 + i] = slots[c + i]!; // conclusion, zero-padded
  const signed = (flags & FLAG_SIGNED) !== 0;
  if (signed) for (let i = 0; i < 18; i++) s[107 + i] = rec[at + 36 + i]!;
  else for (let i = 107; i < 125; i++) s[i] = 0;
  s[125] = 0;
  s[126] = 0;
  if (!LITTLE_ENDIAN_HOST) {
    swapNumbers(s);
    if (seal) s[127] = crc32c(scratchBytes, 0, 508, 0); // written below in wire order
  } else if (seal) s[127] = crc32cPacketWords(s, 0, addressLen, contextLen, conclusionLen, signed);
}

/**
 * A big-endian host (no Node target we ship, but the fallback should still be right there):
 * the numeric words were stored in host order; byte fields were copied as words, which keeps
 * their bytes. Reverse the numeric ones (and, in build, the CRC) into wire order.
 */
function swapNumbers(s: Int32Array): void {
  const swap = (i: number): void => {
    const v = s[i]!;
    s[i] = ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
  };
  for (let i = 0; i < 10; i++) swap(i);
  swap(22);
  for (let i = 48; i < 64; i++) swap(i);
}

/** Packs and seals `count` records into buf[offset, offset + count * 512). */
export function packRecords(buf: Uint8Array, offset: number, count: number, rec: Int32Array, f64: Float64Array, slots: Int32Array): void {
  for (let r = 0, o = offset; r < count; r++, o += PACKET_SIZE) {
    build(rec, f64, r, slots, true);
    if (!LITTLE_ENDIAN_HOST) {
      const crc = scratch[127]!;
      scratch[127] = ((crc & 0xff) << 24) | ((crc & 0xff00) << 8) | ((crc >>> 8) & 0xff00) | (crc >>> 24);
    }
    buf.set(scratchBytes, o);
  }
}

/** writeFields' half: record `r` packed into buf at `offset`, everything but the CRC (left zero). */
export function packUnsealed(buf: Uint8Array, offset: number, r: number, rec: Int32Array, f64: Float64Array, slots: Int32Array): void {
  build(rec, f64, r, slots, false);
  scratch[127] = 0;
  buf.set(scratchBytes, offset);
}
