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
import type { AdmissionCounters } from "../agent/admission.js";
import type { AgentStats, PeerStats } from "../agent/stats.js";
import type { UplinkState, UplinkStats } from "../link/uplink/types.js";
import type { SynthCounters } from "../synth/index.js";
import type { SignatureCounters } from "../security/packet-security.js";
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

/** One sample per entry of a keyed record in the snapshot (uplinks by name, peers' refusals by reason, ...). */
function perEntry(type: "counter" | "gauge", name: string, help: string, samples: (s: AgentStats) => Iterable<readonly [labels: string, value: number]>): MetricFamily {
  return family(name, type, help, (s) => {
    let out = "";
    for (const [labels, v] of samples(s)) out += `${name}{${labels}} ${Number.isFinite(v) ? v : formatValue(v)}\n`;
    return out;
  });
}

/** `read` of every uplink, labelled uplink="NAME" (the configured uplink: "mqtt"). */
function perUplink(type: "counter" | "gauge", name: string, help: string, read: (u: UplinkStats) => number): MetricFamily {
  return perEntry(type, name, help, (s) => Object.values(s.uplinks).map((u) => [`uplink="${escapeLabel(u.name)}"`, read(u)] as const));
}

const UPLINK_STATES: readonly UplinkState[] = ["connecting", "connected", "offline", "closed"];
const ADMISSION_REASONS: readonly (readonly [string, keyof AdmissionCounters])[] = [
  ["ttl_zero", "ttlZero"],
  ["future", "future"],
  ["max_addresses", "addresses"],
  ["address_rate", "addressRate"],
  ["max_nodes_per_address", "nodesPerAddress"],
];

const SIGNATURE_VERDICTS: readonly (readonly [string, keyof SignatureCounters])[] = [
  ["valid", "verified"],
  ["unsigned", "unsigned"],
  ["not_synthesized", "notSynthesized"],
  ["unsigned_refused", "refusedUnsigned"],
  ["bad_signature", "badSignature"],
  ["unknown_key", "unknownKey"],
  ["key_not_allowed", "keyNotAllowed"],
];

const SYNTH_REFUSALS: readonly (readonly [string, keyof SynthCounters])[] = [
  ["max_addresses", "addressesRefused"],
  ["max_nodes", "nodesRefused"],
  ["max_hops", "hopRefused"],
  ["expired", "stale"],
  ["duplicate", "duplicates"],
  ["invalid_address", "addressesInvalid"],
  ["address_collision", "addressCollisions"],
];

export const AGENT_FAMILIES: readonly MetricFamily[] = [
  // ---- packets through the agent
  counter("qis_edge_packets_observed_total", "Observations stored as this node's packets.", (s) => s.observed),
  counter("qis_edge_packets_published_total", "Own and synthesized packets published.", (s) => s.published),
  counter("qis_edge_packets_received_total", "Packets from peers newly stored.", (s) => s.received),
  counter("qis_edge_packets_duplicate_total", "Packets from peers the store already held.", (s) => s.duplicates),
  counter("qis_edge_packets_synthesized_total", "Synthesized packets published.", (s) => s.synthesized),
  counter("qis_edge_packets_invalid_total", "Packets from peers refused (invalid, wrong address, bad message).", (s) => {
    let n = s.legacy.invalid;
    for (const p of s.peers) n += p.invalidPackets;
    return n;
  }),
  // ---- our publisher
  counter("qis_edge_pub_messages_total", "Messages (batches) published.", (s) => s.pub.messages),
  counter("qis_edge_pub_packets_total", "Packets sent by the publisher.", (s) => s.pub.packets),
  counter("qis_edge_pub_send_errors_total", "Publisher sends that failed.", (s) => s.pub.sendErrors),
  // ---- our store endpoint (catch-up queries from peers); absent with store.bind null
  counter("qis_edge_store_server_requests_total", "Catch-up queries answered.", (s) => s.storeServer?.served ?? null),
  counter("qis_edge_store_server_packets_total", "Packets sent in catch-up answers.", (s) => s.storeServer?.packetsServed ?? null),
  counter("qis_edge_store_server_bad_requests_total", "Malformed catch-up queries.", (s) => s.storeServer?.badRequests ?? null),
  // ---- per qis peer
  perPeer("gauge", "qis_edge_peer_up", "1 while connected to the peer's publisher.", (p) => (p.up ? 1 : 0)),
  perPeer("counter", "qis_edge_peer_messages_total", "Messages from the peer.", (p) => p.messages),
  perPeer("counter", "qis_edge_peer_packets_total", "Valid packets from the peer, live and caught up.", (p) => p.packets),
  perPeer("counter", "qis_edge_peer_invalid_messages_total", "Messages from the peer refused whole.", (p) => p.invalidMessages),
  perPeer("counter", "qis_edge_peer_invalid_packets_total", "Packets from the peer refused.", (p) => p.invalidPackets),
  perPeer("counter", "qis_edge_peer_gaps_total", "Missed batches seen in the peer's stream.", (p) => p.gaps),
  perPeer("counter", "qis_edge_peer_catch_ups_total", "Catch-up rounds from the peer's store.", (p) => p.catchUps),
  perPeer("counter", "qis_edge_peer_caught_up_packets_total", "Packets caught up from the peer's store.", (p) => p.caughtUpPackets),
  perPeer("counter", "qis_edge_peer_query_failures_total", "Catch-up queries that failed or timed out.", (p) => p.queryFailures),
  // ---- the local store
  gauge("qis_edge_store_capacity_packets", "Packets the store holds at most.", (s) => s.store.capacity),
  gauge("qis_edge_store_packets", "Live packets in the store.", (s) => s.store.size),
  gauge("qis_edge_store_fill_ratio", "Live packets over capacity.", (s) => s.store.size / s.store.capacity),
  gauge("qis_edge_store_addresses", "Addresses of the live packets.", (s) => s.store.addresses),
  gauge("qis_edge_store_memory_bytes", "Bytes of the store's slots and indexes.", (s) => s.store.slotBytes + s.store.indexBytes),
  counter("qis_edge_store_stored_packets_total", "Packets stored since start.", (s) => s.store.stored),
  counter("qis_edge_store_evicted_packets_total", "Live packets overwritten because the store was full.", (s) => s.store.evicted),
  counter("qis_edge_store_expired_packets_total", "Packets freed at their expiry.", (s) => s.store.expired),
  counter("qis_edge_store_expired_on_arrival_packets_total", "Packets refused as expired on arrival.", (s) => s.store.expiredOnArrival),
  counter("qis_edge_store_loaded_packets_total", "Packets reloaded from the store file.", (s) => s.store.loaded),
  counter("qis_edge_store_corrupt_records_total", "Store file records dropped at start.", (s) => s.store.corruptOnLoad),
  // ---- synthesis
  gauge("qis_edge_synthesis_addresses", "Addresses with a live contribution.", (s) => s.synth.addresses),
  gauge("qis_edge_synthesis_contributions", "Live contributions held.", (s) => s.synth.contributions),
  counter("qis_edge_synthesis_offered_packets_total", "Packets offered to synthesis.", (s) => s.synth.offered),
  counter("qis_edge_synthesis_contributions_added_total", "Contributions added.", (s) => s.synth.added),
  counter("qis_edge_synthesis_contributions_expired_total", "Contributions removed at their expiry.", (s) => s.synth.expired),
  counter("qis_edge_synthesis_contributions_dropped_total", "Contributions removed early (synth.maxContributions).", (s) => s.synth.droppedEarly),
  counter("qis_edge_synthesis_emitted_total", "Syntheses made by the engine.", (s) => s.synth.emitted),
  counter("qis_edge_synthesis_events_dropped_total", "Synthesis events lost to a full listener queue.", (s) => s.synthEventsDropped),
  perEntry("counter", "qis_edge_synthesis_refused_packets_total", "Packets synthesis refused, by reason.", (s) =>
    SYNTH_REFUSALS.map(([reason, key]) => [`reason="${reason}"`, s.synth[key]] as const),
  ),
  // ---- peers' packets kept out of synthesis (docs/security.md, "Admission")
  gauge("qis_edge_synthesis_peer_addresses", "Addresses introduced by peers held in synthesis.", (s) => s.admission.peerAddresses),
  perEntry("counter", "qis_edge_peer_synthesis_refused_packets_total", "Packets from the peer kept out of synthesis, by reason.", (s) =>
    Object.entries(s.admission.perPeer).flatMap(([peer, c]) => ADMISSION_REASONS.map(([reason, key]) => [`peer="${escapeLabel(peer)}",reason="${reason}"`, c[key]] as const)),
  ),
  perEntry("counter", "qis_edge_peer_synthesis_clamped_packets_total", "Packets from the peer with n_observations capped.", (s) =>
    Object.entries(s.admission.perPeer).map(([peer, c]) => [`peer="${escapeLabel(peer)}"`, c.clamped] as const),
  ),
  // ---- peer link security (docs/security.md)
  gauge("qis_edge_security_curve", "1 when peer links use CURVE, 0 when plain.", (s) => (s.security.mode === "curve" ? 1 : 0)),
  gauge("qis_edge_security_allowed_keys", "Client keys let in.", (s) => s.security.allowedKeys),
  counter("qis_edge_security_accepted_total", "CURVE handshakes accepted.", (s) => s.security.accepted),
  counter("qis_edge_security_denied_total", "CURVE handshakes denied.", (s) => s.security.denied),
  // ---- uplinks to a broker (docs/uplink.md); absent without one
  perUplink("gauge", "qis_edge_uplink_up", "1 while connected to the broker.", (u) => (u.state === "connected" ? 1 : 0)),
  perEntry("gauge", "qis_edge_uplink_state", "1 for the uplink's state, else 0.", (s) =>
    Object.values(s.uplinks).flatMap((u) => UPLINK_STATES.map((st) => [`uplink="${escapeLabel(u.name)}",state="${st}"`, u.state === st ? 1 : 0] as const)),
  ),
  perUplink("counter", "qis_edge_uplink_connects_total", "Connections made to the broker.", (u) => u.connects),
  perUplink("counter", "qis_edge_uplink_disconnects_total", "Broker connections lost or refused.", (u) => u.disconnects),
  perUplink("gauge", "qis_edge_uplink_outbox_packets", "Packets in the outbox not yet acknowledged.", (u) => u.outbox.held),
  perUplink("gauge", "qis_edge_uplink_outbox_backlog_packets", "Outbox packets not yet sent.", (u) => u.outbox.backlog),
  perUplink("gauge", "qis_edge_uplink_outbox_capacity_packets", "Packets the outbox holds at most.", (u) => u.outbox.capacity),
  perUplink("counter", "qis_edge_uplink_outbox_dropped_packets_total", "Packets lost to a full outbox.", (u) => u.outbox.dropped),
  perUplink("counter", "qis_edge_uplink_sent_packets_total", "Packets handed to the broker.", (u) => u.sent.packets),
  perUplink("counter", "qis_edge_uplink_acked_packets_total", "Packets acknowledged by the broker.", (u) => u.outbox.acked),
  perUplink("counter", "qis_edge_uplink_failed_messages_total", "Messages that failed to send.", (u) => u.sent.failed),
  perUplink("counter", "qis_edge_uplink_received_packets_total", "Packets received from the broker.", (u) => u.received.packets),
  perUplink("counter", "qis_edge_uplink_malformed_packets_total", "Malformed packets from the broker, dropped.", (u) => u.received.malformed),
  // ---- links to reference-Python nodes (docs/legacy.md); zero without any
  counter("qis_edge_legacy_sent_packets_total", "Packets published in legacy format.", (s) => s.legacy.sent),
  counter("qis_edge_legacy_requests_total", "Legacy store queries answered.", (s) => s.legacy.served),
  counter("qis_edge_legacy_bad_requests_total", "Legacy store queries refused as malformed.", (s) => s.legacy.badRequests),
  counter("qis_edge_legacy_received_packets_total", "Packets received from legacy peers.", (s) => s.legacy.received),
  counter("qis_edge_legacy_invalid_packets_total", "Messages from legacy peers refused.", (s) => s.legacy.invalid),
  counter("qis_edge_legacy_expired_packets_total", "Packets from legacy peers expired on arrival.", (s) => s.legacy.expired),
  // ---- signed packets (docs/security.md, "Signed packets"); absent unless configured
  counter("qis_edge_signature_signed_packets_total", "Own packets signed.", (s) => s.signatures?.signed ?? null),
  counter("qis_edge_signature_verifications_total", "Ed25519 verifications run (cache misses).", (s) => s.signatures?.verifications ?? null),
  perEntry("counter", "qis_edge_signature_peer_packets_total", "Peer packets whose signature was checked, by verdict.", (s) =>
    Object.entries(s.signatures?.perPeer ?? {}).flatMap(([peer, c]) => SIGNATURE_VERDICTS.map(([verdict, key]) => [`peer="${escapeLabel(peer)}",verdict="${verdict}"`, c[key]] as const)),
  ),
  // ---- LAN discovery (docs/discovery.md); absent when off
  gauge("qis_edge_discovery_peers", "Discovered agents connected now.", (s) => s.discovery?.peers ?? null),
  counter("qis_edge_discovery_beacons_sent_total", "Beacons sent.", (s) => s.discovery?.beaconsSent ?? null),
  counter("qis_edge_discovery_send_errors_total", "Beacons that could not be sent.", (s) => s.discovery?.sendErrors ?? null),
  counter("qis_edge_discovery_beacons_received_total", "Valid beacons from other agents.", (s) => s.discovery?.beaconsReceived ?? null),
  perEntry("counter", "qis_edge_discovery_malformed_beacons_total", "Datagrams on the group that are not beacons, by reason.", (s) =>
    s.discovery === null ? [] : Object.entries(s.discovery.malformed).map(([reason, n]) => [`reason="${reason}"`, n] as const),
  ),
  counter("qis_edge_discovery_discovered_total", "Discovered agents connected.", (s) => s.discovery?.discovered ?? null),
  counter("qis_edge_discovery_expired_total", "Discovered agents dropped after 3 missed beacons.", (s) => s.discovery?.expired ?? null),
  perEntry("counter", "qis_edge_discovery_refused_total", "Discovered agents not connected, by reason.", (s) =>
    s.discovery === null ? [] : Object.entries(s.discovery.refused).map(([reason, n]) => [`reason="${reason}"`, n] as const),
  ),
];
