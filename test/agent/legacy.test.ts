/**
 * An agent in a swarm of reference Python nodes (real pyzmq processes): it receives their
 * packets into its loop, serves their subscribers on its legacy PUB and answers their store
 * queries on its legacy REP.
 */
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { FLAG_LEGACY } from "../../src/packet/index.js";
import { PyNode, requirePyzmq, stopLegacyNodes } from "../fixtures/legacy-node.js";
import { closeAll, observation, startAgent, waitFor } from "./harness.js";

beforeAll(requirePyzmq);
afterEach(async () => {
  await closeAll();
  await stopLegacyNodes();
});


describe("an agent with reference Python peers", () => {
  it("takes their packets into its loop, publishes to their subscribers and answers their store queries", async () => {
    const now = Date.now() / 1000;
    const pyPackets = [
      { domain: "hvac", delta: 0.18, confidence: 0.9, n: 40, ts: now, node_id: "py-node-a" },
      { domain: "hvac", delta: 0.12, confidence: 0.6, n: 10, ts: now + 0.001, node_id: "py-node-b" },
      { domain: "water", delta: -0.4, confidence: 0.8, n: 5, ts: now + 0.002, node_id: "py-node-a" },
    ];
    const publisher = await PyNode.start(["--pub", "tcp://127.0.0.1:*", "--packets", JSON.stringify(pyPackets)]);
    const agent = await startAgent({
      subscribe: ["qis.hvac.>"],
      peers: [{ name: "py", pub: publisher.ready.pub, codec: "legacy" }],
      legacy: { pub: "tcp://127.0.0.1:*", rep: "tcp://127.0.0.1:*" },
      // No synthesized packets in the store: the replies below list exactly the inputs.
      synth: { minContributors: 32 },
    });
    await publisher.waitFor((e) => e.event === "subscribed", "the agent's legacy subscription");
    publisher.send({ cmd: "publish" });

    // 1. Their hvac packets (not the water one) enter the store and the estimate of qis.hvac.dp0_1.
    await waitFor(() => agent.store.collect("qis.hvac.>").length === 2, () => `agent holds ${agent.store.collect("qis.hvac.>").length} legacy packets`);
    const stored = agent.store.collect("qis.hvac.>").map((p) => p.packet);
    expect(stored.map((b) => b.toString("latin1", 96, 96 + b[7]!))).toEqual(["qis.hvac.dp0_1", "qis.hvac.dp0_1"]);
    expect(stored.every((b) => (b.readUInt16LE(4) & FLAG_LEGACY) !== 0)).toBe(true);
    const e = agent.synth.estimate("qis.hvac.dp0_1")!;
    const w1 = Math.fround(0.9) * Math.log1p(40);
    const w2 = Math.fround(0.6) * Math.log1p(10);
    expect(e.estimate).toBeCloseTo((w1 * Math.fround(0.18) + w2 * Math.fround(0.12)) / (w1 + w2), 9);
    expect(e.nodes).toBe(2);

    // 2. A Python subscriber of the agent's legacy PUB gets the agent's own packets in their format.
    const sub = await PyNode.start(["--sub", agent.endpoints.legacyPub!, "--topic", "qis.hvac."]);
    await new Promise((r) => setTimeout(r, 300)); // the SUB's subscription travels to our PUB
    const mine = agent.observe(observation("hvac", "energy-anomaly", 0.18, 0.87, 42));
    const got = await sub.waitFor((ev) => ev.event === "received", "our packet on the legacy PUB");
    expect(got.topic).toBe("qis.hvac.d+0.1");
    expect(got.decoded).toMatchObject({
      n_observations: 42,
      outcome_delta: Math.fround(0.18),
      confidence: Math.fround(0.87),
      reserved: 0,
      text: `hvac|${agent.nodeId}|${"0".repeat(32)}`,
    });
    expect(mine.address).toBe("qis.hvac.energy-anomaly");

    // 3. A Python REQ asks the agent's legacy REP store: the three hvac packets, oldest first.
    sub.send({ cmd: "query", endpoint: agent.endpoints.legacyRep, prefix: "qis.hvac." });
    const reply = await sub.waitFor((ev) => ev.event === "reply", "the legacy store reply");
    expect(JSON.parse(reply.text as string)).toEqual([
      { domain: "hvac", outcome_delta: 0.18, confidence: 0.9, n_observations: 40 },
      { domain: "hvac", outcome_delta: 0.12, confidence: 0.6, n_observations: 10 },
      { domain: "hvac", outcome_delta: 0.18, confidence: 0.87, n_observations: 42 },
    ]);
    expect(agent.stats().legacy).toMatchObject({ received: 2, invalid: 0, served: 1, badRequests: 0 });
  });
});
