/**
 * The agent's links to reference Python nodes (docs/legacy.md): a legacy PUB serving their
 * subscribers, a legacy REP answering their store queries, and one legacy SUB per peer marked
 * `"codec": "legacy"`. All optional; with none configured this costs one branch per packet.
 */
import type { AddressPattern } from "../address/index.js";
import type { QisError } from "../errors.js";
import type { PacketStore } from "../store/index.js";
import { LegacyPublisher } from "../link/legacy/publisher.js";
import { LegacyStoreServer } from "../link/legacy/store-server.js";
import { LegacySubscriber } from "../link/legacy/subscriber.js";
import type { AgentConfig, PeerConfig } from "./config.js";

export interface LegacySink {
  packet(peer: string, buf: Uint8Array, offset: number): void;
  invalid(peer: string, err: QisError): void;
  peer(name: string, endpoint: string, up: boolean): void;
}

export class LegacyLinks {
  readonly #pub: LegacyPublisher | null;
  readonly #rep: LegacyStoreServer | null;
  readonly #sink: LegacySink;
  readonly #receiveHwm: number;
  #peers: PeerConfig[] = [];
  #subs: LegacySubscriber[] = [];
  #patterns = new Map<string, AddressPattern>();

  private constructor(pub: LegacyPublisher | null, rep: LegacyStoreServer | null, sink: LegacySink, receiveHwm: number) {
    this.#pub = pub;
    this.#rep = rep;
    this.#sink = sink;
    this.#receiveHwm = receiveHwm;
  }

  static async open(config: AgentConfig, store: PacketStore, sink: LegacySink): Promise<LegacyLinks> {
    const pub = config.legacy.pub === null ? null : await LegacyPublisher.bind(config.legacy.pub, { sendHwm: config.hwm.send });
    let rep: LegacyStoreServer | null = null;
    try {
      rep = config.legacy.rep === null ? null : await LegacyStoreServer.bind(config.legacy.rep, store, { replyLimit: config.legacy.replyLimit });
    } catch (err) {
      pub?.close();
      throw err;
    }
    return new LegacyLinks(pub, rep, sink, config.hwm.receive);
  }

  get pubEndpoint(): string | null {
    return this.#pub?.endpoint ?? null;
  }

  get repEndpoint(): string | null {
    return this.#rep?.endpoint ?? null;
  }

  startSubscribers(peers: PeerConfig[], patterns: readonly AddressPattern[]): void {
    this.#peers = peers;
    this.#patterns = new Map(patterns.map((p) => [p.pattern, p]));
    this.#start();
  }

  /** Changes the running SUBs' prefixes (subscribing new ones before dropping old ones). */
  subscribe(p: AddressPattern): void {
    this.#patterns.set(p.pattern, p);
    this.#updatePatterns();
  }

  unsubscribe(pattern: string): void {
    if (this.#patterns.delete(pattern)) this.#updatePatterns();
  }

  #updatePatterns(): void {
    const patterns = [...this.#patterns.values()];
    for (const s of this.#subs) s.setPatterns(patterns);
  }

  publish(buf: Uint8Array, offset: number): void {
    this.#pub?.publish(buf, offset);
  }

  counters(): { sent: number; served: number; badRequests: number; received: number; invalid: number } {
    let received = 0;
    let invalid = 0;
    for (const s of this.#subs) {
      received += s.received;
      invalid += s.invalid;
    }
    return { sent: this.#pub?.sent ?? 0, served: this.#rep?.served ?? 0, badRequests: this.#rep?.badRequests ?? 0, received, invalid };
  }

  close(): void {
    for (const s of this.#subs) s.close();
    this.#subs = [];
    this.#pub?.close();
    this.#rep?.close();
  }

  #start(): void {
    const patterns = [...this.#patterns.values()];
    this.#subs = this.#peers.map((peer) => {
      const sub = new LegacySubscriber({
        name: peer.name,
        endpoint: peer.pub,
        patterns,
        receiveHwm: this.#receiveHwm,
        onPacket: (buf, offset) => this.#sink.packet(peer.name, buf, offset),
        onInvalid: (err) => this.#sink.invalid(peer.name, err),
        onUp: () => this.#sink.peer(peer.name, peer.pub, true),
        onDown: () => this.#sink.peer(peer.name, peer.pub, false),
      });
      sub.start();
      return sub;
    });
  }
}
