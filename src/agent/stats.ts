/** A snapshot of an agent's counters (what `stats` returns over stdio, and the demo shows). */
import type { ZmqPeer, PeerCounters } from "../link/zmq/peer.js";
import type { ZmqPublisher } from "../link/zmq/publisher.js";
import type { StoreServer } from "../link/zmq/store-server.js";
import type { StoreStats } from "../store/index.js";
import type { SynthCounters } from "../synth/index.js";
import type { Agent } from "./agent.js";
import type { LegacyLinks } from "./legacy-links.js";

export interface PeerStats extends PeerCounters {
  name: string;
  pub: string;
  store: string | null;
  up: boolean;
}

export interface AgentStats {
  nodeId: string;
  /** observations accepted */
  observed: number;
  /** local and synthesized packets handed to the publisher */
  published: number;
  /** packets from peers newly stored */
  received: number;
  /** packets from peers that the store already held */
  duplicates: number;
  /** synthesized packets emitted */
  synthesized: number;
  synthEventsDropped: number;
  pub: { packets: number; messages: number; sendErrors: number };
  storeServer: { served: number; packetsServed: number; badRequests: number } | null;
  peers: PeerStats[];
  /** `expired`: of `received`, those the store refused as expired on arrival (older than legacy.ttlS) */
  legacy: { sent: number; served: number; badRequests: number; received: number; invalid: number; expired: number };
  store: StoreStats;
  /** the engine's counters, and what it holds now (without sweeping) */
  synth: SynthCounters & { addresses: number; contributions: number };
}

export function agentStats(agent: Agent, pub: ZmqPublisher, server: StoreServer | null, peers: readonly ZmqPeer[], legacy: LegacyLinks): AgentStats {
  return {
    nodeId: agent.nodeId,
    ...agent.counters,
    pub: { packets: pub.packets, messages: pub.messages, sendErrors: pub.sendErrors },
    storeServer: server === null ? null : { served: server.served, packetsServed: server.packetsServed, badRequests: server.badRequests },
    peers: peers.map((p) => ({ name: p.name, pub: p.settings.pub, store: p.settings.store, up: p.up, ...p.counters })),
    legacy: legacy.counters(),
    store: agent.store.stats(),
    synth: { ...agent.synth.counters, addresses: agent.synth.liveAddresses, contributions: agent.synth.live },
  };
}
