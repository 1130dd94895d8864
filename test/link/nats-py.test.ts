/**
 * Interop at the JetStream level with nats-py, the reference NATS router's client (run from the
 * project's venv, .venv-nats, made by scripts/system-deps.sh): a Python durable pull consumer
 * named as the reference names them reads every packet an agent published, and packets a
 * Python client publishes reach an agent's durable consumer and its store. The reference's
 * JSON packets (`"codec": "reference-json"`) are tested in reference-router.test.ts.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import type { Agent } from "../../src/agent/agent.js";
import { OFFSETS, PACKET_SIZE } from "../../src/packet/index.js";
import { closeAll, observation, startAgent, waitFor } from "../agent/harness.js";
import { runProcess } from "../run-process.js";
import { closeNatsServers, startNatsServer } from "./nats-server.js";

const PYTHON = fileURLToPath(new URL("../../.venv-nats/bin/python", import.meta.url));
const CLIENT = fileURLToPath(new URL("../fixtures/nats_py_client.py", import.meta.url));
const HINT = "nats-py is missing: run scripts/system-deps.sh (it makes .venv-nats with pip install nats-py)";

afterEach(async () => {
  await closeAll();
  await closeNatsServers();
});

const identity = (b: Buffer, o: number): string => `${b.toString("hex", o + OFFSETS.node_id, o + OFFSETS.node_id + 16)}:${b.readBigUInt64LE(o + OFFSETS.seq)}`;
function ownIdentities(agent: Agent): string[] {
  const out: string[] = [];
  agent.store.query(null, 0, Infinity, (buf, o) => {
    const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    if (b.toString("hex", o + OFFSETS.node_id, o + OFFSETS.node_id + 16) === agent.nodeId) out.push(identity(b, o));
  });
  return out;
}

describe("JetStream interop with nats-py", () => {
  it("a nats-py durable pull consumer (<agent>-<domain>-<problem-class>) reads every packet an agent published", async () => {
    expect(existsSync(PYTHON), HINT).toBe(true);
    const server = await startNatsServer();
    const agent = await startAgent({ synth: { minContributors: 32 }, uplinks: { nats: { servers: [server.url], reconnect: { minMs: 50, maxMs: 400 } } } });
    await waitFor(() => agent.uplinks[0]!.state === "connected", () => `state ${agent.uplinks[0]!.state}`);
    for (let i = 0; i < 200; i++) agent.observe(observation("iot", "bearing-wear", 0.2, 0.8, 1));
    await waitFor(() => agent.uplinks[0]!.outbox.size === 0, () => `${agent.uplinks[0]!.outbox.size} held`);
    const expected = ownIdentities(agent);
    const messages = agent.stats().uplinks.nats!.sent.messages;
    const r = await runProcess(PYTHON, [CLIENT, "pull", server.url, "QIS_OUTCOMES", "edge-py-iot-bearing-wear", "qis.iot.>", String(messages)], { timeoutMs: 30_000 });
    expect(r.status, r.stderr.toString()).toBe(0);
    const ids: string[] = [];
    for (const line of r.stdout.toString().trim().split("\n")) {
      const [subject, hex] = line.split(" ");
      expect(subject).toBe("qis.iot.bearing-wear");
      const p = Buffer.from(hex!, "hex");
      expect(p.length % PACKET_SIZE).toBe(0);
      for (let o = 0; o < p.length; o += PACKET_SIZE) ids.push(identity(p, o));
    }
    expect(ids.sort()).toEqual([...expected].sort());
  }, 40_000);

  it("packets a nats-py client publishes reach an agent's durable consumer and its store", async () => {
    expect(existsSync(PYTHON), HINT).toBe(true);
    const server = await startNatsServer();
    const source = await startAgent({ synth: { minContributors: 32 } });
    for (let i = 0; i < 50; i++) source.observe(observation("iot", "belt-slip", 0.3, 0.7, 1));
    const packets = source.store.collect("qis.iot.belt-slip", 0, 1000).map((x) => Buffer.from(x.packet));
    expect(packets.length).toBe(50);
    const agent = await startAgent({ synth: { minContributors: 32 }, uplinks: { nats: { servers: [server.url], down: ["qis.iot.>"], reconnect: { minMs: 50, maxMs: 400 } } } });
    await waitFor(() => agent.uplinks[0]!.state === "connected", () => `state ${agent.uplinks[0]!.state}`);
    // 5 messages of 10 packets, as the agents batch them.
    const lines = [0, 1, 2, 3, 4].map((k) => `qis.iot.belt-slip ${Buffer.concat(packets.slice(k * 10, k * 10 + 10)).toString("hex")}`);
    const r = await runProcess(PYTHON, [CLIENT, "publish", server.url], { input: `${lines.join("\n")}\n`, timeoutMs: 30_000 });
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(r.stdout.toString().trim()).toBe("acked 5");
    await waitFor(() => agent.stats().received === 50, () => JSON.stringify(agent.stats().uplinks.nats!.received));
    expect(agent.stats().uplinks.nats!.received).toMatchObject({ messages: 5, packets: 50, malformed: 0 });
  }, 40_000);
});
