/** The Uplink suite against a real Mosquitto, and what is MQTT's own: TLS, credentials, sessions. */
import mqtt from "mqtt";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { MQTT_DEFAULTS, type MqttUplinkConfig } from "../../../src/agent/config.js";
import { openMqttUplink, brokerName } from "../../../src/link/mqtt/index.js";
import { UplinkError } from "../../../src/link/uplink/errors.js";
import type { OutboxUplink } from "../../../src/link/uplink/uplink.js";
import { PACKET_SIZE } from "../../../src/packet/index.js";
import { catchError } from "../../catch-error.js";
import { identityAt, packet } from "../../store/helpers.js";
import { closeBrokers, startBroker, type Broker, type BrokerOptions } from "../mosquitto.js";
import { lostAndDuplicates, uplinkSuite, waitUntil, type UplinkOpenOptions, type UplinkWorld } from "./suite.js";

const NODE = "0123456789abcdef0123456789abcdef";
let clientSeq = 0;

function config(url: string, over: Partial<MqttUplinkConfig> = {}): MqttUplinkConfig {
  return { ...structuredClone(MQTT_DEFAULTS), url, reconnect: { minMs: 50, maxMs: 500 }, ...over } as MqttUplinkConfig;
}

/** The test side's MQTT.js clients: ended after each test, also when it failed half-way. */
const testClients: mqtt.MqttClient[] = [];
afterEach(async () => {
  for (const c of testClients.splice(0)) if (!c.disconnecting) await c.endAsync(true);
});

/** An MQTT.js client for the test's side of the broker; reconnects by itself. */
async function client(broker: Broker, opts: mqtt.IClientOptions = {}): Promise<mqtt.MqttClient> {
  const c = mqtt.connect(broker.url, { reconnectPeriod: 100, ...(broker.caFile ? { ca: [readFileSync(broker.caFile)] } : {}), ...opts });
  await new Promise<void>((resolve, reject) => {
    c.once("connect", () => resolve());
    c.once("error", reject);
  });
  testClients.push(c);
  return c;
}

async function mqttWorld(brokerOptions: BrokerOptions = {}): Promise<UplinkWorld> {
  const broker = await startBroker({ persistence: true, ...brokerOptions });
  const clients: mqtt.MqttClient[] = [];
  return {
    start: () => broker.start(),
    stop: () => broker.stop(),
    open(o: UplinkOpenOptions): OutboxUplink {
      const c = config(broker.url, {
        clientId: `uplink-${process.pid}-${++clientSeq}`,
        outbox: { file: o.outboxPath, capacity: o.capacity ?? 65_536, sync: false },
        ...(o.batch !== undefined ? { batch: o.batch } : {}),
        ...(o.drainRate !== undefined ? { drainRate: o.drainRate } : {}),
        ...(o.down !== undefined ? { down: o.down } : {}),
      });
      const sink = o.delivered === undefined ? null : { deliver: (source: string, packets: Uint8Array, count: number, codes: Uint8Array) => void o.delivered!.push({ source, packets: Buffer.from(packets), count, codes: codes.slice() }) };
      return openMqttUplink(c, { nodeId: NODE, stateDir: "/nonexistent", sink });
    },
    async receiver() {
      // A persistent session: what is published while it reconnects after a broker restart waits for it.
      const c = await client(broker, { clean: false, clientId: `rx-${process.pid}-${++clientSeq}` });
      clients.push(c);
      const identities: string[] = [];
      const payloads: Buffer[] = [];
      c.on("message", (_t, p) => {
        payloads.push(p);
        for (let o = 0; o < p.length; o += PACKET_SIZE) identities.push(identityAt(p, o));
      });
      await c.subscribeAsync("qis/#", { qos: 1 });
      return { identities, payloads, close: () => c.endAsync(true) };
    },
    async inject(target, payload) {
      let c = clients.find((x) => (x as unknown as { injector?: boolean }).injector);
      if (c === undefined) {
        c = await client(broker);
        (c as unknown as { injector: boolean }).injector = true;
        clients.push(c);
      }
      const topic = "topic" in target ? target.topic : target.address.replaceAll(".", "/");
      await c.publishAsync(topic, payload, { qos: 1 });
    },
    async close() {
      for (const c of clients) await c.endAsync(true);
      await closeBrokers();
    },
  };
}

uplinkSuite("mqtt", () => mqttWorld());

describe("the MQTT uplink", () => {
  const dirs: string[] = [];
  const uplinks: OutboxUplink[] = [];
  afterEach(async () => {
    for (const u of uplinks.splice(0)) await u.close();
    await closeBrokers();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const dir = (): string => {
    const d = mkdtempSync(join(tmpdir(), "qis-mqtt-"));
    dirs.push(d);
    return d;
  };
  const open = (c: MqttUplinkConfig, env: NodeJS.ProcessEnv = {}): OutboxUplink => {
    const u = openMqttUplink(c, { nodeId: NODE, stateDir: dir(), sink: null, env });
    uplinks.push(u);
    return u;
  };

  it("over TLS (mqtts://, our CA) with a password file, delivers; the broker name in logs has no credentials", async () => {
    const broker = await startBroker({ tls: true, user: { name: "edge", password: "s3cret" } });
    const d = dir();
    writeFileSync(join(d, "pw"), "s3cret\n");
    const lines: string[] = [];
    const logger = { level: "debug", debug: (m: string, f?: object) => lines.push(m + JSON.stringify(f)), info: (m: string, f?: object) => lines.push(m + JSON.stringify(f)), warn: (m: string, f?: object) => lines.push(m + JSON.stringify(f)), error: (m: string, f?: object) => lines.push(m + JSON.stringify(f)), child: () => logger, enabled: () => true };
    const u = openMqttUplink(config(broker.url, { username: "edge", passwordFile: join(d, "pw"), tls: { ca: broker.caFile, cert: null, key: null, rejectUnauthorized: true } }), { nodeId: NODE, stateDir: d, sink: null, logger: logger as never });
    uplinks.push(u);
    const rx = await client(broker, { username: "edge", password: "s3cret" });
    const got: string[] = [];
    rx.on("message", (_t, p) => got.push(identityAt(p, 0)));
    await rx.subscribeAsync("qis/#", { qos: 1 });
    await waitUntil(() => u.state === "connected", () => `state ${u.state}; ${lines.join("\n")}`);
    u.publish(packet({ seq: 1 }), 0);
    u.flush();
    await waitUntil(() => got.length === 1, () => "nothing received");
    await rx.endAsync(true);
    expect(lines.join("\n")).not.toContain("s3cret");
  }, 30_000);

  it("refused credentials: one error line naming the broker, an error event, retries, no crash; then the right ones connect", async () => {
    const broker = await startBroker({ user: { name: "edge", password: "right" } });
    const lines: { level: string; msg: string }[] = [];
    const log = (level: string) => (msg: string) => lines.push({ level, msg });
    const logger = { level: "debug", debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error"), child: () => logger, enabled: () => true };
    const u = openMqttUplink(config(broker.url, { username: "edge", passwordEnv: "QIS_TEST_PW", reconnect: { minMs: 20, maxMs: 100 } }), { nodeId: NODE, stateDir: dir(), sink: null, logger: logger as never, env: { QIS_TEST_PW: "wrong" } });
    uplinks.push(u);
    const errors: UplinkError[] = [];
    u.on("error", (e) => errors.push(e as UplinkError));
    u.publish(packet({ seq: 1 }), 0);
    u.flush();
    await waitUntil(() => errors.filter((e) => e.code === "ERR_UPLINK_AUTH").length >= 3, () => `errors: ${errors.map((e) => e.code).join(",")}`);
    const errorLines = lines.filter((l) => l.level === "error");
    expect(errorLines.length).toBe(1);
    expect(errorLines[0]!.msg).toContain(`mqtt broker ${broker.url}`);
    expect(errorLines[0]!.msg).toContain("refused the credentials");
    expect(errorLines[0]!.msg).not.toContain("wrong");
    expect(u.state).toBe("offline");
    expect(u.outbox.size).toBe(1);
    expect(u.stats().lastError?.code).toBe("ERR_UPLINK_AUTH");
  }, 20_000);

  it("a missing password file or environment variable, or TLS file, fails at open with its code", () => {
    const d = dir();
    expect(catchError(() => open(config("mqtt://127.0.0.1:1", { username: "u", passwordFile: join(d, "nope") })), UplinkError).code).toBe("ERR_UPLINK_CREDENTIALS");
    expect(catchError(() => open(config("mqtt://127.0.0.1:1", { username: "u", passwordEnv: "QIS_NOPE" })), UplinkError).code).toBe("ERR_UPLINK_CREDENTIALS");
    expect(catchError(() => open(config("mqtts://127.0.0.1:1", { tls: { ca: join(d, "ca.crt"), cert: null, key: null, rejectUnauthorized: true } })), UplinkError).code).toBe("ERR_UPLINK_TLS");
  });

  it('"json": true also publishes each packet as JSON on PREFIX/json/..., packets on PREFIX/qis/...', async () => {
    const broker = await startBroker();
    const rx = await client(broker);
    const got: { topic: string; payload: Buffer }[] = [];
    rx.on("message", (topic, payload) => got.push({ topic, payload }));
    await rx.subscribeAsync("site/#", { qos: 1 });
    const u = open(config(broker.url, { json: true, topicPrefix: "site" }));
    await waitUntil(() => u.state === "connected", () => `state ${u.state}`);
    u.publish(packet({ seq: 42, address: "qis.hvac.energy-anomaly" }), 0);
    u.flush();
    await waitUntil(() => got.length >= 2, () => JSON.stringify(got.map((g) => g.topic)));
    const bin = got.find((g) => g.topic === "site/qis/hvac/energy-anomaly")!;
    const json = got.find((g) => g.topic === "site/json/qis/hvac/energy-anomaly")!;
    expect(Buffer.compare(bin.payload, packet({ seq: 42, address: "qis.hvac.energy-anomaly" }))).toBe(0);
    expect(JSON.parse(json.payload.toString())).toMatchObject({ address: "qis.hvac.energy-anomaly", seq: 42 });
    await rx.endAsync(true);
  });

  it("with down patterns the session persists: what arrives while the uplink is closed comes after it reopens (3.1.1 and 5)", async () => {
    const broker = await startBroker();
    for (const protocol of ["3.1.1", "5"] as const) {
      const d = dir();
      const sink = { deliver: () => undefined };
      const c = config(broker.url, { protocol, clientId: `persist-${protocol}`, down: ["qis.remote.>"] });
      const u1 = openMqttUplink(c, { nodeId: NODE, stateDir: d, sink });
      await waitUntil(() => u1.state === "connected", () => `state ${u1.state}`);
      await new Promise((r) => setTimeout(r, 200));
      await u1.close();
      const pub = await client(broker);
      await pub.publishAsync("qis/remote/x", packet({ node: 9, seq: 1, address: "qis.remote.x" }), { qos: 1 });
      await pub.endAsync(true);
      const u2 = openMqttUplink(c, { nodeId: NODE, stateDir: d, sink });
      uplinks.push(u2);
      await waitUntil(() => u2.stats().received.packets === 1, () => `${protocol}: ${JSON.stringify(u2.stats().received)}`);
      expect(u2.stats().received.malformed).toBe(0);
    }
  });

  it("over TLS with a client certificate (tls.cert, tls.key); without one the broker refuses and it retries", async () => {
    const broker = await startBroker({ tls: true, clientCert: true });
    const tls = { ca: broker.caFile, cert: join(broker.dir, "client.crt"), key: join(broker.dir, "client.key"), rejectUnauthorized: true };
    const u = open(config(broker.url, { tls }));
    await waitUntil(() => u.state === "connected", () => `state ${u.state}: ${JSON.stringify(u.stats().lastError)}`);
    const bare = open(config(broker.url, { tls: { ...tls, cert: null, key: null } }));
    await waitUntil(() => bare.stats().lastError !== null, () => "no error without a client certificate");
    expect(bare.state).not.toBe("connected");
    expect(bare.stats().lastError!.code).toBe("ERR_UPLINK_CONNECT");
  }, 30_000);

  it.each([0, 2] as const)("QoS %i delivers and empties the outbox", async (qos) => {
    const broker = await startBroker();
    const rx = await client(broker);
    const got: string[] = [];
    rx.on("message", (_t, p) => {
      for (let o = 0; o < p.length; o += PACKET_SIZE) got.push(identityAt(p, o));
    });
    await rx.subscribeAsync("qis/#", { qos: 2 });
    const u = open(config(broker.url, { qos }));
    await waitUntil(() => u.state === "connected", () => `state ${u.state}`);
    for (let s = 1; s <= 300; s++) u.publish(packet({ seq: s, address: `qis.q.a${s % 2}` }), 0);
    u.flush();
    await waitUntil(() => u.outbox.size === 0 && got.length === 300, () => `${u.outbox.size} held, ${got.length} received`);
    expect(lostAndDuplicates(got, 300)).toEqual({ lost: 0, duplicates: 0 });
    await rx.endAsync(true);
  });

  it("a full outbox drops the oldest, counts them and says so once per episode", async () => {
    const broker = await startBroker({ persistence: true });
    // Subscribed before the outage, with a persistent session: nothing it should get can pass it by.
    const rx = await client(broker, { clean: false, clientId: `full-rx-${process.pid}` });
    const got: string[] = [];
    rx.on("message", (_t, p) => {
      for (let o = 0; o < p.length; o += PACKET_SIZE) got.push(identityAt(p, o));
    });
    await rx.subscribeAsync("qis/#", { qos: 1 });
    await broker.stop();
    const lines: { level: string; msg: string }[] = [];
    const log = (level: string) => (msg: string) => lines.push({ level, msg });
    const logger = { level: "debug", debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error"), child: () => logger, enabled: () => true };
    const u = openMqttUplink(config(broker.url, { outbox: { file: null, capacity: 100, sync: false } }), { nodeId: NODE, stateDir: dir(), sink: null, logger: logger as never });
    uplinks.push(u);
    for (let round = 0; round < 3; round++) {
      for (let s = 1; s <= 100; s++) u.publish(packet({ seq: round * 100 + s }), 0);
      u.flush(); // three commits, each overwriting a full ring
    }
    expect(u.stats().outbox).toMatchObject({ held: 100, dropped: 200, appended: 300 });
    expect(lines.filter((l) => l.msg.startsWith("uplink outbox full")).length).toBe(1);
    // The newest 100 are what is left, and they go once the broker is back.
    await broker.start();
    await waitUntil(() => u.outbox.size === 0, () => `${u.outbox.size} held, state ${u.state}`);
    await waitUntil(() => got.length >= 100, () => `${got.length} received`);
    expect(lostAndDuplicates(got.map((id) => `1:${Number(id.split(":")[1]) - 200}`), 100).lost).toBe(0);
  }, 30_000);

  it("brokerName() never shows a user or password", () => {
    expect(brokerName("mqtt://user:pw@host:1883")).toBe("mqtt://host:1883");
    expect(brokerName("wss://a:b@h/mqtt")).toBe("wss://h/mqtt");
  });

  it("broker restarted mid-stream of 50,000: every packet arrives (duplicates counted)", async () => {
    const world = await mqttWorld();
    const rx = await world.receiver();
    const d = dir();
    const u = world.open({ outboxPath: join(d, "o.bin"), batch: 64 });
    uplinks.push(u);
    const codes: string[] = [];
    u.on("error", (e) => codes.push((e as UplinkError).code));
    await waitUntil(() => u.state === "connected", () => `state ${u.state}`);
    let seq = 0;
    let restarted = false;
    while (seq < 50_000) {
      for (let i = 0; i < 500; i++) u.publish(packet({ seq: ++seq, address: `qis.stream.a${seq % 4}` }), 0);
      u.flush();
      if (!restarted && seq >= 20_000) {
        restarted = true;
        void world.stop().then(() => world.start());
      }
      await new Promise((r) => setImmediate(r));
    }
    await waitUntil(() => u.outbox.size === 0, () => `${u.outbox.size} held, state ${u.state}`, 40_000);
    await waitUntil(() => lostAndDuplicates(rx.identities, 50_000).lost === 0, () => `${lostAndDuplicates(rx.identities, 50_000).lost} lost`, 20_000);
    expect(u.stats().disconnects).toBeGreaterThanOrEqual(1);
    // What was in flight at the restart came back into the outbox quietly: no publish errors.
    expect(codes.filter((c) => c === "ERR_UPLINK_PUBLISH")).toEqual([]);
    expect(codes).toContain("ERR_UPLINK_CONNECT");
    await rx.close();
    await world.close();
  }, 60_000);
});
