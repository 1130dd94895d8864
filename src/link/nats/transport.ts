/**
 * The NATS JetStream transport of an uplink (docs/uplink.md), on the v3 client packages
 * (@nats-io/transport-node + @nats-io/jetstream) used as a transport only: durability lives in
 * our outbox, the stream and the durable consumers.
 *
 * - One connection at a time, with the client's own reconnect off: we reconnect ourselves with a
 *   capped, jittered backoff (src/link/uplink/backoff.ts), so that every publish in flight fails
 *   when a connection goes (its packets are sent again from the outbox) and each connection
 *   starts from a known state: stream checked, consumers resumed.
 * - Up: subject = address, payload whole 512-byte packets of that address, `Nats-Msg-Id` the
 *   identity of the first packet (`<node id hex>-<seq>`, `-<count>` added for several), so that
 *   a resend inside the stream's duplicate window is dropped by the server. A publish counts only
 *   once its PubAck arrives.
 * - Down: one durable pull consumer per pattern (`<node id>-<pattern, . as ->`), explicit acks;
 *   each message is acknowledged once the uplink has handed it to the agent (verified, stored,
 *   synthesized: all synchronous there), and handed back (nak) when that threw.
 */
import { AuthorizationError, connect, credsAuthenticator, nkeyAuthenticator, UserAuthenticationExpiredError, type ConnectionOptions, type NatsConnection } from "@nats-io/transport-node";
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  jetstream,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type StreamConfig,
  type StreamInfo,
} from "@nats-io/jetstream";
import { isValidAddress } from "../../address/index.js";
import type { NatsUplinkConfig } from "../../agent/config-defaults.js";
import { codec } from "../../packet/codec.js";
import { OFFSETS, PACKET_SIZE } from "../../packet/layout.js";
import { Backoff } from "../uplink/backoff.js";
import { UplinkError } from "../uplink/errors.js";
import type { CodecStats, TransportHandlers, UplinkTransport } from "../uplink/types.js";
import { decodeReferenceJson, encodeReferenceJson, type ReferenceJsonOptions } from "./reference-json.js";

/** The stream's settings, as `uplinks.nats.stream` resolves them (docs/uplink.md). */
export type NatsStreamOptions = NatsUplinkConfig["stream"];

export interface NatsTransportOptions {
  servers: string[];
  name: string;
  /** credentials, already read from their files or variables (never logged) */
  auth: { user: string; pass: string } | { token: string } | { nkeySeed: Uint8Array } | { creds: Uint8Array } | null;
  /** null: plain TCP unless a server says tls:// */
  tls: { ca?: string; cert?: string; key?: string } | null;
  stream: NatsStreamOptions;
  /** durable pull consumers: name and filter subject */
  consumers: { name: string; subject: string }[];
  consumer: { ackWaitS: number; maxAckPending: number; fetch: number };
  inflight: number;
  ackTimeoutMs: number;
  reconnect: { minMs: number; maxMs: number };
  connectTimeoutMs?: number;
  /** null: messages are whole 512-byte packets; else the reference router's JSON, one packet each */
  referenceJson: ReferenceJsonOptions | null;
}

/** Room kept in max_payload for the headers (Nats-Msg-Id) of a message. */
const HEADER_ROOM = 256;
const NS = 1_000_000_000;

/** A JetStream API error of this code (class names are minified in the bundle: never compared). */
function isApiError(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}

/** What a server list looks like in logs: no credentials, ever (the config refuses them anyway). */
export function serversName(servers: readonly string[]): string {
  return servers.map((s) => s.replace(/\/\/[^@/]*@/, "//")).join(",");
}

/** `<node id hex>-<seq>` of the packet at `offset`, `-<count>` added for a message of several. */
export function messageId(payload: Buffer, count: number): string {
  const node = payload.toString("hex", OFFSETS.node_id, OFFSETS.node_id + 16);
  const seq = payload.readBigUInt64LE(OFFSETS.seq);
  // The first packet alone would not do for a batch: a resend that groups more packets behind
  // the same first one would be dropped whole as a duplicate, and its new packets lost.
  return count === 1 ? `${node}-${seq}` : `${node}-${seq}-${count}`;
}

/** The stream settings we want, in JetStream's terms. */
function streamConfig(s: NatsStreamOptions): Partial<StreamConfig> & { name: string } {
  return {
    name: s.name,
    subjects: s.subjects,
    retention: RetentionPolicy.Limits,
    max_bytes: s.maxBytes,
    max_age: s.maxAgeS * NS,
    discard: s.discard === "old" ? DiscardPolicy.Old : DiscardPolicy.New,
    storage: s.storage === "file" ? StorageType.File : StorageType.Memory,
    num_replicas: s.replicas,
    duplicate_window: s.duplicateWindowS * NS,
  };
}

/** Each setting of an existing stream that differs from ours, in words. */
export function streamDifferences(have: Partial<StreamConfig>, want: Partial<StreamConfig>): string[] {
  const out: string[] = [];
  const keys = ["subjects", "max_bytes", "max_age", "discard", "storage", "num_replicas", "duplicate_window"] as const;
  for (const k of keys) {
    const a = have[k];
    const b = want[k];
    const same = Array.isArray(a) && Array.isArray(b) ? [...a].sort().join(" ") === [...b].sort().join(" ") : a === b;
    if (!same) out.push(`${k} is ${JSON.stringify(a)}, the config says ${JSON.stringify(b)}`);
  }
  return out;
}

export class NatsTransport implements UplinkTransport {
  readonly name = "nats";
  readonly broker: string;
  readonly #o: NatsTransportOptions;
  readonly #backoff: Backoff;
  #maxBatch: number | undefined;
  #nc: NatsConnection | null = null;
  #js: JetStreamClient | null = null;
  #handlers: TransportHandlers | null = null;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  #up = false;
  readonly #consuming: ConsumerMessages[] = [];
  /** where a JSON packet that came down is translated (reference-json) */
  readonly #packet = Buffer.alloc(PACKET_SIZE);
  readonly #codecStats: CodecStats = { name: "reference-json", shortened: 0, unsendable: 0 };

  constructor(options: NatsTransportOptions) {
    this.#o = options;
    this.broker = serversName(options.servers);
    this.#backoff = new Backoff(options.reconnect.minMs, options.reconnect.maxMs);
  }

  get window(): number {
    return this.#o.inflight;
  }

  get maxBatch(): number | undefined {
    // The reference router reads one JSON packet per message.
    return this.#o.referenceJson !== null ? 1 : this.#maxBatch;
  }

  get codecStats(): (() => CodecStats) | undefined {
    return this.#o.referenceJson !== null ? () => ({ ...this.#codecStats }) : undefined;
  }

  start(handlers: TransportHandlers): void {
    this.#handlers = handlers;
    void this.#connect();
  }

  #connectionOptions(): ConnectionOptions {
    const o = this.#o;
    const opts: ConnectionOptions = {
      servers: o.servers,
      name: o.name,
      reconnect: false,
      timeout: o.connectTimeoutMs ?? 10_000,
      // A server gone without a TCP close (a cut link) is noticed after 2 unanswered pings:
      // ~1 min instead of the client's default ~4 min, while the outbox fills meanwhile anyway.
      pingInterval: 30_000,
      maxPingOut: 2,
      // Our own publications must not come back through a plain subscription; JetStream
      // consumers are not affected (they deliver what the stream holds, ours too: the store drops those).
      noEcho: true,
    };
    const a = o.auth;
    if (a !== null) {
      if ("user" in a) Object.assign(opts, { user: a.user, pass: a.pass });
      else if ("token" in a) opts.token = a.token;
      else if ("nkeySeed" in a) opts.authenticator = nkeyAuthenticator(a.nkeySeed);
      else opts.authenticator = credsAuthenticator(a.creds);
    }
    if (o.tls !== null) {
      opts.tls = {};
      if (o.tls.ca !== undefined) opts.tls.caFile = o.tls.ca;
      if (o.tls.cert !== undefined) opts.tls.certFile = o.tls.cert;
      if (o.tls.key !== undefined) opts.tls.keyFile = o.tls.key;
    }
    return opts;
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    let nc: NatsConnection;
    try {
      nc = await connect(this.#connectionOptions());
    } catch (err) {
      this.#failed(this.#classify(err as Error));
      return;
    }
    if (this.#closed) {
      await nc.close().catch(() => {});
      return;
    }
    this.#nc = nc;
    void nc.closed().then((err) => this.#lost(nc, err ?? null));
    try {
      const info = nc.info;
      if (info !== undefined && info.jetstream !== true) throw new UplinkError("ERR_UPLINK_STREAM", this.name, `nats server ${this.broker} has no JetStream (start it with -js); retrying`);
      const max = info?.max_payload;
      this.#maxBatch = max !== undefined && max > 0 ? Math.max(1, Math.floor((max - HEADER_ROOM) / PACKET_SIZE)) : undefined;
      const jsm = await jetstreamManager(nc, { timeout: this.#o.ackTimeoutMs });
      await this.#ensureStream(jsm);
      this.#js = jetstream(nc, { timeout: this.#o.ackTimeoutMs });
      for (const c of this.#o.consumers) await this.#ensureConsumer(jsm, c.name, c.subject);
    } catch (err) {
      // Without its stream the uplink cannot work: this connection is given up, and retried.
      const e = err instanceof UplinkError ? err : new UplinkError("ERR_UPLINK_STREAM", this.name, `nats server ${this.broker}: stream ${this.#o.stream.name}: ${(err as Error).message}; retrying`, { cause: err });
      this.#pending = e;
      await nc.close().catch(() => {});
      return;
    }
    if (this.#closed || nc.isClosed()) return;
    this.#backoff.reset();
    this.#up = true;
    this.#handlers?.up();
    for (const c of this.#o.consumers) void this.#consume(nc, c.name);
  }

  /** The error that ended the connection being set up, reported when it closes. */
  #pending: UplinkError | null = null;

  #classify(err: Error): UplinkError {
    if (err instanceof AuthorizationError || err instanceof UserAuthenticationExpiredError || /authorization violation|authentication/i.test(err.message))
      return new UplinkError("ERR_UPLINK_AUTH", this.name, `nats server ${this.broker} refused the credentials of client "${this.#o.name}": ${err.message}; retrying`, { cause: err });
    return new UplinkError("ERR_UPLINK_CONNECT", this.name, `nats server ${this.broker}: ${err.message}`, { cause: err });
  }

  async #ensureStream(jsm: JetStreamManager): Promise<void> {
    const want = streamConfig(this.#o.stream);
    let info: StreamInfo | null = null;
    try {
      info = await jsm.streams.info(want.name);
    } catch (err) {
      if (!isApiError(err, JetStreamApiCodes.StreamNotFound)) throw err;
    }
    if (info === null) {
      await jsm.streams.add(want);
      return;
    }
    const diffs = streamDifferences(info.config, want);
    if (diffs.length === 0) return;
    const h = this.#handlers;
    if (this.#o.stream.update) {
      try {
        await jsm.streams.update(want.name, want);
        h?.error(new UplinkError("ERR_UPLINK_STREAM", this.name, `nats server ${this.broker}: stream ${want.name} updated (stream.update): ${diffs.join("; ")}`));
        return;
      } catch (err) {
        h?.error(new UplinkError("ERR_UPLINK_STREAM", this.name, `nats server ${this.broker}: stream ${want.name} could not be updated (${(err as Error).message}); used as it is: ${diffs.join("; ")}`, { cause: err }));
        return;
      }
    }
    for (const d of diffs) h?.error(new UplinkError("ERR_UPLINK_STREAM", this.name, `nats server ${this.broker}: stream ${want.name} exists with other settings, used as it is (stream.update: true changes it): ${d}`));
  }

  async #ensureConsumer(jsm: JetStreamManager, name: string, subject: string): Promise<void> {
    const c = this.#o.consumer;
    const config = {
      durable_name: name,
      filter_subject: subject,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: c.ackWaitS * NS,
      max_ack_pending: c.maxAckPending,
    };
    let exists = true;
    try {
      const info = await jsm.consumers.info(this.#o.stream.name, name);
      if (info.config.ack_wait === config.ack_wait && info.config.max_ack_pending === config.max_ack_pending && info.config.filter_subject === subject) return;
    } catch (err) {
      if (!isApiError(err, JetStreamApiCodes.ConsumerNotFound)) throw err;
      exists = false;
    }
    if (exists) await jsm.consumers.update(this.#o.stream.name, name, { ack_wait: config.ack_wait, max_ack_pending: config.max_ack_pending, filter_subject: subject });
    else await jsm.consumers.add(this.#o.stream.name, config);
  }

  async #consume(nc: NatsConnection, name: string): Promise<void> {
    try {
      const consumer = await jetstream(nc).consumers.get(this.#o.stream.name, name);
      if (nc.isClosed() || this.#closed) return;
      const messages = await consumer.consume({ max_messages: this.#o.consumer.fetch, callback: (m) => this.#message(m) });
      this.#consuming.push(messages);
      void messages.closed().then(() => {
        const i = this.#consuming.indexOf(messages);
        if (i >= 0) this.#consuming.splice(i, 1);
      });
    } catch (err) {
      if (!nc.isClosed() && !this.#closed) this.#handlers?.error(new UplinkError("ERR_UPLINK_CONNECT", this.name, `nats server ${this.broker}: consumer ${name}: ${(err as Error).message}`, { cause: err }));
    }
  }

  #message(m: JsMsg): void {
    const subject = m.subject;
    let address = isValidAddress(subject) ? subject : null;
    let payload = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength);
    const json = this.#o.referenceJson;
    if (json !== null) {
      try {
        address = decodeReferenceJson(subject, payload, this.#packet, 0, json);
        payload = this.#packet;
      } catch (err) {
        // Counted and dropped: delivered again it would fail again.
        this.#handlers?.malformed(subject, err as Error & { code: string });
        m.ack();
        return;
      }
    }
    let taken: boolean;
    try {
      taken = this.#handlers?.message(subject, address, payload) ?? false;
    } catch {
      taken = false; // the store threw
    }
    // Not stored (closing, or the store threw): handed back, delivered again later.
    if (taken) m.ack();
    else m.nak(1000);
  }

  #lost(nc: NatsConnection, err: Error | null): void {
    if (this.#nc !== nc) return;
    this.#nc = null;
    this.#js = null;
    const wasUp = this.#up;
    this.#up = false;
    this.#consuming.length = 0;
    if (this.#closed) return;
    const e = this.#pending ?? (err !== null ? this.#classify(err) : new UplinkError("ERR_UPLINK_CONNECT", this.name, `nats server ${this.broker}: connection ${wasUp ? "lost" : "closed"}`));
    this.#pending = null;
    this.#failed(e);
  }

  #failed(err: UplinkError): void {
    if (this.#closed) return;
    this.#handlers?.down(err);
    if (this.#timer === null) {
      this.#timer = setTimeout(() => {
        this.#timer = null;
        void this.#connect();
      }, this.#backoff.next());
    }
  }

  send(address: string, payload: Buffer, count: number, done: (err: Error | null, duplicate?: boolean) => void): void {
    const js = this.#js;
    if (js === null || !this.#up) {
      done(new UplinkError("ERR_UPLINK_CONNECT", this.name, `nats server ${this.broker}: not connected`));
      return;
    }
    let data: Uint8Array = payload;
    if (this.#o.referenceJson !== null) {
      try {
        const out = encodeReferenceJson(codec.decode(payload, 0));
        if (out.shortened) this.#codecStats.shortened++;
        data = out.json;
      } catch (err) {
        // No JSON form (an address outside qis.iot.<domain>.<problem class>): it never will have
        // one, so it leaves the outbox, counted and reported, instead of blocking it for ever.
        this.#codecStats.unsendable++;
        this.#handlers?.error(err as Error);
        done(null);
        return;
      }
    }
    js.publish(address, data, { msgID: messageId(payload, count), timeout: this.#o.ackTimeoutMs }).then(
      (ack) => done(null, ack.duplicate),
      (err: Error) => done(err),
    );
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    const nc = this.#nc;
    this.#nc = null;
    this.#js = null;
    this.#up = false;
    if (nc === null) return;
    for (const m of this.#consuming.splice(0)) m.stop();
    await nc.close().catch(() => {});
  }
}
