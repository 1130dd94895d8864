/**
 * Agents with `uplinks.mqtt` against a real Mosquitto (docs/uplink.md "Guarantees"): every fault
 * test counts 0 lost (duplicates allowed and counted).
 */
import { spawn } from "node:child_process";
import mqtt from "mqtt";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Agent, SynthesisEvent } from "../../src/agent/agent.js";
import { OFFSETS, PACKET_SIZE } from "../../src/packet/index.js";
import { closeBrokers, startBroker, type Broker } from "../link/mosquitto.js";
import { bin } from "../cli/run-cli.js";
import { closeAll, observation, startAgent, startWorker, tempDir, waitFor } from "./harness.js";

/** subscribers and mosquitto_sub processes: closed even when a test fails half-way */
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  await closeAll();
  await closeBrokers();
});

const uplink = (broker: Broker, over: Record<string, unknown> = {}) => ({ mqtt: { url: broker.url, reconnect: { minMs: 50, maxMs: 400 }, ...over } });
const asBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));
const hex = (b: Uint8Array, o: number, n: number): string => asBuffer(b).toString("hex", o, o + n);
/** "nodeIdHex:seq" of the packet at `o` */
const identity = (b: Uint8Array, o: number): string => `${hex(b, o + OFFSETS.node_id, 16)}:${asBuffer(b).readBigUInt64LE(o + OFFSETS.seq)}`;

/** An MQTT.js subscriber with a persistent session (a broker restart keeps what arrives for it). */
async function subscriber(broker: Broker, filter = "qis/#"): Promise<{ ids: string[]; close(): Promise<void> }> {
  const c = mqtt.connect(broker.url, { clean: false, clientId: `sub-${process.pid}-${Math.random().toString(36).slice(2)}`, reconnectPeriod: 100 });
  await new Promise<void>((resolve, reject) => {
    c.once("connect", () => resolve());
    c.once("error", reject);
  });
  const ids: string[] = [];
  c.on("message", (_t, p) => {
    for (let o = 0; o + PACKET_SIZE <= p.length; o += PACKET_SIZE) ids.push(identity(p, o));
  });
  await c.subscribeAsync(filter, { qos: 1 });
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await c.endAsync(true);
  };
  closers.push(close);
  return { ids, close };
}

/** mosquitto_sub with a persistent session, printing each message's payload in hex. */
async function mosquittoSub(broker: Broker): Promise<{ ids: string[]; close(): Promise<void> }> {
  const id = `msub-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const p = spawn("mosquitto_sub", ["-h", "127.0.0.1", "-p", String(broker.port), "-t", "qis/#", "-q", "1", "-c", "-i", id, "-F", "%x"], { stdio: ["ignore", "pipe", "pipe"] });
  const ids: string[] = [];
  let partial = "";
  let err = "";
  p.stderr.on("data", (d: Buffer) => (err += d.toString()));
  p.stdout.on("data", (d: Buffer) => {
    const lines = (partial + d.toString()).split("\n");
    partial = lines.pop()!;
    for (const line of lines) {
      const b = Buffer.from(line.trim(), "hex");
      for (let o = 0; o + PACKET_SIZE <= b.length; o += PACKET_SIZE) ids.push(identity(b, o));
      if (b.length % PACKET_SIZE !== 0) ids.push(`probe:${b.toString()}`);
    }
  });
  const exited = new Promise((r) => p.once("exit", r));
  const close = async (): Promise<void> => {
    if (p.exitCode === null && p.signalCode === null) p.kill("SIGTERM");
    await exited;
  };
  closers.push(close);
  // Subscribed once a probe published after it starts comes back.
  const probe = mqtt.connect(broker.url);
  try {
    await waitFor(
      async () => {
        if (p.exitCode !== null) throw new Error(`mosquitto_sub exited: ${err}`);
        await probe.publishAsync("qis/probe", "probe", { qos: 1 });
        await new Promise((r) => setTimeout(r, 50));
        return ids.includes("probe:probe");
      },
      () => `mosquitto_sub never received a probe: ${err}`,
    );
  } finally {
    await probe.endAsync(true);
  }
  return { ids, close };
}

const obs = (i: number) => observation("hvac", `zone-${i % 8}`, 0.1 + (i % 5) / 10, 0.8, 1);

/** Own packets' identities in an agent's store (its observations and syntheses), "nodeIdHex:seq". */
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
function duplicates(got: string[]): number {
  return got.length - new Set(got).size;
}

describe("an agent with an MQTT uplink", () => {
  it("broker stopped while it accepts 5,000 packets, then started: an MQTT.js subscriber and mosquitto_sub get all 5,000", async () => {
    const broker = await startBroker({ persistence: true });
    const sub = await subscriber(broker);
    const msub = await mosquittoSub(broker);
    const agent = await startAgent({ uplinks: uplink(broker) });
    await waitFor(() => agent.uplinks[0]!.state === "connected", () => `state ${agent.uplinks[0]!.state}`);
    await broker.stop();
    await waitFor(() => agent.uplinks[0]!.state === "offline", () => `state ${agent.uplinks[0]!.state}`);
    const results = agent.observeMany(Array.from({ length: 5000 }, (_, i) => obs(i)));
    expect(results.every((r) => !(r instanceof Error))).toBe(true);
    const expected = ownIdentities(agent); // 5,000 observations and whatever synthesis made of them
    expect(expected.length).toBeGreaterThanOrEqual(5000);
    expect(agent.uplinks[0]!.outbox.size).toBe(expected.length);
    await broker.start();
    await waitFor(() => agent.uplinks[0]!.outbox.size === 0, () => `${agent.uplinks[0]!.outbox.size} held`, 30_000);
    await waitFor(() => missing(expected, sub.ids) === 0 && missing(expected, msub.ids) === 0, () => `lost: MQTT.js ${missing(expected, sub.ids)}, mosquitto_sub ${missing(expected, msub.ids)}`, 20_000);
    const s = agent.stats().uplinks.mqtt!;
    expect(s.outbox.dropped).toBe(0);
    expect(s.connects).toBeGreaterThanOrEqual(2);
    // Duplicates allowed, and counted here for the record.
    expect(duplicates(sub.ids)).toBeGreaterThanOrEqual(0);
    await sub.close();
    await msub.close();
  }, 60_000);

  it("kill -9 while offline, restarted: the outbox file resumes and the subscriber gets all 5,000", async () => {
    const broker = await startBroker({ persistence: true });
    const sub = await subscriber(broker);
    const stateDir = tempDir();
    const config = { stateDir, log: { level: "warn" }, synth: { minContributors: 2 }, uplinks: uplink(broker) };
    const w1 = await startWorker(config);
    await broker.stop();
    const seqs: number[] = [];
    for (let k = 0; k < 10; k++) {
      const r = await w1.request<{ seqs: number[] }>("observe", { observations: Array.from({ length: 500 }, (_, i) => obs(k * 500 + i)) });
      seqs.push(...r.seqs);
    }
    // Every observe reply came after its packets were in the outbox file: kill now, unsent.
    w1.child.kill("SIGKILL");
    await w1.exited;
    await broker.start();
    const w2 = await startWorker(config);
    expect(w2.nodeId).toBe(w1.nodeId);
    const expected = seqs.map((s) => `${w1.nodeId}:${s}`);
    let last = "";
    const poll = setInterval(() => void w2.request("stats").then((r) => (last = JSON.stringify((r as { stats: { uplinks: unknown } }).stats.uplinks))), 500);
    try {
      await waitFor(() => missing(expected, sub.ids) === 0, () => `${missing(expected, sub.ids)} of 5,000 lost; ${sub.ids.length} received; ${last}; ${w2.stderr()}`, 30_000);
    } finally {
      clearInterval(poll);
    }
    const stats = (await w2.request<{ stats: { uplinks: { mqtt: { outbox: { resumed: number } } } } }>("stats")).stats;
    expect(stats.uplinks.mqtt.outbox.resumed).toBeGreaterThanOrEqual(5000);
    await sub.close();
  }, 60_000);

  it("two agents that never see each other's ZeroMQ endpoints exchange packets through the broker and synthesize each other's", async () => {
    const broker = await startBroker();
    const cfg = { synth: { minContributors: 2, minIntervalMs: 0 }, uplinks: uplink(broker, { down: ["qis.>"] }) };
    const a = await startAgent(cfg);
    const b = await startAgent(cfg);
    await waitFor(() => a.uplinks[0]!.state === "connected" && b.uplinks[0]!.state === "connected", () => "both connected");
    await new Promise((r) => setTimeout(r, 300)); // their subscriptions on the way
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
    await waitFor(() => nodesOf(a) >= 2 && nodesOf(b) >= 2, () => `contributing nodes: a ${nodesOf(a)}, b ${nodesOf(b)}`);
    await waitFor(() => synthA.some((e) => e.address === address) && synthB.some((e) => e.address === address), () => `synthesis events: a ${synthA.length}, b ${synthB.length}`);
    expect(a.stats().received).toBeGreaterThan(0);
    expect(b.stats().received).toBeGreaterThan(0);
    expect(a.peers.length + b.peers.length).toBe(0);
    // Nothing that came down went up again: each outbox took only its own agent's packets.
    await new Promise((r) => setTimeout(r, 300));
    for (const x of [a, b]) {
      const s = x.stats();
      expect(s.uplinks.mqtt!.outbox.appended).toBe(s.observed + s.synthesized);
    }
  }, 30_000);

  it("a packet that arrives both over ZeroMQ and from the broker is stored once (duplicates counted)", async () => {
    const broker = await startBroker();
    const a = await startAgent({ uplinks: uplink(broker) });
    const b = await startAgent({ peers: [{ pub: a.endpoints.pub, store: a.endpoints.store }], uplinks: uplink(broker, { down: ["qis.>"] }) });
    await waitFor(() => a.uplinks[0]!.state === "connected" && b.uplinks[0]!.state === "connected" && b.peers[0]!.up, () => "connected");
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < 100; i++) a.observe(obs(i));
    a.flush();
    const fromA = () => {
      let n = 0;
      b.store.query(null, 0, Infinity, (buf, o) => {
        if (hex(buf, o + OFFSETS.node_id, 16) === a.nodeId) n++;
      });
      return n;
    };
    const expected = ownIdentities(a).length;
    await waitFor(() => b.stats().uplinks.mqtt!.received.packets >= expected && fromA() >= expected, () => `b holds ${fromA()} of ${expected}; ${JSON.stringify(b.stats().uplinks.mqtt!.received)}`);
    expect(fromA()).toBe(expected);
    expect(b.stats().duplicates).toBeGreaterThanOrEqual(expected);
  }, 30_000);

  it("garbage from another client on its down topics is counted and dropped; the agent runs on and still takes valid packets", async () => {
    const broker = await startBroker();
    const agent = await startAgent({ uplinks: uplink(broker, { down: ["qis.>"], topicPrefix: "site" }) });
    const errors: { code?: string }[] = [];
    agent.on("error", (e: { code?: string }) => errors.push(e));
    await waitFor(() => agent.uplinks[0]!.state === "connected", () => "connected");
    await new Promise((r) => setTimeout(r, 300));
    const evil = mqtt.connect(broker.url);
    closers.push(() => evil.endAsync(true));
    await new Promise((r) => evil.once("connect", r));
    const garbage = [Buffer.alloc(0), Buffer.from("{}"), Buffer.alloc(512, 0xff), Buffer.alloc(5000, 7), Buffer.alloc(1024)];
    for (const g of garbage) await evil.publishAsync("site/qis/hvac/x", g, { qos: 1 });
    await evil.publishAsync("site/qis/not..valid", Buffer.alloc(512), { qos: 1 });
    // A valid packet from another node, after all that.
    const other = await startAgent({});
    other.observe(observation("hvac", "x", 0.3, 0.5, 1));
    const valid = other.store.collect("qis.hvac.x", 0, 1)[0]!.packet;
    await evil.publishAsync("site/qis/hvac/x", Buffer.from(valid), { qos: 1 });
    await waitFor(() => agent.stats().received === 1, () => JSON.stringify(agent.stats().uplinks.mqtt!.received));
    const r = agent.stats().uplinks.mqtt!.received;
    expect(r.malformed).toBeGreaterThanOrEqual(garbage.length + 1);
    expect(r.malformedByTopic["site/qis/hvac/x"]).toBeGreaterThanOrEqual(garbage.length);
    expect(errors.length).toBeGreaterThanOrEqual(garbage.length);
    expect(new Set(errors.map((e) => e.code))).toEqual(new Set(["ERR_UPLINK_PAYLOAD"]));
    expect(agent.closed).toBe(false);
  }, 30_000);

  it("wrong credentials: uplink offline with ERR_UPLINK_AUTH, error events, retries, the agent keeps working", async () => {
    const broker = await startBroker({ user: { name: "edge", password: "right" } });
    const agent = await startAgent({ uplinks: uplink(broker, { username: "edge", password: "wrong" }) });
    const errors: { code?: string }[] = [];
    const states: { state: string; code?: string }[] = [];
    agent.on("error", (e: { code?: string }) => errors.push(e));
    agent.on("uplink", (e: { state: string; code?: string }) => states.push(e));
    await waitFor(() => errors.filter((e) => e.code === "ERR_UPLINK_AUTH").length >= 2, () => `errors ${errors.map((e) => e.code)}`);
    expect(states.find((s) => s.state === "offline")?.code).toBe("ERR_UPLINK_AUTH");
    agent.observe(obs(1));
    expect(agent.stats().uplinks.mqtt!.outbox.held).toBeGreaterThanOrEqual(1);
    expect(agent.stats().uplinks.mqtt!.state).toBe("offline");
  }, 20_000);
});

describe("qis-edge run --stdio with uplinks.mqtt", () => {
  it("sends uplink events: connected, then offline with its code when the broker stops", async () => {
    const broker = await startBroker();
    const dir = tempDir();
    const file = join(dir, "agent.json");
    writeFileSync(file, JSON.stringify({ stateDir: dir, log: { level: "silent" }, uplinks: uplink(broker) }));
    const child = spawn(process.execPath, [bin, "run", "--stdio", "--config", file], { stdio: ["pipe", "pipe", "pipe"] });
    const events: Record<string, unknown>[] = [];
    let buf = "";
    child.stdout.on("data", (d: Buffer) => {
      const lines = (buf + d.toString()).split("\n");
      buf = lines.pop()!;
      for (const l of lines) events.push(JSON.parse(l) as Record<string, unknown>);
    });
    const exited = new Promise((r) => child.once("exit", r));
    try {
      await waitFor(() => events.some((e) => e.event === "uplink" && e.state === "connected"), () => JSON.stringify(events));
      await broker.stop();
      await waitFor(() => events.some((e) => e.event === "uplink" && e.state === "offline"), () => JSON.stringify(events));
      const off = events.find((e) => e.event === "uplink" && e.state === "offline")!;
      expect(off).toMatchObject({ name: "mqtt", broker: broker.url, code: "ERR_UPLINK_CONNECT" });
    } finally {
      child.stdin.end();
      await exited;
    }
  }, 30_000);
});

describe("an agent without an uplink", () => {
  it("never loads MQTT.js", async () => {
    const child = spawn(
      process.execPath,
      ["--input-type=module", "-e", `import { createAgent } from "./dist/agent/agent.js"; import { resolveConfig } from "./dist/agent/config.js"; import { createRequire } from "node:module"; const a = await createAgent(resolveConfig({ stateDir: process.argv[1], log: { level: "silent" } }, { env: {} })); const r = createRequire(import.meta.url); const loaded = Object.keys(r.cache).some((k) => k.includes("/node_modules/mqtt/")); await a.close(); process.stdout.write(String(loaded));`, tempDir()],
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
