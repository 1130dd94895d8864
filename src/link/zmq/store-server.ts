/**
 * The ROUTER store endpoint: answers query(pattern, since, limit) from the local packet store,
 * one page of at most `maxReply` packets per request (docs/delivery.md, "Catch-up"). Every bad
 * request is answered with an error frame, never dropped silently, so a client never waits for
 * a timeout to learn it asked wrongly.
 */
import * as zmq from "zeromq";
import { AddressError, compilePattern, type AddressPattern } from "../../address/index.js";
import { PACKET_SIZE } from "../../packet/index.js";
import type { PacketStore } from "../../store/index.js";
import { decodeQuery, encodeError, encodeReply, WireError } from "./wire.js";
import { QUERY_MAX_FRAME } from "./limits.js";
import { serverOptions, type LinkEnv } from "./socket-env.js";

export interface StoreServerOptions {
  epoch: number;
  /** packets per reply at most (the client pages) */
  maxReply: number;
  /** an unexpected failure (not a bad request): the server answers ERR_INTERNAL and goes on */
  onError?: (err: unknown) => void;
  /** the agent's context and CURVE keys */
  env?: LinkEnv;
}

/** Compiled patterns kept between requests (clients repeat the same few). */
const PATTERN_CACHE = 64;

export class StoreServer {
  readonly endpoint: string;
  readonly #sock: zmq.Router;
  readonly #store: PacketStore;
  readonly #opts: StoreServerOptions;
  readonly #patterns = new Map<string, AddressPattern>();
  #closed = false;
  served = 0;
  packetsServed = 0;
  badRequests = 0;

  private constructor(sock: zmq.Router, endpoint: string, store: PacketStore, opts: StoreServerOptions) {
    this.#sock = sock;
    this.endpoint = endpoint;
    this.#store = store;
    this.#opts = opts;
    void this.#loop();
  }

  static async bind(endpoint: string, store: PacketStore, options: StoreServerOptions): Promise<StoreServer> {
    // maxMessageSize: a query is two small frames; anything larger drops the connection.
    const sock = new zmq.Router({ ...serverOptions(options.env), sendTimeout: 0, linger: 0, maxMessageSize: QUERY_MAX_FRAME });
    try {
      await sock.bind(endpoint);
    } catch (cause) {
      sock.close();
      throw cause;
    }
    return new StoreServer(sock, sock.lastEndpoint ?? endpoint, store, options);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sock.close();
  }

  async #loop(): Promise<void> {
    try {
      for await (const [identity, ...frames] of this.#sock) {
        if (identity === undefined) continue;
        this.#answer(identity, frames);
      }
    } catch (err) {
      // Closing the socket ends the iteration with an error: expected then.
      if (!this.#closed) this.#opts.onError?.(err);
    }
  }

  #answer(identity: Buffer, frames: Buffer[]): void {
    let id = frames[0] !== undefined && frames[0].length >= 8 ? frames[0].readUInt32LE(4) : 0;
    let reply: Buffer[];
    try {
      const q = decodeQuery(frames);
      id = q.id;
      const pattern = this.#pattern(q.pattern);
      const limit = Math.min(q.limit, this.#opts.maxReply);
      const out = Buffer.allocUnsafeSlow(limit * PACKET_SIZE);
      const r = this.#store.queryInto(pattern, q.since, limit, out, 0);
      reply = [encodeReply(id, this.#opts.epoch, r.count, r.next, this.#store.cursor), out.subarray(0, r.count * PACKET_SIZE)];
      this.served++;
      this.packetsServed += r.count;
    } catch (err) {
      if (err instanceof WireError || err instanceof AddressError) {
        this.badRequests++;
        reply = encodeError(id, err.code, err.message);
      } else {
        this.#opts.onError?.(err);
        reply = encodeError(id, "ERR_INTERNAL", err instanceof Error ? err.message : String(err));
      }
    }
    // A ROUTER drops a reply to a peer that has gone: nothing to do then.
    this.#sock.send([identity, ...reply]).catch(() => undefined);
  }

  #pattern(text: string): AddressPattern {
    let p = this.#patterns.get(text);
    if (p === undefined) {
      p = compilePattern(text);
      if (this.#patterns.size >= PATTERN_CACHE) this.#patterns.clear();
      this.#patterns.set(text, p);
    }
    return p;
  }
}
