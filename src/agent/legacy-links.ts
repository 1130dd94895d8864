/**
 * The agent's links to reference Python nodes (docs/legacy.md): a legacy PUB serving their
 * subscribers, a legacy REP answering their store queries, and one legacy SUB per peer marked
 * `"codec": "legacy"`. All optional; with none configured this costs one branch per packet, and
 * the legacy modules (their codec, sockets) are not even loaded.
 *
 * What goes out on the legacy PUB is what the agent hands to publish(): its own observations and
 * syntheses, never packets from peers (docs/legacy.md, "What the legacy PUB sends").
 */
import type { AddressPattern } from "../address/index.js";
import type { QisError } from "../errors.js";
import { readU64 } from "../packet/bytes.js";
import { OFFSETS } from "../packet/index.js";
import type { PacketStore } from "../store/index.js";
import type { LegacyPublisher } from "../link/legacy/publisher.js";
import type { LegacyStoreServer } from "../link/legacy/store-server.js";
import type { LegacySubscriber } from "../link/legacy/subscriber.js";
import type { AgentConfig, PeerConfig } from "./config.js";
import { binding } from "./start-error.js";

interface LegacyModules {
  LegacyPublisher: typeof LegacyPublisher;
  LegacyStoreServer: typeof LegacyStoreServer;
  LegacySubscriber: typeof LegacySubscriber;
}

/** Whether the config asks for any legacy link (a legacy PUB, a legacy REP, or a legacy peer). */
export function usesLegacy(config: { legacy: Pick<AgentConfig["legacy"], "pub" | "rep">; peers: readonly Pick<PeerConfig, "codec">[] }): boolean {
  return config.legacy.pub !== null || config.legacy.rep !== null || config.peers.some((p) => p.codec === "legacy");
}

async function loadLegacy(): Promise<LegacyModules> {
  const [pub, rep, sub] = await Promise.all([import("../link/legacy/publisher.js"), import("../link/legacy/store-server.js"), import("../link/legacy/subscriber.js")]);
  return { LegacyPublisher: pub.LegacyPublisher, LegacyStoreServer: rep.LegacyStoreServer, LegacySubscriber: sub.LegacySubscriber };
}

export interface LegacySink {
  /** a translated packet to ingest; returns true when the store refused it as expired on arrival */
  packet(peer: string, buf: Uint8Array, offset: number): boolean;
  invalid(peer: string, err: QisError): void;
  /**
   * Packets of `peer` that were expired on arrival, `packets` since the last report, the oldest
   * `ageMs` old (by `now`) when it came. At most one report per peer per EXPIRED_REPORT_MS.
   */
  expired(peer: string, packets: number, ageMs: number): void;
  peer(name: string, endpoint: string, up: boolean): void;
  /** a connection attempt to the peer failed; retried in retryMs */
  unreachable?(name: string, endpoint: string, retryMs: number): void;
  /** the store's clock (ms since the epoch) */
  now(): number;
}

/** Least time between two expired-on-arrival reports for one peer. */
export const EXPIRED_REPORT_MS = 10_000;

/** Expired-on-arrival packets of one peer not yet reported. */
interface ExpiredTally {
  pending: number;
  oldestMs: number;
  /** performance.now() of the last report */
  lastReport: number;
  /** the pending report: at the end of this turn (immediate) or when the interval is over */
  timer: { immediate: NodeJS.Immediate } | { timeout: NodeJS.Timeout } | null;
}

export class LegacyLinks {
  readonly #pub: LegacyPublisher | null;
  readonly #rep: LegacyStoreServer | null;
  readonly #sink: LegacySink;
  readonly #receiveHwm: number;
  readonly #ttlS: number;
  #expired = 0;
  readonly #tallies = new Map<string, ExpiredTally>();
  /** null when the config has no legacy link (then there are no legacy peers to start either) */
  readonly #modules: LegacyModules | null;
  #peers: PeerConfig[] = [];
  #subs: LegacySubscriber[] = [];
  #patterns = new Map<string, AddressPattern>();

  private constructor(modules: LegacyModules | null, pub: LegacyPublisher | null, rep: LegacyStoreServer | null, sink: LegacySink, config: AgentConfig) {
    this.#modules = modules;
    this.#pub = pub;
    this.#rep = rep;
    this.#sink = sink;
    this.#receiveHwm = config.hwm.receive;
    this.#ttlS = config.legacy.ttlS;
  }

  static async open(config: AgentConfig, store: PacketStore, sink: LegacySink): Promise<LegacyLinks> {
    const m = usesLegacy(config) ? await loadLegacy() : null;
    const pubBind = config.legacy.pub;
    const pub = m === null || pubBind === null ? null : await binding("legacy.pub", pubBind, () => m.LegacyPublisher.bind(pubBind, { sendHwm: config.hwm.send }));
    let rep: LegacyStoreServer | null = null;
    try {
      const repBind = config.legacy.rep;
      rep = m === null || repBind === null ? null : await binding("legacy.rep", repBind, () => m.LegacyStoreServer.bind(repBind, store, { replyLimit: config.legacy.replyLimit }));
    } catch (err) {
      pub?.close();
      throw err;
    }
    return new LegacyLinks(m, pub, rep, sink, config);
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

  /** `expired`: of `received`, the packets the store refused as expired on arrival (older than legacy.ttlS). */
  counters(): { sent: number; served: number; badRequests: number; received: number; invalid: number; expired: number } {
    let received = 0;
    let invalid = 0;
    for (const s of this.#subs) {
      received += s.received;
      invalid += s.invalid;
    }
    return { sent: this.#pub?.sent ?? 0, served: this.#rep?.served ?? 0, badRequests: this.#rep?.badRequests ?? 0, received, invalid, expired: this.#expired };
  }

  /** Closes the sockets; expired packets not yet reported are reported now (nothing goes unsaid). */
  close(): void {
    for (const s of this.#subs) s.close();
    this.#subs = [];
    this.#pub?.close();
    this.#rep?.close();
    for (const [peer, t] of this.#tallies) this.#report(peer, t);
    this.#tallies.clear();
  }

  #onPacket(peer: string, buf: Uint8Array, offset: number): void {
    if (!this.#sink.packet(peer, buf, offset)) return;
    this.#expired++;
    let t = this.#tallies.get(peer);
    if (t === undefined) this.#tallies.set(peer, (t = { pending: 0, oldestMs: 0, lastReport: -Infinity, timer: null }));
    t.pending++;
    t.oldestMs = Math.max(t.oldestMs, this.#sink.now() - readU64(buf, offset + OFFSETS.timestamp_ms));
    if (t.timer !== null) return;
    // The first report waits for the end of this turn, so that a burst is one line; later ones
    // wait out the interval since the last.
    const tally = t;
    const wait = t.lastReport + EXPIRED_REPORT_MS - performance.now();
    const report = (): void => this.#report(peer, tally);
    t.timer = wait <= 0 ? { immediate: setImmediate(report).unref() } : { timeout: setTimeout(report, wait).unref() };
  }

  #report(peer: string, t: ExpiredTally): void {
    if (t.timer !== null) {
      if ("immediate" in t.timer) clearImmediate(t.timer.immediate);
      else clearTimeout(t.timer.timeout);
      t.timer = null;
    }
    if (t.pending === 0) return;
    const { pending, oldestMs } = t;
    t.pending = 0;
    t.oldestMs = 0;
    t.lastReport = performance.now();
    this.#sink.expired(peer, pending, oldestMs);
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
        ttlS: this.#ttlS,
        onPacket: (buf, offset) => this.#onPacket(peer.name, buf, offset),
        onInvalid: (err) => this.#sink.invalid(peer.name, err),
        onUp: () => this.#sink.peer(peer.name, peer.pub, true),
        onDown: () => this.#sink.peer(peer.name, peer.pub, false),
        onRetry: (retryMs) => this.#sink.unreachable?.(peer.name, peer.pub, retryMs),
      });
      sub.start();
      return sub;
    });
  }
}
