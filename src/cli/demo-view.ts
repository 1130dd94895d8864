/**
 * The demo's screen: plain text lines from each node's stats and synthesis snapshot. The same
 * lines are drawn in place on a terminal (demo.ts adds the escape codes) and printed as a
 * summary block in a pipe or a log.
 *
 *   node     bldg  pid     observed published received  dup synth invalid peers
 *   n1 3fa2c1d0 b1 41234       240      262      510    3    22       0   2/2
 *   estimates, as each node sees them             estimate   weight nodes packets
 *   n1 qis.hvac.energy-anomaly                      +0.214     81.2     3     512
 *   consensus per domain, as each node sees it
 *   n1 hvac  up   0.41 ALERT   iot   up   0.35
 */
import type { AgentStats } from "../agent/stats.js";
import type { DomainConsensus, SynthSnapshot } from "../synth/index.js";

export interface NodeView {
  label: string;
  building: string;
  pid: number;
  nodeId: string;
  /** the last answers to "snapshot"; undefined until the first one */
  stats?: AgentStats;
  synth?: SynthSnapshot;
  /** set when the worker has exited */
  exit?: string;
}

export interface Frame {
  title: string;
  nodes: readonly NodeView[];
  /** a last line (e.g. "Ctrl-C stops") */
  footer?: string;
}

const ADDRESS_WIDTH = 44;

const num = (v: number, width: number): string => String(v).padStart(width);
const signed = (v: number | null, digits: number, width: number): string => (v === null ? "-" : `${v >= 0 ? "+" : ""}${v.toFixed(digits)}`).padStart(width);

/** Packets refused as invalid by this node's peer links (bad messages, bad packets, legacy). */
export function invalidCount(s: AgentStats): number {
  let n = s.legacy.invalid;
  for (const p of s.peers) n += p.invalidMessages + p.invalidPackets;
  return n;
}

export function nodeName(v: NodeView): string {
  return `${v.label} ${v.nodeId.slice(0, 8)}`;
}

function direction(c: DomainConsensus): string {
  return c.direction > 0 ? "up" : c.direction < 0 ? "down" : "flat";
}

export function renderFrame(frame: Frame): string[] {
  const lines: string[] = [frame.title, ""];
  const w = Math.max(11, ...frame.nodes.map((n) => nodeName(n).length));
  lines.push(`${"node".padEnd(w)} bldg ${"pid".padStart(7)} observed published received   dup synth invalid peers`);
  for (const n of frame.nodes) {
    const head = `${nodeName(n).padEnd(w)} ${n.building.padEnd(4)} ${num(n.pid, 7)}`;
    const s = n.stats;
    if (s === undefined) {
      lines.push(`${head}  ${n.exit ?? "starting"}`);
      continue;
    }
    const up = s.peers.filter((p) => p.up).length;
    lines.push(
      `${head} ${num(s.observed, 8)} ${num(s.published, 9)} ${num(s.received, 8)} ${num(s.duplicates, 5)} ${num(s.synthesized, 5)} ${num(invalidCount(s), 7)} ${`${up}/${s.peers.length}`.padStart(5)}` +
        (n.exit !== undefined ? `  ${n.exit}` : ""),
    );
  }

  lines.push("", `${"estimates, as each node sees them".padEnd(ADDRESS_WIDTH + 3)} estimate   weight nodes packets`);
  const addresses = [...new Set(frame.nodes.flatMap((n) => n.synth?.addresses.map((a) => a.address) ?? []))].sort();
  if (addresses.length === 0) lines.push("   (none yet)");
  for (const address of addresses) {
    for (const n of frame.nodes) {
      const a = n.synth?.addresses.find((x) => x.address === address);
      const head = `${n.label.padEnd(3)}${address.padEnd(ADDRESS_WIDTH)}`;
      lines.push(a === undefined ? `${head} ${"-".padStart(8)}` : `${head} ${signed(a.estimate, 3, 8)} ${a.weight.toFixed(1).padStart(8)} ${num(a.nodes, 5)} ${num(a.packets, 7)}`);
    }
  }

  lines.push("", "consensus per domain, as each node sees it (direction strength alert)");
  const domains = [...new Set(frame.nodes.flatMap((n) => n.synth?.domains.map((d) => d.domain) ?? []))].sort();
  const dw = Math.max(4, ...domains.map((d) => d.length));
  if (domains.length === 0) lines.push("   (none yet)");
  else
    for (const n of frame.nodes) {
      const cells = domains.map((d) => {
        const c = n.synth?.domains.find((x) => x.domain === d);
        const text = c === undefined ? "-" : `${direction(c).padEnd(4)} ${c.strength.toFixed(2)} ${c.alert ? "ALERT" : ""}`;
        return `${d.padEnd(dw)} ${text.padEnd(16)}`;
      });
      lines.push(`${n.label.padEnd(3)}${cells.join("  ").trimEnd()}`);
    }
  if (frame.footer !== undefined) lines.push("", frame.footer);
  return lines;
}

/** Cuts a line to `columns` characters (the terminal's width), so that nothing wraps. */
export function fit(line: string, columns: number | undefined): string {
  return columns !== undefined && columns > 0 && line.length > columns ? line.slice(0, columns) : line;
}
