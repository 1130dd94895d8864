/**
 * A SUB socket connected to one reference Python node's PUB endpoint: every legacy message
 * that translates (codec.ts decodeLegacy) and matches one of our patterns reaches `onPacket` as
 * a valid 512-byte packet with FLAG_LEGACY.
 */
import * as zmq from "zeromq";
import { LEGACY_MAX_FRAME } from "../zmq/limits.js";
import type { AddressPattern } from "../../address/index.js";
import { OFFSETS, PACKET_SIZE } from "../../packet/index.js";
import { decodeLegacy, LegacyError, LegacyErrorCode, legacyPrefixes } from "./codec.js";

export interface LegacySubscriberOptions {
  /** the peer's name, for messages */
  name: string;
  /** the legacy node's PUB endpoint, e.g. tcp://10.0.0.7:5556 */
  endpoint: string;
  /** our subscription patterns; legacy messages whose translated address matches none are dropped */
  patterns: readonly AddressPattern[];
  /** ZMQ_RCVHWM in messages (default 1000; 0 = unlimited) */
  receiveHwm?: number;
  /** ttl_s given to translated packets (default 3600) */
  ttlS?: number;
  /** a valid 512-byte packet at buf[offset, offset + 512); the buffer is reused after the call: copy or insert it synchronously */
  onPacket(buf: Uint8Array, offset: number): void;
  /** a message that could not be translated (it is dropped) */
  onInvalid(error: LegacyError): void;
  /** the TCP connection to the peer is up (again) */
  onUp?(): void;
  /** the connection went down; ZeroMQ reconnects by itself */
  onDown?(): void;
  /** a connection attempt failed; ZeroMQ tries again in retryMs */
  onRetry?(retryMs: number): void;
  /**
   * An exception thrown by one of the callbacks above, or an unexpected socket error that ended
   * the receive loop. Default: rethrown asynchronously (an uncaught exception), like an
   * EventEmitter "error" with no listener.
   */
  onError?(error: unknown): void;
}

export class LegacySubscriber {
  readonly #opts: LegacySubscriberOptions;
  #prefixes: string[];
  #patterns: readonly AddressPattern[];
  readonly #ttlS: number | undefined;
  readonly #out = new Uint8Array(PACKET_SIZE);
  #sock: zmq.Subscriber | null = null;
  #received = 0;
  #invalid = 0;
  #filtered = 0;
  #up = false;
  #closed = false;

  constructor(options: LegacySubscriberOptions) {
    if (typeof options !== "object" || options === null) throw argument("options must be an object");
    const { name, endpoint, patterns, receiveHwm, ttlS, onPacket, onInvalid } = options;
    if (typeof name !== "string") throw argument("name must be a string");
    if (typeof endpoint !== "string" || endpoint.length === 0) throw argument(`${name}: endpoint must be a non-empty string`);
    checkPatterns(name, patterns);
    if (receiveHwm !== undefined && (!Number.isInteger(receiveHwm) || receiveHwm < 0))
      throw argument(`${name}: receiveHwm ${String(receiveHwm)}: expected an integer ≥ 0`);
    if (typeof onPacket !== "function" || typeof onInvalid !== "function") throw argument(`${name}: onPacket and onInvalid must be functions`);
    this.#opts = options;
    this.#patterns = [...patterns];
    this.#prefixes = legacyPrefixes(patterns);
    this.#ttlS = ttlS;
    // Validates ttlS now rather than at the first message.
    if (ttlS !== undefined) decodeLegacyTtlCheck(ttlS);
  }

  /** The legacy topic prefixes this subscriber subscribes to (legacyPrefixes of its patterns). */
  get prefixes(): readonly string[] {
    return this.#prefixes;
  }

  /**
   * Replaces the patterns on the running socket: subscribes the new prefixes and unsubscribes
   * the ones no longer needed, without reconnecting (so nothing is lost in between).
   */
  setPatterns(patterns: readonly AddressPattern[]): void {
    checkPatterns(this.#opts.name, patterns);
    const next = legacyPrefixes(patterns);
    const sock = this.#sock;
    if (sock !== null && !this.#closed) {
      const added = next.filter((p) => !this.#prefixes.includes(p));
      const removed = this.#prefixes.filter((p) => !next.includes(p));
      // Subscribe first: a prefix moving from narrow to wide never has a gap.
      if (added.length > 0) sock.subscribe(...added);
      if (removed.length > 0) sock.unsubscribe(...removed);
    }
    this.#patterns = [...patterns];
    this.#prefixes = next;
  }

  /** Connects and starts receiving. Throws for a malformed endpoint. */
  start(): void {
    if (this.#sock !== null || this.#closed) return;
    const sock = new zmq.Subscriber({ receiveHighWaterMark: this.#opts.receiveHwm ?? 1000, linger: 0, maxMessageSize: LEGACY_MAX_FRAME });
    this.#sock = sock;
    try {
      if (this.#opts.onUp !== undefined || this.#opts.onDown !== undefined) void this.#watch(sock);
      sock.connect(this.#opts.endpoint);
      // No prefixes (no pattern can match a legacy address): subscribe to nothing.
      if (this.#prefixes.length > 0) sock.subscribe(...this.#prefixes);
    } catch (error) {
      this.#sock = null;
      sock.close();
      throw error;
    }
    // The subscriptions reach the publisher only once a receive is pending: start it now.
    void this.#receive(sock);
  }

  /** Packets delivered to onPacket. */
  get received(): number {
    return this.#received;
  }

  /** Messages refused (onInvalid). */
  get invalid(): number {
    return this.#invalid;
  }

  /** Messages that translated but matched none of the patterns (dropped silently, like a SUB filter). */
  get filtered(): number {
    return this.#filtered;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sock?.close();
  }

  async #receive(sock: zmq.Subscriber): Promise<void> {
    try {
      for await (const frames of sock) this.#handle(frames);
    } catch (error) {
      if (!this.#closed) this.#error(error);
    }
  }

  #handle(frames: Buffer[]): void {
    const [topic, payload] = frames;
    const out = this.#out;
    try {
      if (frames.length !== 2 || topic === undefined || payload === undefined) {
        // No peer name here, as in decodeLegacy's errors: onInvalid is per peer, and the agent
        // puts the name in front of every refusal.
        throw new LegacyError(LegacyErrorCode.FRAMES, `a legacy message has ${frames.length} frame(s): expected 2 (topic, payload)`);
      }
      decodeLegacy(topic, payload, out, 0, this.#ttlS === undefined ? undefined : { ttlS: this.#ttlS });
    } catch (error) {
      if (!(error instanceof LegacyError)) {
        // Not expected (decodeLegacy only throws LegacyError): report it, keep receiving.
        this.#error(error);
        return;
      }
      this.#invalid++;
      this.#call(() => this.#opts.onInvalid(error));
      return;
    }
    const length = out[OFFSETS.address_len]!;
    let matched = false;
    for (const p of this.#patterns) {
      if (p.matchBytes(out, OFFSETS.address, length)) {
        matched = true;
        break;
      }
    }
    if (!matched) {
      this.#filtered++;
      return;
    }
    this.#received++;
    this.#call(() => this.#opts.onPacket(out, 0));
  }

  async #watch(sock: zmq.Subscriber): Promise<void> {
    try {
      for await (const event of sock.events) {
        if (event.type === "connect" && !this.#up) {
          this.#up = true;
          if (this.#opts.onUp !== undefined) this.#call(() => this.#opts.onUp!());
        } else if (event.type === "disconnect" && this.#up) {
          this.#up = false;
          if (this.#opts.onDown !== undefined) this.#call(() => this.#opts.onDown!());
        } else if (event.type === "connect:retry" && this.#opts.onRetry !== undefined) {
          const retryMs = event.interval;
          this.#call(() => this.#opts.onRetry!(retryMs));
        }
      }
    } catch (error) {
      if (!this.#closed) this.#error(error);
    }
  }

  #call(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.#error(error);
    }
  }

  #error(error: unknown): void {
    const onError = this.#opts.onError;
    if (onError !== undefined) {
      onError(error);
      return;
    }
    queueMicrotask(() => {
      throw error;
    });
  }
}

function argument(message: string): LegacyError {
  return new LegacyError(LegacyErrorCode.ARGUMENT, `LegacySubscriber: ${message}`);
}

function checkPatterns(name: string, patterns: unknown): asserts patterns is readonly AddressPattern[] {
  if (!Array.isArray(patterns) || !patterns.every((p) => typeof (p as Partial<AddressPattern> | null)?.matchBytes === "function"))
    throw argument(`${name}: patterns must be an array of compiled patterns (compilePattern)`);
}

function decodeLegacyTtlCheck(ttlS: number): void {
  if (!Number.isInteger(ttlS) || ttlS < 0 || ttlS > 0xffff_ffff) throw argument(`ttlS ${String(ttlS)}: expected an integer in 0..2^32-1`);
}
