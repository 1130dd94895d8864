/**
 * The operations the native addon provides, as one interface: `fallback.ts` implements it in
 * TypeScript, `native.ts` loads the addon behind it. Callers own every buffer; offsets are
 * byte offsets into `buf`, packets sit at `offset + i * 512`. Arguments are validated by the
 * caller (codec.ts), not here: the C side trusts its inputs.
 */
export interface CodecBackend {
  readonly name: "native" | "fallback";
  /** CRC-32C with zlib.crc32 chaining: `seed` is the previous result, 0 to start. */
  crc32c(buf: Uint8Array, offset: number, length: number, seed: number): number;
  /** MurmurHash3_x86_128, seed 0, into out[0..16). */
  murmur128(buf: Uint8Array, offset: number, length: number, out: Uint8Array): void;
  /**
   * Packs `count` staged records (stage.ts: `records`, 216 bytes each, their strings in the
   * slots of a StringTable, `slots`) into whole, sealed packets at offset + i * 512.
   */
  encode(buf: Uint8Array, offset: number, count: number, records: Uint8Array, slots: Uint8Array): void;
  /** Fills in address_hash and crc32c of `count` packets whose other fields are written. */
  seal(buf: Uint8Array, offset: number, count: number): void;
  /** Writes each packet's verdict into codes[i]; returns how many are valid. */
  verify(buf: Uint8Array, offset: number, count: number, codes: Uint8Array): number;
  /** The verdict of one packet. */
  verifyOne(buf: Uint8Array, offset: number): number;
  /** Numeric fields of `count` verified packets into `out`, UNPACK_STRIDE numbers each. */
  unpack(buf: Uint8Array, offset: number, count: number, out: Float64Array): void;
}
