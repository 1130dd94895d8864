/**
 * The uplink interface (docs/uplink.md): how an agent reaches beyond its LAN through a broker.
 *
 * Two layers, like nats.js's transport.ts under its connection:
 * - `Uplink` is what the agent sees: publish packets (durable once flushed), state and error
 *   events, stats, close. One class implements it for every broker (src/link/uplink/uplink.ts),
 *   on top of the durable outbox (src/link/uplink/outbox.ts).
 * - `UplinkTransport` is what each broker's adapter implements, a few hundred lines each
 *   (src/link/mqtt/transport.ts; NATS JetStream next): connect and reconnect with backoff, send
 *   one message with a per-message acknowledgement, deliver what the down patterns match.
 */
import type { OutboxCounters } from "./outbox.js";

export type UplinkState = "connecting" | "connected" | "offline" | "closed";

export interface UplinkStateEvent {
  /** the uplink's name ("mqtt") */
  name: string;
  /** the broker, without credentials */
  broker: string;
  state: UplinkState;
  /** why it went offline (a stable code), when known */
  code?: string;
  reason?: string;
}

export interface UplinkStats {
  name: string;
  broker: string;
  state: UplinkState;
  /** connections made (the first one included) */
  connects: number;
  /** connections lost or refused */
  disconnects: number;
  lastError: { code: string; message: string; at: number } | null;
  outbox: OutboxCounters & { path: string; capacity: number; held: number; backlog: number; inFlight: number; resumed: number };
  /**
   * messages and packets handed to the transport, messages it acknowledged or failed, the most in
   * flight at once (≤ the window), and acknowledged messages the broker had already (NATS: a
   * PubAck with duplicate, a resend inside the duplicate window; MQTT: always 0)
   */
  sent: { messages: number; packets: number; acked: number; failed: number; peakInFlight: number; duplicates: number };
  /** what came down: messages, packets passed to the agent, malformed (dropped) packets and messages per topic */
  received: { messages: number; packets: number; malformed: number; malformedByTopic: Record<string, number> };
  /** a transport that translates packets (NATS codec "reference-json"): what it could not carry whole */
  codec?: CodecStats;
}

export interface CodecStats {
  name: string;
  /** packets whose JSON had to lose context values or conclusion characters to fit */
  shortened: number;
  /** packets the codec has no form for (dropped from the outbox, reported) */
  unsendable: number;
}

/** What an Uplink does with what comes down (the agent: verify, dedup, store, synthesize). */
export interface UplinkSink {
  /**
   * `count` packets of `packets` with their verdicts (codes[i] 0 = valid; the invalid ones are
   * already counted). Returns false when it did not take them (closing): the broker must not be
   * told they were stored.
   */
  deliver(source: string, packets: Uint8Array, count: number, codes: Uint8Array): boolean | void;
}

/** The agent's view of an uplink. Events: "state" (UplinkStateEvent), "error" (UplinkError). */
export interface Uplink {
  readonly name: string;
  readonly broker: string;
  readonly state: UplinkState;
  /**
   * Hands one packet to the uplink when its address matches the up patterns; it is written to
   * the outbox by flush() (or at the end of the current synchronous run at the latest).
   * Returns whether it was taken.
   */
  publish(buf: Uint8Array, offset: number): boolean;
  /** Writes what publish() took to the outbox (accepted from then on) and starts sending it. Throws ERR_OUTBOX_IO. */
  flush(): void;
  stats(): UplinkStats;
  on(event: "state", listener: (e: UplinkStateEvent) => void): this;
  on(event: "error", listener: (err: Error) => void): this;
  close(): Promise<void>;
}

export interface TransportHandlers {
  /** connected: sending may start (or resume) */
  up(): void;
  /** the connection is gone or was refused; the transport retries by itself (capped, jittered backoff) */
  down(err: Error | null): void;
  /**
   * a message came down on `topic` (the transport's name for it), published under `address`
   * (null when `topic` names no valid address). Returns false when it was not taken (the uplink
   * or the agent is closing): not to be acknowledged. Malformed messages are taken (and dropped).
   */
  message(topic: string, address: string | null, payload: Buffer): boolean;
  /** a problem to report that does not change the state (e.g. a refused subscription) */
  error(err: Error): void;
  /** a message that came down could not be read (a codec's verdict, `err.code` stable): counted and dropped */
  malformed(topic: string, err: Error & { code: string }): void;
}

export interface UplinkTransport {
  readonly name: string;
  /** where it connects, without credentials */
  readonly broker: string;
  /** messages in flight at most (may shrink once connected, e.g. to the broker's receive maximum) */
  readonly window: number;
  /** packets per message at most, when the broker sets a limit (NATS: its max_payload; may change at each connection) */
  readonly maxBatch?: number | undefined;
  /** starts connecting; events go to `handlers` from then on */
  start(handlers: TransportHandlers): void;
  /**
   * Publishes one message holding whole packets of `address`. `done(null)` once the broker
   * acknowledged it; `done(err)` when it will not be (a refusal, the connection lost): the
   * packets are then sent again from the outbox. `duplicate`: the broker acknowledged it as one it
   * had already (a resend). Called only while up.
   */
  send(address: string, payload: Buffer, count: number, done: (err: Error | null, duplicate?: boolean) => void): void;
  /** a translating transport's counters */
  readonly codecStats?: (() => CodecStats) | undefined;
  close(): Promise<void>;
}
