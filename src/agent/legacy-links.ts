/**
 * The agent's links to reference Python nodes (docs/legacy.md): a legacy PUB serving their
 * subscribers, a legacy REP answering their store queries, and one legacy SUB per peer marked
 * `"codec": "legacy"`. All optional; with none configured this costs one branch per packet, and
 * the legacy modules (their JSON codec, sockets) are not even loaded.
 */
import type { AddressPattern } from "../address/index.js";
import type { QisError } from "../errors.js";
import type { PacketStore } from "../store/index.js";
import type { LegacyPublisher } from "../link/legacy/publisher.js";
import type { LegacyStoreServer } from "../link/legacy/store-server.js";
import type { LegacySubscriber } from "../link/legacy/subscriber.js";
import type { AgentConfig, PeerConfig } from "./config.js";

interface LegacyModules {
  LegacyPublisher: typeof LegacyPublisher;
  LegacyStoreServer: typeof LegacyStoreServer;
  LegacySubscriber: typeof LegacySubscriber;
}

/** Whether the config asks for any legacy link (a legacy PUB, a legacy REP, or a legacy peer). */
export function usesLegacy(config: Pick<AgentConfig, "legacy" | "peers">): boolean {
  return config.legacy.pub !== null || config.legacy.rep !== null || config.peers.some((p) => p.codec === "legacy");
}

async function loadLegacy(): Promise<LegacyModules> {
  const [pub, rep, sub] = await Promise.all([import("../link/legacy/publisher.js"), import("../link/legacy/store-server.js"), import("../link/legacy/subscriber.js")]);
  return { LegacyPublisher: pub.LegacyPublisher, LegacyStoreServer: rep.LegacyStoreServer, LegacySubscriber: sub.LegacySubscriber };
}

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
  /** null when the config has no legacy link (then there are no legacy peers to start either) */
  readonly #modules: LegacyModules | null;
  #peers: PeerConfig[] = [];
  #subs: LegacySubscriber[] = [];
  #patterns = new Map<string, AddressPattern>();

  private constructor(modules: LegacyModules | null, pub: LegacyPublisher | null, rep: LegacyStoreServer | null, sink: LegacySink, receiveHwm: number) {
    this.#modules = modules;
    this.#pub = pub;
    this.#rep = rep;
    this.#sink = sink;
    this.#receiveHwm = receiveHwm;
  }

  static async open(config: AgentConfig, store: PacketStore, sink: LegacySink): Promise<LegacyLinks> {
    const m = usesLegacy(config) ? await loadLegacy() : null;
    const pub = m === null || config.legacy.pub === null ? null : await m.LegacyPublisher.bind(config.legacy.pub, { sendHwm: config.hwm.send });
    let rep: LegacyStoreServer | null = null;
    try {
      rep = m === null || config.legacy.rep === null ? null : await m.LegacyStoreServer.bind(config.legacy.rep, store, { replyLimit: config.legacy.replyLimit });
    } catch (err) {
      pub?.close();
      throw err;
    }
    return new LegacyLinks(m, pub, rep, sink, config.hwm.receive);
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
    if (this.#peers.length === 0) return;
    const m = this.#modules;
    if (m === null) throw new Error("LegacyLinks: legacy peers given, but the config that opened the links has none");
    const patterns = [...this.#patterns.values()];
    this.#subs = this.#peers.map((peer) => {
      const sub = new m.LegacySubscriber({
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
