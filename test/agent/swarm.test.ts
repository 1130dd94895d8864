/**
 * Agents in this process over real ZeroMQ sockets (tcp and ipc on loopback): they exchange
 * packets, reach the reference estimate, and a SUB pattern receives exactly what matches.
 */
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Agent, SynthesisEvent } from "../../src/agent/agent.js";
import { closeAll, observation, startAgent, tempDir, waitFor } from "./harness.js";

afterEach(closeAll);

const ADDRESS = "qis.hvac.energy-anomaly";

/** Endpoints for one agent on the given transport (tcp: free ports, ipc: a temp socket path). */
function endpoints(transport: "tcp" | "ipc"): { pub: { bind: string }; store: { bind: string } } {
  if (transport === "tcp") return { pub: { bind: "tcp://127.0.0.1:*" }, store: { bind: "tcp://127.0.0.1:*" } };
  const dir = tempDir("qis-ipc-");
  return { pub: { bind: `ipc://${join(dir, "pub")}` }, store: { bind: `ipc://${join(dir, "store")}` } };
}

/** Three agents, each connected to the two others. */
async function mesh(transport: "tcp" | "ipc", extra: Record<string, unknown> = {}): Promise<Agent[]> {
  const agents: Agent[] = [];
  for (let i = 0; i < 3; i++) agents.push(await startAgent({ ...endpoints(transport), ...extra }));
  for (const a of agents) for (const b of agents) if (a !== b) a.addPeer({ pub: b.endpoints.pub, store: b.endpoints.store });
  await waitFor(
    () => agents.every((a) => a.peers.every((p) => p.up)),
    () => `peers up: ${agents.map((a) => a.peers.map((p) => p.up).join("/")).join(" ")}`,
  );
  return agents;
}

/** The reference estimate: Σ w·delta / Σ w with w = confidence × ln(1 + n), on the f32 values a packet carries. */
function reference(obs: { outcomeDelta: number; confidence: number; nObservations: number }[]): number {
  let sw = 0;
  let swd = 0;
  for (const o of obs) {
    const w = Math.fround(o.confidence) * Math.log1p(o.nObservations);
    sw += w;
    swd += w * Math.fround(o.outcomeDelta);
  }
  return swd / sw;
}

describe.each(["tcp", "ipc"] as const)("3 agents over %s", (transport) => {
  it("exchange every packet and all reach the reference estimate", async () => {
    const agents = await mesh(transport, { synth: { minIntervalMs: 0 } });
    const all: ReturnType<typeof observation>[] = [];
    const synthesized: SynthesisEvent[] = [];
    agents[0]!.on("synthesis", (e: SynthesisEvent) => synthesized.push(e));
    agents.forEach((a, i) => {
      for (let k = 0; k < 20; k++) {
        const o = observation("HVAC", "Energy Anomaly", ((i * 20 + k) % 17) / 10 - 0.8, 0.5 + k / 50, 1 + ((k * 7) % 40));
        all.push(o);
        a.observe(o);
      }
    });
    // Each agent holds its 20 and the 40 of the others (synthesized packets are extra).
    await waitFor(
      () => agents.every((a) => a.synth.estimate(ADDRESS)?.packets === 60),
      () => `packets per agent: ${agents.map((a) => a.synth.estimate(ADDRESS)?.packets).join(", ")}`,
    );
    const expected = reference(all);
    for (const a of agents) {
      const e = a.synth.estimate(ADDRESS)!;
      expect(e.estimate).toBeCloseTo(expected, 9);
      expect(e.nodes).toBe(3);
      expect(e.observations).toBe(all.reduce((s, o) => s + o.nObservations, 0));
      expect(a.stats().received).toBeGreaterThanOrEqual(40);
    }
    // Synthesized packets re-entered the loop: agent 0 emitted some, and peers stored them
    // without counting them twice (a node's summary is shadowed by its raw packets).
    expect(synthesized.length).toBeGreaterThan(0);
    expect(synthesized[0]!.address).toBe(ADDRESS);
    const synthesizedBy0 = agents[0]!.stats().synthesized;
    await waitFor(
      () => agents[1]!.store.collect(ADDRESS).filter((p) => (p.packet.readUInt16LE(4) & 2) !== 0).length >= synthesizedBy0,
      () => "agent 1 stored agent 0's synthesized packets",
    );
    expect(agents[1]!.synth.estimate(ADDRESS)!.estimate).toBeCloseTo(expected, 9);
  });
});

describe("subscription patterns", () => {
  it("a SUB pattern receives exactly the packets whose address matches", async () => {
    const a = await startAgent();
    const b = await startAgent({ subscribe: ["qis.iot.predictive-maintenance.>", "qis.*.leak"] });
    b.addPeer({ pub: a.endpoints.pub, store: a.endpoints.store });
    const sent = [
      { o: observation("iot", "predictive-maintenance", 0.1, 0.9, 3, ["bearing-wear"]), match: true },
      { o: observation("iot", "predictive-maintenance", 0.2, 0.9, 3, ["belt", "slip"]), match: true },
      { o: observation("iot", "predictive-maintenance", 0.3, 0.9, 3), match: false }, // ">" needs one more token
      { o: observation("iot", "predictive-maintenance-x", 0.3, 0.9, 3, ["y"]), match: false },
      { o: observation("hvac", "leak", -0.4, 0.8, 2), match: true },
      { o: observation("water", "leak", -0.5, 0.8, 2), match: true },
      { o: observation("water", "leak", -0.5, 0.8, 2, ["basement"]), match: false },
      { o: observation("hvac", "energy-anomaly", 0.18, 0.87, 42), match: false },
    ];
    await waitFor(() => b.peers[0]!.up, () => "b connected to a");
    const expected: string[] = [];
    for (let round = 0; round < 25; round++) {
      for (const s of sent) {
        const r = a.observe(s.o);
        if (s.match) expected.push(`${r.address}:${r.seq}`);
      }
    }
    const got = (): string[] => b.store.collect().map((p) => `${p.packet.toString("latin1", 96, 96 + p.packet[7]!)}:${Number(p.packet.readBigUInt64LE(32))}`);
    await waitFor(() => got().length >= expected.length, () => `b stored ${got().length} of ${expected.length}`);
    // Let stragglers (wrongly routed ones would come now) arrive before comparing exactly.
    await new Promise((r) => setTimeout(r, 300));
    expect(got().sort()).toEqual(expected.sort());
    expect(b.peers[0]!.counters.invalidPackets).toBe(0);
  });
});
