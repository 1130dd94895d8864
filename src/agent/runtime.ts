/**
 * Changing a running agent's peers and subscriptions: the API that a SIGHUP reload
 * (./reload.ts) and LAN discovery (./discovery/) share. Each peer is tracked with its origin,
 * "config" (the file, as last applied) or "discovery", so that a reload never drops a
 * discovered peer and an expiry never drops a configured one. Peers that did not change keep
 * their connections; nothing here touches the store or synthesis.
 *
 * The CURVE allowlist follows the peers: a peer added with its key lets that key in (as at
 * start), and a key leaves the list when its last peer goes, unless `security.allow` names it.
 * A connection already made stays up until it drops: ZAP is asked at the handshake only.
 */
import { QisError } from "../errors.js";
import type { Agent } from "./agent.js";
import type { PeerConfig } from "./config.js";
import { readAllowList } from "./link-security.js";

export type PeerOrigin = "config" | "discovery";

/** A qis peer as the runtime API takes it (legacy peers are configured at start only). */
export interface RuntimePeer {
  name: string;
  pub: string;
  store: string | null;
  publicKey: string | null;
}

export class AgentRuntime {
  readonly #agent: Agent;
  readonly #origin = new Map<string, PeerOrigin>();
  /** keys let in by security.allow, which no peer removal takes out; null: unknown (a file no longer readable), so none is taken out */
  readonly #allowKeys: Set<string> | null;

  constructor(agent: Agent) {
    this.#agent = agent;
    for (const p of agent.peers) this.#origin.set(p.name, "config");
    let keys: Set<string> | null;
    try {
      keys = new Set(readAllowList(agent.config.security.allow));
    } catch {
      keys = null;
    }
    this.#allowKeys = keys;
  }

  /** The qis peers connected now, with where each came from. */
  peers(origin?: PeerOrigin): (RuntimePeer & { origin: PeerOrigin })[] {
    const out: (RuntimePeer & { origin: PeerOrigin })[] = [];
    for (const p of this.#agent.peers) {
      const o = this.#origin.get(p.name) ?? "config";
      if (origin !== undefined && o !== origin) continue;
      out.push({ name: p.name, pub: p.settings.pub, store: p.settings.store, publicKey: p.settings.publicKey ?? null, origin: o });
    }
    return out;
  }

  /** The peer connected to this PUB endpoint or with this key, if any (discovery does not connect twice). */
  find(pub: string, publicKey: string | null, origin?: PeerOrigin): RuntimePeer | null {
    for (const p of this.peers(origin)) if (p.pub === pub || (publicKey !== null && p.publicKey === publicKey)) return p;
    return null;
  }

  /** Connects one more qis peer. Throws ERR_PEER_EXISTS (name taken), ERR_SOCKET_LIMIT, ERR_AGENT_CLOSED. */
  addPeer(peer: RuntimePeer, origin: PeerOrigin): void {
    this.#agent.addPeer({ name: peer.name, pub: peer.pub, store: peer.store, publicKey: peer.publicKey });
    this.#origin.set(peer.name, origin);
    this.#agent.log.info("peer added", { peer: peer.name, endpoint: peer.pub, store: peer.store, origin });
  }

  /** Disconnects a peer of the given origin; false when there is none by that name. */
  removePeer(name: string, origin: PeerOrigin, why: string): boolean {
    if ((this.#origin.get(name) ?? "config") !== origin) return false;
    const peer = this.#agent.peers.find((p) => p.name === name);
    if (peer === undefined || !this.#agent.removePeer(name)) return false;
    this.#origin.delete(name);
    const key = peer.settings.publicKey ?? null;
    const zap = this.#agent.allowlist;
    if (key !== null && zap !== null && this.#allowKeys !== null && !this.#allowKeys.has(key) && !this.#agent.peers.some((p) => p.settings.publicKey === key)) zap.disallow(key);
    this.#agent.log.info("peer removed", { peer: name, endpoint: peer.settings.pub, origin, why });
    if (peer.up) this.#agent.emit("peer", { name, endpoint: peer.settings.pub, up: false });
    return true;
  }

  /**
   * Makes the peers of `origin` the given ones: those gone are disconnected, new ones connected,
   * those whose endpoints or key changed reconnected; the rest are left as they are. A peer that
   * cannot be added is reported in `failed` and the others still applied.
   */
  setPeers(wanted: readonly PeerConfig[], origin: PeerOrigin): { added: string[]; removed: string[]; changed: string[]; failed: { peer: string; code: string; reason: string }[] } {
    const current = new Map(this.peers(origin).map((p) => [p.name, p]));
    const next = new Map(wanted.filter((p) => p.codec !== "legacy").map((p) => [p.name, p]));
    const result = { added: [] as string[], removed: [] as string[], changed: [] as string[], failed: [] as { peer: string; code: string; reason: string }[] };
    for (const [name, p] of current) {
      const w = next.get(name);
      if (w === undefined) {
        if (this.removePeer(name, origin, "no longer configured")) result.removed.push(name);
      } else if (w.pub !== p.pub || w.store !== p.store || (w.publicKey ?? null) !== p.publicKey) {
        if (this.removePeer(name, origin, "endpoints or key changed")) result.changed.push(name);
      }
    }
    for (const [name, w] of next) {
      if (current.has(name) && !result.changed.includes(name)) continue;
      try {
        // A discovered peer may hold the name (it never does by construction: "discovered-" names).
        this.addPeer({ name, pub: w.pub, store: w.store, publicKey: w.publicKey ?? null }, origin);
        if (!result.changed.includes(name)) result.added.push(name);
      } catch (err) {
        if (!(err instanceof QisError)) throw err;
        result.failed.push({ peer: name, code: err.code, reason: err.message });
      }
    }
    return result;
  }

  /** Subscribes to what `next` has and `previous` had not, and the reverse; patterns added otherwise (stdio's subscribe) stay. */
  setSubscriptions(previous: readonly string[], next: readonly string[]): { added: string[]; removed: string[] } {
    const added = next.filter((p) => !previous.includes(p));
    const removed = previous.filter((p) => !next.includes(p));
    for (const p of removed) this.#agent.unsubscribe(p);
    for (const p of added) this.#agent.subscribe(p);
    return { added, removed };
  }
}

const runtimes = new WeakMap<Agent, AgentRuntime>();

/** The agent's runtime API, made on first use. */
export function runtimeOf(agent: Agent): AgentRuntime {
  let r = runtimes.get(agent);
  if (r === undefined) {
    r = new AgentRuntime(agent);
    runtimes.set(agent, r);
  }
  return r;
}
