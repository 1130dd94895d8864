/**
 * A PUB socket that serves legacy subscribers (the reference Python nodes): every packet goes
 * out as one two-frame legacy message (codec.ts encodeLegacy). Separate from the agent's own
 * PUB endpoint, whose wire is batches of 512-byte packets.
 */
import * as zmq from "zeromq";
import { LEGACY_MAX_FRAME } from "../zmq/limits.js";
import { PacketView } from "../../packet/index.js";
import { encodeLegacy, LegacyError, LegacyErrorCode } from "./codec.js";

export interface LegacyPublisherOptions {
  /** ZMQ_SNDHWM in messages per subscriber (default 1000; 0 = unlimited) */
  sendHwm?: number;
}

export class LegacyPublisher {
  /** the bound endpoint, with the real port when bound to `tcp://…:*` or port 0 */
  readonly endpoint: string;
  readonly #sock: zmq.Publisher;
  readonly #view = new PacketView();
  #sent = 0;
  #dropped = 0;
  #closed = false;

  private constructor(sock: zmq.Publisher, endpoint: string) {
    this.#sock = sock;
    this.endpoint = endpoint;
  }

  static async bind(endpoint: string, options: LegacyPublisherOptions = {}): Promise<LegacyPublisher> {
    if (typeof endpoint !== "string" || endpoint.length === 0)
      throw new LegacyError(LegacyErrorCode.ARGUMENT, "LegacyPublisher.bind: endpoint must be a non-empty string");
    const hwm = options.sendHwm ?? 1000;
    if (!Number.isInteger(hwm) || hwm < 0)
      throw new LegacyError(LegacyErrorCode.ARGUMENT, `LegacyPublisher.bind: sendHwm ${String(hwm)}: expected an integer ≥ 0`);
    // sendTimeout 0: a send that cannot be queued at once rejects (dropped and counted) instead
    // of waiting, so publish never blocks and never piles up pending sends (EBUSY).
    const sock = new zmq.Publisher({ sendHighWaterMark: hwm, sendTimeout: 0, linger: 0, maxMessageSize: LEGACY_MAX_FRAME });
    try {
      await sock.bind(endpoint);
    } catch (error) {
      sock.close();
      throw error;
    }
    return new LegacyPublisher(sock, sock.lastEndpoint ?? endpoint);
  }

  /**
   * Sends the (verified) packet at buf[offset, offset + 512) as a legacy message. Never throws
   * for a full queue or a closed publisher: the message is dropped and counted in `dropped`.
   * Throws LegacyError ERR_LEGACY_ADDRESS for an address with no domain token.
   */
  publish(buf: Uint8Array, offset: number): void {
    if (this.#closed) {
      this.#dropped++;
      return;
    }
    const frames = encodeLegacy(this.#view.at(buf, offset));
    try {
      this.#sock.send(frames).then(this.#onSent, this.#onDropped);
    } catch {
      this.#dropped++;
    }
  }

  readonly #onSent = (): void => {
    this.#sent++;
  };

  readonly #onDropped = (): void => {
    this.#dropped++;
  };

  /**
   * Messages handed to ZeroMQ (counted when the send resolves, so after a microtask). As with
   * any PUB socket, a subscriber whose queue is full still loses messages inside libzmq.
   */
  get sent(): number {
    return this.#sent;
  }

  /** Messages refused by the socket (EAGAIN / EBUSY at the high-water mark, or after close). */
  get dropped(): number {
    return this.#dropped;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sock.close();
  }
}
