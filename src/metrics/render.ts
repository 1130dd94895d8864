/**
 * One /metrics page from a snapshot: build info, readiness, the agent's families (./families.ts)
 * and the process's. No I/O and no state of its own, so that anything holding a snapshot (the
 * HTTP listener, a future control socket, a test) renders the same page.
 */
import type { AgentStats } from "../agent/stats.js";
import { AGENT_FAMILIES, type MetricFamily } from "./families.js";
import { renderProcess, type ProcessInfo } from "./process.js";
import { escapeLabel, familyHeader } from "./text-format.js";

export interface MetricsSnapshot {
  version: string;
  /** null until the agent has read or made its node id */
  nodeId: string | null;
  /** what /healthz says: sockets bound and store open */
  ready: boolean;
  /** null while the agent starts or once it stops */
  stats: AgentStats | null;
}

const BUILD_INFO = familyHeader("qis_edge_build_info", "gauge", "Always 1: the qis-edge version and this node's id as labels.");
const READY = familyHeader("qis_edge_agent_ready", "gauge", "1 once the agent's sockets are bound and its store is open (GET /healthz answers 200), else 0.");

export function renderMetrics(snap: MetricsSnapshot, proc: ProcessInfo, families: readonly MetricFamily[] = AGENT_FAMILIES): string {
  let out = `${BUILD_INFO}qis_edge_build_info{version="${escapeLabel(snap.version)}",node_id="${escapeLabel(snap.nodeId ?? "")}"} 1\n`;
  out += `${READY}qis_edge_agent_ready ${snap.ready ? 1 : 0}\n`;
  const s = snap.stats;
  if (s !== null) {
    for (const f of families) {
      const body = f.samples(s);
      if (body !== "") out += f.header + body;
    }
  }
  return out + renderProcess(proc);
}
