/**
 * The discovery beacon: one UDP datagram of exactly 68 bytes, all integers big-endian
 * (docs/discovery.md has the table).
 *
 *    0  4  magic "QISB"
 *    4  1  version (1)
 *    5  1  flags: bit 0 a CURVE public key follows, bit 1 a store port is given; others 0
 *    6  2  the sender's longest interval between beacons, ms (100..60000): 3 of them without a beacon and it is dropped
 *    8 16  node id
 *   24  2  PUB port (1..65535)
 *   26  2  store port (1..65535 with flag bit 1, else 0)
 *   28  4  epoch (the sender's run id: it changes when the agent restarts)
 *   32 32  CURVE public key, raw (zero without flag bit 0)
 *   64  4  CRC-32C of bytes 0..63
 *
 * decodeBeacon never throws: whatever arrives on the group is a reason code or a beacon.
 */
import { crc32c } from "../../packet/crc32c.js";

export const BEACON_SIZE = 68;
export const BEACON_VERSION = 1;
const MAGIC = 0x51495342; // "QISB"
const FLAG_KEY = 1;
const FLAG_STORE = 2;
export const MIN_PERIOD_MS = 100;
export const MAX_PERIOD_MS = 60_000;

export interface Beacon {
  nodeId: Buffer;
  pubPort: number;
  /** 0: none */
  storePort: number;
  epoch: number;
  periodMs: number;
  /** the raw 32-byte key, or null */
  publicKey: Buffer | null;
}

/** Why a datagram is not a beacon; the names are the `reason` label of the malformed counter. */
export const MALFORMED = ["length", "magic", "version", "crc", "flags", "period", "nodeId", "port", "key"] as const;
export type Malformed = (typeof MALFORMED)[number];

export function encodeBeacon(b: Beacon, out: Buffer = Buffer.alloc(BEACON_SIZE)): Buffer {
  out.fill(0, 0, BEACON_SIZE);
  out.writeUInt32BE(MAGIC, 0);
  out[4] = BEACON_VERSION;
  out[5] = (b.publicKey !== null ? FLAG_KEY : 0) | (b.storePort !== 0 ? FLAG_STORE : 0);
  out.writeUInt16BE(b.periodMs, 6);
  b.nodeId.copy(out, 8, 0, 16);
  out.writeUInt16BE(b.pubPort, 24);
  out.writeUInt16BE(b.storePort, 26);
  out.writeUInt32BE(b.epoch >>> 0, 28);
  if (b.publicKey !== null) b.publicKey.copy(out, 32, 0, 32);
  out.writeUInt32BE(crc32c(out, 0, 64), 64);
  return out;
}

const isZero = (buf: Buffer, from: number, to: number): boolean => {
  for (let i = from; i < to; i++) if (buf[i] !== 0) return false;
  return true;
};

/** A beacon (its node id and key copied out of `buf`), or why `buf` is not one. */
export function decodeBeacon(buf: Buffer): Beacon | Malformed {
  if (buf.length !== BEACON_SIZE) return "length";
  if (buf.readUInt32BE(0) !== MAGIC) return "magic";
  if (buf[4] !== BEACON_VERSION) return "version";
  if (buf.readUInt32BE(64) !== crc32c(buf, 0, 64)) return "crc";
  const flags = buf[5]!;
  if ((flags & ~(FLAG_KEY | FLAG_STORE)) !== 0) return "flags";
  const periodMs = buf.readUInt16BE(6);
  if (periodMs < MIN_PERIOD_MS || periodMs > MAX_PERIOD_MS) return "period";
  if (isZero(buf, 8, 24)) return "nodeId";
  const pubPort = buf.readUInt16BE(24);
  const storePort = buf.readUInt16BE(26);
  if (pubPort === 0 || (storePort === 0) === ((flags & FLAG_STORE) !== 0)) return "port";
  const hasKey = (flags & FLAG_KEY) !== 0;
  if (hasKey === isZero(buf, 32, 64)) return "key";
  return {
    nodeId: Buffer.from(buf.subarray(8, 24)),
    pubPort,
    storePort,
    epoch: buf.readUInt32BE(28),
    periodMs,
    publicKey: hasKey ? Buffer.from(buf.subarray(32, 64)) : null,
  };
}
