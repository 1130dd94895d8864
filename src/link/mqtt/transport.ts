/**
 * The MQTT transport of an uplink, on MQTT.js 5.x used as a transport only (docs/uplink.md):
 * durability lives in our outbox, never in MQTT.js's in-memory stores.
 *
 * - `writeCache: false` (its number cache costs ~28 MiB RSS), `queueQoSZero: false` (no
 *   unbounded offline queue), `reconnectPeriod: 0`: we reconnect ourselves, with a capped,
 *   jittered backoff (src/link/uplink/backoff.ts).
 * - When the connection goes, every publish without a PUBACK is removed from MQTT.js (its
 *   callback then fails): the uplink sends those packets again from the outbox.
 * - Down patterns make it a persistent session (`clean: false`, QoS 1 subscriptions, MQTT 5
 *   session expiry), so the broker keeps what arrives while we are away (within its own limits:
 *   Mosquitto's `max_queued_messages`, 1000 by default). MQTT 5 subscriptions set "no local":
 *   our own publications never come back to us.
 */
import type { IClientOptions, IClientPublishOptions, ISubscriptionMap, MqttClient } from "mqtt";
import { connect } from "mqtt";
import { mqttTopicToAddress } from "../../address/index.js";
import { packetToJson, readPacket } from "../../packet/index.js";
import { PACKET_SIZE } from "../../packet/layout.js";
import { Backoff } from "../uplink/backoff.js";
import { UplinkError } from "../uplink/errors.js";
import type { TransportHandlers, UplinkTransport } from "../uplink/types.js";

export interface MqttTransportOptions {
  url: string;
  clientId: string;
  username: string | null;
  password: Buffer | null;
  tls: { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized: boolean };
  protocol: "3.1.1" | "5";
  qos: 0 | 1 | 2;
  /** "" or "a/b": topics are PREFIX/qis/..., JSON ones PREFIX/json/qis/... */
  topicPrefix: string;
  /** MQTT topic filters (already translated from address patterns) */
  down: string[];
  inflight: number;
  json: boolean;
  keepaliveS: number;
  sessionExpiryS: number;
  reconnect: { minMs: number; maxMs: number };
  connectTimeoutMs?: number;
}

/** CONNACK codes (3.1.1 return codes and MQTT 5 reason codes) that mean "not these credentials". */
const AUTH_CODES = new Set([4, 5, 0x86, 0x87, 0x8c]);

/** The URL for logs: no user name or password, ever. */
export function brokerName(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    return u.toString().replace(/\/$/, "");
  } catch {
    return url.replace(/\/\/[^@/]*@/, "//");
  }
}

export class MqttTransport implements UplinkTransport {
  readonly name = "mqtt";
  readonly broker: string;
  readonly #o: MqttTransportOptions;
  readonly #backoff: Backoff;
  readonly #prefix: string;
  readonly #jsonPrefix: string;
  #window: number;
  #client: MqttClient | null = null;
  #handlers: TransportHandlers | null = null;
  #timer: NodeJS.Timeout | null = null;
  #up = false;
  #closed = false;
  /** the error that ended the current connection attempt (reported once, at "close") */
  #pendingError: Error | null = null;
  readonly #topics = new Map<string, string>();

  constructor(options: MqttTransportOptions) {
    this.#o = options;
    this.broker = brokerName(options.url);
    this.#backoff = new Backoff(options.reconnect.minMs, options.reconnect.maxMs);
    this.#prefix = options.topicPrefix === "" ? "" : `${options.topicPrefix}/`;
    this.#jsonPrefix = `${this.#prefix}json/`;
    this.#window = options.inflight;
  }

  get window(): number {
    return this.#window;
  }

  /** `qis.iot.hvac.x` → `PREFIX/qis/iot/hvac/x` (cached: an agent publishes few distinct addresses). */
  topicOf(address: string): string {
    let t = this.#topics.get(address);
    if (t === undefined) {
      t = this.#prefix + address.replaceAll(".", "/");
      if (this.#topics.size >= 4096) this.#topics.clear();
      this.#topics.set(address, t);
    }
    return t;
  }

  start(handlers: TransportHandlers): void {
    this.#handlers = handlers;
    const o = this.#o;
    const persistent = o.down.length > 0;
    const opts: IClientOptions = {
      clientId: o.clientId,
      protocolVersion: o.protocol === "5" ? 5 : 4,
      clean: !persistent,
      keepalive: o.keepaliveS,
      reconnectPeriod: 0,
      connectTimeout: o.connectTimeoutMs ?? 10_000,
      writeCache: false,
      queueQoSZero: false,
      resubscribe: false,
      rejectUnauthorized: o.tls.rejectUnauthorized,
      ...(o.username !== null ? { username: o.username } : {}),
      ...(o.password !== null ? { password: o.password } : {}),
      ...(o.tls.ca !== undefined ? { ca: o.tls.ca } : {}),
      ...(o.tls.cert !== undefined ? { cert: o.tls.cert } : {}),
      ...(o.tls.key !== undefined ? { key: o.tls.key } : {}),
      ...(o.protocol === "5" && persistent ? { properties: { sessionExpiryInterval: o.sessionExpiryS } } : {}),
    };
    const client = connect(o.url, opts);
    this.#client = client;
    client.on("connect", (connack) => {
      // Nagle's algorithm holds each small PUBLISH until the previous segment is acknowledged,
      // and the broker delays that ACK (40 ms on Linux): a window of QoS 1 publishes then moves
      // one window per 40 ms (measured: ~450 messages/s instead of ~15k with Mosquitto).
      (client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
      this.#backoff.reset();
      this.#pendingError = null;
      const max = connack.properties?.receiveMaximum;
      this.#window = max !== undefined && max > 0 ? Math.min(o.inflight, max) : o.inflight;
      this.#up = true;
      if (persistent) this.#subscribe(client, connack.sessionPresent);
      this.#handlers?.up();
    });
    client.on("message", (topic, payload) => this.#message(topic, payload));
    client.on("error", (err: Error & { code?: unknown }) => {
      // Kept for "close", which always follows a failed connection: one report per attempt.
      this.#pendingError = this.#classify(err);
    });
    client.on("close", () => this.#closedConnection());
    // MQTT.js may also emit "disconnect" (an MQTT 5 server DISCONNECT): "close" follows it.
  }

  #classify(err: Error & { code?: unknown }): UplinkError {
    if (typeof err.code === "number" && AUTH_CODES.has(err.code))
      return new UplinkError("ERR_UPLINK_AUTH", this.name, `mqtt broker ${this.broker} refused the credentials of client "${this.#o.clientId}"${this.#o.username !== null ? ` (user "${this.#o.username}")` : ""}: ${err.message}; retrying`, { cause: err });
    return new UplinkError("ERR_UPLINK_CONNECT", this.name, `mqtt broker ${this.broker}: ${err.message}`, { cause: err });
  }

  #subscribe(client: MqttClient, sessionPresent: boolean): void {
    // With a session present the broker still has our subscriptions; subscribing again is
    // harmless and covers a changed list.
    void sessionPresent;
    const map: ISubscriptionMap = {};
    for (const f of this.#o.down) map[this.#prefix + f] = this.#o.protocol === "5" ? { qos: 1, nl: true } : { qos: 1 };
    client.subscribe(map, (err, granted) => {
      if (err) {
        if (!this.#closed) this.#handlers?.error(new UplinkError("ERR_UPLINK_CONNECT", this.name, `mqtt broker ${this.broker}: subscribe failed: ${err.message}`, { cause: err }));
        return;
      }
      for (const g of granted ?? []) {
        if (g.qos >= 0x80) this.#handlers?.error(new UplinkError("ERR_UPLINK_CONNECT", this.name, `mqtt broker ${this.broker} refused the subscription ${JSON.stringify(g.topic)} (reason ${g.qos})`));
      }
    });
  }

  #message(topic: string, payload: Buffer): void {
    let address: string | null = null;
    if (topic.startsWith(this.#prefix) && !topic.startsWith(this.#jsonPrefix)) {
      try {
        address = mqttTopicToAddress(topic.slice(this.#prefix.length));
      } catch {
        address = null;
      }
    }
    this.#handlers?.message(topic, address, payload);
  }

  #closedConnection(): void {
    const client = this.#client;
    const wasUp = this.#up;
    this.#up = false;
    if (!this.#closed) {
      const err = this.#pendingError ?? (wasUp ? new UplinkError("ERR_UPLINK_CONNECT", this.name, `mqtt broker ${this.broker}: connection lost`) : null);
      this.#pendingError = null;
      // First: the uplink takes everything in flight back into its outbox, so the failures below are expected ones.
      this.#handlers?.down(err ?? new UplinkError("ERR_UPLINK_CONNECT", this.name, `mqtt broker ${this.broker}: connection closed`));
    }
    if (client !== null) {
      // Every publish still waiting for its PUBACK fails now (its packets are sent again from the
      // outbox): MQTT.js would otherwise keep them in memory and resend them itself.
      for (const id of Object.keys(client.outgoing)) client.removeOutgoingMessage(Number(id));
    }
    if (this.#closed) return;
    if (this.#timer === null) {
      this.#timer = setTimeout(() => {
        this.#timer = null;
        if (!this.#closed) this.#client?.reconnect();
      }, this.#backoff.next());
    }
  }

  send(address: string, payload: Buffer, count: number, done: (err: Error | null) => void): void {
    const client = this.#client;
    if (client === null || !this.#up) {
      done(new UplinkError("ERR_UPLINK_CONNECT", this.name, `mqtt broker ${this.broker}: not connected`));
      return;
    }
    const opts: IClientPublishOptions = { qos: this.#o.qos };
    client.publish(this.topicOf(address), payload, opts, (err) => done(err ?? null));
    if (this.#o.json) this.#publishJson(client, address, payload, count);
  }

  /** Dashboards' copy: each packet's JSON on PREFIX/json/..., QoS 0, best effort (never in the outbox). */
  #publishJson(client: MqttClient, address: string, payload: Buffer, count: number): void {
    const topic = this.#jsonPrefix + address.replaceAll(".", "/");
    for (let i = 0; i < count; i++) {
      const json = JSON.stringify(packetToJson(readPacket(payload, i * PACKET_SIZE)));
      client.publish(topic, json, { qos: 0 });
    }
  }

  close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const client = this.#client;
    if (client === null) return Promise.resolve();
    return new Promise((resolve) => {
      // force: no waiting for PUBACKs that the outbox does not need (it keeps those packets).
      client.end(true, {}, () => resolve());
    });
  }
}
