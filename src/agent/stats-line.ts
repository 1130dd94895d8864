/**
 * The periodic "stats" log line (config log.statsIntervalS): the counters an operator reads
 * first, from the same snapshot as stats() and /metrics. Totals since start, not rates: two
 * lines subtract.
 */
import type { AgentStats } from "./stats.js";

export function statsLine(s: AgentStats): Record<string, unknown> {
  let invalid = s.legacy.invalid;
  let up = 0;
  for (const p of s.peers) {
    invalid += p.invalidPackets;
    if (p.up) up++;
  }
  return {
    observed: s.observed,
    published: s.published,
    received: s.received,
    duplicates: s.duplicates,
    invalid,
    synthesized: s.synthesized,
    peersUp: up,
    peers: s.peers.length,
    store: { packets: s.store.size, capacity: s.store.capacity, evicted: s.store.evicted },
    synth: { addresses: s.synth.addresses, contributions: s.synth.contributions },
  };
}
