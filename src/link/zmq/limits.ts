/**
 * The largest frame each of our sockets may receive (ZMQ_MAXMSGSIZE). libzmq checks a frame's
 * announced size against it before allocating, and drops the connection of a peer that sends a
 * larger one: a peer cannot make us buffer more than these per frame (docs/security.md).
 *
 * The limit applies to handshake commands as well (a CURVE HELLO is 200 bytes, an INITIATE
 * ~300 with its metadata) and to CURVE's box around each frame (33 bytes): hence the slack
 * and the floor.
 */
import { PACKET_SIZE } from "../../packet/index.js";
import { QUERY_HEADER_SIZE, QUERY_PATTERN_MAX, REPLY_HEADER_SIZE } from "./wire.js";

/** CURVE's MESSAGE command around a frame: name, nonce, MAC, flags (33 bytes), rounded up. */
const CURVE_SLACK = 64;
/** No limit below this: handshake commands must pass. */
const FLOOR = 1024;

/** Packets accepted in one live message; a larger one is refused whole. */
export const MAX_BATCH = 1024;

/** SUB: a batch frame of MAX_BATCH packets is the largest (address ≤ 96 B, header 24 B). */
export const LIVE_MAX_FRAME = MAX_BATCH * PACKET_SIZE + CURVE_SLACK;
/** ROUTER (store server): a query header or its pattern. */
export const QUERY_MAX_FRAME = Math.max(FLOOR, QUERY_HEADER_SIZE + CURVE_SLACK, QUERY_PATTERN_MAX + CURVE_SLACK);
/** PUB: subscription messages (1 byte + a prefix no longer than an address). */
export const SUBSCRIPTION_MAX_FRAME = Math.max(FLOOR, 1 + 255 + CURVE_SLACK);
/** Error answers carry a code and a one-line message. */
const ERROR_MAX_FRAME = 4096;

/** DEALER (store client): a page of at most `pageSize` packets, or an error answer. */
export function replyMaxFrame(pageSize: number): number {
  return Math.max(pageSize * PACKET_SIZE + CURVE_SLACK, REPLY_HEADER_SIZE, ERROR_MAX_FRAME);
}

/** Legacy SUB: a topic or a legacy payload (28-byte struct + ≤ 1024 bytes of text), with room to spare. */
export const LEGACY_MAX_FRAME = 4096;
