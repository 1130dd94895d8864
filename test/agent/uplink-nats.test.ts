/**
 * Agents with `uplinks.nats` against a real nats-server with JetStream (docs/uplink.md
 * "JetStream"): every fault test counts 0 lost; the stream holds each packet once.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { afterEach, describe, expect, it } from "vitest";
import type { Agent, SynthesisEvent } from "../../src/agent/agent.js";
import { OFFSETS, PACKET_SIZE } from "../../src/packet/index.js";
import { closeBrokers, startBroker } from "../link/mosquitto.js";
import { closeNatsServers, startNatsServer, type NatsServer } from "../link/nats-server.js";
import { closeAll, observation, startAgent, startWorker, tempDir, waitFor } from "./harness.js";

const connections: NatsConnection[] = [];
afterEach(async () => {
  for (const c of connections.splice(0)) await c.close().catch(() => {});
  await closeAll();
  await closeNatsServers();
  await closeBrokers();
});

/** The stream over every address (the default, qis.iot.>, would not hold the tests' qis.hvac.*). */
const uplink = (server: NatsServer, over: Record<string, unknown> = {}) => ({
  nats: { servers: [server.url], stream: { subjects: ["qis.>"] }, up: ["qis.>"], reconnect: { minMs: 50, maxMs: 400 }, ...over },
});
const asBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));
const hex = (b: Uint8Array, o: number, n: number): string => asBuffer(b).toString("hex", o, o + n);
/** "nodeIdHex:seq" of the packet at `o` */
const identity = (b: Uint8Array, o: number): string => `${hex(b, o + OFFSETS.node_id, 16)}:${asBuffer(b).readBigUInt64LE(o + OFFSETS.seq)}`;
const obs = (i: number) => observation("hvac", `zone-${i % 8}`, 0.1 + (i % 5) / 10, 0.8, 1);

function ownIdentities(agent: Agent): string[] {
  const out: string[] = [];
  agent.store.query(null, 0, Infinity, (buf, o) => {
    if (hex(buf, o + OFFSETS.node_id, 16) === agent.nodeId) out.push(identity(buf, o));
  });
  return out;
}
function missing(expected: string[], got: string[]): number {
  const seen = new Set(got);
  return expected.filter((x) => !seen.has(x)).length;
}

/** Every packet identity the stream holds, in stream order (duplicates included). */
async function streamIdentities(server: NatsServer): Promise<string[]> {
  const nc = await connect({ servers: server.url });
  connections.push(nc);
  const jsm = await jetstreamManager(nc);
  const total = (await jsm.streams.info("QIS_OUTCOMES")).state.messages;
  const name = `dump-${Math.random().toString(36).slice(2)}`;
  await jsm.consumers.add("QIS_OUTCOMES", { name, ack_policy: AckPolicy.None, inactive_threshold: 60e9 });
  const c = await jetstream(nc).consumers.get("QIS_OUTCOMES", name);
  const ids: string[] = [];
  let seen = 0;
  while (seen < total) {
    const batch = await c.fetch({ max_messages: 1000, expires: 2000 });
    let n = 0;
    for await (const m of batch) {
      for (let o = 0; o + PACKET_SIZE <= m.data.length; o += PACKET_SIZE) ids.push(identity(m.data, o));
      n++;
    }
    if (n === 0) break;
    seen += n;
  }
  return ids;
}

describe("an agent with a NATS JetStream uplink", () => {
  it("two agents that never see each other's ZeroMQ endpoints exchange packets through JetStream and synthesize each other's", async () => {
    const server = await startNatsServer();
    const cfg = { synth: { minContributors: 2, minIntervalMs: 0 }, uplinks: uplink(server, { down: ["qis.>"] }) };
    const a = await startAgent(cfg);
    const b = await startAgent(cfg);
    await waitFor(() => a.uplinks[0]!.state === "connected" && b.uplinks[0]!.state === "connected", () => "both connected");
    const synthA: SynthesisEvent[] = [];
    const synthB: SynthesisEvent[] = [];
    a.on("synthesis", (e: SynthesisEvent) => synthA.push(e));
    b.on("synthesis", (e: SynthesisEvent) => synthB.push(e));
    for (let i = 0; i < 5; i++) {
      a.observe(observation("hvac", "energy-anomaly", 0.4, 0.9, 3));
      b.observe(observation("hvac", "energy-anomaly", 0.6, 0.9, 3));
    }
    const address = "qis.hvac.energy-anomaly";
    const nodesOf = (x: Agent) => x.synth.snapshot().addresses.find((e) => e.address === address)?.nodes ?? 0;
    await waitFor(() => nodesOf(a) >= 2 && nodesOf(b) >= 2, () => `contributing nodes: a ${nodesOf(a)}, b ${nodesOf(b)}`, 20_000);
    await waitFor(() => synthA.some((e) => e.address === address) && synthB.some((e) => e.address === address), () => `synthesis events: a ${synthA.length}, b ${synthB.length}`);
    expect(a.stats().received).toBeGreaterThan(0);
    expect(b.stats().received).toBeGreaterThan(0);
    expect(a.peers.length + b.peers.length).toBe(0);
    // Nothing pulled went up again: each outbox took only its own agent's packets, and the
    // stream holds each packet once.
    await waitFor(() => a.uplinks[0]!.outbox.size === 0 && b.uplinks[0]!.outbox.size === 0, () => "outboxes drained");
    for (const x of [a, b]) {
      const s = x.stats();
      expect(s.uplinks.nats!.outbox.appended).toBe(s.observed + s.synthesized);
    }
    const ids = await streamIdentities(server);
    expect(ids.length).toBe(new Set(ids).size);
    expect(missing([...ownIdentities(a), ...ownIdentities(b)], ids)).toBe(0);
  }, 40_000);

  it("the server killed (-9) and restarted mid-stream of 50,000: nothing acknowledged is lost", async () => {
    const server = await startNatsServer();
    const agent = await startAgent({ synth: { minContributors: 32 }, uplinks: uplink(server) });
    const u = agent.uplinks[0]!;
    await waitFor(() => u.state === "connected", () => `state ${u.state}`);
    for (let k = 0; k < 10; k++) {
      agent.observeMany(Array.from({ length: 5000 }, (_, i) => obs(k * 5000 + i)));
      await new Promise((r) => setTimeout(r, 20));
      if (k === 4) {
        await server.kill();
        await new Promise((r) => setTimeout(r, 300));
        await server.start();
      }
    }
    const expected = ownIdentities(agent);
    expect(expected.length).toBeGreaterThanOrEqual(50_000);
    await waitFor(() => u.outbox.size === 0, () => `${u.outbox.size} held, state ${u.state}`, 60_000);
    const s = agent.stats().uplinks.nats!;
    expect(s.connects).toBeGreaterThanOrEqual(2);
    expect(s.outbox.dropped).toBe(0);
    const ids = await streamIdentities(server);
    expect(missing(expected, ids)).toBe(0);
    // Resends are regrouped after a reconnect: one the killed server had stored under another
    // grouping is stored again (receivers' stores drop it). Never more than one window's worth.
    expect(ids.length - new Set(ids).size).toBeLessThanOrEqual(128 * 64);
  }, 90_000);

  it("an agent offline for a while receives on reconnect every packet published meanwhile, each stored once", async () => {
    const server = await startNatsServer();
    const stateDir = tempDir();
    const cfgB = { stateDir, synth: { minContributors: 32 }, uplinks: uplink(server, { down: ["qis.>"], up: ["qis.none.>"] }) };
    const a = await startAgent({ synth: { minContributors: 32 }, uplinks: uplink(server) });
    let b = await startAgent(cfgB);
    await waitFor(() => a.uplinks[0]!.state === "connected" && b.uplinks[0]!.state === "connected", () => "connected");
    const fromA = (x: Agent): string[] => {
      const out: string[] = [];
      x.store.query(null, 0, Infinity, (buf, o) => {
        if (hex(buf, o + OFFSETS.node_id, 16) === a.nodeId) out.push(identity(buf, o));
      });
      return out;
    };
    for (let i = 0; i < 100; i++) a.observe(obs(i));
    await waitFor(() => fromA(b).length === 100, () => `b holds ${fromA(b).length} of a's 100`);
    const before = new Set(ownIdentities(a));
    await b.close();
    // Away: 3,000 more.
    a.observeMany(Array.from({ length: 3000 }, (_, i) => obs(100 + i)));
    await waitFor(() => a.uplinks[0]!.outbox.size === 0, () => `${a.uplinks[0]!.outbox.size} held`);
    // Back (its store is in memory here: what it holds now came after the restart).
    b = await startAgent(cfgB);
    const expected = ownIdentities(a).filter((id) => !before.has(id));
    expect(expected.length).toBe(3000);
    await waitFor(() => fromA(b).length >= 3000, () => `b holds ${fromA(b).length} of 3000; ${JSON.stringify(b.stats().uplinks.nats!.received)}`, 20_000);
    // Pulled from where its durable consumer left off: the 3,000, none of the first 100 again.
    await new Promise((r) => setTimeout(r, 300));
    expect(b.stats().uplinks.nats!.received.packets).toBe(3000);
    expect(missing(expected, fromA(b))).toBe(0);
    expect(fromA(b).length).toBe(3000);
    expect(b.stats().duplicates).toBe(0);
  }, 40_000);

  it("kill -9 with unacknowledged packets in the outbox: they are sent again after the restart and JetStream drops the duplicates", async () => {
    const server = await startNatsServer();
    const stateDir = tempDir();
    const config = { stateDir, log: { level: "warn" }, synth: { minContributors: 32 }, uplinks: uplink(server) };
    const w1 = await startWorker(config);
    const stats = async (w: typeof w1) => (await w.request<{ stats: { uplinks: { nats: { state: string; outbox: { held: number; resumed: number }; sent: { duplicates: number; packets: number } } } } }>("stats")).stats.uplinks.nats;
    await waitFor(async () => (await stats(w1)).state === "connected", () => "connected");
    // The server frozen: the publishes reach its socket but get no PubAck.
    const pid = server.pid()!;
    process.kill(pid, "SIGSTOP");
    const seqs: number[] = [];
    try {
      // 512 packets of one address per call: whole messages of 64, grouped the same way when
      // they are sent again (a message id names a message's first packet and its count).
      for (let k = 0; k < 4; k++) {
        const r = await w1.request<{ seqs: number[] }>("observe", { observations: Array.from({ length: 512 }, () => observation("hvac", `zone-${k}`, 0.2, 0.8, 1)) });
        seqs.push(...r.seqs);
      }
      await waitFor(async () => (await stats(w1)).sent.packets >= 2048, () => "sent");
      expect((await stats(w1)).outbox.held).toBe(2048);
      w1.child.kill("SIGKILL");
      await w1.exited;
    } finally {
      process.kill(pid, "SIGCONT");
    }
    // The server now stores what it had read of the dead connection (its PubAcks go nowhere).
    await new Promise((r) => setTimeout(r, 500));
    const nc = await connect({ servers: server.url });
    connections.push(nc);
    const storedBefore = (await (await jetstreamManager(nc)).streams.info("QIS_OUTCOMES")).state.messages;
    expect(storedBefore).toBeGreaterThan(0);
    const w2 = await startWorker(config);
    expect(w2.nodeId).toBe(w1.nodeId);
    let last = "";
    await waitFor(
      async () => {
        const st = await stats(w2);
        last = JSON.stringify(st);
        return st.outbox.held === 0;
      },
      () => last,
      20_000,
    );
    const s = await stats(w2);
    expect(s.outbox.resumed).toBe(2048);
    const ids = await streamIdentities(server);
    expect(missing(seqs.map((q) => `${w1.nodeId}:${q}`), ids)).toBe(0);
    expect(ids.length).toBe(new Set(ids).size);
    // Every resent message the frozen server had stored already was dropped by it.
    expect(s.sent.duplicates).toBe(storedBefore);
    expect(ids.length).toBe(2048);
  }, 40_000);

  it("a packet that arrives over ZeroMQ, from MQTT and from JetStream is stored once (duplicates counted)", async () => {
    const server = await startNatsServer();
    const broker = await startBroker();
    const mqttUp = { url: broker.url, reconnect: { minMs: 50, maxMs: 400 } };
    const a = await startAgent({ synth: { minContributors: 32 }, uplinks: { ...uplink(server), mqtt: mqttUp } });
    const b = await startAgent({
      synth: { minContributors: 32 },
      peers: [{ pub: a.endpoints.pub, store: a.endpoints.store }],
      uplinks: { ...uplink(server, { down: ["qis.>"], up: ["qis.none.>"] }), mqtt: { ...mqttUp, down: ["qis.>"], up: ["qis.none.>"] } },
    });
    const all = [...a.uplinks, ...b.uplinks];
    await waitFor(() => all.every((u) => u.state === "connected") && b.peers[0]!.up, () => all.map((u) => `${u.name} ${u.state}`).join(", "));
    await new Promise((r) => setTimeout(r, 300)); // the MQTT subscription on its way
    for (let i = 0; i < 100; i++) a.observe(obs(i));
    a.flush();
    const fromA = (): number => {
      let n = 0;
      b.store.query(null, 0, Infinity, (buf, o) => {
        if (hex(buf, o + OFFSETS.node_id, 16) === a.nodeId) n++;
      });
      return n;
    };
    const expected = ownIdentities(a).length;
    const rx = () => b.stats().uplinks;
    await waitFor(
      () => rx().nats!.received.packets >= expected && rx().mqtt!.received.packets >= expected && fromA() >= expected,
      () => `b holds ${fromA()} of ${expected}; nats ${rx().nats!.received.packets}, mqtt ${rx().mqtt!.received.packets}`,
      20_000,
    );
    expect(fromA()).toBe(expected);
    // Each packet came three ways: two of them were duplicates.
    expect(b.stats().duplicates).toBeGreaterThanOrEqual(2 * expected);
  }, 40_000);

  it("wrong credentials: uplink offline with ERR_UPLINK_AUTH, error events, retries, the agent keeps working", async () => {
    const server = await startNatsServer({ user: { name: "edge", password: "right" } });
    const agent = await startAgent({ uplinks: uplink(server, { user: "edge", password: "wrong" }) });
    const errors: { code?: string; message?: string }[] = [];
    const states: { state: string; code?: string }[] = [];
    agent.on("error", (e: { code?: string }) => errors.push(e));
    agent.on("uplink", (e: { state: string; code?: string }) => states.push(e));
    await waitFor(() => errors.filter((e) => e.code === "ERR_UPLINK_AUTH").length >= 2, () => `errors ${errors.map((e) => e.code)}`);
    expect(states.find((s) => s.state === "offline")?.code).toBe("ERR_UPLINK_AUTH");
    expect(errors.find((e) => e.code === "ERR_UPLINK_AUTH")!.message).toContain(`nats server ${server.url} refused the credentials`);
    agent.observe(obs(1));
    expect(agent.stats().uplinks.nats!.outbox.held).toBeGreaterThanOrEqual(1);
    expect(agent.stats().uplinks.nats!.state).toBe("offline");
  }, 20_000);
});

describe("an agent without uplinks.nats", () => {
  it("never loads the NATS client", async () => {
    const { spawn } = await import("node:child_process");
    const child = spawn(
      process.execPath,
      ["--input-type=module", "-e", `import { createAgent } from "./dist/agent/agent.js"; import { resolveConfig } from "./dist/agent/config.js"; import { createRequire } from "node:module"; const a = await createAgent(resolveConfig({ stateDir: process.argv[1], log: { level: "silent" } }, { env: {} })); const r = createRequire(import.meta.url); const loaded = Object.keys(r.cache).some((k) => k.includes("/node_modules/@nats-io/")); await a.close(); process.stdout.write(String(loaded));`, tempDir()],
      { cwd: new URL("../..", import.meta.url).pathname, stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    await new Promise((r) => child.once("exit", r));
    expect(out, err).toBe("false");
  }, 20_000);
});
