/**
 * LAN discovery (docs/discovery.md): this agent announces itself with a beacon (./beacon.ts) on
 * a UDP multicast group, TTL 1, every minIntervalMs..maxIntervalMs (drawn each time, so that
 * agents started together do not beacon in step), and listens to the others'. Discovery only
 * proposes: a discovered agent is connected (through the runtime peer API, ../runtime.ts)
 * when its CURVE key is on this agent's allowlist, or, with plain links, when
 * discovery.allowInsecure says so; it is disconnected when 3 of its own longest intervals pass
 * without a beacon. Its own beacons (same node id) are ignored; what is not a beacon is counted
 * by reason, never thrown. Loaded only when discovery.enabled (node:dgram with it).
 */
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { randomBytes } from "../../util/random.js";
import { z85Decode, z85Encode } from "../../link/zmq/z85.js";
import type { Agent } from "../agent.js";
import type { DiscoveryConfig } from "../config-defaults.js";
import { runtimeOf, type AgentRuntime } from "../runtime.js";
import { decodeBeacon, encodeBeacon, MALFORMED, type Beacon, type Malformed } from "./beacon.js";

/** A discovered agent is dropped after this many of its longest intervals without a beacon. */
export const MISSED_BEACONS = 3;
/** Agents remembered at once (connected, refused or known), per maxPeers allowed. */
const TABLE_PER_PEER = 4;

export const REFUSALS = ["notAllowed", "noKey", "curveNeeded", "insecure", "full", "failed"] as const;
export type Refusal = (typeof REFUSALS)[number];

export interface DiscoveryStats {
  group: string;
  port: number;
  /** discovered agents connected now */
  peers: number;
  beaconsSent: number;
  sendErrors: number;
  /** valid beacons from other agents */
  beaconsReceived: number;
  /** our own beacons, looped back */
  own: number;
  malformed: Record<Malformed, number>;
  /** agents connected after a beacon */
  discovered: number;
  /** discovered agents dropped after MISSED_BEACONS intervals without a beacon */
  expired: number;
  /** agents not connected, counted once per agent and reason */
  refused: Record<Refusal, number>;
}

interface Entry {
  name: string;
  pub: string;
  store: string | null;
  key: string | null;
  deadline: number;
  state: "connected" | "known" | Refusal;
}

const zeroes = <K extends string>(keys: readonly K[]): Record<K, number> => Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;

export class Discovery {
  readonly #agent: Agent;
  readonly #c: DiscoveryConfig;
  readonly #socket: Socket;
  readonly #runtime: AgentRuntime;
  readonly #now: () => number;
  readonly #beacon: Buffer;
  readonly #table = new Map<string, Entry>();
  readonly #counters: Omit<DiscoveryStats, "group" | "port" | "peers">;
  #timer: NodeJS.Timeout | null = null;
  #sweep: NodeJS.Timeout | null = null;
  #closed = false;
  #lastSendError = 0;

  private constructor(agent: Agent, socket: Socket, now: () => number) {
    this.#agent = agent;
    this.#c = agent.config.discovery;
    this.#socket = socket;
    this.#runtime = runtimeOf(agent);
    this.#now = now;
    this.#counters = { beaconsSent: 0, sendErrors: 0, beaconsReceived: 0, own: 0, malformed: zeroes(MALFORMED), discovered: 0, expired: 0, refused: zeroes(REFUSALS) };
    const port = (endpoint: string | null): number => (endpoint === null ? 0 : Number(/:([0-9]+)$/.exec(endpoint)?.[1] ?? 0));
    const key = agent.stats().security.publicKey;
    this.#beacon = encodeBeacon({
      nodeId: agent.nodeIdBytes,
      pubPort: port(agent.endpoints.pub),
      storePort: port(agent.endpoints.store),
      epoch: agent.epoch,
      periodMs: this.#c.maxIntervalMs,
      publicKey: key === null ? null : z85Decode(key),
    });
  }

  /** Joins the group and starts beaconing; rejects when the socket cannot be bound or the group joined. */
  static async open(agent: Agent, now: () => number = Date.now): Promise<Discovery> {
    const c = agent.config.discovery;
    const socket = createSocket({ type: "udp4", reuseAddr: true });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once("error", reject);
        // Bound to the group, not the wildcard: only the group's datagrams reach us (Linux).
        socket.bind({ port: c.port, address: c.group, exclusive: false }, () => {
          socket.off("error", reject);
          resolve();
        });
      });
      socket.addMembership(c.group, c.interface ?? undefined);
      if (c.interface !== null) socket.setMulticastInterface(c.interface);
      socket.setMulticastTTL(1);
      // Agents on one host find each other too.
      socket.setMulticastLoopback(true);
    } catch (err) {
      socket.close();
      throw err;
    }
    const d = new Discovery(agent, socket, now);
    socket.on("message", (msg, from) => d.#receive(msg, from));
    socket.on("error", (err) => agent.log.warn("discovery socket error", { err }));
    d.#send();
    d.#sweep = setInterval(() => d.#expire(), Math.min(1000, c.minIntervalMs));
    d.#sweep.unref();
    agent.log.info("discovery on", { group: c.group, port: c.port, interface: c.interface, intervalMs: [c.minIntervalMs, c.maxIntervalMs] });
    // Peers connect to the beacon's source address: a loopback-only PUB is unreachable from the LAN.
    if (/^tcp:\/\/127\./.test(agent.endpoints.pub) && !(c.interface ?? "").startsWith("127.")) {
      agent.log.warn("discovery announces a loopback endpoint", { pub: agent.endpoints.pub, reason: "agents on other hosts cannot connect to it: bind pub.bind and store.bind to the LAN (with CURVE keys)" });
    }
    return d;
  }

  stats(): DiscoveryStats {
    let peers = 0;
    for (const e of this.#table.values()) if (e.state === "connected") peers++;
    const c = this.#counters;
    return { group: this.#c.group, port: this.#c.port, peers, ...c, malformed: { ...c.malformed }, refused: { ...c.refused } };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    if (this.#sweep !== null) clearInterval(this.#sweep);
    this.#socket.close();
  }

  #send(): void {
    if (this.#closed) return;
    this.#socket.send(this.#beacon, this.#c.port, this.#c.group, (err) => {
      if (err === null || err === undefined) {
        this.#counters.beaconsSent++;
        return;
      }
      this.#counters.sendErrors++;
      // No route to the group (ENETUNREACH), an interface gone: once a minute at most.
      const now = this.#now();
      if (now - this.#lastSendError >= 60_000) {
        this.#lastSendError = now;
        this.#agent.log.warn("discovery beacon not sent", { code: (err as NodeJS.ErrnoException).code, reason: err.message, sendErrors: this.#counters.sendErrors });
      }
    });
    const { minIntervalMs: lo, maxIntervalMs: hi } = this.#c;
    const wait = lo + Math.floor((randomBytes(2).readUInt16LE(0) / 0x10000) * (hi - lo + 1));
    this.#timer = setTimeout(() => this.#send(), wait);
    this.#timer.unref();
  }

  #receive(msg: Buffer, from: RemoteInfo): void {
    if (this.#closed || this.#agent.closed) return;
    const b = decodeBeacon(msg);
    if (typeof b === "string") {
      this.#counters.malformed[b]++;
      return;
    }
    if (b.nodeId.equals(this.#agent.nodeIdBytes)) {
      this.#counters.own++;
      return;
    }
    this.#counters.beaconsReceived++;
    try {
      this.#consider(b, from.address);
    } catch (err) {
      this.#agent.log.error("discovery failed on a beacon", { from: from.address, err });
    }
  }

  #consider(b: Beacon, host: string): void {
    const id = b.nodeId.toString("hex");
    const pub = `tcp://${host}:${b.pubPort}`;
    const store = b.storePort === 0 ? null : `tcp://${host}:${b.storePort}`;
    const key = b.publicKey === null ? null : z85Encode(b.publicKey);
    const deadline = this.#now() + MISSED_BEACONS * b.periodMs;
    let e = this.#table.get(id);
    if (e !== undefined && (e.pub !== pub || e.store !== store || e.key !== key)) {
      this.#drop(id, e, "endpoints or key changed");
      e = undefined;
    }
    if (e === undefined) {
      if (this.#table.size >= this.#c.maxPeers * TABLE_PER_PEER) {
        this.#counters.refused.full++;
        return;
      }
      e = { name: `discovered-${id}`, pub, store, key, deadline, state: "known" };
      this.#table.set(id, e);
    }
    e.deadline = deadline;
    if (e.state === "connected") {
      // Configured since (a reload): one link is enough, the configured one.
      if (this.#runtime.find(pub, key, "config") !== null) {
        this.#runtime.removePeer(e.name, "discovery", "now a configured peer");
        e.state = "known";
      }
      return;
    }
    // Not connected (new, refused or known before): judged again on each beacon, since the
    // allowlist and the configured peers change (a reload).
    const verdict = this.#verdict(e);
    if (verdict === e.state) return;
    e.state = verdict;
    if (verdict === "known") return;
    if (verdict !== "connected") {
      this.#counters.refused[verdict]++;
      this.#agent.log.warn("discovered peer refused", { node: id, endpoint: pub, key, reason: verdict });
      return;
    }
    try {
      this.#runtime.addPeer({ name: e.name, pub, store, publicKey: key }, "discovery");
    } catch (err) {
      e.state = "failed";
      this.#counters.refused.failed++;
      this.#agent.log.warn("discovered peer refused", { node: id, endpoint: pub, reason: "failed", code: (err as { code?: string }).code, err });
      return;
    }
    this.#counters.discovered++;
  }

  #verdict(e: Entry): Entry["state"] {
    if (this.#runtime.find(e.pub, e.key) !== null) return "known";
    const zap = this.#agent.allowlist;
    if (zap !== null) {
      if (e.key === null) return "noKey";
      if (!zap.allowed.has(e.key)) return "notAllowed";
    } else {
      if (e.key !== null) return "curveNeeded";
      if (!this.#c.allowInsecure) return "insecure";
    }
    let connected = 0;
    for (const x of this.#table.values()) if (x.state === "connected") connected++;
    return connected >= this.#c.maxPeers ? "full" : "connected";
  }

  #drop(id: string, e: Entry, why: string): void {
    this.#table.delete(id);
    if (e.state === "connected") this.#runtime.removePeer(e.name, "discovery", why);
  }

  #expire(): void {
    if (this.#closed || this.#agent.closed) return;
    const now = this.#now();
    for (const [id, e] of [...this.#table]) {
      if (e.deadline > now) continue;
      if (e.state === "connected") this.#counters.expired++;
      this.#drop(id, e, `expired: ${MISSED_BEACONS} beacons missed`);
    }
  }
}

