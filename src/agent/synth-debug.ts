/**
 * At log level debug, why a stored packet did not lead to a synthesis: one "no synthesis" line
 * per address of the batch that synthesized nothing, with the rule that held it back (fewer
 * nodes than synth.minContributors, a change under synth.minDelta, synth.minIntervalMs not
 * elapsed, …; docs/synth.md "Emission"), read from the engine's state without changing it
 * (SynthEngine.heldBack). Called only when debug is on: at other levels it costs the agent one
 * level check per batch.
 */
import { PACKET_SIZE, readPacket } from "../packet/index.js";
import { InsertStatus } from "../store/index.js";
import type { SynthEngine } from "../synth/index.js";
import type { Logger } from "./log.js";

/**
 * `packets[0, count)` went to synthesis (those with `statuses[i]` STORED, when given); `made`
 * holds the synthesized packets it produced.
 */
export function explainHeldBack(synth: SynthEngine, log: Logger, source: string, packets: Uint8Array, count: number, statuses: Uint8Array | null, made: readonly { address: string }[]): void {
  const done = new Set<string>();
  for (const p of made) done.add(p.address);
  for (let i = 0; i < count; i++) {
    if (statuses !== null && statuses[i] !== InsertStatus.STORED) continue;
    const address = readPacket(packets, i * PACKET_SIZE).address;
    if (done.has(address)) continue;
    done.add(address);
    const why = synth.heldBack(address);
    if (why !== null) log.debug("no synthesis", { address, source, ...why, why: explain(why) });
  }
}

type Why = NonNullable<ReturnType<SynthEngine["heldBack"]>>;

function explain(w: Why): string {
  switch (w.reason) {
    case "no-contribution":
      return "synthesis holds no contribution for the address: the packet was kept out (admission limits, synth.max*, hops, its own synthesized packet) or has expired; see stats";
    case "no-weight":
      return "its contributions have no weight (confidence 0 or nObservations 0)";
    case "min-contributors":
      return `${w.nodes} node${w.nodes === 1 ? "" : "s"} contribute${w.nodes === 1 ? "s" : ""} to the address; synth.minContributors is ${w.minContributors}`;
    case "unchanged":
      return "the estimate has not changed since it was last synthesized";
    case "min-delta":
      return `the estimate moved ${fmt(Math.abs(w.estimate! - w.lastEstimate!))} since it was last synthesized; synth.minDelta is ${w.minDelta}`;
    case "max-hops":
      return `a synthesis would have ${w.hops} hops; synth.maxHops is ${w.maxHops}`;
    case "min-interval":
      return `held back: ${Math.round(w.sinceLastMs!)} ms since the last synthesis of the address; synth.minIntervalMs is ${w.minIntervalMs} (it comes when that has passed)`;
  }
}

const fmt = (x: number): string => String(Math.round(x * 1e6) / 1e6);
