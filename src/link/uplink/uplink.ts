/**
 * The Uplink of every broker: a transport (src/link/mqtt/transport.ts, ...) driven from a
 * durable outbox (src/link/uplink/outbox.ts).
 *
 *   agent ─publish→ stage ─flush→ outbox file ─take→ messages (≤ batch packets of one address)
 *         ─send→ broker ─ack→ outbox.ack (the records leave)      ─fail/disconnect→ sent again
 *   broker ─message→ checked (whole packets, valid, of the topic's address) → sink (the agent)
 *
 * Sending runs whenever the transport is up: at most `window` messages in flight and at most
 * `drainRate` packets per second, so that after a reconnect the backlog drains by itself
 * without waiting for new traffic, and without flooding the broker.
 */
import { EventEmitter } from "node:events";
import type { AddressPattern } from "../../address/index.js";
import { codec } from "../../packet/codec.js";
import { OFFSETS, PACKET_SIZE } from "../../packet/layout.js";
import type { Logger } from "../../agent/log.js";
import { QisError } from "../../errors.js";
import { UplinkError } from "./errors.js";
import type { Outbox } from "./outbox.js";
import type { TransportHandlers, Uplink, UplinkSink, UplinkState, UplinkStateEvent, UplinkStats, UplinkTransport } from "./types.js";

export interface UplinkOptions {
  /** packets per message at most */
  batch: number;
  /** packets sent per second at most; 0: no limit */
  drainRate: number;
  /** address patterns of the packets taken by publish() */
  up: readonly AddressPattern[];
  /** where the packets that come down go; null: none are subscribed */
  sink: UplinkSink | null;
  /** logs; none when absent (a library stays silent) */
  logger?: Logger;
}

/** Packets taken from the outbox for one address, becoming one message. */
interface Group {
  address: string;
  payload: Buffer;
  cursors: Float64Array;
  count: number;
}

/** Topics whose malformed messages are counted apart, at most (the rest under "(other)"). */
const MAX_TOPICS_COUNTED = 256;
/** Longest wait for rate tokens, so that a rate change or a close is never far off. */
const MAX_WAIT_MS = 100;

export class OutboxUplink extends EventEmitter implements Uplink {
  readonly name: string;
  readonly broker: string;
  readonly outbox: Outbox;
  readonly #transport: UplinkTransport;
  readonly #options: UplinkOptions;
  readonly #log: Logger | null;
  #state: UplinkState = "connecting";
  /** bumped at each disconnect: verdicts of messages sent before it only ever acknowledge */
  #generation = 0;
  #inFlight = 0;
  /** taken and not yet sent, by address; #full: groups of `batch` packets ready to leave */
  readonly #groups = new Map<string, Group>();
  #full: Group[] = [];
  #grouped = 0;
  /**
   * Message buffers (batch × 512 bytes) given back once their message has its verdict, for the
   * next groups: at 64 packets per message a fresh 32 KiB buffer per message was a tenth of the
   * sending process's time in garbage collection.
   */
  readonly #payloads: Buffer[] = [];
  #pumpScheduled = false;
  #commitScheduled = false;
  #waitTimer: NodeJS.Timeout | null = null;
  #tokens: number;
  #refilledAt = performance.now();
  /** an episode of drops (a full outbox) is logged once, when it starts */
  #dropping = false;
  #authFailing = false;
  #unsendableSaid = false;
  #lastError: UplinkStats["lastError"] = null;
  readonly #counts = { connects: 0, disconnects: 0 };
  readonly #sent = { messages: 0, packets: 0, acked: 0, failed: 0, peakInFlight: 0, duplicates: 0 };
  readonly #received = { messages: 0, packets: 0, malformed: 0, malformedByTopic: {} as Record<string, number> };
  #topicsCounted = 0;
  #codes = new Uint8Array(64);
  readonly #commit = (): void => {
    this.#commitScheduled = false;
    try {
      this.flush();
    } catch (err) {
      this.#report(err as Error);
    }
  };

  constructor(transport: UplinkTransport, outbox: Outbox, options: UplinkOptions) {
    super();
    this.name = transport.name;
    this.broker = transport.broker;
    this.#transport = transport;
    this.outbox = outbox;
    this.#options = options;
    this.#log = options.logger ?? null;
    this.#tokens = this.#burst();
    outbox.onDrop = (n) => {
      if (this.#dropping) return;
      this.#dropping = true;
      this.#log?.warn("uplink outbox full: dropping the oldest packets", { uplink: this.name, capacity: outbox.capacity, dropped: n, total: outbox.counters.dropped });
    };
    if (outbox.resumed > 0) this.#log?.info("uplink outbox resumed", { uplink: this.name, packets: outbox.resumed, path: outbox.path });
  }

  /** Starts connecting. */
  start(): void {
    const handlers: TransportHandlers = {
      up: () => this.#up(),
      down: (err) => this.#down(err),
      message: (topic, address, payload) => this.#message(topic, address, payload),
      error: (err) => this.#report(err),
      malformed: (topic, err) => {
        if (this.#state === "closed") return;
        this.#received.messages++;
        this.#malformed(topic, 1, new QisError(err.code, `${this.name} ${this.broker}: dropped a malformed message on ${JSON.stringify(topic)}: ${err.message}`, { cause: err }));
      },
    };
    this.#transport.start(handlers);
  }

  get state(): UplinkState {
    return this.#state;
  }

  publish(buf: Uint8Array, offset: number): boolean {
    if (this.#state === "closed") return false;
    const up = this.#options.up;
    const at = offset + OFFSETS.address;
    const len = buf[offset + OFFSETS.address_len]!;
    let match = false;
    for (let i = 0; i < up.length; i++) {
      if (up[i]!.matchBytes(buf, at, len)) {
        match = true;
        break;
      }
    }
    if (!match) return false;
    this.outbox.stage(buf, offset);
    // The end of this synchronous run at the latest: before any I/O callback, so before anyone
    // outside this process can have been told that the packet was accepted.
    if (!this.#commitScheduled) {
      this.#commitScheduled = true;
      queueMicrotask(this.#commit);
    }
    return true;
  }

  flush(): void {
    if (this.outbox.staged === 0) return;
    this.outbox.commit();
    if (this.#dropping && this.outbox.size < this.outbox.capacity) this.#dropping = false;
    this.#schedulePump();
  }

  // ===========================================================================================
  // Sending

  /** Packets per message now: the config's batch, capped by the broker's own limit (NATS max_payload). */
  #batch(): number {
    const max = this.#transport.maxBatch;
    return max === undefined ? this.#options.batch : Math.max(1, Math.min(this.#options.batch, max));
  }

  #burst(): number {
    // A second's worth would let a reconnect send a whole second of backlog at once: a tenth.
    return Math.max(this.#options.batch, Math.ceil(this.#options.drainRate / 10));
  }

  #schedulePump(): void {
    if (this.#pumpScheduled || this.#state !== "connected") return;
    this.#pumpScheduled = true;
    setImmediate(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  /**
   * Sends while the window has room. Packets are taken from the outbox (oldest first) into one
   * group per address, at most window × batch packets ahead; a group leaves as one message when
   * it holds `batch` packets, or, when nothing more can be taken, the largest group leaves as it
   * is. So messages stay full under load (a take of one free message's worth, split by address,
   * would make many small ones) and a lone live packet still leaves at once.
   */
  #pump(): void {
    this.outbox.trim();
    if (this.#state !== "connected" || this.#waitTimer !== null) return;
    const window = this.#transport.window;
    const batch = this.#batch();
    const rate = this.#options.drainRate;
    while (this.#inFlight < window) {
      const full = this.#full.shift();
      if (full !== undefined) {
        this.#sendGroup(full);
        continue;
      }
      const room = window * batch - this.#grouped;
      const backlog = this.outbox.backlog;
      if (room > 0 && backlog > 0) {
        let max = Math.min(room, 4096);
        if (rate > 0) {
          const now = performance.now();
          this.#tokens = Math.min(this.#burst(), this.#tokens + ((now - this.#refilledAt) * rate) / 1000);
          this.#refilledAt = now;
          max = Math.min(max, Math.floor(this.#tokens));
        }
        const want = Math.min(batch, backlog, room);
        if (max >= want) {
          const taken = this.outbox.take(max);
          if (rate > 0) this.#tokens -= taken.count;
          this.#group(taken.packets, taken.cursors, taken.count);
          if (taken.count > 0) continue;
        } else {
          // Rate-limited: wait for a message's worth of tokens rather than send slivers now.
          const wait = Math.max(1, Math.min(MAX_WAIT_MS, Math.ceil(((want - this.#tokens) * 1000) / rate)));
          this.#waitTimer = setTimeout(() => {
            this.#waitTimer = null;
            this.#pump();
          }, wait);
          return;
        }
      }
      // Nothing more to take now: the largest group leaves as it is.
      let best: Group | undefined;
      for (const g of this.#groups.values()) if (best === undefined || g.count > best.count) best = g;
      if (best === undefined) return;
      this.#groups.delete(best.address);
      this.#sendGroup(best);
    }
  }

  /** Adds taken packets to their address's group; full groups queue for sending. */
  #group(packets: Buffer, cursors: Float64Array, count: number): void {
    const batch = this.#batch();
    const size = this.#options.batch;
    for (let i = 0; i < count; i++) {
      const o = i * PACKET_SIZE;
      const address = packets.toString("latin1", o + OFFSETS.address, o + OFFSETS.address + packets[o + OFFSETS.address_len]!);
      let g = this.#groups.get(address);
      if (g === undefined) {
        g = { address, payload: this.#payloads.pop() ?? Buffer.allocUnsafe(size * PACKET_SIZE), cursors: new Float64Array(size), count: 0 };
        this.#groups.set(address, g);
      }
      packets.copy(g.payload, g.count * PACKET_SIZE, o, o + PACKET_SIZE);
      g.cursors[g.count++] = cursors[i]!;
      this.#grouped++;
      if (g.count === batch) {
        // Full: queued to leave as it is; the next packet of this address starts a new group.
        this.#groups.delete(address);
        this.#full.push(g);
      }
    }
  }

  #sendGroup(g: Group): void {
    this.#grouped -= g.count;
    const payload = g.count * PACKET_SIZE === g.payload.length ? g.payload : g.payload.subarray(0, g.count * PACKET_SIZE);
    this.#send(g.address, payload, g.count === g.cursors.length ? g.cursors : g.cursors.subarray(0, g.count), g.payload);
  }

  /** `whole`: the pooled buffer `payload` is part of, given back once the message has its verdict. */
  #send(address: string, payload: Buffer, cursors: Float64Array, whole: Buffer): void {
    const generation = this.#generation;
    this.#inFlight++;
    if (this.#inFlight > this.#sent.peakInFlight) this.#sent.peakInFlight = this.#inFlight;
    this.#sent.messages++;
    this.#sent.packets += cursors.length;
    let settled = false;
    const done = (err: Error | null, duplicate?: boolean): void => {
      if (settled) return;
      settled = true;
      // The client is done with it (written and acknowledged, or given up on).
      if (this.#payloads.length < 2 * this.#transport.window && whole.length === this.#options.batch * PACKET_SIZE) this.#payloads.push(whole);
      if (err === null) {
        // A broker's acknowledgement is true whenever it arrives.
        this.outbox.ack(cursors);
        this.#sent.acked++;
        if (duplicate === true) this.#sent.duplicates++;
      } else if (generation === this.#generation) {
        this.outbox.release(cursors);
        this.#sent.failed++;
      }
      if (generation !== this.#generation) return;
      this.#inFlight--;
      if (err !== null && this.#state === "connected") this.#report(new UplinkError("ERR_UPLINK_PUBLISH", this.name, `${this.name} ${this.broker}: publish to ${address} not acknowledged: ${err.message}`, { cause: err }));
      this.#schedulePump();
    };
    try {
      this.#transport.send(address, payload, cursors.length, done);
    } catch (err) {
      done(err as Error);
    }
  }

  // ===========================================================================================
  // Connection state

  #up(): void {
    if (this.#state === "closed") return;
    this.#counts.connects++;
    if (this.#authFailing) this.#log?.info("uplink credentials accepted", { uplink: this.name, broker: this.broker });
    this.#authFailing = false;
    this.#setState("connected");
    this.#schedulePump();
  }

  #down(err: Error | null): void {
    if (this.#state === "closed") return;
    const wasUp = this.#state === "connected";
    if (wasUp) this.#counts.disconnects++;
    // Whatever was in flight gets no verdict now: all of it is sent again, from the outbox.
    this.#generation++;
    this.#inFlight = 0;
    this.#groups.clear();
    this.#full = [];
    this.#grouped = 0;
    this.outbox.releaseAll();
    if (this.#waitTimer !== null) {
      clearTimeout(this.#waitTimer);
      this.#waitTimer = null;
    }
    if (err !== null) this.#report(err);
    if (wasUp || this.#state === "connecting") this.#setState("offline", err);
  }

  #setState(state: UplinkState, err: Error | null = null): void {
    if (this.#state === state) return;
    this.#state = state;
    const e: UplinkStateEvent = { name: this.name, broker: this.broker, state };
    if (err !== null) {
      e.code = (err as { code?: string }).code ?? "ERR_UPLINK_CONNECT";
      e.reason = err.message;
    }
    if (state === "connected") this.#log?.info("uplink connected", { uplink: this.name, broker: this.broker, backlog: this.outbox.backlog });
    else if (state === "offline") this.#log?.warn("uplink offline", { uplink: this.name, broker: this.broker, code: e.code, reason: e.reason, held: this.outbox.size });
    this.emit("state", e);
  }

  /** Logs (once per episode for refused credentials) and emits an error; never throws. */
  #report(err: Error): void {
    const code = (err as { code?: string }).code ?? "ERR_UPLINK_CONNECT";
    this.#lastError = { code, message: err.message, at: Date.now() };
    if (code === "ERR_UPLINK_AUTH") {
      if (!this.#authFailing) this.#log?.error(err.message, { uplink: this.name, broker: this.broker, code });
      this.#authFailing = true;
    } else if (code === "ERR_UPLINK_PAYLOAD") {
      this.#log?.debug(err.message, { uplink: this.name, code });
    } else if (code === "ERR_UPLINK_STREAM") {
      // A stream or consumer that is not as configured: worth a line each time it is found.
      this.#log?.warn(err.message, { uplink: this.name, broker: this.broker, code });
    } else if (code === "ERR_REFERENCE_JSON_ADDRESS") {
      // A packet the codec has no form for: its up patterns are wider than it can carry. Once at warn.
      if (!this.#unsendableSaid) this.#log?.warn(`${err.message} (dropped from the outbox; counted in codec.unsendable)`, { uplink: this.name, code });
      else this.#log?.debug(err.message, { uplink: this.name, code });
      this.#unsendableSaid = true;
    } else if (code === "ERR_OUTBOX_IO") {
      // Packets were not accepted: never a debug line.
      this.#log?.error(err.message, { uplink: this.name, code });
    } else this.#log?.debug("uplink error", { uplink: this.name, broker: this.broker, code, reason: err.message });
    if (this.listenerCount("error") > 0) this.emit("error", err);
  }

  // ===========================================================================================
  // Down

  #message(topic: string, address: string | null, payload: Buffer): boolean {
    if (this.#state === "closed") return false;
    this.#received.messages++;
    const count = Math.floor(payload.length / PACKET_SIZE);
    if (address === null || payload.length === 0 || payload.length % PACKET_SIZE !== 0) {
      const why = address === null ? "its topic names no valid address" : `${payload.length} bytes is not a whole number of 512-byte packets`;
      this.#malformed(topic, Math.max(1, count), this.#payloadError(topic, why));
      return true;
    }
    if (this.#codes.length < count) this.#codes = new Uint8Array(count);
    const codes = this.#codes.subarray(0, count);
    codec.verifyBatch(payload, codes);
    let bad = 0;
    let firstBad = "";
    for (let i = 0; i < count; i++) {
      if (codes[i] === 0) {
        // A packet under another address's topic would slip past the subscriptions: refused.
        const o = i * PACKET_SIZE;
        const len = payload[o + OFFSETS.address_len]!;
        if (len !== address.length || payload.toString("latin1", o + OFFSETS.address, o + OFFSETS.address + len) !== address) {
          codes[i] = 255;
          firstBad ||= `packet ${i} has another address than its topic`;
        }
      } else firstBad ||= `packet ${i} fails verification (code ${codes[i]})`;
      if (codes[i] !== 0) bad++;
    }
    if (bad > 0) this.#malformed(topic, bad, this.#payloadError(topic, firstBad));
    if (bad < count) {
      if (this.#options.sink?.deliver(this.name, payload, count, codes) === false) return false;
      this.#received.packets += count - bad;
    }
    return true;
  }

  #payloadError(topic: string, why: string): UplinkError {
    return new UplinkError("ERR_UPLINK_PAYLOAD", this.name, `${this.name} ${this.broker}: dropped a malformed message on ${JSON.stringify(topic)}: ${why}`);
  }

  #malformed(topic: string, packets: number, err: Error & { code: string }): void {
    this.#received.malformed += packets;
    const byTopic = this.#received.malformedByTopic;
    let key = topic;
    if (byTopic[key] === undefined) {
      if (this.#topicsCounted >= MAX_TOPICS_COUNTED) key = "(other)";
      else this.#topicsCounted++;
    }
    const first = byTopic[key] === undefined;
    byTopic[key] = (byTopic[key] ?? 0) + packets;
    // Said once per topic at warn (a misbehaving client is worth one line), then at debug.
    if (first) this.#log?.warn(err.message, { uplink: this.name, code: err.code, topic });
    this.#lastError = { code: err.code, message: err.message, at: Date.now() };
    if (this.listenerCount("error") > 0) this.emit("error", err);
  }

  // ===========================================================================================

  stats(): UplinkStats {
    const o = this.outbox;
    return {
      name: this.name,
      broker: this.broker,
      state: this.#state,
      ...this.#counts,
      lastError: this.#lastError,
      outbox: { path: o.path, capacity: o.capacity, held: o.size, backlog: o.backlog, inFlight: o.inFlight, resumed: o.resumed, ...o.counters },
      sent: { ...this.#sent },
      received: { ...this.#received, malformedByTopic: { ...this.#received.malformedByTopic } },
      ...(this.#transport.codecStats !== undefined ? { codec: this.#transport.codecStats() } : {}),
    };
  }

  async close(): Promise<void> {
    if (this.#state === "closed") return;
    let commitError: unknown = null;
    try {
      this.flush();
    } catch (err) {
      commitError = err;
    }
    this.#state = "closed";
    if (this.#waitTimer !== null) clearTimeout(this.#waitTimer);
    this.#waitTimer = null;
    try {
      await this.#transport.close();
    } finally {
      this.outbox.releaseAll();
      this.outbox.close();
      this.emit("state", { name: this.name, broker: this.broker, state: "closed" } satisfies UplinkStateEvent);
    }
    if (commitError !== null) throw commitError;
  }
}
