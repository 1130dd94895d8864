/**
 * What /metrics shows, as a list of metric families, each read from a stats snapshot
 * (Agent.stats()). Adding a series is adding an entry here: e.g. an uplink's state and outbox
 * depth, `gauge("qis_edge_uplink_outbox_messages", "…", (s) => s.uplink?.outbox ?? null)`; a
 * family that reads null has no sample and is left out of the page.
 *
 * Names follow node_exporter: qis_edge_<subsystem>_<name>_<unit>, counters end in _total,
 * values in base units (bytes, seconds, packets). No label takes an address or an endpoint
 * (unbounded, and not the operator's choice); `peer` is the configured peer name, bounded by
 * the config (at most 1024 peers).
 */
import type { AgentStats, PeerStats } from "../agent/stats.js";
import { escapeLabel, familyHeader, formatValue } from "./text-format.js";

// Sample values: a finite number (nearly always) is interpolated in place, formatValue() called
// only for NaN and infinities. A helper called for every sample was the first function V8's
// optimising compiler took in an agent scraped a few dozen times, which makes ~3.5 MiB of its
// code resident in an agent otherwise idle (docs/devices.md, "Idle memory").

export interface MetricFamily {
  readonly name: string;
  readonly type: "counter" | "gauge";
  readonly help: string;
  /** "# HELP" and "# TYPE" lines */
  readonly header: string;
  /** the family's sample lines for this snapshot; "" when it has none */
  samples(s: AgentStats): string;
}

type Read = (s: AgentStats) => number | null;

function family(name: string, type: "counter" | "gauge", help: string, samples: (s: AgentStats) => string): MetricFamily {
  if (type === "counter" !== name.endsWith("_total")) throw new Error(`metric ${name}: counters, and only counters, end in _total`);
  return { name, type, help, header: familyHeader(name, type, help), samples };
}

function scalar(type: "counter" | "gauge", name: string, help: string, read: Read): MetricFamily {
  return family(name, type, help, (s) => {
    const v = read(s);
    return v === null ? "" : `${name} ${Number.isFinite(v) ? v : formatValue(v)}\n`;
  });
}

const counter = (name: string, help: string, read: Read) => scalar("counter", name, help, read);
const gauge = (name: string, help: string, read: Read) => scalar("gauge", name, help, read);

/** `{peer="NAME"}` per peer name, escaped once rather than per family and scrape. */
const peerLabels = new Map<string, string>();
function peerLabel(name: string): string {
  let label = peerLabels.get(name);
  if (label === undefined) {
    if (peerLabels.size >= 4096) peerLabels.clear(); // peers added at run time: keep it bounded
    label = `{peer="${escapeLabel(name)}"} `;
    peerLabels.set(name, label);
  }
  return label;
}

/** One sample per configured qis peer, labelled peer="NAME". */
function perPeer(type: "counter" | "gauge", name: string, help: string, read: (p: PeerStats) => number): MetricFamily {
  return family(name, type, help, (s) => {
    let out = "";
    for (const p of s.peers) {
      const v = read(p);
      out += `${name}${peerLabel(p.name)}${Number.isFinite(v) ? v : formatValue(v)}\n`;
    }
    return out;
  });
}

/** One sample per value of a bounded label (e.g. reason="..."), in the given order. */
function labelled(type: "counter" | "gauge", name: string, help: string, label: string, values: readonly [string, (s: AgentStats) => number][]): MetricFamily {
  return family(name, type, help, (s) => {
    let out = "";
    for (const [text, read] of values) {
      const v = read(s);
      out += `${name}{${label}="${text}"} ${Number.isFinite(v) ? v : formatValue(v)}\n`;
    }
    return out;
  });
}

export const AGENT_FAMILIES: readonly MetricFamily[] = [
  // ---- packets through the agent
  counter("qis_edge_packets_observed_total", "Observations accepted and stored as this node's packets.", (s) => s.observed),
  counter("qis_edge_packets_published_total", "Own and synthesized packets handed to the publisher.", (s) => s.published),
  counter("qis_edge_packets_received_total", "Packets from peers newly stored (live and caught up, qis and legacy).", (s) => s.received),
  counter("qis_edge_packets_duplicate_total", "Packets from peers the store already held.", (s) => s.duplicates),
  counter("qis_edge_packets_synthesized_total", "Synthesized packets stored and published.", (s) => s.synthesized),
  counter("qis_edge_packets_invalid_total", "Packets refused from peers (failed verification, wrong address, bad message), qis and legacy.", (s) => {
    let n = s.legacy.invalid;
    for (const p of s.peers) n += p.invalidPackets;
    return n;
  }),
  // ---- our publisher
  counter("qis_edge_pub_messages_total", "ZeroMQ messages (batches) sent by the packet publisher.", (s) => s.pub.messages),
  counter("qis_edge_pub_packets_total", "Packets sent by the packet publisher.", (s) => s.pub.packets),
  counter("qis_edge_pub_send_errors_total", "Publisher sends that failed.", (s) => s.pub.sendErrors),
  // ---- our store endpoint (catch-up queries from peers); absent with store.bind null
  counter("qis_edge_store_server_requests_total", "Catch-up queries answered by the store endpoint.", (s) => s.storeServer?.served ?? null),
  counter("qis_edge_store_server_packets_total", "Packets sent in answers to catch-up queries.", (s) => s.storeServer?.packetsServed ?? null),
  counter("qis_edge_store_server_bad_requests_total", "Catch-up queries refused as malformed.", (s) => s.storeServer?.badRequests ?? null),
  // ---- per qis peer
  perPeer("gauge", "qis_edge_peer_up", "1 while the ZeroMQ connection to the peer's publisher is up, else 0.", (p) => (p.up ? 1 : 0)),
  perPeer("counter", "qis_edge_peer_messages_total", "Messages received from the peer's publisher.", (p) => p.messages),
  perPeer("counter", "qis_edge_peer_packets_total", "Valid packets received from the peer, live and caught up.", (p) => p.packets),
  perPeer("counter", "qis_edge_peer_invalid_messages_total", "Messages from the peer refused whole.", (p) => p.invalidMessages),
  perPeer("counter", "qis_edge_peer_invalid_packets_total", "Packets from the peer refused.", (p) => p.invalidPackets),
  perPeer("counter", "qis_edge_peer_gaps_total", "Missed batches noticed in the peer's stream (each starts a catch-up).", (p) => p.gaps),
  perPeer("counter", "qis_edge_peer_catch_ups_total", "Catch-up rounds run against the peer's store.", (p) => p.catchUps),
  perPeer("counter", "qis_edge_peer_caught_up_packets_total", "Packets received from the peer's store by catch-up.", (p) => p.caughtUpPackets),
  perPeer("counter", "qis_edge_peer_query_failures_total", "Catch-up queries to the peer's store that failed or timed out.", (p) => p.queryFailures),
  // ---- the local store
  gauge("qis_edge_store_capacity_packets", "Packets the store holds at most (store.capacity).", (s) => s.store.capacity),
  gauge("qis_edge_store_packets", "Live packets in the store.", (s) => s.store.size),
  gauge("qis_edge_store_fill_ratio", "Live packets over capacity (0..1).", (s) => s.store.size / s.store.capacity),
  gauge("qis_edge_store_addresses", "Distinct addresses among the live packets.", (s) => s.store.addresses),
  gauge("qis_edge_store_cursor", "Cursor of the newest stored packet.", (s) => s.store.cursor),
  gauge("qis_edge_store_memory_bytes", "Bytes of the store's slots and indexes (allocated at start).", (s) => s.store.slotBytes + s.store.indexBytes),
  counter("qis_edge_store_stored_packets_total", "Packets stored since start (not counting those reloaded from the file).", (s) => s.store.stored),
  counter("qis_edge_store_evicted_packets_total", "Live packets overwritten by newer ones because the store was full.", (s) => s.store.evicted),
  counter("qis_edge_store_expired_packets_total", "Packets freed at their expiry.", (s) => s.store.expired),
  counter("qis_edge_store_expired_on_arrival_packets_total", "Packets refused because they had expired before they arrived.", (s) => s.store.expiredOnArrival),
  counter("qis_edge_store_loaded_packets_total", "Packets reloaded from the store file at start.", (s) => s.store.loaded),
  counter("qis_edge_store_corrupt_records_total", "Store file records dropped at start (torn, corrupt, stale or duplicate).", (s) => s.store.corruptOnLoad),
  // ---- synthesis
  gauge("qis_edge_synthesis_addresses", "Addresses with a live contribution.", (s) => s.synth.addresses),
  gauge("qis_edge_synthesis_contributions", "Live contributions held.", (s) => s.synth.contributions),
  counter("qis_edge_synthesis_offered_packets_total", "Packets offered to synthesis.", (s) => s.synth.offered),
  counter("qis_edge_synthesis_contributions_added_total", "Packets counted as contributions.", (s) => s.synth.added),
  counter("qis_edge_synthesis_contributions_expired_total", "Contributions removed at their expiry.", (s) => s.synth.expired),
  counter("qis_edge_synthesis_contributions_dropped_total", "Contributions removed early because synth.maxContributions was reached.", (s) => s.synth.droppedEarly),
  counter("qis_edge_synthesis_emitted_total", "Synthesized packets produced by the engine.", (s) => s.synth.emitted),
  counter("qis_edge_synthesis_events_dropped_total", "Synthesis events not delivered to listeners because their queue was full.", (s) => s.synthEventsDropped),
  labelled("counter", "qis_edge_synthesis_refused_packets_total", "Packets synthesis refused, by reason.", "reason", [
    ["max_addresses", (s) => s.synth.addressesRefused],
    ["max_nodes", (s) => s.synth.nodesRefused],
    ["max_hops", (s) => s.synth.hopRefused],
    ["expired", (s) => s.synth.stale],
    ["duplicate", (s) => s.synth.duplicates],
    ["invalid_address", (s) => s.synth.addressesInvalid],
    ["address_collision", (s) => s.synth.addressCollisions],
  ]),
  // ---- links to reference-Python nodes (docs/legacy.md); zero without any
  counter("qis_edge_legacy_sent_packets_total", "Packets published in the legacy wire format.", (s) => s.legacy.sent),
  counter("qis_edge_legacy_requests_total", "Legacy store queries answered.", (s) => s.legacy.served),
  counter("qis_edge_legacy_bad_requests_total", "Legacy store queries refused as malformed.", (s) => s.legacy.badRequests),
  counter("qis_edge_legacy_received_packets_total", "Packets received from legacy peers.", (s) => s.legacy.received),
  counter("qis_edge_legacy_invalid_packets_total", "Messages from legacy peers refused.", (s) => s.legacy.invalid),
  counter("qis_edge_legacy_expired_packets_total", "Packets from legacy peers dropped as already expired (legacy.ttlS).", (s) => s.legacy.expired),
];
