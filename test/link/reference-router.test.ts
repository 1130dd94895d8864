/**
 * An agent with `"codec": "reference-json"` and the reference NATS router's side (nats-py,
 * test/fixtures/reference_router.py) on one real nats-server: packets go both ways, and the
 * reference's consensus (share of the most common conclusion, alert strictly above 0.6) and the
 * agent's (docs/synth.md) agree on the same packets (docs/uplink.md, "The reference router's JSON").
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import type { Agent } from "../../src/agent/agent.js";
import { closeAll, startAgent, waitFor } from "../agent/harness.js";
import { runProcess } from "../run-process.js";
import { closeNatsServers, startNatsServer } from "./nats-server.js";

const PYTHON = fileURLToPath(new URL("../../.venv-nats/bin/python", import.meta.url));
const ROUTER = fileURLToPath(new URL("../fixtures/reference_router.py", import.meta.url));
const HINT = "nats-py is missing: run scripts/system-deps.sh (it makes .venv-nats with pip install nats-py)";

afterEach(async () => {
  await closeAll();
  await closeNatsServers();
});

interface Twin {
  agent_id: string;
  conclusion: string;
  confidence: number;
  qis?: { delta: number };
}
interface Twins {
  packets: Twin[];
  consensus: { conclusion: string; strength: number; alert: boolean; n: number };
}

async function publish(url: string, packets: object[]): Promise<void> {
  const input = packets.map((p) => JSON.stringify(p)).join("\n") + "\n";
  const r = await runProcess(PYTHON, [ROUTER, "publish", url], { input, timeoutMs: 30_000 });
  expect(r.status, r.stderr.toString()).toBe(0);
  expect(r.stdout.toString().trim()).toBe(`acked ${packets.length}`);
}

async function twins(url: string, agent: string, n: number): Promise<Twins> {
  const r = await runProcess(PYTHON, [ROUTER, "twins", url, agent, "pm", "bearing", String(n)], { timeoutMs: 30_000 });
  expect(r.status, r.stderr.toString()).toBe(0);
  return JSON.parse(r.stdout.toString()) as Twins;
}

const reference = (agent: string, conclusion: string) => ({
  agent_id: agent,
  domain: "pm",
  problem_class: "bearing",
  conclusion,
  confidence: 0.8,
  context_vector: [0.25, 1],
  source_node: `${agent}-host`,
});

/** The agent's consensus of the reference's domain `pm`: our class pm under domain iot. */
function ours(agent: Agent) {
  const c = agent.synth.consensus("iot")!;
  return { strength: c.strength, alert: c.alert, classes: c.classes };
}

describe("the reference NATS router and an agent with codec reference-json", () => {
  it("exchange packets both ways and agree on consensus: 3 of 5 is no alert, 4 of 6 is one", async () => {
    expect(existsSync(PYTHON), HINT).toBe(true);
    const server = await startNatsServer();
    const agent = await startAgent({
      synth: { minContributors: 32 },
      uplinks: {
        nats: {
          servers: [server.url],
          codec: "reference-json",
          down: ["qis.iot.>"],
          referenceJson: { conclusions: { "bearing wear": 1 } },
          reconnect: { minMs: 50, maxMs: 400 },
        },
      },
    });
    await waitFor(() => agent.uplinks[0]!.state === "connected", () => `state ${agent.uplinks[0]!.state}`);

    // The agent's own finding goes up as the reference's JSON...
    agent.observe({ domain: "iot", problemClass: "pm", tokens: ["bearing"], outcomeDelta: 1, confidence: 0.8, nObservations: 1, conclusion: "bearing wear" });
    // ...and four reference agents report theirs: two agree with it, two do not.
    await publish(server.url, [reference("r1", "bearing wear"), reference("r2", "bearing wear"), reference("r3", "normal"), reference("r4", "normal")]);
    await waitFor(() => agent.stats().uplinks.nats!.received.packets >= 5, () => JSON.stringify(agent.stats().uplinks.nats!.received));

    // The reference reads all five through its durable consumer, the agent's among them.
    const seen = await twins(server.url, "ref-router", 5);
    expect(seen.packets.map((t) => t.agent_id).sort()).toEqual([agent.nodeId, "r1", "r2", "r3", "r4"]);
    const mine = seen.packets.find((t) => t.agent_id === agent.nodeId)!;
    expect(mine).toMatchObject({ conclusion: "bearing wear", confidence: 0.8, qis: { delta: 1 } });
    expect(seen.consensus).toEqual({ conclusion: "bearing wear", strength: 0.6, alert: false, n: 5 });

    // The agent holds the same five (its own came back down once more: a duplicate, not stored twice).
    expect(agent.store.collect("qis.iot.pm.bearing", 0, 100).length).toBe(5);
    const a = ours(agent);
    expect(a.strength).toBeCloseTo(0.6, 12);
    expect(a.alert).toBe(false);

    // A fifth reference agent agrees: 4 of 6, both alert.
    await publish(server.url, [reference("r5", "bearing wear")]);
    await waitFor(() => agent.store.collect("qis.iot.pm.bearing", 0, 100).length === 6, () => `${agent.store.collect("qis.iot.pm.bearing", 0, 100).length} stored`);
    const again = await twins(server.url, "ref-router-2", 6);
    expect(again.consensus).toMatchObject({ conclusion: "bearing wear", alert: true, n: 6 });
    const b = ours(agent);
    expect(b.strength).toBeCloseTo(again.consensus.strength, 12);
    expect(b.alert).toBe(true);
    expect(agent.stats().uplinks.nats!.received.malformed).toBe(0);
  }, 60_000);

  it("counts and drops JSON it cannot read, with its code, and goes on", async () => {
    expect(existsSync(PYTHON), HINT).toBe(true);
    const server = await startNatsServer();
    const agent = await startAgent({
      synth: { minContributors: 32 },
      uplinks: { nats: { servers: [server.url], codec: "reference-json", down: ["qis.iot.>"], reconnect: { minMs: 50, maxMs: 400 } } },
    });
    const errors: string[] = [];
    agent.on("error", (e: { code?: string }) => errors.push(e.code ?? "?"));
    await waitFor(() => agent.uplinks[0]!.state === "connected", () => `state ${agent.uplinks[0]!.state}`);
    await publish(server.url, [
      { ...reference("r1", "x"), confidence: 2 },
      { ...reference("r2", "x"), context_vector: "none" },
      reference("r3", "fine"),
    ]);
    await waitFor(() => agent.stats().uplinks.nats!.received.messages >= 3, () => JSON.stringify(agent.stats().uplinks.nats!.received));
    expect(agent.stats().uplinks.nats!.received).toMatchObject({ messages: 3, packets: 1, malformed: 2, malformedByTopic: { "qis.iot.pm.bearing": 2 } });
    expect(errors.sort()).toEqual(["ERR_REFERENCE_JSON_FIELD", "ERR_REFERENCE_JSON_VALUE"]);
    expect(agent.store.collect("qis.iot.pm.bearing", 0, 100).length).toBe(1);
  }, 60_000);
});
