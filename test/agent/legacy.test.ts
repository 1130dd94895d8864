/**
 * An agent in a swarm of reference Python nodes (real pyzmq processes): it receives their
 * packets into its loop, serves their subscribers on its legacy PUB and answers their store
 * queries on its legacy REP.
 */
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createAgent, type Agent, type SynthesisEvent } from "../../src/agent/agent.js";
import { resolveConfig } from "../../src/agent/config.js";
import { createLogger } from "../../src/agent/log.js";
import type { QisError } from "../../src/errors.js";
import { FLAG_LEGACY, OFFSETS } from "../../src/packet/index.js";
import { PyNode, requirePyzmq, stopLegacyNodes, type PyEvent } from "../fixtures/legacy-node.js";
import { cleanupAll, startStdio, type Msg } from "../stdio/helpers.js";
import { closeAll, observation, startAgent, testConfig, waitFor } from "./harness.js";

const agents: Agent[] = [];

beforeAll(requirePyzmq);
afterEach(async () => {
  for (const a of agents.splice(0)) await a.close();
  await closeAll();
  await cleanupAll();
  await stopLegacyNodes();
});

/** An agent in this process whose log lines (JSON) and error events are kept; closed after the test. */
async function agentWithLog(overrides: Record<string, unknown>): Promise<{ agent: Agent; log: Record<string, unknown>[]; errors: QisError[] }> {
  const log: Record<string, unknown>[] = [];
  const logger = createLogger({ level: "info", stream: { write: (s: string) => log.push(JSON.parse(s) as Record<string, unknown>) } });
  const agent = await createAgent(resolveConfig(testConfig(overrides), { env: {} }), { logger });
  agents.push(agent);
  const errors: QisError[] = [];
  agent.on("error", (e: QisError) => errors.push(e));
  return { agent, log, errors };
}


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

const received = (e: PyEvent): boolean => e.event === "received";
const decoded = (e: PyEvent) => e.decoded as { outcome_delta: number; confidence: number; n_observations: number; text: string };
const hex = (s: string): string => Buffer.from(s).toString("hex");

describe("packets of a legacy peer expired on arrival (its clock more than legacy.ttlS behind)", () => {
  it("are counted in legacy.expired, logged and reported naming the peer, rate-limited; never stored", async () => {
    const now = Date.now() / 1000;
    const old = [1, 2, 3].map((i) => ({ domain: "hvac", delta: 0.18, confidence: 0.9, n: 4, ts: now - 7200 - i, node_id: "py-slow" }));
    const fresh = { domain: "hvac", delta: 0.12, confidence: 0.6, n: 10, ts: now, node_id: "py-slow" };
    const py = await PyNode.start(["--pub", "tcp://127.0.0.1:*", "--packets", JSON.stringify([...old, fresh])]);
    const { agent, log, errors } = await agentWithLog({ peers: [{ name: "py-slow", pub: py.ready.pub, codec: "legacy" }] });
    await py.waitFor((e) => e.event === "subscribed", "the agent's legacy subscription");
    py.send({ cmd: "publish" });

    await waitFor(() => agent.stats().legacy.received === 4, () => `legacy.received ${agent.stats().legacy.received} of 4`);
    expect(agent.stats().legacy).toMatchObject({ received: 4, invalid: 0, expired: 3 });
    expect(agent.store.stats().expiredOnArrival).toBe(3);
    expect(agent.store.collect("qis.>").map((p) => p.packet.readFloatLE(OFFSETS.outcome_delta))).toEqual([Math.fround(0.12)]);

    // The first report does not wait for the rate limit's interval (10 s).
    await waitFor(() => errors.length > 0, () => "an ERR_LEGACY_EXPIRED error event");
    expect(errors[0]!.code).toBe("ERR_LEGACY_EXPIRED");
    expect(errors[0]!.message).toMatch(/^legacy peer py-slow: [1-3] packets? already expired on arrival \(up to 720[1-9] s old, legacy\.ttlS 3600 s\), dropped: is its clock behind\?$/);
    // Whatever the first report did not count is reported at the next interval or on close.
    await agent.close();
    const lines = log.filter((l) => l.msg === "expired legacy packets");
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines.length).toBeLessThanOrEqual(2);
    expect(lines.reduce((n, l) => n + (l.packets as number), 0)).toBe(3);
    for (const l of lines) expect(l).toMatchObject({ level: "warn", peer: "py-slow", ttlS: 3600, oldestS: expect.any(Number) as unknown });
    expect(errors.map((e) => e.code)).toEqual(lines.map(() => "ERR_LEGACY_EXPIRED"));
  });

  it("legacy.ttlS is their ttl_s: with a day, the same packets are stored", async () => {
    const ts = Date.now() / 1000 - 7200;
    const py = await PyNode.start(["--pub", "tcp://127.0.0.1:*", "--packets", JSON.stringify([{ domain: "hvac", delta: 0.18, confidence: 0.9, n: 4, ts, node_id: "py-slow" }])]);
    const { agent, errors } = await agentWithLog({ peers: [{ name: "py-slow", pub: py.ready.pub, codec: "legacy" }], legacy: { ttlS: 86_400 } });
    await py.waitFor((e) => e.event === "subscribed", "the agent's legacy subscription");
    py.send({ cmd: "publish" });
    await waitFor(() => agent.store.collect("qis.>").length === 1, () => "the packet in the store");
    expect(agent.store.collect("qis.>")[0]!.packet.readUInt32LE(OFFSETS.ttl_s)).toBe(86_400);
    expect(agent.stats().legacy).toMatchObject({ received: 1, expired: 0 });
    expect(errors).toEqual([]);
  });
});

describe("what the agent sends on its legacy PUB", () => {
  it("its own observations and its syntheses (as plain legacy messages), never packets from peers", async () => {
    const now = Date.now() / 1000;
    const pyPackets = [
      { domain: "hvac", delta: 0.18, confidence: 0.9, n: 40, ts: now, node_id: "py-node-a" },
      { domain: "hvac", delta: 0.12, confidence: 0.6, n: 10, ts: now + 0.001, node_id: "py-node-b" },
    ];
    const publisher = await PyNode.start(["--pub", "tcp://127.0.0.1:*", "--packets", JSON.stringify(pyPackets)]);
    const agent = await startAgent({
      peers: [{ name: "py", pub: publisher.ready.pub, codec: "legacy" }],
      legacy: { pub: "tcp://127.0.0.1:*" },
      synth: { minContributors: 2 },
    });
    const syntheses: SynthesisEvent[] = [];
    agent.on("synthesis", (e: SynthesisEvent) => syntheses.push(e));
    const sub = await PyNode.start(["--sub", agent.endpoints.legacyPub!]);
    // A PUB cannot see its subscribers: observe probes until the SUB gets one.
    const probed = sub.waitFor(received, "a probe");
    let seen = false;
    void probed.then(() => (seen = true), () => {});
    while (!seen && !sub.exited) {
      agent.observe(observation("probe", "ping", 0, 0.5, 1));
      await new Promise((r) => setTimeout(r, 20));
    }
    await probed;

    await publisher.waitFor((e) => e.event === "subscribed", "the agent's legacy subscription");
    publisher.send({ cmd: "publish" });
    await waitFor(() => agent.stats().legacy.received === 2 && syntheses.length === 1, () => `${agent.stats().legacy.received} received, ${syntheses.length} syntheses`);
    // A last observation of ours: the SUB has everything sent before it once it has this one.
    agent.observe(observation("marker", "end", 0.5, 0.5, 7));
    await sub.waitFor((e) => received(e) && e.topic === "qis.marker.d+0.5", "the marker observation");

    const got = sub.events.filter((e) => received(e) && e.topic !== "qis.probe.d+0.0");
    expect(got.map((e) => e.topic)).toEqual(["qis.hvac.d+0.1", "qis.marker.d+0.5"]);
    // Every message carries our node id: the peers' packets (py-node-a, py-node-b) never go out.
    expect(sub.events.filter(received).every((e) => decoded(e).text.split("|")[1] === agent.nodeId)).toBe(true);
    // The synthesis looks like an observation of ours: no flag or hop count on the legacy wire.
    const s = syntheses[0]!;
    expect(s.address).toBe("qis.hvac.dp0_1");
    expect(decoded(got[0]!)).toMatchObject({
      outcome_delta: Math.fround(s.estimate),
      confidence: Math.fround(s.confidence),
      n_observations: s.nObservations,
      text: `hvac|${agent.nodeId}|${"0".repeat(32)}`,
    });
    expect(decoded(got[1]!)).toMatchObject({ outcome_delta: 0.5, n_observations: 7, text: `marker|${agent.nodeId}|${"0".repeat(32)}` });
  });
});

describe("qis-edge run --stdio with a legacy peer", () => {
  it("names the peer in the agent's error events (a bad message, expired packets); ready has the legacy ports", async () => {
    const packets = [
      { raw: [hex("qis.hvac.d+0.1"), hex("garbage")] },
      { domain: "hvac", delta: 0.18, confidence: 0.9, n: 4, ts: Date.now() / 1000 - 7200, node_id: "py-slow" },
    ];
    const py = await PyNode.start(["--pub", "tcp://127.0.0.1:*", "--packets", JSON.stringify(packets)]);
    const a = await startStdio({
      config: { log: { level: "info" }, peers: [{ name: "py-boiler", pub: py.ready.pub, codec: "legacy" }], legacy: { pub: "tcp://127.0.0.1:*", rep: "tcp://127.0.0.1:*" } },
    });
    // tcp://…:* binds: the real ports are in the ready event and in the ready log line.
    const endpoints = a.ready.endpoints as Record<string, string | null>;
    expect(endpoints.legacyPub).toMatch(/^tcp:\/\/127\.0\.0\.1:[1-9][0-9]*$/);
    expect(endpoints.legacyRep).toMatch(/^tcp:\/\/127\.0\.0\.1:[1-9][0-9]*$/);
    const logLines = (): Record<string, unknown>[] =>
      a
        .stderr()
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    await waitFor(() => logLines().some((l) => l.msg === "ready"), () => `the ready log line; stderr:\n${a.stderr()}`);
    expect(logLines().find((l) => l.msg === "ready")!.endpoints).toEqual(endpoints);

    await py.waitFor((e) => e.event === "subscribed", "the agent's legacy subscription");
    py.send({ cmd: "publish" });
    const bad = await a.waitFor((m) => m.event === "error" && m.code === "ERR_LEGACY_PAYLOAD", "the bad message's error event");
    expect(bad).toEqual({
      event: "error",
      source: "agent",
      code: "ERR_LEGACY_PAYLOAD",
      reason: "legacy peer py-boiler: payload is 7 bytes: expected the 28-byte !ffidd struct then domain|node_id|context_hash",
    });
    const expired = await a.waitFor((m) => m.event === "error" && m.code === "ERR_LEGACY_EXPIRED", "the expired packet's error event");
    expect(expired).toMatchObject({ source: "agent", reason: expect.stringMatching(/^legacy peer py-boiler: 1 packet already expired on arrival/) as unknown });
    a.send({ op: "stats", id: 1 });
    const ack = await a.waitFor((m: Msg) => m.event === "ack" && m.id === 1, "the stats ack");
    expect((ack.stats as { legacy: unknown }).legacy).toMatchObject({ received: 1, invalid: 1, expired: 1 });
    await waitFor(() => logLines().some((l) => l.msg === "expired legacy packets"), () => "the expired log line");
    expect(logLines().find((l) => l.msg === "invalid from legacy peer")).toMatchObject({ level: "warn", peer: "py-boiler", code: "ERR_LEGACY_PAYLOAD" });
    expect(logLines().find((l) => l.msg === "expired legacy packets")).toMatchObject({ level: "warn", peer: "py-boiler", packets: 1, ttlS: 3600 });
  });
});
