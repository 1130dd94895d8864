/**
 * The /metrics page rendered from a real agent's stats(): every family with its HELP and TYPE
 * once, node_exporter-style names, values equal to stats(), label values escaped, and a page
 * `promtool check metrics` accepts.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { packageVersion } from "../../src/agent/version.js";
import { AGENT_FAMILIES } from "../../src/metrics/families.js";
import { renderMetrics } from "../../src/metrics/render.js";
import { ResidentMemory } from "../../src/metrics/process.js";
import { escapeLabel, formatValue } from "../../src/metrics/text-format.js";
import { closeAll, observation, startAgent, waitFor } from "../agent/harness.js";
import { closeBrokers, startBroker } from "../link/mosquitto.js";
import { parseExposition, seriesOf } from "./exposition.js";
import { promtoolCheck } from "./promtool.js";

afterEach(async () => {
  await closeAll();
  await closeBrokers();
});

const START = 1_700_000_000.25;
const rss = new ResidentMemory();
afterAll(() => rss.close());
const PROC = { startTime: START, rss };

describe("the metrics page", () => {
  it("has every family once, named qis_edge_<subsystem>_<name>[_<unit>], counters ending in _total", () => {
    const names = AGENT_FAMILIES.map((f) => f.name);
    expect(new Set(names).size).toBe(names.length);
    for (const f of AGENT_FAMILIES) {
      expect(f.name).toMatch(/^qis_edge_[a-z]+(_[a-z]+)+$/);
      expect(f.name.endsWith("_total")).toBe(f.type === "counter");
      expect(f.help.length).toBeGreaterThan(10);
    }
  });

  it("shows a live agent's stats(): values, peer labels, build info, process series; promtool accepts it", async () => {
    const a = await startAgent();
    // A peer name with every character the format escapes: \ " and a line feed.
    const name = 'east "gw"\\1\nb';
    const b = await startAgent({ peers: [{ pub: a.endpoints.pub, store: a.endpoints.store, name }] });
    await waitFor(() => b.stats().peers[0]!.up, () => "b never connected to a");
    for (let i = 0; i < 5; i++) a.observe(observation("hvac", "energy-anomaly", i / 10, 0.8, 3));
    await waitFor(() => b.stats().received === 5, () => JSON.stringify(b.stats()));
    const stats = b.stats();
    const text = renderMetrics({ version: packageVersion(), nodeId: b.nodeId, ready: true, stats }, PROC);
    const families = parseExposition(text);
    // Build info and readiness first, then the agent's families in order, then the process's.
    // Without an uplink, discovery or signing their families have no sample and are left out; every other family is there.
    const present = AGENT_FAMILIES.filter((f) => !f.name.startsWith("qis_edge_uplink_") && !f.name.startsWith("qis_edge_discovery_") && !f.name.startsWith("qis_edge_signature_"));
    expect(families.map((f) => f.name)).toEqual([
      "qis_edge_build_info",
      "qis_edge_agent_ready",
      ...present.map((f) => f.name),
      "process_resident_memory_bytes",
      "process_cpu_seconds_total",
      "process_start_time_seconds",
    ]);
    for (const f of present) {
      const got = families.find((x) => x.name === f.name)!;
      expect([got.type, got.help]).toEqual([f.type, f.help]);
    }
    const s = seriesOf(families);
    const peer = `{peer="east \\"gw\\"\\\\1\\nb"}`;
    expect(text).toContain(`qis_edge_peer_up${peer} 1\n`);
    const p = stats.peers[0]!;
    expect(p.packets).toBe(5);
    const expected: Record<string, number> = {
      [`qis_edge_build_info{version="${packageVersion()}",node_id="${b.nodeId}"}`]: 1,
      qis_edge_agent_ready: 1,
      qis_edge_packets_observed_total: stats.observed,
      qis_edge_packets_published_total: stats.published,
      qis_edge_packets_received_total: 5,
      qis_edge_packets_duplicate_total: stats.duplicates,
      qis_edge_packets_synthesized_total: stats.synthesized,
      qis_edge_packets_invalid_total: 0,
      qis_edge_pub_messages_total: stats.pub.messages,
      qis_edge_pub_packets_total: stats.pub.packets,
      qis_edge_store_server_requests_total: stats.storeServer!.served,
      [`qis_edge_peer_up${peer}`]: 1,
      [`qis_edge_peer_packets_total${peer}`]: p.packets,
      [`qis_edge_peer_messages_total${peer}`]: p.messages,
      [`qis_edge_peer_gaps_total${peer}`]: p.gaps,
      [`qis_edge_peer_catch_ups_total${peer}`]: p.catchUps,
      [`qis_edge_peer_invalid_packets_total${peer}`]: 0,
      qis_edge_store_capacity_packets: stats.store.capacity,
      qis_edge_store_packets: stats.store.size,
      qis_edge_store_fill_ratio: stats.store.size / stats.store.capacity,
      qis_edge_store_evicted_packets_total: stats.store.evicted,
      qis_edge_store_memory_bytes: stats.store.slotBytes + stats.store.indexBytes,
      qis_edge_synthesis_addresses: 1,
      qis_edge_synthesis_contributions: stats.synth.contributions,
      qis_edge_synthesis_offered_packets_total: stats.synth.offered,
      'qis_edge_synthesis_refused_packets_total{reason="max_addresses"}': 0,
      qis_edge_legacy_sent_packets_total: 0,
      process_start_time_seconds: START,
    };
    for (const [series, value] of Object.entries(expected)) expect([series, s.get(series)]).toEqual([series, value]);
    expect(stats.store.size).toBeGreaterThanOrEqual(5);
    expect(stats.synth.contributions).toBeGreaterThanOrEqual(5);
    // RSS and CPU of this very process, in bytes and seconds.
    // From /proc/self/statm through a kept descriptor: the same figure as Node's own reading.
    const resident = s.get("process_resident_memory_bytes")!;
    expect(resident % 4096).toBe(0);
    expect(Math.abs(resident - process.memoryUsage.rss())).toBeLessThan(8 * 2 ** 20);
    expect(s.get("process_cpu_seconds_total")).toBeGreaterThan(0);
    // No label but peer, reason, version and node_id (no address, no endpoint).
    const labels = new Set([...s.keys()].flatMap((k) => [...k.matchAll(/[{,]([a-z_]+)="/g)].map((m) => m[1])));
    expect([...labels].sort()).toEqual(["node_id", "peer", "reason", "version"]);
    expect(text).not.toContain("tcp://");
    const check = await promtoolCheck(text);
    expect(check.problems, check.output).toEqual([]);
  });

  it("an MQTT uplink (a real Mosquitto): its state, outbox and counters labelled uplink=\"mqtt\"; promtool accepts the page", async () => {
    const broker = await startBroker();
    const a = await startAgent({ uplinks: { mqtt: { url: broker.url, reconnect: { minMs: 50, maxMs: 400 } } } });
    await waitFor(() => a.uplinks[0]!.state === "connected", () => `state ${a.uplinks[0]!.state}`);
    for (let i = 0; i < 3; i++) a.observe(observation("hvac", "energy-anomaly", i / 10, 0.8, 3));
    await waitFor(() => a.stats().uplinks.mqtt!.outbox.acked === 3, () => JSON.stringify(a.stats().uplinks));
    const u = a.stats().uplinks.mqtt!;
    const text = renderMetrics({ version: packageVersion(), nodeId: a.nodeId, ready: true, stats: a.stats() }, PROC);
    const s = seriesOf(parseExposition(text));
    expect(s.get('qis_edge_uplink_up{uplink="mqtt"}')).toBe(1);
    expect(s.get('qis_edge_uplink_state{uplink="mqtt",state="connected"}')).toBe(1);
    expect(s.get('qis_edge_uplink_state{uplink="mqtt",state="offline"}')).toBe(0);
    expect(s.get('qis_edge_uplink_acked_packets_total{uplink="mqtt"}')).toBe(3);
    expect(s.get('qis_edge_uplink_sent_packets_total{uplink="mqtt"}')).toBe(u.sent.packets);
    expect(s.get('qis_edge_uplink_outbox_packets{uplink="mqtt"}')).toBe(u.outbox.held);
    expect(s.get('qis_edge_uplink_outbox_capacity_packets{uplink="mqtt"}')).toBe(u.outbox.capacity);
    expect(s.get('qis_edge_uplink_connects_total{uplink="mqtt"}')).toBe(1);
    expect(s.get("qis_edge_security_curve")).toBe(0);
    expect(s.get("qis_edge_security_denied_total")).toBe(0);
    expect(text).not.toContain(broker.url);
    const check = await promtoolCheck(text);
    expect(check.problems, check.output).toEqual([]);
  });

  it("while the agent starts: build info without node id, ready 0 and the process series only", async () => {
    const text = renderMetrics({ version: "1.2.3", nodeId: null, ready: false, stats: null }, PROC);
    expect(parseExposition(text).map((f) => f.name)).toEqual([
      "qis_edge_build_info",
      "qis_edge_agent_ready",
      "process_resident_memory_bytes",
      "process_cpu_seconds_total",
      "process_start_time_seconds",
    ]);
    expect(text).toContain('qis_edge_build_info{version="1.2.3",node_id=""} 1\n');
    expect(text).toContain("qis_edge_agent_ready 0\n");
    expect((await promtoolCheck(text)).problems).toEqual([]);
  });

  it("escapes label values and formats values as the format wants", () => {
    expect(escapeLabel("plain")).toBe("plain");
    expect(escapeLabel('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
    expect([formatValue(3), formatValue(0.25), formatValue(NaN), formatValue(Infinity), formatValue(-Infinity), formatValue(1e21)]).toEqual(["3", "0.25", "NaN", "+Inf", "-Inf", "1e+21"]);
  });
});
