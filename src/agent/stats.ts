/** A snapshot of an agent's counters (what `stats` returns over stdio, and the demo shows). */
import type { ZmqPeer, PeerCounters } from "../link/zmq/peer.js";
import type { ZmqPublisher } from "../link/zmq/publisher.js";
import type { StoreServer } from "../link/zmq/store-server.js";
import type { StoreStats } from "../store/index.js";
import type { SynthCounters } from "../synth/index.js";
import type { Agent } from "./agent.js";
import type { LegacyLinks } from "./legacy-links.js";
import type { UplinkStats } from "../link/uplink/types.js";
import type { LinkSecurity } from "./link-security.js";
import type { AdmissionCounters } from "./admission.js";
import type { SignatureStats } from "../security/packet-security.js";
import type { DiscoveryStats } from "./discovery/discovery.js";

export interface PeerStats extends PeerCounters {
  name: string;
  pub: string;
  store: string | null;
  up: boolean;
  /** the last catch-up problem (ERR_CATCHUP_PAGE_CAP, ERR_WIRE_*) until a catch-up from the peer completes; null: none */
  catchUpProblem: string | null;
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
  /** each configured uplink by name (docs/uplink.md); {} without one */
  uplinks: Record<string, UplinkStats>;
  /** peers' packets kept out of synthesis (or counted with n_observations capped), per peer and reason */
  admission: { peerAddresses: number; perPeer: Record<string, AdmissionCounters> };
  /** peer link security: CURVE or plain; with CURVE, the keys let in and the denials per client key */
  security: { mode: "curve" | "plain"; publicKey: string | null; allowedKeys: number; accepted: number; denied: number; deniedKeys: Record<string, number> };
  /** signed packets (docs/security.md): what was signed, verified and refused, per peer; null: not configured */
  signatures: SignatureStats | null;
  /** LAN discovery's beacons and peers (docs/discovery.md); null when off */
  discovery: DiscoveryStats | null;
}

export function agentStats(agent: Agent, pub: ZmqPublisher, server: StoreServer | null, peers: readonly ZmqPeer[], legacy: LegacyLinks, uplinks: readonly { name: string; stats(): UplinkStats }[], security: LinkSecurity | null, signatures: SignatureStats | null = null): AgentStats {
  const zap = security?.zap ?? null;
  return {
    nodeId: agent.nodeId,
    ...agent.counters,
    pub: { packets: pub.packets, messages: pub.messages, sendErrors: pub.sendErrors },
    storeServer: server === null ? null : { served: server.served, packetsServed: server.packetsServed, badRequests: server.badRequests },
    peers: peers.map((p) => ({ name: p.name, pub: p.settings.pub, store: p.settings.store, up: p.up, catchUpProblem: p.catchUpProblem, ...p.counters })),
    legacy: legacy.counters(),
    store: agent.store.stats(),
    synth: { ...agent.synth.counters, addresses: agent.synth.liveAddresses, contributions: agent.synth.live },
    uplinks: Object.fromEntries(uplinks.map((u) => [u.name, u.stats()])),
    admission: { peerAddresses: agent.admission.addresses, perPeer: agent.admission.counters() },
    security: {
      mode: security?.mode ?? "plain",
      publicKey: security?.publicKey ?? null,
      allowedKeys: zap?.allowed.size ?? 0,
      accepted: zap?.allowedCount ?? 0,
      denied: zap?.deniedTotal ?? 0,
      deniedKeys: zap === null ? {} : Object.fromEntries(zap.denied),
    },
    signatures,
    discovery: agent.discovery?.stats() ?? null,
  };
}
