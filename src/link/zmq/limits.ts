/**
 * The largest frame each of our sockets may receive (ZMQ_MAXMSGSIZE). libzmq checks a frame's
 * announced size against it before allocating, and drops the connection of a peer that sends a
 * larger one: a peer cannot make us buffer more than these per frame (docs/security.md).
 */
import { PACKET_SIZE } from "../../packet/index.js";
import { QUERY_HEADER_SIZE, QUERY_PATTERN_MAX, REPLY_HEADER_SIZE } from "./wire.js";

/** Packets accepted in one live message; a larger one is refused whole. */
export const MAX_BATCH = 1024;

/** SUB: a batch frame of MAX_BATCH packets is the largest (address ≤ 96 B, header 24 B). */
export const LIVE_MAX_FRAME = MAX_BATCH * PACKET_SIZE;
/** ROUTER (store server): a query header or its pattern. */
export const QUERY_MAX_FRAME = Math.max(QUERY_HEADER_SIZE, QUERY_PATTERN_MAX);
/** PUB: subscription messages (1 byte + a prefix no longer than an address). */
export const SUBSCRIPTION_MAX_FRAME = 1 + 255;
/** Error answers carry a code and a one-line message. */
const ERROR_MAX_FRAME = 4096;

/** DEALER (store client): a page of at most `pageSize` packets, or an error answer. */
export function replyMaxFrame(pageSize: number): number {
  return Math.max(pageSize * PACKET_SIZE, REPLY_HEADER_SIZE, ERROR_MAX_FRAME);
}

/** Legacy SUB: a topic or a legacy payload (28-byte struct + ≤ 1024 bytes of text), with room to spare. */
export const LEGACY_MAX_FRAME = 4096;
