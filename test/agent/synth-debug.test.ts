/**
 * At debug, a stored packet that leads to no synthesis says why ("no synthesis" lines), by the
 * emission rule that held it back; at info nothing is said.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createAgent } from "../../src/agent/agent.js";
import { resolveConfig } from "../../src/agent/config.js";
import { createLogger, type LogLevel } from "../../src/agent/log.js";
import { closeAll, observation, startAgent, testConfig, waitFor } from "./harness.js";

afterEach(closeAll);

async function agentWithLog(level: LogLevel, synth: Record<string, unknown> = {}, more: Record<string, unknown> = {}) {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level, stream: { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) } });
  const agent = await createAgent(resolveConfig(testConfig({ synth, ...more }), { env: {} }), { logger });
  const held = () => lines.filter((l) => l.msg === "no synthesis");
  return { agent, held, close: () => agent.close() };
}

describe("why no synthesis, at debug", () => {
  it("one node's observation: below synth.minContributors (the default 2)", async () => {
    const { agent, held, close } = await agentWithLog("debug");
    agent.observe(observation("hvac", "energy-anomaly", 0.18, 0.87, 42));
    expect(held()).toEqual([
      expect.objectContaining({
        level: "debug",
        address: "qis.hvac.energy-anomaly",
        source: "local",
        reason: "min-contributors",
        nodes: 1,
        minContributors: 2,
        why: "1 node contributes to the address; synth.minContributors is 2",
      }),
    ]);
    // a batch (observeMany): one line per address, not per packet
    agent.observeMany([observation("hvac", "a", 0.1, 0.5, 1), observation("hvac", "a", 0.2, 0.5, 1), observation("hvac", "b", 0.1, 0.5, 1)]);
    expect(held().slice(1).map((l) => [l.address, l.reason])).toEqual([
      ["qis.hvac.a", "min-contributors"],
      ["qis.hvac.b", "min-contributors"],
    ]);
    await close();
  });

  it("minContributors 1: the first synthesizes (no line), a small change is under minDelta, a large one within minIntervalMs is held back", async () => {
    const { agent, held, close } = await agentWithLog("debug", { minContributors: 1, minDelta: 0.05, minIntervalMs: 60_000 });
    const synthesized: unknown[] = [];
    agent.on("synthesis", (e) => synthesized.push(e));
    agent.observe(observation("hvac", "x", 0.5, 0.9, 10));
    expect(synthesized).toHaveLength(1);
    expect(held()).toEqual([]);
    agent.observe(observation("hvac", "x", 0.5, 0.9, 10)); // the same value: the estimate does not move
    expect(held()).toEqual([
      expect.objectContaining({ address: "qis.hvac.x", reason: "min-delta", minDelta: 0.05, estimate: expect.closeTo(0.5, 5), lastEstimate: expect.closeTo(0.5, 5) }),
    ]);
    expect(held()[0]!.why).toMatch(/^the estimate moved 0 since it was last synthesized; synth.minDelta is 0.05$/);
    agent.observe(observation("hvac", "x", -1, 1, 1000)); // a large move, but within a minute of the last
    const last = held().at(-1)!;
    expect(last).toMatchObject({ reason: "min-interval", minIntervalMs: 60_000 });
    expect(last.why).toMatch(/^held back: \d+ ms since the last synthesis of the address; synth.minIntervalMs is 60000/);
    expect(synthesized).toHaveLength(1);
    await close();
  });

  it("the README's two agents: a packet from the peer is stored, and its line says one node contributes", async () => {
    const a = await startAgent();
    const { agent: b, held, close } = await agentWithLog("debug", {}, { peers: [{ name: "a", pub: a.endpoints.pub, store: a.endpoints.store }] });
    await waitFor(() => b.stats().peers[0]!.up, () => "peer a never up");
    let tries = 0;
    await waitFor(
      () => {
        if (held().length === 0 && tries++ % 20 === 0) a.observe(observation("hvac", "energy-anomaly", 0.18, 0.87, 42));
        return held().length > 0;
      },
      () => "no line on b",
    );
    expect(held()[0]).toMatchObject({ address: "qis.hvac.energy-anomaly", source: "a", reason: "min-contributors", nodes: 1, minContributors: 2 });
    await close();
  });

  it("at info: no such line", async () => {
    const { agent, held, close } = await agentWithLog("info");
    agent.observe(observation("hvac", "energy-anomaly", 0.18, 0.87, 42));
    expect(held()).toEqual([]);
    await close();
  });
});
